using System.Collections.Concurrent;
using NetGen.Sweeps;

namespace NetGen.Sweeps.Tests;

public sealed class SamplerTests
{
    private static SearchSpace Space() => new SearchSpace()
        .Grid("optimizer", "sgd", "momentum", "adam")
        .LogUniform("lr", 1e-4, 1.0)
        .Choice("batch", 16, 32, 64)
        .Uniform("dropout", 0.0, 0.5)
        .IntUniform("units", 8, 12);

    [Fact]
    public void SameSeedGivesTheSameTrialsWhateverTheOrderTheyAreAskedFor()
    {
        var a = Space();
        var b = Space();
        var forward = Enumerable.Range(0, 60).Select(n => SearchSpace.Describe(a.Sample(1, n))).ToArray();
        var backward = Enumerable.Range(0, 60).Reverse().Select(n => SearchSpace.Describe(b.Sample(1, n))).Reverse().ToArray();
        Assert.Equal(forward, backward);
        // Values are exact functions of (seed, number): compare the raw doubles, not only their printed form.
        Assert.Equal((double)a.Sample(1, 17)["lr"], (double)b.Sample(1, 17)["lr"]);
        // Another seed gives other draws (the grid column is the same: it depends on the number only).
        var other = Enumerable.Range(0, 60).Select(n => SearchSpace.Describe(a.Sample(2, n))).ToArray();
        Assert.Equal(60, forward.Zip(other).Count(p => p.First != p.Second));
        Assert.Equal(a.Sample(1, 5)["optimizer"], a.Sample(2, 5)["optimizer"]);
    }

    [Fact]
    public void TheFirstTrialsOfSeedOneArePinned()
    {
        // Pinned so that a change to the sampler (which would silently change every stored study) fails here. The
        // values were computed apart from this code, by SplitMix64 written out in a few lines of Python: key =
        // mix(seed + (n + 1)·φ), u_i = (mix(key + (i + 1)·φ) >> 11) / 2^53, then each parameter's inverse CDF.
        var s = Space();
        Assert.Equal("optimizer=sgd lr=0.595 batch=16 dropout=0.389 units=9", SearchSpace.Describe(s.Sample(1, 0)));
        Assert.Equal("optimizer=momentum lr=0.000137 batch=16 dropout=0.282 units=9", SearchSpace.Describe(s.Sample(1, 1)));
        Assert.Equal("optimizer=adam lr=0.00511 batch=32 dropout=0.0291 units=12", SearchSpace.Describe(s.Sample(1, 2)));
    }

    [Fact]
    public void GridCyclesEveryCombinationAndRandomParametersStayInTheirRanges()
    {
        var s = Space();
        var trials = Enumerable.Range(0, 3000).Select(n => s.Sample(7, n)).ToArray();
        Assert.Equal(Enumerable.Range(0, 60).Select(n => new[] { "sgd", "momentum", "adam" }[n % 3]), trials.Take(60).Select(t => (string)t["optimizer"]));
        var lr = trials.Select(t => (double)t["lr"]).ToArray();
        Assert.All(lr, v => Assert.InRange(v, 1e-4, 1.0));
        // Log-uniform: about half below the geometric middle 1e-2, about a quarter below 1e-3.
        Assert.InRange(lr.Count(v => v < 1e-2) / 3000.0, 0.46, 0.54);
        Assert.InRange(lr.Count(v => v < 1e-3) / 3000.0, 0.22, 0.28);
        var units = trials.Select(t => (int)t["units"]).ToArray();
        Assert.Equal([8, 9, 10, 11, 12], units.Distinct().Order());
        Assert.All(trials.Select(t => (double)t["dropout"]), v => Assert.InRange(v, 0.0, 0.5));
        Assert.Equal([16, 32, 64], trials.Select(t => (int)t["batch"]).Distinct().Order());
    }

    [Fact]
    public void BadSpacesAndBadReadsSayWhatIsWrong()
    {
        Assert.Contains("log-uniform range needs low > 0", Assert.Throws<ArgumentException>(() => new SearchSpace().LogUniform("lr", 0, 1)).Message);
        Assert.Contains("already has a parameter 'lr'", Assert.Throws<ArgumentException>(() => new SearchSpace().Uniform("lr", 0, 1).Uniform("lr", 0, 2)).Message);
        Assert.Contains("lists 16 twice", Assert.Throws<ArgumentException>(() => new SearchSpace().Choice("batch", 16, 16)).Message);
        var sweep = Synthetic.Sweep("reads");
        var trial = new Trial(0, sweep.Parameters(0), 3, 1, "val_loss", new NeverPrune(), default);
        Assert.Contains("it has: optimizer, lr, batch", Assert.Throws<KeyNotFoundException>(() => trial.Double("momentum")).Message);
        Assert.Contains("not a Int32", Assert.Throws<InvalidCastException>(() => trial.Int("optimizer")).Message);
        Assert.Equal((double)trial.Int("batch"), trial.Double("batch"));   // integers read as reals
        Assert.Contains("next epoch is 1", Assert.Throws<ArgumentException>(() => trial.Report(2, new Dictionary<string, double> { ["val_loss"] = 1 })).Message);
        Assert.Contains("no 'val_loss'", Assert.Throws<ArgumentException>(() => trial.Report(1, new Dictionary<string, double> { ["loss"] = 1 })).Message);
    }

    private sealed class NeverPrune : ITrialReporter
    {
        public bool Report(int trial, int previousEpoch, int epoch, double value) => false;
    }
}

public sealed class AshaTests
{
    [Fact]
    public void RungsSitAtMinEpochsTimesPowersOfTheReductionFactorBelowTheBudget()
    {
        Assert.Equal([1, 3, 9], new Asha(1, 3).RungEpochs(27));
        Assert.Equal([1, 3, 9, 27], new Asha(1, 3).RungEpochs(28));
        Assert.Equal([2, 8], new Asha(2, 4).RungEpochs(30));
        Assert.Equal([6, 18], new Asha(2, 3, minEarlyStoppingRate: 1).RungEpochs(20));
        Assert.Empty(new Asha(5, 2).RungEpochs(5));
    }

    [Fact]
    public void PromotesOnlyTheTopThirdAtARungAsOptunaDoes()
    {
        var rungs = new Asha(1, 3).CreateRungs(9, Goal.Minimize);
        // Epoch 1 is rung 0. Fewer than η values: only the best so far goes on.
        Assert.False(rungs.ShouldPrune(0, 0, 1, 0.50));   // alone: promoted
        Assert.True(rungs.ShouldPrune(1, 0, 1, 0.60));    // worse than 0.50 → pruned
        Assert.False(rungs.ShouldPrune(2, 0, 1, 0.40));   // best → promoted
        // 4 values {0.40, 0.50, 0.60, x}: index 4/3 − 1 = 0, x must be the best.
        Assert.True(rungs.ShouldPrune(3, 0, 1, 0.45));
        // 5 values: still index 0.
        Assert.False(rungs.ShouldPrune(4, 0, 1, 0.30));
        // 6 values {0.30, 0.40, 0.45, 0.50, 0.60, x}: index 6/3 − 1 = 1, x ≤ second best goes on.
        Assert.False(rungs.ShouldPrune(5, 0, 1, 0.35));
        Assert.Equal(6, rungs.Count(0));
        // Epochs between rungs never prune; epoch 3 is rung 1 and starts afresh.
        Assert.False(rungs.ShouldPrune(5, 1, 2, 9.99));
        Assert.False(rungs.ShouldPrune(5, 2, 3, 0.20));
        Assert.True(rungs.ShouldPrune(4, 2, 3, 0.25));
        // A trial that runs again (its worker died) replaces its own value instead of competing with it.
        Assert.False(rungs.ShouldPrune(5, 2, 3, 0.20));
        Assert.Equal(2, rungs.Count(1));
        // NaN is pruned at a rung.
        Assert.True(rungs.ShouldPrune(6, 0, 1, double.NaN));
    }

    [Fact]
    public void MaximizingKeepsTheLargest()
    {
        var rungs = new Asha(1, 2).CreateRungs(4, Goal.Maximize);
        Assert.False(rungs.ShouldPrune(0, 0, 1, 0.80));
        Assert.True(rungs.ShouldPrune(1, 0, 1, 0.70));   // 2 values, index 0: must be the largest
        Assert.False(rungs.ShouldPrune(2, 0, 1, 0.90));
        Assert.False(rungs.ShouldPrune(3, 0, 1, 0.85));  // 4 values, index 1: ≥ second largest (0.85)
    }

    [Fact]
    public async Task OnSyntheticCurvesAshaStopsTheWorstEarlyAndKeepsTheBest()
    {
        var full = await Synthetic.Sweep("full", pruner: null).EarlyStopping(null).Parallel(1).RunAsync(t => Synthetic.Run(t));
        var pruned = await Synthetic.Sweep("pruned", trials: 24, epochs: 9).Parallel(1).RunAsync(t => Synthetic.Run(t));
        Assert.Equal(24 * 9, full.EpochsRun);
        Assert.Equal(0, full.Pruned);
        Assert.Equal(24, pruned.Trials.Count);
        Assert.True(pruned.Pruned >= 10, $"pruned {pruned.Pruned}");
        Assert.True(pruned.EpochsRun < full.EpochsRun / 2, $"{pruned.EpochsRun} of {full.EpochsRun} epochs");
        Assert.Equal(full.Best!.Number, pruned.Best!.Number);
        Assert.Equal(full.Best.Value, pruned.Best.Value);
        // Every pruned trial stopped at a rung (1 or 3), never between rungs.
        Assert.All(pruned.Trials.Where(t => t.State == TrialState.Pruned), t => Assert.Contains(t.Epochs, new[] { 1, 3 }));
        // Sequential: the decisions follow from the rule alone. Trial 1 (momentum, lr 0.22) is worse than trial 0 at epoch 1.
        Assert.Equal(TrialState.Complete, pruned.Trials[0].State);
        Assert.Equal(Synthetic.Quality(new Trial(1, pruned.Sweep.Parameters(1), 9, 1, "val_loss", null!, default)) * 3
            > Synthetic.Quality(new Trial(0, pruned.Sweep.Parameters(0), 9, 1, "val_loss", null!, default)) * 3,
            pruned.Trials[1].State == TrialState.Pruned);
    }

    [Fact]
    public async Task ParallelRunsGiveTheSameBestAsASequentialOne()
    {
        var one = await Synthetic.Sweep("seq", parallel: 1).RunAsync(t => Synthetic.Run(t));
        var two = await Synthetic.Sweep("par", parallel: 2).RunAsync(t => Synthetic.Run(t, millisecondsPerEpoch: 1));
        Assert.Equal(one.Best!.Number, two.Best!.Number);
        Assert.Equal(one.Best.Value, two.Best.Value);
        Assert.Equal(Enumerable.Range(0, 24), two.Trials.Select(t => t.Number));
    }
}

public sealed class StudyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netgen-sweep-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AKilledSweepResumesRunningOnlyTheTrialsNotRecorded()
    {
        string path = Path.Combine(_dir, "study.jsonl");
        // The uninterrupted run, for reference (sequential, so its pruning decisions are reproducible).
        var reference = await Synthetic.Sweep("resume", parallel: 1).RunAsync(t => Synthetic.Run(t));

        // First run: "killed" after 10 results (cancelled: the running trial is not recorded), and a torn line as a
        // process dying mid-write leaves.
        using var kill = new CancellationTokenSource();
        int finished = 0;
        var firstRun = new ConcurrentBag<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Synthetic.Sweep("resume", storage: path, parallel: 1).RunAsync(t =>
        {
            firstRun.Add(t.Number);
            if (Volatile.Read(ref finished) == 10) kill.Cancel();
            try { Synthetic.Run(t); }
            finally { Interlocked.Increment(ref finished); }
        }, cancellationToken: kill.Token));
        Assert.Equal(11, File.ReadAllLines(path).Length);   // header + 10 trials
        File.AppendAllText(path, "{\"trial\":10,\"state\":\"compl");

        // Second run: only trials 10 … 23 run.
        var secondRun = new ConcurrentBag<int>();
        var output = new StringWriter();
        var resumed = await Synthetic.Sweep("resume", storage: path, parallel: 1).RunAsync(t => { secondRun.Add(t.Number); Synthetic.Run(t); }, output);
        Assert.Equal(Enumerable.Range(10, 14), secondRun.Order());
        Assert.Contains("resuming: 10 already recorded", output.ToString());
        var lines = File.ReadAllLines(path);
        Assert.Equal(25, lines.Length);
        Assert.Equal(Enumerable.Range(0, 24), lines.Skip(1).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("trial").GetInt32()).Order());
        // Same results as the uninterrupted run, pruning included (the rungs were rebuilt from the file).
        Assert.Equal(reference.Trials.Select(t => (t.Number, t.State, t.Value, t.Epochs)), resumed.Trials.Select(t => (t.Number, t.State, t.Value, t.Epochs)));

        // A third run has nothing to do.
        int third = 0;
        var again = await Synthetic.Sweep("resume", storage: path, parallel: 1).RunAsync(_ => Interlocked.Increment(ref third));
        Assert.Equal(0, third);
        Assert.Equal(24, again.Trials.Count);
    }

    [Fact]
    public void ATrialIsRecordedOnceHoweverOftenItsResultArrives()
    {
        string path = Path.Combine(_dir, "once.jsonl");
        var sweep = Synthetic.Sweep("once", trials: 3);
        TrialRecord Record(double value) => new()
        {
            Number = 1, State = TrialState.Complete, Parameters = sweep.Parameters(1), Value = value,
            Curve = [new Dictionary<string, double> { ["val_loss"] = value }],
        };
        using (var file = StudyFile.Open(path, sweep.Name, sweep.Fingerprint, sweep.Parameters))
        {
            Assert.True(file.Append(Record(0.5)));
            Assert.False(file.Append(Record(0.7)));   // e.g. from a worker whose silo was declared dead, finishing anyway
        }
        using (var reopened = StudyFile.Open(path, sweep.Name, sweep.Fingerprint, sweep.Parameters))
        {
            Assert.False(reopened.Append(Record(0.9)));
            Assert.Equal(0.5, Assert.Single(reopened.Records).Value);
        }
        Assert.Equal(2, File.ReadAllLines(path).Length);
    }

    [Fact]
    public async Task AFileOfAnotherSweepIsRefused()
    {
        string path = Path.Combine(_dir, "other.jsonl");
        await Synthetic.Sweep("a", trials: 3, storage: path).RunAsync(t => Synthetic.Run(t));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Synthetic.Sweep("a", trials: 4, storage: path).RunAsync(t => Synthetic.Run(t)));
        Assert.Contains("fingerprint", e.Message);
        Assert.Contains("Use another file", e.Message);
    }

    [Fact]
    public async Task FailedTrialsAreRecordedWithTheirReasonAndTableAndPlotAreWritten()
    {
        string path = Path.Combine(_dir, "failing.jsonl");
        var results = await Synthetic.Sweep("failing", trials: 6, storage: path).RunAsync(t =>
        {
            if (t.Number == 4) throw new InvalidOperationException("Training diverged: the loss became NaN");
            Synthetic.Run(t);
        });
        var failed = Assert.Single(results.Trials, t => t.State == TrialState.Failed);
        Assert.Equal(4, failed.Number);
        Assert.Contains("diverged", failed.Error);
        Assert.Contains("\"error\":\"InvalidOperationException: Training diverged", File.ReadAllText(path));
        var table = new StringWriter();
        results.Table(table, top: 3);
        var rows = table.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("# failing: 6 trials", rows[0]);
        Assert.Matches(@"^top 1 \d+\.\d{4} optimizer=\w+ lr=[0-9.e-]+ batch=\d+$", rows[1].TrimEnd('\r'));
        Assert.Equal(results.Best!.Describe(), rows[1].TrimEnd('\r').Split(' ', 4)[3]);
        string png = Path.Combine(_dir, "sweep.png");
        results.Plot(png);
        Assert.True(new FileInfo(png).Length > 10_000);
    }

    [Fact]
    public async Task ARealNetworkTrialTrainsAndIsPrunedThroughTheFitCallback()
    {
        var results = await RealTrial.Sweep("real").RunAsync(RealTrial.Run);
        Assert.Equal(2, results.Complete);
        Assert.All(results.Trials, t => Assert.Equal(3, t.Epochs));
        Assert.All(results.Trials, t => Assert.InRange(t.Value, 0.05, 2.3));
        Assert.Equal(results.Trials[0].Curve[^1]["val_loss"], results.Trials[0].Value);
    }
}
