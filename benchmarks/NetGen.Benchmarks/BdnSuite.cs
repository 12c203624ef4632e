using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace NetGen.Benchmarks;

/// <summary>The reference run: every NetGen step workload under BenchmarkDotNet, at each thread count, with
/// MemoryDiagnoser (bytes allocated per call).</summary>
[MemoryDiagnoser]
public class StepBenchmarks
{
    private Action _step = () => { };

    [ParamsSource(nameof(Names))]
    public string Workload { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    public static IEnumerable<string> Names => BdnSuite.Selected;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _step = Workloads.Create(Workload).Step;
    }

    [Benchmark]
    public void Step() => _step();
}

public static class BdnSuite
{
    // BenchmarkDotNet runs each case in a child process, which reads the selection from the environment.
    private const string Variable = "NETGEN_BENCH_WORKLOADS";

    public static IEnumerable<string> Selected => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } list ? list.Split(',') : Workloads.StepNames;

    public static Dictionary<(string, int), double> Run(string[] names, int[] threads, string[] args)
    {
        Environment.SetEnvironmentVariable(Variable, string.Join(',', names));
        int bdn = Array.IndexOf(args, "--bdn");
        // BenchmarkDotNet builds a child project first; its default 2-minute limit runs out on a busy 2-core machine, and
        // a case whose build failed has no result (Program says so rather than print the Stopwatch figure as a full run).
        var config = DefaultConfig.Instance.WithOptions(ConfigOptions.DisableOptimizationsValidator).WithBuildTimeout(TimeSpan.FromMinutes(20));
        var summary = BenchmarkRunner.Run<StepBenchmarks>(config, bdn >= 0 ? args[(bdn + 1)..] : []);
        var medians = new Dictionary<(string, int), double>();
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is null) continue;
            var p = report.BenchmarkCase.Parameters;
            int t = (int)p["Threads"];
            if (threads.Contains(t)) medians[((string)p["Workload"], t)] = report.ResultStatistics.Median / 1e9;
        }
        return medians;
    }
}
