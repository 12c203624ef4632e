using NetGen.Gpu;
using NetGen.Tests.Networks;

namespace NetGen.Tests.Gpu;

/// <summary>A GPU network used after its device was disposed throws ObjectDisposedException naming the device (ILGPU
/// itself reported "Unknown parent accelerator" and then aborted the process), and disposing the network afterwards is
/// harmless.</summary>
[Collection(GpuCollection.Name)]
public sealed class GpuDisposedDeviceTests
{
    [Fact]
    public void NetworkAfterDeviceDispose_ThrowsObjectDisposedNamingTheDevice()
    {
        var device = GpuDevice.Create(GpuDeviceKind.Cpu);
        var net = new XorNet.Gpu(device, maxBatch: 2, seed: 1);
        net.Forward([0.0, 1.0]);
        string description = device.ToString();
        device.Dispose();
        Assert.True(device.IsDisposed);

        var ex = Assert.Throws<ObjectDisposedException>(() => net.Forward([0.0, 1.0]));
        Assert.Contains(description, ex.Message);
        Assert.Contains("XorNet.Gpu used the GPU device", ex.Message);
        Assert.Contains("after it was disposed", ex.Message);
        Assert.Throws<ObjectDisposedException>(() => net.TrainStep([0.0, 1.0], [1.0], new Sgd(0.1)));
        Assert.Throws<ObjectDisposedException>(() => net.GetParameters());
        Assert.Throws<ObjectDisposedException>(() => net.CopyTo(new XorNet()));
        Assert.Throws<ObjectDisposedException>(() => device.Accelerator);
        Assert.Throws<ObjectDisposedException>(() => new XorNet.Gpu(device));
        net.Dispose();      // the buffers went with the device: nothing to release, nothing touched
        device.Dispose();   // twice is fine
    }
}
