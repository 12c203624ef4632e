using Orleans;
using Orleans.Runtime;

namespace NetGen.Sweeps.Orleans;

/// <summary>
/// One study (a <see cref="Sweep"/>, keyed by its name) on the cluster: it hands out trials in number order, takes
/// their epoch reports (ASHA decides there, over every silo's trials), records each result once in the study file,
/// and puts back in the queue the trials of workers whose silo Orleans' membership declares dead. A single
/// activation in the cluster (Orleans' grain directory guarantees it), so its decisions need no locks.
/// </summary>
[Alias("NetGen.Sweeps.IStudyGrain")]
public interface IStudyGrain : IGrainWithStringKey
{
    /// <summary>Opens the study (idempotent): the silos' definition of the sweep must have
    /// <paramref name="fingerprint"/>. Reads the trials the study file already holds.</summary>
    [Alias("Start")]
    Task Start(string fingerprint);

    /// <summary>The next trial for a worker on <paramref name="silo"/>, or none (not started, all handed out, or finished).</summary>
    [Alias("Lease")]
    Task<TrialLease> Lease(SiloAddress silo, string worker);

    /// <summary>An epoch of a leased trial: whether it goes on, is pruned, or its lease was revoked.</summary>
    [Alias("Report")]
    Task<ReportAnswer> Report(int number, Guid lease, int previousEpoch, int epoch, double value);

    /// <summary>A leased trial's result; true when it was recorded (false: already recorded, a duplicate ignored).</summary>
    [Alias("Complete")]
    Task<bool> Complete(Guid lease, TrialResult result);

    /// <summary>A worker gives a trial back unfinished (its silo is shutting down): it goes back to the queue.</summary>
    [Alias("Abandon")]
    Task Abandon(int number, Guid lease);

    /// <summary>The study's progress, with the results recorded after the first <paramref name="known"/>.</summary>
    [Alias("Status")]
    Task<StudyStatus> Status(int known);

    /// <summary>Where the study grain runs (the silo address), for tests and logs.</summary>
    [Alias("Host")]
    Task<string> Host();
}

/// <summary>What a study grain answers to a trial's epoch report.</summary>
[GenerateSerializer, Alias("NetGen.Sweeps.ReportAnswer")]
public enum ReportAnswer
{
    /// <summary>Train on.</summary>
    Continue,
    /// <summary>ASHA stopped the trial.</summary>
    Prune,
    /// <summary>The trial is no longer this worker's (already recorded, or re-queued): stop without a result.</summary>
    Revoked,
}

/// <summary>A trial handed to a worker, or none.</summary>
[GenerateSerializer, Immutable, Alias("NetGen.Sweeps.TrialLease")]
public sealed record TrialLease(
    [property: Id(0)] int Number,
    [property: Id(1)] Guid Id)
{
    /// <summary>No trial to run now.</summary>
    public static TrialLease None { get; } = new(-1, Guid.Empty);

    /// <summary>Whether a trial was handed out.</summary>
    public bool HasTrial => Number >= 0;
}

/// <summary>A trial's result on the wire (its values are recomputed from its number wherever they are needed).</summary>
[GenerateSerializer, Immutable, Alias("NetGen.Sweeps.TrialResult")]
public sealed record TrialResult(
    [property: Id(0)] int Number,
    [property: Id(1)] int State,
    [property: Id(2)] double Value,
    [property: Id(3)] List<Dictionary<string, double>> Curve,
    [property: Id(4)] double Seconds,
    [property: Id(5)] string Worker,
    [property: Id(6)] string? Error)
{
    internal static TrialResult From(TrialRecord r) => new(r.Number, (int)r.State, r.Value,
        r.Curve.Select(m => new Dictionary<string, double>(m, StringComparer.Ordinal)).ToList(), r.Seconds, r.Worker, r.Error);

    internal TrialRecord ToRecord(Sweep sweep) => new()
    {
        Number = Number,
        State = (TrialState)State,
        Parameters = sweep.Parameters(Number),
        Value = Value,
        Curve = Curve,
        Seconds = Seconds,
        Worker = Worker,
        Error = Error,
    };
}

/// <summary>A study's progress as its grain sees it: <see cref="Requeued"/> lists every trial put back in the queue
/// (by a worker handing it back as its silo shut down, or because membership declared its silo dead: counted in
/// <see cref="RequeuedFromDeadSilos"/>); <see cref="DuplicatesIgnored"/> counts results for trials already recorded.</summary>
[GenerateSerializer, Immutable, Alias("NetGen.Sweeps.StudyStatus")]
public sealed record StudyStatus(
    [property: Id(0)] bool Started,
    [property: Id(1)] bool Finished,
    [property: Id(2)] int Recorded,
    [property: Id(3)] List<int> Running,
    [property: Id(4)] List<TrialResult> NewResults,
    [property: Id(5)] List<int> Requeued,
    [property: Id(6)] int RequeuedFromDeadSilos,
    [property: Id(7)] int DuplicatesIgnored,
    [property: Id(8)] Dictionary<string, List<int>> RunningBySilo,
    [property: Id(9)] Dictionary<int, int> EpochsReported);
