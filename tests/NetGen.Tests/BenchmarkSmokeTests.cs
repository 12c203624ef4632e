using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// CI does not time anything (its machines are noisy); it runs the speed suite's <c>--smoke</c> mode: the suite starts,
/// every step workload (worked example, MLP at batch 1/32/128, LeNet at batch 64, the GEMM-bound layer) runs at 1 and
/// at 2 threads and gives the same finite result, and the generator runs on each timed declaration.
/// </summary>
public class BenchmarkSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public void TheSpeedSuiteStartsAndAgreesWithItself()
    {
        string suite = Path.Combine(AppContext.BaseDirectory, "NetGen.Benchmarks.dll");
        Assert.True(File.Exists(suite), $"{suite} was not built with the tests");
        var (exitCode, stdout, stderr) = DotnetProcess.Run(suite, ["--smoke"], TimeSpan.FromSeconds(180));
        output.WriteLine(stdout);
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{stdout}\n{stderr}");
        Assert.Contains("smoke passed", stdout, StringComparison.Ordinal);
        foreach (var workload in new[] { "worked-example-train-b1", "mlp-train-b1", "mlp-train-b32", "mlp-train-b128", "lenet-train-b64", "gemm1024-fwdbwd-b256" })
            Assert.Matches($@"smoke {workload}: 1t \S+, 2t \S+ ok", stdout);
        Assert.Contains("smoke generator vgg16:", stdout, StringComparison.Ordinal);
    }
}
