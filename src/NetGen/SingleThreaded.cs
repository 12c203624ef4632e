using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace NetGen;

/// <summary>
/// The guard generated networks run at the start of each public pass (Forward, Step, Loss, Backward, TrainStep), and
/// GPU networks (NetGen.Gpu) at the start of each public call (<see cref="EnterDevice"/>): a
/// network instance is single-threaded — its activations, gradients and scratch are one set of buffers — so a second
/// thread entering while another is inside gets an <see cref="InvalidOperationException"/> that names the network
/// and the fix, instead of silently wrong outputs. The owner is the managed thread id held in one int per network:
/// entering costs one interlocked compare-exchange, a nested call on the same thread (TrainStep → Forward) one
/// plain read. It detects overlapping calls; it cannot see a thread that reads <c>Output</c> or a view while another
/// runs a pass (see docs/threading.md).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class SingleThreaded
{
    /// <summary>Takes the network for the calling thread. Returns true when this call took it (and must call
    /// <see cref="Exit"/>), false for a nested call on the thread that already holds it; throws when another thread
    /// holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Enter(ref int owner, string network, string method) => Take(ref owner, network, method, device: false);

    /// <summary>As <see cref="Enter"/> for a GPU network (NetGen.Gpu's <c>GpuNetwork</c>, whose public passes and
    /// transfers run it): the same owner word and rule; the error's fix is one GPU network per thread or a lock, since a
    /// GPU network has no inference replicas.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool EnterDevice(ref int owner, string network, string method) => Take(ref owner, network, method, device: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Take(ref int owner, string network, string method, bool device)
    {
        int me = Environment.CurrentManagedThreadId;
        if (Volatile.Read(ref owner) == me) return false;
        int held = Interlocked.CompareExchange(ref owner, me, 0);
        if (held != 0) throw device ? ConcurrentOnDevice(network, method, held, me) : Concurrent(network, method, held, me);
        return true;
    }

    /// <summary>As <see cref="Enter"/> for a training pass (Backward, TrainStep, ZeroGradients), which an inference
    /// replica refuses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool EnterTraining(ref int owner, bool replica, string network, string method)
    {
        if (replica) throw ReplicaCannotTrain(network, method);
        return Enter(ref owner, network, method);
    }

    /// <summary>Releases the network taken by <see cref="Enter"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exit(ref int owner) => Volatile.Write(ref owner, 0);

    /// <summary>Throws when an inference replica is asked to train (or to run a training-mode forward pass).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RefuseTraining(bool replica, string network, string method)
    {
        if (replica) throw ReplicaCannotTrain(network, method);
    }

    /// <summary>The error for a second thread inside one network.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvalidOperationException Concurrent(string network, string method, int holder, int caller) => new(
        $"{network}.{method} was called on thread {caller} while thread {holder} is inside the same {network} instance. " +
        "A network instance is single-threaded: its activations, gradients and scratch buffers are one set. " +
        $"For parallel inference give each thread its own replica, net.CreateInferenceReplica(), which shares the parameters " +
        "(a pool of them for a web server); for parallel training use one network per thread; otherwise serialise the calls with a lock.");

    /// <summary>The error for a second thread inside one GPU network.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static InvalidOperationException ConcurrentOnDevice(string network, string method, int holder, int caller) => new(
        $"{network}.{method} was called on thread {caller} while thread {holder} is inside the same {network} instance. " +
        "A GPU network is single-threaded: its device buffers (activations, gradients, optimiser state) and its host staging " +
        "arrays are one set, and its passes queue kernels on one stream. Serialise the calls with a lock, or give each thread its " +
        "own GPU network (CopyFrom copies the weights); for throughput, larger batches on one network use the device better " +
        "than threads sharing it.");

    /// <summary>The error for training on an inference replica.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvalidOperationException ReplicaCannotTrain(string network, string method) => new(
        $"{network}.{method}: this {network} is an inference replica (CreateInferenceReplica): it shares its parameters, read-only, " +
        "with the network it was created from and other replicas, so it cannot train or run a training-mode pass (Training = true). " +
        "Train the original network (while no replica runs Forward), or construct a separate network to train.");
}
