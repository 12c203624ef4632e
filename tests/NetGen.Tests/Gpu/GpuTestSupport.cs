using System.Numerics;
using System.Reflection;
using NetGen.Gpu;

namespace NetGen.Tests.Gpu;

/// <summary>Every GPU test runs on one ILGPU CPU-emulator device, one test at a time (the emulator uses every core).</summary>
[CollectionDefinition(Name)]
public sealed class GpuCollection : ICollectionFixture<GpuFixture>
{
    public const string Name = "GPU (ILGPU CPU emulator)";
}

/// <summary>The shared emulator device.</summary>
public sealed class GpuFixture : IDisposable
{
    public GpuDevice Device { get; } = GpuDevice.Create(GpuDeviceKind.Cpu);

    public void Dispose() => Device.Dispose();
}

/// <summary>Comparisons of the GPU variant with the CPU network, and the data both are given.</summary>
internal static class GpuCompare
{
    /// <summary>The tolerance of the issue: GPU values equal the CPU's within 1e-5 relative (float). Relative to the
    /// tensor's largest magnitude, since the two sum in different orders and a value near 0 that is the difference of
    /// large terms carries their rounding.</summary>
    public const double FloatTolerance = 1e-5;

    public const double DoubleTolerance = 1e-12;

    /// <summary>Whole networks after several training steps (float): rounding differences of single kernels (≤ 1e-5)
    /// pass through the optimiser — RMSProp and Adam divide by √v, so a tiny gradient's last bits move its parameter by
    /// a full step — and through batch-norm over 2 samples; measured up to 2e-5, checked at 1e-4.</summary>
    public const double TrainingTolerance = 1e-4;

    public static double Tolerance<T>() => typeof(T) == typeof(float) ? FloatTolerance : DoubleTolerance;

    /// <summary>Asserts ‖gpu − cpu‖∞ ≤ tolerance·‖cpu‖∞ and returns that relative error.</summary>
    public static double Close<T>(ReadOnlySpan<T> cpu, ReadOnlySpan<T> gpu, string what, double? tolerance = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.True(cpu.Length == gpu.Length, $"{what}: {gpu.Length} GPU values, {cpu.Length} CPU values");
        double scale = 0, worst = 0;
        int at = -1;
        for (int i = 0; i < cpu.Length; i++) scale = Math.Max(scale, Math.Abs(double.CreateChecked(cpu[i])));
        for (int i = 0; i < cpu.Length; i++)
        {
            double c = double.CreateChecked(cpu[i]), g = double.CreateChecked(gpu[i]);
            Assert.False(double.IsNaN(g), $"{what}[{i}] is NaN on the GPU (CPU {c})");
            double error = Math.Abs(c - g);
            if (error > worst) { worst = error; at = i; }
        }
        double relative = scale == 0 ? worst : worst / scale;
        double limit = tolerance ?? Tolerance<T>();
        Assert.True(relative <= limit,
            $"{what}: GPU and CPU differ by {worst:G4} at [{at}] (CPU {(at >= 0 ? cpu[at] : T.Zero)}, GPU {(at >= 0 ? gpu[at] : T.Zero)}), " +
            $"{relative:G3} of the largest |value| {scale:G4}; allowed {limit:G3}");
        return relative;
    }

    /// <summary>Seeded values of a sensible scale for every named tensor: weights ±1.5/√fan-in, biases and β ±0.5,
    /// γ in [0.5, 1.5], running means ±0.5 and variances in [0.5, 2].</summary>
    public static void Randomize<T>(INetwork<T> net, SeededRandom random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var tensor in net.Tensors)
        {
            var span = (tensor.Buffer == TensorBuffer.Parameters ? net.Parameters : net.State).Slice(tensor.Offset, tensor.Length);
            int fanIn = tensor.Shape.Length > 1 ? tensor.Length / tensor.Shape[0] : 1;
            for (int i = 0; i < span.Length; i++)
            {
                double value = tensor.Name switch
                {
                    var n when n.EndsWith("Weights", StringComparison.Ordinal) => random.NextDouble(-1.5, 1.5) / Math.Sqrt(fanIn),
                    var n when n.EndsWith("Gamma", StringComparison.Ordinal) => random.NextDouble(0.5, 1.5),
                    var n when n.EndsWith("RunningVariance", StringComparison.Ordinal) => random.NextDouble(0.5, 2),
                    _ => random.NextDouble(-0.5, 0.5),
                };
                span[i] = T.CreateChecked(value);
            }
        }
    }

    public static T[] Values<T>(int count, SeededRandom random, double lo, double hi) where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, count).Select(_ => T.CreateChecked(random.NextDouble(lo, hi))).ToArray();

    /// <summary>A target valid for <paramref name="loss"/>: probability rows (one-hot for even samples) for
    /// cross-entropy, one-hot rows for the hinge losses, values in (0, 1) for binary cross-entropy, the output moved by
    /// ±0.1–0.6 for the absolute errors (away from their kink), anything for the squared errors.</summary>
    public static T[] Target<T>(LossFunction loss, ReadOnlySpan<T> output, int batch, int classes, SeededRandom random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var target = new T[batch * classes];
        for (int n = 0; n < batch; n++)
        {
            var row = target.AsSpan(n * classes, classes);
            switch (loss)
            {
                case LossFunction.CrossEntropy when n % 2 == 1:
                    double sum = 0;
                    var raw = Enumerable.Range(0, classes).Select(_ => random.NextDouble(0.05, 1)).ToArray();
                    foreach (double v in raw) sum += v;
                    for (int j = 0; j < classes; j++) row[j] = T.CreateChecked(raw[j] / sum);
                    break;
                case LossFunction.CrossEntropy or LossFunction.MulticlassHinge or LossFunction.MulticlassSquaredHinge:
                    row[random.NextInt(classes)] = T.One;
                    break;
                case LossFunction.BinaryCrossEntropy or LossFunction.BinaryCrossEntropySummed:
                    for (int j = 0; j < classes; j++) row[j] = T.CreateChecked(random.NextDouble(0.05, 0.95));
                    break;
                case LossFunction.MeanAbsoluteError or LossFunction.SumAbsoluteError:
                    for (int j = 0; j < classes; j++)
                        row[j] = output[n * classes + j] + T.CreateChecked((random.NextDouble() < 0.5 ? -1 : 1) * random.NextDouble(0.1, 0.6));
                    break;
                default:
                    for (int j = 0; j < classes; j++) row[j] = T.CreateChecked(random.NextDouble(-1, 1.5));
                    break;
            }
        }
        return target;
    }

    private delegate ReadOnlySpan<float> FloatView();

    private delegate ReadOnlySpan<double> DoubleView();

    /// <summary>Reads a read-only span view (e.g. Dropout1Mask) of a CPU network.</summary>
    public static T[] ReadView<T>(object net, string view) where T : unmanaged
    {
        var getter = net.GetType().GetProperty(view, BindingFlags.Public | BindingFlags.Instance)?.GetMethod
            ?? throw new InvalidOperationException($"{net.GetType().Name} has no view {view}");
        return typeof(T) == typeof(float)
            ? (T[])(object)((FloatView)Delegate.CreateDelegate(typeof(FloatView), net, getter))().ToArray()
            : (T[])(object)((DoubleView)Delegate.CreateDelegate(typeof(DoubleView), net, getter))().ToArray();
    }

    /// <summary>The generated GPU class nested in a network type.</summary>
    public static GpuNetwork<T> CreateGpu<T>(Type network, GpuDevice device, int maxBatch, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var type = network.GetNestedType("Gpu") ?? throw new InvalidOperationException($"{network.Name} has no Gpu class");
        return (GpuNetwork<T>)Activator.CreateInstance(type, device, maxBatch, seed)!;
    }

    /// <summary>Calls a generated GetXxx(batch) read-back method of a GPU network.</summary>
    public static T[] ReadGpu<T>(object gpu, string method, int batch)
        => (T[])gpu.GetType().GetMethod(method)!.Invoke(gpu, [batch])!;

    /// <summary>The kernels of a generated GPU class: its static methods whose first parameter is the thread index.</summary>
    public static IReadOnlyList<MethodInfo> Kernels(Type gpuType) => gpuType
        .GetMethods(BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly)
        .Where(m => m.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(ILGPU.Index1D))
        .ToList();
}
