using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

// Dense forward passes whose units end in a ragged tail: the MLP's 784 → 100 (on Vector512 machines, from 48 samples:
// two 48-unit transposed strips and 4 units in dot blocks), 4 and 1 units (dot blocks only), 10 units (4 + 4 + 2
// columns of dot blocks), 17 (a 16-unit strip and one dot column), and in double 10 and 3 units. (Fewer than 64 multiply-adds would be unrolled statements, not kernels.) Batches 1, 48, 49 and
// 128 reach the one-row blocks, the transposed strips and their leftover rows.

/// <summary>LeNet's first Dense layer: 400 → 120 (two 48-unit strips, a 16-unit vector and 8 units in dot blocks; at two
/// threads the units split 64 / 56, inside a strip, in whole 16-lane vectors).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(400)]
[Dense(120)]
public partial class DenseTail120;

/// <summary>The MLP's first layer: 784 → 100.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(784)]
[Dense(100)]
public partial class DenseTail100;

/// <summary>784 → 4: fewer units than a vector, long dot products.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(784)]
[Dense(4)]
public partial class DenseTail4;

/// <summary>The MLP's output layer: 100 → 10 (k ends in a masked vector).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(100)]
[Dense(10)]
public partial class DenseTail10;

/// <summary>37 → 17: one 16-unit strip and one dot column on the Vector512 path from 48 samples.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(37)]
[Dense(17)]
public partial class DenseTail17;

/// <summary>37 → 1: one unit (kernels, not the unrolled statements 37 multiply-adds would get by default).</summary>
[Network(Loss = LossFunction.MeanSquaredError, UnrollThreshold = 0)]
[Input(37)]
[Dense(1)]
public partial class DenseTail1;

/// <summary>Double, 37 → 10: 8-lane vectors with a masked k tail, 4 + 4 + 2 columns.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(37)]
[Dense(10)]
public partial class DenseTail10Double;

/// <summary>Double, 37 → 3: single columns.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(37)]
[Dense(3)]
public partial class DenseTail3Double;

/// <summary>The cases, how they run, and the definition they are held to.</summary>
public static class DenseTailCases
{
    public sealed record Case(string Name, Func<int, object> Create, int In, int Out);

    public static readonly Case[] All =
    [
        new("float 784-100", b => new DenseTail100(b), 784, 100),
        new("float 400-120", b => new DenseTail120(b), 400, 120),
        new("float 784-4", b => new DenseTail4(b), 784, 4),
        new("float 100-10", b => new DenseTail10(b), 100, 10),
        new("float 37-17", b => new DenseTail17(b), 37, 17),
        new("float 37-1", b => new DenseTail1(b), 37, 1),
        new("double 37-10", b => new DenseTail10Double(b), 37, 10),
        new("double 37-3", b => new DenseTail3Double(b), 37, 3),
    ];

    public static readonly int[] Batches = [1, 48, 49, 128];

    public const int MaxBatch = 128;

    public static bool IsDouble(Case k) => k.Name.StartsWith("double", StringComparison.Ordinal);

    /// <summary>Parameters uniform in [−½, ½), inputs in [−1, 1) from fixed seeds. A first pass over NaN inputs fills
    /// the output with NaN, so a value the real pass does not write stays NaN. Returns x, W, b and y as doubles.</summary>
    public static (double[] X, double[] W, double[] B, double[] Y) Run(Case k, int batch) => k.Create(MaxBatch) switch
    {
        INetwork<float> f => Run(f, batch),
        INetwork<double> d => Run(d, batch),
        _ => throw new InvalidOperationException(k.Name),
    };

    private static (double[] X, double[] W, double[] B, double[] Y) Run<T>(INetwork<T> net, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new SeededRandom(23);
        var p = net.Parameters;
        for (int i = 0; i < p.Length; i++) p[i] = T.CreateChecked(random.NextDouble() - 0.5);
        var weights = net.Tensors.Single(t => t.Buffer == TensorBuffer.Parameters && t.Name.EndsWith("Weights", StringComparison.Ordinal));
        var bias = net.Tensors.Single(t => t.Buffer == TensorBuffer.Parameters && t.Name.EndsWith("Bias", StringComparison.Ordinal));
        net.Training = false;
        var x = new T[batch * net.InputSize];
        Array.Fill(x, T.NaN);
        net.Forward(x, batch);
        for (int i = 0; i < x.Length; i++) x[i] = T.CreateChecked(2 * random.NextDouble() - 1);
        var y = net.Forward(x, batch).ToArray();
        double[] D(ReadOnlySpan<T> s) { var r = new double[s.Length]; for (int i = 0; i < s.Length; i++) r[i] = double.CreateChecked(s[i]); return r; }
        return (D(x), D(p.Slice(weights.Offset, weights.Length)), D(p.Slice(bias.Offset, bias.Length)), D(y));
    }

    /// <summary>y[n, j] = b[j] + Σᵢ w[j, i]·x[n, i] in double, and the bound a float (double) result may be off by in
    /// any summation order: (K + 1)·u·(|b[j]| + Σᵢ |w[j, i]·x[n, i]|), u = 2⁻²⁴ (2⁻⁵³), with 1 % to spare.</summary>
    public static (double[] Y, double[] Bound) Definition(Case k, double[] x, double[] w, double[] b, int batch)
    {
        double u = IsDouble(k) ? Math.ScaleB(1, -53) : Math.ScaleB(1, -24);
        var y = new double[batch * k.Out];
        var bound = new double[y.Length];
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < k.Out; j++)
            {
                double sum = b[j], abs = Math.Abs(b[j]);
                for (int i = 0; i < k.In; i++)
                {
                    sum += w[j * k.In + i] * x[n * k.In + i];
                    abs += Math.Abs(w[j * k.In + i] * x[n * k.In + i]);
                }
                y[n * k.Out + j] = sum;
                bound[n * k.Out + j] = 1.01 * (k.In + 1) * u * abs;
            }
        return (y, bound);
    }

    /// <summary>The child process's entry (<c>dotnet NetGen.Tests.dll dense-tails &lt;file&gt;</c>): every case at every
    /// batch, one line each (case|batch|y in round-trip form).</summary>
    public static int WriteAll(string file)
    {
        Console.WriteLine(Vector512.IsHardwareAccelerated ? "vector512 accelerated" : "vector512 not accelerated");
        using var writer = new StreamWriter(file);
        foreach (var k in All)
            foreach (int batch in Batches)
                writer.WriteLine($"{k.Name}|{batch}|{string.Join(' ', Run(k, batch).Y.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");
        return 0;
    }
}

/// <summary>
/// The Dense forward's ragged tails against the definition on this machine's path, and the 256-bit path (a child
/// process with AVX-512 off) against it and against the Vector512 path. Every value is one dot product of K terms
/// plus the bias; the paths sum them in other orders (per lane then across lanes, or one FMA chain), so each is
/// within (K + 1)·u·Σ|terms| of the exact value and the two within twice that.
/// </summary>
public class DenseTailTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> CasesAndBatches()
    {
        var data = new TheoryData<string, int>();
        foreach (var k in DenseTailCases.All)
            foreach (int batch in DenseTailCases.Batches) data.Add(k.Name, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(CasesAndBatches))]
    public void ForwardMatchesTheDefinition(string name, int batch)
    {
        var k = DenseTailCases.All.Single(c => c.Name == name);
        var (x, w, b, y) = DenseTailCases.Run(k, batch);
        var (expected, bound) = DenseTailCases.Definition(k, x, w, b, batch);
        Assert.Equal(expected.Length, y.Length);
        double worst = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double diff = Math.Abs(y[i] - expected[i]);
            Assert.True(diff <= bound[i], $"{name} at batch {batch}: y[{i / k.Out}, {i % k.Out}] = {y[i]:R}, definition {expected[i]:R}, bound {bound[i]:R}");
            worst = Math.Max(worst, diff / bound[i]);
        }
        output.WriteLine($"{name}, batch {batch}, Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}: every value within {worst:P2} of its bound");
    }

    [Fact]
    public void The256And512BitForwardsAgreeWithinTheBound()
    {
        if (NarrowPath.Run("dense-tails", output) is not { } lines) return;
        var narrow = lines.ToDictionary(p => (p[0], int.Parse(p[1], CultureInfo.InvariantCulture)),
            p => p[2].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        foreach (var k in DenseTailCases.All)
            foreach (int batch in DenseTailCases.Batches)
            {
                var (x, w, b, wide) = DenseTailCases.Run(k, batch);
                var (expected, bound) = DenseTailCases.Definition(k, x, w, b, batch);
                double[] n = narrow[(k.Name, batch)];
                Assert.Equal(wide.Length, n.Length);
                int differing = 0;
                for (int i = 0; i < n.Length; i++)
                {
                    Assert.True(Math.Abs(n[i] - expected[i]) <= bound[i], $"{k.Name} at batch {batch}, 256-bit: y[{i}] = {n[i]:R}, definition {expected[i]:R}");
                    Assert.True(Math.Abs(n[i] - wide[i]) <= 2 * bound[i], $"{k.Name} at batch {batch}: 512-bit {wide[i]:R}, 256-bit {n[i]:R}");
                    if (n[i] != wide[i]) differing++;
                }
                output.WriteLine($"{k.Name}, batch {batch}: {differing} of {n.Length} values differ between the widths, all within the bound");
            }
    }
}

/// <summary>Runs alone: it changes <see cref="Parallelism.MaxThreads"/>.</summary>
[Collection(nameof(ThreadsCollection))]
public class DenseTailThreadTests
{
    /// <summary>At 128 samples the MLP's first layer is split across threads by units (at a strip boundary); every value
    /// is still summed by one thread in the one-thread order.</summary>
    [Fact]
    public void TheTailsGiveTheSameBitsAtOneAndTwoThreads()
    {
        int before = Parallelism.MaxThreads;
        try
        {
            foreach (var k in DenseTailCases.All)
            {
                Parallelism.MaxThreads = 1;
                var one = DenseTailCases.Run(k, 128).Y;
                Parallelism.MaxThreads = 2;
                var two = DenseTailCases.Run(k, 128).Y;
                Assert.Equal(one, two);
            }
        }
        finally
        {
            Parallelism.MaxThreads = before;
        }
    }
}
