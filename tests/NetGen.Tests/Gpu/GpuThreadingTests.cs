using NetGen.Gpu;
using NetGen.Tests.Networks;

namespace NetGen.Tests.Gpu;

/// <summary>
/// A GPU network is single-threaded like the CPU one: a second thread entering a public call while another is inside
/// gets an InvalidOperationException naming the network, both threads and the fix, and changes nothing on the device.
/// Before the guard the second thread's upload went into the same device buffers (activations, targets) the first
/// thread's step was using, silently.
/// </summary>
[Collection(GpuCollection.Name)]
public sealed class GpuThreadingTests(GpuFixture fixture)
{
    /// <summary>Half squared error that parks the training thread inside the GPU TrainStep (after the forward pass, before
    /// the backward pass and the update) until released, so a second thread can be sent in deterministically.</summary>
    private sealed class ParkingLoss : ILoss<double>
    {
        public readonly ManualResetEventSlim Inside = new(false), Release = new(false);

        public string Name => "parked half squared error";

        public double Value(ReadOnlySpan<double> output, ReadOnlySpan<double> target, int batch)
        {
            double sum = 0;
            for (int i = 0; i < output.Length; i++) sum += 0.5 * (output[i] - target[i]) * (output[i] - target[i]);
            return sum / batch;
        }

        public double ValueAndGradient(ReadOnlySpan<double> output, ReadOnlySpan<double> target, int batch, Span<double> gradient)
        {
            Inside.Set();
            Assert.True(Release.Wait(TimeSpan.FromSeconds(30)), "the test never released the training thread");
            for (int i = 0; i < output.Length; i++) gradient[i] = (output[i] - target[i]) / batch;
            return Value(output, target, batch);
        }
    }

    private static readonly double[] Inputs = [0, 0, 0, 1, 1, 0, 1, 1], Targets = [0, 1, 1, 0];

    [Fact]
    public async Task SecondThreadInsideOneGpuNetwork_ThrowsNamingTheNetworkAndTheFix_AndChangesNothing()
    {
        using var net = new XorNet.Gpu(fixture.Device, maxBatch: 4, seed: 5);
        using var reference = new XorNet.Gpu(fixture.Device, maxBatch: 4, seed: 5);
        var parking = new ParkingLoss();
        var trainer = Task.Run(() => net.TrainStep(Inputs, Targets, parking, new Sgd(0.5), batch: 4));
        Assert.True(parking.Inside.Wait(TimeSpan.FromSeconds(30)), "TrainStep never reached the loss");

        // The training thread is inside TrainStep, between its forward pass and its backward pass: every public call
        // from this thread is refused before it queues or copies anything.
        var forward = Assert.Throws<InvalidOperationException>(() => net.Forward([1.0, 1.0]));
        Assert.Contains("XorNet.Gpu.Forward was called on thread", forward.Message);
        Assert.Contains("A GPU network is single-threaded", forward.Message);
        Assert.Contains("Serialise the calls with a lock", forward.Message);
        Assert.DoesNotContain("CreateInferenceReplica", forward.Message);   // the CPU network's fix; a GPU network has none
        Assert.Contains("XorNet.Gpu.TrainStep", Assert.Throws<InvalidOperationException>(
            () => net.TrainStep([0.0, 1.0], [0.0], new Sgd(0.1))).Message);
        Assert.Contains("XorNet.Gpu.Backward", Assert.Throws<InvalidOperationException>(() => net.Backward([0.0, 0, 0, 0])).Message);
        Assert.Contains("XorNet.Gpu.Loss", Assert.Throws<InvalidOperationException>(() => net.Loss([0.0, 0, 0, 0])).Message);
        Assert.Contains("XorNet.Gpu.ZeroGradients", Assert.Throws<InvalidOperationException>(net.ZeroGradients).Message);
        Assert.Contains("XorNet.Gpu.SetParameters", Assert.Throws<InvalidOperationException>(
            () => net.SetParameters(new double[net.ParameterCount])).Message);
        Assert.Contains("XorNet.Gpu.CopyFrom", Assert.Throws<InvalidOperationException>(() => net.CopyFrom(new XorNet())).Message);
        Assert.Contains("XorNet.Gpu.GetParameters was called on thread", Assert.Throws<InvalidOperationException>(() => net.GetParameters()).Message);
        Assert.Contains("XorNet.Gpu.GetDense1Output was called on thread", Assert.Throws<InvalidOperationException>(() => net.GetDense1Output(1)).Message);
        Assert.Contains("XorNet.Gpu.Synchronize", Assert.Throws<InvalidOperationException>(net.Synchronize).Message);

        parking.Release.Set();
        double loss = await trainer;

        // Released: the parked step finished as if alone (the same loss and weights as the same step on a twin), and
        // this thread can use the network now.
        var unparked = new ParkingLoss();
        unparked.Release.Set();
        double expected = reference.TrainStep(Inputs, Targets, unparked, new Sgd(0.5), batch: 4);
        Assert.Equal(expected, loss);
        Assert.Equal(reference.GetParameters(), net.GetParameters());
        Assert.Equal(reference.Forward([1.0, 1.0]).ToArray(), net.Forward([1.0, 1.0]).ToArray());
    }

    [Fact]
    public async Task NestedCallsOnOneThread_PassThroughTheGuard_AndItIsReleasedAfterAnError()
    {
        using var net = new XorNet.Gpu(fixture.Device, maxBatch: 4, seed: 5);
        // TrainStep calls ZeroGradients, ForwardOnDevice, Backward and Step: one thread, one hold.
        net.TrainStep(Inputs, Targets, new Sgd(0.5), batch: 4);
        Assert.True(double.IsFinite(net.Loss()));
        // A call that throws inside (a batch too large) releases the network: another thread can enter afterwards.
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(new double[10], batch: 5));
        var output = await Task.Run(() => net.Forward([1.0, 0.0]).ToArray());
        Assert.Single(output);
    }
}
