using System.Numerics;

namespace NetGen;

/// <summary>
/// An exponential moving average of a network's weights, kept in a second network of the same class (PyTorch's
/// <c>AveragedModel</c> with an EMA, Keras's <c>use_ema</c>): after every training step θ_avg ← d·θ_avg + (1 − d)·θ for
/// every parameter, and the same for the network's state (batch-norm running statistics; PyTorch's
/// <c>use_buffers=True</c>). The average starts as a copy of the network when training begins (or at construction
/// when <see cref="Update"/> is called by hand).
/// <para>A GAN samples from the average of its generator (Karras et al. 2018, Yazıcı et al. 2019, "The unusual
/// effectiveness of averaging in GAN training"): the live generator chases the discriminator from step to step and
/// its samples swing between modes; the average of its last ~1/(1 − d) steps does not. Pass it to
/// <see cref="Trainer.FitWith{T}(ITrainingStep{T}, Dataset{T}, int, int, int, TextWriter?, IEnumerable{ICallback}?, int, bool)"/>
/// (or <c>Trainer.Fit</c>) as a callback: it updates after every batch. The average network is never trained itself;
/// read it in inference mode (<c>Training = false</c>).</para>
/// </summary>
public sealed class ExponentialMovingAverage<T> : ICallback where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly INetwork<T> _network;
    private readonly T _decay, _rest;

    /// <summary>Creates the average.</summary>
    /// <param name="network">The network being trained.</param>
    /// <param name="average">A second network of the same class (same parameter and state sizes) that holds the average.</param>
    /// <param name="decay">d in [0, 1): the weight of the old average at each update (0.999 averages about the last 1,000
    /// steps; 0 copies the network).</param>
    public ExponentialMovingAverage(INetwork<T> network, INetwork<T> average, double decay = 0.999)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        Average = average ?? throw new ArgumentNullException(nameof(average));
        if (ReferenceEquals(network, average))
            throw new ArgumentException("The average needs a second network of the same class: it cannot be the trained network itself.", nameof(average));
        if (average.Parameters.Length != network.Parameters.Length || average.State.Length != network.State.Length)
            throw new ArgumentException($"The average network has {average.Parameters.Length} parameters and {average.State.Length} state values but the trained one {network.Parameters.Length} and {network.State.Length}: create the average as another instance of the same network class.", nameof(average));
        if (!(decay >= 0 && decay < 1))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "The decay is in [0, 1), e.g. 0.999.");
        Decay = decay;
        _decay = T.CreateChecked(decay);
        _rest = T.One - _decay;
        Reset();
    }

    /// <summary>The network holding the average.</summary>
    public INetwork<T> Average { get; }

    /// <summary>The decay d.</summary>
    public double Decay { get; }

    /// <summary>Updates since the last <see cref="Reset"/>.</summary>
    public int Updates { get; private set; }

    /// <summary>Copies the trained network's parameters and state into the average (the average restarts).</summary>
    public void Reset()
    {
        _network.Parameters.CopyTo(Average.Parameters);
        _network.State.CopyTo(Average.State);
        Updates = 0;
    }

    /// <summary>One update: θ_avg ← d·θ_avg + (1 − d)·θ over the parameters and the state.</summary>
    public void Update()
    {
        Blend(Average.Parameters, _network.Parameters);
        Blend(Average.State, _network.State);
        Updates++;
    }

    private void Blend(Span<T> average, ReadOnlySpan<T> current)
    {
        for (int i = 0; i < average.Length; i++) average[i] = _decay * average[i] + _rest * current[i];
    }

    void ICallback.OnTrainBegin(TrainingContext context) => Reset();

    void ICallback.OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs) => Update();
}
