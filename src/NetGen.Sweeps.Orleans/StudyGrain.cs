using Orleans;
using Orleans.Runtime;

namespace NetGen.Sweeps.Orleans;

/// <summary>
/// The study grain (see <see cref="IStudyGrain"/>). Its state is the study file (the results) plus, in memory, the
/// queue and the leases; if its silo dies, the grain comes back on another silo, re-reads the file when the client
/// starts it again, and queues every trial the file does not hold (results of trials still running elsewhere are
/// accepted when they arrive, each once). The study file must therefore be reachable from every silo that may host
/// the grain: a shared volume on several machines, any path on one.
/// </summary>
internal sealed class StudyGrain(SweepCatalog catalog, IClusterMembershipService membership, ILocalSiloDetails silo) : Grain, IStudyGrain
{
    private sealed record LeaseInfo(Guid Id, SiloAddress Silo, string Worker)
    {
        public int Epoch { get; set; }
    }

    private Sweep? _sweep;
    private StudyFile? _file;
    private AshaRungs? _rungs;
    private readonly SortedSet<int> _pending = [];
    private readonly Dictionary<int, LeaseInfo> _leases = [];
    private readonly List<TrialRecord> _recorded = [];
    private readonly List<int> _requeued = [];
    private int _duplicates, _requeuedDead;
    private IGrainTimer? _timer;

    public Task Start(string fingerprint)
    {
        string name = this.GetPrimaryKeyString();
        var sweep = catalog.Find(name) ?? throw new InvalidOperationException(
            $"Silo {silo.SiloAddress} has no sweep '{name}': register it on every silo with siloBuilder.AddSweep(sweep, trial).");
        if (sweep.Fingerprint != fingerprint)
            throw new InvalidOperationException(
                $"Sweep '{name}' on silo {silo.SiloAddress} has fingerprint {sweep.Fingerprint}, the client's has {fingerprint}: " +
                "the silos and the client must run the same build with the same search space, seed, trial count, objective, epochs and pruner.");
        if (_sweep is not null) return Task.CompletedTask;

        _sweep = sweep;
        _file = StudyFile.Open(sweep.StoragePath ?? name + ".jsonl", name, sweep.Fingerprint, sweep.Parameters);
        _rungs = sweep.Pruner?.CreateRungs(sweep.EpochBudget, sweep.Goal);
        foreach (var r in _file.Records.Where(r => r.Number < sweep.TrialCount))
        {
            _recorded.Add(r);
            _rungs?.Restore(r.Number, r.Series(sweep.ObjectiveMetric));
        }
        for (int n = 0; n < sweep.TrialCount; n++)
            if (!_file.Contains(n)) _pending.Add(n);
        // Orleans' failure detector declares silos dead; this only looks at its verdicts.
        _timer = this.RegisterGrainTimer(() => { RequeueDeadSilos(); return Task.CompletedTask; },
            new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500)) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task<TrialLease> Lease(SiloAddress worker, string name)
    {
        if (_sweep is null) return Task.FromResult(TrialLease.None);
        RequeueDeadSilos();
        if (_pending.Count == 0) return Task.FromResult(TrialLease.None);
        int number = _pending.Min;
        _pending.Remove(number);
        var lease = new LeaseInfo(Guid.NewGuid(), worker, name);
        _leases[number] = lease;
        return Task.FromResult(new TrialLease(number, lease.Id));
    }

    public Task<ReportAnswer> Report(int number, Guid lease, int previousEpoch, int epoch, double value)
    {
        if (_sweep is null || _file!.Contains(number) || !_leases.TryGetValue(number, out var info) || info.Id != lease)
            return Task.FromResult(ReportAnswer.Revoked);
        info.Epoch = epoch;
        bool prune = _rungs?.ShouldPrune(number, previousEpoch, epoch, value) ?? false;
        return Task.FromResult(prune ? ReportAnswer.Prune : ReportAnswer.Continue);
    }

    public Task<bool> Complete(Guid lease, TrialResult result)
    {
        if (_sweep is null) return Task.FromResult(false);
        if (result.Number < 0 || result.Number >= _sweep.TrialCount)
            throw new ArgumentOutOfRangeException(nameof(result), result.Number, $"Study '{_sweep.Name}' has trials 0 to {_sweep.TrialCount - 1}.");
        var record = result.ToRecord(_sweep);
        if (!_file!.Append(record))
        {
            _duplicates++;
            return Task.FromResult(false);
        }
        _recorded.Add(record);
        _pending.Remove(result.Number);    // a re-queued trial finished by its first worker after all
        _leases.Remove(result.Number);
        return Task.FromResult(true);
    }

    public Task Abandon(int number, Guid lease)
    {
        if (_sweep is not null && _leases.TryGetValue(number, out var info) && info.Id == lease && !_file!.Contains(number))
        {
            _leases.Remove(number);
            _pending.Add(number);
            _requeued.Add(number);
        }
        return Task.CompletedTask;
    }

    public Task<StudyStatus> Status(int known)
    {
        if (_sweep is null)
            return Task.FromResult(new StudyStatus(false, false, 0, [], [], [], 0, 0, [], []));
        RequeueDeadSilos();
        var fresh = _recorded.Skip(Math.Max(0, known)).Select(TrialResult.From).ToList();
        var bySilo = _leases.GroupBy(l => l.Value.Silo.ToString()).ToDictionary(g => g.Key, g => g.Select(l => l.Key).Order().ToList());
        bool finished = _pending.Count == 0 && _leases.Count == 0;
        return Task.FromResult(new StudyStatus(true, finished, _recorded.Count, _leases.Keys.Order().ToList(), fresh, _requeued.ToList(), _requeuedDead, _duplicates, bySilo,
            _leases.ToDictionary(l => l.Key, l => l.Value.Epoch)));
    }

    public Task<string> Host() => Task.FromResult(silo.SiloAddress.ToString());

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        _file?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Puts back in the queue every leased trial whose worker's silo membership has declared dead.</summary>
    private void RequeueDeadSilos()
    {
        if (_leases.Count == 0) return;
        var snapshot = membership.CurrentSnapshot;
        foreach (var (number, lease) in _leases.ToList())
        {
            if (snapshot.GetSiloStatus(lease.Silo) != SiloStatus.Dead) continue;
            _leases.Remove(number);
            _pending.Add(number);
            _requeued.Add(number);
            _requeuedDead++;
        }
    }
}

/// <summary>The sweeps registered on a silo (by <see cref="SweepSiloExtensions.AddSweep"/>), by name.</summary>
public sealed class SweepCatalog
{
    private readonly Dictionary<string, (Sweep Sweep, Action<Trial> Trial)> _sweeps = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Registers <paramref name="sweep"/> and the function that runs one of its trials.</summary>
    public void Add(Sweep sweep, Action<Trial> trial)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(trial);
        lock (_lock)
        {
            if (!_sweeps.TryAdd(sweep.Name, (sweep, trial)))
                throw new ArgumentException($"A sweep named '{sweep.Name}' is already registered on this silo; give each sweep its own name.", nameof(sweep));
        }
    }

    /// <summary>The sweep named <paramref name="name"/>, or null.</summary>
    public Sweep? Find(string name)
    {
        lock (_lock) return _sweeps.TryGetValue(name, out var s) ? s.Sweep : null;
    }

    internal IReadOnlyList<(Sweep Sweep, Action<Trial> Trial)> All
    {
        get { lock (_lock) return _sweeps.Values.ToList(); }
    }
}
