using NetGen.Data;

namespace NetGen.Benchmarks;

/// <summary>One measured NetGen operation and its name, shared by the quick runner, the BenchmarkDotNet suite and the
/// PyTorch peer (which builds the workload of the same name).</summary>
/// <param name="Name">e.g. <c>mlp-train-b32</c>: network, training step or inference, batch.</param>
/// <param name="Flops">Floating-point operations per call (multiply and add counted apart), 0 when not reported.</param>
/// <param name="Step">One call: a training step, an inference, or (for the epoch) one epoch.</param>
/// <param name="Check">The output the step produced, for the smoke test (a loss or an output value).</param>
public sealed record Workload(string Name, string Description, double Flops, Action Step, Func<double> Check);

/// <summary>Builds the workloads. Inputs are fixed pseudo-random data (seeded), so every run does the same work.</summary>
public static class Workloads
{
    /// <summary>Workloads 1–4, timed per step.</summary>
    public static readonly string[] StepNames =
    [
        "worked-example-train-b1",
        "mlp-train-b1", "mlp-train-b32", "mlp-train-b128", "mlp-infer-b1", "mlp-infer-b128",
        "lenet-train-b64", "lenet-infer-b1", "lenet-infer-b64",
        "gemm1024-fwdbwd-b256",
        "vae-train-b128", "dcgan-step-b64",
        "lstm-train-b64", "gru-train-b64", "rnn-train-b64", "lstm-infer-b1",
        "yolo-train-b32", "yolo-infer-b1", "nms-1000",
    ];

    /// <summary>Workload 5: one epoch of LeNet-5 through Trainer.Fit.</summary>
    public const string EpochName = "lenet-epoch-60000";

    /// <summary>FLOPs of the GEMM layer's forward + backward at batch 256: three 256×1024×1024 products.</summary>
    public const double GemmFlops = 3.0 * 2 * 256 * 1024 * 1024;

    public static Workload Create(string name) => name switch
    {
        "worked-example-train-b1" => Train<WorkedExample>(name, "2-2-2 worked example, one SGD step", new WorkedExample(1), 2, 2, 1, regression: true),
        "mlp-train-b1" => Train<Mlp>(name, "MLP 784-100-10, SGD step at batch 1", new Mlp(1), 784, 10, 1),
        "mlp-train-b32" => Train<Mlp>(name, "MLP 784-100-10, SGD step at batch 32", new Mlp(32), 784, 10, 32),
        "mlp-train-b128" => Train<Mlp>(name, "MLP 784-100-10, SGD step at batch 128", new Mlp(128), 784, 10, 128),
        "mlp-infer-b1" => Infer<Mlp>(name, "MLP 784-100-10, inference at batch 1", new Mlp(1), 784, 1),
        "mlp-infer-b128" => Infer<Mlp>(name, "MLP 784-100-10, inference at batch 128", new Mlp(128), 784, 128),
        "lenet-train-b64" => Train<LeNet>(name, "LeNet-5, SGD step at batch 64", new LeNet(64), 784, 10, 64),
        "lenet-infer-b1" => Infer<LeNet>(name, "LeNet-5, inference at batch 1", new LeNet(1), 784, 1),
        "lenet-infer-b64" => Infer<LeNet>(name, "LeNet-5, inference at batch 64", new LeNet(64), 784, 64),
        "gemm1024-fwdbwd-b256" => Gemm(name),
        "vae-train-b128" => VaeTrain(name),
        "dcgan-step-b64" => DcganStep(name),
        "lstm-train-b64" => Train<RowLstm>(name, "LSTM 28→128 over 28 steps, last step → Dense 10, SGD step at batch 64", new RowLstm(64), 784, 10, 64),
        "gru-train-b64" => Train<RowGru>(name, "GRU 28→128 over 28 steps, last step → Dense 10, SGD step at batch 64", new RowGru(64), 784, 10, 64),
        "rnn-train-b64" => Train<RowRnn>(name, "SimpleRNN 28→128 over 28 steps, last step → Dense 10, SGD step at batch 64", new RowRnn(64), 784, 10, 64),
        "lstm-infer-b1" => Infer<RowLstm>(name, "LSTM 28→128 over 28 steps, last step → Dense 10, inference at batch 1", new RowLstm(1), 784, 1),
        "yolo-train-b32" => YoloTrain(name, 32),
        "yolo-infer-b1" => Infer<Yolo>(name, "Module 4's YOLO network (64×64 → 8×8×30), inference at batch 1", new Yolo(1), 64 * 64, 1),
        "nms-1000" => NmsWorkload(name, 1000),
        EpochName => Epoch(name),
        _ => throw new ArgumentException("Unknown workload " + name, nameof(name)),
    };

    /// <summary>Values in [-1, 1) from a fixed seed.</summary>
    public static float[] Data(int count, int seed)
    {
        var random = new SeededRandom(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(2 * random.NextDouble() - 1);
        return values;
    }

    private static int[] Labels(int count, int classes, int seed)
    {
        var random = new SeededRandom(seed);
        var labels = new int[count];
        for (int i = 0; i < labels.Length; i++) labels[i] = (int)(random.NextDouble() * classes);
        return labels;
    }

    private static Workload Train<TNet>(string name, string description, TNet net, int inputSize, int outputSize, int batch, bool regression = false)
        where TNet : INetwork<float>
    {
        float[] x = Data(batch * inputSize, 1);
        var optimizer = new Sgd(0.01);
        float loss = 0;
        if (regression)
        {
            float[] target = Data(batch * outputSize, 2);
            return new Workload(name, description, 0, () => loss = net.TrainStep(x, target, optimizer, batch), () => loss);
        }
        int[] labels = Labels(batch, outputSize, 2);
        return new Workload(name, description, 0, () => loss = net.TrainStep(x, labels, optimizer, batch), () => loss);
    }

    private static Workload Infer<TNet>(string name, string description, TNet net, int inputSize, int batch) where TNet : INetwork<float>
    {
        float[] x = Data(batch * inputSize, 1);
        net.Training = false;
        float last = 0;
        return new Workload(name, description, 0, () => last = net.Forward(x, batch)[^1], () => last);
    }

    private static Workload Gemm(string name)
    {
        var net = new Gemm1024(256);
        float[] x = Data(256 * 1024, 1), dy = Data(256 * 1024, 2), dx = new float[256 * 1024];
        return new Workload(name, "Dense 1024→1024 at batch 256: forward + backward (∂W, ∂b, ∂x)", GemmFlops, () =>
        {
            net.Forward(x, 256);
            net.Backward(dy, dx);
        }, () => dx[^1]);
    }

    /// <summary>The Module 6 VAE (L = 16) at batch 128: encoder → sampling → decoder, −ELBO = BCE summed over the pixels
    /// + KL, backward through both, one Adam step over both networks' parameters (a ParameterGroup). Pixels in [0, 1).</summary>
    private static Workload VaeTrain(string name)
    {
        const int Batch = 128;
        var encoder = new VaeEncoder16(Batch, 1);
        var decoder = new VaeDecoder16(Batch, 2);
        var group = new ParameterGroup<float>(encoder, decoder);
        var adam = new Adam(1e-3);
        float[] x = Data(Batch * 784, 1).Select(v => (v + 1) / 2).ToArray(), dz = new float[Batch * 16];
        float loss = 0;
        return new Workload(name, "VAE 784-400-2·16 → sampling → 16-400-784, BCE (summed) + KL, Adam step at batch 128", 0, () =>
        {
            group.ZeroGradients();
            decoder.Forward(encoder.Forward(x, Batch), Batch);
            loss = decoder.Loss(x) + encoder.Sampling1KL;
            decoder.BackwardFromTarget(x, dz);
            encoder.Backward(dz, []);
            group.Step(adam);
        }, () => loss);
    }

    /// <summary>The Module 6 DCGAN at batch 64: one GanStep (G(z); the discriminator's Adam step on real and fake; the
    /// generator's Adam step through the updated discriminator).</summary>
    private static Workload DcganStep(string name)
    {
        const int Batch = 64;
        var gan = new GanStep<float>(new DcganGenerator(Batch, 1), new DcganDiscriminator(Batch, 2), new Adam(2e-4, beta1: 0.5), new Adam(2e-4, beta1: 0.5), seed: 3);
        float[] real = Data(Batch * 784, 1).Select(v => (v + 1) / 2).ToArray();
        double loss = 0;
        return new Workload(name, "DCGAN (generator 778,305 parameters, discriminator 36,513): one discriminator + one generator Adam step at batch 64", 0, () =>
        {
            var (d, g) = gan.TrainStep(real, Batch);
            loss = d + g;
        }, () => loss);
    }

    /// <summary>A linear congruential generator (Numerical Recipes' constants) that pytorch_peer.py repeats exactly, so
    /// both sides get the same boxes: values in [0, 1).</summary>
    public static double[] Lcg(int count, uint seed)
    {
        var values = new double[count];
        uint x = seed;
        for (int i = 0; i < count; i++)
        {
            x = unchecked(1664525u * x + 1013904223u);
            values[i] = x / 4294967296.0;
        }
        return values;
    }

    /// <summary>Detection targets for <paramref name="batch"/> canvases from <see cref="Lcg"/>: 1–3 digits each, sides
    /// 0.2–0.5 of the canvas (as pytorch_peer.py's yolo_targets).</summary>
    public static float[] YoloTargets(int batch)
    {
        var u = Lcg(batch * 3 * 5, 7);
        var t = new float[batch * 3 * 5];
        for (int n = 0; n < batch; n++)
        {
            int objects = 1 + n % 3;
            for (int o = 0; o < 3; o++)
            {
                int f = (n * 3 + o) * 5;
                if (o >= objects) { t[f] = -1; continue; }
                float w = (float)(0.2 + 0.3 * u[f + 1]), h = (float)(0.2 + 0.3 * u[f + 2]);
                float x1 = (float)((1 - w) * u[f + 3]), y1 = (float)((1 - h) * u[f + 4]);
                (t[f], t[f + 1], t[f + 2], t[f + 3], t[f + 4]) = ((int)(u[f] * 10), x1, y1, x1 + w, y1 + h);
            }
        }
        return t;
    }

    private static Workload YoloTrain(string name, int batch)
    {
        var net = new Yolo(batch);
        var loss = new NetGen.Detection.YoloLoss(grid: 8, boxesPerCell: 2, classes: 10, maxObjects: 3, anchors: [(0.12f, 0.25f), (0.25f, 0.3f)]);
        float[] x = Data(batch * 64 * 64, 1), target = YoloTargets(batch);
        var optimizer = new Sgd(0.01);
        float value = 0;
        return new Workload(name, $"Module 4's YOLO network with YoloLoss (the custom-loss path), SGD step at batch {batch}", 0,
            () => value = net.TrainStep(x, target, loss, optimizer, batch), () => value);
    }

    /// <summary>Boxes for the NMS workload from <see cref="Lcg"/>: corners in a 100×100 field, sides 5–30, scores in [0, 1).</summary>
    public static (NetGen.Detection.Box[] Boxes, float[] Scores) NmsBoxes(int count)
    {
        var u = Lcg(count * 5, 11);
        var boxes = new NetGen.Detection.Box[count];
        var scores = new float[count];
        for (int i = 0; i < count; i++)
        {
            float x1 = (float)(100 * u[5 * i]), y1 = (float)(100 * u[5 * i + 1]);
            boxes[i] = new NetGen.Detection.Box(x1, y1, x1 + (float)(5 + 25 * u[5 * i + 2]), y1 + (float)(5 + 25 * u[5 * i + 3]));
            scores[i] = (float)u[5 * i + 4];
        }
        return (boxes, scores);
    }

    private static Workload NmsWorkload(string name, int count)
    {
        var (boxes, scores) = NmsBoxes(count);
        int kept = 0;
        var destination = new int[count];
        return new Workload(name, $"greedy NMS of {count} boxes at IoU 0.5 (torchvision.ops.nms), into a reused span", 0,
            () => kept = NetGen.Detection.Nms.Apply(boxes, scores, 0.5, destination), () => kept);
    }

    /// <summary>Fashion-MNIST's 60,000 training images if installed, else random data of the same shape.</summary>
    public static (Dataset<float> Data, string Source) EpochData()
    {
        try
        {
            if (Directory.Exists(Datasets.DebianFashionMnistDirectory))
                return (Datasets.Mnist<float>(Datasets.DebianFashionMnistDirectory, train: true), "fashion-mnist");
        }
        catch (IOException) { }
        return (new Dataset<float>(Data(60000 * 784, 3), 784, Labels(60000, 10, 4), 10), "generated");
    }

    private static Workload Epoch(string name)
    {
        var (data, source) = EpochData();
        var net = new LeNet(64);
        var optimizer = new Sgd(0.01);
        double loss = 0;
        return new Workload(name, $"LeNet-5, one epoch over {data.Count} samples ({source}), batch 64, Trainer.Fit", 0, () =>
        {
            var history = Trainer.Fit(net, data, epochs: 1, batchSize: 64, optimizer, seed: 1, log: null, verbose: 0);
            loss = history.Loss[^1];
        }, () => loss);
    }
}
