using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace NetGen.Gpu;

/// <summary>Which ILGPU accelerator a <see cref="GpuDevice"/> runs on.</summary>
public enum GpuDeviceKind
{
    /// <summary>The first of CUDA, OpenCL and the CPU emulator that can be created (or the one the
    /// <c>NETGEN_DEVICE</c> environment variable names: <c>cuda</c>, <c>opencl</c> or <c>cpu</c>).</summary>
    Auto,

    /// <summary>An NVIDIA GPU through CUDA (needs the NVIDIA driver).</summary>
    Cuda,

    /// <summary>A GPU through OpenCL 2.0 or later (AMD, Intel, NVIDIA; needs the vendor's OpenCL driver).</summary>
    OpenCL,

    /// <summary>ILGPU's CPU accelerator: a debugging emulator that runs the kernels thread by thread, thousands of times
    /// slower than the generated CPU code. For testing the GPU path without a GPU; never for speed.</summary>
    Cpu,
}

/// <summary>
/// An ILGPU context and one accelerator: what GPU networks allocate their buffers on and load their kernels into.
/// Create one per process (creating a context is slow) and dispose it after the networks that use it.
/// </summary>
/// <example>
/// <code>
/// using var device = GpuDevice.Create();                  // CUDA, else OpenCL, else the CPU emulator
/// using var net = new LeNet.Gpu(device, maxBatch: 64);
/// net.TrainStep(images, labels, optimizer, batch: 64);
/// </code>
/// </example>
public sealed class GpuDevice : IDisposable
{
    /// <summary>The environment variable that chooses the accelerator when <see cref="GpuDeviceKind.Auto"/> is asked
    /// for: <c>cuda</c>, <c>opencl</c> or <c>cpu</c>.</summary>
    public const string EnvironmentVariable = "NETGEN_DEVICE";

    private readonly Context _context;

    private GpuDevice(Context context, Accelerator accelerator, GpuDeviceKind kind)
    {
        _context = context;
        Accelerator = accelerator;
        Kind = kind;
    }

    /// <summary>The ILGPU accelerator the kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The kind of accelerator actually created (never <see cref="GpuDeviceKind.Auto"/>).</summary>
    public GpuDeviceKind Kind { get; }

    /// <summary>The device's name, e.g. "NVIDIA GeForce RTX 4090" or "CPUAccelerator".</summary>
    public string Name => Accelerator.Name;

    /// <summary>Bytes of device memory (the CPU emulator reports no limit).</summary>
    public long MemorySize => Accelerator.MemorySize;

    /// <summary>Whether this is ILGPU's CPU emulator (slow; for tests).</summary>
    public bool IsEmulator => Kind == GpuDeviceKind.Cpu;

    /// <summary>The ILGPU context every kernel is compiled in: CUDA, OpenCL and CPU devices, with ILGPU.Algorithms'
    /// math intrinsics (exp, log, tanh, sqrt on the GPU backends).</summary>
    internal static Context CreateContext() =>
        Context.Create(builder => builder.Default().EnableAlgorithms().Math(MathMode.Default));

    /// <summary>Creates a device of the given kind. <see cref="GpuDeviceKind.Auto"/> reads
    /// <see cref="EnvironmentVariable"/>, else tries CUDA, then OpenCL, then the CPU emulator.</summary>
    /// <exception cref="InvalidOperationException">No accelerator of the requested kind exists on this machine; the message
    /// lists what was found and what to install or choose instead.</exception>
    public static GpuDevice Create(GpuDeviceKind kind = GpuDeviceKind.Auto)
    {
        if (kind == GpuDeviceKind.Auto && Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } chosen)
            kind = Parse(chosen, $"the environment variable {EnvironmentVariable}");
        var context = CreateContext();
        try
        {
            var order = kind == GpuDeviceKind.Auto
                ? new[] { GpuDeviceKind.Cuda, GpuDeviceKind.OpenCL, GpuDeviceKind.Cpu }
                : new[] { kind };
            foreach (var candidate in order)
            {
                var device = FindDevice(context, candidate);
                if (device is null) continue;
                return new GpuDevice(context, device.CreateAccelerator(context), candidate);
            }
            string found = string.Join(", ", context.Devices.Select(d => $"{d.AcceleratorType} \"{d.Name}\""));
            throw new InvalidOperationException(
                $"No {Describe(kind)} accelerator could be created: ILGPU found {(found.Length == 0 ? "no devices" : found)}. " +
                "For CUDA install the NVIDIA driver; for OpenCL the vendor's OpenCL 2.0 driver (an ICD). " +
                $"Without a GPU, use GpuDeviceKind.Cpu (ILGPU's emulator, slow, for testing) or train the CPU network itself.");
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Reads a device name as the samples' <c>--device</c> option and <see cref="EnvironmentVariable"/> spell
    /// it: <c>auto</c>, <c>cuda</c>, <c>opencl</c>, or <c>cpu</c> / <c>ilgpu-cpu</c> for the emulator.</summary>
    public static GpuDeviceKind Parse(string name, string source = "the device name") => name.Trim().ToLowerInvariant() switch
    {
        "auto" or "gpu" => GpuDeviceKind.Auto,
        "cuda" => GpuDeviceKind.Cuda,
        "opencl" or "cl" => GpuDeviceKind.OpenCL,
        "cpu" or "ilgpu-cpu" or "emulator" => GpuDeviceKind.Cpu,
        _ => throw new ArgumentException($"Unknown device \"{name}\" in {source}: use auto, cuda, opencl or ilgpu-cpu (ILGPU's CPU emulator).", nameof(name)),
    };

    private static string Describe(GpuDeviceKind kind) => kind switch
    {
        GpuDeviceKind.Cuda => "CUDA",
        GpuDeviceKind.OpenCL => "OpenCL",
        GpuDeviceKind.Cpu => "CPU-emulator",
        _ => "GPU",
    };

    private static Device? FindDevice(Context context, GpuDeviceKind kind)
    {
        foreach (var device in context.Devices)
        {
            bool match = kind switch
            {
                GpuDeviceKind.Cuda => device.AcceleratorType == AcceleratorType.Cuda,
                // ILGPU's OpenCL backend needs OpenCL C 2.0 (generic address space); older devices are listed but unusable.
                GpuDeviceKind.OpenCL => device is CLDevice cl && cl.CVersion >= ILGPU.Backends.OpenCL.CLBackend.MinimumVersion,
                GpuDeviceKind.Cpu => device.AcceleratorType == AcceleratorType.CPU,
                _ => false,
            };
            if (match) return device;
        }
        return null;
    }

    /// <summary>Waits until every kernel and copy queued on the device has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <inheritdoc/>
    public override string ToString() => $"{Describe(Kind)}: {Name}";

    /// <summary>Releases the accelerator and the context. Dispose the networks first.</summary>
    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}
