// One file, compiled into both samples that train on a GPU (Module1.NeuralNetworks and Module3.Cnn link it from
// samples/Shared): the --device option (the training loop is NetGen.Gpu.GpuTrainer).
// Internal on purpose: each sample gets its own copy of these types, and they are no part of the NetGen API.

using System.CommandLine;
using System.Diagnostics;
using System.Numerics;
using NetGen.Gpu;

namespace NetGen.Samples;

/// <summary>
/// The samples' <c>--device</c> option: <c>cpu</c> (the default) trains the generated CPU network; <c>gpu</c> its
/// <c>Gpu</c> variant on an NVIDIA GPU through CUDA, else a GPU through OpenCL 2.0, and fails (exit code 1, with
/// GpuDevice.Create's message) when there is neither, never falling back to something slower; <c>ilgpu-cpu</c> runs
/// the same GPU kernels on ILGPU's CPU emulator, to check them without a GPU (slowly).
/// </summary>
internal static class SampleDevice
{
    public const string Cpu = "cpu", Gpu = "gpu", Emulator = "ilgpu-cpu";

    /// <summary>The line printed when a run uses the emulator, so that nobody reads its times as a GPU's.</summary>
    public const string EmulatorNote =
        "note: ilgpu-cpu is ILGPU's CPU emulator, a correctness check of the GPU kernels (run thread by thread, thousands " +
        "of times slower than the generated CPU code): its times are not a speed measurement.";

    /// <summary>The option, to add to a command.</summary>
    public static Option<string> CreateOption()
    {
        var option = new Option<string>("--device")
        {
            Description = "Where to train: cpu (the generated CPU code), gpu (CUDA, else OpenCL 2.0; set NETGEN_DEVICE=cuda or opencl " +
                          "to choose) or ilgpu-cpu (ILGPU's CPU emulator: checks the GPU kernels, very slowly, with shorter default runs).",
            DefaultValueFactory = _ => Cpu,
        };
        option.AcceptOnlyFromAmong(Cpu, Gpu, Emulator);
        return option;
    }

    /// <summary>Opens the device named by the option (null for <c>cpu</c>), runs <paramref name="run"/> with it and
    /// disposes it. When the device cannot be opened, writes why to <paramref name="error"/> (standard error by
    /// default) and returns 1 without running anything.</summary>
    public static int Run(string name, Func<GpuDevice?, int> run, TextWriter? error = null)
    {
        GpuDevice? device;
        try
        {
            device = Open(name, Environment.GetEnvironmentVariable(GpuDevice.EnvironmentVariable));
        }
        catch (DeviceUnavailableException e)
        {
            (error ?? Console.Error).WriteLine(e.Message);
            return 1;
        }
        using (device) return run(device);
    }

    /// <summary>The device for an option value; null for <c>cpu</c>. <paramref name="environment"/> is the value of
    /// NETGEN_DEVICE, which <c>gpu</c> honours when it names cuda or opencl.</summary>
    /// <exception cref="DeviceUnavailableException">No such device on this machine; the message says what to do.</exception>
    public static GpuDevice? Open(string name, string? environment = null) => name switch
    {
        Cpu => null,
        Emulator => GpuDevice.Create(GpuDeviceKind.Cpu),
        Gpu => OpenGpu(environment),
        _ => throw new ArgumentException($"Unknown device '{name}': use {Cpu}, {Gpu} or {Emulator}.", nameof(name)),
    };

    /// <summary>CUDA, else OpenCL (or the one NETGEN_DEVICE names); never the emulator (GpuDeviceKind.Gpu).</summary>
    private static GpuDevice OpenGpu(string? environment)
    {
        try
        {
            return GpuDevice.Create(GpuDeviceKind.Gpu);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new DeviceUnavailableException(
                $"--device {Gpu}: no GPU could be used{(environment is { Length: > 0 } ? $" ({GpuDevice.EnvironmentVariable}={environment})" : "")}.{Environment.NewLine}" +
                e.Message + Environment.NewLine +
                $"In this sample: --device {Emulator} runs the GPU kernels on ILGPU's CPU emulator (slowly, to check them); " +
                $"--device {Cpu} trains the generated CPU network (fast).", e);
        }
    }

    /// <summary>"device memory: 4,887,040 bytes (4.7 MiB) for LeNet.Gpu at batch 32": what the network holds on the
    /// device (parameters, gradients, activations for its largest batch, scratch and the optimiser's state).</summary>
    public static string MemoryLine<T>(GpuNetwork<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long bytes = net.DeviceBytes;
        string size = bytes >= 1 << 20 ? FormattableString.Invariant($"{bytes / 1048576.0:0.0} MiB") : FormattableString.Invariant($"{bytes / 1024.0:0.0} KiB");
        return FormattableString.Invariant($"device memory: {bytes:N0} bytes ({size}) for {net.GetType().DeclaringType?.Name}.Gpu at batch {net.MaxBatch}");
    }

    /// <summary>Prints which device runs (and, for the emulator, <see cref="EmulatorNote"/>).</summary>
    public static void Describe(TextWriter o, GpuDevice device)
    {
        o.WriteLine($"device: {device}");
        if (device.IsEmulator) o.WriteLine(EmulatorNote);
    }
}

/// <summary>The requested device does not exist on this machine.</summary>
internal sealed class DeviceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

