using System;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Batch normalisation per channel (C, H, W inputs: statistics over batch × H × W) or per feature (vector inputs:
/// statistics over the batch), m values per channel.
/// Forward   x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β; in training μ, σ² are the batch's (σ² biased) and the running
///           statistics move: r_μ ← (1 − momentum)·r_μ + momentum·μ, r_σ² likewise with the unbiased m/(m − 1)·σ²;
///           in inference μ, σ² are the running statistics.
/// Backward  ∂E/∂γ += Σ ∂E/∂y·x̂,  ∂E/∂β += Σ ∂E/∂y, and, since μ and σ² depend on every x of the batch (training),
///           ∂E/∂x = γ/(m·√(σ² + ε))·(m·∂E/∂y − Σ ∂E/∂y − x̂·Σ ∂E/∂y·x̂); in inference ∂E/∂x = γ·∂E/∂y/√(σ² + ε).
/// </summary>
internal sealed class BatchNormEmitter : LayerEmitter
{
    public static readonly BatchNormEmitter Instance = new();

    private static int Channels(LayerPlan l) => BatchNormLayer.Channels(l);

    private static int Spatial(LayerPlan l) => l.InputLayout.IsImage ? l.InputLayout.Height * l.InputLayout.Width : 1;

    public override void Fields(CodeWriter w, EmitContext c, LayerPlan l)
        => w.Line($"private readonly {c.T}[] _mean{l.Index} = new {c.T}[{Channels(l)}], _invStd{l.Index} = new {c.T}[{Channels(l)}];   // {l.PascalName}: μ and 1/√(σ² + ε) of the last forward pass");

    private const string V = "global::System.Runtime.Intrinsics.Vector256", V512 = "global::System.Runtime.Intrinsics.Vector512", U = "global::System.Runtime.CompilerServices.Unsafe";

    /// <summary>Whether the float kernels below run over vectors: per feature (S = 1) eight features at a time, lane l
    /// adding feature ch + l's values in sample order (the scalar loop's sums, bit for bit); per channel (S ≥ 8) eight
    /// values of each sample's run at a time (the double sums then add in lane order, then the run's last S mod 8 values).</summary>
    private static bool Vectorised(EmitContext c, LayerPlan l) => !c.Plan.Spec.IsDouble && (Spatial(l) == 1 ? Channels(l) >= 8 : Spatial(l) >= 8);

    /// <summary>Whether the vector kernels also get Vector512 loops (taken where Vector512 is accelerated, a JIT-time
    /// constant): 16 features at a time (per feature: each lane still adds one feature's values in sample order, so the
    /// same bits), or 16 values of each run (per channel: the double sums group by 16 lanes instead of 8, a change of
    /// summation order only; see docs/performance.md for the bound).</summary>
    private static bool Wide(EmitContext c, LayerPlan l) => Vectorised(c, l) && (Spatial(l) == 1 ? Channels(l) >= 16 : Spatial(l) >= 16);

    public override void Forward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string x = EmitContext.A(l.Index), y = EmitContext.A(l.Index + 1), t = c.T;
        string mom = c.Lit(l.Options<BatchNormOptions>().Momentum), eps = c.Lit(l.Options<BatchNormOptions>().Epsilon);
        bool wide = Wide(c, l);
        w.Line($"// Layer {l.Index}: {l.PascalName} over {C} {(S > 1 ? "channels" : "features")}: y = γ·(x − μ)/√(σ² + ε) + β, batch statistics in training, running ones in inference");
        w.Open("");
        w.Line($"int m = batch * {S};");
        if (Vectorised(c, l) && S == 1)
        {
            w.Line($"ref {t} x = ref {x}[0], y = ref {y}[0];");
            w.Line($"global::System.Span<double> lanes = stackalloc double[{(wide ? 16 : 8)}];");
            w.Line("int ch = 0;");
            void Features(string V, int L)
            {
                w.Open($"for (; ch + {L} <= {C}; ch += {L})");
                w.Line($"// {(L == 8 ? "eight" : "sixteen")} features at once: lane l adds feature ch + l's values in sample order, as the loop below does one feature");
                w.Open("if (Training)");
                w.Line($"{V}<double> lo = {V}<double>.Zero, hi = {V}<double>.Zero;");
                w.Line($"for (int n = 0; n < batch; n++) {{ {V}<float> v = {V}.LoadUnsafe(ref x, (nuint)(n * {CS} + ch)); lo += {V}.WidenLower(v); hi += {V}.WidenUpper(v); }}");
                w.Line($"{V}.CopyTo(lo, lanes); {V}.CopyTo(hi, lanes.Slice({L / 2}));");
                w.Line($"for (int l = 0; l < {L}; l++) _mean{l.Index}[ch + l] = ({t})(lanes[l] / m);");
                w.Line($"{V}<float> meanv = {V}.LoadUnsafe(ref _mean{l.Index}[ch]);");
                w.Line($"lo = {V}<double>.Zero; hi = {V}<double>.Zero;");
                w.Line($"for (int n = 0; n < batch; n++) {{ {V}<float> e = {V}.LoadUnsafe(ref x, (nuint)(n * {CS} + ch)) - meanv; {V}<double> el = {V}.WidenLower(e), eh = {V}.WidenUpper(e); lo += el * el; hi += eh * eh; }}");
                w.Line($"{V}.CopyTo(lo, lanes); {V}.CopyTo(hi, lanes.Slice({L / 2}));");
                w.Open($"for (int l = 0; l < {L}; l++)");
                w.Line($"{t} variance = ({t})(lanes[l] / m);");
                w.Line($"_invStd{l.Index}[ch + l] = {c.Lit(1)} / {c.Math}.Sqrt(variance + {eps});");
                w.Line($"_s[{l.StateOffset} + ch + l] = ({c.Lit(1)} - {mom}) * _s[{l.StateOffset} + ch + l] + {mom} * _mean{l.Index}[ch + l];");
                w.Line($"_s[{l.StateOffset + C} + ch + l] = ({c.Lit(1)} - {mom}) * _s[{l.StateOffset + C} + ch + l] + {mom} * (m > 1 ? variance * m / (m - 1) : variance);");
                w.Close();
                w.Close();
                w.Line($"else for (int l = 0; l < {L}; l++) {{ _mean{l.Index}[ch + l] = _s[{l.StateOffset} + ch + l]; _invStd{l.Index}[ch + l] = {c.Lit(1)} / {c.Math}.Sqrt(_s[{l.StateOffset + C} + ch + l] + {eps}); }}");
                w.Line($"{V}<float> mean = {V}.LoadUnsafe(ref _mean{l.Index}[ch]), invStd = {V}.LoadUnsafe(ref _invStd{l.Index}[ch]), gamma = {V}.LoadUnsafe(ref _p[{l.WeightOffset} + ch]), beta = {V}.LoadUnsafe(ref _p[{l.BiasOffset} + ch]);");
                w.Line($"for (int n = 0; n < batch; n++) {V}.StoreUnsafe(gamma * ({V}.LoadUnsafe(ref x, (nuint)(n * {CS} + ch)) - mean) * invStd + beta, ref y, (nuint)(n * {CS} + ch));");
                w.Close();
            }
            if (wide)
            {
                w.Open($"if ({V512}.IsHardwareAccelerated)   // a JIT-time constant");
                Features(V512, 16);
                w.Close();
            }
            Features(V, 8);
            w.Open($"for (; ch < {C}; ch++)");
        }
        else if (Vectorised(c, l))
        {
            w.Line($"ref {t} x = ref {x}[0], y = ref {y}[0];");
            w.Open($"for (int ch = 0; ch < {C}; ch++)");
        }
        else w.Open($"for (int ch = 0; ch < {C}; ch++)");
        bool runs = Vectorised(c, l) && S > 1;
        w.Line($"{t} mean, invStd;");
        w.Open("if (Training)");
        if (runs)
        {
            w.Line("double sum, squares;");
            void Statistics(string V, int L)
            {
                w.Line($"// {L} values of each sample's run of {S} at a time, in double; the lanes are added in order, then the last {S % L} values of the runs");
                SumRuns(w, V, L, S, CS, "sum", "x", v => v, s => s);
                w.Line($"mean = ({t})(sum / m);");
                w.Line($"{V}<float> meanv = {V}.Create(mean);");
                SumRuns(w, V, L, S, CS, "squares", "x", v => $"{v} - meanv", s => $"{s} - mean", square: true);
            }
            if (wide)
            {
                w.Open($"if ({V512}.IsHardwareAccelerated)   // a JIT-time constant");
                Statistics(V512, 16);
                w.Close();
                w.Open("else");
            }
            Statistics(V, 8);
            if (wide) w.Close();
        }
        else
        {
            w.Line("double sum = 0, squares = 0;   // the statistics add batch × H × W values: summed in double, whatever the element type");
            w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) sum += {x}[n * {CS} + ch * {S} + s];");
            w.Line($"mean = ({t})(sum / m);");
            w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ double e = {x}[n * {CS} + ch * {S} + s] - mean; squares += e * e; }}");
        }
        w.Line($"{t} variance = ({t})(squares / m);");
        w.Line($"invStd = {c.Lit(1)} / {c.Math}.Sqrt(variance + {eps});");
        w.Line($"_s[{l.StateOffset} + ch] = ({c.Lit(1)} - {mom}) * _s[{l.StateOffset} + ch] + {mom} * mean;");
        w.Line($"_s[{l.StateOffset + C} + ch] = ({c.Lit(1)} - {mom}) * _s[{l.StateOffset + C} + ch] + {mom} * (m > 1 ? variance * m / (m - 1) : variance);");
        w.Close();
        w.Open("else");
        w.Line($"mean = _s[{l.StateOffset} + ch];");
        w.Line($"invStd = {c.Lit(1)} / {c.Math}.Sqrt(_s[{l.StateOffset + C} + ch] + {eps});");
        w.Close();
        w.Line($"_mean{l.Index}[ch] = mean; _invStd{l.Index}[ch] = invStd;");
        w.Line($"{t} gamma = _p[{l.WeightOffset} + ch], beta = _p[{l.BiasOffset} + ch];");
        if (runs)
        {
            w.Line($"{V}<float> gv = {V}.Create(gamma), mv = {V}.Create(mean), iv = {V}.Create(invStd), bv = {V}.Create(beta);");
            if (wide) w.Line($"{V512}<float> gw = {V512}.Create(gamma), mw = {V512}.Create(mean), iw = {V512}.Create(invStd), bw = {V512}.Create(beta);   // the same formula lane by lane: the same bits at either width");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int at = n * {CS} + ch * {S}, s = 0;");
            if (wide) w.Line($"if ({V512}.IsHardwareAccelerated) for (; s + 16 <= {S}; s += 16) {V512}.StoreUnsafe(gw * ({V512}.LoadUnsafe(ref x, (nuint)(at + s)) - mw) * iw + bw, ref y, (nuint)(at + s));");
            w.Line($"for (; s + 8 <= {S}; s += 8) {V}.StoreUnsafe(gv * ({V}.LoadUnsafe(ref x, (nuint)(at + s)) - mv) * iv + bv, ref y, (nuint)(at + s));");
            if (S % 8 != 0) w.Line($"for (; s < {S}; s++) {U}.Add(ref y, at + s) = gamma * ({U}.Add(ref x, at + s) - mean) * invStd + beta;");
            w.Close();
        }
        else
            w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; {y}[at] = gamma * ({x}[at] - mean) * invStd + beta; }}");
        w.Close();
        w.Close();
    }

    /// <summary>Assigns double <paramref name="total"/> = Σ over the channel's values of <paramref name="scalar"/>(value)
    /// (squared when asked), <paramref name="L"/> values of each sample's run at a time in two vectors of doubles
    /// (<paramref name="vec"/>: Vector256 or Vector512), the run's last S mod L values one by one; the lanes are added in
    /// order, then the tail.</summary>
    private static void SumRuns(CodeWriter w, string vec, int L, int S, int CS, string total, string array, Func<string, string> vector, Func<string, string> scalar, bool square = false)
    {
        w.Line($"{vec}<double> {total}Lo = {vec}<double>.Zero, {total}Hi = {vec}<double>.Zero;");
        w.Line($"double {total}Tail = 0;");
        w.Open("for (int n = 0; n < batch; n++)");
        w.Line($"int at = n * {CS} + ch * {S}, s = 0;");
        w.Open($"for (; s + {L} <= {S}; s += {L})");
        w.Line($"{vec}<float> v = {vector($"{vec}.LoadUnsafe(ref {array}, (nuint)(at + s))")};");
        w.Line($"{vec}<double> lo = {vec}.WidenLower(v), hi = {vec}.WidenUpper(v);");
        w.Line(square ? $"{total}Lo += lo * lo; {total}Hi += hi * hi;" : $"{total}Lo += lo; {total}Hi += hi;");
        w.Close();
        if (S % L != 0)
            w.Line(square
                ? $"for (; s < {S}; s++) {{ double e = {scalar($"{U}.Add(ref {array}, at + s)")}; {total}Tail += e * e; }}"
                : $"for (; s < {S}; s++) {total}Tail += {scalar($"{U}.Add(ref {array}, at + s)")};");
        w.Close();
        w.Line($"{total} = {vec}.Sum({total}Lo + {total}Hi) + {total}Tail;");
    }

    public override void Backward(CodeWriter w, EmitContext c, LayerPlan l)
    {
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string x = EmitContext.A(l.Index), dy = EmitContext.D(l.Index + 1), dx = EmitContext.D(l.Index), t = c.T;
        bool wide = Wide(c, l);
        w.Line($"// Layer {l.Index}: {l.PascalName} backward: ∂E/∂γ += Σ ∂E/∂y·x̂, ∂E/∂β += Σ ∂E/∂y; ∂E/∂x through the batch statistics in training");
        w.Open("");
        w.Line($"int m = batch * {S};");
        bool vectorised = Vectorised(c, l);
        if (vectorised) w.Line($"ref {t} x = ref {x}[0], dy = ref {dy}[0], dx = ref {dx}[0];");
        if (vectorised && S == 1)
        {
            w.Line($"global::System.Span<double> lanes = stackalloc double[{(wide ? 32 : 16)}];");
            w.Line($"global::System.Span<float> sums = stackalloc float[{(wide ? 32 : 16)}];");
            w.Line("int ch = 0;");
            void Features(string V, int L)
            {
                w.Open($"for (; ch + {L} <= {C}; ch += {L})");
                w.Line($"// {(L == 8 ? "eight" : "sixteen")} features at once: lane l adds feature ch + l's values in sample order, as the loop below does one feature");
                w.Line($"{V}<float> mean = {V}.LoadUnsafe(ref _mean{l.Index}[ch]), invStd = {V}.LoadUnsafe(ref _invStd{l.Index}[ch]), gamma = {V}.LoadUnsafe(ref _p[{l.WeightOffset} + ch]);");
                w.Line($"{V}<double> dyLo = {V}<double>.Zero, dyHi = {V}<double>.Zero, xhLo = {V}<double>.Zero, xhHi = {V}<double>.Zero;");
                w.Open("for (int n = 0; n < batch; n++)");
                w.Line($"{V}<float> d = {V}.LoadUnsafe(ref dy, (nuint)(n * {CS} + ch)), e = d * ({V}.LoadUnsafe(ref x, (nuint)(n * {CS} + ch)) - mean) * invStd;");
                w.Line($"dyLo += {V}.WidenLower(d); dyHi += {V}.WidenUpper(d); xhLo += {V}.WidenLower(e); xhHi += {V}.WidenUpper(e);");
                w.Close();
                w.Line($"{V}.CopyTo(dyLo, lanes); {V}.CopyTo(dyHi, lanes.Slice({L / 2})); {V}.CopyTo(xhLo, lanes.Slice({L})); {V}.CopyTo(xhHi, lanes.Slice({3 * L / 2}));");
                w.Open($"for (int l = 0; l < {L}; l++)");
                w.Line($"{t} sumDy = ({t})lanes[l], sumDyXhat = ({t})lanes[{L} + l];");
                w.Line($"_g[{l.WeightOffset} + ch + l] += sumDyXhat;");
                w.Line($"_g[{l.BiasOffset} + ch + l] += sumDy;");
                w.Line($"sums[l] = sumDy; sums[{L} + l] = sumDyXhat;");
                w.Close();
                if (l.Index == 0) w.Open("if (inputGradient)");
                w.Open("if (_trainingPass)");
                w.Line($"{V}<float> mv = {V}.Create(({t})m), k = gamma * invStd / mv, sumDy = {V}.LoadUnsafe(ref sums[0]), sumDyXhat = {V}.LoadUnsafe(ref sums[{L}]);");
                w.Line($"for (int n = 0; n < batch; n++) {V}.StoreUnsafe(k * (mv * {V}.LoadUnsafe(ref dy, (nuint)(n * {CS} + ch)) - sumDy - ({V}.LoadUnsafe(ref x, (nuint)(n * {CS} + ch)) - mean) * invStd * sumDyXhat), ref dx, (nuint)(n * {CS} + ch));");
                w.Close();
                w.Line($"else for (int n = 0; n < batch; n++) {V}.StoreUnsafe(gamma * invStd * {V}.LoadUnsafe(ref dy, (nuint)(n * {CS} + ch)), ref dx, (nuint)(n * {CS} + ch));");
                if (l.Index == 0) w.Close();
                w.Close();
            }
            if (wide)
            {
                w.Open($"if ({V512}.IsHardwareAccelerated)   // a JIT-time constant");
                Features(V512, 16);
                w.Close();
            }
            Features(V, 8);
            w.Open($"for (; ch < {C}; ch++)");
        }
        else w.Open($"for (int ch = 0; ch < {C}; ch++)");
        bool runs = vectorised && S > 1;
        w.Line($"{t} mean = _mean{l.Index}[ch], invStd = _invStd{l.Index}[ch], gamma = _p[{l.WeightOffset} + ch];");
        if (runs)
        {
            w.Line($"{V}<float> meanv = {V}.Create(mean), invStdv = {V}.Create(invStd);");
            if (wide) w.Line($"{V512}<float> meanw = {V512}.Create(mean), invStdw = {V512}.Create(invStd);");
            w.Line("double dySum, dyXhatSum;");
            void Sums(string V, int L, string mv, string iv)
            {
                w.Line($"// {L} values of each sample's run of {S} at a time, in double; the lanes are added in order, then the last {S % L} values of the runs");
                w.Line($"{V}<double> dyLo = {V}<double>.Zero, dyHi = {V}<double>.Zero, xhLo = {V}<double>.Zero, xhHi = {V}<double>.Zero;");
                w.Line("double dyTail = 0, xhTail = 0;");
                w.Open("for (int n = 0; n < batch; n++)");
                w.Line($"int at = n * {CS} + ch * {S}, s = 0;");
                w.Open($"for (; s + {L} <= {S}; s += {L})");
                w.Line($"{V}<float> d = {V}.LoadUnsafe(ref dy, (nuint)(at + s)), e = d * ({V}.LoadUnsafe(ref x, (nuint)(at + s)) - {mv}) * {iv};");
                w.Line($"dyLo += {V}.WidenLower(d); dyHi += {V}.WidenUpper(d); xhLo += {V}.WidenLower(e); xhHi += {V}.WidenUpper(e);");
                w.Close();
                if (S % L != 0) w.Line($"for (; s < {S}; s++) {{ dyTail += {U}.Add(ref dy, at + s); xhTail += {U}.Add(ref dy, at + s) * ({U}.Add(ref x, at + s) - mean) * invStd; }}");
                w.Close();
                w.Line($"dySum = {V}.Sum(dyLo + dyHi) + dyTail; dyXhatSum = {V}.Sum(xhLo + xhHi) + xhTail;");
            }
            if (wide)
            {
                w.Open($"if ({V512}.IsHardwareAccelerated)   // a JIT-time constant");
                Sums(V512, 16, "meanw", "invStdw");
                w.Close();
                w.Open("else");
            }
            Sums(V, 8, "meanv", "invStdv");
            if (wide) w.Close();
        }
        else
        {
            w.Line("double dySum = 0, dyXhatSum = 0;   // summed in double, as the forward statistics");
            w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; dySum += {dy}[at]; dyXhatSum += {dy}[at] * ({x}[at] - mean) * invStd; }}");
        }
        w.Line($"{t} sumDy = ({t})dySum, sumDyXhat = ({t})dyXhatSum;");
        w.Line($"_g[{l.WeightOffset} + ch] += sumDyXhat;");
        w.Line($"_g[{l.BiasOffset} + ch] += sumDy;");
        if (l.Index == 0) w.Open("if (inputGradient)");
        w.Open("if (_trainingPass)");
        w.Line($"{t} k = gamma * invStd / m;");
        if (runs)
        {
            w.Line($"{V}<float> kv = {V}.Create(k), mv = {V}.Create(({t})m), sv = {V}.Create(sumDy), xv = {V}.Create(sumDyXhat);");
            if (wide) w.Line($"{V512}<float> kw = {V512}.Create(k), mw = {V512}.Create(({t})m), sw = {V512}.Create(sumDy), xw = {V512}.Create(sumDyXhat);   // the same formula lane by lane: the same bits at either width");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int at = n * {CS} + ch * {S}, s = 0;");
            if (wide) w.Line($"if ({V512}.IsHardwareAccelerated) for (; s + 16 <= {S}; s += 16) {V512}.StoreUnsafe(kw * (mw * {V512}.LoadUnsafe(ref dy, (nuint)(at + s)) - sw - ({V512}.LoadUnsafe(ref x, (nuint)(at + s)) - meanw) * invStdw * xw), ref dx, (nuint)(at + s));");
            w.Line($"for (; s + 8 <= {S}; s += 8) {V}.StoreUnsafe(kv * (mv * {V}.LoadUnsafe(ref dy, (nuint)(at + s)) - sv - ({V}.LoadUnsafe(ref x, (nuint)(at + s)) - meanv) * invStdv * xv), ref dx, (nuint)(at + s));");
            if (S % 8 != 0) w.Line($"for (; s < {S}; s++) {U}.Add(ref dx, at + s) = k * (m * {U}.Add(ref dy, at + s) - sumDy - ({U}.Add(ref x, at + s) - mean) * invStd * sumDyXhat);");
            w.Close();
            w.Close();
            w.Open("else");
            w.Line($"{V}<float> gi = {V}.Create(gamma * invStd);");
            if (wide) w.Line($"{V512}<float> giw = {V512}.Create(gamma * invStd);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line($"int at = n * {CS} + ch * {S}, s = 0;");
            if (wide) w.Line($"if ({V512}.IsHardwareAccelerated) for (; s + 16 <= {S}; s += 16) {V512}.StoreUnsafe(giw * {V512}.LoadUnsafe(ref dy, (nuint)(at + s)), ref dx, (nuint)(at + s));");
            w.Line($"for (; s + 8 <= {S}; s += 8) {V}.StoreUnsafe(gi * {V}.LoadUnsafe(ref dy, (nuint)(at + s)), ref dx, (nuint)(at + s));");
            if (S % 8 != 0) w.Line($"for (; s < {S}; s++) {U}.Add(ref dx, at + s) = gamma * invStd * {U}.Add(ref dy, at + s);");
            w.Close();
            w.Close();
        }
        else
        {
            w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; {dx}[at] = k * (m * {dy}[at] - sumDy - ({x}[at] - mean) * invStd * sumDyXhat); }}");
            w.Close();
            w.Line($"else for (int n = 0; n < batch; n++) for (int s = 0; s < {S}; s++) {{ int at = n * {CS} + ch * {S} + s; {dx}[at] = gamma * invStd * {dy}[at]; }}");
        }
        if (l.Index == 0) w.Close();
        w.Close();
        w.Close();
    }

    // ---- GPU (ILGPU) ------------------------------------------------------------------------------------------------
    // A channel's statistics sum m = batch × H × W values. One thread per channel would leave a GPU with a few dozen
    // threads each adding tens of thousands of values, so each sum is split: thread (channel, group) adds the values
    // j ≡ group (mod Groups) of the channel (j = n·H·W + s), compensated, into a partial; one thread per channel then
    // adds its Groups partials in order. Two passes, as on the CPU: the mean first, then the squared deviations.

    /// <summary>Partial sums per channel.</summary>
    private const int Groups = 64;

    private static string Str(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes a partial-sums kernel: thread i = (channel, group) adds <paramref name="term"/> (in which
    /// <c>at</c> is the value's index, <c>ch</c> its channel, and <paramref name="locals"/> declares what the thread reads
    /// once, e.g. the channel's mean) over the group's values into partials[offset + i].</summary>
    private static string PartialKernel(GpuWriter g, LayerPlan l, string name, string what, string term, (string, string)[] parameters,
        int offset = 0, string? locals = null)
    {
        var c = g.C;
        int C = Channels(l), S = Spatial(l), CS = C * S;
        return g.Kernel(l.PascalName + name, $"{l.PascalName}, thread i = (channel, group): Σ {what} over the channel's values j ≡ group (mod {Groups}), j < batch·{S}", parameters, w =>
        {
            w.Line($"int ch = i / {Groups}, group = i - ch * {Groups}, m = batch * {S};");
            if (locals is not null) w.Line(locals);
            w.Line($"{c.T} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Open($"for (int j = group; j < m; j += {Groups})");
            w.Line($"int at = j / {S} * {CS} + ch * {S} + j % {S};");
            w.Line($"Accumulate(ref sum, ref carry, {term});");
            w.Close();
            w.Line(offset == 0 ? "partials[i] = sum;" : $"partials[{offset} + i] = sum;");
        });
    }

    /// <summary>Declares total = the sum of channel i's partials, in group order.</summary>
    private static void SumPartials(CodeWriter w, EmitContext c, string partials, string total, int offset = 0)
    {
        w.Line($"{c.T} {total} = {c.Lit(0)}, {total}Carry = {c.Lit(0)};");
        w.Line($"for (int group = 0; group < {Groups}; group++) Accumulate(ref {total}, ref {total}Carry, {partials}[{(offset == 0 ? "" : Str(offset) + " + ")}i * {Groups} + group]);");
    }

    public override void GpuForward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string t = c.T, mom = c.Lit(l.Options<BatchNormOptions>().Momentum), eps = c.Lit(l.Options<BatchNormOptions>().Epsilon), one = c.Lit(1);
        string stats = g.Buffer("_stats" + l.Index, Str(2 * C), $"{l.PascalName}: μ then 1/√(σ² + ε) per channel of the last forward pass");
        g.Buffer("_sums" + l.Index, Str(2 * C), $"{l.PascalName}: Σ ∂E/∂y then Σ ∂E/∂y·x̂ per channel of the last backward pass");
        string partials = g.Buffer("_partials" + l.Index, Str(2 * C * Groups), $"{l.PascalName}: {Groups} partial sums per channel (two sets)");
        string sums = PartialKernel(g, l, "Sums", "x", "x[at]", new[] { g.V("x"), g.V("partials"), ("int", "batch") });
        string mean = g.Kernel(l.PascalName + "Mean", $"{l.PascalName}, one thread per channel i: μ = Σ partials / (batch·{S})",
            new[] { g.V("partials"), g.V("stats"), ("int", "batch") }, w =>
        {
            SumPartials(w, c, "partials", "sum");
            w.Line($"stats[i] = sum / (batch * {S});");
        });
        string squares = PartialKernel(g, l, "Squares", "(x − μ)²", "(x[at] - mean) * (x[at] - mean)", new[] { g.V("x"), g.V("stats"), g.V("partials"), ("int", "batch") },
            locals: $"{t} mean = stats[ch];");
        string statistics = g.Kernel(l.PascalName + "Statistics",
            $"{l.PascalName}, one thread per channel i: in training σ² = Σ partials / m (biased; the running statistics move by {l.Options<BatchNormOptions>().Momentum}, with the unbiased m/(m − 1)·σ²); in inference μ and σ² are the running ones. Writes 1/√(σ² + ε)",
            new[] { g.V("partials"), g.V("s"), g.V("stats"), ("int", "batch"), ("int", "training") }, w =>
        {
            w.Open("if (training != 0)");
            w.Line($"int m = batch * {S};");
            SumPartials(w, c, "partials", "squares");
            w.Line($"{t} mean = stats[i], variance = squares / m;");
            w.Line($"stats[{C} + i] = {one} / {c.Math}.Sqrt(variance + {eps});");
            w.Line($"s[{l.StateOffset} + i] = ({one} - {mom}) * s[{l.StateOffset} + i] + {mom} * mean;");
            w.Line($"s[{l.StateOffset + C} + i] = ({one} - {mom}) * s[{l.StateOffset + C} + i] + {mom} * (m > 1 ? variance * m / (m - 1) : variance);");
            w.Close();
            w.Open("else");
            w.Line($"stats[i] = s[{l.StateOffset} + i];");
            w.Line($"stats[{C} + i] = {one} / {c.Math}.Sqrt(s[{l.StateOffset + C} + i] + {eps});");
            w.Close();
        });
        string normalize = g.Kernel(l.PascalName + "Forward", $"{l.PascalName} forward for value i: y = γ·(x − μ)·(1/√(σ² + ε)) + β of its channel",
            new[] { g.V("x"), g.V("p"), g.V("stats"), g.V("y") }, w =>
        {
            w.Line($"int ch = i / {S} - i / {CS} * {C};");
            w.Line($"y[i] = p[{l.WeightOffset} + ch] * (x[i] - stats[ch]) * stats[{C} + ch] + p[{l.BiasOffset} + ch];");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} over {C} {(S > 1 ? "channels" : "features")}: statistics ({Groups} partial sums per channel, then their sum), then y = γ·x̂ + β per value");
        g.Host.Open("if (training)");
        g.Launch(sums, Str(C * Groups), GpuWriter.A(l.Index), partials, "batch");
        g.Launch(mean, Str(C), partials, stats, "batch");
        g.Launch(squares, Str(C * Groups), GpuWriter.A(l.Index), stats, partials, "batch");
        g.Host.Close();
        g.Launch(statistics, Str(C), partials, "S", stats, "batch", "training ? 1 : 0");
        g.Launch(normalize, $"batch * {CS}", GpuWriter.A(l.Index), "P", stats, GpuWriter.A(l.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan l)
    {
        var c = g.C;
        int C = Channels(l), S = Spatial(l), CS = C * S;
        string t = c.T;
        string partials = $"_partials{l.Index}.View", stats = $"_stats{l.Index}.View", sumsView = $"_sums{l.Index}.View";
        string dySums = PartialKernel(g, l, "GradientSums", "∂E/∂y", "dy[at]",
            new[] { g.V("x"), g.V("dy"), g.V("stats"), g.V("partials"), ("int", "batch") });
        // The same walk again for Σ ∂E/∂y·x̂, into the second set of partials.
        string dyXhatSums = PartialKernel(g, l, "GradientXhatSums", "∂E/∂y·x̂", "dy[at] * (x[at] - mean) * invStd",
            new[] { g.V("x"), g.V("dy"), g.V("stats"), g.V("partials"), ("int", "batch") }, offset: C * Groups,
            locals: $"{t} mean = stats[ch], invStd = stats[{C} + ch];");
        string parameterGradient = g.Kernel(l.PascalName + "ParameterGradient",
            $"{l.PascalName}, one thread per channel i: Σ ∂E/∂y and Σ ∂E/∂y·x̂ from the partials; ∂E/∂γ += Σ ∂E/∂y·x̂, ∂E/∂β += Σ ∂E/∂y",
            new[] { g.V("partials"), g.V("sums"), g.V("grad") }, w =>
        {
            SumPartials(w, c, "partials", "sumDy");
            SumPartials(w, c, "partials", "sumDyXhat", C * Groups);
            w.Line("sums[i] = sumDy;");
            w.Line($"sums[{C} + i] = sumDyXhat;");
            w.Line($"grad[{l.WeightOffset} + i] += sumDyXhat;");
            w.Line($"grad[{l.BiasOffset} + i] += sumDy;");
        });
        string inputs = g.Kernel(l.PascalName + "InputGradient",
            $"{l.PascalName} ∂E/∂x for value i: training γ/(m·√(σ² + ε))·(m·∂E/∂y − Σ ∂E/∂y − x̂·Σ ∂E/∂y·x̂) with m = batch·{S}; inference γ·∂E/∂y/√(σ² + ε)",
            new[] { g.V("x"), g.V("dy"), g.V("p"), g.V("stats"), g.V("sums"), g.V("dx"), ("int", "batch"), ("int", "training") }, w =>
        {
            w.Line($"int ch = i / {S} - i / {CS} * {C}, m = batch * {S};");
            w.Line($"{t} gamma = p[{l.WeightOffset} + ch], invStd = stats[{C} + ch];");
            w.Line($"if (training != 0) dx[i] = gamma * invStd / m * (m * dy[i] - sums[ch] - (x[i] - stats[ch]) * invStd * sums[{C} + ch]);");
            w.Line("else dx[i] = gamma * invStd * dy[i];");
        });
        g.Host.Line($"// Layer {l.Index}: {l.PascalName} backward: per-channel sums ({Groups} partials each, then their sum; ∂E/∂γ, ∂E/∂β), then ∂E/∂x per value");
        g.Launch(dySums, Str(C * Groups), GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), stats, partials, "batch");
        g.Launch(dyXhatSums, Str(C * Groups), GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), stats, partials, "batch");
        g.Launch(parameterGradient, Str(C), partials, sumsView, "G");
        if (l.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputs, $"batch * {CS}", GpuWriter.A(l.Index), GpuWriter.D(l.Index + 1), "P", stats, sumsView, GpuWriter.D(l.Index), "batch", "_trainingPass ? 1 : 0");
        if (l.Index == 0) g.Host.Close();
    }
}
