using System.Diagnostics;
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
    public async Task TheSpeedSuiteStartsAndAgreesWithItself()
    {
        string suite = Path.Combine(AppContext.BaseDirectory, "NetGen.Benchmarks.dll");
        Assert.True(File.Exists(suite), $"{suite} was not built with the tests");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(suite);
        start.ArgumentList.Add("--smoke");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var reading = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the smoke run did not finish in 180 s:\n" + await reading);
        }
        string stdout = await reading, stderr = await errors;
        output.WriteLine(stdout);
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{stdout}\n{stderr}");
        Assert.Contains("smoke passed", stdout, StringComparison.Ordinal);
        foreach (var workload in new[] { "worked-example-train-b1", "mlp-train-b1", "mlp-train-b32", "mlp-train-b128", "lenet-train-b64", "gemm1024-fwdbwd-b256" })
            Assert.Matches($@"smoke {workload}: 1t \S+, 2t \S+ ok", stdout);
        Assert.Contains("smoke generator vgg16:", stdout, StringComparison.Ordinal);
    }
}
