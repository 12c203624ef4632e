using NetGen.Data;
using NetGen.Gpu;
using NetGen.Tests.Networks;
using Xunit.Abstractions;

namespace NetGen.Tests.Gpu;

/// <summary>
/// Training on the GPU path (ILGPU's CPU emulator) against the CPU path: the digits MLP and LeNet on real data, every
/// optimiser and clipping mode, parameters moved between the two, and MiniVGGNet's dropout masks and batch-norm
/// statistics. Parameters after N steps must equal the CPU path's within the float tolerance.
/// </summary>
[Collection(GpuCollection.Name)]
public sealed class GpuTrainingTests(GpuFixture fixture, ITestOutputHelper output)
{
    private GpuDevice Device => fixture.Device;

    [Fact]
    public void DigitsMlpTrainsAsOnTheCpu()
    {
        // 64-32-10 ReLU/softmax on the embedded UCI digits, SGD with momentum, batch 32, 20 steps.
        var data = Datasets.UciDigits<float>();
        const int batch = 32, steps = 20;
        var cpu = new DigitsMlp(batch, seed: 7);
        using var gpu = new DigitsMlp.Gpu(Device, batch, seed: 7);
        var cpuSgd = new Sgd(0.1, momentum: 0.9);
        var gpuSgd = new Sgd(0.1, momentum: 0.9);
        float firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < steps; step++)
        {
            var x = data.AllFeatures.Slice(step * batch * 64, batch * 64);
            var y = data.Labels.Slice(step * batch, batch);
            float cpuLoss = cpu.TrainStep(x, y, cpuSgd, batch);
            gpu.TrainStep(x, y, gpuSgd, batch);
            float gpuLoss = gpu.Loss();
            Assert.True(Math.Abs(cpuLoss - gpuLoss) <= 1e-5 * Math.Max(1, Math.Abs(cpuLoss)), $"step {step}: loss {cpuLoss} on the CPU, {gpuLoss} on the GPU");
            if (step == 0) firstLoss = gpuLoss;
            lastLoss = gpuLoss;
        }
        double error = GpuCompare.Close<float>(cpu.Parameters, gpu.GetParameters(), $"parameters after {steps} steps", GpuCompare.TrainingTolerance);
        output.WriteLine($"loss {firstLoss:F4} → {lastLoss:F4}; parameters' relative difference {error:G3}");
        Assert.True(lastLoss < firstLoss * 0.5, $"the GPU path should learn: loss {firstLoss} → {lastLoss}");
        Assert.Equal(steps, gpuSgd.Iterations);
    }

    [Fact]
    public void LeNetTrainsAsOnTheCpu()
    {
        // LeNet-5 on the first MNIST-sample images: 3 SGD steps at batch 8, then an inference pass.
        var data = Datasets.MnistSample<float>(32);
        const int batch = 8, steps = 3;
        var cpu = new LeNet(batch, seed: 11);
        using var gpu = new LeNet.Gpu(Device, batch, seed: 11);
        var cpuSgd = new Sgd(0.05);
        var gpuSgd = new Sgd(0.05);
        for (int step = 0; step < steps; step++)
        {
            var x = data.AllFeatures.Slice(step * batch * 784, batch * 784);
            var y = data.Labels.Slice(step * batch, batch);
            float cpuLoss = cpu.TrainStep(x, y, cpuSgd, batch);
            gpu.TrainStep(x, y, gpuSgd, batch);
            Assert.True(Math.Abs(cpuLoss - gpu.Loss()) <= 1e-5 * Math.Max(1, Math.Abs(cpuLoss)), $"step {step}: loss {cpuLoss} on the CPU, {gpu.Loss()} on the GPU");
        }
        double error = GpuCompare.Close<float>(cpu.Parameters, gpu.GetParameters(), $"LeNet parameters after {steps} steps", GpuCompare.TrainingTolerance);
        cpu.Training = gpu.Training = false;
        var probe = data.AllFeatures.Slice(24 * 784, batch * 784);
        GpuCompare.Close(cpu.Forward(probe, batch), gpu.Forward(probe, batch), "LeNet inference output", GpuCompare.TrainingTolerance);
        output.WriteLine($"LeNet: parameters' relative difference after {steps} steps {error:G3}; {gpu.DeviceBytes:N0} bytes on the device");
    }

    [Fact]
    public void MiniVggNetDrawsTheSameMasksAndStatistics()
    {
        // Dropout (three layers) and batch-norm (five) in one network: training forward passes on both paths, at batch 8
        // (batch-norm over 2 samples divides by a σ so small that float rounding in the statistics shows in the output).
        var data = Datasets.MnistSample<float>(8);
        var cpu = new MiniVggNet(8, seed: 3);
        using var gpu = new MiniVggNet.Gpu(Device, 8, seed: 3);
        var firstMasks = new List<float[]>();
        for (int pass = 0; pass < 2; pass++)
        {
            GpuCompare.Close(cpu.Forward(data.AllFeatures, 8), gpu.Forward(data.AllFeatures, 8), $"MiniVGGNet output, pass {pass + 1}", GpuCompare.TrainingTolerance);
            foreach (var mask in new[] { "Dropout1Mask", "Dropout2Mask", "Dropout3Mask" })
            {
                var expected = GpuCompare.ReadView<float>(cpu, mask);
                Assert.Equal(expected, GpuCompare.ReadGpu<float>(gpu, "Get" + mask, 8));
                double dropped = expected.Count(v => v == 0) / (double)expected.Length;
                output.WriteLine($"pass {pass + 1} {mask}: {dropped:P1} dropped");
                if (pass == 0) firstMasks.Add(expected);
                else Assert.NotEqual(firstMasks[0], GpuCompare.ReadView<float>(cpu, "Dropout1Mask"));   // each pass draws new masks
            }
            GpuCompare.Close<float>(cpu.State, gpu.GetState(), "running statistics", GpuCompare.TrainingTolerance);
        }
    }

    [Fact]
    public void GpuTrainerFitsAsTrainerFitDoes()
    {
        // The same shuffled batches, the same steps: Trainer.Fit on the CPU network and GpuTrainer.Fit on its Gpu variant
        // give the same epoch losses (summed on the device) and the same evaluation.
        var (train, test) = Datasets.UciDigits<float>().Split(0.2, seed: 3);
        var cpu = new DigitsMlp(32, seed: 4);
        using var gpu = new DigitsMlp.Gpu(Device, 32, seed: 4);
        var history = Trainer.Fit(cpu, train, epochs: 3, batchSize: 32, new Sgd(0.1), seed: 9, verbose: 0, validation: test);
        var log = new StringWriter();
        var gpuHistory = GpuTrainer.Fit(gpu, train, epochs: 3, batchSize: 32, new Sgd(0.1), seed: 9, log, validation: test);
        output.WriteLine(log.ToString());
        Assert.Equal(3, gpuHistory.Epochs);
        Assert.Matches(@"^Epoch 3/3 - \d+\.\ds \d+(s|ms|us)/step - loss: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$",
            log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd('\r'));
        foreach (var key in new[] { "loss", "val_loss", "val_accuracy" })
            for (int e = 0; e < 3; e++)
                Assert.True(Math.Abs(history[key][e] - gpuHistory[key][e]) <= 1e-5 * history[key][e], $"epoch {e + 1} {key}: {history[key][e]} on the CPU, {gpuHistory[key][e]} on the GPU");
        var (cpuLoss, cpuAccuracy) = Trainer.Evaluate(cpu, test);
        var (gpuLoss, gpuAccuracy) = GpuTrainer.Evaluate(gpu, test);
        Assert.Equal(cpuAccuracy, gpuAccuracy);
        Assert.True(Math.Abs(cpuLoss - gpuLoss) <= 1e-5 * cpuLoss, $"test loss {cpuLoss} on the CPU, {gpuLoss} on the GPU");
        Assert.True(gpuAccuracy > 0.8, $"3 epochs should learn: accuracy {gpuAccuracy}");
        var tooBig = Assert.Throws<ArgumentOutOfRangeException>(() => GpuTrainer.Fit(gpu, train, 1, 64, new Sgd(0.1)));
        Assert.Contains("batchSize", tooBig.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GpuTrainerFitsWithACustomLossAsTrainerFitDoes()
    {
        // A loss object other than the declared cross-entropy (mean squared error of the softmax probabilities against
        // one-hot targets) through both trainers: the same batches give the same epoch losses, validation and weights.
        var (train, test) = Datasets.UciDigits<float>().Split(0.2, seed: 3);
        var loss = new BuiltInLoss<float>(LossFunction.MeanSquaredError);
        var cpu = new DigitsMlp(32, seed: 4);
        using var gpu = new DigitsMlp.Gpu(Device, 32, seed: 4);
        var history = Trainer.Fit(cpu, train, epochs: 2, batchSize: 32, new Sgd(0.5, momentum: 0.9), seed: 9, verbose: 0, validation: test, loss: loss);
        var log = new StringWriter();
        var gpuHistory = GpuTrainer.Fit(gpu, train, epochs: 2, batchSize: 32, new Sgd(0.5, momentum: 0.9), seed: 9, log, validation: test, loss: loss);
        output.WriteLine(log.ToString());
        Assert.Matches(@"^Epoch 2/2 - \d+\.\ds \d+(s|ms|us)/step - loss: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$",
            log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd('\r'));
        foreach (var key in new[] { "loss", "val_loss", "val_accuracy" })
            for (int e = 0; e < 2; e++)
                Assert.True(Math.Abs(history[key][e] - gpuHistory[key][e]) <= 1e-5 * history[key][e], $"epoch {e + 1} {key}: {history[key][e]} on the CPU, {gpuHistory[key][e]} on the GPU");
        GpuCompare.Close<float>(cpu.Parameters, gpu.GetParameters(), "parameters after 2 epochs with the custom loss", GpuCompare.TrainingTolerance);
        Assert.True(history["loss"][1] < history["loss"][0] && gpuHistory["val_accuracy"][1] > 0.8,
            $"the custom loss should train: loss {history["loss"][0]} → {history["loss"][1]}, val_accuracy {gpuHistory["val_accuracy"][1]}");
        // A declared-loss run from the same weights differs: the custom loss was the one trained.
        using var declared = new DigitsMlp.Gpu(Device, 32, seed: 4);
        var declaredHistory = GpuTrainer.Fit(declared, train, epochs: 1, batchSize: 32, new Sgd(0.5, momentum: 0.9), seed: 9);
        Assert.True(Math.Abs(declaredHistory["loss"][0] - gpuHistory["loss"][0]) > 0.1, $"cross-entropy {declaredHistory["loss"][0]} vs squared error {gpuHistory["loss"][0]}");
        // Targets the loss cannot read are refused with the sizes.
        var wrong = new Dataset<float>(new float[4 * 64], 64, new float[4 * 3], 3);
        var error = Assert.Throws<ArgumentException>(() => GpuTrainer.Fit(gpu, wrong, 1, 4, new Sgd(0.1), loss: loss));
        Assert.Contains("3 target values per sample", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Optimizers() => new()
    {
        "sgd", "momentum", "nesterov+decay", "adagrad", "rmsprop", "rmsprop centred+momentum+decay", "adam", "adam amsgrad+decay",
        "adamw", "sgd clip-value", "adam clip-norm", "sgd clip-value+clip-norm",
    };

    private static Optimizer Create(string name) => name switch
    {
        "sgd" => new Sgd(0.1),
        "momentum" => new Sgd(0.05, momentum: 0.9),
        "nesterov+decay" => new Sgd(0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3),
        "adagrad" => new Adagrad(0.05, learningRateDecay: 0.01, weightDecay: 1e-3, initialAccumulatorValue: 0.1),
        "rmsprop" => new RmsProp(0.01),
        "rmsprop centred+momentum+decay" => new RmsProp(0.01, momentum: 0.5, centered: true, weightDecay: 1e-3),
        "adam" => new Adam(0.01),
        "adam amsgrad+decay" => new Adam(0.01, amsgrad: true, weightDecay: 1e-3),
        "adamw" => new AdamW(0.01, weightDecay: 0.05),
        "sgd clip-value" => new Sgd(0.1) { ClipValue = 0.01 },
        "adam clip-norm" => new Adam(0.01) { ClipNorm = 0.1 },
        "sgd clip-value+clip-norm" => new Sgd(0.1, momentum: 0.9) { ClipValue = 0.02, ClipNorm = 0.05 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void OptimiserUpdatesEqualTheCpu(string optimizer)
    {
        var data = Datasets.UciDigits<float>();
        const int batch = 16, steps = 6;
        var cpu = new DigitsMlp(batch, seed: 2);
        using var gpu = new DigitsMlp.Gpu(Device, batch, seed: 2);
        Optimizer cpuOptimizer = Create(optimizer), gpuOptimizer = Create(optimizer);
        for (int step = 0; step < steps; step++)
        {
            if (step == 3) cpuOptimizer.LearningRate = gpuOptimizer.LearningRate = cpuOptimizer.LearningRate * 0.5;   // a schedule's change is seen
            var x = data.AllFeatures.Slice(step * batch * 64, batch * 64);
            var y = data.Labels.Slice(step * batch, batch);
            cpu.TrainStep(x, y, cpuOptimizer, batch);
            gpu.TrainStep(x, y, gpuOptimizer, batch);
        }
        Assert.Equal(steps, gpuOptimizer.Iterations);
        double moved = 0;
        var initial = new DigitsMlp(1, seed: 2).Parameters.ToArray();
        var trained = gpu.GetParameters();
        for (int i = 0; i < initial.Length; i++) moved = Math.Max(moved, Math.Abs(trained[i] - initial[i]));
        Assert.True(moved > 1e-3, $"{optimizer} should move the parameters (largest move {moved})");
        double error = GpuCompare.Close<float>(cpu.Parameters, trained, $"{optimizer}: parameters after {steps} steps", GpuCompare.TrainingTolerance);
        output.WriteLine($"{optimizer}: largest move {moved:G3}, GPU − CPU {error:G3} of the largest parameter");
    }

    [Theory]
    [InlineData("sgd decay")]
    [InlineData("adamw")]
    [InlineData("rmsprop decay")]
    public void HeldBiasesStayPutUnderWeightDecay(string optimizer)
    {
        // The worked example holds both layers' biases (TrainBias = false): their gradient is zero, and neither the
        // coupled decay (g + λθ) nor AdamW's θ·(1 − ηλ) may move them, on either path; the weights do move.
        Optimizer Create() => optimizer switch
        {
            "sgd decay" => new Sgd(0.5, momentum: 0.9, weightDecay: 0.1),
            "adamw" => new AdamW(0.05, weightDecay: 0.5),
            _ => new RmsProp(0.05, weightDecay: 0.1),
        };
        var cpu = new WorkedExample();
        cpu.Dense1Bias.Fill(0.35);   // the lecture's biases: a decay would pull them towards 0
        cpu.Dense2Bias.Fill(0.60);
        using var gpu = new WorkedExample.Gpu(Device);
        gpu.CopyFrom(cpu);
        var initial = cpu.Parameters.ToArray();
        Optimizer cpuOptimizer = Create(), gpuOptimizer = Create();
        double[] input = [0.05, 0.10], target = [0.01, 0.99];
        for (int step = 0; step < 4; step++)
        {
            cpu.TrainStep(input, target, cpuOptimizer);
            gpu.TrainStep(input, target, gpuOptimizer);
        }
        var trained = gpu.GetParameters();
        foreach (var (offset, count) in new[] { (4, 2), (10, 2) })   // Dense1Bias, Dense2Bias
        {
            Assert.Equal(initial.AsSpan(offset, count).ToArray(), cpu.Parameters.Slice(offset, count).ToArray());
            Assert.Equal(initial.AsSpan(offset, count).ToArray(), trained.AsSpan(offset, count).ToArray());
        }
        Assert.NotEqual(initial[0], cpu.Parameters[0]);
        GpuCompare.Close<double>(cpu.Parameters, trained, $"{optimizer}: parameters after 4 steps", 1e-12);
    }

    [Fact]
    public void ParametersMoveBetweenTheCpuAndTheGpu()
    {
        // Train on the GPU, run on the CPU (and back): the outputs agree.
        var data = Datasets.UciDigits<float>();
        using var gpu = new DigitsMlp.Gpu(Device, 32, seed: 1);
        var sgd = new Sgd(0.1);
        for (int step = 0; step < 5; step++)
            gpu.TrainStep(data.AllFeatures.Slice(step * 32 * 64, 32 * 64), data.Labels.Slice(step * 32, 32), sgd, 32);
        var cpu = new DigitsMlp(32, seed: 99);
        gpu.CopyTo(cpu);
        Assert.Equal(gpu.GetParameters(), cpu.Parameters.ToArray());
        gpu.Training = cpu.Training = false;
        var x = data.AllFeatures.Slice(1000 * 64, 32 * 64);
        GpuCompare.Close(cpu.Forward(x, 32), gpu.Forward(x, 32), "outputs after CopyTo");

        using var other = new DigitsMlp.Gpu(Device, 32, seed: 5);
        other.CopyFrom(cpu);
        other.Training = false;
        GpuCompare.Close(cpu.Forward(x, 32), other.Forward(x, 32), "outputs after CopyFrom");
        Assert.True(gpu.DeviceBytes > 4L * (2 * DigitsMlp.ParameterCount + 32 * (64 + 32 + 32 + 10 + 10) * 2), $"DeviceBytes {gpu.DeviceBytes}");
    }

    [Fact]
    public void BadInputGetsAClearError()
    {
        using var gpu = new DigitsMlp.Gpu(Device, 4, seed: 1);
        var wrongLength = Assert.Throws<ArgumentException>(() => gpu.Forward(new float[63], 1));
        Assert.Contains("input", wrongLength.Message, StringComparison.Ordinal);
        Assert.Contains("64", wrongLength.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => gpu.Forward(new float[5 * 64], 5));
        var noTargets = Assert.Throws<InvalidOperationException>(() => { gpu.Forward(new float[64], 1); gpu.Loss(); });
        Assert.Contains("Loss(target)", noTargets.Message, StringComparison.Ordinal);
        var otherNetwork = Assert.Throws<ArgumentException>(() => gpu.CopyFrom(new LeNet(1)));
        Assert.Contains("same network class", otherNetwork.Message, StringComparison.Ordinal);
        var custom = Assert.Throws<NotSupportedException>(() => gpu.TrainStep(new float[64], [3], new CustomOptimizer(), 1));
        Assert.Contains("Sgd, Adagrad, RmsProp, Adam and AdamW", custom.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<ArgumentException>(() => GpuDevice.Parse("tpu"));
        Assert.Contains("ilgpu-cpu", unknown.Message, StringComparison.Ordinal);
        gpu.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gpu.Forward(new float[64], 1));
    }

    [Fact]
    public void AMissingAcceleratorIsNamedWithTheFix()
    {
        // No CUDA or OpenCL device exists on the machines that run this suite; when one does, there is nothing to check.
        foreach (var kind in new[] { GpuDeviceKind.Cuda, GpuDeviceKind.OpenCL, GpuDeviceKind.Gpu })
        {
            try
            {
                using var device = GpuDevice.Create(kind);
                output.WriteLine($"{kind}: found {device}");
            }
            catch (InvalidOperationException e)
            {
                output.WriteLine(e.Message);
                string name = kind switch { GpuDeviceKind.Cuda => "CUDA", GpuDeviceKind.OpenCL => "OpenCL", _ => "GPU (CUDA or OpenCL)" };
                Assert.Contains($"No {name} accelerator could be created", e.Message, StringComparison.Ordinal);
                Assert.Contains("GpuDeviceKind.Cpu", e.Message, StringComparison.Ordinal);
                Assert.Contains("NVIDIA driver", e.Message, StringComparison.Ordinal);
                Assert.Contains("OpenCL 2.0 driver", e.Message, StringComparison.Ordinal);
            }
        }
        Assert.Equal(GpuDeviceKind.Cpu, GpuDevice.Parse("ilgpu-cpu"));
        Assert.Equal(GpuDeviceKind.Gpu, GpuDevice.Parse("gpu"));
        Assert.Equal(GpuDeviceKind.Auto, GpuDevice.Parse("auto"));
        var cpu = Assert.Throws<ArgumentException>(() => GpuDevice.Parse("cpu"));
        Assert.Contains("generated CPU network", cpu.Message, StringComparison.Ordinal);
        Assert.Contains("ilgpu-cpu", cpu.Message, StringComparison.Ordinal);
    }

    /// <summary>An optimiser the GPU has no kernel for.</summary>
    private sealed class CustomOptimizer() : Optimizer(0.1)
    {
        protected override int BufferCount => 0;

        protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step)
        {
        }
    }
}
