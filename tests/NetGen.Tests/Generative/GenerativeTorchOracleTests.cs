using System.Text.Json;
using NetGen.Tests.Oracle;
using Xunit.Abstractions;
using static NetGen.Tests.Generative.GenerativeTestSupport;

namespace NetGen.Tests.Generative;

/// <summary>A [Fact] reported as skipped, with the reason, when no Python interpreter can import torch.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (TorchOracle.Python is null) Skip = TorchOracle.SkipReason;
    }
}

/// <summary>
/// The generative layers and compositions against PyTorch 1.13 autograd in float64 (Oracle/torch_generative_oracle.py),
/// every value within 1e−9·max(1, |torch|):
/// the five layer networks of <see cref="GenerativeNetworks"/> (Conv2DTranspose as nn.ConvTranspose2d, Upsample2D as
/// nn.Upsample nearest/bilinear, Reshape, Sampling with NetGen's ε, BCE fused with Sigmoid and summed) — output, loss,
/// ∂E/∂θ, ∂E/∂x (BackwardFromTarget), ∂Φ/∂θ, ∂Φ/∂x; a VAE split into encoder and decoder trained by one Adam over a
/// ParameterGroup for two steps — both losses and every gradient per step, the parameters after; and one GanStep
/// (discriminator on real + fake, generator through the updated discriminator, SGD), with real label 1 and with
/// one-sided label smoothing (real label 0.9), with instance noise (σ = 0.3) and packed (PacGAN, m = 2) — both losses, both networks'
/// parameters after the step and the generator's batch-norm statistics.
/// </summary>
public sealed class GenerativeTorchOracleTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-9;

    private static readonly (string Name, Type Type, object[] Layers, string Loss, int Batch)[] LayerCases =
    [
        (nameof(GenTransposed), typeof(GenTransposed), [
            new { kind = "Conv2DTranspose", @in = new[] { 2, 3, 3 }, filters = 3, k = 3, stride = 2, pad = 1, output_padding = 1, bias = true },
            new { kind = "Tanh", @in = new[] { 3, 6, 6 } },
            new { kind = "Conv2DTranspose", @in = new[] { 3, 6, 6 }, filters = 2, k = 2, stride = 1, pad = 0, output_padding = 0, bias = false },
            new { kind = "Flatten", @in = new[] { 2, 7, 7 } },
            new { kind = "Dense", @in = new[] { 98 }, units = 3, bias = true }], "MeanSquaredError", 3),
        (nameof(GenUpsample), typeof(GenUpsample), [
            new { kind = "Upsample2D", @in = new[] { 2, 3, 4 }, factor = 2, mode = "nearest" },
            new { kind = "Conv2D", @in = new[] { 2, 6, 8 }, filters = 2, k = 3, stride = 1, pad = 0, bias = true },
            new { kind = "Tanh", @in = new[] { 2, 4, 6 } },
            new { kind = "Upsample2D", @in = new[] { 2, 4, 6 }, factor = 3, mode = "bilinear" },
            new { kind = "Flatten", @in = new[] { 2, 12, 18 } },
            new { kind = "Dense", @in = new[] { 432 }, units = 2, bias = true }], "MeanSquaredError", 2),
        (nameof(GenReshapeBce), typeof(GenReshapeBce), [
            new { kind = "Dense", @in = new[] { 5 }, units = 12, bias = true },
            new { kind = "Reshape", @in = new[] { 12 }, shape = new[] { 3, 2, 2 } },
            new { kind = "Conv2DTranspose", @in = new[] { 3, 2, 2 }, filters = 2, k = 3, stride = 2, pad = 1, output_padding = 1, bias = true },
            new { kind = "Sigmoid", @in = new[] { 2, 4, 4 } }], "BinaryCrossEntropy", 3),
        (nameof(GenVae), typeof(GenVae), [
            new { kind = "Dense", @in = new[] { 6 }, units = 5, bias = true },
            new { kind = "Tanh", @in = new[] { 5 } },
            new { kind = "Dense", @in = new[] { 5 }, units = 4, bias = true },
            new { kind = "Sampling", @in = new[] { 4 }, beta = 0.7 },
            new { kind = "Dense", @in = new[] { 2 }, units = 5, bias = true },
            new { kind = "ReLU", @in = new[] { 5 } },
            new { kind = "Dense", @in = new[] { 5 }, units = 6, bias = true },
            new { kind = "Sigmoid", @in = new[] { 6 } }], "BinaryCrossEntropySummed", 3),
        (nameof(GenSamplingFirst), typeof(GenSamplingFirst), [
            new { kind = "Sampling", @in = new[] { 6 }, beta = 1.0 },
            new { kind = "Dense", @in = new[] { 3 }, units = 2, bias = true }], "MeanSquaredError", 2),
    ];

    private static readonly object[] EncoderLayers =
    [
        new { kind = "Dense", @in = new[] { 6 }, units = 5, bias = true }, new { kind = "ReLU", @in = new[] { 5 } },
        new { kind = "Dense", @in = new[] { 5 }, units = 4, bias = true }, new { kind = "Sampling", @in = new[] { 4 }, beta = 1.0 },
    ];

    private static readonly object[] DecoderLayers =
    [
        new { kind = "Dense", @in = new[] { 2 }, units = 5, bias = true }, new { kind = "Tanh", @in = new[] { 5 } },
        new { kind = "Dense", @in = new[] { 5 }, units = 6, bias = true }, new { kind = "Sigmoid", @in = new[] { 6 } },
    ];

    private static readonly object[] GeneratorLayers =
    [
        new { kind = "Dense", @in = new[] { 3 }, units = 8, bias = true }, new { kind = "BatchNorm", @in = new[] { 8 } }, new { kind = "ReLU", @in = new[] { 8 } },
        new { kind = "Reshape", @in = new[] { 8 }, shape = new[] { 2, 2, 2 } },
        new { kind = "Conv2DTranspose", @in = new[] { 2, 2, 2 }, filters = 1, k = 2, stride = 2, pad = 0, output_padding = 0, bias = true },
        new { kind = "Sigmoid", @in = new[] { 1, 4, 4 } },
    ];

    private static readonly object[] DiscriminatorLayers =
    [
        new { kind = "Conv2D", @in = new[] { 1, 4, 4 }, filters = 2, k = 2, stride = 2, pad = 0, bias = true },
        new { kind = "LeakyReLU", @in = new[] { 2, 2, 2 }, alpha = 0.2 }, new { kind = "Flatten", @in = new[] { 2, 2, 2 } },
        new { kind = "Dense", @in = new[] { 8 }, units = 1, bias = true }, new { kind = "Sigmoid", @in = new[] { 1 } },
    ];

    private static readonly object[] PackedDiscriminatorLayers =
    [
        new { kind = "Conv2D", @in = new[] { 2, 4, 4 }, filters = 2, k = 2, stride = 2, pad = 0, bias = true },
        new { kind = "LeakyReLU", @in = new[] { 2, 2, 2 }, alpha = 0.2 }, new { kind = "Flatten", @in = new[] { 2, 2, 2 } },
        new { kind = "Dense", @in = new[] { 8 }, units = 1, bias = true }, new { kind = "Sigmoid", @in = new[] { 1 } },
    ];

    private const double VaeLearningRate = 0.01, GanLearningRate = 0.1;
    private const int GanSeed = 5;

    private sealed record Expected(Dictionary<string, object> Case, Action<JsonElement, List<string>> Verify);

    private static readonly Lazy<(List<(string Name, double Worst, List<string> Failures)> Results, string Torch)> Run = new(RunAll);

    private static (List<(string, double, List<string>)>, string) RunAll()
    {
        var expected = new List<Expected>();
        foreach (var c in LayerCases) expected.Add(LayerCase(c.Name, c.Type, c.Layers, c.Loss, c.Batch));
        expected.Add(VaeCase());
        expected.Add(GanCase("GanStepSgd", realLabel: 1.0));
        expected.Add(GanCase("GanStepSgdSmoothed", realLabel: 0.9));
        expected.Add(GanCase("GanStepSgdInstanceNoise", realLabel: 1.0, instanceNoise: 0.3));
        expected.Add(GanCase("GanStepSgdPacked", realLabel: 1.0, packing: 2));

        using var document = TorchOracle.RunCases("torch_generative_oracle.py", expected.Select(e => e.Case), TimeSpan.FromSeconds(180));
        var list = new List<(string, double, List<string>)>();
        var torch = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        for (int i = 0; i < expected.Count; i++)
        {
            var failures = new List<string>();
            expected[i].Verify(torch[i], failures);
            list.Add(((string)expected[i].Case["name"], s_worst, failures));
            s_worst = 0;
        }
        return (list, document.RootElement.GetProperty("torch").GetString()!);
    }

    [ThreadStatic] private static double s_worst;

    private static void Compare(string what, ReadOnlySpan<double> netgen, JsonElement torch, List<string> failures)
    {
        double[] t = torch.ValueKind == JsonValueKind.Array ? torch.EnumerateArray().Select(e => e.GetDouble()).ToArray() : [torch.GetDouble()];
        if (t.Length != netgen.Length) { failures.Add($"{what}: NetGen has {netgen.Length} values, torch {t.Length}"); return; }
        double worst = MaxRelativeDifference(netgen, t);
        s_worst = Math.Max(s_worst, worst);
        if (!(worst <= Tolerance)) failures.Add($"{what}: max difference {worst:E2}");
    }

    private static Expected LayerCase(string name, Type type, object[] layers, string loss, int batch)
    {
        var random = new SeededRandom(CnnSpec.StableSeed("oracle-" + name, batch));
        var net = Create(type);
        Randomize(net, random);
        double[] parameters = net.Parameters.ToArray();
        double[] x = Uniform(random, batch * net.InputSize, 0.05, 0.95);
        double[] target = Uniform(random, batch * net.OutputSize, 0.05, 0.95);
        double[] g = Uniform(random, batch * net.OutputSize, -1, 1);
        net.Training = true;
        double[] y = net.Forward(x, batch).ToArray();
        var eps = Epsilons(net);
        double lossValue = net.Loss(target);
        net.ZeroGradients();
        var lossInput = new double[x.Length];
        net.BackwardFromTarget(target, lossInput);
        double[] lossGradients = net.Gradients.ToArray();
        net.ZeroGradients();
        var phiInput = new double[x.Length];
        net.Backward(g, phiInput);
        double[] phiGradients = net.Gradients.ToArray();
        int[] inputShape = (int[])layers[0].GetType().GetProperty("in")!.GetValue(layers[0])!;
        var @case = new Dictionary<string, object>
        {
            ["mode"] = "layers", ["name"] = name, ["layers"] = layers, ["loss"] = loss, ["batch"] = batch, ["input_shape"] = inputShape,
            ["parameters"] = parameters, ["input"] = x, ["target"] = target, ["output_gradient"] = g, ["eps"] = eps,
        };
        return new(@case, (t, f) =>
        {
            Compare("output", y, t.GetProperty("output"), f);
            Compare("loss", [lossValue], t.GetProperty("loss"), f);
            Compare("∂E/∂θ", lossGradients, t.GetProperty("loss_gradients"), f);
            Compare("∂E/∂x", lossInput, t.GetProperty("loss_input_gradient"), f);
            Compare("∂Φ/∂θ", phiGradients, t.GetProperty("phi_gradients"), f);
            Compare("∂Φ/∂x", phiInput, t.GetProperty("phi_input_gradient"), f);
        });
    }

    private static Expected VaeCase()
    {
        const int Batch = 3;
        var random = new SeededRandom(77);
        var encoder = new GenVaeEncoder(MaxBatch, 21);
        var decoder = new GenVaeDecoder(MaxBatch, 22);
        Randomize(encoder, random);
        Randomize(decoder, random);
        double[] encoder0 = encoder.Parameters.ToArray(), decoder0 = decoder.Parameters.ToArray();
        double[] x = Uniform(random, Batch * 6, 0.05, 0.95);
        var group = new ParameterGroup<double>(encoder, decoder);
        var adam = new Adam(VaeLearningRate);
        var steps = new List<(double Rec, double Kl, double[] Eg, double[] Dg)>();
        var eps = new List<double[]>();
        var dz = new double[Batch * 2];
        for (int s = 0; s < 2; s++)
        {
            group.ZeroGradients();
            var z = encoder.Forward(x, Batch);
            eps.Add(encoder.Sampling1Epsilon.ToArray());
            decoder.Forward(z, Batch);
            double rec = decoder.Loss(x), kl = encoder.Sampling1KL;
            decoder.BackwardFromTarget(x, dz);
            encoder.Backward(dz, []);
            steps.Add((rec, kl, encoder.Gradients.ToArray(), decoder.Gradients.ToArray()));
            group.Step(adam);
        }
        var @case = new Dictionary<string, object>
        {
            ["mode"] = "vae", ["name"] = "VaeTwoNetworksAdam", ["encoder"] = EncoderLayers, ["decoder"] = DecoderLayers, ["batch"] = Batch,
            ["encoder_parameters"] = encoder0, ["decoder_parameters"] = decoder0, ["input"] = x, ["eps"] = eps, ["lr"] = VaeLearningRate,
        };
        double[] encoderAfter = encoder.Parameters.ToArray(), decoderAfter = decoder.Parameters.ToArray();
        return new(@case, (t, f) =>
        {
            var torchSteps = t.GetProperty("steps").EnumerateArray().ToList();
            for (int s = 0; s < 2; s++)
            {
                Compare($"step {s + 1} reconstruction", [steps[s].Rec], torchSteps[s].GetProperty("reconstruction"), f);
                Compare($"step {s + 1} KL", [steps[s].Kl], torchSteps[s].GetProperty("kl"), f);
                Compare($"step {s + 1} encoder gradients", steps[s].Eg, torchSteps[s].GetProperty("encoder_gradients"), f);
                Compare($"step {s + 1} decoder gradients", steps[s].Dg, torchSteps[s].GetProperty("decoder_gradients"), f);
            }
            Compare("encoder parameters after 2 Adam steps", encoderAfter, t.GetProperty("encoder_parameters"), f);
            Compare("decoder parameters after 2 Adam steps", decoderAfter, t.GetProperty("decoder_parameters"), f);
        });
    }

    /// <summary>One GanStep with SGD; <paramref name="realLabel"/> below 1 is one-sided label smoothing (the
    /// discriminator's real targets only — the generator's target stays 1);
    /// <paramref name="instanceNoise"/> σ adds σ·ε to the discriminator's real and fake inputs (drawn as GanStep draws it);
    /// <paramref name="packing"/> 2 is PacGAN: the discriminator reads pairs of samples as 2-channel inputs.</summary>
    private static Expected GanCase(string name, double realLabel, double instanceNoise = 0, int packing = 1)
    {
        const int Batch = 4;
        var random = new SeededRandom(78);
        var generator = new GenGanGenerator(MaxBatch, 31);
        INetwork<double> discriminator = packing == 2 ? new GenGanDiscriminatorPacked(MaxBatch, 32) : new GenGanDiscriminator(MaxBatch, 32);
        Randomize(generator, random);
        Randomize(discriminator, random);
        double[] g0 = generator.Parameters.ToArray(), d0 = discriminator.Parameters.ToArray();
        double[] real = Uniform(random, Batch * 16, 0, 1);
        var latent = new SeededRandom(GanSeed);   // GanStep draws z from SeededRandom(seed), in order
        double[] z = Enumerable.Range(0, Batch * 3).Select(_ => latent.NextGaussian()).ToArray();
        var noise = new SeededRandom(GanSeed + GanStep<double>.InstanceNoiseSeedOffset);   // real batch's values, then the fake batch's
        double[] realNoise = instanceNoise > 0 ? Enumerable.Range(0, Batch * 16).Select(_ => instanceNoise * noise.NextGaussian()).ToArray() : new double[Batch * 16];
        double[] fakeNoise = instanceNoise > 0 ? Enumerable.Range(0, Batch * 16).Select(_ => instanceNoise * noise.NextGaussian()).ToArray() : new double[Batch * 16];
        var step = new GanStep<double>(generator, discriminator, new Sgd(GanLearningRate), new Sgd(GanLearningRate), seed: GanSeed, realLabel: realLabel, instanceNoise: instanceNoise, packing: packing);
        var (dLoss, gLoss) = step.TrainStep(real, Batch);
        double[] gAfter = generator.Parameters.ToArray(), dAfter = discriminator.Parameters.ToArray(), gState = generator.State.ToArray();
        double[] gGradients = generator.Gradients.ToArray();
        double[] dGradients = d0.Zip(dAfter, (before, after) => (before - after) / GanLearningRate).ToArray();
        var @case = new Dictionary<string, object>
        {
            ["mode"] = "gan", ["name"] = name, ["real_label"] = realLabel, ["generator"] = GeneratorLayers, ["discriminator"] = packing == 2 ? PackedDiscriminatorLayers : DiscriminatorLayers, ["batch"] = Batch, ["packing"] = packing,
            ["generator_parameters"] = g0, ["discriminator_parameters"] = d0, ["real"] = real, ["real_noise"] = realNoise, ["fake_noise"] = fakeNoise, ["sample_shape"] = new[] { 1, 4, 4 }, ["z"] = z, ["lr"] = GanLearningRate,
        };
        return new(@case, (t, f) =>
        {
            Compare("d_loss", [dLoss], t.GetProperty("d_loss"), f);
            Compare("g_loss", [gLoss], t.GetProperty("g_loss"), f);
            Compare("generator gradients (generator step)", gGradients, t.GetProperty("generator_gradients"), f);
            Compare("discriminator parameters after its step", dAfter, t.GetProperty("discriminator_parameters"), f);
            Compare("generator parameters after its step", gAfter, t.GetProperty("generator_parameters"), f);
            Compare("generator batch-norm running statistics", gState, t.GetProperty("generator_state"), f);
            // (θ_before − θ_after)/η: the discriminator step's gradient, to a precision of about 1e−16·|θ|/η.
            Compare("discriminator gradients (real + fake)", dGradients, t.GetProperty("discriminator_gradients"), f);
        });
    }

    [TorchFact]
    public void Every_case_matches_torch_autograd()
    {
        var (results, torch) = Run.Value;
        output.WriteLine($"torch {torch}");
        foreach (var (name, worst, failures) in results)
            output.WriteLine($"{name}: max difference {worst:E2}" + (failures.Count > 0 ? " — " + string.Join("; ", failures) : ""));
        Assert.All(results, r => Assert.True(r.Failures.Count == 0, $"{r.Name}: {string.Join("; ", r.Failures)}"));
    }
}
