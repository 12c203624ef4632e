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
        var narrow = Smoke(suite, new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0", ["DOTNET_EnableAVX512F"] = "0" });
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
