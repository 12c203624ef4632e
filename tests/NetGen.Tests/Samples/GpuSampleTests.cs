using System.Globalization;
using System.Text.RegularExpressions;
using NetGen.Gpu;
using NetGen.Tests.Infrastructure;
using Tour1 = Module1.NeuralNetworks.Tour;
using Module3.Cnn;

namespace NetGen.Tests.Samples;

/// <summary>
/// The samples' <c>--device</c> option. <c>ilgpu-cpu</c> trains the networks' Gpu variants on ILGPU's CPU emulator: the
/// GPU loop draws the same mini-batches from the same initial weights as the CPU loop, so with the same settings and
/// seed it must end with the same test accuracy and loss, up to float rounding (the kernels sum in other orders). The
/// settings are small because the emulator is slow (a LeNet step of 32 samples takes about 3 s on a 2-core machine),
/// yet each network learns well above chance (10 classes: 0.1) so that the equality is not one of untrained networks.
/// <c>gpu</c> on a machine without CUDA or OpenCL exits with code 1 and says what to install or choose.
/// </summary>
[Collection(NetGen.Tests.Gpu.GpuCollection.Name)]   // one emulator at a time: it uses every core
public class GpuSampleTests
{
    /// <summary>At most this many test samples may be classified differently by the two paths: rounding can move a
    /// sample whose two best classes are nearly tied.</summary>
    private const int FlippedSamples = 2;

    /// <summary>Test losses (mean cross-entropy, printed to 4 decimals) agree to this.</summary>
    private const double LossTolerance = 2e-3;

    /// <summary>Digits MLP, 3 epochs (135 steps of 32): the CPU path reaches 0.908 (test loss 0.4708); about 12 s on the emulator.</summary>
    [Fact]
    public void DigitsMlpOnTheEmulatorReachesTheCpuAccuracy()
    {
        var cpuText = new StringWriter();
        double cpu = Tour1.Digits(cpuText, epochs: 3);
        using var device = GpuDevice.Create(GpuDeviceKind.Cpu);
        var gpuText = new StringWriter();
        double gpu = Tour1.Digits(gpuText, epochs: 3, device: device);

        string s = gpuText.ToString();
        Assert.InRange(cpu, 0.88, 0.94);
        Assert.True(Math.Abs(gpu - cpu) <= FlippedSamples / 359.0 + 1e-9, $"emulator {gpu:0.000} vs CPU {cpu:0.000}\n{s}\n{cpuText}");
        Assert.Equal(TestLoss(cpuText.ToString()), TestLoss(s), LossTolerance);
        Assert.Contains("device: CPU-emulator", s);
        Assert.Contains("not a speed measurement", s);
        Assert.Matches(@"Epoch 3/3 - \d+\.\ds \d+ms/step - loss: 0\.\d{4}", s);
        AssertDeviceMemory(s, "DigitsMlp", parameters: 4810, batch: 32);
    }

    /// <summary>XOR in double precision, 500 of the 4,000 full-batch steps: the loss and the four outputs printed at
    /// epochs 1 and 500 (6 and 3 decimals) are the CPU's exactly. A few seconds on the emulator.</summary>
    [Fact]
    public void XorOnTheEmulatorPrintsTheCpuNumbers()
    {
        var cpuText = new StringWriter();
        Tour1.Xor(cpuText, epochs: 500);
        using var device = GpuDevice.Create(GpuDeviceKind.Cpu);
        var gpuText = new StringWriter();
        Tour1.Xor(gpuText, epochs: 500, device: device);
        string[] cpuLines = EpochLines(cpuText.ToString()), gpuLines = EpochLines(gpuText.ToString());
        Assert.Equal(2, cpuLines.Length);
        Assert.Equal(cpuLines, gpuLines);
        Assert.True(XorLoss(cpuLines[1]) < XorLoss(cpuLines[0]) - 0.02, string.Join('\n', cpuLines));   // 0.146388 → 0.119819: it learned
    }

    /// <summary>LeNet on the first 288 training digits (9 steps of 32, η = 0.1, seed 1), tested on the first 128 test
    /// digits: the CPU path reaches 0.430 (test loss 1.7233). About 35 s on the emulator. The GPU-trained weights come
    /// back to the CPU network (CopyTo) for the filter images: the first layer's kernels moved as much on both.</summary>
    [Fact]
    public void LeNetOnTheEmulatorReachesTheCpuAccuracy()
    {
        var options = new TrainOptions { Model = "lenet", Epochs = 1, TrainSamples = 288, TestSamples = 128, OutputDirectory = null };
        var cpuText = new StringWriter();
        var cpu = Training.Run(cpuText, options);
        using var device = GpuDevice.Create(GpuDeviceKind.Cpu);
        var gpuText = new StringWriter();
        var gpu = Training.Run(gpuText, options with { Device = device });

        string s = gpuText.ToString();
        Assert.Equal((288, 128), (gpu.TrainCount, gpu.TestCount));
        Assert.InRange(cpu.TestAccuracy, 0.35, 0.50);
        Assert.True(Math.Abs(gpu.TestAccuracy - cpu.TestAccuracy) <= FlippedSamples / 128.0 + 1e-9,
            $"emulator {gpu.TestAccuracy:0.000} vs CPU {cpu.TestAccuracy:0.000}\n{s}\n{cpuText}");
        Assert.Equal(cpu.TestLoss, gpu.TestLoss, LossTolerance);
        Assert.Equal(Moved(cpuText.ToString()), Moved(s));
        Assert.Contains("device: CPU-emulator", s);
        Assert.Contains("Epoch 1/1 - ", s);
        AssertDeviceMemory(s, "LeNet", parameters: 61706, batch: 32);
    }

    /// <summary>ShallowNet at batch 16 on the first 64 training digits (4 steps), tested on the first 64: the CPU path
    /// reaches 0.422 (test loss 1.7353). About 20 s on the emulator.</summary>
    [Fact]
    public void GpuWithoutAGpuExitsWithCodeOneAndNamesTheFix()
    {
        bool hasGpu = GpuExists();
        string images = Path.Combine(Path.GetTempPath(), "netgen-gpu-sample-" + Guid.NewGuid().ToString("N"));   // written only with a GPU
        try
        {
            foreach (var (assembly, arguments) in new[]
                     {
                         (typeof(Tour1).Assembly.Location, new[] { "digits", "--device", "gpu", "--epochs", "1" }),
                         (typeof(Training).Assembly.Location, new[] { "train", "--device", "gpu", "--epochs", "1", "--train-samples", "64", "--test-samples", "64", "--output", images }),
                     })
                AssertGpuRun(assembly, arguments, hasGpu);
        }
        finally
        {
            if (Directory.Exists(images)) Directory.Delete(images, recursive: true);
        }
    }

    private static void AssertGpuRun(string assembly, string[] arguments, bool hasGpu)
    {
        var (exitCode, stdout, stderr) = RunSample(assembly, arguments);
        string all = $"exit code {exitCode}\nstdout:\n{stdout}\nstderr:\n{stderr}";
        if (hasGpu)
        {
            Assert.True(exitCode == 0, all);
            Assert.Matches(@"device: (CUDA|OpenCL): ", stdout);
            return;
        }
        Assert.True(exitCode == 1, all);
        Assert.Contains("--device gpu: no GPU could be used", stderr);
        Assert.Contains("No GPU (CUDA or OpenCL) accelerator could be created", stderr);
        Assert.Contains("install the NVIDIA driver", stderr);
        Assert.Contains("OpenCL 2.0 driver", stderr);
        Assert.Contains("--device ilgpu-cpu", stderr);
        Assert.Contains("--device cpu", stderr);
        Assert.DoesNotContain("Epoch", stdout);
        Assert.DoesNotContain("device:", stdout);
    }

    /// <summary>"device memory: 115,456 bytes (112.8 KiB) for DigitsMlp.Gpu at batch 32": at least parameters, gradients and
    /// the SGD buffer (3 × 4 bytes per parameter) beside the activations.</summary>
    private static void AssertDeviceMemory(string text, string network, long parameters, int batch)
    {
        var match = Regex.Match(text, $@"device memory: ([\d,]+) bytes \(\d+\.\d [KM]iB\) for {network}\.Gpu at batch {batch}");
        Assert.True(match.Success, text);
        long bytes = long.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.True(bytes > parameters * 4 * 3, $"{bytes} bytes for {parameters} parameters");
    }

    private static double TestLoss(string text) =>
        double.Parse(Regex.Match(text, @"test loss (\d+\.\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    private static double XorLoss(string line) =>
        double.Parse(Regex.Match(line, @"loss (\d+\.\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    private static string Moved(string text) => Regex.Match(text, @"kernels moved (\d+)%").Groups[1].Value;

    private static string[] EpochLines(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("epoch", StringComparison.Ordinal)).ToArray();

    /// <summary>Whether this machine has a CUDA or OpenCL 2.0 device ILGPU can use.</summary>
    private static bool GpuExists()
    {
        foreach (var kind in new[] { GpuDeviceKind.Cuda, GpuDeviceKind.OpenCL })
        {
            try
            {
                using var device = GpuDevice.Create(kind);
                return true;
            }
            catch (InvalidOperationException)
            {
                // none of this kind
            }
        }
        return false;
    }

    /// <summary>Runs a sample's built assembly (copied beside the tests) with the dotnet host, without NETGEN_DEVICE.</summary>
    private static (int ExitCode, string Stdout, string Stderr) RunSample(string assembly, string[] arguments)
        => DotnetProcess.Run(assembly, arguments, TimeSpan.FromSeconds(120), GpuDevice.EnvironmentVariable);
}
