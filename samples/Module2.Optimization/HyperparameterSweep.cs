using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using NetGen;
using NetGen.Sweeps;
using NetGen.Sweeps.Orleans;
using Orleans;
using Orleans.Hosting;
using static System.FormattableString;

namespace Module2.Optimization;

/// <summary>
/// Tuning instead of guessing: 60 trials of optimiser × learning rate × batch size on <see cref="DigitsMlp"/>, with
/// ASHA stopping the hopeless ones after 3, 6 or 12 epochs. Locally (one trial per core) or, with --cluster, through a
/// Microsoft Orleans cluster of two silos started in this process (the same code runs on silos on several machines).
/// </summary>
public static class HyperparameterSweep
{
    /// <summary>The plot's file name in the output directory.</summary>
    public const string ImageName = "sweep.png";

    /// <summary>Trials in the sweep.</summary>
    public const int TrialCount = 60;

    /// <summary>The epoch budget of a trial: small, so the whole sweep takes well under a minute on two cores.</summary>
    public const int EpochBudget = 24;

    private static readonly Lazy<(Dataset<float> Train, Dataset<float> Validation)> Data = new(() => DigitsData.Split(seed: 7));

    /// <summary>The `sweep` subcommand.</summary>
    public static Command Command()
    {
        var output = new Option<DirectoryInfo>("--output") { Description = "Where to write the plot and the study files.", DefaultValueFactory = _ => new DirectoryInfo("module2-images") };
        var cluster = new Option<bool>("--cluster") { Description = "Run the trials on a Microsoft Orleans cluster of 2 silos started in this process (localhost)." };
        var fresh = new Option<bool>("--fresh") { Description = "Delete the study file first; otherwise a sweep resumes from it, running only the trials it does not hold." };
        var command = new Command("sweep", $"{TrialCount} trials of optimizer × learning rate × batch size on the digits MLP with ASHA pruning; prints the top 5 and the epochs saved, writes {ImageName}.")
        {
            output, cluster, fresh,
        };
        command.SetAction(r =>
        {
            var directory = r.GetValue(output)!;
            try
            {
                directory.Create();
                Run(Console.Out, directory.FullName, r.GetValue(cluster), r.GetValue(fresh)).GetAwaiter().GetResult();
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"Cannot write to {directory.FullName}: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>The sweep: the search space, the budget, the objective, the pruner and the study file.</summary>
    public static Sweep Definition(string studyFile, int trials = TrialCount, int epochs = EpochBudget) =>
        new Sweep("digits-mlp")
            .Grid("optimizer", "sgd", "momentum", "adam")
            .LogUniform("lr", 1e-4, 1.0)
            .Choice("batch", 16, 32, 64)
            .Trials(trials, seed: 1)
            .Epochs(epochs)
            .Objective("val_loss", Goal.Minimize)
            // Rungs at epochs 3, 6 and 12, each keeping the best half: about 60/8 trials are expected to run all 24
            // epochs. (η = 3 from epoch 1 judges learning rates by one epoch and leaves about 2 of 60 complete, too few to rank.)
            .EarlyStopping(new Asha(minEpochs: 3, reductionFactor: 2))
            .Storage(studyFile);

    /// <summary>One trial: the digits MLP trained with the trial's optimiser, learning rate and batch size, the
    /// validation loss reported every epoch (and the trial stopped when ASHA says so).</summary>
    public static void Train(Trial trial)
    {
        var (train, validation) = Data.Value;
        int batch = trial.Int("batch");
        double lr = trial.Double("lr");
        IOptimizer optimizer = trial.String("optimizer") switch
        {
            "sgd" => new Sgd(lr),
            "momentum" => new Sgd(lr, momentum: 0.9),
            _ => new Adam(lr),
        };
        var net = new DigitsMlp(maxBatch: batch, seed: trial.Seed);
        Trainer.Fit(net, train, trial.Epochs, batch, optimizer, seed: trial.Seed, validation: validation, verbose: 0, callbacks: [trial.Pruning()]);
    }

    /// <summary>Runs the sweep locally or on a 2-silo localhost cluster, prints the top 5 and the saving, writes the plot.</summary>
    public static async Task<SweepResults> Run(TextWriter o, string outputDirectory, bool cluster, bool fresh, int trials = TrialCount, int epochs = EpochBudget)
    {
        string studyFile = Path.Combine(outputDirectory, cluster ? "sweep-cluster.jsonl" : "sweep-local.jsonl");
        if (fresh) File.Delete(studyFile);
        var sweep = Definition(studyFile, trials, epochs);
        var (train, validation) = Data.Value;
        o.WriteLine(Invariant($"== Hyper-parameter sweep: {nameof(DigitsMlp)} on the digits ({train.Count} to train, {validation.Count} to validate), {trials} trials"));
        o.WriteLine(Invariant($"optimizer {{sgd, momentum, adam}} (a grid) × lr log-uniform in [1e-4, 1) × batch {{16, 32, 64}}; at most {epochs} epochs a trial (kept small: the sweep takes well under a minute on two cores)"));
        o.WriteLine(Invariant($"ASHA: a trial goes past epochs {string.Join(", ", sweep.Pruner!.RungEpochs(epochs))} only if its val_loss is in the best half there; study file {studyFile} (delete it, or pass --fresh, to start afresh)"));

        var clock = Stopwatch.StartNew();
        SweepResults results;
        string where;
        if (cluster)
        {
            int perSilo = Math.Max(1, Environment.ProcessorCount / 2);
            where = Invariant($"a 2-silo Orleans cluster on localhost ({perSilo} worker(s) per silo)");
            results = await RunOnLocalCluster(sweep, perSilo, o, clock);
        }
        else
        {
            where = Invariant($"{Math.Min(sweep.MaxParallel, trials)} local worker(s), one trial per core");
            results = await sweep.RunAsync(Train, o);
        }
        var elapsed = clock.Elapsed;

        results.Table(o, top: 5);
        int saved = results.EpochsWithoutPruning - results.EpochsRun;
        o.WriteLine(Invariant($"epochs run: {results.EpochsRun} of {results.EpochsWithoutPruning} for a full run of every trial ({100.0 * saved / results.EpochsWithoutPruning:0} % saved by pruning); {results.Complete} complete, {results.Pruned} pruned, {results.Failed} failed"));
        if (results.Failed > 0)
            o.WriteLine($"failed trials diverged (too large a learning rate), e.g. trial {results.Trials.First(t => t.State == TrialState.Failed).Number}: {results.Trials.First(t => t.State == TrialState.Failed).Error}");
        string path = Path.Combine(outputDirectory, ImageName);
        results.Plot(path);
        string total = cluster ? Invariant($" ({elapsed.TotalSeconds:0.0} s with starting and stopping the silos)") : "";
        o.WriteLine(Invariant($"sweep: {results.Trials.Count} trials in {results.Elapsed.TotalSeconds:0.0} s{total} on {where}; plot: {path}"));
        o.WriteLine();
        return results;
    }

    /// <summary>Two silos in this process, joined by localhost clustering (the first is the primary); each registers the
    /// sweep and runs trial workers; the sweep is driven through the first silo's grain factory.</summary>
    private static async Task<SweepResults> RunOnLocalCluster(Sweep sweep, int workersPerSilo, TextWriter o, Stopwatch clock)
    {
        int[] ports = FreePorts(4);
        var primary = new IPEndPoint(IPAddress.Loopback, ports[0]);
        var hosts = new List<IHost>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                int siloPort = ports[2 * i], gatewayPort = ports[2 * i + 1];
                var host = Host.CreateDefaultBuilder()
                    .ConfigureLogging(logging => logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Error))
                    .UseOrleans(silo => silo
                        .UseLocalhostClustering(siloPort, gatewayPort, primary, serviceId: "netgen-sweeps", clusterId: "module2")
                        .AddSweep(sweep, Train, options => options.Workers = workersPerSilo))
                    .Build();
                await host.StartAsync();
                hosts.Add(host);
            }
            o.WriteLine(Invariant($"cluster: 2 silos on 127.0.0.1 ports {ports[0]} and {ports[2]}, started in {clock.Elapsed.TotalSeconds:0.0} s"));
            return await sweep.RunOnClusterAsync(hosts[0].Services.GetRequiredService<IGrainFactory>(), o);
        }
        finally
        {
            for (int i = hosts.Count - 1; i >= 0; i--)
            {
                await hosts[i].StopAsync();
                hosts[i].Dispose();
            }
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
