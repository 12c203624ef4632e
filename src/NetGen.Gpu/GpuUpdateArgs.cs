namespace NetGen.Gpu;

/// <summary>Which update kernel an optimiser step launches.</summary>
public enum GpuUpdateKind
{
    /// <summary><see cref="Sgd"/>: plain, momentum or Nesterov, with coupled weight decay.</summary>
    Sgd,

    /// <summary><see cref="Adagrad"/>.</summary>
    Adagrad,

    /// <summary><see cref="RmsProp"/>: plain, centred, with momentum.</summary>
    RmsProp,

    /// <summary><see cref="Adam"/> (coupled L2) and <see cref="AdamW"/> (decoupled decay), with or without AMSGrad.</summary>
    Adam,
}

/// <summary>
/// The scalars of one optimiser step, computed on the host from the CPU optimiser's settings and passed by value to the
/// generated update kernel, so a step needs no host round trip. Fields a kind does not use are zero.
/// </summary>
/// <typeparam name="T">The network's element type.</typeparam>
public struct GpuUpdateArgs<T> where T : unmanaged
{
    /// <summary>η for this step (Adagrad: decayed; Adam: η/(1 − β₁ᵗ)).</summary>
    public T LearningRate;

    /// <summary>SGD or RMSProp momentum μ.</summary>
    public T Momentum;

    /// <summary>λ of the coupled L2 term g ← g + λθ.</summary>
    public T WeightDecay;

    /// <summary>AdamW's decoupled decay factor 1 − ηλ applied to θ first (1 for none).</summary>
    public T DecayFactor;

    /// <summary>Adam's β₁, RMSProp's α.</summary>
    public T Beta1;

    /// <summary>Adam's β₂.</summary>
    public T Beta2;

    /// <summary>√(1 − β₂ᵗ), Adam's second bias correction.</summary>
    public T BiasCorrection2Sqrt;

    /// <summary>ε.</summary>
    public T Epsilon;

    /// <summary>Clip by value: each gradient element is clamped to [−ClipValue, ClipValue] (+∞ when not clipping).</summary>
    public T ClipValue;

    /// <summary>Clip by norm: the largest allowed ‖g‖ (0 when not clipping).</summary>
    public T ClipNorm;

    /// <summary>1 when clipping by norm: the update multiplies the gradient by the coefficient the clip kernels left on
    /// the device; 0 otherwise (nothing is uploaded, so a step never waits for the device).</summary>
    public int ClipByNorm;

    /// <summary>1 for Nesterov momentum (SGD), centred (RMSProp) or AMSGrad (Adam), else 0.</summary>
    public int Variant;
}
