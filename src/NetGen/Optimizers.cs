using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace NetGen;

/// <summary>Updates a flat parameter buffer from its gradient buffer. Implementations must not allocate per step.</summary>
public interface IOptimizer
{
    /// <summary>Applies one update to <paramref name="parameters"/> from <paramref name="gradients"/> (same length).</summary>
    void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The base of the built-in optimisers: a settable <see cref="LearningRate"/> (which schedules change), gradient
/// clipping, a step counter and per-parameter state vectors.
/// <para>
/// Each optimiser follows PyTorch's optimiser of the same name (<c>torch.optim</c>, same defaults and the same
/// formulas), so a run can be checked against PyTorch step by step. State vectors (momentum, moment estimates, …)
/// are allocated once, on the first <see cref="Step{T}"/>, sized to the parameter count; every later step is
/// allocation-free and vectorised (<see cref="TensorPrimitives"/>). An optimiser therefore belongs to one network:
/// a later step with a different parameter count or element type throws (call <see cref="Reset"/> to reuse it).
/// </para>
/// <para>
/// Clipping is applied to a copy of the gradient before the update, as calling
/// <c>torch.nn.utils.clip_grad_value_</c> and then <c>clip_grad_norm_</c> before <c>optimizer.step()</c> would;
/// the caller's gradient buffer is never modified.
/// </para>
/// </summary>
public abstract class Optimizer : IOptimizer
{
    private double _learningRate;
    private double? _clipNorm, _clipValue;
    private Type? _elementType;
    private int _length = -1;
    private Array[] _buffers = [];
    private Array? _clipped;
    private int _chunkStart, _chunkLength;   // the parameters Update is working on (see ChunkLength)

    /// <summary>
    /// Elements per call of <see cref="Update{T}"/> when the optimiser updates elementwise: 4,096 (16 KiB of
    /// floats per vector, so the chain of vector operations of one chunk stays in L1). Besides keeping the chain in
    /// cache, chunks stay below the size from which <see cref="TensorPrimitives"/> writes its destination with
    /// non-temporal stores (256 KiB, i.e. 65,536 floats): those bypass the cache, so θ was written to memory and read
    /// back from it on the next step, and the update of the 784-100-10 MLP's 79,510 parameters took 20 µs instead
    /// of 6 µs.
    /// </summary>
    private const int ChunkLength = 4096;

    /// <summary>Validates and stores the learning rate.</summary>
    /// <param name="learningRate">η; a positive finite number.</param>
    protected Optimizer(double learningRate)
    {
        if (!(learningRate > 0 && double.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number, e.g. 0.01.");
        _learningRate = learningRate;
    }

    /// <summary>η, the learning rate used by the next step. Schedules and callbacks set it between epochs; it may be
    /// set to 0 (a cosine schedule can end there) but not below.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = value >= 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a finite number ≥ 0, e.g. 0.01.");
    }

    /// <summary>Clip by norm: when the Euclidean norm ‖g‖ of the whole gradient exceeds this, the gradient is scaled
    /// by <c>ClipNorm / (‖g‖ + 1e-6)</c> before the update (<c>torch.nn.utils.clip_grad_norm_</c>, Keras'
    /// <c>global_clipnorm</c>). Null (the default) for none.</summary>
    public double? ClipNorm
    {
        get => _clipNorm;
        set => _clipNorm = value is null || (value > 0 && double.IsFinite(value.Value))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "ClipNorm must be a positive finite number (e.g. 1.0), or null for no clipping.");
    }

    /// <summary>Clip by value: every gradient element is clamped to [−ClipValue, ClipValue] before the update
    /// (<c>torch.nn.utils.clip_grad_value_</c>, Keras' <c>clipvalue</c>). When both clippings are set, values are
    /// clipped first, then the norm. Null (the default) for none.</summary>
    public double? ClipValue
    {
        get => _clipValue;
        set => _clipValue = value is null || (value > 0 && double.IsFinite(value.Value))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "ClipValue must be a positive finite number (e.g. 0.5), or null for no clipping.");
    }

    /// <summary>Steps taken since construction or the last <see cref="Reset"/> (PyTorch's <c>state["step"]</c>,
    /// Keras' <c>optimizer.iterations</c>). A skipped step (see <see cref="LastStepSkipped"/>) is not counted.</summary>
    public long Iterations { get; private set; }

    /// <summary>
    /// Whether the last <see cref="Step{T}"/> was skipped because a gradient (after clipping) was NaN or infinite:
    /// the parameters and the optimiser's state were left exactly as they were, and the step was not counted, as
    /// PyTorch's <c>GradScaler</c> skips such steps. <c>Trainer.Fit</c> reports a skipped step as divergence; code
    /// that calls <c>TrainStep</c> itself can read this after each step. (The check is one vectorised sum over the
    /// gradients; an overflowing sum of finite gradients is confirmed element by element before a step is skipped.)
    /// </summary>
    public bool LastStepSkipped { get; private set; }

    /// <summary>Steps skipped for a NaN or infinite gradient since construction or the last <see cref="Reset"/>.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Forgets the step count and every state vector, so the optimiser can start over, possibly on
    /// another network. The next step allocates the state again.</summary>
    public void Reset()
    {
        Iterations = 0;
        SkippedSteps = 0;
        LastStepSkipped = false;
        _elementType = null;
        _length = -1;
        _buffers = [];
        _clipped = null;
        _chunkStart = _chunkLength = 0;
    }

    /// <summary>Number of per-parameter vectors the optimiser needs (state and scratch), fixed at construction.</summary>
    protected abstract int BufferCount { get; }

    /// <summary>The value buffer <paramref name="index"/> is filled with when it is allocated (0 unless overridden).</summary>
    protected virtual double InitialValue(int index) => 0;

    /// <summary>Per-parameter buffer <paramref name="index"/> (0 ≤ index &lt; <see cref="BufferCount"/>), as long
    /// as the parameters <see cref="Update{T}"/> was given (the same chunk of them when it updates
    /// <see cref="UpdatesElementwise"/>); valid inside <see cref="Update{T}"/>.</summary>
    protected Span<T> Buffer<T>(int index) where T : unmanaged, IFloatingPointIeee754<T> =>
        ((T[])_buffers[index]).AsSpan(_chunkStart, _chunkLength);

    /// <summary>Whether <see cref="Update{T}"/> treats every parameter on its own (no sum or norm over the
    /// parameters), so that <see cref="Step{T}"/> may call it on consecutive chunks of the parameters, each with the
    /// matching chunks of the gradient and of the <see cref="Buffer{T}"/>s. Every built-in optimiser does, which keeps a
    /// chunk's chain of vector operations in the cache; false (one call over every parameter) unless overridden.</summary>
    protected virtual bool UpdatesElementwise => false;

    /// <summary>Applies one update. <paramref name="gradients"/> is already clipped; <paramref name="step"/> counts
    /// from 1. Must not allocate. When <see cref="UpdatesElementwise"/> is true the spans are one chunk of the
    /// parameters, and <see cref="Buffer{T}"/> returns the same chunk of each buffer.</summary>
    protected abstract void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <inheritdoc />
    public void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.SameLength(parameters.Length, gradients.Length, nameof(gradients));
        EnsureState<T>(parameters.Length);
        ReadOnlySpan<T> g = gradients;
        if (_clipValue is not null || _clipNorm is not null)
        {
            _clipped ??= new T[parameters.Length];
            Span<T> c = (T[])_clipped;
            gradients.CopyTo(c);
            if (_clipValue is double v)
            {
                T limit = T.CreateChecked(v);
                for (int i = 0; i < c.Length; i += ChunkLength)
                {
                    Span<T> chunk = c.Slice(i, Math.Min(ChunkLength, c.Length - i));
                    TensorPrimitives.Min(chunk, limit, chunk);
                    TensorPrimitives.Max(chunk, -limit, chunk);
                }
            }
            if (_clipNorm is double maxNorm)
            {
                // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (‖g‖ + 1e-6), clamped to at most 1.
                double norm = double.CreateChecked(TensorPrimitives.Norm<T>(c));
                double coefficient = maxNorm / (norm + 1e-6);
                if (coefficient < 1)
                    for (int i = 0; i < c.Length; i += ChunkLength)
                    {
                        Span<T> chunk = c.Slice(i, Math.Min(ChunkLength, c.Length - i));
                        TensorPrimitives.Multiply(chunk, T.CreateChecked(coefficient), chunk);
                    }
            }
            g = c;
        }
        // NaN never hides, and a diverging step changes nothing: a NaN or infinity anywhere makes the sum non-finite
        // (a finite sum proves every gradient finite); a non-finite sum is confirmed element by element, since
        // large finite gradients can overflow it.
        if (!T.IsFinite(TensorPrimitives.Sum(g)) && !AllFinite(g))
        {
            LastStepSkipped = true;
            SkippedSteps++;
            return;
        }
        LastStepSkipped = false;
        Iterations++;
        if (!UpdatesElementwise)
        {
            Update(parameters, g, Iterations);
            return;
        }
        try
        {
            for (int i = 0; i < parameters.Length; i += ChunkLength)
            {
                _chunkStart = i;
                _chunkLength = Math.Min(ChunkLength, parameters.Length - i);
                Update(parameters.Slice(i, _chunkLength), g.Slice(i, _chunkLength), Iterations);
            }
        }
        finally
        {
            _chunkStart = 0;
            _chunkLength = _length;
        }
    }

    /// <summary>
    /// One update of every network in <paramref name="group"/>, as one optimiser over their parameters taken together
    /// (PyTorch's <c>torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()))</c>): the state vectors
    /// cover the concatenation of the networks' parameters in the group's order, <see cref="Iterations"/> counts one step
    /// for the whole group (so Adam's bias correction is the same for every network), and <see cref="ClipNorm"/> clips by
    /// the norm of all the group's gradients together (<c>clip_grad_norm_</c> over the parameter list). Allocation-free
    /// after the first step; an optimiser used on a group belongs to that group (the parameter count is checked).
    /// </summary>
    public void StepGroup<T>(ParameterGroup<T> group) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(group);
        int total = group.ParameterCount;
        EnsureState<T>(total);
        bool clip = _clipValue is not null || _clipNorm is not null;
        if (clip)
        {
            _clipped ??= new T[total];
            Span<T> c = (T[])_clipped;
            int at = 0;
            foreach (var net in group.All)
            {
                net.Gradients.CopyTo(c[at..]);
                at += net.Gradients.Length;
            }
            if (_clipValue is double v)
            {
                T limit = T.CreateChecked(v);
                TensorPrimitives.Min(c, limit, c);
                TensorPrimitives.Max(c, -limit, c);
            }
            if (_clipNorm is double maxNorm)
            {
                double norm = double.CreateChecked(TensorPrimitives.Norm<T>(c));
                double coefficient = maxNorm / (norm + 1e-6);
                if (coefficient < 1) TensorPrimitives.Multiply(c, T.CreateChecked(coefficient), c);
            }
        }
        Iterations++;
        if (!UpdatesElementwise)
        {
            // One call over every parameter: gather them into the group's scratch, update, scatter back.
            var all = group.Scratch(2);
            Span<T> p = all.Slice(0, total), g = all.Slice(total, total);
            int at = 0;
            foreach (var net in group.All)
            {
                net.Parameters.CopyTo(p[at..]);
                if (!clip) net.Gradients.CopyTo(g[at..]);
                at += net.Parameters.Length;
            }
            Update(p, clip ? ((T[])_clipped!).AsSpan(0, total) : g, Iterations);
            at = 0;
            foreach (var net in group.All)
            {
                p.Slice(at, net.Parameters.Length).CopyTo(net.Parameters);
                at += net.Parameters.Length;
            }
            return;
        }
        try
        {
            int offset = 0;
            foreach (var net in group.All)
            {
                Span<T> parameters = net.Parameters;
                ReadOnlySpan<T> gradients = clip ? ((T[])_clipped!).AsSpan(offset, parameters.Length) : net.Gradients;
                for (int i = 0; i < parameters.Length; i += ChunkLength)
                {
                    _chunkStart = offset + i;
                    _chunkLength = Math.Min(ChunkLength, parameters.Length - i);
                    Update(parameters.Slice(i, _chunkLength), gradients.Slice(i, _chunkLength), Iterations);
                }
                offset += parameters.Length;
            }
        }
        finally
        {
            _chunkStart = 0;
            _chunkLength = _length;
        }
    }

    /// <summary>Counts a step the caller applies itself (a generated network's fused plain-SGD step, see
    /// <see cref="Sgd.TryBeginFusedStep{T}"/>), with the same checks of the parameter count and element type as
    /// <see cref="Step{T}"/>.</summary>
    private protected void CountFusedStep<T>(int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureState<T>(length);
        LastStepSkipped = false;
        Iterations++;
    }

    private static bool AllFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // IndexOfMaxMagnitude returns the first NaN if there is one, else the largest magnitude (∞ if there is one).
        int k = TensorPrimitives.IndexOfMaxMagnitude(values);
        return k < 0 || T.IsFinite(values[k]);
    }

    /// <summary>Counts a step taken elsewhere with this optimiser's settings (the GPU runtime applies the update on the
    /// device) and returns its number, counting from 1, as <see cref="Step{T}"/> would have.</summary>
    internal long CountExternalStep() => ++Iterations;

    private void EnsureState<T>(int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_elementType is null)
        {
            var buffers = new Array[BufferCount];
            for (int i = 0; i < buffers.Length; i++)
            {
                var buffer = new T[length];
                double initial = InitialValue(i);
                if (initial != 0) Array.Fill(buffer, T.CreateChecked(initial));
                buffers[i] = buffer;
            }
            _buffers = buffers;
            _elementType = typeof(T);
            _length = length;
            _chunkStart = 0;
            _chunkLength = length;
            return;
        }
        if (_elementType != typeof(T) || _length != length)
            throw new InvalidOperationException(
                $"This {GetType().Name} was first used on {_length} {_elementType.Name} parameters and now gets {length} {typeof(T).Name} parameters. " +
                "An optimiser keeps per-parameter state (momentum, moment estimates) for one network: create one optimiser per network, " +
                "or call Reset() to start it over.");
    }

    /// <summary>T of a double.</summary>
    private protected static T Of<T>(double value) where T : unmanaged, IFloatingPointIeee754<T> => T.CreateChecked(value);

    private protected static double NonNegative(double value, string name, string example) =>
        value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number ≥ 0, e.g. {example}.");

    private protected static double Fraction(double value, string name, string example) =>
        value >= 0 && value < 1 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1), e.g. {example}.");
}

/// <summary>
/// Stochastic gradient descent, as <c>torch.optim.SGD</c> (dampening 0): with weight decay λ, g ← g + λθ; with
/// momentum μ, b ← μb + g (b starts at g) and g ← b, or with Nesterov momentum g ← g + μb; then θ ← θ − η·g.
/// Plain SGD (the defaults) is θ ← θ − η·∂E/∂θ.
/// <para>
/// Plain SGD needs no state, so a generated network's <c>TrainStep</c> applies it inside its backward pass (see
/// <see cref="FuseIntoBackward"/>): each weight is updated where its gradient is computed, with the same arithmetic
/// as <see cref="Optimizer.Step{T}"/>, and the gradients are never stored.
/// </para>
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="momentum">μ, e.g. 0.9; 0 for none.</param>
    /// <param name="nesterov">Nesterov momentum (needs <paramref name="momentum"/> &gt; 0).</param>
    /// <param name="weightDecay">λ, the L2 penalty added to the gradient, e.g. 5e-4; 0 for none.</param>
    public Sgd(double learningRate, double momentum = 0, bool nesterov = false, double weightDecay = 0) : base(learningRate)
    {
        Momentum = NonNegative(momentum, nameof(momentum), "0.9");
        WeightDecay = NonNegative(weightDecay, nameof(weightDecay), "5e-4");
        if (nesterov && momentum == 0)
            throw new ArgumentException("Nesterov momentum needs a momentum > 0, e.g. new Sgd(0.01, momentum: 0.9, nesterov: true).", nameof(nesterov));
        Nesterov = nesterov;
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether the momentum is Nesterov's.</summary>
    public bool Nesterov { get; }

    /// <summary>λ.</summary>
    public double WeightDecay { get; }

    /// <summary>
    /// Whether a generated network's <c>TrainStep</c> may fuse this optimiser into its backward pass when it is
    /// plain SGD (no momentum, no weight decay, no clipping) and the network allows it (every trainable layer is a
    /// Dense or Conv2D layer computed by kernels, and no layer has an L1/L2 penalty). A fused step updates each
    /// parameter θ ← θ − η·∂E/∂θ where its gradient is computed, rounding as <see cref="Optimizer.Step{T}"/> does,
    /// counts the step in <see cref="Optimizer.Iterations"/>, and neither zeros nor writes
    /// <c>INetwork.Gradients</c>: after it, Gradients holds what it held before the step. Default true; set it to
    /// false when you want to read each step's gradients after <c>TrainStep</c> (the step then zeros Gradients,
    /// fills them by backpropagation and calls <see cref="Optimizer.Step{T}"/>, as with any other optimiser).
    /// </summary>
    public bool FuseIntoBackward { get; set; } = true;

    /// <summary>
    /// The hook a generated network's <c>TrainStep</c> calls once its forward pass and loss are done. When this is
    /// plain SGD and <see cref="FuseIntoBackward"/> is set, counts the step in <see cref="Optimizer.Iterations"/> (with
    /// the same parameter-count and element-type checks as <see cref="Optimizer.Step{T}"/>) and returns true with
    /// <paramref name="rate"/> = −η in <typeparamref name="T"/>: the caller then applies θ ← θ + rate·∂E/∂θ itself as
    /// it computes each gradient, and does not call Step. Otherwise returns false and changes nothing.
    /// </summary>
    /// <param name="parameterCount">The length of the network's parameter buffer.</param>
    /// <param name="rate">−η when the step is fused, else 0.</param>
    public bool TryBeginFusedStep<T>(int parameterCount, out T rate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!FuseIntoBackward || Momentum > 0 || WeightDecay > 0 || ClipNorm is not null || ClipValue is not null)
        {
            rate = T.Zero;
            return false;
        }
        CountFusedStep<T>(parameterCount);
        rate = Of<T>(-LearningRate);
        return true;
    }

    // 0: momentum buffer b; 1: scratch for the decayed / Nesterov gradient.
    /// <inheritdoc />
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc />
    protected override int BufferCount => Momentum > 0 ? 2 : WeightDecay > 0 ? 1 : 0;

    /// <inheritdoc />
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step)
    {
        if (Momentum > 0)
        {
            // One pass over θ, g and b (the passes below, fused: the same bits).
            FusedMomentum(parameters, gradients, Buffer<T>(0), Of<T>(Momentum), Of<T>(WeightDecay), Nesterov, Of<T>(-LearningRate));
            return;
        }
        ReadOnlySpan<T> d = gradients;
        if (WeightDecay > 0)
        {
            Span<T> work = Buffer<T>(BufferCount - 1);
            TensorPrimitives.MultiplyAdd(parameters, Of<T>(WeightDecay), gradients, work);   // g + λθ
            d = work;
        }
        if (Momentum > 0)
        {
            Span<T> b = Buffer<T>(0), work = Buffer<T>(1);
            TensorPrimitives.MultiplyAdd(b, Of<T>(Momentum), d, b);                           // b ← μb + g (b₀ = 0 ⇒ b₁ = g)
            if (Nesterov)
            {
                TensorPrimitives.MultiplyAdd(b, Of<T>(Momentum), d, work);                    // g + μb
                d = work;
            }
            else d = b;
        }
        TensorPrimitives.MultiplyAdd(d, Of<T>(-LearningRate), parameters, parameters);       // θ ← θ − η·g
    }

    /// <summary>The momentum update in one pass over θ, g and b: d = λθ + g (with weight decay), b ← μb + d, then
    /// θ ← θ − η·b (or θ − η·(μb + d), Nesterov). The operations of the pass-by-pass form (TensorPrimitives.MultiplyAdd:
    /// each product and sum rounded apart, no fused multiply-add, in the same order), so the results are the same bits;
    /// three or four passes over memory become one. Vector512 where the JIT accelerates it (a JIT-time constant), else
    /// Vector256, then scalars for the last values.</summary>
    internal static void FusedMomentum<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> momentum, T mu, T decay, bool nesterov, T minusRate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int length = parameters.Length;
        if (gradients.Length != length || momentum.Length != length)
            throw new ArgumentException("SGD's parameters, gradients and momentum buffer must have the same length.", nameof(gradients));
        ref T p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(parameters);
        ref T gr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(gradients);
        ref T b = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(momentum);
        bool decayed = decay != T.Zero;
        nuint i = 0, n = (nuint)length;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var mv = Vector512.Create(mu); var lv = Vector512.Create(decay); var rv = Vector512.Create(minusRate);
            for (nuint count = (nuint)Vector512<T>.Count; i + count <= n; i += count)
            {
                var pv = Vector512.LoadUnsafe(ref p, i);
                var d = Vector512.LoadUnsafe(ref gr, i);
                if (decayed) d = pv * lv + d;
                var bv = Vector512.LoadUnsafe(ref b, i) * mv + d;
                bv.StoreUnsafe(ref b, i);
                var step = nesterov ? bv * mv + d : bv;
                (step * rv + pv).StoreUnsafe(ref p, i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var mv = Vector256.Create(mu); var lv = Vector256.Create(decay); var rv = Vector256.Create(minusRate);
            for (nuint count = (nuint)Vector256<T>.Count; i + count <= n; i += count)
            {
                var pv = Vector256.LoadUnsafe(ref p, i);
                var d = Vector256.LoadUnsafe(ref gr, i);
                if (decayed) d = pv * lv + d;
                var bv = Vector256.LoadUnsafe(ref b, i) * mv + d;
                bv.StoreUnsafe(ref b, i);
                var step = nesterov ? bv * mv + d : bv;
                (step * rv + pv).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            ref T pi = ref System.Runtime.CompilerServices.Unsafe.Add(ref p, i);
            ref T bi = ref System.Runtime.CompilerServices.Unsafe.Add(ref b, i);
            T d = System.Runtime.CompilerServices.Unsafe.Add(ref gr, i);
            if (decayed) d = pi * decay + d;
            bi = bi * mu + d;
            T step = nesterov ? bi * mu + d : bi;
            pi = step * minusRate + pi;
        }
    }
}

/// <summary>
/// Adagrad, as <c>torch.optim.Adagrad</c>: g ← g + λθ; s ← s + g²; θ ← θ − η/(1 + (t − 1)·decay) · g / (√s + ε).
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates the optimiser (PyTorch's defaults).</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="learningRateDecay">η decays as η / (1 + (t − 1)·decay) at step t.</param>
    /// <param name="weightDecay">λ, the L2 penalty added to the gradient.</param>
    /// <param name="initialAccumulatorValue">The starting value of the sum of squares s.</param>
    /// <param name="epsilon">ε, added to √s.</param>
    public Adagrad(double learningRate = 0.01, double learningRateDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double epsilon = 1e-10) : base(learningRate)
    {
        LearningRateDecay = NonNegative(learningRateDecay, nameof(learningRateDecay), "1e-4");
        WeightDecay = NonNegative(weightDecay, nameof(weightDecay), "1e-4");
        InitialAccumulatorValue = NonNegative(initialAccumulatorValue, nameof(initialAccumulatorValue), "0.1");
        Epsilon = NonNegative(epsilon, nameof(epsilon), "1e-10");
    }

    /// <summary>The learning-rate decay.</summary>
    public double LearningRateDecay { get; }

    /// <summary>λ.</summary>
    public double WeightDecay { get; }

    /// <summary>The starting value of the sum of squared gradients.</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    // 0: sum of squares s; 1: decayed gradient; 2: denominator.
    /// <inheritdoc />
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc />
    protected override int BufferCount => 3;

    /// <inheritdoc />
    protected override double InitialValue(int index) => index == 0 ? InitialAccumulatorValue : 0;

    /// <inheritdoc />
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step)
    {
        Span<T> sum = Buffer<T>(0), denominator = Buffer<T>(2);
        ReadOnlySpan<T> g = gradients;
        if (WeightDecay > 0)
        {
            Span<T> decayed = Buffer<T>(1);
            TensorPrimitives.MultiplyAdd(parameters, Of<T>(WeightDecay), gradients, decayed);
            g = decayed;
        }
        double clr = LearningRate / (1 + (step - 1) * LearningRateDecay);
        TensorPrimitives.MultiplyAdd(g, g, sum, sum);                       // s ← s + g²
        TensorPrimitives.Sqrt<T>(sum, denominator);
        TensorPrimitives.Add(denominator, Of<T>(Epsilon), denominator);     // √s + ε
        TensorPrimitives.Divide(g, denominator, denominator);
        TensorPrimitives.MultiplyAdd(denominator, Of<T>(-clr), parameters, parameters);
    }
}

/// <summary>
/// RMSProp, as <c>torch.optim.RMSprop</c>: g ← g + λθ; v ← αv + (1 − α)g²; centered: ḡ ← αḡ + (1 − α)g and
/// v̂ = v − ḡ², else v̂ = v; with momentum μ: b ← μb + g/(√v̂ + ε), θ ← θ − η·b; without: θ ← θ − η·g/(√v̂ + ε).
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimiser (PyTorch's defaults; Keras' RMSprop defaults to η = 0.001, α = 0.9).</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="alpha">α, the decay of the running mean of squares.</param>
    /// <param name="epsilon">ε, added to the root.</param>
    /// <param name="weightDecay">λ, the L2 penalty added to the gradient.</param>
    /// <param name="momentum">μ; 0 for none.</param>
    /// <param name="centered">Divide by an estimate of the gradient's variance instead of its second moment.</param>
    public RmsProp(double learningRate = 0.01, double alpha = 0.99, double epsilon = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false) : base(learningRate)
    {
        Alpha = NonNegative(alpha, nameof(alpha), "0.99");
        Epsilon = NonNegative(epsilon, nameof(epsilon), "1e-8");
        WeightDecay = NonNegative(weightDecay, nameof(weightDecay), "1e-4");
        Momentum = NonNegative(momentum, nameof(momentum), "0.9");
        Centered = centered;
    }

    /// <summary>α.</summary>
    public double Alpha { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>λ.</summary>
    public double WeightDecay { get; }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether the second moment is centred.</summary>
    public bool Centered { get; }

    // 0: mean square v; 1: mean gradient ḡ; 2: momentum b; 3: decayed gradient; 4: denominator.
    /// <inheritdoc />
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc />
    protected override int BufferCount => 5;

    /// <inheritdoc />
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step)
    {
        Span<T> square = Buffer<T>(0), denominator = Buffer<T>(4);
        ReadOnlySpan<T> g = gradients;
        if (WeightDecay > 0)
        {
            Span<T> decayed = Buffer<T>(3);
            TensorPrimitives.MultiplyAdd(parameters, Of<T>(WeightDecay), gradients, decayed);
            g = decayed;
        }
        T alpha = Of<T>(Alpha), oneMinusAlpha = Of<T>(1 - Alpha);
        TensorPrimitives.Multiply(square, alpha, square);
        TensorPrimitives.Multiply(g, oneMinusAlpha, denominator);
        TensorPrimitives.MultiplyAdd(denominator, g, square, square);          // v ← αv + (1 − α)g²
        if (Centered)
        {
            Span<T> mean = Buffer<T>(1);
            TensorPrimitives.Multiply(mean, alpha, mean);
            TensorPrimitives.MultiplyAdd(g, oneMinusAlpha, mean, mean);        // ḡ ← αḡ + (1 − α)g
            TensorPrimitives.Multiply(mean, mean, denominator);
            TensorPrimitives.Subtract(square, denominator, denominator);       // v − ḡ²
            TensorPrimitives.Sqrt<T>(denominator, denominator);
        }
        else TensorPrimitives.Sqrt<T>(square, denominator);
        TensorPrimitives.Add(denominator, Of<T>(Epsilon), denominator);        // √v̂ + ε
        TensorPrimitives.Divide(g, denominator, denominator);
        if (Momentum > 0)
        {
            Span<T> b = Buffer<T>(2);
            TensorPrimitives.MultiplyAdd(b, Of<T>(Momentum), denominator, b);  // b ← μb + g/(√v̂ + ε)
            TensorPrimitives.MultiplyAdd(b, Of<T>(-LearningRate), parameters, parameters);
        }
        else TensorPrimitives.MultiplyAdd(denominator, Of<T>(-LearningRate), parameters, parameters);
    }
}

/// <summary>
/// Adam, as <c>torch.optim.Adam</c>: g ← g + λθ (L2, coupled); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// with AMSGrad v̂ ← max(v̂, v), else v̂ = v; θ ← θ − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε).
/// See <see cref="AdamW"/> for decoupled weight decay.
/// </summary>
public sealed class Adam : Optimizer
{
    /// <summary>Creates the optimiser (PyTorch's and Keras' defaults).</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="beta1">β₁, the decay of the first-moment estimate.</param>
    /// <param name="beta2">β₂, the decay of the second-moment estimate.</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="weightDecay">λ, an L2 penalty added to the gradient (PyTorch's Adam; prefer <see cref="AdamW"/>).</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        double weightDecay = 0, bool amsgrad = false) : base(learningRate)
    {
        Beta1 = Fraction(beta1, nameof(beta1), "0.9");
        Beta2 = Fraction(beta2, nameof(beta2), "0.999");
        Epsilon = NonNegative(epsilon, nameof(epsilon), "1e-8");
        WeightDecay = NonNegative(weightDecay, nameof(weightDecay), "1e-4");
        AmsGrad = amsgrad;
    }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>λ (coupled L2).</summary>
    public double WeightDecay { get; }

    /// <summary>Whether AMSGrad is used.</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc />
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc />
    protected override int BufferCount => AdamCore.Buffers;

    /// <inheritdoc />
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step)
    {
        ReadOnlySpan<T> g = gradients;
        if (WeightDecay > 0)
        {
            Span<T> decayed = Buffer<T>(3);
            TensorPrimitives.MultiplyAdd(parameters, Of<T>(WeightDecay), gradients, decayed);
            g = decayed;
        }
        AdamCore.Update(parameters, g, step, LearningRate, Beta1, Beta2, Epsilon, AmsGrad, Buffer<T>(0), Buffer<T>(1), Buffer<T>(2), Buffer<T>(4));
    }
}

/// <summary>
/// AdamW, as <c>torch.optim.AdamW</c>: decoupled weight decay θ ← θ·(1 − ηλ), then the <see cref="Adam"/> update
/// without an L2 term.
/// </summary>
public sealed class AdamW : Optimizer
{
    /// <summary>Creates the optimiser (PyTorch's defaults).</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="weightDecay">λ, decoupled: each step multiplies the parameters by 1 − ηλ.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    public AdamW(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        double weightDecay = 0.01, bool amsgrad = false) : base(learningRate)
    {
        Beta1 = Fraction(beta1, nameof(beta1), "0.9");
        Beta2 = Fraction(beta2, nameof(beta2), "0.999");
        Epsilon = NonNegative(epsilon, nameof(epsilon), "1e-8");
        WeightDecay = NonNegative(weightDecay, nameof(weightDecay), "0.01");
        AmsGrad = amsgrad;
    }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>λ (decoupled).</summary>
    public double WeightDecay { get; }

    /// <summary>Whether AMSGrad is used.</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc />
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc />
    protected override int BufferCount => AdamCore.Buffers;

    /// <inheritdoc />
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, long step)
    {
        if (WeightDecay > 0)
            TensorPrimitives.Multiply(parameters, Of<T>(1 - LearningRate * WeightDecay), parameters);
        AdamCore.Update(parameters, gradients, step, LearningRate, Beta1, Beta2, Epsilon, AmsGrad, Buffer<T>(0), Buffer<T>(1), Buffer<T>(2), Buffer<T>(4));
    }
}

/// <summary>The update Adam and AdamW share (torch.optim's single-tensor implementation).</summary>
internal static class AdamCore
{
    /// <summary>0: m; 1: v; 2: max v (AMSGrad); 3: the L2-decayed gradient (Adam); 4: scratch.</summary>
    public const int Buffers = 5;

    public static void Update<T>(Span<T> parameters, ReadOnlySpan<T> g, long step, double learningRate, double beta1, double beta2,
        double epsilon, bool amsgrad, Span<T> m, Span<T> v, Span<T> vMax, Span<T> work) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double biasCorrection1 = 1 - Math.Pow(beta1, step), biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = learningRate / biasCorrection1;
        if (!amsgrad)
        {
            Fused(parameters, g, m, v, T.CreateChecked(beta1), T.CreateChecked(1 - beta1), T.CreateChecked(beta2), T.CreateChecked(1 - beta2),
                T.CreateChecked(Math.Sqrt(biasCorrection2)), T.CreateChecked(epsilon), T.CreateChecked(-stepSize));
            return;
        }
        TensorPrimitives.Multiply(m, T.CreateChecked(beta1), m);
        TensorPrimitives.MultiplyAdd(g, T.CreateChecked(1 - beta1), m, m);           // m ← β₁m + (1 − β₁)g
        TensorPrimitives.Multiply(v, T.CreateChecked(beta2), v);
        TensorPrimitives.Multiply(g, T.CreateChecked(1 - beta2), work);
        TensorPrimitives.MultiplyAdd(work, g, v, v);                                  // v ← β₂v + (1 − β₂)g²
        ReadOnlySpan<T> second = v;
        if (amsgrad)
        {
            TensorPrimitives.Max(vMax, v, vMax);
            second = vMax;
        }
        TensorPrimitives.Sqrt(second, work);
        TensorPrimitives.Divide(work, T.CreateChecked(Math.Sqrt(biasCorrection2)), work);
        TensorPrimitives.Add(work, T.CreateChecked(epsilon), work);                  // √v̂ / √(1 − β₂ᵗ) + ε
        TensorPrimitives.Divide(m, work, work);
        TensorPrimitives.MultiplyAdd(work, T.CreateChecked(-stepSize), parameters, parameters);
    }

    /// <summary>The update without AMSGrad in one pass over θ, g, m and v: the operations of the pass-by-pass form above
    /// (each a separate rounding, no fused multiply-add, in the same order), so the results are the same bits; a chunk's
    /// ten passes over L1 become one. Vector512 where the JIT accelerates it (a JIT-time constant), else Vector256, then
    /// scalars for the last values.</summary>
    internal static void Fused<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> moment1, Span<T> moment2, T beta1, T oneMinusBeta1,
        T beta2, T oneMinusBeta2, T rootCorrection2, T epsilon, T minusStepSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int length = parameters.Length;
        if (gradients.Length != length || moment1.Length != length || moment2.Length != length)
            throw new ArgumentException("Adam's parameters, gradients and moments must have the same length.", nameof(gradients));
        ref T p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(parameters);
        ref T gr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(gradients);
        ref T m = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(moment1);
        ref T v = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(moment2);
        nuint i = 0, n = (nuint)length;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var b1 = Vector512.Create(beta1); var c1 = Vector512.Create(oneMinusBeta1);
            var b2 = Vector512.Create(beta2); var c2 = Vector512.Create(oneMinusBeta2);
            var rc = Vector512.Create(rootCorrection2); var e = Vector512.Create(epsilon);
            var s = Vector512.Create(minusStepSize);
            for (nuint count = (nuint)Vector512<T>.Count; i + count <= n; i += count)
            {
                var gv = Vector512.LoadUnsafe(ref gr, i);
                var mv = gv * c1 + Vector512.LoadUnsafe(ref m, i) * b1;
                var vv = c2 * gv * gv + Vector512.LoadUnsafe(ref v, i) * b2;
                mv.StoreUnsafe(ref m, i);
                vv.StoreUnsafe(ref v, i);
                var d = mv / (Vector512.Sqrt(vv) / rc + e);
                (d * s + Vector512.LoadUnsafe(ref p, i)).StoreUnsafe(ref p, i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var b1 = Vector256.Create(beta1); var c1 = Vector256.Create(oneMinusBeta1);
            var b2 = Vector256.Create(beta2); var c2 = Vector256.Create(oneMinusBeta2);
            var rc = Vector256.Create(rootCorrection2); var e = Vector256.Create(epsilon);
            var s = Vector256.Create(minusStepSize);
            for (nuint count = (nuint)Vector256<T>.Count; i + count <= n; i += count)
            {
                var gv = Vector256.LoadUnsafe(ref gr, i);
                var mv = gv * c1 + Vector256.LoadUnsafe(ref m, i) * b1;
                var vv = c2 * gv * gv + Vector256.LoadUnsafe(ref v, i) * b2;
                mv.StoreUnsafe(ref m, i);
                vv.StoreUnsafe(ref v, i);
                var d = mv / (Vector256.Sqrt(vv) / rc + e);
                (d * s + Vector256.LoadUnsafe(ref p, i)).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            T gv = System.Runtime.CompilerServices.Unsafe.Add(ref gr, i);
            T mv = gv * oneMinusBeta1 + System.Runtime.CompilerServices.Unsafe.Add(ref m, i) * beta1;
            T vv = oneMinusBeta2 * gv * gv + System.Runtime.CompilerServices.Unsafe.Add(ref v, i) * beta2;
            System.Runtime.CompilerServices.Unsafe.Add(ref m, i) = mv;
            System.Runtime.CompilerServices.Unsafe.Add(ref v, i) = vv;
            System.Runtime.CompilerServices.Unsafe.Add(ref p, i) = mv / (T.Sqrt(vv) / rootCorrection2 + epsilon) * minusStepSize + System.Runtime.CompilerServices.Unsafe.Add(ref p, i);
        }
    }
}
