using System.Globalization;

namespace NetGen.Sweeps;

/// <summary>
/// The sweep's progress display: trials done, running, pruned and failed, and the best so far. On a terminal a
/// single status line is redrawn in place (at most every 100 ms); elsewhere (a file, a pipe, a test) one line per
/// finished trial, which scripts can read. Thread-safe.
/// </summary>
public sealed class SweepProgress
{
    private readonly TextWriter _writer;
    private readonly Sweep _sweep;
    private readonly Lock _lock = new();
    private readonly HashSet<int> _running = [];
    private int _complete, _pruned, _failed, _resumed;
    private TrialRecord? _best;
    private long _lastDraw;
    private int _lastWidth;

    /// <summary>Creates the display for <paramref name="sweep"/>.</summary>
    /// <param name="writer">Where it goes.</param>
    /// <param name="sweep">The sweep (its trial count, objective and goal).</param>
    /// <param name="interactive">Redraw one line with '\r'; null to decide from the writer (the console, not redirected).</param>
    public SweepProgress(TextWriter writer, Sweep sweep, bool? interactive = null)
    {
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        _sweep = sweep ?? throw new ArgumentNullException(nameof(sweep));
        Interactive = interactive ?? (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected);
    }

    /// <summary>Whether the status line is redrawn in place.</summary>
    public bool Interactive { get; }

    /// <summary>The sweep starts; <paramref name="recorded"/> are the trials the study file already holds.</summary>
    public void Start(IEnumerable<TrialRecord> recorded)
    {
        lock (_lock)
        {
            foreach (var r in recorded) { Count(r); _resumed++; }
            string resumed = _resumed > 0 ? $"; resuming: {_resumed} already recorded" : "";
            _writer.WriteLine(FormattableString.Invariant(
                $"sweep {_sweep.Name}: {_sweep.TrialCount} trials, {_sweep.EpochBudget} epochs each at most, objective {_sweep.ObjectiveMetric} ({_sweep.Goal.ToString().ToLowerInvariant()}), {_sweep.Pruner?.ToString() ?? "no pruning"}{resumed}"));
        }
    }

    /// <summary>A trial starts.</summary>
    public void Started(int number)
    {
        lock (_lock)
        {
            _running.Add(number);
            if (Interactive) Draw(force: false);
        }
    }

    /// <summary>A trial stopped without a result (cancelled; it will run again).</summary>
    public void Abandoned(int number)
    {
        lock (_lock) _running.Remove(number);
    }

    /// <summary>A trial finished and was recorded.</summary>
    public void Finished(TrialRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            _running.Remove(record.Number);
            Count(record);
            if (Interactive) { Draw(force: true); return; }
            string value = record.State == TrialState.Failed ? "failed" : $"{_sweep.ObjectiveMetric} {SweepResults.FormatValue(record.Value)}";
            _writer.WriteLine(FormattableString.Invariant(
                $"[{Done,3}/{_sweep.TrialCount}] trial {record.Number} {record.State.ToString().ToLowerInvariant()} after {record.Epochs} epoch(s): {value} ({record.Describe()}) on {record.Worker} | running {_running.Count}, pruned {_pruned}, failed {_failed} | best {BestText()}"));
            if (record.State == TrialState.Failed && record.Error is not null) _writer.WriteLine($"      {record.Error}");
        }
    }

    /// <summary>Replaces the running set and counts with a snapshot (a cluster's study grain reports them so).</summary>
    public void Update(IReadOnlyCollection<int> running, IReadOnlyList<TrialRecord> newlyFinished)
    {
        lock (_lock)
        {
            foreach (var r in newlyFinished) { _running.Add(r.Number); }
        }
        foreach (var r in newlyFinished) Finished(r);
        lock (_lock)
        {
            _running.Clear();
            _running.UnionWith(running);
            if (Interactive) Draw(force: false);
        }
    }

    /// <summary>The sweep ended: ends the status line.</summary>
    public void End()
    {
        lock (_lock)
        {
            if (Interactive)
            {
                Draw(force: true);
                _writer.WriteLine();
            }
        }
    }

    private int Done => _complete + _pruned + _failed;

    private void Count(TrialRecord r)
    {
        switch (r.State)
        {
            case TrialState.Complete:
                _complete++;
                if (_best is null || SweepResults.Better(r, _best, _sweep.Goal)) _best = r;
                break;
            case TrialState.Pruned: _pruned++; break;
            default: _failed++; break;
        }
    }

    private string BestText() => _best is null
        ? "none yet"
        : $"{SweepResults.FormatValue(_best.Value)} (trial {_best.Number}: {_best.Describe()})";

    private void Draw(bool force)
    {
        long now = Environment.TickCount64;
        if (!force && now - _lastDraw < 100) return;
        _lastDraw = now;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"trials {Done}/{_sweep.TrialCount} done ({_complete} complete, {_pruned} pruned, {_failed} failed), {_running.Count} running | best {_sweep.ObjectiveMetric} {BestText()}");
        _writer.Write('\r' + line + (line.Length < _lastWidth ? new string(' ', _lastWidth - line.Length) : ""));
        _lastWidth = line.Length;
        _writer.Flush();
    }
}
