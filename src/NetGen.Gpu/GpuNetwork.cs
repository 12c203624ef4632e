using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace NetGen.Gpu;

/// <summary>
/// The base of every generated GPU network (<c>MyNetwork.Gpu</c>): parameters, gradients, state, optimiser state and
/// activations live on the accelerator for the network's lifetime; kernels are loaded once, by the constructor.
/// <para>
/// The API mirrors the CPU network's: <see cref="Forward"/>, <see cref="Loss(ReadOnlySpan{T})"/>,
/// <see cref="Backward(ReadOnlySpan{T})"/>, <see cref="ZeroGradients"/>, <see cref="TrainStep(ReadOnlySpan{T}, ReadOnlySpan{int}, Optimizer, int)"/>,
/// with the built-in optimisers (<see cref="Sgd"/>, <see cref="Adagrad"/>, <see cref="RmsProp"/>, <see cref="Adam"/>,
/// <see cref="AdamW"/>, clipping included) applied by generated kernels with the CPU optimiser's settings. One
/// difference: <c>TrainStep</c> returns nothing, because reading the loss back is a host round trip that would stall
/// the device every step; call <see cref="Loss()"/> when you want it (it is the loss of the step's forward pass,
/// before the update, as the CPU <c>TrainStep</c> returns).
/// </para>
/// <para>
/// Parameters move between the CPU and GPU variants with <see cref="CopyFrom"/> and <see cref="CopyTo"/>: train on
/// one, run on the other. The constructor starts from the CPU network's initialisation, so the same seed gives the
/// same weights on both.
/// </para>
/// <para>
/// A GPU network is single-threaded, as the CPU network is: a second thread entering a public call while another is
/// inside gets an <see cref="InvalidOperationException"/> naming the network and the fix (docs/threading.md).
/// </para>
/// </summary>
/// <typeparam name="T">float or double, as the network's <c>Precision</c>.</typeparam>
public abstract class GpuNetwork<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>How many partial sums a reduction kernel (clip-by-norm, weight penalties) writes.</summary>
    public const int PartialCount = 256;

    private readonly List<MemoryBuffer> _buffers = new();
    private readonly MemoryBuffer1D<T, Stride1D.Dense> _p, _g, _s, _target, _sampleLoss, _partials, _penaltyPartials, _clip, _lossSum;
    private readonly T[] _hostOutput, _hostTarget, _hostLoss, _hostPartials = new T[PartialCount], _hostLossSum = new T[2];
    private readonly string _name;
    private MemoryBuffer1D<T, Stride1D.Dense>[] _optimizerState = [];
    private Optimizer? _optimizer;
    private int _batch, _targetBatch = -1;
    private bool _disposed, _penaltyReady;

    /// <summary>Allocates the shared buffers and uploads <paramref name="initial"/>'s parameters and state.</summary>
    /// <param name="device">The accelerator.</param>
    /// <param name="initial">A CPU instance of the same network: its sizes, initial parameters and state.</param>
    /// <param name="maxBatch">The largest batch the network will be given.</param>
    protected GpuNetwork(GpuDevice device, INetwork<T> initial, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(initial);
        device.ThrowIfDisposed(initial.GetType().Name + ".Gpu");
        if (maxBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "maxBatch must be at least 1: it is the largest batch Forward will be given.");
        Device = device;
        MaxBatch = maxBatch;
        InputSize = initial.InputSize;
        OutputSize = initial.OutputSize;
        ParameterCount = initial.ParameterCount;
        StateCount = initial.State.Length;
        _name = initial.GetType().Name + ".Gpu";
        _p = Allocate(ParameterCount);
        _g = Allocate(ParameterCount);
        _s = Allocate(StateCount);
        _target = Allocate((long)maxBatch * OutputSize);
        _sampleLoss = Allocate(maxBatch);
        _partials = Allocate(PartialCount);
        _penaltyPartials = Allocate(PartialCount);
        _clip = Allocate(1);
        _lossSum = Allocate(2);
        _hostOutput = new T[maxBatch * OutputSize];
        _hostTarget = new T[maxBatch * OutputSize];
        _hostLoss = new T[maxBatch];
        CopyFrom(initial);
        _g.View.MemSetToZero();
    }

    /// <summary>The device the network lives on.</summary>
    public GpuDevice Device { get; }

    /// <summary>The ILGPU accelerator (for the generated code's kernel loading and allocations).</summary>
    protected Accelerator Accelerator => Device.Accelerator;

    /// <summary>Values per input sample.</summary>
    public int InputSize { get; }

    /// <summary>Values per output sample.</summary>
    public int OutputSize { get; }

    /// <summary>Number of parameters.</summary>
    public long ParameterCount { get; }

    /// <summary>Number of non-trainable state values (batch-norm running statistics).</summary>
    public int StateCount { get; }

    /// <summary>The largest batch the buffers hold.</summary>
    public int MaxBatch { get; }

    /// <summary>Training mode (dropout on, batch-norm batch statistics) or inference mode, as the CPU network's.</summary>
    public bool Training { get; set; } = true;

    /// <summary>The parameters on the device (weights then bias per layer, as the CPU network's <c>Parameters</c>).</summary>
    protected ArrayView<T> P => _p.View;

    /// <summary>∂E/∂parameters on the device.</summary>
    protected ArrayView<T> G => _g.View;

    /// <summary>The non-trainable state on the device.</summary>
    protected ArrayView<T> S => _s.View;

    /// <summary>The targets of the current batch (one-hot for labels).</summary>
    protected ArrayView<T> Target => _target.View;

    /// <summary>Per-sample loss terms written by <see cref="RunLoss"/>: their sum is the batch's loss.</summary>
    protected ArrayView<T> SampleLoss => _sampleLoss.View;

    /// <summary><see cref="PartialCount"/> partial sums written by reduction kernels.</summary>
    protected ArrayView<T> Partials => _partials.View;

    /// <summary><see cref="PartialCount"/> partial sums of the weight penalties, written by <see cref="RunPenalty"/>.</summary>
    protected ArrayView<T> PenaltyPartials => _penaltyPartials.View;

    /// <summary>One value: the clip-by-norm coefficient of the current step (read only when clipping by norm).</summary>
    protected ArrayView<T> Clip => _clip.View;

    /// <summary>The input buffer a0 (batch × InputSize).</summary>
    protected abstract ArrayView<T> InputView { get; }

    /// <summary>The output buffer a{L}.</summary>
    protected abstract ArrayView<T> OutputView { get; }

    /// <summary>∂E/∂output, d{L}.</summary>
    protected abstract ArrayView<T> OutputGradientView { get; }

    /// <summary>∂E/∂input, d0.</summary>
    protected abstract ArrayView<T> InputGradientView { get; }

    /// <summary>Launches every layer's forward kernels on a0 → a{L}.</summary>
    protected abstract void RunForward(int batch, bool training);

    /// <summary>Launches the loss kernel: per-sample terms into <see cref="SampleLoss"/>, scaled so their sum is the loss.</summary>
    protected abstract void RunLoss(int batch);

    /// <summary>Launches the loss-gradient kernel (∂E/∂ of the loss input, from <see cref="Target"/>) and the backward
    /// kernels from there, adding parameter gradients into <see cref="G"/> (penalties included).</summary>
    protected abstract void RunBackwardFromLoss(int batch);

    /// <summary>Launches the kernel that adds batch × the batch's loss (the <see cref="SampleLoss"/> terms, plus the
    /// <see cref="PenaltyPartials"/> when <paramref name="penalty"/>) to <c>sum[0]</c> and batch to <c>sum[1]</c>, on the device.</summary>
    protected abstract void RunLossAccumulate(int batch, bool penalty, ArrayView<T> sum);

    /// <summary>Launches the backward kernels from d{L} (already on the device); d0 only when <paramref name="inputGradient"/>.</summary>
    protected abstract void RunBackwardFromOutput(int batch, bool inputGradient);

    /// <summary>Checks an input batch on the host before it is uploaded (an Embedding's token ids, with the CPU network's
    /// message); nothing by default.</summary>
    protected virtual void CheckInput(ReadOnlySpan<T> input, int batch)
    {
    }

    /// <summary>Class labels per sample: 1, or the steps of a sequence output (a per-step loss takes one label per step).</summary>
    protected virtual int LabelsPerSample => 1;

    /// <summary>Whether any layer has an L1/L2 weight penalty.</summary>
    protected virtual bool HasPenalty => false;

    /// <summary>Launches the penalty kernel: partial sums of λ₁|w| + λ₂w² into <see cref="PenaltyPartials"/>.</summary>
    protected virtual void RunPenalty()
    {
    }

    /// <summary>Launches the update kernel for <paramref name="kind"/> over every parameter.</summary>
    protected abstract void RunUpdate(GpuUpdateKind kind, GpuUpdateArgs<T> args, ArrayView<T> state0, ArrayView<T> state1, ArrayView<T> state2);

    /// <summary>Launches the clip-by-norm kernels: partial sums of the (value-clipped) squared gradient, then the
    /// coefficient min(1, ClipNorm/(‖g‖ + 1e-6)) into <see cref="Clip"/>.</summary>
    protected abstract void RunClipNorm(GpuUpdateArgs<T> args);

    /// <summary>Bytes of device memory the network holds now: parameters, gradients, state, activations and their
    /// gradients for <see cref="MaxBatch"/> samples, layer scratch, and the optimiser's state once a step has run.</summary>
    public long DeviceBytes => _buffers.Sum(b => b.LengthInBytes);

    /// <summary>Allocates a device buffer released with the network (at least one element, so views are valid).</summary>
    protected MemoryBuffer1D<TElement, Stride1D.Dense> Allocate<TElement>(long length) where TElement : unmanaged
    {
        var buffer = Accelerator.Allocate1D<TElement>(Math.Max(1, length));
        buffer.View.MemSetToZero();
        _buffers.Add(buffer);
        return buffer;
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Allocate(long length) => Allocate<T>(length);

    // ---- Passes ------------------------------------------------------------------------------------------------

    /// <summary>Uploads <paramref name="input"/> (batch × InputSize), runs the forward pass on the device and returns the
    /// output, copied back (batch × OutputSize).</summary>
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch = 1)
    {
        using var hold = Enter(nameof(Forward));
        ForwardOnDevice(input, batch);
        var output = _hostOutput.AsSpan(0, batch * OutputSize);
        OutputView.SubView(0, output.Length).CopyToCPU(output);
        return output;
    }

    /// <summary>As <see cref="Forward"/>, leaving the output on the device (nothing is copied back): the first half of a
    /// training step.</summary>
    public void ForwardOnDevice(ReadOnlySpan<T> input, int batch = 1)
    {
        using var hold = Enter(nameof(ForwardOnDevice));
        ThrowIfDisposed();
        Guard.Batch(batch, MaxBatch, _name);
        Guard.BatchSpan(input.Length, batch, InputSize, nameof(input));
        CheckInput(input, batch);
        InputView.SubView(0, input.Length).CopyFromCPU(input);
        _batch = batch;
        _targetBatch = -1;
        _penaltyReady = false;
        RunForward(batch, Training);
    }

    /// <summary>The loss of the last forward pass against <paramref name="target"/> (batch × OutputSize), weight
    /// penalties included, as the CPU network's <c>Loss</c>. Reads values back: a host round trip.</summary>
    public T Loss(ReadOnlySpan<T> target)
    {
        using var hold = Enter(nameof(Loss));
        UploadTarget(target);
        return Loss();
    }

    /// <summary>The loss of the last forward pass against class indices (read as one-hot targets).</summary>
    public T Loss(ReadOnlySpan<int> labels)
    {
        using var hold = Enter(nameof(Loss));
        UploadLabels(labels);
        return Loss();
    }

    /// <summary>The loss of the last forward pass against the targets last given to <c>Loss</c>, <c>Backward</c> or
    /// <c>TrainStep</c>: after a <c>TrainStep</c>, the step's loss before its update. Reads values back.</summary>
    public T Loss()
    {
        using var hold = Enter(nameof(Loss));
        ThrowIfDisposed();
        Guard.ForwardDone(_batch, _name);
        if (_targetBatch != _batch)
            throw new InvalidOperationException($"{_name}: no targets for the last forward pass. Call Loss(target) or Loss(labels), or TrainStep, first.");
        RunLoss(_batch);
        var terms = _hostLoss.AsSpan(0, _batch);
        SampleLoss.SubView(0, _batch).CopyToCPU(terms);
        T loss = T.Zero;
        foreach (T term in terms) loss += term;
        if (HasPenalty)
        {
            if (!_penaltyReady) RunPenalty();   // after a TrainStep the partials hold the penalty before its update
            PenaltyPartials.CopyToCPU(_hostPartials.AsSpan());
            foreach (T part in _hostPartials) loss += part;
        }
        return loss;
    }

    /// <summary>Adds the loss of the last forward pass (as <see cref="Loss()"/> would return it: after a <c>TrainStep</c>,
    /// the step's loss before its update) to a running sum kept on the device. Nothing is read back, so a training loop
    /// can call it every step and read the mean once per epoch with <see cref="TakeMeanLoss"/> (Keras' epoch loss).</summary>
    public void AccumulateLoss()
    {
        using var hold = Enter(nameof(AccumulateLoss));
        ThrowIfDisposed();
        Guard.ForwardDone(_batch, _name);
        if (_targetBatch != _batch)
            throw new InvalidOperationException($"{_name}: no targets for the last forward pass. Call AccumulateLoss after TrainStep, Backward or Loss(target).");
        RunLoss(_batch);
        if (HasPenalty && !_penaltyReady)
        {
            RunPenalty();
            _penaltyReady = true;
        }
        RunLossAccumulate(_batch, HasPenalty, _lossSum.View);
    }

    /// <summary>The mean of the losses added by <see cref="AccumulateLoss"/> since the last call, weighted by their batch
    /// sizes as <c>Trainer.Fit</c>'s epoch loss is (NaN when none were added), read back in one copy; the running sum
    /// starts again from zero.</summary>
    public T TakeMeanLoss()
    {
        using var hold = Enter(nameof(TakeMeanLoss));
        ThrowIfDisposed();
        ((ArrayView<T>)_lossSum.View).CopyToCPU(_hostLossSum.AsSpan());
        _lossSum.View.MemSetToZero();
        return _hostLossSum[1] == T.Zero ? T.NaN : _hostLossSum[0] / _hostLossSum[1];
    }

    /// <summary>Backpropagates the loss of the last forward pass against <paramref name="target"/>, adding ∂E/∂θ into the
    /// device's gradients. No values are read back.</summary>
    public void Backward(ReadOnlySpan<T> target)
    {
        using var hold = Enter(nameof(Backward));
        UploadTarget(target);
        RunBackwardFromLoss(_batch);
    }

    /// <summary>As <see cref="Backward(ReadOnlySpan{T})"/>, with class indices as targets.</summary>
    public void Backward(ReadOnlySpan<int> labels)
    {
        using var hold = Enter(nameof(Backward));
        UploadLabels(labels);
        RunBackwardFromLoss(_batch);
    }

    /// <summary>Backpropagates a given ∂E/∂output (batch × OutputSize) and returns ∂E/∂input in
    /// <paramref name="inputGradient"/> (batch × InputSize, or empty when not wanted), for composing networks.
    /// Weight penalties are not added (as on the CPU).</summary>
    public void Backward(ReadOnlySpan<T> outputGradient, Span<T> inputGradient)
    {
        using var hold = Enter(nameof(Backward));
        ThrowIfDisposed();
        Guard.ForwardDone(_batch, _name);
        Guard.BatchSpan(outputGradient.Length, _batch, OutputSize, nameof(outputGradient));
        if (!inputGradient.IsEmpty) Guard.BatchSpan(inputGradient.Length, _batch, InputSize, nameof(inputGradient));
        OutputGradientView.SubView(0, outputGradient.Length).CopyFromCPU(outputGradient);
        RunBackwardFromOutput(_batch, !inputGradient.IsEmpty);
        if (!inputGradient.IsEmpty) InputGradientView.SubView(0, inputGradient.Length).CopyToCPU(inputGradient);
    }

    /// <summary>Sets every gradient to zero on the device.</summary>
    public void ZeroGradients()
    {
        using var hold = Enter(nameof(ZeroGradients));
        ThrowIfDisposed();
        _g.View.MemSetToZero();
    }

    /// <summary>One step on the device: zero the gradients, forward, backward, update. Nothing is read back; call
    /// <see cref="Loss()"/> for the step's loss.</summary>
    public void TrainStep(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Optimizer optimizer, int batch = 1)
    {
        using var hold = Enter(nameof(TrainStep));
        ArgumentNullException.ThrowIfNull(optimizer);
        ZeroGradients();
        ForwardOnDevice(input, batch);
        Backward(target);
        KeepPenalty();
        Step(optimizer);
    }

    /// <summary>As <see cref="TrainStep(ReadOnlySpan{T}, ReadOnlySpan{T}, Optimizer, int)"/>, with class indices as targets.</summary>
    public void TrainStep(ReadOnlySpan<T> input, ReadOnlySpan<int> labels, Optimizer optimizer, int batch = 1)
    {
        using var hold = Enter(nameof(TrainStep));
        ArgumentNullException.ThrowIfNull(optimizer);
        ZeroGradients();
        ForwardOnDevice(input, batch);
        Backward(labels);
        KeepPenalty();
        Step(optimizer);
    }

    /// <summary>One step with a custom loss (<see cref="ILoss{T}"/>): zero the gradients, forward on the device, the
    /// output copied back, ∂E/∂output formed by <paramref name="loss"/> on the host and uploaded, backward and update on
    /// the device. Returns the loss before the update. Two host round trips per step (the output and its gradient), so a
    /// loss written for the host runs unchanged. Not for networks with weight penalties (they would be left out).</summary>
    public T TrainStep(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ILoss<T> loss, Optimizer optimizer, int batch = 1)
    {
        using var hold = Enter(nameof(TrainStep));
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (HasPenalty)
            throw new NotSupportedException($"{_name} declares L1/L2 weight penalties, which the custom-loss path on the GPU does not add: train it on the CPU (NetworkLoss.TrainStep), or add the penalty to the loss.");
        ZeroGradients();
        var output = Forward(input, batch);
        _lossGradient ??= new T[(long)MaxBatch * OutputSize];
        var gradient = _lossGradient.AsSpan(0, output.Length);
        T value = loss.ValueAndGradient(output, target, batch, gradient);
        Backward(gradient, []);
        Step(optimizer);
        return value;
    }

    private T[]? _lossGradient;

    /// <summary>Computes the weight penalties of the parameters before the update on the device, so <see cref="Loss()"/>
    /// after the step gives the CPU TrainStep's loss (data term and penalty, both before the update).</summary>
    private void KeepPenalty()
    {
        if (!HasPenalty) return;
        RunPenalty();
        _penaltyReady = true;
    }

    /// <summary>Applies one update of <paramref name="optimizer"/> (its current learning rate and settings) to the
    /// device's parameters from the device's gradients, keeping its state (momentum, moments) on the device. The
    /// optimiser's <see cref="Optimizer.Iterations"/> advances as on the CPU. An optimiser belongs to one network:
    /// passing another instance starts fresh state.</summary>
    public void Step(Optimizer optimizer)
    {
        using var hold = Enter(nameof(Step));
        ArgumentNullException.ThrowIfNull(optimizer);
        ThrowIfDisposed();
        var (kind, stateCount) = optimizer switch
        {
            Sgd => (GpuUpdateKind.Sgd, 1),
            Adagrad => (GpuUpdateKind.Adagrad, 1),
            RmsProp => (GpuUpdateKind.RmsProp, 3),
            Adam or AdamW => (GpuUpdateKind.Adam, 3),
            _ => throw new NotSupportedException(
                $"{optimizer.GetType().Name} has no GPU update kernel: the GPU runs Sgd, Adagrad, RmsProp, Adam and AdamW. " +
                "Use one of them, or train the CPU network."),
        };
        if (!ReferenceEquals(optimizer, _optimizer)) StartState(optimizer, stateCount);
        long step = optimizer.CountExternalStep();
        var args = Arguments(optimizer, step);
        if (optimizer.ClipNorm is not null) RunClipNorm(args);
        var s = _optimizerState;
        RunUpdate(kind, args, s[0].View, s[Math.Min(1, s.Length - 1)].View, s[Math.Min(2, s.Length - 1)].View);
    }

    private void StartState(Optimizer optimizer, int count)
    {
        foreach (var buffer in _optimizerState) { _buffers.Remove(buffer); buffer.Dispose(); }
        _optimizerState = new MemoryBuffer1D<T, Stride1D.Dense>[count];
        for (int i = 0; i < count; i++) _optimizerState[i] = Allocate(ParameterCount);
        if (optimizer is Adagrad { InitialAccumulatorValue: > 0 } adagrad)
        {
            var fill = new T[ParameterCount];
            Array.Fill(fill, T.CreateChecked(adagrad.InitialAccumulatorValue));
            _optimizerState[0].View.CopyFromCPU(fill);
        }
        _optimizer = optimizer;
    }

    /// <summary>The step's scalars, following the CPU optimisers' formulas (src/NetGen/Optimizers.cs).</summary>
    private static GpuUpdateArgs<T> Arguments(Optimizer optimizer, long step)
    {
        static T Of(double value) => T.CreateChecked(value);
        var a = new GpuUpdateArgs<T>
        {
            LearningRate = Of(optimizer.LearningRate),
            DecayFactor = T.One,
            ClipValue = optimizer.ClipValue is double v ? Of(v) : T.PositiveInfinity,
            ClipNorm = optimizer.ClipNorm is double n ? Of(n) : T.Zero,
            ClipByNorm = optimizer.ClipNorm is null ? 0 : 1,
        };
        switch (optimizer)
        {
            case Sgd sgd:
                a.Momentum = Of(sgd.Momentum);
                a.WeightDecay = Of(sgd.WeightDecay);
                a.Variant = sgd.Nesterov ? 1 : 0;
                break;
            case Adagrad adagrad:
                a.LearningRate = Of(optimizer.LearningRate / (1 + (step - 1) * adagrad.LearningRateDecay));
                a.WeightDecay = Of(adagrad.WeightDecay);
                a.Epsilon = Of(adagrad.Epsilon);
                break;
            case RmsProp rms:
                a.Beta1 = Of(rms.Alpha);
                a.Epsilon = Of(rms.Epsilon);
                a.WeightDecay = Of(rms.WeightDecay);
                a.Momentum = Of(rms.Momentum);
                a.Variant = rms.Centered ? 1 : 0;
                break;
            case Adam adam:
                SetAdam(ref a, optimizer.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.AmsGrad, step);
                a.WeightDecay = Of(adam.WeightDecay);
                break;
            case AdamW adamW:
                SetAdam(ref a, optimizer.LearningRate, adamW.Beta1, adamW.Beta2, adamW.Epsilon, adamW.AmsGrad, step);
                a.DecayFactor = Of(1 - optimizer.LearningRate * adamW.WeightDecay);
                break;
        }
        return a;
    }

    private static void SetAdam(ref GpuUpdateArgs<T> a, double learningRate, double beta1, double beta2, double epsilon, bool amsgrad, long step)
    {
        a.LearningRate = T.CreateChecked(learningRate / (1 - Math.Pow(beta1, step)));   // η/(1 − β₁ᵗ)
        a.Beta1 = T.CreateChecked(beta1);
        a.Beta2 = T.CreateChecked(beta2);
        a.BiasCorrection2Sqrt = T.CreateChecked(Math.Sqrt(1 - Math.Pow(beta2, step)));
        a.Epsilon = T.CreateChecked(epsilon);
        a.Variant = amsgrad ? 1 : 0;
    }

    private void UploadTarget(ReadOnlySpan<T> target)
    {
        ThrowIfDisposed();
        Guard.ForwardDone(_batch, _name);
        Guard.BatchSpan(target.Length, _batch, OutputSize, nameof(target));
        Target.SubView(0, target.Length).CopyFromCPU(target);
        _targetBatch = _batch;
    }

    private void UploadLabels(ReadOnlySpan<int> labels)
    {
        ThrowIfDisposed();
        Guard.ForwardDone(_batch, _name);
        int rows = _batch * LabelsPerSample, classes = OutputSize / LabelsPerSample;
        Guard.Labels(labels, rows, classes, nameof(labels));
        Losses.OneHot<T>(labels, classes, _hostTarget);
        UploadTarget(_hostTarget.AsSpan(0, _batch * OutputSize));
    }

    // ---- Moving parameters between the CPU and the device ------------------------------------------------------

    /// <summary>Copies <paramref name="cpu"/>'s parameters and state (batch-norm running statistics) to the device.</summary>
    /// <exception cref="ArgumentException">The CPU network has other sizes (another architecture).</exception>
    public void CopyFrom(INetwork<T> cpu)
    {
        using var hold = Enter(nameof(CopyFrom));
        ArgumentNullException.ThrowIfNull(cpu);
        ThrowIfDisposed();
        CheckSameArchitecture(cpu);
        P.CopyFromCPU((ReadOnlySpan<T>)cpu.Parameters);
        if (StateCount > 0) S.SubView(0, StateCount).CopyFromCPU((ReadOnlySpan<T>)cpu.State);
    }

    /// <summary>Copies the device's parameters and state into <paramref name="cpu"/> (e.g. to run or save the network
    /// trained here on the CPU).</summary>
    public void CopyTo(INetwork<T> cpu)
    {
        using var hold = Enter(nameof(CopyTo));
        ArgumentNullException.ThrowIfNull(cpu);
        ThrowIfDisposed();
        CheckSameArchitecture(cpu);
        P.CopyToCPU(cpu.Parameters);
        if (StateCount > 0) S.SubView(0, StateCount).CopyToCPU(cpu.State);
    }

    /// <summary>A copy of the parameters (read back from the device).</summary>
    public T[] GetParameters() => Download(P, ParameterCount);

    /// <summary>A copy of the gradients (read back from the device).</summary>
    public T[] GetGradients() => Download(G, ParameterCount);

    /// <summary>A copy of the non-trainable state (read back from the device).</summary>
    public T[] GetState() => Download(S, StateCount);

    /// <summary>Replaces the parameters on the device.</summary>
    public void SetParameters(ReadOnlySpan<T> values)
    {
        using var hold = Enter(nameof(SetParameters));
        ThrowIfDisposed();
        Guard.SameLength((int)ParameterCount, values.Length, nameof(values));
        P.CopyFromCPU(values);
    }

    /// <summary>Reads back <paramref name="length"/> values of a device view (for tests and inspection).</summary>
    /// <param name="view">The device view.</param>
    /// <param name="length">How many values, from its start.</param>
    /// <param name="caller">The public read-back that called it (GetParameters, a layer's Get…Output), which a second
    /// thread's error names: filled in by the compiler.</param>
    protected T[] Download(ArrayView<T> view, long length, [System.Runtime.CompilerServices.CallerMemberName] string caller = "")
    {
        using var hold = Enter(caller);
        ThrowIfDisposed();
        var values = new T[length];
        if (length > 0) view.SubView(0, length).CopyToCPU(values.AsSpan());
        return values;
    }

    private void CheckSameArchitecture(INetwork<T> cpu)
    {
        if (cpu.ParameterCount != ParameterCount || cpu.State.Length != StateCount || cpu.InputSize != InputSize || cpu.OutputSize != OutputSize)
            throw new ArgumentException(
                $"{cpu.GetType().Name} ({cpu.InputSize} → {cpu.OutputSize}, {cpu.ParameterCount} parameters, {cpu.State.Length} state values) is not " +
                $"the network {_name} was generated for ({InputSize} → {OutputSize}, {ParameterCount} parameters, {StateCount} state values). " +
                "Copy between the CPU and GPU variants of the same network class.", nameof(cpu));
    }

    /// <summary>Waits for every queued kernel and copy.</summary>
    public void Synchronize()
    {
        using var hold = Enter(nameof(Synchronize));
        ThrowIfDisposed();
        Accelerator.Synchronize();
    }

    // ---- One thread at a time ---------------------------------------------------------------------------------------

    private int _owner;   // the managed thread id inside a public call, 0 when none (SingleThreaded.EnterDevice)

    /// <summary>Takes the network for the calling thread for one public call, released when the returned hold is
    /// disposed; a nested call on the same thread (TrainStep → Forward) passes through. Another thread inside gets an
    /// <see cref="InvalidOperationException"/> that names the network, both threads and the fix, and nothing is
    /// queued or copied. Dispose is not guarded (it must not throw); dispose a network no other thread is using.</summary>
    private Hold Enter(string method) => new(ref _owner, SingleThreaded.EnterDevice(ref _owner, _name, method));

    /// <summary>Releases the network taken by <see cref="Enter"/> when the call that took it ends.</summary>
    private ref struct Hold(ref int owner, bool entered)
    {
        private readonly ref int _owner = ref owner;

        public readonly void Dispose()
        {
            if (entered) SingleThreaded.Exit(ref _owner);
        }
    }

    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Device.ThrowIfDisposed(_name);
    }

    /// <summary>Releases every device buffer of the network.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // A disposed device has already released every buffer allocated on it; disposing them again would touch a
        // dead accelerator.
        if (!Device.IsDisposed)
            foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
        GC.SuppressFinalize(this);
    }
}
