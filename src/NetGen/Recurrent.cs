using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetGen;

/// <summary>The cell of a <see cref="RecurrentLayer{T}"/>.</summary>
public enum RecurrentCell
{
    /// <summary>Elman: h' = tanh(a), a = W_ih·x + b_ih + W_hh·h + b_hh (PyTorch <c>nn.RNN</c>).</summary>
    SimpleTanh,
    /// <summary>Elman with ReLU: h' = max(0, a) (PyTorch <c>nn.RNN(nonlinearity="relu")</c>).</summary>
    SimpleReLU,
    /// <summary>PyTorch's <c>nn.GRU</c>: gates r, z, n; the reset gate multiplies (W_hn·h + b_hn).</summary>
    Gru,
    /// <summary>PyTorch's <c>nn.LSTM</c>: gates i, f, g, o.</summary>
    Lstm,
}

/// <summary>
/// The step loops of a recurrent layer (SimpleRNN, GRU, LSTM; one or two directions) and its per-step states, which
/// back-propagation through time reads. Generated networks own one per recurrent layer, constructed with the layer's
/// literal sizes, and pass it their parameter, gradient and activation buffers.
/// <para>Layout, per direction (then the reverse direction's block, as PyTorch's <c>parameters()</c>): weight_ih
/// [G·H × F], weight_hh [G·H × H], bias_ih [G·H], bias_hh [G·H], G = 1 (SimpleRNN), 3 (GRU: r, z, n) or 4 (LSTM: i,
/// f, g, o). Sequences are [sample][step][feature], row-major.</para>
/// <para>Forward: the input products x_t·W_ihᵀ + b_ih of every sample and step are one product over batch × T rows;
/// only h_(t−1)·W_hhᵀ runs step by step. Backward (BPTT), per direction from the last step to the first:</para>
/// <code>
/// δh_t = ∂E/∂y_t + δh from step t+1
/// SimpleRNN  δa = δh ⊙ f′(a)                                       δh_(t−1) = δa·W_hh
/// LSTM       δc = δc_(t+1) + δh ⊙ o ⊙ (1 − tanh²c_t);  δi = δc ⊙ g · i(1 − i), δf = δc ⊙ c_(t−1) · f(1 − f),
///            δg = δc ⊙ i · (1 − g²), δo = δh ⊙ tanh c_t · o(1 − o);  δc_(t−1) = δc ⊙ f;  δh_(t−1) = δa·W_hh
/// GRU        δn = δh ⊙ (1 − z) · (1 − n²), δz = δh ⊙ (h_(t−1) − n) · z(1 − z), δr = δn ⊙ (W_hn·h + b_hn) · r(1 − r);
///            δa_ih = [δr, δz, δn], δa_hh = [δr, δz, δn ⊙ r];  δh_(t−1) = δh ⊙ z + δa_hh·W_hh
/// then, as one product each over every sample and step: ∂E/∂W_ih += δa_ihᵀ·x, ∂E/∂W_hh += δa_hhᵀ·h_(t−1),
/// ∂E/∂b_ih += Σ δa_ih, ∂E/∂b_hh += Σ δa_hh, ∂E/∂x = δa_ih·W_ih.
/// </code>
/// </summary>
public sealed class RecurrentLayer<T> : IParallelKernel where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentCell _cell;
    private readonly int _in, _h, _steps, _dirs, _g, _gh, _gs, _maxBatch;
    private readonly bool _returnSequences;
    private readonly T[][] _gates, _states, _cells, _cellTanh, _hiddenGradient, _carryH, _carryC;
    private readonly T[][] _inT, _hhT;   // per direction: W_ihᵀ; W_hhᵀ (broadcast form) or W_hh packed (dot form)
    private readonly long[] _inVersion, _hhVersion;   // per direction: the weights' version _inT / _hhT were made at (−1: none kept)
    private readonly bool[] _hhPacked;   // per direction: whether _hhT holds the packed form (else the transposed one)
    private ReadOnlyMemory<T> _keptFrom;   // the parameters the kept copies were made from
    private readonly T[] _dIn, _dHh, _dhNext, _dcNext, _rowH, _weightT, _hPrev, _hhBack;   // _hhBack: W_hh in panels, for BPTT
    private int _lastSteps, _lastBatch;

    /// <summary>Allocates the layer's buffers for up to <paramref name="maxBatch"/> samples of <paramref name="steps"/> steps.</summary>
    public RecurrentLayer(RecurrentCell cell, int inputSize, int units, int steps, bool bidirectional, bool returnSequences, int maxBatch)
    {
        if (inputSize < 1 || units < 1 || steps < 1 || maxBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(units), "inputSize, units, steps and maxBatch must be positive.");
        _cell = cell; _in = inputSize; _h = units; _steps = steps; _dirs = bidirectional ? 2 : 1; _returnSequences = returnSequences;
        _maxBatch = maxBatch;
        _g = cell switch { RecurrentCell.Gru => 3, RecurrentCell.Lstm => 4, _ => 1 };
        _gh = _g * _h;
        _gs = cell == RecurrentCell.Gru ? 4 * _h : _gh;   // GRU keeps W_hn·h + b_hn beside r, z, n
        _gates = new T[_dirs][]; _states = new T[_dirs][]; _cells = new T[_dirs][]; _cellTanh = new T[_dirs][]; _hiddenGradient = new T[_dirs][];
        _carryH = new T[_dirs][]; _carryC = new T[_dirs][];
        for (int d = 0; d < _dirs; d++)
        {
            _gates[d] = Buffer(maxBatch * steps * _gs);
            _states[d] = Buffer(maxBatch * (steps + 1) * _h);
            _cells[d] = cell == RecurrentCell.Lstm ? Buffer(maxBatch * (steps + 1) * _h) : [];
            _cellTanh[d] = cell == RecurrentCell.Lstm ? Buffer(maxBatch * (steps + 1) * _h) : [];   // tanh c_t, kept for BPTT
            _hiddenGradient[d] = Buffer(maxBatch * steps * _h);
            _carryH[d] = Buffer(maxBatch * _h);
            _carryC[d] = cell == RecurrentCell.Lstm ? Buffer(maxBatch * _h) : [];
        }
        _inT = new T[_dirs][]; _hhT = new T[_dirs][];
        for (int d = 0; d < _dirs; d++)
        {
            _inT[d] = Buffer(_in * _gh);
            _hhT[d] = Buffer(Math.Max(_h * _gh, RecurrentGemm.PackedRowsLength<T>(_gh, _h)));
        }
        _inVersion = [.. Enumerable.Repeat(-1L, _dirs)]; _hhVersion = [.. Enumerable.Repeat(-1L, _dirs)]; _hhPacked = new bool[_dirs];
        _dIn = Buffer(maxBatch * steps * _gh);
        _dHh = cell == RecurrentCell.Gru ? Buffer(maxBatch * steps * _gh) : _dIn;
        _dhNext = Buffer(maxBatch * _h);
        _dcNext = Buffer(maxBatch * _h);
        _rowH = Buffer(maxBatch * _gh);
        _weightT = Buffer(_in * _gh);
        _hPrev = Buffer(maxBatch * steps * _h);
        _hhBack = Buffer(_gh * _h);
    }

    /// <summary>A buffer starting on a cache line (every row of the buffers is a whole number of lines at the sizes of the
    /// benchmarks, so no vector of a row straddles two lines).</summary>
    private static T[] Buffer(int length) => AlignedArray.Allocate<T>(length);

    /// <summary>Parameters of the layer: per direction G·H·F + G·H·H + 2·G·H.</summary>
    public int ParameterCount => _dirs * DirectionBlock;

    private int DirectionBlock => _gh * _in + _gh * _h + 2 * _gh;

    /// <summary>Values per sample of the output.</summary>
    public int OutputSize => _returnSequences ? _steps * _dirs * _h : _dirs * _h;

    /// <summary>PyTorch's initialisation: every weight and bias uniform in ±1/√H.</summary>
    public void Initialize(Span<T> parameters, SeededRandom random)
    {
        Guard.SameLength(ParameterCount, parameters.Length, nameof(parameters));
        Init.Uniform(parameters, 1.0 / Math.Sqrt(_h), random);
    }

    /// <summary>The hidden state h_t of direction <paramref name="direction"/> after step t of the last forward pass,
    /// [sample][step t][unit] for the steps in input order (the reverse direction's h_t has read steps t … T).</summary>
    public void CopyHidden(int direction, Span<T> destination)
    {
        int steps = _lastSteps, batch = _lastBatch;
        Guard.SameLength(batch * steps * _h, destination.Length, nameof(destination));
        for (int n = 0; n < batch; n++)
            for (int t = 0; t < steps; t++)
                State(_states[direction], n, Slot(direction, t, steps), steps).CopyTo(destination.Slice((n * steps + t) * _h, _h));
    }

    /// <summary>∂E/∂h_t of direction <paramref name="direction"/> from the last backward pass — the gradient reaching
    /// the hidden state of step t from the output and through every later step — as [sample][step t][unit].</summary>
    public ReadOnlySpan<T> HiddenGradient(int direction) => _hiddenGradient[direction].AsSpan(0, _lastBatch * _lastSteps * _h);

    /// <summary>Sets the carried state (h, and c for an LSTM) of every sample to zero: the next <c>Step</c> starts a new sequence.</summary>
    public void ResetState()
    {
        for (int d = 0; d < _dirs; d++) { Array.Clear(_carryH[d]); Array.Clear(_carryC[d]); }
    }

    /// <summary>The carried hidden state of direction 0 (batch × H), read and written by steps with <c>carry</c>.</summary>
    public Span<T> CarriedHidden => _carryH[0];

    /// <summary>The carried cell state of an LSTM (batch × H); empty for other cells.</summary>
    public Span<T> CarriedCell => _carryC[0];

    private int Slot(int direction, int t, int steps) => direction == 0 ? t + 1 : steps - t;

    private Span<T> State(T[] states, int n, int slot, int steps) => states.AsSpan((n * (steps + 1) + slot) * _h, _h);

    /// <summary>Runs the layer over <paramref name="steps"/> steps of each sample. Without <paramref name="carry"/> the
    /// state starts at zero (a fresh sequence) and the carried state is left alone; with it the state starts from,
    /// and ends in, the carried state (a stateful step). Large products are split across
    /// <see cref="Parallelism.MaxThreads"/> threads by rows (samples) or columns, every value computed by one thread
    /// in one order: the same bits at any thread count.
    /// <para><paramref name="weightsVersion"/>: −1 (the default), or a count the caller raises before every write to
    /// <paramref name="parameters"/> (a generated network in inference mode passes its weights' version). With a count,
    /// the copies derived from the weights (W_hh packed for the dot form at batch 1 and 2, or W_hhᵀ and W_ihᵀ for the
    /// broadcast form) are kept between passes and made again only when the count or the parameters' memory
    /// changes; with −1 they are made in every pass that needs them. Kept or made anew, they are the same numbers: the
    /// outputs are the same bits either way.</para></summary>
    public void Forward(ReadOnlyMemory<T> parameters, ReadOnlyMemory<T> input, Memory<T> output, int batch, int steps, bool carry, long weightsVersion = -1)
    {
        if ((uint)(steps - 1) >= (uint)_steps) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be 1 to {_steps}.");
        if ((uint)(batch - 1) >= (uint)_maxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be 1 to {_maxBatch}.");
        if (carry && _dirs == 2)
            throw new InvalidOperationException("A bidirectional layer cannot run step by step: its reverse direction reads the sequence from the end. Use Forward on whole sequences.");
        Guard.SameLength(ParameterCount, parameters.Length, nameof(parameters));
        if (input.Length < batch * steps * _in) throw new ArgumentException($"input holds {input.Length} values; {batch} × {steps} steps × {_in} need {batch * steps * _in}.", nameof(input));
        int dh = _dirs * _h;
        _lastSteps = steps; _lastBatch = batch;
        _xParams = parameters; _xInput = input; _xBatch = batch; _xSteps = steps;
        // Few rows (batch 1 or 2 for the step product; fewer than 8 samples × steps for the input product: a
        // stateful Step): dot products with the weights' rows in place, as PyTorch stores them. More: broadcast
        // products, which read the weights transposed (copied here, on every pass, so that they always follow the
        // parameters: nothing can go stale). The input product of a whole sequence at batch 1 (28 rows × 28 features
        // in the benchmark) is a broadcast product: with so short a k the dot form's reduction across lanes costs
        // about as much as the copy and the product together, and this way batch 1 gets the larger batches' bits.
        _xByRows = batch <= 2;
        _xInByRows = batch * steps < 8;
        // Copies derived from the weights are kept between passes while the caller's version (and the parameters'
        // memory) stays the same; without a version they are made in every pass that needs them.
        bool keep = weightsVersion >= 0;
        if (keep && !parameters.Equals(_keptFrom))
        {
            Array.Fill(_inVersion, -1L); Array.Fill(_hhVersion, -1L);
            _keptFrom = parameters;
        }
        long version = keep ? weightsVersion : -1;
        var outputSpan = output.Span;
        for (int d = 0; d < _dirs; d++)
        {
            _xDir = d;
            var p = parameters.Span.Slice(d * DirectionBlock, DirectionBlock);
            if (!_xInByRows && !(keep && _inVersion[d] == version))
            {
                TransposePanels(p.Slice(0, _gh * _in), _gh, _in, _inT[d]);
                _inVersion[d] = version;
            }
            // The dot form (batch 1 and 2) over a sequence reads W_hh packed block by block (the same bits as in place);
            // without a kept copy, a stateful step of one or two steps reads it in place, as making the copy would cost
            // as much as the products. The broadcast form reads W_hhᵀ.
            bool packs = _xByRows && RecurrentGemm.PackedRowsLength<T>(_gh, _h) > 0 && (keep || steps > 2);
            if ((!_xByRows || packs) && !(keep && _hhVersion[d] == version && _hhPacked[d] == packs))
            {
                if (packs) RecurrentGemm.PackRows<T>(p.Slice(_gh * _in, _gh * _h), _gh, _h, _hhT[d]);
                else TransposePanels(p.Slice(_gh * _in, _gh * _h), _gh, _h, _hhT[d]);
                _hhVersion[d] = version; _hhPacked[d] = packs;
            }
            _xPacked = packs;
            // Input products of every sample and step at once: gates[r, 0..G·H) = b_ih + Σ_k x[r, k]·W_ihᵀ[k, :].
            Split(OpInput, (long)batch * steps * _gh * _in, batch * steps, 4);
            var states = _states[d];
            var cells = _cells[d];
            for (int n = 0; n < batch; n++)
            {
                var h0 = State(states, n, 0, steps);
                if (carry) _carryH[d].AsSpan(n * _h, _h).CopyTo(h0); else h0.Clear();
                if (_cell == RecurrentCell.Lstm)
                {
                    var c0 = State(cells, n, 0, steps);
                    if (carry) _carryC[d].AsSpan(n * _h, _h).CopyTo(c0); else c0.Clear();
                }
            }
            for (int s = 0; s < steps; s++)
            {
                _xStep = s;
                Split(OpStep, _xByRows ? 0 : (long)batch * _gh * _h, batch, 4);
            }
            // The output: every step's h (forward then reverse in each step's row), or each direction's final state.
            for (int n = 0; n < batch; n++)
            {
                if (_returnSequences)
                    for (int t = 0; t < steps; t++)
                        State(states, n, Slot(d, t, steps), steps).CopyTo(outputSpan.Slice((n * steps + t) * dh + d * _h, _h));
                else
                    State(states, n, steps, steps).CopyTo(outputSpan.Slice(n * dh + d * _h, _h));
                if (carry)
                {
                    State(states, n, steps, steps).CopyTo(_carryH[d].AsSpan(n * _h, _h));
                    if (_cell == RecurrentCell.Lstm) State(cells, n, steps, steps).CopyTo(_carryC[d].AsSpan(n * _h, _h));
                }
            }
        }
        _xParams = default; _xInput = default;
    }

    /// <summary>Back-propagation through time over the last forward pass: adds ∂E/∂θ into <paramref name="gradients"/>
    /// and, unless <paramref name="inputGradient"/> is empty, writes ∂E/∂x there. Split across threads as
    /// <see cref="Forward"/>: the same bits at any thread count.</summary>
    public void Backward(ReadOnlyMemory<T> parameters, Memory<T> gradients, ReadOnlyMemory<T> input, ReadOnlyMemory<T> outputGradient, Memory<T> inputGradient, int batch)
    {
        int steps = _lastSteps;
        if (batch != _lastBatch || steps != _steps)
            throw new InvalidOperationException("Backward needs a whole-sequence forward pass of the same batch just before it (a stateful Step is inference only).");
        Guard.SameLength(ParameterCount, parameters.Length, nameof(parameters));
        Guard.SameLength(ParameterCount, gradients.Length, nameof(gradients));
        if (outputGradient.Length < batch * OutputSize) throw new ArgumentException($"outputGradient holds {outputGradient.Length} values; {batch} samples need {batch * OutputSize}.", nameof(outputGradient));
        if (input.Length < batch * steps * _in) throw new ArgumentException($"input holds {input.Length} values; {batch} samples need {batch * steps * _in}.", nameof(input));
        if (!inputGradient.IsEmpty)
        {
            if (inputGradient.Length < batch * steps * _in) throw new ArgumentException($"inputGradient holds {inputGradient.Length} values; {batch} samples need {batch * steps * _in}.", nameof(inputGradient));
            inputGradient.Span.Slice(0, batch * steps * _in).Clear();
        }
        _xParams = parameters; _xGradients = gradients; _xInput = input; _xOutputGradient = outputGradient; _xInputGradient = inputGradient;
        _xBatch = batch; _xSteps = steps;
        int rows = batch * steps;
        for (int d = 0; d < _dirs; d++)
        {
            _xDir = d;
            // W_hh [G·H × H], the B of every step's δh_(t−1) = δa_hh·W_hh, in panels once for all the steps.
            RecurrentGemm.PackPanels<T>(parameters.Span.Slice(d * DirectionBlock + _gh * _in, _gh * _h), _h, _gh, _h, _hhBack);
            Array.Clear(_dhNext, 0, batch * _h);
            Array.Clear(_dcNext, 0, batch * _h);
            for (int s = steps - 1; s >= 0; s--)
            {
                _xStep = s;
                Split(OpStepBack, (long)batch * _gh * _h, batch, 4);
            }
            // ∂E/∂W_ih += δa_ihᵀ·x over every sample and step: formed transposed, [F × G·H] (rows of G·H, so each
            // term is one vector multiply-add, where the few features would leave the vectors mostly empty), split
            // by columns, then added in place.
            Split(OpWih, (long)rows * _gh * _in, _gh, 64);
            var gp = gradients.Span.Slice(d * DirectionBlock, DirectionBlock);
            var gw = gp.Slice(0, _gh * _in);
            for (int j = 0; j < _gh; j++)
            {
                var row = gw.Slice(j * _in, _in);
                for (int k = 0; k < _in; k++) row[k] += _weightT[k * _gh + j];
            }
            // ∂E/∂W_hh += δa_hhᵀ·h_(t−1): one product over every sample and step (split by rows of G·H), h_(t−1) of
            // each row (n, t) first gathered in row order (the state before step t in this direction's processing order).
            // Gathered straight into the panels the product reads (row r's values of panel p at j0·rows + r·w).
            var states = _states[d];
            int P = RecurrentGemm.PanelColumns<T>();
            for (int n = 0; n < batch; n++)
                for (int t = 0; t < steps; t++)
                {
                    var h = State(states, n, d == 0 ? t : steps - 1 - t, steps);
                    int r = n * steps + t;
                    for (int j0 = 0; j0 < _h; j0 += P)
                        {
                            int w = Math.Min(P, _h - j0);
                            h.Slice(j0, w).CopyTo(_hPrev.AsSpan(j0 * rows + r * w, w));
                        }
                }
            Split(OpWhh, (long)rows * _gh * _h, _gh, 4);
            var gbih = gp.Slice(_gh * (_in + _h), _gh);
            var gbhh = gp.Slice(_gh * (_in + _h) + _gh, _gh);
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Add(gbih, _dIn.AsSpan(r * _gh, _gh), gbih);
                TensorPrimitives.Add(gbhh, _dHh.AsSpan(r * _gh, _gh), gbhh);
            }
            // ∂E/∂x += δa_ih·W_ih (both directions add into it), split by rows
            if (!inputGradient.IsEmpty) Split(OpInputGradient, (long)rows * _gh * _in, rows, 4);
        }
        _xParams = default; _xGradients = default; _xInput = default; _xOutputGradient = default; _xInputGradient = default;
    }

    // ---- The split operations: the running pass's operands (fields, so that worker threads reach them) -----------

    private const int OpInput = 0, OpStep = 1, OpStepBack = 2, OpWih = 3, OpWhh = 4, OpInputGradient = 5;
    private ReadOnlyMemory<T> _xParams, _xInput, _xOutputGradient;
    private Memory<T> _xGradients, _xInputGradient;
    private int _xBatch, _xSteps, _xDir, _xStep, _xCount, _xAlign;
    private bool _xByRows, _xInByRows, _xPacked;

    /// <summary>Runs operation <paramref name="op"/> over items [0, <paramref name="count"/>) (rows, samples or
    /// columns), split into ranges of whole blocks of <paramref name="align"/> when <paramref name="multiplyAdds"/>
    /// is worth it.</summary>
    private void Split(int op, long multiplyAdds, int count, int align)
    {
        int parts = Parallelism.PartsFor(multiplyAdds, Math.Max(1, count / align));
        if (parts <= 1) { RunRange(op, 0, count); return; }
        _xCount = count; _xAlign = align;
        Parallelism.Run(this, op, parts);
    }

    void IParallelKernel.RunPart(int op, int part, int parts)
    {
        var (start, end) = Parallelism.Range(_xCount, parts, part, _xAlign);
        if (start < end) RunRange(op, start, end);
    }

    private void RunRange(int op, int a, int b)
    {
        int d = _xDir, steps = _xSteps;
        var p = _xParams.Span.Slice(d * DirectionBlock, DirectionBlock);
        var wih = p.Slice(0, _gh * _in);
        var whh = p.Slice(_gh * _in, _gh * _h);
        switch (op)
        {
            case OpInput:
            {
                var gates = _gates[d];
                var bih = p.Slice(_gh * (_in + _h), _gh);
                for (int r = a; r < b; r++) bih.CopyTo(gates.AsSpan(r * _gs, _gh));
                if (_xInByRows) RecurrentGemm.MultiplyByRows<T>(b - a, _gh, _in, _xInput.Span, a * _in, _in, wih, gates, a * _gs, _gs);
                else RecurrentGemm.Multiply<T>(b - a, _gh, _in, _xInput.Span, a * _in, _in, 1, _inT[d], _gh, gates.AsSpan(a * _gs), _gs, accumulate: true, bPanels: true);
                break;
            }
            case OpStep:
                ForwardStep(p, whh, a, b);
                break;
            case OpStepBack:
                BackwardStep(whh, a, b);
                break;
            case OpWih:
                RecurrentGemm.Multiply<T>(_in, b - a, _xBatch * steps, _xInput.Span, 0, 1, _in, _dIn.AsSpan(a), _gh, _weightT.AsSpan(a), _gh, accumulate: false);
                break;
            case OpWhh:
            {
                var gw = _xGradients.Span.Slice(d * DirectionBlock + _gh * _in, _gh * _h);
                RecurrentGemm.Multiply<T>(b - a, _h, _xBatch * steps, _dHh, a, 1, _gh, _hPrev.AsSpan(0, _xBatch * steps * _h), _h, gw.Slice(a * _h), _h, accumulate: true, bPanels: true);
                break;
            }
            case OpInputGradient:
                RecurrentGemm.Multiply<T>(b - a, _in, _gh, _dIn, a * _gh, _gh, 1, wih, _in, _xInputGradient.Span.Slice(a * _in), _in, accumulate: true);
                break;
        }
    }

    /// <summary>Forward step s (of direction d) for samples [n0, n1): a = b_hh + h_(t−1)·W_hhᵀ (the step's only
    /// sequential product), then the cell.</summary>
    private void ForwardStep(ReadOnlySpan<T> p, ReadOnlySpan<T> whh, int n0, int n1)
    {
        int d = _xDir, steps = _xSteps, s = _xStep, t = d == 0 ? s : steps - 1 - s;
        var bhh = p.Slice(_gh * (_in + _h) + _gh, _gh);
        var gates = _gates[d]; var states = _states[d]; var cells = _cells[d]; var cellTanh = _cellTanh[d];
        for (int n = n0; n < n1; n++) bhh.CopyTo(_rowH.AsSpan(n * _gh, _gh));
        if (_xPacked) RecurrentGemm.MultiplyByPackedRows<T>(n1 - n0, _gh, _h, states, (n0 * (steps + 1) + s) * _h, (steps + 1) * _h, _hhT[d], _rowH, n0 * _gh, _gh);
        else if (_xByRows) RecurrentGemm.MultiplyByRows<T>(n1 - n0, _gh, _h, states, (n0 * (steps + 1) + s) * _h, (steps + 1) * _h, whh, _rowH, n0 * _gh, _gh);
        else RecurrentGemm.Multiply<T>(n1 - n0, _gh, _h, states, (n0 * (steps + 1) + s) * _h, (steps + 1) * _h, 1, _hhT[d], _gh, _rowH.AsSpan(n0 * _gh), _gh, accumulate: true, bPanels: true);
        for (int n = n0; n < n1; n++)
        {
            var g = gates.AsSpan((n * steps + t) * _gs, _gs);
            var hp = State(states, n, s, steps);
            var hn = State(states, n, s + 1, steps);
            var a = _rowH.AsSpan(n * _gh, _gh);
            switch (_cell)
            {
                case RecurrentCell.SimpleTanh:
                    TensorPrimitives.Add(g.Slice(0, _h), a, g.Slice(0, _h));
                    TensorPrimitives.Tanh(g.Slice(0, _h), hn);
                    break;
                case RecurrentCell.SimpleReLU:
                    TensorPrimitives.Add(g.Slice(0, _h), a, g.Slice(0, _h));
                    TensorPrimitives.Max(g.Slice(0, _h), T.Zero, hn);
                    break;
                case RecurrentCell.Lstm:
                {
                    var cp = State(cells, n, s, steps);
                    var cn = State(cells, n, s + 1, steps);
                    var tc = State(cellTanh, n, s + 1, steps);
                    int u = LstmCellForward(g, a, cp, cn, tc, hn);                      // the units that fill whole vectors, in one pass
                    if (u == _h) break;
                    int left = _h - u;                                                  // the rest, gate by gate (the same operations)
                    var i = g.Slice(u, left); var f = g.Slice(_h + u, left); var gg = g.Slice(2 * _h + u, left); var o = g.Slice(3 * _h + u, left);
                    for (int q = 0; q < 4; q++) TensorPrimitives.Add(g.Slice(q * _h + u, left), a.Slice(q * _h + u, left), g.Slice(q * _h + u, left));
                    TensorPrimitives.Sigmoid(i, i);
                    TensorPrimitives.Sigmoid(f, f);
                    TensorPrimitives.Tanh(gg, gg);
                    TensorPrimitives.Sigmoid(o, o);
                    var cnu = cn.Slice(u); var tcu = tc.Slice(u);
                    TensorPrimitives.Multiply(f, cp.Slice(u), cnu);
                    TensorPrimitives.MultiplyAdd(i, gg, cnu, cnu);                      // c' = f ⊙ c + i ⊙ g
                    TensorPrimitives.Tanh(cnu, tcu);
                    TensorPrimitives.Multiply(tcu, o, hn.Slice(u));                     // h' = o ⊙ tanh c'
                    break;
                }
                case RecurrentCell.Gru:
                {
                    int u = GruCellForward(g, a, hp, hn);                               // the units that fill whole vectors, in one pass
                    if (u == _h) break;
                    int left = _h - u;                                                  // the rest, gate by gate (the same operations)
                    var r = g.Slice(u, left); var z = g.Slice(_h + u, left); var nn = g.Slice(2 * _h + u, left); var hhn = g.Slice(3 * _h + u, left);
                    TensorPrimitives.Add(r, a.Slice(u, left), r);
                    TensorPrimitives.Add(z, a.Slice(_h + u, left), z);
                    TensorPrimitives.Sigmoid(r, r);                                     // r, z
                    TensorPrimitives.Sigmoid(z, z);
                    a.Slice(2 * _h + u, left).CopyTo(hhn);                              // W_hn·h + b_hn, kept for the backward pass
                    TensorPrimitives.MultiplyAdd(r, hhn, nn, nn);
                    TensorPrimitives.Tanh(nn, nn);                                      // n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))
                    for (int j = 0; j < left; j++) hn[u + j] = (T.One - z[j]) * nn[j] + z[j] * hp[u + j];   // h' = (1 − z) ⊙ n + z ⊙ h
                    break;
                }
            }
        }
    }

    /// <summary>Backward step s (of direction d) for samples [n0, n1): δh_t, the cell's gate deltas, then
    /// δh_(t−1) = δa_hh·W_hh (+ δh ⊙ z for a GRU).</summary>
    private void BackwardStep(ReadOnlySpan<T> whh, int n0, int n1)
    {
        int d = _xDir, steps = _xSteps, s = _xStep, t = d == 0 ? s : steps - 1 - s, dh = _dirs * _h;
        var outputGradient = _xOutputGradient.Span;
        var gates = _gates[d]; var states = _states[d]; var cells = _cells[d]; var cellTanh = _cellTanh[d]; var dhAll = _hiddenGradient[d];
        for (int n = n0; n < n1; n++)
        {
            int r = n * steps + t;
            var dhT = dhAll.AsSpan(r * _h, _h);
            var next = _dhNext.AsSpan(n * _h, _h);
            // δh_t = ∂E/∂y_t (this step's output, or the last step's) + δh through step t+1
            if (_returnSequences) TensorPrimitives.Add(next, outputGradient.Slice(r * dh + d * _h, _h), dhT);
            else if (s == steps - 1) TensorPrimitives.Add(next, outputGradient.Slice(n * dh + d * _h, _h), dhT);
            else next.CopyTo(dhT);
            var g = gates.AsSpan(r * _gs, _gs);
            var hn = State(states, n, s + 1, steps);
            var hp = State(states, n, s, steps);
            var da = _dIn.AsSpan(r * _gh, _gh);
            var dah = _dHh.AsSpan(r * _gh, _gh);
            switch (_cell)
            {
                case RecurrentCell.SimpleTanh:
                    for (int j = 0; j < _h; j++) da[j] = dhT[j] * (T.One - hn[j] * hn[j]);
                    break;
                case RecurrentCell.SimpleReLU:
                    for (int j = 0; j < _h; j++) da[j] = hn[j] > T.Zero ? dhT[j] : T.Zero;
                    break;
                case RecurrentCell.Lstm:
                {
                    var tcs = State(cellTanh, n, s + 1, steps); var cp = State(cells, n, s, steps);
                    var dc = _dcNext.AsSpan(n * _h, _h);
                    for (int j = LstmCellBackward(g, tcs, cp, dhT, dc, da); j < _h; j++)   // the lanes left over, the same operations
                    {
                        T i = g[j], f = g[_h + j], gg = g[2 * _h + j], o = g[3 * _h + j];
                        T tc = tcs[j];
                        T dcj = dc[j] + dhT[j] * o * (T.One - tc * tc);
                        da[j] = dcj * gg * i * (T.One - i);
                        da[_h + j] = dcj * cp[j] * f * (T.One - f);
                        da[2 * _h + j] = dcj * i * (T.One - gg * gg);
                        da[3 * _h + j] = dhT[j] * tc * o * (T.One - o);
                        dc[j] = dcj * f;
                    }
                    break;
                }
                case RecurrentCell.Gru:
                    for (int j = GruCellBackward(g, hp, dhT, da, dah); j < _h; j++)   // the lanes left over, the same operations
                    {
                        T rr = g[j], z = g[_h + j], nn = g[2 * _h + j], hhn = g[3 * _h + j];
                        T dan = dhT[j] * (T.One - z) * (T.One - nn * nn);
                        T dar = dan * hhn * rr * (T.One - rr);
                        T daz = dhT[j] * (hp[j] - nn) * z * (T.One - z);
                        da[j] = dar; da[_h + j] = daz; da[2 * _h + j] = dan;
                        dah[j] = dar; dah[_h + j] = daz; dah[2 * _h + j] = dan * rr;
                    }
                    break;
            }
        }
        // δh_(t−1) = δa_hh·W_hh for these samples (+ δh ⊙ z for a GRU)
        RecurrentGemm.Multiply<T>(n1 - n0, _h, _gh, _dHh, (n0 * steps + t) * _gh, steps * _gh, 1, _hhBack, _h, _dhNext.AsSpan(n0 * _h), _h, accumulate: false, bPanels: true);
        if (_cell == RecurrentCell.Gru)
            for (int n = n0; n < n1; n++)
            {
                int r = n * steps + t;
                var next = _dhNext.AsSpan(n * _h, _h);
                TensorPrimitives.MultiplyAdd(dhAll.AsSpan(r * _h, _h), gates.AsSpan(r * _gs + _h, _h), next, next);
            }
    }

    /// <summary>
    /// The lecture's unrolled picture of a small SimpleRNN in numbers, for sample 0 of the last forward and backward
    /// passes: each step's h_t = f(W_xh·x_t + b_ih + W_hh·h_(t−1) + b_hh), unit by unit with every product, then the
    /// backward pass through time: ∂E/∂h_t, δ_t = ∂E/∂h_t ⊙ f′, ∂E/∂h_(t−1) = W_hhᵀ·δ_t, and the summed weight
    /// gradients. Generated networks made of one SimpleRNN call it from their <c>Explain</c>.
    /// </summary>
    public void Explain(ReadOnlySpan<T> parameters, ReadOnlySpan<T> gradients, ReadOnlySpan<T> input, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (_cell is not (RecurrentCell.SimpleTanh or RecurrentCell.SimpleReLU) || _dirs != 1)
            throw new InvalidOperationException("Explain prints the unrolled SimpleRNN of the lecture: one direction, tanh or ReLU.");
        int steps = _lastSteps;
        string f = _cell == RecurrentCell.SimpleTanh ? "tanh" : "relu";
        static string N(T v) => double.CreateChecked(v).ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
        var wih = parameters.Slice(0, _h * _in);
        var whh = parameters.Slice(_h * _in, _h * _h);
        var bih = parameters.Slice(_h * (_in + _h), _h);
        var bhh = parameters.Slice(_h * (_in + _h) + _h, _h);
        writer.WriteLine($"Forward, unrolled over {steps} steps: h_t = {f}(W_xh·x_t + b_ih + W_hh·h_(t−1) + b_hh), h_0 = 0");
        for (int t = 0; t < steps; t++)
        {
            var x = input.Slice(t * _in, _in);
            var hp = State(_states[0], 0, t, steps);
            var hn = State(_states[0], 0, t + 1, steps);
            writer.WriteLine($"  t = {t + 1}: x_{t + 1} = [{string.Join(", ", x.ToArray().Select(N))}]");
            for (int j = 0; j < _h; j++)
            {
                var terms = new List<string>();
                var numbers = new List<string>();
                T a = bih[j] + bhh[j];
                for (int k = 0; k < _in; k++) { terms.Add($"W_xh[{j + 1},{k + 1}]·x_{t + 1}[{k + 1}]"); numbers.Add($"{N(wih[j * _in + k])}·{N(x[k])}"); a += wih[j * _in + k] * x[k]; }
                terms.Add($"b_ih[{j + 1}]"); numbers.Add(N(bih[j]));
                for (int k = 0; k < _h; k++) { terms.Add($"W_hh[{j + 1},{k + 1}]·h_{t}[{k + 1}]"); numbers.Add($"{N(whh[j * _h + k])}·{N(hp[k])}"); a += whh[j * _h + k] * hp[k]; }
                terms.Add($"b_hh[{j + 1}]"); numbers.Add(N(bhh[j]));
                writer.WriteLine($"    a_{t + 1}[{j + 1}] = {string.Join(" + ", terms)}");
                writer.WriteLine($"           = {string.Join(" + ", numbers)} = {N(a)}");
                writer.WriteLine($"    h_{t + 1}[{j + 1}] = {f}({N(a)}) = {N(hn[j])}");
            }
        }
        writer.WriteLine($"Backward through time: δ_t = ∂E/∂h_t ⊙ {f}′(a_t){(_cell == RecurrentCell.SimpleTanh ? " = ∂E/∂h_t ⊙ (1 − h_t²)" : "")}, ∂E/∂h_(t−1) = W_hhᵀ·δ_t");
        var dh = _hiddenGradient[0];
        var da = _dIn;
        for (int t = steps - 1; t >= 0; t--)
        {
            var d = dh.AsSpan(t * _h, _h);
            var delta = da.AsSpan(t * _gh, _h);
            writer.WriteLine($"  ∂E/∂h_{t + 1} = [{string.Join(", ", d.ToArray().Select(N))}]" + (t == steps - 1 ? "   (from the loss)" : $"   (= W_hhᵀ·δ_{t + 2})"));
            writer.WriteLine($"  δ_{t + 1}     = [{string.Join(", ", delta.ToArray().Select(N))}]");
        }
        var gw = gradients.Slice(0, _h * _in);
        var gh = gradients.Slice(_h * _in, _h * _h);
        var gb = gradients.Slice(_h * (_in + _h), _h);
        writer.WriteLine($"Summed over the steps: ∂E/∂W_xh = Σ_t δ_t·x_tᵀ = [{string.Join(", ", gw.ToArray().Select(N))}],");
        writer.WriteLine($"  ∂E/∂W_hh = Σ_t δ_t·h_(t−1)ᵀ = [{string.Join(", ", gh.ToArray().Select(N))}] (row-major), ∂E/∂b_ih = ∂E/∂b_hh = Σ_t δ_t = [{string.Join(", ", gb.ToArray().Select(N))}]");
    }

    /// <summary>The LSTM cell's backward pass for the units that fill whole vectors (the equations in the class summary,
    /// each operation as in the scalar loop that finishes the row, so every unit gets the same bits on either path):
    /// writes δa = [δi, δf, δg, δo] and δc_(t−1) = δc ⊙ f, and returns the first unit left to the scalar loop.</summary>
    private int LstmCellBackward(Span<T> g, Span<T> tcs, Span<T> cp, Span<T> dhT, Span<T> dc, Span<T> da)
    {
        if (!Vector512.IsHardwareAccelerated) return 0;
        int V = Vector512<T>.Count, h = _h, j = 0;
        var one = Vector512<T>.One;
        ref T G = ref MemoryMarshal.GetReference(g); ref T TC = ref MemoryMarshal.GetReference(tcs); ref T CP = ref MemoryMarshal.GetReference(cp);
        ref T DH = ref MemoryMarshal.GetReference(dhT); ref T DC = ref MemoryMarshal.GetReference(dc); ref T DA = ref MemoryMarshal.GetReference(da);
        for (; j + V <= h; j += V)
        {
            nuint u = (nuint)j;
            var i = Vector512.LoadUnsafe(ref G, u); var f = Vector512.LoadUnsafe(ref G, u + (nuint)h);
            var gg = Vector512.LoadUnsafe(ref G, u + (nuint)(2 * h)); var o = Vector512.LoadUnsafe(ref G, u + (nuint)(3 * h));
            var tc = Vector512.LoadUnsafe(ref TC, u);
            var dh = Vector512.LoadUnsafe(ref DH, u);
            var dcj = Vector512.LoadUnsafe(ref DC, u) + dh * o * (one - tc * tc);
            (dcj * gg * i * (one - i)).StoreUnsafe(ref DA, u);
            (dcj * Vector512.LoadUnsafe(ref CP, u) * f * (one - f)).StoreUnsafe(ref DA, u + (nuint)h);
            (dcj * i * (one - gg * gg)).StoreUnsafe(ref DA, u + (nuint)(2 * h));
            (dh * tc * o * (one - o)).StoreUnsafe(ref DA, u + (nuint)(3 * h));
            (dcj * f).StoreUnsafe(ref DC, u);
        }
        return j;
    }

    /// <summary>σ(x) exactly as <c>TensorPrimitives.Sigmoid</c>'s vector form: 1 / (1 + exp(−x)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Sigmoid(Vector512<T> x)
    {
        if (typeof(T) == typeof(float)) return (Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-x.AsSingle()))).As<float, T>();
        return (Vector512<double>.One / (Vector512<double>.One + Vector512.Exp(-x.AsDouble()))).As<double, T>();
    }

    /// <summary>tanh x exactly as <c>TensorPrimitives.Tanh</c>'s vector form: z = exp(−2|x|) − 1, tanh x = sign(x)·(−z / (z + 2)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Tanh(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            var v = x.AsSingle();
            var z = Vector512.Exp(Vector512.Create(-2f) * Vector512.Abs(v)) - Vector512<float>.One;
            var sign = v.AsUInt32() & Vector512.Create(~(uint)int.MaxValue);
            return (sign ^ (-z / (z + Vector512.Create(2f))).AsUInt32()).As<uint, T>();
        }
        else
        {
            var v = x.AsDouble();
            var z = Vector512.Exp(Vector512.Create(-2.0) * Vector512.Abs(v)) - Vector512<double>.One;
            var sign = v.AsUInt64() & Vector512.Create(~(ulong)long.MaxValue);
            return (sign ^ (-z / (z + Vector512.Create(2.0))).AsUInt64()).As<ulong, T>();
        }
    }

    /// <summary>Whether the fused cells below run: AVX-512, float or double (their exponentials are the runtime's).</summary>
    private static bool FusedCells => Vector512.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    /// <summary>The LSTM cell's forward pass for the units that fill whole vectors, in one pass over them (no pass per
    /// gate): a = gates + a_hh; i, f, o = σ(a), g = tanh(a) (stored in place of the gates, for BPTT); c' = f ⊙ c + i ⊙ g;
    /// tanh c'; h' = o ⊙ tanh c'. Each operation is the one <c>TensorPrimitives</c> applies gate by gate (the same
    /// bits; the multiply and the add of c' rounded apart, as its <c>MultiplyAdd</c>). Returns the first unit left.</summary>
    private int LstmCellForward(Span<T> g, ReadOnlySpan<T> a, ReadOnlySpan<T> cp, Span<T> cn, Span<T> tc, Span<T> hn)
    {
        if (!FusedCells) return 0;
        int V = Vector512<T>.Count, h = _h, j = 0;
        ref T G = ref MemoryMarshal.GetReference(g); ref T A = ref MemoryMarshal.GetReference(a); ref T CP = ref MemoryMarshal.GetReference(cp);
        ref T CN = ref MemoryMarshal.GetReference(cn); ref T TC = ref MemoryMarshal.GetReference(tc); ref T HN = ref MemoryMarshal.GetReference(hn);
        nuint h1 = (nuint)h, h2 = 2 * h1, h3 = 3 * h1;
        for (; j + V <= h; j += V)
        {
            nuint u = (nuint)j;
            var i = Sigmoid(Vector512.LoadUnsafe(ref G, u) + Vector512.LoadUnsafe(ref A, u));
            var f = Sigmoid(Vector512.LoadUnsafe(ref G, u + h1) + Vector512.LoadUnsafe(ref A, u + h1));
            var gg = Tanh(Vector512.LoadUnsafe(ref G, u + h2) + Vector512.LoadUnsafe(ref A, u + h2));
            var o = Sigmoid(Vector512.LoadUnsafe(ref G, u + h3) + Vector512.LoadUnsafe(ref A, u + h3));
            i.StoreUnsafe(ref G, u); f.StoreUnsafe(ref G, u + h1); gg.StoreUnsafe(ref G, u + h2); o.StoreUnsafe(ref G, u + h3);
            var c = f * Vector512.LoadUnsafe(ref CP, u);
            c = i * gg + c;
            c.StoreUnsafe(ref CN, u);
            var t = Tanh(c);
            t.StoreUnsafe(ref TC, u);
            (t * o).StoreUnsafe(ref HN, u);
        }
        return j;
    }

    /// <summary>The GRU cell's forward pass for the units that fill whole vectors, in one pass: r, z = σ(gates + a_hh);
    /// W_hn·h + b_hn kept beside them; n = tanh(r ⊙ (W_hn·h + b_hn) + W_in·x + b_in); h' = (1 − z) ⊙ n + z ⊙ h; each
    /// operation as the gate-by-gate form that finishes the row. Returns the first unit left.</summary>
    private int GruCellForward(Span<T> g, ReadOnlySpan<T> a, ReadOnlySpan<T> hp, Span<T> hn)
    {
        if (!FusedCells) return 0;
        int V = Vector512<T>.Count, h = _h, j = 0;
        ref T G = ref MemoryMarshal.GetReference(g); ref T A = ref MemoryMarshal.GetReference(a);
        ref T HP = ref MemoryMarshal.GetReference(hp); ref T HN = ref MemoryMarshal.GetReference(hn);
        nuint h1 = (nuint)h, h2 = 2 * h1, h3 = 3 * h1;
        for (; j + V <= h; j += V)
        {
            nuint u = (nuint)j;
            var r = Sigmoid(Vector512.LoadUnsafe(ref G, u) + Vector512.LoadUnsafe(ref A, u));
            var z = Sigmoid(Vector512.LoadUnsafe(ref G, u + h1) + Vector512.LoadUnsafe(ref A, u + h1));
            var hhn = Vector512.LoadUnsafe(ref A, u + h2);
            var nn = Tanh(r * hhn + Vector512.LoadUnsafe(ref G, u + h2));
            r.StoreUnsafe(ref G, u); z.StoreUnsafe(ref G, u + h1); nn.StoreUnsafe(ref G, u + h2); hhn.StoreUnsafe(ref G, u + h3);
            ((Vector512<T>.One - z) * nn + z * Vector512.LoadUnsafe(ref HP, u)).StoreUnsafe(ref HN, u);
        }
        return j;
    }

    /// <summary>The GRU cell's backward pass for the units that fill whole vectors (as <see cref="LstmCellBackward"/>):
    /// writes δa_ih = [δr, δz, δn] and δa_hh = [δr, δz, δn ⊙ r], and returns the first unit left to the scalar loop.</summary>
    private int GruCellBackward(Span<T> g, Span<T> hp, Span<T> dhT, Span<T> da, Span<T> dah)
    {
        if (!Vector512.IsHardwareAccelerated) return 0;
        int V = Vector512<T>.Count, h = _h, j = 0;
        var one = Vector512<T>.One;
        ref T G = ref MemoryMarshal.GetReference(g); ref T HP = ref MemoryMarshal.GetReference(hp); ref T DH = ref MemoryMarshal.GetReference(dhT);
        ref T DA = ref MemoryMarshal.GetReference(da); ref T DAH = ref MemoryMarshal.GetReference(dah);
        for (; j + V <= h; j += V)
        {
            nuint u = (nuint)j;
            var rr = Vector512.LoadUnsafe(ref G, u); var z = Vector512.LoadUnsafe(ref G, u + (nuint)h);
            var nn = Vector512.LoadUnsafe(ref G, u + (nuint)(2 * h)); var hhn = Vector512.LoadUnsafe(ref G, u + (nuint)(3 * h));
            var dh = Vector512.LoadUnsafe(ref DH, u);
            var dan = dh * (one - z) * (one - nn * nn);
            var dar = dan * hhn * rr * (one - rr);
            var daz = dh * (Vector512.LoadUnsafe(ref HP, u) - nn) * z * (one - z);
            dar.StoreUnsafe(ref DA, u); daz.StoreUnsafe(ref DA, u + (nuint)h); dan.StoreUnsafe(ref DA, u + (nuint)(2 * h));
            dar.StoreUnsafe(ref DAH, u); daz.StoreUnsafe(ref DAH, u + (nuint)h); (dan * rr).StoreUnsafe(ref DAH, u + (nuint)(2 * h));
        }
        return j;
    }

    /// <summary>Wᵀ in the panels <see cref="RecurrentGemm.Multiply{T}"/> reads (<see cref="RecurrentGemm.TransposePanels{T}"/>).</summary>
    private static void TransposePanels(ReadOnlySpan<T> source, int rows, int columns, Span<T> destination)
    {
        RecurrentGemm.TransposePanels(source, rows, columns, destination);
    }
}

/// <summary>The per-step and token layers of sequence networks: Embedding and a Dense applied at every step.</summary>
public static class SequenceLayers
{
    /// <summary>Embedding forward: y[r, :] = table[id_r, :] for <paramref name="rows"/> ids, each checked to be an exact
    /// integer in [0, vocabulary).</summary>
    public static void EmbeddingForward<T>(ReadOnlySpan<T> table, ReadOnlySpan<T> ids, Span<T> output, int rows, int steps, int vocabulary, int dimension, string network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            int id = TokenId(ids[r], vocabulary, r, steps, network);
            table.Slice(id * dimension, dimension).CopyTo(output.Slice(r * dimension, dimension));
        }
    }

    /// <summary>Embedding backward: ∂E/∂table[id_r, :] += ∂E/∂y[r, :]. Ids have no gradient.</summary>
    public static void EmbeddingBackward<T>(ReadOnlySpan<T> ids, ReadOnlySpan<T> outputGradient, Span<T> tableGradient, int rows, int dimension)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            int id = int.CreateTruncating(ids[r]);
            var g = tableGradient.Slice(id * dimension, dimension);
            TensorPrimitives.Add(g, outputGradient.Slice(r * dimension, dimension), g);
        }
    }

    /// <summary>A token id read from the network's float input: it must be an exact integer in [0, vocabulary).</summary>
    public static int TokenId<T>(T value, int vocabulary, int row, int steps, string network) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!T.IsInteger(value) || value < T.Zero || value >= T.CreateChecked(vocabulary))
            throw new ArgumentException(
                $"{network}: the input at sample {row / steps}, step {row % steps} is {value}, which is not a token id: Embedding reads exact integers 0 to {vocabulary - 1} " +
                "(write the id itself as the float value, e.g. 3f; not a one-hot vector or a scaled value).", "input");
        return int.CreateTruncating(value);
    }

    /// <summary>Dense at every step: y[r, j] = Σ_i w[j, i]·x[r, i] + b[j] for <paramref name="rows"/> = batch × steps rows.</summary>
    public static void DenseForward<T>(ReadOnlySpan<T> weights, ReadOnlySpan<T> bias, ReadOnlySpan<T> input, Span<T> output, int rows, int inputs, int units)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var x = input.Slice(r * inputs, inputs);
            var y = output.Slice(r * units, units);
            for (int j = 0; j < units; j++)
                y[j] = TensorPrimitives.Dot<T>(weights.Slice(j * inputs, inputs), x) + (bias.IsEmpty ? T.Zero : bias[j]);
        }
    }

    /// <summary>Dense at every step, backward: ∂E/∂w[j, :] += Σ_r δ[r, j]·x[r, :], ∂E/∂b += Σ_r δ[r, :], and (unless
    /// <paramref name="inputGradient"/> is empty) ∂E/∂x[r, :] = Σ_j δ[r, j]·w[j, :].</summary>
    public static void DenseBackward<T>(ReadOnlySpan<T> weights, Span<T> weightGradient, Span<T> biasGradient, ReadOnlySpan<T> input,
        ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int rows, int inputs, int units)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var x = input.Slice(r * inputs, inputs);
            var dy = outputGradient.Slice(r * units, units);
            if (!biasGradient.IsEmpty) TensorPrimitives.Add(biasGradient, dy, biasGradient);
            for (int j = 0; j < units; j++)
            {
                var gw = weightGradient.Slice(j * inputs, inputs);
                if (dy[j] != T.Zero) TensorPrimitives.MultiplyAdd(x, dy[j], gw, gw);
            }
            if (inputGradient.IsEmpty) continue;
            var dx = inputGradient.Slice(r * inputs, inputs);
            dx.Clear();
            for (int j = 0; j < units; j++)
                if (dy[j] != T.Zero) TensorPrimitives.MultiplyAdd(weights.Slice(j * inputs, inputs), dy[j], dx, dx);
        }
    }
}
