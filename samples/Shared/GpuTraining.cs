// One file, compiled into both samples that train on a GPU (Module1.NeuralNetworks and Module3.Cnn link it from
// samples/Shared): the --device option and the training loop of a generated network's Gpu variant.
// Internal on purpose: each sample gets its own copy of these types, and they are no part of the NetGen API.

using System.CommandLine;
using System.Diagnostics;
using System.Numerics;
using NetGen.Gpu;

namespace NetGen.Samples;

/// <summary>
/// The samples' <c>--device</c> option: <c>cpu</c> (the default) trains the generated CPU network; <c>gpu</c> its
/// <c>Gpu</c> variant on an NVIDIA GPU through CUDA, else a GPU through OpenCL 2.0, and fails (exit code 1, with
/// GpuDevice.Create's message) when there is neither, never falling back to something slower; <c>ilgpu-cpu</c> runs
/// the same GPU kernels on ILGPU's CPU emulator, to check them without a GPU (slowly).
/// </summary>
internal static class SampleDevice
{
    public const string Cpu = "cpu", Gpu = "gpu", Emulator = "ilgpu-cpu";

    /// <summary>The line printed when a run uses the emulator, so that nobody reads its times as a GPU's.</summary>
    public const string EmulatorNote =
        "note: ilgpu-cpu is ILGPU's CPU emulator, a correctness check of the GPU kernels (run thread by thread, thousands " +
        "of times slower than the generated CPU code): its times are not a speed measurement.";

    /// <summary>The option, to add to a command.</summary>
    public static Option<string> CreateOption()
    {
        var option = new Option<string>("--device")
        {
            Description = "Where to train: cpu (the generated CPU code), gpu (CUDA, else OpenCL 2.0; set NETGEN_DEVICE=cuda or opencl " +
                          "to choose) or ilgpu-cpu (ILGPU's CPU emulator: checks the GPU kernels, very slowly, with shorter default runs).",
            DefaultValueFactory = _ => Cpu,
        };
        option.AcceptOnlyFromAmong(Cpu, Gpu, Emulator);
        return option;
    }

    /// <summary>Opens the device named by the option (null for <c>cpu</c>), runs <paramref name="run"/> with it and
    /// disposes it. When the device cannot be opened, writes why to <paramref name="error"/> (standard error by
    /// default) and returns 1 without running anything.</summary>
    public static int Run(string name, Func<GpuDevice?, int> run, TextWriter? error = null)
    {
        GpuDevice? device;
        try
        {
            device = Open(name, Environment.GetEnvironmentVariable(GpuDevice.EnvironmentVariable));
        }
        catch (DeviceUnavailableException e)
        {
            (error ?? Console.Error).WriteLine(e.Message);
            return 1;
        }
        using (device) return run(device);
    }

    /// <summary>The device for an option value; null for <c>cpu</c>. <paramref name="environment"/> is the value of
    /// NETGEN_DEVICE, which <c>gpu</c> honours when it names cuda or opencl.</summary>
    /// <exception cref="DeviceUnavailableException">No such device on this machine; the message says what to do.</exception>
    public static GpuDevice? Open(string name, string? environment = null) => name switch
    {
        Cpu => null,
        Emulator => GpuDevice.Create(GpuDeviceKind.Cpu),
        Gpu => OpenGpu(environment),
        _ => throw new ArgumentException($"Unknown device '{name}': use {Cpu}, {Gpu} or {Emulator}.", nameof(name)),
    };

    /// <summary>CUDA, else OpenCL (or the one NETGEN_DEVICE names); never the emulator (GpuDeviceKind.Gpu).</summary>
    private static GpuDevice OpenGpu(string? environment)
    {
        try
        {
            return GpuDevice.Create(GpuDeviceKind.Gpu);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new DeviceUnavailableException(
                $"--device {Gpu}: no GPU could be used{(environment is { Length: > 0 } ? $" ({GpuDevice.EnvironmentVariable}={environment})" : "")}.{Environment.NewLine}" +
                e.Message + Environment.NewLine +
                $"In this sample: --device {Emulator} runs the GPU kernels on ILGPU's CPU emulator (slowly, to check them); " +
                $"--device {Cpu} trains the generated CPU network (fast).", e);
        }
    }

    /// <summary>Prints which device runs (and, for the emulator, <see cref="EmulatorNote"/>).</summary>
    public static void Describe(TextWriter o, GpuDevice device)
    {
        o.WriteLine($"device: {device}");
        if (device.IsEmulator) o.WriteLine(EmulatorNote);
    }
}

/// <summary>The requested device does not exist on this machine.</summary>
internal sealed class DeviceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Keras' <c>fit</c> and <c>evaluate</c> for a network's <c>Gpu</c> variant. Batches are drawn exactly as
/// <see cref="Trainer.Fit"/> draws them (epoch e visits the samples in the order <c>new SeededRandom(seed + e)</c>
/// shuffles them), so with the same seed the GPU and the CPU network take the same steps from the same weights and
/// end with the same accuracy up to float rounding.
/// </summary>
internal static class GpuTrainer
{
    /// <summary>Trains for <paramref name="epochs"/> passes over <paramref name="train"/> with TrainStep, writing one
    /// line per epoch (<c>Epoch 3/15 - 2.8s 62ms/step - loss: 0.5468</c>). Returns each epoch's loss: the mean per sample of its
    /// steps' losses (as Trainer.Fit's), summed on the device (AccumulateLoss) and read back once per epoch.</summary>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite.</exception>
    public static List<double> Fit<T>(GpuNetwork<T> net, Dataset<T> train, int epochs, int batchSize, Optimizer optimizer,
        int seed, TextWriter log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, net.MaxBatch);
        int count = train.Count, featureSize = train.FeatureSize, targetSize = train.TargetSize;
        int steps = (count + batchSize - 1) / batchSize;
        var order = new int[count];
        var input = new T[batchSize * featureSize];
        var labels = new int[batchSize];
        var targets = new T[train.HasLabels ? 0 : batchSize * targetSize];
        var losses = new List<double>(epochs);
        net.Training = true;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < count; i++) order[i] = i;
            new SeededRandom(seed + (long)epoch).Shuffle<int>(order);
            for (int step = 0; step < steps; step++)
            {
                int start = step * batchSize, n = Math.Min(batchSize, count - start);
                Gather(train, order.AsSpan(start, n), input, labels, targets);
                ReadOnlySpan<T> x = input.AsSpan(0, n * featureSize);
                if (train.HasLabels) net.TrainStep(x, labels.AsSpan(0, n), optimizer, n);
                else net.TrainStep(x, targets.AsSpan(0, n * targetSize), optimizer, n);
                net.AccumulateLoss();   // the step's loss before its update, added up on the device: nothing is read back
            }
            double loss = double.CreateChecked(net.TakeMeanLoss());   // one read-back per epoch
            clock.Stop();
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"Training diverged: the mean loss of epoch {epoch}/{epochs} is {loss}. Lower the learning rate.");
            double seconds = clock.Elapsed.TotalSeconds;
            losses.Add(loss);
            log.WriteLine(Invariant($"Epoch {epoch}/{epochs} - {seconds:0.0}s {PerStep(seconds / steps)} - loss: {loss:0.0000}"));
        }
        return losses;
    }

    /// <summary>The mean loss per sample and the accuracy over <paramref name="data"/>, in inference mode (dropout off,
    /// batch norm with its running statistics), as <see cref="Trainer.Evaluate{T}(INetwork{T}, Dataset{T}, int)"/>
    /// defines them: Forward reads each batch's output back, the class is the largest output.</summary>
    public static (double Loss, double Accuracy) Evaluate<T>(GpuNetwork<T> net, Dataset<T> data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool training = net.Training;
        net.Training = false;
        try
        {
            int count = data.Count, featureSize = data.FeatureSize, outputSize = net.OutputSize, targetSize = data.TargetSize;
            double lossSum = 0;
            int correct = 0;
            for (int start = 0; start < count; start += net.MaxBatch)
            {
                int n = Math.Min(net.MaxBatch, count - start);
                ReadOnlySpan<T> output = net.Forward(data.AllFeatures.Slice(start * featureSize, n * featureSize), n);
                for (int k = 0; k < n; k++)
                {
                    int predicted = Metrics.PredictedClass(output.Slice(k * outputSize, outputSize));
                    int actual = data.HasLabels ? data.Label(start + k) : Metrics.PredictedClass(data.Target(start + k));
                    if (predicted == actual) correct++;
                }
                T loss = data.HasLabels
                    ? net.Loss(data.Labels.Slice(start, n))
                    : net.Loss(data.Targets.Slice(start * targetSize, n * targetSize));
                lossSum += double.CreateChecked(loss) * n;
            }
            return (lossSum / count, (double)correct / count);
        }
        finally { net.Training = training; }
    }

    /// <summary>"device memory: 4,887,040 bytes (4.7 MiB) for LeNet.Gpu at batch 32": what the network holds on the
    /// device (parameters, gradients, activations for its largest batch, scratch and the optimiser's state).</summary>
    public static string MemoryLine<T>(GpuNetwork<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long bytes = net.DeviceBytes;
        string size = bytes >= 1 << 20 ? Invariant($"{bytes / 1048576.0:0.0} MiB") : Invariant($"{bytes / 1024.0:0.0} KiB");
        return Invariant($"device memory: {bytes:N0} bytes ({size}) for {net.GetType().DeclaringType?.Name}.Gpu at batch {net.MaxBatch}");
    }

    private static void Gather<T>(Dataset<T> data, ReadOnlySpan<int> indices, Span<T> input, Span<int> labels, Span<T> targets)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int featureSize = data.FeatureSize, targetSize = data.TargetSize;
        for (int k = 0; k < indices.Length; k++)
        {
            int s = indices[k];
            data.Features(s).CopyTo(input[(k * featureSize)..]);
            if (data.HasLabels) labels[k] = data.Label(s);
            else data.Target(s).CopyTo(targets[(k * targetSize)..]);
        }
    }

    /// <summary>Keras' per-step time: "2s/step", "62ms/step" or "345us/step".</summary>
    private static string PerStep(double seconds) =>
        seconds >= 1 ? Invariant($"{seconds:0}s/step")
        : seconds >= 1e-3 ? Invariant($"{seconds * 1e3:0}ms/step")
        : Invariant($"{seconds * 1e6:0}us/step");

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
