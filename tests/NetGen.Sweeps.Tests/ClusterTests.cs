using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NetGen.Sweeps;
using NetGen.Sweeps.Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace NetGen.Sweeps.Tests;

/// <summary>What every silo of the test cluster registers (in-process silos share these statics).</summary>
public static class ClusterSweeps
{
    public static string Directory { get; set; } = Path.GetTempPath();

    public const int SyntheticTrials = 30;

    public static Sweep Synthetic() =>
        Tests.Synthetic.Sweep("cluster-synthetic", trials: SyntheticTrials, epochs: 9, storage: Path.Combine(Directory, "synthetic.jsonl"),
            pruner: new Asha(minEpochs: 3, reductionFactor: 3));   // one rung, at epoch 3; about a third of the trials run on to 9

    public static Sweep Real() => RealTrial.Sweep("cluster-real", storage: Path.Combine(Directory, "real.jsonl"));

    public const int MillisecondsPerEpoch = 100;
}

public sealed class SweepSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo)
    {
        silo.AddSweep(ClusterSweeps.Synthetic(), t => Synthetic.Run(t, ClusterSweeps.MillisecondsPerEpoch), o => o.Workers = 2);
        silo.AddSweep(ClusterSweeps.Real(), RealTrial.Run);
        // Declare a stopped silo dead within a few seconds (Orleans' failure detector; the defaults take longer).
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromMilliseconds(500);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
        });
    }
}

public sealed class ClusterTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("netgen-cluster-").FullName;

    public void Dispose()
    {
        try { System.IO.Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task ASiloStoppedMidSweepLosesNoTrialAndRecordsNoneTwice()
    {
        ClusterSweeps.Directory = _dir;
        var clock = Stopwatch.StartNew();
        var local = await ClusterSweeps.Synthetic().Storage(null).RunAsync(t => Synthetic.Run(t));
        output.WriteLine($"single machine: best trial {local.Best!.Number} {local.Best.Value:R} ({local.Best.Describe()}); {local.Pruned} pruned");

        var builder = new TestClusterBuilder(3);
        builder.AddSiloBuilderConfigurator<SweepSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var sweep = ClusterSweeps.Synthetic();
            var study = cluster.GrainFactory.GetGrain<IStudyGrain>(sweep.Name);
            var run = sweep.RunOnClusterAsync(cluster.GrainFactory);
            string host = await study.Host();

            // Mid-sweep: a secondary silo that does not host the study grain and is running trials. Preferably one
            // that has already recorded a result (then the kill also shows that its finished work is kept); a silo
            // whose first trials are still running qualifies once 12 results are in, so the kill always lands
            // mid-sweep, whatever order the workers happen to finish in.
            SiloHandle? victim = null;
            List<int> lost = [];
            bool victimHadResults = false;
            var deadline = Stopwatch.StartNew();
            while (victim is null)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the sweep never had 3 results with a secondary silo running a promoted trial");
                var status = await study.Status(0);
                if (status.Recorded >= 3)
                    foreach (var silo in cluster.SecondarySilos.Where(s => s.SiloAddress.ToString() != host))
                    {
                        string address = silo.SiloAddress.ToString();
                        bool hasResults = status.NewResults.Any(r => r.Worker.StartsWith(address, StringComparison.Ordinal));
                        // A trial promoted past the rung at epoch 3 runs to epoch 9 (500 ms more at least): the kill lands while it runs.
                        if ((hasResults || status.Recorded >= 12)
                            && status.RunningBySilo.TryGetValue(address, out var running) && running.Any(n => status.EpochsReported[n] >= 4))
                        {
                            victim = silo;
                            lost = running;
                            victimHadResults = hasResults;
                            output.WriteLine($"stopping {address} after {status.Recorded} results ({(hasResults ? "some" : "none")} of them its own), running trials {string.Join(", ", running)}");
                            break;
                        }
                    }
                if (victim is null) await Task.Delay(20);
            }
            var killedAt = Stopwatch.StartNew();
            await cluster.KillSiloAsync(victim);

            var results = await run.WaitAsync(TimeSpan.FromSeconds(120));
            var final = await study.Status(int.MaxValue);
            output.WriteLine($"finished {killedAt.Elapsed.TotalSeconds:0.0} s after the kill; {final.Requeued.Count} trial(s) re-queued ({string.Join(", ", final.Requeued)}; {final.RequeuedFromDeadSilos} on membership's dead-silo verdict, the rest handed back by the stopping silo), {final.DuplicatesIgnored} duplicate result(s) ignored; {results.Complete} complete, {results.Pruned} pruned; total {clock.Elapsed.TotalSeconds:0.0} s");

            // Every trial recorded exactly once, in the result and in the study file.
            Assert.Equal(Enumerable.Range(0, ClusterSweeps.SyntheticTrials), results.Trials.Select(t => t.Number));
            var fileNumbers = File.ReadAllLines(Path.Combine(_dir, "synthetic.jsonl")).Skip(1)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("trial").GetInt32()).ToList();
            Assert.Equal(ClusterSweeps.SyntheticTrials, fileNumbers.Count);
            Assert.Equal(Enumerable.Range(0, ClusterSweeps.SyntheticTrials), fileNumbers.Order());
            // The stopped silo's running trials were re-queued and finished on the silos left. (A trial seen running
            // there just before the kill may have finished in between: then the stopped silo recorded it.)
            string victimAddress = victim.SiloAddress.ToString();
            bool OnVictim(int n) => results.Trials[n].Worker.StartsWith(victimAddress, StringComparison.Ordinal);
            foreach (int n in lost) output.WriteLine($"trial {n}: {results.Trials[n].State} after {results.Trials[n].Epochs} epochs on {results.Trials[n].Worker}");
            Assert.NotEmpty(final.Requeued);
            Assert.Equal(final.Requeued.Count, final.Requeued.Distinct().Count());
            Assert.All(final.Requeued, n => Assert.False(OnVictim(n), $"re-queued trial {n} recorded from the stopped silo"));
            Assert.All(lost, n => Assert.True(OnVictim(n) || final.Requeued.Contains(n), $"trial {n} neither finished before the kill nor re-queued"));
            Assert.NotEmpty(lost);   // it was working when stopped
            if (victimHadResults) Assert.Contains(results.Trials, t => OnVictim(t.Number));   // and what it finished before is kept
            // Both silos left recorded trials; the stopped one counts as a worker when it finished any.
            var workers = results.Trials.Select(t => t.Worker.Split('/')[0]).Distinct().ToList();
            Assert.Equal(results.Trials.Any(t => OnVictim(t.Number)) ? 3 : 2, workers.Count);
            // The best trial is the single-machine run's.
            Assert.Equal(local.Best.Number, results.Best!.Number);
            Assert.Equal(local.Best.Value, results.Best.Value);

            // A real network's trials on the cluster give exactly the local values.
            var realLocal = await RealTrial.Sweep("real-local").RunAsync(RealTrial.Run);
            var realCluster = await ClusterSweeps.Real().RunOnClusterAsync(cluster.GrainFactory);
            Assert.Equal(realLocal.Trials.Select(t => t.Value), realCluster.Trials.Select(t => t.Value));
            output.WriteLine($"real network on the cluster: {string.Join(", ", realCluster.Trials.Select(t => $"{t.Value:R}"))}");
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
