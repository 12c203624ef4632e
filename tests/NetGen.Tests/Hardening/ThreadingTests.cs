namespace NetGen.Tests.Hardening;

/// <summary>A network large enough to run the threaded kernels (64·32 multiply-adds per sample, above the unroll threshold).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(64)]
[Dense(32), ReLU]
[Dense(10), Softmax]
public partial class ThreadedMlp;

/// <summary>A small unrolled network, and dropout: its forward pass depends on Training.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(4)]
[Dense(6), Tanh]
[Dropout(0.5)]
[Dense(2)]
public partial class ThreadedDropout;

/// <summary>
/// Two threads on one network (issue 18, item 10): an instance is single-threaded and says so when a second thread
/// enters it; inference replicas share the parameters and run concurrently, bit-identical to the sequential result.
/// </summary>
public sealed class ThreadingTests
{
    /// <summary>An optimiser that parks the training thread inside TrainStep until released, so a second thread can be
    /// sent in deterministically while the first holds the network.</summary>
    private sealed class ParkingOptimizer : IOptimizer
    {
        public readonly ManualResetEventSlim Inside = new(false), Release = new(false);

        public void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            Inside.Set();
            Assert.True(Release.Wait(TimeSpan.FromSeconds(30)), "the test never released the training thread");
        }
    }

    private static float[] Inputs(int count, int size, int seed)
    {
        var random = new SeededRandom(seed);
        var x = new float[count * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>A few training steps, so the replicas' parameters are not just the initial ones.</summary>
    private static ThreadedMlp Trained()
    {
        var net = new ThreadedMlp(maxBatch: 8, seed: 3);
        var x = Inputs(8, ThreadedMlp.InputSize, 5);
        int[] labels = [0, 1, 2, 3, 4, 5, 6, 7];
        var adam = new Adam(0.01);
        for (int step = 0; step < 5; step++) net.TrainStep(x, labels, adam, batch: 8);
        return net;
    }

    [Fact]
    public async Task SecondThreadInsideOneInstance_ThrowsNamingTheNetworkAndTheFix()
    {
        var net = new ThreadedMlp(maxBatch: 2, seed: 1);
        var x = Inputs(2, ThreadedMlp.InputSize, 2);
        var parking = new ParkingOptimizer();
        var trainer = Task.Run(() => net.TrainStep(x, [1, 2], parking, batch: 2));
        Assert.True(parking.Inside.Wait(TimeSpan.FromSeconds(30)), "TrainStep never reached the optimiser");

        // The training thread is inside TrainStep: every pass from this thread is refused, and changes nothing.
        var before = net.Parameters.ToArray();
        var forward = Assert.Throws<InvalidOperationException>(() => net.Forward(x.AsSpan(0, ThreadedMlp.InputSize)));
        Assert.Contains("ThreadedMlp.Forward was called on thread", forward.Message);
        Assert.Contains("single-threaded", forward.Message);
        Assert.Contains("CreateInferenceReplica()", forward.Message);
        var train = Assert.Throws<InvalidOperationException>(() => net.TrainStep(x, [0, 0], new Sgd(0.1), batch: 2));
        Assert.Contains("ThreadedMlp.TrainStep", train.Message);
        Assert.Throws<InvalidOperationException>(() => net.Backward(new int[] { 0, 0 }));
        Assert.Throws<InvalidOperationException>(() => net.Loss(new float[2 * ThreadedMlp.OutputSize]));
        Assert.Equal(before, net.Parameters.ToArray());

        parking.Release.Set();
        Assert.True(float.IsFinite(await trainer));
        // Released: this thread can use the network now.
        Assert.Equal(ThreadedMlp.OutputSize, net.Forward(x.AsSpan(0, ThreadedMlp.InputSize)).Length);
    }

    [Fact]
    public async Task AnExceptionInsideAPass_ReleasesTheGuard()
    {
        var net = new ThreadedMlp(maxBatch: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(new float[2 * ThreadedMlp.InputSize], batch: 2));
        Assert.Throws<ArgumentException>(() => net.Forward(new float[3]));
        var other = Task.Run(() => net.Forward(new float[ThreadedMlp.InputSize]).Length);
        Assert.Equal(ThreadedMlp.OutputSize, await other);
    }

    [Fact]
    public void ReplicasOnManyThreads_AreBitIdenticalToTheSequentialResult()
    {
        var net = Trained();
        const int Samples = 96, Threads = 8;
        var x = Inputs(Samples, ThreadedMlp.InputSize, 11);

        // The sequential result: the original network, one sample and then batches of four.
        var single = new float[Samples * ThreadedMlp.OutputSize];
        for (int n = 0; n < Samples; n++)
            net.Forward(x.AsSpan(n * ThreadedMlp.InputSize, ThreadedMlp.InputSize)).CopyTo(single.AsSpan(n * ThreadedMlp.OutputSize));
        var batched = new float[Samples * ThreadedMlp.OutputSize];
        var batchNet = net.CreateInferenceReplica(maxBatch: 4);
        for (int n = 0; n < Samples; n += 4)
            batchNet.Forward(x.AsSpan(n * ThreadedMlp.InputSize, 4 * ThreadedMlp.InputSize), batch: 4).CopyTo(batched.AsSpan(n * ThreadedMlp.OutputSize));

        // Every thread its own replica; each walks all samples in its own order, many times, all threads at once.
        var replicas = Enumerable.Range(0, Threads).Select(_ => net.CreateInferenceReplica(maxBatch: 4)).ToArray();
        using var start = new Barrier(Threads);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var replica = replicas[t];
            var order = Enumerable.Range(0, Samples).OrderBy(n => (n * 37 + t * 11) % Samples).ToArray();
            start.SignalAndWait();
            for (int round = 0; round < 20; round++)
                foreach (int n in order)
                {
                    bool four = (n + round + t) % 2 == 0 && n % 4 == 0;
                    int batch = four ? 4 : 1;
                    var y = replica.Forward(x.AsSpan(n * ThreadedMlp.InputSize, batch * ThreadedMlp.InputSize), batch);
                    var expected = (four ? batched : single).AsSpan(n * ThreadedMlp.OutputSize, batch * ThreadedMlp.OutputSize);
                    if (!y.SequenceEqual(expected)) failures.Add($"thread {t}, round {round}, sample {n}, batch {batch}");
                }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.True(failures.IsEmpty, $"{failures.Count} outputs differ from the sequential ones, e.g. {failures.FirstOrDefault()}");
    }

    [Fact]
    public void Replica_SharesTheParameters_AndRefusesToTrain()
    {
        var net = Trained();
        var replica = net.CreateInferenceReplica();
        var x = Inputs(1, ThreadedMlp.InputSize, 4);

        Assert.False(replica.Training);
        Assert.Equal(0, replica.Gradients.Length);
        Assert.True(replica.Parameters.Overlaps(net.Parameters));   // the same array, not a copy
        Assert.Equal(net.Forward(x).ToArray(), replica.Forward(x).ToArray());
        net.Dense2Bias[3] += 1;                                     // a change to the original is seen by the replica
        Assert.Equal(net.Forward(x).ToArray(), replica.Forward(x).ToArray());

        var before = net.Parameters.ToArray();
        foreach (var refused in new Action[]
        {
            () => replica.TrainStep(x, [3], new Sgd(0.1)),
            () => replica.TrainStep(x, new float[ThreadedMlp.OutputSize], new Adam(0.1)),
            () => replica.Backward(new int[] { 3 }),
            () => replica.Backward(new float[ThreadedMlp.OutputSize], new float[ThreadedMlp.InputSize]),
            () => replica.BackwardFromTarget(new float[ThreadedMlp.OutputSize], new float[ThreadedMlp.InputSize]),
            () => replica.ZeroGradients(),
        })
        {
            var e = Assert.Throws<InvalidOperationException>(refused);
            Assert.Contains("is an inference replica (CreateInferenceReplica)", e.Message);
            Assert.Contains("Train the original network", e.Message);
        }
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.InRange(replica.Loss([3]), 0f, 100f);   // the loss of its own last pass is allowed (it trains nothing)
    }

    [Fact]
    public void Replica_OfANetworkWithDropout_RunsInferenceOnly()
    {
        var net = new ThreadedDropout(maxBatch: 1, seed: 5);
        var replica = net.CreateInferenceReplica();
        var x = Inputs(1, ThreadedDropout.InputSize, 6);
        net.Training = false;
        Assert.Equal(net.Forward(x).ToArray(), replica.Forward(x).ToArray());

        replica.Training = true;
        var e = Assert.Throws<InvalidOperationException>(() => replica.Forward(x));
        Assert.Contains("ThreadedDropout.Forward with Training = true", e.Message);
        replica.Training = false;
        Assert.Equal(net.Forward(x).ToArray(), replica.Forward(x).ToArray());
    }
}
