using System.Globalization;
using NetGen;
using ScottPlot;

namespace Module6.Generative;

/// <summary>
/// The VAE training step, written as glue over two generated networks (the composition the course teaches): the
/// encoder's Sampling layer adds the KL term and its gradient itself; the decoder's loss is the reconstruction term;
/// one Adam steps both through a <see cref="ParameterGroup{T}"/>.
/// </summary>
public sealed class VaeStep : ITrainingStep<float>
{
    private readonly INetwork<float> _encoder, _decoder;
    private readonly Func<float> _kl;
    private readonly ParameterGroup<float> _group;
    private readonly IOptimizer _optimizer;
    private readonly float[] _latentGradient;

    public VaeStep(INetwork<float> encoder, INetwork<float> decoder, Func<float> kl, IOptimizer optimizer)
    {
        _encoder = encoder;
        _decoder = decoder;
        _kl = kl;
        _optimizer = optimizer;
        _group = new ParameterGroup<float>(encoder, decoder);
        _latentGradient = new float[encoder.MaxBatch * decoder.InputSize];
        Networks = [encoder, decoder];
        Optimizers = [optimizer];
    }

    public IReadOnlyList<string> LossNames { get; } = ["loss", "reconstruction", "kl"];

    public IReadOnlyList<INetwork<float>> Networks { get; }

    public IReadOnlyList<IOptimizer> Optimizers { get; }

    public void Step(ReadOnlySpan<float> x, ReadOnlySpan<int> labels, int batch, Span<double> losses)
    {
        _group.ZeroGradients();
        var z = _encoder.Forward(x, batch);                      // z = μ + σ·ε (ε from the encoder's seeded generator)
        _decoder.Forward(z, batch);
        float reconstruction = _decoder.Loss(x), kl = _kl();    // nats per image: BCE summed over pixels; KL summed over L
        var dz = _latentGradient.AsSpan(0, batch * _decoder.InputSize);
        _decoder.BackwardFromTarget(x, dz);                      // ∂reconstruction/∂θ_dec and ∂reconstruction/∂z
        _encoder.Backward(dz, []);                               // … through the sampling; the Sampling layer adds ∂KL/∂(μ, log σ²)
        _group.Step(_optimizer);                                 // one Adam over both networks' parameters
        losses[0] = reconstruction + kl;
        losses[1] = reconstruction;
        losses[2] = kl;
    }
}

/// <summary>The `vae` subcommand.</summary>
public static class Vae
{
    public const int DefaultEpochs = 30, BatchSize = 128;

    public static (double Elbo, double Reconstruction, double KL) Run(TextWriter log, int latent, int epochs, string output, int seed = 1, int verbose = 2)
    {
        return latent switch
        {
            2 => Run(log, new VaeEncoder2(BatchSize, seed), new VaeDecoder2(BatchSize, seed + 1), e => e.Sampling1KL, (e, on) => e.Sampling1SampleInInference = on, 2, epochs, output, seed, verbose),
            16 => Run(log, new VaeEncoder16(BatchSize, seed), new VaeDecoder16(BatchSize, seed + 1), e => e.Sampling1KL, (e, on) => e.Sampling1SampleInInference = on, 16, epochs, output, seed, verbose),
            _ => throw new ArgumentException($"--latent {latent}: this sample declares VAEs with L = 2 and L = 16 (shapes are fixed at compile time); declare VaeEncoderN/VaeDecoderN in Networks.cs for another size."),
        };
    }

    private static (double, double, double) Run<TEnc, TDec>(TextWriter log, TEnc encoder, TDec decoder, Func<TEnc, float> kl, Action<TEnc, bool> sampleInInference,
        int latent, int epochs, string output, int seed, int verbose)
        where TEnc : INetwork<float> where TDec : INetwork<float>
    {
        log.WriteLine($"VAE 784 → 400 → 2·{latent} → sampling → {latent} → 400 → 784, Adam 1e-3, batch {BatchSize}, {epochs} epochs on {Digits.TrainCount:N0} digits (PyTorch's nn.Linear initialisation)");
        TorchInit.DenseLayers(encoder, seed + 10);
        TorchInit.DenseLayers(decoder, seed + 20);
        var step = new VaeStep(encoder, decoder, () => kl(encoder), new Adam(1e-3));
        Trainer.FitWith(step, Digits.Train, epochs, BatchSize, seed: seed, log: log, verbose: verbose);

        // The test -ELBO as PyTorch's VAE example measures it: one sample z ~ q(z|x) per image.
        encoder.Training = false;
        decoder.Training = false;
        sampleInInference(encoder, true);
        var test = Digits.Test;
        double rec = 0, klSum = 0;
        for (int start = 0; start < test.Count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, test.Count - start);
            var x = test.AllFeatures.Slice(start * Digits.Pixels, n * Digits.Pixels);
            decoder.Forward(encoder.Forward(x, n), n);
            rec += decoder.Loss(x) * n;
            klSum += kl(encoder) * n;
        }
        sampleInInference(encoder, false);
        rec /= test.Count;
        klSum /= test.Count;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test -ELBO L={latent}: {rec + klSum:F1} nats (reconstruction {rec:F1} + KL {klSum:F1})"));

        Directory.CreateDirectory(output);
        if (latent == 2)
        {
            log.WriteLine("wrote " + Grids.Describe(Scatter(encoder, Path.Combine(output, "vae-latent-scatter.png"))));
            log.WriteLine("wrote " + Grids.Describe(Manifold(decoder, Path.Combine(output, "vae-manifold.png"))));
        }
        else
        {
            // Samples from the prior: z ~ N(0, I) decoded.
            var random = new SeededRandom(seed + 99);
            var z = new float[64 * latent];
            for (int i = 0; i < z.Length; i++) z[i] = (float)random.NextGaussian();
            var images = decoder.Forward(z, 64).ToArray();
            log.WriteLine("wrote " + Grids.Describe(Grids.Save(Path.Combine(output, $"vae-samples-L{latent}.png"), images, 8, 8)));
        }
        return (rec + klSum, rec, klSum);
    }

    /// <summary>The latent means μ of the test digits, coloured by class.</summary>
    private static string Scatter(INetwork<float> encoder, string path)
    {
        encoder.Training = false;
        var test = Digits.Test;
        var xs = new List<double>[10];
        var ys = new List<double>[10];
        for (int c = 0; c < 10; c++) { xs[c] = []; ys[c] = []; }
        for (int start = 0; start < test.Count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, test.Count - start);
            var mu = encoder.Forward(test.AllFeatures.Slice(start * Digits.Pixels, n * Digits.Pixels), n);   // inference: z = μ
            for (int k = 0; k < n; k++)
            {
                int label = test.Label(start + k);
                xs[label].Add(mu[k * 2]);
                ys[label].Add(mu[k * 2 + 1]);
            }
        }
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < 10; c++)
        {
            var scatter = plot.Add.ScatterPoints(xs[c].ToArray(), ys[c].ToArray(), palette.GetColor(c));
            scatter.MarkerSize = 4;
            scatter.LegendText = c.ToString(CultureInfo.InvariantCulture);
        }
        plot.Title("VAE latent means μ of the 2,000 test digits (L = 2)");
        plot.XLabel("z₁");
        plot.YLabel("z₂");
        plot.ShowLegend();
        plot.SavePng(path, 800, 700);
        return path;
    }

    /// <summary>20 × 20 digits decoded from a regular grid of latent points over [−3, 3]² (the prior's ±3σ).</summary>
    private static string Manifold(INetwork<float> decoder, string path)
    {
        const int Side = 20;
        decoder.Training = false;
        var z = new float[Side * Side * 2];
        for (int row = 0; row < Side; row++)
            for (int col = 0; col < Side; col++)
            {
                z[(row * Side + col) * 2] = -3f + 6f * col / (Side - 1);
                z[(row * Side + col) * 2 + 1] = 3f - 6f * row / (Side - 1);
            }
        var images = new float[Side * Side * Digits.Pixels];
        for (int start = 0; start < Side * Side; start += BatchSize)
        {
            int n = Math.Min(BatchSize, Side * Side - start);
            decoder.Forward(z.AsSpan(start * 2, n * 2), n).CopyTo(images.AsSpan(start * Digits.Pixels));
        }
        return Grids.Save(path, images, Side, Side, scale: 1);
    }
}
