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
    /// <c>NETGEN_DEVICE</c> environment variable names: <c>cuda</c>, <c>opencl</c>, <c>gpu</c> or <c>ilgpu-cpu</c>).
    /// Ends with the slow emulator on a machine without a GPU; use <see cref="Gpu"/> for "a GPU or an error".</summary>
    Auto,

    /// <summary>A real GPU: CUDA, else OpenCL (or the one <c>NETGEN_DEVICE</c> names); never the emulator. Without a
    /// GPU, <see cref="GpuDevice.Create"/> throws with what to install.</summary>
    Gpu,

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
/// using var device = GpuDevice.Create(GpuDeviceKind.Gpu);  // CUDA, else OpenCL, else an error naming the fix
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
    private readonly Accelerator _accelerator;
    private readonly string _description;

    private GpuDevice(Context context, Accelerator accelerator, GpuDeviceKind kind)
    {
        _context = context;
        _accelerator = accelerator;
        Kind = kind;
        _description = $"{Describe(kind)}: {accelerator.Name}";
    }

    /// <summary>The ILGPU accelerator the kernels run on.</summary>
    /// <exception cref="ObjectDisposedException">The device was disposed.</exception>
    public Accelerator Accelerator
    {
        get
        {
            ThrowIfDisposed();
            return _accelerator;
        }
    }

    /// <summary>Whether <see cref="Dispose"/> was called. A network on a disposed device throws
    /// <see cref="ObjectDisposedException"/> naming the device (its buffers went with the device).</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Throws <see cref="ObjectDisposedException"/> naming this device when it was disposed: ILGPU itself
    /// reports "Unknown parent accelerator" and may then abort the process.</summary>
    /// <param name="user">What was about to use the device (a network's name), for the message; null for none.</param>
    public void ThrowIfDisposed(string? user = null)
    {
        if (IsDisposed)
            throw new ObjectDisposedException(
                $"GpuDevice ({_description})",
                $"{(user is null ? "The" : user + " used the")} GPU device {_description} after it was disposed; its buffers and kernels went with it. " +
                "Dispose a device after every network created on it (e.g. `using var device = …` before `using var net = …`), or create a new device and network.");
    }

    /// <summary>The kind of accelerator actually created (never <see cref="GpuDeviceKind.Auto"/>).</summary>
    public GpuDeviceKind Kind { get; }

    /// <summary>The device's name, e.g. "NVIDIA GeForce RTX 4090" or "CPUAccelerator".</summary>
    public string Name => _accelerator.Name;

    /// <summary>Bytes of device memory (the CPU emulator reports no limit).</summary>
    public long MemorySize => _accelerator.MemorySize;

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
        if (kind is GpuDeviceKind.Auto or GpuDeviceKind.Gpu && Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } chosen)
        {
            var named = Parse(chosen, $"the environment variable {EnvironmentVariable}");
            if (kind == GpuDeviceKind.Gpu && named == GpuDeviceKind.Cpu)
                throw new InvalidOperationException(
                    $"{EnvironmentVariable}={chosen} names ILGPU's CPU emulator, but a GPU was asked for (GpuDeviceKind.Gpu): " +
                    $"set {EnvironmentVariable} to cuda or opencl, or unset it; or ask for GpuDeviceKind.Cpu to run on the emulator.");
            if (named != GpuDeviceKind.Auto && !(kind == GpuDeviceKind.Gpu && named == GpuDeviceKind.Gpu)) kind = named;
        }
        var context = CreateContext();
        try
        {
            var order = kind switch
            {
                GpuDeviceKind.Auto => new[] { GpuDeviceKind.Cuda, GpuDeviceKind.OpenCL, GpuDeviceKind.Cpu },
                GpuDeviceKind.Gpu => new[] { GpuDeviceKind.Cuda, GpuDeviceKind.OpenCL },
                _ => new[] { kind },
            };
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
    /// it: <c>auto</c>, <c>gpu</c>, <c>cuda</c>, <c>opencl</c>, or <c>ilgpu-cpu</c> (also <c>emulator</c>) for ILGPU's
    /// CPU emulator. <c>cpu</c> is refused: in NetGen it means the generated CPU network, which needs no device.</summary>
    /// <exception cref="ArgumentException">Not a device name; the message lists the valid ones.</exception>
    public static GpuDeviceKind Parse(string name, string source = "the device name") => name.Trim().ToLowerInvariant() switch
    {
        "auto" => GpuDeviceKind.Auto,
        "gpu" => GpuDeviceKind.Gpu,
        "cuda" => GpuDeviceKind.Cuda,
        "opencl" or "cl" => GpuDeviceKind.OpenCL,
        "ilgpu-cpu" or "emulator" => GpuDeviceKind.Cpu,
        "cpu" => throw new ArgumentException(
            $"\"cpu\" in {source} is not an ILGPU device: it means the generated CPU network, which needs none. " +
            "For ILGPU's CPU emulator (slow, for testing the GPU kernels) use ilgpu-cpu."),
        _ => throw new ArgumentException($"Unknown device \"{name}\" in {source}: use auto, gpu, cuda, opencl or ilgpu-cpu (ILGPU's CPU emulator)."),
    };

    private static string Describe(GpuDeviceKind kind) => kind switch
    {
        GpuDeviceKind.Cuda => "CUDA",
        GpuDeviceKind.OpenCL => "OpenCL",
        GpuDeviceKind.Cpu => "CPU-emulator",
        _ => "GPU (CUDA or OpenCL)",
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
    public override string ToString() => _description;

    /// <summary>Releases the accelerator and the context (with every buffer still allocated on it). Dispose the
    /// networks first; a network used afterwards throws <see cref="ObjectDisposedException"/>. Calling it twice does
    /// nothing.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        _accelerator.Dispose();
        _context.Dispose();
    }
}
