using System.Globalization;
using System.Runtime.Intrinsics;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

// 2×2 max pooling's vector kernels at both widths. Where Vector512 is accelerated, windows that tile the input with at
// most 16 across run 512-bit blocks of ⌊16 / OW⌋ window rows (the sample's last rows, whose block would pass its end,
// run the 256-bit blocks); elsewhere the 256-bit blocks run everything. Pooling only moves and compares values, so both
// paths must give the definition's bits: the first maximum of each window in the order x[0], x[1], x[W], x[W+1]
// (a NaN taking over, as in PyTorch), and ∂E/∂y routed to that arg-max.

/// <summary>Rows of 16, 8 and 4 windows: one exact block per row, two rows per block (one vector per input row), four rows.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3, 32, 32)]
[MaxPool(2), MaxPool(2), MaxPool(2)]
public partial class PoolWidths16x8x4;

/// <summary>Rows of 14 and 7 windows (LeNet's first pooling; two rows of 7 per block, 2 lanes left over).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(5, 28, 28)]
[MaxPool(2), MaxPool(2)]
public partial class PoolWidths14x7;

/// <summary>Rows of 10 and 5 windows (three rows of 5 per block, one lane left over, a blend of two permutes).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(7, 20, 20)]
[MaxPool(2), MaxPool(2)]
public partial class PoolWidths10x5;

/// <summary>Rows of 6 windows, 12 outputs per sample: fewer than one 16-value block, so every row takes the 256-bit blocks.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 4, 12)]
[MaxPool(2)]
public partial class PoolWidths6Short;

/// <summary>Rows of 6 windows, 24 outputs per sample: one 512-bit block of two rows, then two rows of 256-bit blocks.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 4, 12)]
[MaxPool(2)]
public partial class PoolWidths6;

/// <summary>Convolution, ReLU and 2×2 max pooling fused sample by sample (the convolution's part methods run the
/// pooling's blocks), rows of 10 and 5 windows; the Identity keeps the last pooling away from the loss, so it fuses too.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 20, 20)]
[Conv2D(6, Kernel = 3, Padding = 1), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 3, Padding = 1), ReLU, MaxPool(2)]
[Identity]
public partial class PoolFusedWidths;

/// <summary>The cases, one seeded run of each, and the child process's entry that writes them out.</summary>
public static class PoolVectorCases
{
    /// <summary>A network of 2×2 poolings (stride 2) only, from C×H×W: <paramref name="Pools"/> of them, or a fused
    /// convolution network (no definition here: the fused path is compared with the unfused one in ConvFusionTests).</summary>
    public sealed record Case(string Name, Func<int, INetwork<float>> Create, int C, int H, int W, int Pools, int OutputSize);

    public static readonly Case[] All =
    [
        new("pools 16 8 4", b => new PoolWidths16x8x4(b), 3, 32, 32, 3, 3 * 4 * 4),
        new("pools 14 7", b => new PoolWidths14x7(b), 5, 28, 28, 2, 5 * 7 * 7),
        new("pools 10 5", b => new PoolWidths10x5(b), 7, 20, 20, 2, 7 * 5 * 5),
        new("pools 6, 12 outputs", b => new PoolWidths6Short(b), 1, 4, 12, 1, 12),
        new("pools 6, 24 outputs", b => new PoolWidths6(b), 2, 4, 12, 1, 24),
        new("fused 10 5", b => new PoolFusedWidths(b), 2, 20, 20, 0, 16 * 5 * 5),
    ];

    /// <summary>Three samples: blocks cross from one sample's rows into the next one's only if a kernel is wrong.</summary>
    public const int Batch = 3;

    /// <summary>Input values on a grid of quarters in [−2, 2] (many ties, so the first-maximum rule matters) with a few NaNs
    /// (pooling-only cases), and an output gradient; then the forward output and ∂E/∂x.</summary>
    public static (float[] X, float[] Dy, float[] Y, float[] Dx) Run(Case k)
    {
        var net = k.Create(Batch);
        var random = new SeededRandom(20261206);
        int inSize = k.C * k.H * k.W;
        var x = new float[Batch * inSize];
        for (int i = 0; i < x.Length; i++)
            x[i] = k.Pools > 0 && random.NextDouble() < 0.002 ? float.NaN : (float)Math.Round(16 * random.NextDouble() - 8) / 4;
        var dy = new float[Batch * k.OutputSize];
        for (int i = 0; i < dy.Length; i++) dy[i] = (float)(random.NextDouble() - 0.5);
        net.Training = true;
        float[] y = net.Forward(x, Batch).ToArray();
        var dx = new float[x.Length];
        net.Backward(dy, dx);
        return (x, dy, y, dx);
    }

    /// <summary>The definition for a pooling-only case: each pooling's forward (first maximum, NaN taking over) and its
    /// backward routing, chained.</summary>
    public static (float[] Y, float[] Dx) Definition(Case k, float[] x, float[] dy)
    {
        int C = k.C, H = k.H, W = k.W;
        var inputs = new List<(float[] X, int[] Arg, int H, int W)>();
        float[] a = x;
        for (int p = 0; p < k.Pools; p++, H /= 2, W /= 2)
        {
            int OH = H / 2, OW = W / 2;
            var y = new float[Batch * C * OH * OW];
            var arg = new int[y.Length];
            for (int n = 0; n < Batch; n++)
                for (int ch = 0; ch < C; ch++)
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++)
                        {
                            int first = n * C * H * W + ch * H * W + 2 * oy * W + 2 * ox, best = first;
                            float m = a[first];
                            foreach (int d in new[] { 1, W, W + 1 })
                                if (a[first + d] > m || float.IsNaN(a[first + d])) { m = a[first + d]; best = first + d; }
                            int o = ((n * C + ch) * OH + oy) * OW + ox;
                            y[o] = m;
                            arg[o] = best;
                        }
            inputs.Add((a, arg, H, W));
            a = y;
        }
        float[] g = dy;
        for (int p = k.Pools - 1; p >= 0; p--)
        {
            var dx = new float[inputs[p].X.Length];
            for (int o = 0; o < g.Length; o++) dx[inputs[p].Arg[o]] += g[o];
            g = dx;
        }
        return (a, g);
    }

    /// <summary>The child process's entry (<c>dotnet NetGen.Tests.dll pool-kernels &lt;file&gt;</c>, dispatched by
    /// <see cref="DirectConvCases.Main"/>): every case's y and ∂E/∂x as bit patterns, one line each.</summary>
    public static int WriteAll(string file)
    {
        Console.WriteLine(Vector512.IsHardwareAccelerated ? "vector512 accelerated" : "vector512 not accelerated");
        using var writer = new StreamWriter(file);
        foreach (var k in All)
        {
            var r = Run(k);
            writer.WriteLine($"{k.Name}|y|{Bits(r.Y)}");
            writer.WriteLine($"{k.Name}|dx|{Bits(r.Dx)}");
        }
        return 0;
    }

    public static string Bits(float[] values) =>
        string.Join(' ', values.Select(v => BitConverter.SingleToInt32Bits(v).ToString(CultureInfo.InvariantCulture)));
}

public class PoolVectorWidthTests(ITestOutputHelper output)
{
    public static TheoryData<string> PoolingOnly()
    {
        var data = new TheoryData<string>();
        foreach (var k in PoolVectorCases.All.Where(k => k.Pools > 0)) data.Add(k.Name);
        return data;
    }

    /// <summary>This machine's path (the 512-bit blocks where Vector512 is accelerated) against the definition, bit for
    /// bit, NaNs and ties included.</summary>
    [Theory]
    [MemberData(nameof(PoolingOnly))]
    public void MaxPoolingGivesTheDefinitionsBits(string name)
    {
        var k = PoolVectorCases.All.Single(c => c.Name == name);
        var (x, dy, y, dx) = PoolVectorCases.Run(k);
        var (expectedY, expectedDx) = PoolVectorCases.Definition(k, x, dy);
        Assert.Equal(PoolVectorCases.Bits(expectedY), PoolVectorCases.Bits(y));
        Assert.Equal(PoolVectorCases.Bits(expectedDx), PoolVectorCases.Bits(dx));
        if (x.Length > 1000) Assert.Contains(y, float.IsNaN);   // the NaNs reached the output (the small cases may draw none)
        Assert.True(dx.Count(v => v != 0) > dx.Length >> (2 * k.Pools + 1), "fewer than half the arg-maxes got a gradient");   // one input in 4 per pooling
        output.WriteLine($"{name}: {y.Length} outputs ({y.Count(float.IsNaN)} NaN), {dx.Count(v => v != 0)} of {dx.Length} input gradients non-zero, Vector512 accelerated: {Vector512.IsHardwareAccelerated}");
    }

    /// <summary>The 256-bit path, in a child process with AVX-512 disabled, gives this process's bits in every case
    /// (forward output and ∂E/∂x, fused convolution blocks included: their convolutions' forward and ∂E/∂x are the same
    /// bits at both widths too).</summary>
    [Fact]
    public void The256And512BitPoolingKernelsGiveTheSameBits()
    {
        if (NarrowPath.Run("pool-kernels", output) is not { } lines) return;
        var narrow = lines.ToDictionary(p => (p[0], p[1]), p => p[2]);
        foreach (var k in PoolVectorCases.All)
        {
            var (_, _, y, dx) = PoolVectorCases.Run(k);
            Assert.Equal(narrow[(k.Name, "y")], PoolVectorCases.Bits(y));
            Assert.Equal(narrow[(k.Name, "dx")], PoolVectorCases.Bits(dx));
            Assert.Contains(dx, v => v != 0);
            output.WriteLine($"{k.Name}: y ({y.Length}) and ∂E/∂x ({dx.Length}) the same bits at 256 and 512 bits");
        }
    }
}
