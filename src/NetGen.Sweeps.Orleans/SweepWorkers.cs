using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;

namespace NetGen.Sweeps.Orleans;

/// <summary>How a silo's trial workers behave.</summary>
public sealed class SweepWorkerOptions
{
    /// <summary>Trials this silo runs at once (default: one per core); each network runs single-threaded.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>How long an idle worker waits before asking the study grains for a trial again.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>Silo and client set-up for sweeps.</summary>
public static class SweepSiloExtensions
{
    /// <summary>
    /// Registers <paramref name="sweep"/> on this silo, with the function that runs one of its trials, and starts the
    /// silo's trial workers (once, whatever the number of sweeps). Every silo of the cluster registers the same
    /// sweeps (same build): the study grain checks the fingerprints.
    /// </summary>
    public static ISiloBuilder AddSweep(this ISiloBuilder silo, Sweep sweep, Action<Trial> trial, Action<SweepWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var services = silo.Services;
        var catalog = services.FirstOrDefault(d => d.ServiceType == typeof(SweepCatalog))?.ImplementationInstance as SweepCatalog;
        if (catalog is null)
        {
            catalog = new SweepCatalog();
            services.AddSingleton(catalog);
            services.AddHostedService<SweepWorkerService>();
        }
        if (configure is not null) services.Configure(configure);
        catalog.Add(sweep, trial);
        return silo;
    }

    /// <summary>
    /// Runs <paramref name="sweep"/> on the cluster: starts its study grain, shows progress until every trial is
    /// recorded, and returns the results (the same <see cref="SweepResults"/> as a local run). The silos run the
    /// trials with the function they registered for the sweep (<see cref="AddSweep"/>); this process only watches.
    /// </summary>
    /// <param name="sweep">The sweep; the silos must have registered the same definition under its name.</param>
    /// <param name="grains">A cluster client's or a silo's grain factory.</param>
    /// <param name="progress">Where progress goes (see <see cref="SweepProgress"/>); null for none.</param>
    /// <param name="cancellationToken">Stops watching (the cluster goes on; running the sweep again resumes it).</param>
    public static async Task<SweepResults> RunOnClusterAsync(this Sweep sweep, IGrainFactory grains, TextWriter? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(grains);
        var clock = Stopwatch.StartNew();
        var study = grains.GetGrain<IStudyGrain>(sweep.Name);
        await study.Start(sweep.Fingerprint).ConfigureAwait(false);
        var display = progress is null ? null : new SweepProgress(progress, sweep);
        // What the study file held when the study started (a resumed sweep) is shown as already recorded.
        var records = (await study.Status(0).ConfigureAwait(false)).NewResults.Select(r => r.ToRecord(sweep)).ToList();
        display?.Start(records);
        var seen = records.Select(r => r.Number).ToHashSet();
        int known = records.Count;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                StudyStatus status;
                try { status = await study.Status(known).ConfigureAwait(false); }
                catch (Exception e) when (e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
                {
                    await Task.Delay(200, cancellationToken).ConfigureAwait(false);   // the grain's silo died: it comes back elsewhere
                    continue;
                }
                if (!status.Started)
                {
                    await study.Start(sweep.Fingerprint).ConfigureAwait(false);
                    continue;
                }
                var fresh = status.NewResults.Where(r => seen.Add(r.Number)).Select(r => r.ToRecord(sweep)).ToList();
                records.AddRange(fresh);
                // A study grain that moved to another silo re-read the file in trial order: then ask for everything again.
                known = records.Count == status.Recorded ? records.Count : 0;
                display?.Update(status.Running, fresh);
                if (status.Finished) break;
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
        finally { display?.End(); }
        return new SweepResults(sweep, records, clock.Elapsed);
    }
}

/// <summary>
/// A silo's trial workers: <see cref="SweepWorkerOptions.Workers"/> threads, each asking the study grains of the
/// registered sweeps for a trial, running it (reporting epochs to the grain, which prunes), and sending the result.
/// When the silo shuts down, running trials stop at their next report and are handed back.
/// </summary>
internal sealed class SweepWorkerService(SweepCatalog catalog, IGrainFactory grains, ILocalSiloDetails silo, IOptions<SweepWorkerOptions> options) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int workers = Math.Max(1, options.Value.Workers);
        Parallelism.MaxThreads = 1;   // trials use the cores, one network per core
        var threads = Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(() => Work(w, stoppingToken), stoppingToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        return Task.WhenAll(threads);
    }

    private void Work(int index, CancellationToken stopping)
    {
        string worker = $"{silo.SiloAddress}/{index}";
        while (!stopping.IsCancellationRequested)
        {
            bool ran = false;
            foreach (var (sweep, trial) in catalog.All)
            {
                if (stopping.IsCancellationRequested) return;
                var study = grains.GetGrain<IStudyGrain>(sweep.Name);
                try
                {
                    var lease = study.Lease(silo.SiloAddress, worker).GetAwaiter().GetResult();
                    if (!lease.HasTrial) continue;
                    ran = true;
                    RunLeased(sweep, trial, study, lease, worker, stopping);
                }
                catch (Exception e) when (e is not OperationCanceledException && !stopping.IsCancellationRequested && IsTransient(e))
                {
                    // The study grain's silo is going away; Orleans activates it elsewhere. Ask again shortly.
                }
                catch (Exception) when (stopping.IsCancellationRequested)
                {
                    return;
                }
            }
            if (!ran) stopping.WaitHandle.WaitOne(options.Value.PollInterval);
        }
    }

    private static bool IsTransient(Exception e) => e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException or OrleansException;

    private static void RunLeased(Sweep sweep, Action<Trial> trial, IStudyGrain study, TrialLease lease, string worker, CancellationToken stopping)
    {
        using var revoked = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var reporter = new GrainReporter(study, lease, revoked);
        var record = TrialRunner.Run(sweep, lease.Number, trial, reporter, worker, revoked.Token);
        if (record is null)
        {
            if (!reporter.Revoked)
            {
                try { study.Abandon(lease.Number, lease.Id).GetAwaiter().GetResult(); }
                catch (Exception) { /* the study notices the dead silo through membership instead */ }
            }
            return;
        }
        study.Complete(lease.Id, TrialResult.From(record)).GetAwaiter().GetResult();
    }

    private sealed class GrainReporter(IStudyGrain study, TrialLease lease, CancellationTokenSource revoke) : ITrialReporter
    {
        public bool Revoked { get; private set; }

        public bool Report(int trial, int previousEpoch, int epoch, double value)
        {
            var answer = study.Report(trial, lease.Id, previousEpoch, epoch, value).GetAwaiter().GetResult();
            if (answer == ReportAnswer.Revoked)
            {
                Revoked = true;
                revoke.Cancel();
                revoke.Token.ThrowIfCancellationRequested();
            }
            return answer == ReportAnswer.Prune;
        }
    }
}
