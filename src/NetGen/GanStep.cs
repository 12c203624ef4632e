using System.Numerics;

namespace NetGen;

/// <summary>
/// The training step of a GAN (as PyTorch's DCGAN example): a generator G maps latent vectors z ~ N(0, I) to samples,
/// a discriminator D maps a sample to one logit (declared with <c>[Dense(1), Sigmoid]</c> and
/// <c>Loss = LossFunction.BinaryCrossEntropy</c>, which NetGen fuses into the stable BCE-with-logits form). Each step:
/// <list type="number">
/// <item>fake = G(z) for a fresh z of the batch size;</item>
/// <item>the discriminator step: d_loss = BCE(D(real), r) + BCE(D(fake), 0) with the real label r (1, or below 1 for
/// one-sided label smoothing), both gradients summed, one step of the discriminator's optimiser (G is not touched);</item>
/// <item>the generator step through the now updated, frozen discriminator: g_loss = BCE(D(fake), 1) (the
/// non-saturating loss; the target stays 1 whatever the real label); ∂g_loss/∂fake comes from <see cref="INetwork{T}.BackwardFromTarget"/> of D, G
/// backpropagates it, and only the generator's optimiser steps (D's gradients are discarded: they are zeroed
/// before D's next step).</item>
/// </list>
/// Use it with <see cref="Trainer.FitWith{T}(ITrainingStep{T}, Dataset{T}, int, int, int, TextWriter?, IEnumerable{ICallback}?, int, bool)"/>
/// for the Keras progress line and a History with "d_loss" and "g_loss", or call <see cref="TrainStep"/> yourself.
/// Allocation-free after construction.
/// </summary>
public sealed class GanStep<T> : ITrainingStep<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] Names = ["d_loss", "g_loss"];
    private readonly INetwork<T> _generator, _discriminator;
    private readonly IOptimizer _generatorOptimizer, _discriminatorOptimizer;
    private readonly SeededRandom _random, _instanceRandom;
    private readonly T[] _noise, _fake, _fakeGradient, _realTargets, _ones, _zeros, _noisyReal, _noisyFake;
    private double _instanceNoise;

    /// <summary>Creates the step.</summary>
    /// <param name="generator">G: latent vectors (its InputSize is the latent size) to samples.</param>
    /// <param name="discriminator">D: samples (InputSize = G's OutputSize) to one value, trained with binary cross-entropy.</param>
    /// <param name="generatorOptimizer">Steps G's parameters (e.g. <c>new Adam(2e-4, beta1: 0.5)</c>).</param>
    /// <param name="discriminatorOptimizer">Steps D's parameters; a different object from <paramref name="generatorOptimizer"/>.</param>
    /// <param name="seed">Seeds the latent vectors.</param>
    /// <param name="realLabel">The discriminator's target for real samples: 1, or e.g. 0.9 for one-sided label smoothing
    /// (Salimans et al. 2016, "Improved techniques for training GANs": the discriminator's real targets only; fake
    /// samples keep 0 and the generator's target stays 1).</param>
    /// <param name="instanceNoise">σ of the instance noise (<see cref="InstanceNoise"/>); 0 (the default) adds none.</param>
    /// <param name="packing">m of PacGAN (<see cref="Packing"/>): the discriminator judges m samples at once; 1 (the
    /// default) is the plain GAN.</param>
    public GanStep(INetwork<T> generator, INetwork<T> discriminator, IOptimizer generatorOptimizer, IOptimizer discriminatorOptimizer,
        int seed = 0, double realLabel = 1.0, double instanceNoise = 0, int packing = 1)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _discriminator = discriminator ?? throw new ArgumentNullException(nameof(discriminator));
        _generatorOptimizer = generatorOptimizer ?? throw new ArgumentNullException(nameof(generatorOptimizer));
        _discriminatorOptimizer = discriminatorOptimizer ?? throw new ArgumentNullException(nameof(discriminatorOptimizer));
        if (ReferenceEquals(generatorOptimizer, discriminatorOptimizer))
            throw new ArgumentException("The generator and the discriminator need two optimiser objects: an optimiser keeps state for one set of parameters.", nameof(discriminatorOptimizer));
        if (ReferenceEquals(generator, discriminator))
            throw new ArgumentException("The generator and the discriminator must be two networks.", nameof(discriminator));
        if (packing < 1)
            throw new ArgumentOutOfRangeException(nameof(packing), packing, "The packing m is at least 1 (1: the discriminator judges one sample at a time).");
        if (packing == 1 && generator.OutputSize != discriminator.InputSize)
            throw new ArgumentException($"The generator makes samples of {generator.OutputSize} values but the discriminator reads {discriminator.InputSize}: give them the same sample shape.", nameof(discriminator));
        if (packing > 1 && (long)packing * generator.OutputSize != discriminator.InputSize)
            throw new ArgumentException($"With packing {packing} the discriminator reads {packing} samples of {generator.OutputSize} values at once, {(long)packing * generator.OutputSize} values, but it reads {discriminator.InputSize}: give its input {packing}× the channels of a sample (e.g. [Input({packing}·C, H, W)]).", nameof(discriminator));
        if (discriminator.OutputSize != 1)
            throw new ArgumentException($"The discriminator has {discriminator.OutputSize} outputs; a GAN's discriminator has one (end it with [Dense(1), Sigmoid] and Loss = LossFunction.BinaryCrossEntropy).", nameof(discriminator));
        if (!(realLabel > 0 && realLabel <= 1))
            throw new ArgumentOutOfRangeException(nameof(realLabel), realLabel, "The real label is in (0, 1], e.g. 1 or 0.9.");
        Packing = packing;
        MaxBatch = (int)Math.Min(generator.MaxBatch, (long)discriminator.MaxBatch * packing);
        _random = new SeededRandom(seed);
        _noise = new T[MaxBatch * generator.InputSize];
        _fake = new T[MaxBatch * generator.OutputSize];
        _fakeGradient = new T[MaxBatch * generator.OutputSize];
        _realTargets = new T[MaxBatch];
        _ones = new T[MaxBatch];
        _zeros = new T[MaxBatch];
        Array.Fill(_realTargets, T.CreateChecked(realLabel));
        Array.Fill(_ones, T.One);
        RealLabel = realLabel;
        InstanceNoise = instanceNoise;
        _instanceRandom = new SeededRandom(unchecked(seed + InstanceNoiseSeedOffset));
        _noisyReal = new T[MaxBatch * generator.OutputSize];
        _noisyFake = new T[MaxBatch * generator.OutputSize];
        Networks = [generator, discriminator];
        Optimizers = [generatorOptimizer, discriminatorOptimizer];
    }

    /// <summary>The largest batch (the smaller of the two networks' MaxBatch).</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// m of PacGAN (Lin et al. 2018, "PacGAN: the power of two samples in generative adversarial networks"): the
    /// discriminator judges m samples of the same kind (all real or all generated) at once, so a generator whose
    /// samples look alike — mode collapse — is easier to tell from the data than each sample alone shows. The batch's
    /// samples k·m … k·m + m − 1 are read as one packed sample: the discriminator's input has m times a sample's values
    /// (m times its channels, [Input(m·C, H, W)]) and no copy is made, since consecutive samples laid end to end are
    /// that packed sample; it sees batch / m packed samples per term, and ∂g_loss/∂fake reaches each generated sample
    /// in its pack. A remainder of fewer than m samples (a short last batch) is left out of both steps. 1: the plain GAN.
    /// </summary>
    public int Packing { get; }

    /// <summary>The discriminator's target for real samples (1 unless smoothed).</summary>
    public double RealLabel { get; }

    /// <summary>
    /// σ of the instance noise (Sønderby et al. 2017, "Amortised MAP inference for image super-resolution"; Arjovsky and
    /// Bottou 2017): the discriminator sees real + σ·ε and fake + σ·ε' (ε, ε' ~ N(0, I), drawn per value and per step)
    /// in its own step, and the generator step goes through the same fake + σ·ε' (the noise adds nothing to
    /// ∂E/∂fake). Blurring both distributions makes them overlap, so the discriminator cannot separate them perfectly
    /// and its gradient stays informative. Settable between steps: anneal it to 0 over training (e.g. from a callback's
    /// OnBatchBegin). 0 draws no noise. The noise comes from its own generator, seeded with seed + 7919, real batch's
    /// values first, then the fake batch's.
    /// </summary>
    public double InstanceNoise
    {
        get => _instanceNoise;
        set
        {
            if (!(value >= 0 && double.IsFinite(value)))
                throw new ArgumentOutOfRangeException(nameof(value), value, "The instance noise σ is a finite value ≥ 0 (0: none).");
            _instanceNoise = value;
        }
    }

    /// <summary>The instance noise's generator is SeededRandom(seed + this).</summary>
    public const int InstanceNoiseSeedOffset = 7919;

    /// <summary>The latent size (the generator's InputSize).</summary>
    public int LatentSize => _generator.InputSize;

    /// <inheritdoc/>
    public IReadOnlyList<string> LossNames => Names;

    /// <inheritdoc/>
    public IReadOnlyList<INetwork<T>> Networks { get; }

    /// <inheritdoc/>
    public IReadOnlyList<IOptimizer> Optimizers { get; }

    /// <summary>The mean of D(real) (probability) and of D(G(z)) in the last step's discriminator update.</summary>
    public (double Real, double Fake) LastScores { get; private set; }

    /// <summary>Fills <paramref name="destination"/> with independent N(0, 1) values from the step's generator.</summary>
    public void SampleLatent(Span<T> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateChecked(_random.NextGaussian());
    }

    void ITrainingStep<T>.Step(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, int batch, Span<double> losses)
    {
        var (d, g) = TrainStep(input, batch);
        losses[0] = double.CreateChecked(d);
        losses[1] = double.CreateChecked(g);
    }

    /// <summary>One discriminator step and one generator step on <paramref name="batch"/> real samples; returns the
    /// two losses, each measured before its update.</summary>
    public (T DiscriminatorLoss, T GeneratorLoss) TrainStep(ReadOnlySpan<T> real, int batch)
    {
        if (batch < 1 || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"The batch must be from 1 to {MaxBatch} (the networks' MaxBatch).");
        int sampleSize = _generator.OutputSize;
        Guard.BatchSpan(real.Length, batch, sampleSize, nameof(real));
        int packs = batch / Packing, used = packs * Packing;   // the discriminator sees packs packed samples of the first used samples
        if (packs == 0)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"The batch must hold at least one pack of {Packing} samples.");
        real = real[..(used * sampleSize)];
        ReadOnlySpan<T> realTargets = _realTargets.AsSpan(0, packs), ones = _ones.AsSpan(0, packs), zeros = _zeros.AsSpan(0, packs);
        Span<T> noise = _noise.AsSpan(0, batch * _generator.InputSize), fake = _fake.AsSpan(0, batch * sampleSize);

        // 1. fake = G(z)
        _generator.Training = true;
        _discriminator.Training = true;
        SampleLatent(noise);
        _generator.Forward(noise, batch).CopyTo(fake);

        // Instance noise: the discriminator reads real + σ·ε and fake + σ·ε' (the generator's gradient passes unchanged).
        ReadOnlySpan<T> dReal = real, dFake = fake[..(used * sampleSize)];
        if (_instanceNoise > 0)
        {
            T sigma = T.CreateChecked(_instanceNoise);
            Span<T> noisyReal = _noisyReal.AsSpan(0, used * sampleSize), noisyFake = _noisyFake.AsSpan(0, used * sampleSize);
            for (int i = 0; i < noisyReal.Length; i++) noisyReal[i] = real[i] + sigma * T.CreateChecked(_instanceRandom.NextGaussian());
            for (int i = 0; i < noisyFake.Length; i++) noisyFake[i] = fake[i] + sigma * T.CreateChecked(_instanceRandom.NextGaussian());
            dReal = noisyReal;
            dFake = noisyFake;
        }

        // 2. The discriminator: real → the real label, fake → 0; gradients of both terms summed, one step.
        _discriminator.ZeroGradients();
        _discriminator.Forward(dReal, packs);
        T realLoss = _discriminator.Loss(realTargets);
        double realScore = Mean(_discriminator.Output);
        _discriminator.Backward(realTargets);
        _discriminator.Forward(dFake, packs);
        T fakeLoss = _discriminator.Loss(zeros);
        double fakeScore = Mean(_discriminator.Output);
        _discriminator.Backward(zeros);
        _discriminatorOptimizer.Step<T>(_discriminator.Parameters, _discriminator.Gradients);
        LastScores = (realScore, fakeScore);

        // 3. The generator through the frozen discriminator: fake → 1; only G steps.
        _generator.ZeroGradients();
        _discriminator.Forward(dFake, packs);
        T generatorLoss = _discriminator.Loss(ones);
        Span<T> fakeGradient = _fakeGradient.AsSpan(0, batch * sampleSize);
        _discriminator.BackwardFromTarget(ones, fakeGradient[..(used * sampleSize)]);
        fakeGradient[(used * sampleSize)..].Clear();   // a remainder outside every pack gets no gradient
        _generator.Backward(fakeGradient, []);
        _generatorOptimizer.Step<T>(_generator.Parameters, _generator.Gradients);
        return (realLoss + fakeLoss, generatorLoss);
    }

    private static double Mean(ReadOnlySpan<T> values)
    {
        double sum = 0;
        foreach (var v in values) sum += double.CreateChecked(v);
        return sum / values.Length;
    }
}
