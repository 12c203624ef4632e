using System.Globalization;
using System.Runtime.Intrinsics;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>27 features: where Vector512 is accelerated features 0–15 are one 16-lane vector, 16–23 one 8-lane vector and
/// 24–26 the scalar loop; without it, 0–7 and 8–15 are 8-lane vectors.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(27)]
[BatchNorm]
public partial class WidthFeatureNorm;

/// <summary>3 channels of 5 × 9 = 45 values: runs of 16 (two, then 13 one by one) where Vector512 is accelerated, of 8
/// (five, then 5) without.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3, 5, 9)]
[BatchNorm]
public partial class WidthChannelNorm;

/// <summary>One training step of each BatchNorm case (forward, backward from a given ∂E/∂y), and the child process's
/// entry that writes the results.</summary>
public static class BatchNormWidthCases
{
    public sealed record Case(string Name, Func<int, INetwork<float>> Create, int Channels, int Spatial);

    public static readonly Case[] All =
    [
        new("features 27", b => new WidthFeatureNorm(b), 27, 1),
        new("channels 3x45", b => new WidthChannelNorm(b), 3, 45),
    ];

    public const int Batch = 6;

    /// <summary>x, ∂E/∂y, and the step's y, ∂E/∂x, gradients (∂E/∂γ then ∂E/∂β) and state (running means then variances).</summary>
    public sealed record Result(float[] X, float[] Dy, float[] Y, float[] Dx, float[] G, float[] S);

    public static Result Run(Case k)
    {
        var net = k.Create(Batch);
        var random = new SeededRandom(20261206);
        int size = k.Channels * k.Spatial;
        var x = new float[Batch * size];
        var dy = new float[Batch * size];
        for (int i = 0; i < x.Length; i++)
        {
            // values of different magnitudes and an offset, so the sums round
            x[i] = (float)((random.NextDouble() - 0.3) * Math.Pow(10, (int)(random.NextDouble() * 4) - 2) + 3);
            dy[i] = (float)(random.NextDouble() - 0.5);
        }
        net.Training = true;
        net.ZeroGradients();
        float[] y = net.Forward(x, Batch).ToArray();
        var dx = new float[x.Length];
        net.Backward(dy, dx);
        return new Result(x, dy, y, dx, net.Gradients.ToArray(), net.State.ToArray());
    }

    /// <summary>The child process's entry (<c>dotnet NetGen.Tests.dll batchnorm-widths &lt;file&gt;</c>, dispatched by
    /// <see cref="DirectConvCases.Main"/>): each case's results, one line per array, in round-trip form.</summary>
    public static int WriteAll(string file)
    {
        Console.WriteLine(Vector512.IsHardwareAccelerated ? "vector512 accelerated" : "vector512 not accelerated");
        using var writer = new StreamWriter(file);
        foreach (var k in All)
        {
            var r = Run(k);
            foreach (var (what, values) in new[] { ("y", r.Y), ("dx", r.Dx), ("g", r.G), ("s", r.S) })
                writer.WriteLine($"{k.Name}|{what}|{string.Join(' ', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");
        }
        return 0;
    }
}

/// <summary>
/// BatchNorm's Vector512 loops against the 256-bit ones (a child process with AVX-512 disabled). Per feature, each lane
/// adds one feature's values in sample order at either width: every result must be the same bits. Per channel, the
/// double sums of a channel's m = batch·H·W terms group by 16 lanes instead of 8: each is within (m − 1)·2⁻⁵³·Σ|terms|
/// of the exact sum, so the two are at most 2·m·2⁻⁵³·Σ|terms| apart, and each float result rounds once more (half an
/// ulp each way). Asserted on ∂E/∂β (ΣΔy, one rounding) and the running mean (momentum·μ, μ = Σx/m rounded); the
/// values computed from the statistics (y, ∂E/∂x, ∂E/∂γ, the running variance) within 8 ulps of their scale.
/// </summary>
public class BatchNormWidthTests(ITestOutputHelper output)
{
    [Fact]
    public void The256And512BitBatchNormAgree_PerFeatureBitForBit_PerChannelWithinTheSummationBound()
    {
        if (NarrowPath.Run("batchnorm-widths", output) is not { } lines) return;
        var narrow = lines.ToDictionary(
            p => (p[0], p[1]), p => p[2].Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        const double ud = 1.0 / (1L << 53), uf = 1.0 / (1 << 23), momentum = 0.1;
        foreach (var k in BatchNormWidthCases.All)
        {
            var wide = BatchNormWidthCases.Run(k);
            float[] y = narrow[(k.Name, "y")], dx = narrow[(k.Name, "dx")], g = narrow[(k.Name, "g")], s = narrow[(k.Name, "s")];
            int differing = y.Zip(wide.Y).Count(p => p.First != p.Second) + dx.Zip(wide.Dx).Count(p => p.First != p.Second)
                + g.Zip(wide.G).Count(p => p.First != p.Second) + s.Zip(wide.S).Count(p => p.First != p.Second);
            output.WriteLine($"{k.Name}: {differing} of {y.Length + dx.Length + g.Length + s.Length} values differ between the widths");
            Assert.Contains(wide.G, v => v != 0);
            if (k.Spatial == 1)
            {
                Assert.Equal(y, wide.Y);
                Assert.Equal(dx, wide.Dx);
                Assert.Equal(g, wide.G);
                Assert.Equal(s, wide.S);
                continue;
            }
            int C = k.Channels, S = k.Spatial, m = BatchNormWidthCases.Batch * S;
            double Sum(float[] a, int ch) => Enumerable.Range(0, BatchNormWidthCases.Batch).Sum(n => a.AsSpan((n * C + ch) * S, S).ToArray().Sum(v => Math.Abs((double)v)));
            for (int ch = 0; ch < C; ch++)
            {
                // ∂E/∂β = Σ ∂E/∂y, rounded to float once
                double beta = wide.G[C + ch], bound = 2 * m * ud * Sum(wide.Dy, ch) + uf * Math.Abs(beta);
                Assert.True(Math.Abs(beta - g[C + ch]) <= bound, $"{k.Name} ∂E/∂β[{ch}]: 512-bit {beta:R}, 256-bit {g[C + ch]:R}, bound {bound:R}");
                // running mean = momentum·μ (from 0), μ = Σx/m rounded to float
                double mean = wide.S[ch] / momentum, meanBound = 2 * (2 * m * ud * Sum(wide.X, ch) / m) + uf * Math.Abs(mean);
                double running = wide.S[ch], runningBound = momentum * meanBound * (1 + uf) + uf * Math.Abs(running);
                Assert.True(Math.Abs(running - s[ch]) <= runningBound, $"{k.Name} running mean[{ch}]: 512-bit {running:R}, 256-bit {s[ch]:R}, bound {runningBound:R}");
            }
            void Within(float[] a, float[] b, string what)
            {
                double scale = a.Max(v => Math.Abs((double)v));
                for (int i = 0; i < a.Length; i++)
                    Assert.True(Math.Abs(a[i] - b[i]) <= 8 * uf * scale, $"{k.Name} {what}[{i}]: 512-bit {a[i]:R}, 256-bit {b[i]:R} (scale {scale:R})");
            }
            Within(wide.Y, y, "y");
            Within(wide.Dx, dx, "∂E/∂x");
            Within(wide.G, g, "gradient");
            Within(wide.S, s, "state");
        }
    }
}
