using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

// Stride-1 convolutions whose direct kernels (rows form, filters form, col2im by rows) have ragged 8- and 16-lane
// (float) or 4- and 8-lane (double) tails: output rows 17, 31 and 33 wide, filter counts 5, 15, 17, 33, and filter
// vectors that fill 8 lanes but not 16 (24 floats, 12 doubles: the Vector512 twin keeps their 256-bit kernel), and rows
// of one 8-lane vector (4 doubles) whose twin switches to the filters form.

/// <summary>Rows form, 2×9×17 → 5×9×17: a row of 17 is two 8-lane vectors and an overlapping one, or one 16-lane vector and one overlapping by 15 lanes.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 9, 17)]
[Conv2D(5, Kernel = 3, Padding = 1)]
public partial class DirectRows17;

/// <summary>Rows form, 3×6×33 → 15×4×31; col2im of 33-wide input rows is by rows only on the 512-bit path.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3, 6, 33)]
[Conv2D(15, Kernel = 3)]
public partial class DirectRows31;

/// <summary>Rows form, 2×5×33 → 17×6×33, a 2×3 kernel: five 8-lane vectors (two register blocks) or three 16-lane ones.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 5, 33)]
[Conv2D(17, KernelHeight = 2, KernelWidth = 3, Padding = 1)]
public partial class DirectRows33;

/// <summary>Filters form, 3×12×12 → 32×10×10: two 16-lane filter vectors.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3, 12, 12)]
[Conv2D(32, Kernel = 3)]
public partial class DirectFilters32;

/// <summary>Filters form, 2×7×7 → 48×5×5: three 16-lane filter vectors, five positions per row.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 7, 7)]
[Conv2D(48, Kernel = 3)]
public partial class DirectFilters48;

/// <summary>Filters form, 2×8×8 → 24×7×7: three 8-lane filter vectors, not a whole number of 16-lane ones.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 8, 8)]
[Conv2D(24, Kernel = 2)]
public partial class DirectFilters24;

/// <summary>Rows form at 8 lanes, 3×8×8 → 32×8×8: rows of 8 fill no 16-lane vector, so the Vector512 twin takes the
/// filters form (two 16-lane filter vectors), with ∂E/∂W summed transposed and reduced by the same JIT-time test.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3, 8, 8)]
[Conv2D(32, Kernel = 3, Padding = 1)]
public partial class DirectRows8Filters32;

/// <summary>Double, rows form, 2×9×17 → 5×9×17: 4-lane vectors (five, two blocks) or 8-lane ones (three).</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(2, 9, 17)]
[Conv2D(5, Kernel = 3, Padding = 1)]
public partial class DirectRows17Double;

/// <summary>Double, rows form, 1×8×20 → 33×8×20 (5×5, padding 2): 33 filters in blocks.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(1, 8, 20)]
[Conv2D(33, Kernel = 5, Padding = 2)]
public partial class DirectRows20Double;

/// <summary>Double, filters form, 3×9×9 → 16×7×7: four 4-lane or two 8-lane filter vectors.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(3, 9, 9)]
[Conv2D(16, Kernel = 3)]
public partial class DirectFilters16Double;

/// <summary>Double, filters form without bias, 2×6×6 → 12×6×6: three 4-lane filter vectors, not whole 8-lane ones.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(2, 6, 6)]
[Conv2D(12, Kernel = 3, Padding = 1, Bias = false)]
public partial class DirectFilters12Double;

/// <summary>Double, rows form at 4 lanes, 2×6×4 → 16×6×4: the Vector512 twin takes the filters form (two 8-lane vectors).</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(2, 6, 4)]
[Conv2D(16, Kernel = 3, Padding = 1)]
public partial class DirectRows4Filters16Double;

/// <summary>Rows form, 8×6×10 → 7×6×10 (5×5, padding 2): ∂E/∂col formed one input channel at a time (25 rows of 60
/// positions, three 8-row blocks and one row) while the sample's 200 rows are a whole number of blocks: a kernel written
/// for 200 rows alone would skip each channel's last row.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(8, 6, 10)]
[Conv2D(7, Kernel = 5, Padding = 2)]
public partial class ChannelColumns25;

/// <summary>Rows form, 2×8×13 → 9×7×10 (4×6 kernel, padding 1): ∂E/∂col one channel at a time, 24 rows (three whole blocks).</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(2, 8, 13)]
[Conv2D(9, KernelHeight = 4, KernelWidth = 6, Padding = 1)]
public partial class ChannelColumns24;

/// <summary>Double, 3×6×9 → 6×6×9 (5×5, padding 2): ∂E/∂col one channel at a time in double.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(3, 6, 9)]
[Conv2D(6, Kernel = 5, Padding = 2)]
public partial class ChannelColumns25Double;

/// <summary>
/// The direct convolutions' cases and one seeded run of each: what the tests below compare with the definition, and
/// what a child process with AVX-512 disabled writes out (<see cref="Main"/>) so that the 256-bit path is checked too.
/// </summary>
public static class DirectConvCases
{
    /// <summary>One layer: its network, shape and whether its ∂E/∂W is the rows form (per-lane sums: the one result
    /// the two vector widths may sum in another order).</summary>
    public sealed record Case(string Name, Func<int, object> Create, int C, int H, int W, int F, int KH, int KW, int Pad, bool Rows);

    public static readonly Case[] All =
    [
        new("float rows 17", b => new DirectRows17(b), 2, 9, 17, 5, 3, 3, 1, Rows: true),
        new("float rows 31", b => new DirectRows31(b), 3, 6, 33, 15, 3, 3, 0, Rows: true),
        new("float rows 33", b => new DirectRows33(b), 2, 5, 33, 17, 2, 3, 1, Rows: true),
        new("float filters 32", b => new DirectFilters32(b), 3, 12, 12, 32, 3, 3, 0, Rows: false),
        new("float filters 48", b => new DirectFilters48(b), 2, 7, 7, 48, 3, 3, 0, Rows: false),
        new("float filters 24", b => new DirectFilters24(b), 2, 8, 8, 24, 2, 2, 0, Rows: false),
        new("float rows 8 / filters 32", b => new DirectRows8Filters32(b), 3, 8, 8, 32, 3, 3, 1, Rows: true),
        new("double rows 17", b => new DirectRows17Double(b), 2, 9, 17, 5, 3, 3, 1, Rows: true),
        new("double rows 20", b => new DirectRows20Double(b), 1, 8, 20, 33, 5, 5, 2, Rows: true),
        new("double filters 16", b => new DirectFilters16Double(b), 3, 9, 9, 16, 3, 3, 0, Rows: false),
        new("double filters 12", b => new DirectFilters12Double(b), 2, 6, 6, 12, 3, 3, 1, Rows: false),
        new("double rows 4 / filters 16", b => new DirectRows4Filters16Double(b), 2, 6, 4, 16, 3, 3, 1, Rows: true),
        new("float ∂E/∂col by channel, 25 rows", b => new ChannelColumns25(b), 8, 6, 10, 7, 5, 5, 2, Rows: true),
        new("float ∂E/∂col by channel, 24 rows", b => new ChannelColumns24(b), 2, 8, 13, 9, 4, 6, 1, Rows: true),
        new("double ∂E/∂col by channel, 25 rows", b => new ChannelColumns25Double(b), 3, 6, 9, 6, 5, 5, 2, Rows: true),
    ];

    public const int Batch = 5;

    /// <summary>A run's input, parameters and results, as doubles (exact for float).</summary>
    public sealed record Result(double[] X, double[] Dy, double[] W, double[] B, double[] Y, double[] Gw, double[] Gb, double[] Dx);

    public static Result Run(Case k) => k.Create(Batch) switch
    {
        INetwork<float> f => Run(f),
        INetwork<double> d => Run(d),
        _ => throw new InvalidOperationException(k.Name),
    };

    /// <summary>Every parameter, input and output-gradient value uniform in [−½, ½) from a fixed seed; Forward, then
    /// Backward with ∂E/∂x filled with NaN first (every value must be written).</summary>
    private static Result Run<T>(INetwork<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new SeededRandom(17);
        var p = net.Parameters;
        for (int i = 0; i < p.Length; i++) p[i] = T.CreateChecked(random.NextDouble() - 0.5);
        var weights = net.Tensors.Single(t => t.Buffer == TensorBuffer.Parameters && t.Name.EndsWith("Weights", StringComparison.Ordinal));
        var bias = net.Tensors.SingleOrDefault(t => t.Buffer == TensorBuffer.Parameters && t.Name.EndsWith("Bias", StringComparison.Ordinal));
        T[] x = new T[Batch * net.InputSize], dy = new T[Batch * net.OutputSize], dx = new T[x.Length];
        for (int i = 0; i < x.Length; i++) x[i] = T.CreateChecked(random.NextDouble() - 0.5);
        for (int i = 0; i < dy.Length; i++) dy[i] = T.CreateChecked(random.NextDouble() - 0.5);
        Array.Fill(dx, T.NaN);
        var y = net.Forward(x, Batch).ToArray();
        net.ZeroGradients();
        net.Backward(dy, dx);
        var g = net.Gradients;
        double[] D(ReadOnlySpan<T> s) { var r = new double[s.Length]; for (int i = 0; i < s.Length; i++) r[i] = double.CreateChecked(s[i]); return r; }
        return new Result(D(x), D(dy), D(p.Slice(weights.Offset, weights.Length)), bias is null ? [] : D(p.Slice(bias.Offset, bias.Length)),
            D(y), D(g.Slice(weights.Offset, weights.Length)), bias is null ? [] : D(g.Slice(bias.Offset, bias.Length)), D(dx));
    }

    /// <summary>The definition (nn.Conv2d, stride 1) in double: y, ∂E/∂w, ∂E/∂b, ∂E/∂x, and per weight Σ|x·δ| over its
    /// terms (the scale of its summation-order bound).</summary>
    public static (double[] Y, double[] Gw, double[] Gb, double[] Dx, double[] GwAbs) Definition(Case k, Result r)
    {
        int C = k.C, H = k.H, W = k.W, F = k.F, KH = k.KH, KW = k.KW, P = k.Pad;
        int OH = H + 2 * P - KH + 1, OW = W + 2 * P - KW + 1;
        var y = new double[Batch * F * OH * OW];
        var gw = new double[F * C * KH * KW];
        var gwAbs = new double[gw.Length];
        var gb = new double[r.B.Length];
        var dx = new double[r.X.Length];
        for (int n = 0; n < Batch; n++)
            for (int f = 0; f < F; f++)
                for (int oy = 0; oy < OH; oy++) for (int ox = 0; ox < OW; ox++)
                {
                    int yi = ((n * F + f) * OH + oy) * OW + ox;
                    double sum = r.B.Length > 0 ? r.B[f] : 0;
                    if (gb.Length > 0) gb[f] += r.Dy[yi];
                    for (int c = 0; c < C; c++) for (int u = 0; u < KH; u++) for (int v = 0; v < KW; v++)
                    {
                        int iy = oy - P + u, ix = ox - P + v;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                        int xi = ((n * C + c) * H + iy) * W + ix, wi = ((f * C + c) * KH + u) * KW + v;
                        sum += r.W[wi] * r.X[xi];
                        gw[wi] += r.X[xi] * r.Dy[yi];
                        gwAbs[wi] += Math.Abs(r.X[xi] * r.Dy[yi]);
                        dx[xi] += r.W[wi] * r.Dy[yi];
                    }
                    y[yi] = sum;
                }
        return (y, gw, gb, dx, gwAbs);
    }

    /// <summary>Every value within <paramref name="tolerance"/> of the largest expected one (and finite).</summary>
    public static void Close(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 1 : expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"{what}[{i}]: {actual[i]:R} vs {expected[i]:R} (scale {scale:R})");
    }

    public static bool IsDouble(Case k) => k.Name.StartsWith("double", StringComparison.Ordinal);

    /// <summary>The results against the definition: 1e−5 of the largest value in float, 1e−12 in double.</summary>
    public static void MatchesDefinition(Case k, Result r)
    {
        var (y, gw, gb, dx, _) = Definition(k, r);
        double tolerance = IsDouble(k) ? 1e-12 : 1e-5;
        Close(y, r.Y, tolerance, k.Name + " y");
        Close(gw, r.Gw, tolerance, k.Name + " ∂E/∂w");
        Close(gb, r.Gb, tolerance, k.Name + " ∂E/∂b");
        Close(dx, r.Dx, tolerance, k.Name + " ∂E/∂x");
    }

    /// <summary>The child process's entry (<c>dotnet NetGen.Tests.dll direct-conv-kernels &lt;file&gt;</c>): runs every case
    /// and writes its results, one line per array (name, array, values in round-trip form).</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "pool-kernels") return PoolVectorCases.WriteAll(args[1]);
        if (args.Length == 2 && args[0] == "batchnorm-widths") return BatchNormWidthCases.WriteAll(args[1]);
        if (args.Length == 2 && args[0] == "dense-tails") return DenseTailCases.WriteAll(args[1]);
        if (args.Length != 2 || args[0] != "direct-conv-kernels")
        {
            Console.Error.WriteLine("usage: NetGen.Tests direct-conv-kernels|pool-kernels|batchnorm-widths|dense-tails <output file> (the test runner loads this assembly; this entry serves VectorWidthTests)");
            return 2;
        }
        Console.WriteLine(Vector512.IsHardwareAccelerated ? "vector512 accelerated" : "vector512 not accelerated");
        using var file = new StreamWriter(args[1]);
        foreach (var k in All)
        {
            var r = Run(k);
            foreach (var (what, values) in new[] { ("y", r.Y), ("gw", r.Gw), ("gb", r.Gb), ("dx", r.Dx) })
                file.WriteLine($"{k.Name}|{what}|{string.Join(' ', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");
        }
        return 0;
    }
}

/// <summary>The direct convolutions on this machine's path (the Vector512 twins where Vector512 is accelerated)
/// against a double loop of the definition.</summary>
public class DirectConvKernelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var k in DirectConvCases.All) data.Add(k.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesTheDefinition(string name)
    {
        var k = DirectConvCases.All.Single(c => c.Name == name);
        var r = DirectConvCases.Run(k);
        Assert.DoesNotContain(r.Dx, double.IsNaN);
        DirectConvCases.MatchesDefinition(k, r);
        output.WriteLine($"{name}: Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}, matches the definition");
    }

    /// <summary>Rows of one 8-lane vector and 32 filters: the 256-bit part methods run the rows form, their Vector512
    /// twins the filters form, and wᵀ is packed (and the chunks' transposed sums reduced) only where the twin runs.</summary>
    [Fact]
    public void NarrowRowsTakeTheFiltersFormInTheWideTwin()
    {
        var (result, _) = GeneratorHarness.Run("""
            using NetGen;
            namespace Forms;
            [Network(Loss = LossFunction.MeanSquaredError)]
            [Input(3, 8, 8)]
            [Conv2D(32, Kernel = 3, Padding = 1)]
            public partial class Rows8;
            """);
        string code = GeneratorHarness.GeneratedSource(result, "Rows8");
        string Method(string name)
        {
            int at = code.IndexOf($"private void {name}(int part, int parts)", StringComparison.Ordinal);
            Assert.True(at >= 0, name);
            int end = code.IndexOf("    private ", at + 10, StringComparison.Ordinal);
            return code[at..end];
        }
        string layer = System.Text.RegularExpressions.Regex.Match(code, @"private void (\w+)ForwardPart512\(").Groups[1].Value;
        Assert.NotEmpty(layer);
        Assert.Contains("direct convolution, rows form", Method(layer + "ForwardPart"), StringComparison.Ordinal);
        Assert.Contains("direct convolution, filters form", Method(layer + "ForwardPart512"), StringComparison.Ordinal);
        Assert.Contains("_gvec", Method(layer + "BackwardPart"), StringComparison.Ordinal);
        Assert.Contains("deltaT", Method(layer + "BackwardPart512"), StringComparison.Ordinal);
        Assert.DoesNotContain("_gvec", Method(layer + "BackwardPart512"), StringComparison.Ordinal);
        // the twin from 4 samples on (below, packing wᵀ costs more than the wide kernels save): wᵀ packed and the chunks'
        // sums reduced under the same test
        Assert.Contains("if (Vector512.IsHardwareAccelerated && _batch >= 4)", Method(layer + "ForwardPart"), StringComparison.Ordinal);
        Assert.Contains("if (Vector512.IsHardwareAccelerated && _batch >= 4)", Method(layer + "BackwardPart"), StringComparison.Ordinal);
        Assert.Contains("if (Vector512.IsHardwareAccelerated && batch >= 4) for (int f = 0; f < 32; f++)", code, StringComparison.Ordinal);
        Assert.Contains("if (Vector512.IsHardwareAccelerated && batch >= 4)   // the Vector512 twin's form", code, StringComparison.Ordinal);
    }
}
