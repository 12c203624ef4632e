using System.Globalization;
using System.Runtime.Intrinsics;
using System.Text.RegularExpressions;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// The generated kernels hand over to Vector512 twins where <c>Vector512.IsHardwareAccelerated</c> (a JIT-time
/// constant). This runs the speed suite's <c>--smoke</c> workloads twice, in this machine's default configuration and
/// in a child process with AVX-512 disabled (<c>DOTNET_EnableAVX512=0</c>; .NET 8 and 9 read
/// <c>DOTNET_EnableAVX512F</c>), and compares every workload's result. A broadcast product gives the same bits at both
/// widths (each value is one FMA chain over k in order), so the worked example (unrolled) and the GEMM layer's ∂E/∂x
/// (a broadcast product) must agree exactly; the dot products (Dense forward) group their sums by lane, so the other
/// workloads — losses after two training steps, or outputs — may differ by summation order only: relative 1e-5.
/// (A dot product of length K in float differs between two summation orders by at most 2·K·2⁻²⁴·Σ|aₖbₖ|; in practice a
/// few ulps.)
/// </summary>
public class VectorWidthTests(ITestOutputHelper output)
{
    [Fact]
    public void The256And512BitKernelsAgreeUpToSummationOrder()
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            output.WriteLine("skip: Vector512 is not accelerated on this machine, so both runs would take the 256-bit path");
            return;
        }
        string suite = Path.Combine(AppContext.BaseDirectory, "NetGen.Benchmarks.dll");
        Assert.True(File.Exists(suite), $"{suite} was not built with the tests");
        var wide = Smoke(suite, new Dictionary<string, string>());
        var narrow = Smoke(suite, NarrowPath.Avx512Off());
        Assert.Contains("smoke vector512 accelerated", wide.Stdout, StringComparison.Ordinal);
        Assert.Contains("smoke vector512 not accelerated", narrow.Stdout, StringComparison.Ordinal);
        Assert.Equal(NetGen.Benchmarks.Workloads.StepNames.Length, wide.Results.Count);   // every step workload ran
        Assert.Equal(wide.Results.Keys.Order(), narrow.Results.Keys.Order());
        foreach (var (name, w) in wide.Results)
        {
            double n = narrow.Results[name];
            output.WriteLine($"{name}: 512-bit {w:R}, 256-bit {n:R}, relative difference {Math.Abs(w - n) / Math.Max(1, Math.Abs(w)):G3}");
            Assert.True(double.IsFinite(w), name);
            if (name is "worked-example-train-b1" or "gemm1024-fwdbwd-b256") Assert.Equal(n, w);
            else Assert.True(Math.Abs(w - n) <= 1e-5 * Math.Max(1, Math.Abs(w)), $"{name}: 512-bit {w:R}, 256-bit {n:R}");
        }
    }

    /// <summary>
    /// The direct convolutions (DirectConvKernelTests' cases: rows and filters forms and col2im by rows at widths 17, 31,
    /// 33 and 15, 17, 33 filters, float and double) on the 256-bit path, in a child process with AVX-512 disabled,
    /// against the definition and against this process's Vector512 twins: the forward pass and ∂E/∂x are the same bits
    /// (each value one FMA chain, or one sum, in the same order at both widths), and so is the filters form's ∂E/∂W;
    /// the rows form's ∂E/∂W keeps one partial sum per lane (16 instead of 8 in float) and ∂E/∂b is a TensorPrimitives
    /// sum (whose partial sums follow the vector width too), so those differ by summation order only: a sum of m terms
    /// is within m·u·Σ|terms| of the exact sum in any order (u = 2⁻²⁴ in float, 2⁻⁵³ in double), so the two are at most
    /// 2·m·u·Σ|terms| apart.
    /// </summary>
    [Fact]
    public void DirectConvolutionsAgreeAtBothWidths()
    {
        if (NarrowPath.Run("direct-conv-kernels", output) is not { } lines) return;
        var narrow = lines.ToDictionary(
            parts => (parts[0], parts[1]),
            parts => parts[2].Length == 0 ? [] : parts[2].Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        foreach (var k in DirectConvCases.All)
        {
            var wide = DirectConvCases.Run(k);
            var n = new DirectConvCases.Result(wide.X, wide.Dy, wide.W, wide.B, narrow[(k.Name, "y")], narrow[(k.Name, "gw")], narrow[(k.Name, "gb")], narrow[(k.Name, "dx")]);
            DirectConvCases.MatchesDefinition(k, n);   // the 256-bit path against the definition
            Assert.Equal(n.Y, wide.Y);
            Assert.Equal(n.Dx, wide.Dx);
            if (!k.Rows) Assert.Equal(n.Gw, wide.Gw);
            var (_, _, _, _, abs) = DirectConvCases.Definition(k, wide);
            int OH = k.H + 2 * k.Pad - k.KH + 1, OW = k.W + 2 * k.Pad - k.KW + 1, m = DirectConvCases.Batch * OH * OW;
            double u = DirectConvCases.IsDouble(k) ? Math.ScaleB(1, -53) : Math.ScaleB(1, -24), worst = 0;
            void Within(double[] a, double[] b, double[] scale, string what)
            {
                for (int i = 0; i < scale.Length; i++)
                {
                    double bound = 2 * m * u * scale[i], diff = Math.Abs(a[i] - b[i]);
                    Assert.True(diff <= bound, $"{k.Name} {what}[{i}]: 512-bit {a[i]:R}, 256-bit {b[i]:R}, bound {bound:R}");
                    if (bound > 0) worst = Math.Max(worst, diff / bound);
                }
            }
            Within(wide.Gw, n.Gw, abs, "∂E/∂w");
            // ∂E/∂b is TensorPrimitives.Sum over each filter's δ, which groups its partial sums by the vector width too.
            double[] dyAbs = Enumerable.Range(0, k.F).Select(f => Enumerable.Range(0, DirectConvCases.Batch)
                .Sum(s => wide.Dy.AsSpan((s * k.F + f) * OH * OW, OH * OW).ToArray().Sum(Math.Abs))).ToArray();
            if (wide.Gb.Length > 0) Within(wide.Gb, n.Gb, dyAbs, "∂E/∂b");
            int differing = n.Gw.Zip(wide.Gw).Count(p => p.First != p.Second), differingB = n.Gb.Zip(wide.Gb).Count(p => p.First != p.Second);
            output.WriteLine($"{k.Name}: y and ∂E/∂x identical; ∂E/∂w {differing} of {n.Gw.Length} and ∂E/∂b {differingB} of {n.Gb.Length} differ, at most {worst:P2} of the bound");
        }
    }

    private (string Stdout, Dictionary<string, double> Results) Smoke(string suite, Dictionary<string, string> environment)
    {
        var (exitCode, stdout, stderr) = DotnetProcess.Run(suite, ["--smoke"], TimeSpan.FromSeconds(180), environment);
        output.WriteLine(stdout);
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{stdout}\n{stderr}");
        var results = new Dictionary<string, double>();
        foreach (Match m in Regex.Matches(stdout, @"smoke (\S+): 1t (\S+), 2t"))
            results[m.Groups[1].Value] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        return (stdout, results);
    }
}
