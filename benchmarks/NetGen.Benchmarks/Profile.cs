namespace NetGen.Benchmarks;

/// <summary>`--profile`: where a step's time goes (forward, backward, update), for the GEMM layer and LeNet-5; the
/// numbers behind docs/benchmarks.md's analysis. Minimum and median of the quick policy's samples.</summary>
public static partial class Profile
{
    public static void Run(int threads, IReadOnlyCollection<string> only)
    {
        Parallelism.MaxThreads = threads;
        var policy = Policy.Quick with { Samples = 15 };
        void Report(string what, Action step, double flops = 0)
        {
            var m = Harness.Measure(step, policy);
            string rate = flops > 0 ? $"  {flops / m.MinSeconds / 1e9:F1} GFLOP/s at the minimum" : "";
            Console.WriteLine($"profile {what} {threads}t = min {Harness.Time(m.MinSeconds)}, median {Harness.Time(m.MedianSeconds)}, cpu {Harness.Time(m.CpuSeconds)}{rate}");
        }

        if (only.Contains("dcgan"))
        {
            Dcgan(Report);
            return;
        }

        if (only.Contains("lstm-infer-b1"))
        {
            // lstm-infer-b1 piece by piece: the whole inference pass, the LSTM layer alone (its input products, 28
            // steps of h·W_hhᵀ and the cell), one step's worth of the layer (a stateful Step: 1 step, W_hh read in
            // place), and the rest (Dense 128 → 10, softmax, the call's checks).
            var lstm = new RowLstm(1) { Training = false };
            float[] row = Workloads.Data(784, 1);
            lstm.Forward(row);
            if (Environment.GetEnvironmentVariable("NETGEN_PROFILE_LOOP") is { } seconds)
            {
                // For `perf record`: the whole inference pass in a loop for the given seconds.
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)) lstm.Forward(row);
                return;
            }
            Report("lstm-b1 inference forward (all of it)", () => lstm.Forward(row), 2.0 * 28 * 512 * (28 + 128));
            var layer = lstm.LSTM1Layer;
            var parameters = lstm.Parameters.Slice(0, layer.ParameterCount).ToArray();
            float[] hidden = new float[128];
            Report("lstm-b1 LSTM layer forward (28 steps)", () => layer.Forward(parameters, row, hidden, 1, 28, carry: false), 2.0 * 28 * 512 * (28 + 128));
            Report("lstm-b1 LSTM layer forward, 2 steps (no packed W_hh)", () => layer.Forward(parameters, row, hidden, 1, 2, carry: false), 2.0 * 2 * 512 * (28 + 128));
            Report("lstm-b1 stateful Step (1 step, all of it)", () => { lstm.Step(row.AsSpan(0, 28)); });
            return;
        }

        var noop = new NoopKernel();
        Report("Parallelism.Run round trip (empty parts)", () => Parallelism.Run(noop, 0, Parallelism.PartsFor(long.MaxValue)));

        var gemm = new Gemm1024(256);
        float[] x = Workloads.Data(256 * 1024, 1), dy = Workloads.Data(256 * 1024, 2), dx = new float[256 * 1024];
        double one = 2.0 * 256 * 1024 * 1024;
        gemm.Forward(x, 256);
        Report("gemm1024 forward (y = x·Wᵀ + b)", () => gemm.Forward(x, 256), one);
        Report("gemm1024 backward (∂W, ∂b, ∂x)", () => gemm.Backward(dy, dx), 2 * one);
        Report("gemm1024 backward without ∂x (∂W, ∂b)", () => gemm.Backward(dy, default), one);

        var mlp = new Mlp(1);
        float[] digit = Workloads.Data(784, 1);
        int[] label = [3];
        var mlpSgd = new Sgd(0.01);
        mlp.TrainStep(digit, label, mlpSgd);
        Report("mlp-b1 train step (all of it; plain Sgd: the update is fused into backward)", () => mlp.TrainStep(digit, label, mlpSgd));
        var mlpUnfused = new Sgd(0.01) { FuseIntoBackward = false };
        Report("mlp-b1 train step, unfused (zero, forward, backward, Sgd.Step)", () => mlp.TrainStep(digit, label, mlpUnfused));
        Report("mlp-b1 zero gradients (79,510 values)", mlp.ZeroGradients);
        Report("mlp-b1 forward", () => mlp.Forward(digit));
        Report("mlp-b1 loss + backward", () => { mlp.Loss(label); mlp.Backward(label); });
        Report("mlp-b1 sgd update (79,510 parameters)", () => mlpSgd.Step<float>(mlp.Parameters, mlp.Gradients));

        var lenet = new LeNet(64);
        float[] images = Workloads.Data(64 * 784, 1);
        int[] labels = new int[64];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 10;
        var sgd = new Sgd(0.01);
        lenet.Forward(images, 64);
        Report("lenet-b64 train step (all of it; plain Sgd: fused)", () => lenet.TrainStep(images, labels, sgd, 64));
        var lenetUnfused = new Sgd(0.01) { FuseIntoBackward = false };
        Report("lenet-b64 train step, unfused (zero, forward, backward, Sgd.Step)", () => lenet.TrainStep(images, labels, lenetUnfused, 64));
        Report("lenet-b64 forward", () => lenet.Forward(images, 64));
        Report("lenet-b64 backward", () => lenet.Backward(labels));
        Report("lenet-b64 sgd update", () => sgd.Step<float>(lenet.Parameters, lenet.Gradients));
        Report("lenet-b64 zero gradients", lenet.ZeroGradients);
        Layer("conv1 1×28×28 → 6×28×28, 5×5 pad 2", new LeNetConv1(64), 784, 6 * 784, inputGradient: false);
        Layer("relu + maxpool 6×28×28", new LeNetReLUPool1(64), 6 * 784, 6 * 196, inputGradient: true);
        Layer("relu 6×28×28", new LeNetReLU1(64), 6 * 784, 6 * 784, inputGradient: true);
        Layer("maxpool 6×28×28", new LeNetPool1(64), 6 * 784, 6 * 196, inputGradient: true);
        Layer("conv2 6×14×14 → 16×10×10, 5×5", new LeNetConv2(64), 6 * 196, 1600, inputGradient: true);
        Layer("relu + maxpool 16×10×10", new LeNetReLUPool2(64), 1600, 400, inputGradient: true);
        Layer("dense 400-120-84-10 + softmax", new LeNetDense(64), 400, 10, inputGradient: true);

        // The Module 6 VAE step (vae-train-b128), piece by piece.
        var mlp128 = new Mlp(128);
        float[] digits = Workloads.Data(128 * 784, 1);
        mlp128.Training = false;
        mlp128.Forward(digits, 128);
        Report("mlp-b128 inference forward", () => mlp128.Forward(digits, 128), 2.0 * 128 * (784 * 100 + 100 * 10));
        const int B = 128;
        var encoder = new VaeEncoder16(B, 1);
        var decoder = new VaeDecoder16(B, 2);
        var group = new ParameterGroup<float>(encoder, decoder);
        var adam = new Adam(1e-3);
        float[] pixels = Workloads.Data(B * 784, 1).Select(v => (v + 1) / 2).ToArray(), dz = new float[B * 16];
        decoder.Forward(encoder.Forward(pixels, B), B);
        decoder.BackwardFromTarget(pixels, dz);
        encoder.Backward(dz, []);
        group.Step(adam);
        Report("vae-b128 zero gradients", group.ZeroGradients);
        Report("vae-b128 encoder forward (784-400-32, sampling)", () => encoder.Forward(pixels, B), 2.0 * B * (784 * 400 + 400 * 32));
        var z = encoder.Output.ToArray();
        Report("vae-b128 decoder forward (16-400-784)", () => decoder.Forward(z, B), 2.0 * B * (16 * 400 + 400 * 784));
        Report("vae-b128 decoder loss (BCE on logits, summed)", () => decoder.Loss(pixels));
        Report("vae-b128 decoder backward (with ∂z)", () => decoder.BackwardFromTarget(pixels, dz), 2.0 * B * (16 * 400 + 2 * 400 * 784));
        Report("vae-b128 encoder backward (no ∂x)", () => encoder.Backward(dz, []), 2.0 * B * (784 * 400 + 2 * 400 * 32));
        Report("vae-b128 adam step (group of 2)", () => group.Step(adam));

        void Layer<TNet>(string what, TNet net, int inSize, int outSize, bool inputGradient) where TNet : INetwork<float>
        {
            float[] input = Workloads.Data(64 * inSize, 1), gradient = Workloads.Data(64 * outSize, 2);
            float[] inputGrad = inputGradient ? new float[64 * inSize] : [];
            net.Forward(input, 64);
            Report($"lenet-b64 layer {what}: forward", () => net.Forward(input, 64));
            Report($"lenet-b64 layer {what}: backward{(inputGradient ? "" : " (no ∂x: first layer)")}", () => net.Backward(gradient, inputGrad));
        }
    }
}

public static partial class Profile
{
    /// <summary>The DCGAN step (dcgan-step-b64) piece by piece: each network's passes and Adam steps, then each layer
    /// alone at batch 64 (forward, backward with ∂x unless it is a first layer).</summary>
    private static void Dcgan(Action<string, Action, double> report)
    {
        const int B = 64;
        var generator = new DcganGenerator(B, 1);
        var discriminator = new DcganDiscriminator(B, 2);
        var gan = new GanStep<float>(generator, discriminator, new Adam(2e-4, beta1: 0.5), new Adam(2e-4, beta1: 0.5), seed: 3);
        float[] real = Workloads.Data(B * 784, 1).Select(v => (v + 1) / 2).ToArray();
        gan.TrainStep(real, B);
        report("dcgan-b64 whole step", () => gan.TrainStep(real, B), 0);
        float[] z = Workloads.Data(B * 100, 3), fake = new float[B * 784], dfake = new float[B * 784], ones = Enumerable.Repeat(1f, B).ToArray();
        generator.Forward(z, B).CopyTo(fake);
        report("dcgan-b64 generator forward", () => generator.Forward(z, B), 0);
        report("dcgan-b64 generator backward (no ∂z)", () => generator.Backward(dfake, []), 0);
        report("dcgan-b64 generator zero gradients", generator.ZeroGradients, 0);
        var adamG = new Adam(2e-4, beta1: 0.5);
        var adamD = new Adam(2e-4, beta1: 0.5);
        report("dcgan-b64 generator adam (778,305)", () => adamG.Step<float>(generator.Parameters, generator.Gradients), 0);
        discriminator.Forward(fake, B);
        report("dcgan-b64 discriminator forward", () => discriminator.Forward(fake, B), 0);
        report("dcgan-b64 discriminator backward (no ∂x)", () => discriminator.Backward(ones), 0);
        report("dcgan-b64 discriminator backward from target (with ∂x)", () => discriminator.BackwardFromTarget(ones, dfake), 0);
        report("dcgan-b64 discriminator adam (36,513)", () => adamD.Step<float>(discriminator.Parameters, discriminator.Gradients), 0);
        Layer("g dense 100 → 6272 + batch norm + relu", new DcganG1(B, 1), 100, 6272, false);
        Layer("g conv-transpose 128×7×7 → 64×14×14", new DcganG2(B, 1), 6272, 64 * 196, true);
        Layer("g batch norm + relu 64×14×14", new DcganG2Bn(B, 1), 64 * 196, 64 * 196, true);
        Layer("g conv-transpose 64×14×14 → 1×28×28 + sigmoid", new DcganG3(B, 1), 64 * 196, 784, true);
        Layer("d conv 1×28×28 → 32×14×14 + leaky relu", new DcganD1(B, 1), 784, 32 * 196, false);
        Layer("d conv 32×14×14 → 64×7×7 + leaky relu", new DcganD2(B, 1), 32 * 196, 64 * 49, true);
        Layer("d dense 3136 → 1 + sigmoid", new DcganD3(B, 1), 64 * 49, 1, true);

        void Layer<TNet>(string what, TNet net, int inSize, int outSize, bool inputGradient) where TNet : INetwork<float>
        {
            float[] input = Workloads.Data(B * inSize, 1), gradient = Workloads.Data(B * outSize, 2);
            float[] inputGrad = inputGradient ? new float[B * inSize] : [];
            net.Forward(input, B);
            report($"dcgan-b64 layer {what}: forward", () => net.Forward(input, B), 0);
            report($"dcgan-b64 layer {what}: backward{(inputGradient ? "" : " (no ∂x: first layer)")}", () => net.Backward(gradient, inputGrad), 0);
        }
    }
}

internal sealed class NoopKernel : IParallelKernel
{
    public void RunPart(int op, int part, int parts) { }
}
