using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Dense: y = W·x + b, W stored [out × in] row-major at parameters[WeightOffset], b at parameters[BiasOffset].
/// Forward  netⱼ = Σᵢ wⱼᵢ·xᵢ + bⱼ
/// Backward ∂E/∂wⱼᵢ += δⱼ·xᵢ,  ∂E/∂bⱼ += δⱼ,  ∂E/∂xᵢ = Σⱼ wⱼᵢ·δⱼ   (δ = ∂E/∂net, summed over the batch)
/// Small layers are unrolled into one statement per neuron; larger ones call register-blocked kernels over the whole
/// batch (<see cref="GemmEmitter"/>): dot-product blocks forward, broadcast blocks for ∂E/∂W and ∂E/∂x.
/// </summary>
internal sealed class DenseEmitter : LayerEmitter
{
    public static readonly DenseEmitter Instance = new();

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int @in = layer.InputSize, @out = layer.OutputSize;
        if (c.IsUnrolled(layer))
        {
            w.Line($"// Layer {layer.Index}: {layer.PascalName} ({@in} → {@out}), unrolled: netⱼ = Σᵢ wⱼᵢ·xᵢ + bⱼ");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int xo = n * {@in}, yo = n * {@out};");
            string[]? neurons = c.Names?.Neurons(layer);
            string[]? inputs = c.Names?.LayerInputs(layer);
            for (int j = 0; j < @out; j++)
            {
                var terms = new List<string>();
                for (int i = 0; i < @in; i++) terms.Add($"_p[{layer.WeightOffset + j * @in + i}] * {A(layer.Index)}[xo + {i}]");
                if (layer.BiasCount > 0) terms.Add($"_p[{layer.BiasOffset + j}]");
                string comment = neurons is null ? "" : $"   // net_{neurons[j]} = " + string.Join(" + ",
                    Enumerable.Range(0, @in).Select(i => c.Names!.Weight(layer, j, i) + "·" + inputs![i])) + (layer.BiasCount > 0 ? $" + b_{neurons[j]}·1" : "");
                w.Line($"{A(layer.Index + 1)}[yo + {j}] = {string.Join(" + ", terms)};{comment}");
            }
            w.Close();
            return;
        }

        w.Line($"// Layer {layer.Index}: {layer.PascalName} ({@in} → {@out}): y = x·Wᵀ + b over the whole batch, register-blocked; threads split the units");
        if (CachesPanels(c, layer))
        {
            int i = layer.Index;
            w.Line($"// Inference mode, Vector512, {GemmEmitter.TransposedRows} samples or more: W's transposed panels are packed into _panels{i} once and reused while");
            w.Line($"// the weights' version (bumped by Parameters, the weight views and TrainStep) is the one they were packed at");
            w.Line($"_panelMode{i} = Training || batch < {GemmEmitter.TransposedRows} || !global::System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? 0 : _panelsVersion{i} == _weightsVersion[0] ? 2 : 1;");
        }
        w.Line($"global::NetGen.Parallelism.Run(this, {Op(layer, 0)}, global::NetGen.Parallelism.PartsFor((long)batch * {(long)@in * @out}));");
        if (CachesPanels(c, layer)) w.Line($"if (_panelMode{layer.Index} == 1) _panelsVersion{layer.Index} = _weightsVersion[0];");
    }

    /// <summary>Whether the layer keeps W's packed panels between inference passes: a float layer computed by kernels whose
    /// forward has the transposed Vector512 twin (<see cref="GemmEmitter.Transposes(EmitContext, int, int)"/>). Packing W
    /// (K × N values through 16 × 16 transposes) costs about what 10 samples of the product do (784 → 100: 8.4 µs); in
    /// inference the weights rarely change, so it is done once per weight version. Training passes pack into the
    /// per-thread scratch as before (the weights change every step).</summary>
    public static bool CachesPanels(EmitContext c, LayerPlan layer) =>
        !layer.IsSequence && !c.IsUnrolled(layer) && GemmEmitter.Transposes(c, layer.InputSize, layer.OutputSize);

    /// <summary>The kept panels: every whole vector of units (strips of 48, then 16), K values each.</summary>
    private static int PanelValues(EmitContext c, LayerPlan layer) => layer.InputSize * (layer.OutputSize - layer.OutputSize % (2 * GemmEmitter.Lanes(c)));

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (!CachesPanels(c, layer)) return;
        int i = layer.Index;
        w.Line($"private readonly {c.T}[] _panels{i};   // layer {i} ({layer.PascalName}): Wᵀ packed as the forward's Vector512 twin reads it, kept between inference passes ({PanelValues(c, layer)} values; empty without Vector512)");
        w.Line($"private long _panelsVersion{i} = -1;   // the weights' version _panels{i} was packed at");
        w.Line($"private int _panelMode{i};   // this pass: 0 pack into scratch, 1 pack into _panels{i}, 2 reuse _panels{i}");
    }

    public override void Allocate(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (!CachesPanels(c, layer)) return;
        w.Line($"_panels{layer.Index} = global::System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? new {c.T}[{PanelValues(c, layer)}] : global::System.Array.Empty<{c.T}>();");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int @in = layer.InputSize, @out = layer.OutputSize;
        bool trainBias = layer.BiasCount > 0 && layer.TrainBias;
        // The first layer's ∂E/∂x is only needed when the caller asked for the input gradient.
        string? guard = layer.Index == 0 ? "if (inputGradient)" : null;
        if (c.IsUnrolled(layer))
        {
            w.Line($"// Layer {layer.Index}: {layer.PascalName} backward, unrolled: ∂E/∂wⱼᵢ += δⱼ·xᵢ{(trainBias ? ", ∂E/∂bⱼ += δⱼ" : "")}, ∂E/∂xᵢ = Σⱼ wⱼᵢ·δⱼ" +
                (layer.BiasCount > 0 && !trainBias ? " (bias held: TrainBias = false)" : ""));
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int xo = n * {@in}, yo = n * {@out};");
            string[]? neurons = c.Names?.Neurons(layer);
            string[]? inputs = c.Names?.LayerInputs(layer);
            for (int j = 0; j < @out; j++)
                w.Line($"{c.T} delta{j} = {D(layer.Index + 1)}[yo + {j}];" + (neurons is null ? "" : $"   // δ_{neurons[j]} = ∂E/∂net_{neurons[j]}"));
            for (int j = 0; j < @out; j++)
            {
                for (int i = 0; i < @in; i++)
                    w.Line($"_g[{layer.WeightOffset + j * @in + i}] += delta{j} * {A(layer.Index)}[xo + {i}];" +
                           (neurons is null ? "" : $"   // ∂E/∂{c.Names!.Weight(layer, j, i)} = δ_{neurons[j]}·{inputs![i]}"));
                if (trainBias) w.Line($"_g[{layer.BiasOffset + j}] += delta{j};");
            }
            if (guard is not null) w.Open(guard);
            for (int i = 0; i < @in; i++)
                w.Line($"{D(layer.Index)}[xo + {i}] = " + string.Join(" + ", Enumerable.Range(0, @out).Select(j => $"_p[{layer.WeightOffset + j * @in + i}] * delta{j}")) + ";");
            if (guard is not null) w.Close();
            w.Close();
            return;
        }

        w.Line($"// Layer {layer.Index}: {layer.PascalName} backward over the whole batch: ∂E/∂W += δᵀ·x{(trainBias ? ", ∂E/∂b += Σₙ δ" : "")}, ∂E/∂x = δ·W (kernels below;");
        w.Line("// threads split the units for ∂E/∂W and the inputs for ∂E/∂x)");
        RunWeightOp(w, c, layer, 1, "∂E/∂W += δᵀ·x");
        if (trainBias)
        {
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"{c.Tp}.Add<{c.T}>(_g.AsSpan({layer.BiasOffset}, {@out}), {D(layer.Index + 1)}.AsSpan(n * {@out}, {@out}), _g.AsSpan({layer.BiasOffset}, {@out}));");
            w.Close();
        }
        if (guard is not null) w.Open(guard);
        w.Line($"global::NetGen.Parallelism.Run(this, {Op(layer, 2)}, global::NetGen.Parallelism.PartsFor((long)batch * {(long)@in * @out}));");
        if (guard is not null) w.Close();
    }

    /// <summary>The split of the weight op <paramref name="k"/> (1: ∂E/∂W, 3: the fused SGD step), or, where the layer's weight
    /// work runs as filler parts of a convolution's backward split (SampleSplitEmitter.FillerOf), a line saying so.</summary>
    private static void RunWeightOp(CodeWriter w, EmitContext c, LayerPlan layer, int k, string what)
    {
        if (SampleSplitEmitter.FillerOf(c) is { } f && f.Layers.Any(d => d.Layer.Index == layer.Index))
            w.Line($"// ({what}: filler parts of layer {f.Host.Index}'s backward split, which runs it beside the convolutions' sample chunks)");
        else
            w.Line($"global::NetGen.Parallelism.Run(this, {Op(layer, k)}, global::NetGen.Parallelism.PartsFor((long)batch * {(long)layer.InputSize * layer.OutputSize}));");
    }

    public override bool CanDescend(EmitContext c, LayerPlan layer) => !c.IsUnrolled(layer);

    public override void DescendBackward(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        int @in = layer.InputSize, @out = layer.OutputSize, V = GemmEmitter.Lanes(c);
        bool trainBias = layer.BiasCount > 0 && layer.TrainBias;
        w.Line($"// Layer {layer.Index}: {layer.PascalName} backward fused with the plain-SGD step: {(layer.Index == 0 ? "(when asked for) " : "")}∂E/∂x = δ·W first, with the weights from before the step;");
        w.Line($"// then W ← W − η·δᵀ·x{(trainBias ? " and b ← b − η·Σₙ δ" : "")} where the products are formed (∂E/∂W is never stored)");
        if (layer.Index == 0) w.Open("if (inputGradient)");
        w.Line($"global::NetGen.Parallelism.Run(this, {Op(layer, 2)}, global::NetGen.Parallelism.PartsFor((long)batch * {(long)@in * @out}));");
        if (layer.Index == 0) w.Close();
        RunWeightOp(w, c, layer, 3, "W ← W − η·δᵀ·x");
        if (!trainBias) return;
        w.Open("");
        w.Line($"// b[j] ← b[j] + (−η)·Σₙ δ[n, j], summed in sample order as Backward sums ∂E/∂b");
        w.Line($"ref {c.T} delta = ref {D(layer.Index + 1)}[0], bias = ref _p[{layer.BiasOffset}];");
        w.Line("int j = 0;");
        if (@out >= V)
        {
            w.Open($"for (; j + {V} <= {@out}; j += {V})");
            w.Line($"Vector256<{c.T}> sum = Vector256<{c.T}>.Zero;");
            w.Line($"for (int n = 0; n < batch; n++) sum += Load(ref delta, n * {@out} + j);");
            w.Line($"(Load(ref bias, j) + Vector256.Create(_sgdRate) * sum).StoreUnsafe(ref bias, (nuint)j);");
            w.Close();
        }
        if (@out % V != 0)
        {
            w.Open($"for (; j < {@out}; j++)");
            w.Line($"{c.T} sum = {c.Lit(0)};");
            w.Line($"for (int n = 0; n < batch; n++) sum += Unsafe.Add(ref delta, n * {@out} + j);");
            w.Line("Unsafe.Add(ref bias, j) += _sgdRate * sum;");
            w.Close();
        }
        w.Close();
    }

    public override void ParallelCases(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (c.IsUnrolled(layer)) return;
        int @in = layer.InputSize, @out = layer.OutputSize;
        string scratch = "ref _scratch[part * _scratchPart]";
        w.Open($"case {Op(layer, 0)}:   // {layer.PascalName} forward: a range of units");
        // Units in whole vectors of the Vector512 kernel (a 48-unit strip's parts in whole 16-unit blocks: the same bits,
        // each value's sum runs in the same order in either block), so two threads get 64 and 56 of 120 units instead of
        // 48 and 72; the panels kept between inference passes are cut in whole strips, so there the parts are too.
        if (CachesPanels(c, layer))
            w.Line($"(int j0, int j1) = global::NetGen.Parallelism.Range({@out}, parts, part, _panelMode{layer.Index} == 0 ? {GemmEmitter.VectorWidth(c)} : {GemmEmitter.StripWidth(c)});   // whole vectors; whole strips of the kept panels");
        else
            w.Line($"(int j0, int j1) = global::NetGen.Parallelism.Range({@out}, parts, part, {GemmEmitter.VectorWidth(c)});   // whole vectors of the Vector512 kernel");
        w.Line($"{layer.PascalName}Forward(ref {A(layer.Index)}[0], ref _p[{layer.WeightOffset}], ref {A(layer.Index + 1)}[0]{(layer.BiasCount > 0 ? $", ref _p[{layer.BiasOffset}]" : "")}, 0, _batch, j0, j1, {scratch}" +
               (CachesPanels(c, layer) ? $", ref global::System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_panels{layer.Index}), _panelMode{layer.Index}" : "") + ");");
        w.Line("break;");
        w.Close();
        w.Open($"case {Op(layer, 1)}:   // {layer.PascalName} ∂E/∂W: a range of units");
        w.Line($"(int j0, int j1) = global::NetGen.Parallelism.Range({@out}, parts, part, 8);");
        w.Line($"{layer.PascalName}WeightGradient(ref {D(layer.Index + 1)}[0], ref {A(layer.Index)}[0], ref _g[{layer.WeightOffset}], j0, j1, 0, {@in}, _batch, {scratch});");
        w.Line("break;");
        w.Close();
        w.Open($"case {Op(layer, 2)}:   // {layer.PascalName} ∂E/∂x: a range of inputs");
        w.Line($"(int i0, int i1) = global::NetGen.Parallelism.Range({@in}, parts, part, {GemmEmitter.VectorWidth(c)});   // whole vectors of the Vector512 kernel");
        w.Line($"{layer.PascalName}InputGradient(ref {D(layer.Index + 1)}[0], ref _p[{layer.WeightOffset}], ref {D(layer.Index)}[0], 0, _batch, i0, i1, {scratch});");
        w.Line("break;");
        w.Close();
        if (!c.FusedSgd) return;
        w.Open($"case {Op(layer, 3)}:   // {layer.PascalName} W ← W − η·δᵀ·x (fused plain-SGD step): a range of units");
        w.Line($"(int j0, int j1) = global::NetGen.Parallelism.Range({@out}, parts, part, 8);");
        w.Line($"{layer.PascalName}WeightDescent(ref {D(layer.Index + 1)}[0], ref {A(layer.Index)}[0], ref _p[{layer.WeightOffset}], ref _sgdRate, j0, j1, 0, {@in}, _batch, {scratch});");
        w.Line("break;");
        w.Close();
    }

    public override bool HasKernels(EmitContext c, LayerPlan layer) => !c.IsUnrolled(layer);

    /// <summary>One packed panel of x (∂E/∂W: maxBatch rows), of W (∂E/∂x: one row per unit) or of Wᵀ (the forward's
    /// transposed Vector512 twin: one row per input, only where Vector512 is accelerated), 3 vectors wide (of the
    /// Vector512 kernels: 3 × 16 floats).</summary>
    public override string? ScratchSize(EmitContext c, LayerPlan layer) => c.IsUnrolled(layer) ? null
        : GemmEmitter.Transposes(c, layer.InputSize, layer.OutputSize) && layer.InputSize > layer.OutputSize
            ? $"global::System.Math.Max(maxBatch, global::System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? {layer.InputSize} : {layer.OutputSize}) * {GemmEmitter.StripWidth(c)}"
            : $"global::System.Math.Max(maxBatch, {layer.OutputSize}) * {GemmEmitter.StripWidth(c)}";

    public override void Kernels(CodeWriter w, EmitContext c, LayerPlan layer)
    {
        if (c.IsUnrolled(layer)) return;
        int @in = layer.InputSize, @out = layer.OutputSize;
        string name = layer.PascalName;
        GemmEmitter.Dot(w, c, new GemmEmitter.Product
        {
            Method = name + "Forward",
            Summary = $"{name} forward: y[n, j] = Σᵢ x[n, i]·w[j, i]{(layer.BiasCount > 0 ? " + b[j]" : "")} for samples m0 ≤ n &lt; m1 and units n0 ≤ j &lt; n1 ({@in} inputs, {@out} units).",
            N = @out, K = @in, AName = "x", BName = "w", CName = "y",
            LdA = @in, LdB = @in, LdC = @out,
            Mode = layer.BiasCount > 0 ? GemmEmitter.Mode.AssignBiasByColumn : GemmEmitter.Mode.Assign,
            MR = 4, NV = 4, PackTransposed = true, CachePanels = CachesPanels(c, layer),
        });
        GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
        {
            Method = name + "WeightGradient",
            Summary = $"{name} ∂E/∂W: g[j, i] += Σₙ δ[n, j]·x[n, i] over the batch, for units m0 ≤ j &lt; m1 and inputs n0 ≤ i &lt; n1.",
            N = @in, KRuntime = "batch", AName = "delta", BName = "x", CName = "g",
            LdA = 1, AStepK = @out, LdB = @in, LdC = @in,
            Mode = GemmEmitter.Mode.Accumulate,
            MR = 8, NV = 3, M = @out, RowOrderSteps = RowOrderBatch,
        });
        if (c.FusedSgd)
            GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
            {
                Method = name + "WeightDescent",
                Summary = $"{name} fused plain-SGD step: w[j, i] += rate·Σₙ δ[n, j]·x[n, i] (rate = −η) for units m0 ≤ j &lt; m1 and inputs n0 ≤ i &lt; n1; the sum is formed in registers as in {name}WeightGradient and never stored.",
                N = @in, KRuntime = "batch", AName = "delta", BName = "x", CName = "w",
                LdA = 1, AStepK = @out, LdB = @in, LdC = @in,
                Mode = GemmEmitter.Mode.Descend,
                MR = 8, NV = 3, M = @out, RowOrderSteps = RowOrderBatch,
            });
        GemmEmitter.Broadcast(w, c, new GemmEmitter.Product
        {
            Method = name + "InputGradient",
            Summary = $"{name} ∂E/∂x: dx[n, i] = Σⱼ δ[n, j]·w[j, i], for samples m0 ≤ n &lt; m1 and inputs n0 ≤ i &lt; n1.",
            N = @in, K = @out, AName = "delta", BName = "w", CName = "dx",
            LdA = @out, LdB = @in, LdC = @in,
            Mode = GemmEmitter.Mode.Assign,
            MR = 8, NV = 3,
        });
    }

    /// <summary>Batches up to which ∂E/∂W (and the fused SGD step) walks the weights row by row, as they are stored,
    /// instead of strip by strip: with few samples each block is mostly a read-modify-write of the weights. Measured
    /// on 784-100: the fused step's update at batch 1 9.6 µs strip by strip, 6.3 µs row by row; at batch 8 row by
    /// row is slower (it reloads x for every row).</summary>
    private const int RowOrderBatch = 4;

    // ---- GPU (ILGPU) --------------------------------------------------------------------------------------------

    public override void GpuForward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        int @in = layer.InputSize, @out = layer.OutputSize, W = layer.WeightOffset;
        var act = GpuWriter.FusedActivation(c.Plan, layer);
        string name = layer.PascalName, t = c.T;
        var parameters = act is null
            ? new[] { g.V("x"), g.V("p"), g.V("y") }
            : new[] { g.V("x"), g.V("p"), g.V("y"), g.V("z") };
        string field = g.Kernel(name + "Forward",
            $"{name} forward for value i = (sample n, unit j): y = Σₖ w[j, k]·x[n, k]{(layer.BiasCount > 0 ? " + b[j]" : "")}" +
            (act is null ? "" : $", and z = {act.Kind}(y) for the fused layer {act.Index} ({act.PascalName})"), parameters, w =>
        {
            w.Line($"int n = i / {@out}, j = i - n * {@out}, row = {W} + j * {@in}, xo = n * {@in};");
            w.Line($"{t} sum = {(layer.BiasCount > 0 ? $"p[{layer.BiasOffset} + j]" : c.Lit(0))}, carry = {c.Lit(0)};");
            w.Line($"for (int k = 0; k < {@in}; k++) Accumulate(ref sum, ref carry, p[row + k] * x[xo + k]);");
            w.Line("y[i] = sum;");
            if (act is not null) w.Line($"z[i] = {g.Activation(act, "sum")};");
        });
        g.Host.Line($"// Layer {layer.Index}: {name} ({@in} → {@out}){(act is null ? "" : $" with layer {act.Index}'s {act.Kind} fused: one thread per output value")}");
        if (act is null) g.Launch(field, $"batch * {@out}", GpuWriter.A(layer.Index), "P", GpuWriter.A(layer.Index + 1));
        else g.Launch(field, $"batch * {@out}", GpuWriter.A(layer.Index), "P", GpuWriter.A(layer.Index + 1), GpuWriter.A(layer.Index + 2));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        int @in = layer.InputSize, @out = layer.OutputSize, W = layer.WeightOffset;
        bool trainBias = layer.BiasCount > 0 && layer.TrainBias;
        string name = layer.PascalName, t = c.T;
        int count = @out * @in + (trainBias ? @out : 0);
        string weights = g.Kernel(name + "WeightGradient",
            $"{name} ∂E/∂W[j, k] += Σₙ δ[n, j]·x[n, k] for i = j·{@in} + k" + (trainBias ? $"; ∂E/∂b[j] += Σₙ δ[n, j] for i = {@out * @in} + j" : ""),
            new[] { g.V("x"), g.V("dy"), g.V("grad"), ("int", "batch") }, w =>
        {
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            if (trainBias)
            {
                w.Open($"if (i >= {@out * @in})");
                w.Line($"int unit = i - {@out * @in};");
                w.Line($"for (int n = 0; n < batch; n++) Accumulate(ref sum, ref carry, dy[n * {@out} + unit]);");
                w.Line($"grad[{layer.BiasOffset} + unit] += sum;");
                w.Line("return;");
                w.Close();
            }
            w.Line($"int j = i / {@in}, k = i - j * {@in};");
            w.Line($"for (int n = 0; n < batch; n++) Accumulate(ref sum, ref carry, dy[n * {@out} + j] * x[n * {@in} + k]);");
            w.Line($"grad[{W} + i] += sum;");
        });
        string inputs = g.Kernel(name + "InputGradient", $"{name} ∂E/∂x[n, k] = Σⱼ w[j, k]·δ[n, j] for i = (sample n, input k)",
            new[] { g.V("p"), g.V("dy"), g.V("dx") }, w =>
        {
            w.Line($"int n = i / {@in}, k = i - n * {@in};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Line($"for (int j = 0; j < {@out}; j++) Accumulate(ref sum, ref carry, p[{W} + j * {@in} + k] * dy[n * {@out} + j]);");
            w.Line("dx[i] = sum;");
        });
        g.Host.Line($"// Layer {layer.Index}: {name} backward: ∂E/∂W{(trainBias ? ", ∂E/∂b" : "")} (one thread per parameter), ∂E/∂x (one per input value)");
        g.Launch(weights, count.ToString(System.Globalization.CultureInfo.InvariantCulture), GpuWriter.A(layer.Index), GpuWriter.D(layer.Index + 1), "G", "batch");
        if (layer.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputs, $"batch * {@in}", "P", GpuWriter.D(layer.Index + 1), GpuWriter.D(layer.Index));
        if (layer.Index == 0) g.Host.Close();
    }

    private static string A(int k) => EmitContext.A(k);

    private static string D(int k) => EmitContext.D(k);
}
