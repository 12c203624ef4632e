using System.Globalization;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// SimpleRNN, GRU and LSTM on the GPU: the same equations, parameter layout and per-step buffers as
/// <c>NetGen.RecurrentLayer&lt;T&gt;</c> (whose summary has the forward and BPTT equations side by side). Per layer:
/// <list type="bullet">
/// <item><c>…InputProducts</c>: x_t·W_ihᵀ + b_ih of every sample, direction and step at once (one thread per gate value).</item>
/// <item><c>…Step</c>, launched once per step s: one thread per (sample, direction, unit) forms that unit's G rows of
/// h_(t−1)·W_hhᵀ + b_hh, applies the cell and writes h_t (and c_t), and the output (every step, or the last).
/// Both directions run in the same launch (the reverse direction's step s is t = T − 1 − s).</item>
/// <item><c>…BackwardStep</c>, launched from the last step to the first: one thread per (sample, direction, unit) forms
/// δh_t = ∂E/∂y_t + Σ_rows δa_hh(t+1)·W_hh[:, unit] (+ δh_(t+1) ⊙ z for a GRU) from the step before it, then the unit's
/// gate deltas (δc carried per unit for an LSTM).</item>
/// <item><c>…WeightGradient</c>: one thread per parameter of the layer, summing over every sample and step
/// (∂E/∂W_ih = Σ δa_ih·xᵀ, ∂E/∂W_hh = Σ δa_hh·h_(t−1)ᵀ, the biases Σ δa); <c>…InputGradient</c>: ∂E/∂x = Σ_d δa_ih·W_ih.</item>
/// </list>
/// Device buffers, [sample][direction][step] rows: gates (post-activation; a GRU keeps W_hn·h + b_hn as a fourth
/// block), hidden states h with slot 0 = h_0 = 0 (never written) and slot s + 1 after processing step s, the LSTM's
/// cell states likewise, the gate deltas δa_ih (and δa_hh, δh_t for a GRU), and the LSTM's carried δc.
/// </summary>
internal sealed partial class RecurrentEmitter
{
    private readonly struct Sizes
    {
        public Sizes(LayerPlan l)
        {
            var o = O(l);
            H = o.Units; F = Features(l); T = l.InputShape[0]; D = o.Bidirectional ? 2 : 1;
            G = Shapes.Gates(l.Kind); GH = G * H; GS = l.Kind == LayerKind.GRU ? 4 * H : GH;
            Block = GH * F + GH * H + 2 * GH; W = l.WeightOffset; DH = D * H;
            Sequences = o.ReturnSequences;
        }

        public int H { get; }
        public int F { get; }
        public int T { get; }
        public int D { get; }
        public int G { get; }
        public int GH { get; }
        public int GS { get; }
        public int Block { get; }
        public int W { get; }
        public int DH { get; }
        public bool Sequences { get; }
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Buffer(LayerPlan l, string what) => "_" + l.PascalName.ToLowerInvariant() + what;

    /// <summary>Declares the layer's device buffers (once) and returns their views: gates, states, cells (LSTM), δa_ih,
    /// δa_hh (GRU; else δa_ih), δh_t (GRU), δc (LSTM).</summary>
    private static (string Gates, string States, string? Cells, string DIn, string DHh, string? DhAll, string? Dc) Buffers(GpuWriter g, LayerPlan l)
    {
        var z = new Sizes(l);
        bool lstm = l.Kind == LayerKind.LSTM, gru = l.Kind == LayerKind.GRU;
        string name = l.PascalName;
        string gates = Declare("Gates", $"(long)maxBatch * {I(z.D * z.T * z.GS)}", $"{name}: gates of every sample, direction and step, maxBatch × {z.D} × {z.T} × {z.GS}");
        string states = Declare("States", $"(long)maxBatch * {I(z.D * (z.T + 1) * z.H)}", $"{name}: h_0 = 0, then h after each step, maxBatch × {z.D} × {z.T + 1} × {z.H}");
        string? cells = lstm ? Declare("Cells", $"(long)maxBatch * {I(z.D * (z.T + 1) * z.H)}", $"{name}: c_0 = 0, then c after each step, maxBatch × {z.D} × {z.T + 1} × {z.H}") : null;
        string dIn = Declare("DeltaIh", $"(long)maxBatch * {I(z.D * z.T * z.GH)}", $"{name}: δa_ih of every step, maxBatch × {z.D} × {z.T} × {z.GH}");
        string dHh = gru ? Declare("DeltaHh", $"(long)maxBatch * {I(z.D * z.T * z.GH)}", $"{name}: δa_hh of every step (δn ⊙ r in the n block), maxBatch × {z.D} × {z.T} × {z.GH}") : dIn;
        string? dhAll = gru ? Declare("DeltaH", $"(long)maxBatch * {I(z.D * z.T * z.H)}", $"{name}: δh_t of every step, maxBatch × {z.D} × {z.T} × {z.H}") : null;
        string? dc = lstm ? Declare("DeltaC", $"(long)maxBatch * {I(z.D * z.H)}", $"{name}: δc carried to the step before, maxBatch × {z.D} × {z.H}") : null;
        return (gates, states, cells, dIn, dHh, dhAll, dc);

        string Declare(string what, string length, string comment)
        {
            string field = Buffer(l, what);
            foreach (var b in g.Buffers)
                if (b.Field == field) return field + ".View";
            return g.Buffer(field, length, comment);
        }
    }

    private static string Sigmoid(EmitContext c, string x) => $"{c.Lit(1)} / ({c.Lit(1)} + {c.Math}.Exp(-{x}))";

    public override void GpuForward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        var z = new Sizes(layer);
        string t = c.T, name = layer.PascalName, zero = c.Lit(0), one = c.Lit(1);
        var (gates, states, cells, _, _, _, _) = Buffers(g, layer);
        bool lstm = layer.Kind == LayerKind.LSTM;
        int H = z.H, F = z.F, T = z.T, D = z.D, GH = z.GH, GS = z.GS, Block = z.Block, W = z.W;

        string products = g.Kernel(name + "InputProducts",
            $"{name}: x_t·W_ihᵀ + b_ih for value i = (sample n, direction d, step t, gate row j): gates[n, d, t, j] = b_ih[j] + Σₖ W_ih[j, k]·x[n, t, k] ({F} features, {GH} gate rows)",
            new[] { g.V("x"), g.V("p"), g.V("gates") }, w =>
        {
            w.Line($"int j = i % {I(GH)}, rest = i / {I(GH)}, t = rest % {I(T)};");
            w.Line($"rest /= {I(T)};");
            w.Line($"int d = rest % {I(D)}, n = rest / {I(D)}, weights = {I(W)} + d * {I(Block)}, row = weights + j * {I(F)}, xo = (n * {I(T)} + t) * {I(F)};");
            w.Line($"{t} sum = p[weights + {I(GH * (F + H))} + j], carry = {zero};");
            w.Line($"for (int k = 0; k < {I(F)}; k++) Accumulate(ref sum, ref carry, p[row + k] * x[xo + k]);");
            w.Line($"gates[((n * {I(D)} + d) * {I(T)} + t) * {I(GS)} + j] = sum;");
        });

        var parameters = new System.Collections.Generic.List<(string, string)> { g.V("p"), g.V("gates"), g.V("states") };
        if (lstm) parameters.Add(g.V("cells"));
        parameters.Add(g.V("y"));
        parameters.Add(("int", "s"));
        string cellWords = layer.Kind switch
        {
            LayerKind.LSTM => "i, f, o = σ(·), g = tanh(·); c_t = f·c_(t−1) + i·g; h_t = o·tanh(c_t)",
            LayerKind.GRU => "r, z = σ(·); n = tanh(a_in + r·(W_hn·h + b_hn)); h_t = (1 − z)·n + z·h_(t−1)",
            _ => O(layer).Activation == 1 ? "h_t = max(0, a)" : "h_t = tanh(a)",
        };
        string step = g.Kernel(name + "Step",
            $"{name}, step s, for thread i = (sample n, direction d, unit j): the unit's rows of a = gates + b_hh + W_hh·h_(t−1), then {cellWords}; t = s forward, T − 1 − s in reverse",
            parameters.ToArray(), w =>
        {
            w.Line($"int j = i % {I(H)}, rest = i / {I(H)}, d = rest % {I(D)}, n = rest / {I(D)};");
            w.Line($"int t = d == 0 ? s : {I(T - 1)} - s, weights = {I(W)} + d * {I(Block)}, hh = weights + {I(GH * F)}, bhh = weights + {I(GH * (F + H) + GH)};");
            w.Line($"int hp = ((n * {I(D)} + d) * {I(T + 1)} + s) * {I(H)}, hn = hp + {I(H)}, ga = ((n * {I(D)} + d) * {I(T)} + t) * {I(GS)};");
            for (int q = 0; q < z.G; q++)
            {
                w.Line($"{t} a{q} = p[bhh + {I(q * H)} + j], c{q} = {zero};");
                w.Line($"for (int k = 0; k < {I(H)}; k++) Accumulate(ref a{q}, ref c{q}, p[hh + ({I(q * H)} + j) * {I(H)} + k] * states[hp + k]);");
            }
            switch (layer.Kind)
            {
                case LayerKind.LSTM:
                    w.Line($"{t} ig = {Sigmoid(c, $"(gates[ga + j] + a0)")};");
                    w.Line($"{t} fg = {Sigmoid(c, $"(gates[ga + {I(H)} + j] + a1)")};");
                    w.Line($"{t} gg = {c.Math}.Tanh(gates[ga + {I(2 * H)} + j] + a2);");
                    w.Line($"{t} og = {Sigmoid(c, $"(gates[ga + {I(3 * H)} + j] + a3)")};");
                    w.Line($"gates[ga + j] = ig; gates[ga + {I(H)} + j] = fg; gates[ga + {I(2 * H)} + j] = gg; gates[ga + {I(3 * H)} + j] = og;");
                    w.Line($"{t} cell = fg * cells[hp + j] + ig * gg;");
                    w.Line("cells[hn + j] = cell;");
                    w.Line($"{t} h = og * {c.Math}.Tanh(cell);");
                    break;
                case LayerKind.GRU:
                    w.Line($"{t} r = {Sigmoid(c, $"(gates[ga + j] + a0)")};");
                    w.Line($"{t} u = {Sigmoid(c, $"(gates[ga + {I(H)} + j] + a1)")};   // z");
                    w.Line($"{t} nv = {c.Math}.Tanh(gates[ga + {I(2 * H)} + j] + r * a2);");
                    w.Line($"gates[ga + j] = r; gates[ga + {I(H)} + j] = u; gates[ga + {I(2 * H)} + j] = nv; gates[ga + {I(3 * H)} + j] = a2;");
                    w.Line($"{t} h = ({one} - u) * nv + u * states[hp + j];");
                    break;
                default:
                    w.Line($"{t} v = gates[ga + j] + a0;");
                    w.Line("gates[ga + j] = v;");
                    w.Line(O(layer).Activation == 1 ? $"{t} h = v > {zero} ? v : {zero};" : $"{t} h = {c.Math}.Tanh(v);");
                    break;
            }
            w.Line("states[hn + j] = h;");
            if (z.Sequences) w.Line($"y[(n * {I(T)} + t) * {I(z.DH)} + d * {I(H)} + j] = h;");
            else w.Line($"if (s == {I(T - 1)}) y[n * {I(z.DH)} + d * {I(H)} + j] = h;");
        });

        string input = GpuWriter.A(layer.Index), output = GpuWriter.A(layer.Index + 1);
        g.Host.Line($"// Layer {layer.Index}: {name} ({T} steps × {F} → {H} units{(D == 2 ? " × 2 directions" : "")}): the input products of every step at once, then one launch per step");
        g.Launch(products, $"batch * {I(D * T * GH)}", input, "P", gates);
        var args = new System.Collections.Generic.List<string> { "P", gates, states };
        if (lstm) args.Add(cells!);
        args.Add(output);
        args.Add("s");
        g.Host.Line($"for (int s = 0; s < {I(T)}; s++) {step}(batch * {I(D * H)}, {string.Join(", ", args)});");
    }

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        var z = new Sizes(layer);
        string t = c.T, name = layer.PascalName, zero = c.Lit(0), one = c.Lit(1);
        var (gates, states, cells, dIn, dHh, dhAll, dc) = Buffers(g, layer);
        bool lstm = layer.Kind == LayerKind.LSTM, gru = layer.Kind == LayerKind.GRU;
        int H = z.H, F = z.F, T = z.T, D = z.D, GH = z.GH, GS = z.GS, Block = z.Block, W = z.W, DH = z.DH;
        string dhh = gru ? "dhh" : "din";

        var parameters = new System.Collections.Generic.List<(string, string)> { g.V("p"), g.V("gates"), g.V("states") };
        if (lstm) parameters.Add(g.V("cells"));
        parameters.Add(g.V("dy"));
        parameters.Add(g.V("din"));
        if (gru) { parameters.Add(g.V("dhh")); parameters.Add(g.V("dh")); }
        if (lstm) parameters.Add(g.V("dc"));
        parameters.Add(("int", "s"));
        string backStep = g.Kernel(name + "BackwardStep",
            $"{name} backward through time, step s (from the last to the first), for thread i = (sample n, direction d, unit j): δh_t = ∂E/∂y_t + Σ_rows δa_hh(step s + 1)·W_hh[row, j]" +
            (gru ? " + δh_(s+1)·z_(s+1)" : "") + ", then the unit's gate deltas (RecurrentLayer's equations)",
            parameters.ToArray(), w =>
        {
            w.Line($"int j = i % {I(H)}, rest = i / {I(H)}, d = rest % {I(D)}, n = rest / {I(D)};");
            w.Line($"int t = d == 0 ? s : {I(T - 1)} - s, row = (n * {I(D)} + d) * {I(T)} + t, hh = {I(W)} + d * {I(Block)} + {I(GH * F)};");
            if (z.Sequences) w.Line($"{t} dht = dy[(n * {I(T)} + t) * {I(DH)} + d * {I(H)} + j], carry = {zero};");
            else w.Line($"{t} dht = s == {I(T - 1)} ? dy[n * {I(DH)} + d * {I(H)} + j] : {zero}, carry = {zero};");
            w.Open($"if (s < {I(T - 1)})");
            w.Line("int previous = d == 0 ? row + 1 : row - 1;   // the step processed after this one in the forward pass");
            w.Line($"for (int k = 0; k < {I(GH)}; k++) Accumulate(ref dht, ref carry, {dhh}[previous * {I(GH)} + k] * p[hh + k * {I(H)} + j]);");
            if (gru) w.Line($"Accumulate(ref dht, ref carry, dh[previous * {I(H)} + j] * gates[previous * {I(GS)} + {I(H)} + j]);");
            w.Close();
            if (gru) w.Line($"dh[row * {I(H)} + j] = dht;");
            w.Line($"int hn = ((n * {I(D)} + d) * {I(T + 1)} + s + 1) * {I(H)} + j, ga = row * {I(GS)} + j, da = row * {I(GH)} + j;");
            switch (layer.Kind)
            {
                case LayerKind.LSTM:
                    w.Line($"{t} ig = gates[ga], fg = gates[ga + {I(H)}], gg = gates[ga + {I(2 * H)}], og = gates[ga + {I(3 * H)}];");
                    w.Line($"{t} tc = {c.Math}.Tanh(cells[hn]);");
                    w.Line($"int cj = (n * {I(D)} + d) * {I(H)} + j;");
                    w.Line($"{t} dcj = (s == {I(T - 1)} ? {zero} : dc[cj]) + dht * og * ({one} - tc * tc);");
                    w.Line($"din[da] = dcj * gg * ig * ({one} - ig);");
                    w.Line($"din[da + {I(H)}] = dcj * cells[hn - {I(H)}] * fg * ({one} - fg);");
                    w.Line($"din[da + {I(2 * H)}] = dcj * ig * ({one} - gg * gg);");
                    w.Line($"din[da + {I(3 * H)}] = dht * tc * og * ({one} - og);");
                    w.Line("dc[cj] = dcj * fg;");
                    break;
                case LayerKind.GRU:
                    w.Line($"{t} r = gates[ga], u = gates[ga + {I(H)}], nv = gates[ga + {I(2 * H)}], hhn = gates[ga + {I(3 * H)}];");
                    w.Line($"{t} dan = dht * ({one} - u) * ({one} - nv * nv);");
                    w.Line($"{t} dar = dan * hhn * r * ({one} - r);");
                    w.Line($"{t} daz = dht * (states[hn - {I(H)}] - nv) * u * ({one} - u);");
                    w.Line($"din[da] = dar; din[da + {I(H)}] = daz; din[da + {I(2 * H)}] = dan;");
                    w.Line($"dhh[da] = dar; dhh[da + {I(H)}] = daz; dhh[da + {I(2 * H)}] = dan * r;");
                    break;
                default:
                    w.Line($"{t} h = states[hn];");
                    w.Line(O(layer).Activation == 1 ? $"din[da] = h > {zero} ? dht : {zero};" : $"din[da] = dht * ({one} - h * h);");
                    break;
            }
        });

        var weightParameters = new System.Collections.Generic.List<(string, string)> { g.V("x"), g.V("states"), g.V("din") };
        if (gru) weightParameters.Add(g.V("dhh"));
        weightParameters.Add(g.V("grad"));
        weightParameters.Add(("int", "batch"));
        string weights = g.Kernel(name + "WeightGradient",
            $"{name} ∂E/∂θ for parameter i of the layer (direction d = i / {Block}): W_ih[j, k] += Σ_(n,t) δa_ih[n, d, t, j]·x[n, t, k]; W_hh[j, k] += Σ_(n,t) δa_hh[n, d, t, j]·h_(t−1)[k]; b_ih[j] += Σ δa_ih; b_hh[j] += Σ δa_hh",
            weightParameters.ToArray(), w =>
        {
            w.Line($"int d = i / {I(Block)}, r = i - d * {I(Block)};");
            w.Line($"{t} sum = {zero}, carry = {zero};");
            w.Open($"if (r < {I(GH * F)})");
            w.Line($"int j = r / {I(F)}, k = r - j * {I(F)};");
            w.Line($"for (int n = 0; n < batch; n++) for (int t = 0; t < {I(T)}; t++) Accumulate(ref sum, ref carry, din[((n * {I(D)} + d) * {I(T)} + t) * {I(GH)} + j] * x[(n * {I(T)} + t) * {I(F)} + k]);");
            w.Close();
            w.Open($"else if (r < {I(GH * (F + H))})");
            w.Line($"int j = (r - {I(GH * F)}) / {I(H)}, k = r - {I(GH * F)} - j * {I(H)};");
            w.Line("// h_(t−1) of the step processed s-th is state slot s");
            w.Line($"for (int n = 0; n < batch; n++) for (int s = 0; s < {I(T)}; s++) Accumulate(ref sum, ref carry, {dhh}[((n * {I(D)} + d) * {I(T)} + (d == 0 ? s : {I(T - 1)} - s)) * {I(GH)} + j] * states[((n * {I(D)} + d) * {I(T + 1)} + s) * {I(H)} + k]);");
            w.Close();
            w.Open($"else if (r < {I(GH * (F + H) + GH)})");
            w.Line($"int j = r - {I(GH * (F + H))};");
            w.Line($"for (int n = 0; n < batch; n++) for (int t = 0; t < {I(T)}; t++) Accumulate(ref sum, ref carry, din[((n * {I(D)} + d) * {I(T)} + t) * {I(GH)} + j]);");
            w.Close();
            w.Open("else");
            w.Line($"int j = r - {I(GH * (F + H) + GH)};");
            w.Line($"for (int n = 0; n < batch; n++) for (int t = 0; t < {I(T)}; t++) Accumulate(ref sum, ref carry, {dhh}[((n * {I(D)} + d) * {I(T)} + t) * {I(GH)} + j]);");
            w.Close();
            w.Line($"grad[{I(W)} + i] += sum;");
        });

        string inputs = g.Kernel(name + "InputGradient",
            $"{name} ∂E/∂x[n, t, k] = Σ_d Σⱼ δa_ih[n, d, t, j]·W_ih[j, k] for i = (sample n, step t, feature k)",
            new[] { g.V("p"), g.V("din"), g.V("dx") }, w =>
        {
            w.Line($"int k = i % {I(F)}, nt = i / {I(F)}, n = nt / {I(T)}, t = nt - n * {I(T)};");
            w.Line($"{t} sum = {zero}, carry = {zero};");
            w.Open($"for (int d = 0; d < {I(D)}; d++)");
            w.Line($"int weights = {I(W)} + d * {I(Block)}, row = ((n * {I(D)} + d) * {I(T)} + t) * {I(GH)};");
            w.Line($"for (int j = 0; j < {I(GH)}; j++) Accumulate(ref sum, ref carry, din[row + j] * p[weights + j * {I(F)} + k]);");
            w.Close();
            w.Line("dx[i] = sum;");
        });

        g.Host.Line($"// Layer {layer.Index}: {name} backward through time: one launch per step from the last to the first, then ∂E/∂θ (one thread per parameter) and ∂E/∂x");
        var args = new System.Collections.Generic.List<string> { "P", gates, states };
        if (lstm) args.Add(cells!);
        args.Add(GpuWriter.D(layer.Index + 1));
        args.Add(dIn);
        if (gru) { args.Add(dHh); args.Add(dhAll!); }
        if (lstm) args.Add(dc!);
        args.Add("s");
        g.Host.Line($"for (int s = {I(T - 1)}; s >= 0; s--) {backStep}(batch * {I(D * H)}, {string.Join(", ", args)});");
        var weightArgs = new System.Collections.Generic.List<string> { GpuWriter.A(layer.Index), states, dIn };
        if (gru) weightArgs.Add(dHh);
        weightArgs.Add("G");
        weightArgs.Add("batch");
        g.Launch(weights, I(D * Block), weightArgs.ToArray());
        if (layer.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputs, $"batch * {I(T * F)}", "P", dIn, GpuWriter.D(layer.Index));
        if (layer.Index == 0) g.Host.Close();
    }
}

/// <summary>Embedding on the GPU: a gather forward (one thread per output value) and, backward, one thread per table
/// entry summing ∂E/∂y over the rows whose id is its row (no atomics: the sum runs in row order, deterministically).
/// The ids are checked on the host before they are uploaded (<c>CheckInput</c>), with the CPU network's message.</summary>
internal sealed partial class EmbeddingEmitter
{
    public override void GpuForward(GpuWriter g, LayerPlan layer)
    {
        var o = layer.Options<EmbeddingOptions>();
        int v = o.Vocabulary, d = o.Dimension, steps = layer.InputSize;
        string name = layer.PascalName;
        string field = g.Kernel(name + "Forward", $"{name} forward for value i = (row r = (sample, step), j): y[r, j] = table[id_r, j] ({v} ids × {d}; ids checked on the host)",
            new[] { g.V("ids"), g.V("p"), g.V("y") }, w =>
        {
            w.Line($"int r = i / {d}, j = i - r * {d};");
            w.Line($"int id = (int)ids[r];");
            w.Line($"y[i] = p[{layer.WeightOffset} + id * {d} + j];");
        });
        g.Host.Line($"// Layer {layer.Index}: {name}: y[t] = table[id_t] ({steps} ids per sample → {d} values each)");
        g.Launch(field, $"batch * {steps * d}", GpuWriter.A(layer.Index), "P", GpuWriter.A(layer.Index + 1));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        var o = layer.Options<EmbeddingOptions>();
        int v = o.Vocabulary, d = o.Dimension, steps = layer.InputSize;
        string name = layer.PascalName, t = c.T;
        string field = g.Kernel(name + "Backward", $"{name} ∂E/∂table[id, j] += Σ over rows r with id_r = id of ∂E/∂y[r, j], for i = (id, j)",
            new[] { g.V("ids"), g.V("dy"), g.V("grad"), ("int", "rows") }, w =>
        {
            w.Line($"int id = i / {d}, j = i - id * {d};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Line($"for (int r = 0; r < rows; r++) if ((int)ids[r] == id) Accumulate(ref sum, ref carry, dy[r * {d} + j]);");
            w.Line($"grad[{layer.WeightOffset} + i] += sum;");
        });
        g.Host.Line($"// Layer {layer.Index}: {name} backward: one thread per table entry; ids have no gradient");
        g.Launch(field, (v * d).ToString(CultureInfo.InvariantCulture), GpuWriter.A(layer.Index), GpuWriter.D(layer.Index + 1), "G", $"batch * {steps}");
        if (layer.Index == 0) g.Host.Line($"if (inputGradient) {GpuWriter.D(layer.Index)}.SubView(0, (long)batch * {steps}).MemSetToZero();");
    }
}

/// <summary>A Dense at every step on the GPU: the Dense kernels over batch × T rows (one thread per output value,
/// per parameter, per input value), with the following activation fused into the forward kernel as Dense does.</summary>
internal sealed partial class SequenceDenseEmitter
{
    public override void GpuForward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        int @in = In(layer), @out = Out(layer), W = layer.WeightOffset, steps = layer.InputShape[0];
        var act = GpuWriter.FusedActivation(c.Plan, layer);
        string name = layer.PascalName, t = c.T;
        var parameters = act is null ? new[] { g.V("x"), g.V("p"), g.V("y") } : new[] { g.V("x"), g.V("p"), g.V("y"), g.V("z") };
        string field = g.Kernel(name + "Forward",
            $"{name} at every step, for value i = (row r = (sample, step), unit j): y = Σₖ w[j, k]·x[r, k]{(layer.BiasCount > 0 ? " + b[j]" : "")}" +
            (act is null ? "" : $", and z = {act.Kind}(y) for the fused layer {act.Index} ({act.PascalName})"), parameters, w =>
        {
            w.Line($"int r = i / {@out}, j = i - r * {@out}, row = {W} + j * {@in}, xo = r * {@in};");
            w.Line($"{t} sum = {(layer.BiasCount > 0 ? $"p[{layer.BiasOffset} + j]" : c.Lit(0))}, carry = {c.Lit(0)};");
            w.Line($"for (int k = 0; k < {@in}; k++) Accumulate(ref sum, ref carry, p[row + k] * x[xo + k]);");
            w.Line("y[i] = sum;");
            if (act is not null) w.Line($"z[i] = {g.Activation(act, "sum")};");
        });
        g.Host.Line($"// Layer {layer.Index}: {name} at each of {steps} steps ({@in} → {@out}){(act is null ? "" : $" with layer {act.Index}'s {act.Kind} fused")}");
        if (act is null) g.Launch(field, $"batch * {steps * @out}", GpuWriter.A(layer.Index), "P", GpuWriter.A(layer.Index + 1));
        else g.Launch(field, $"batch * {steps * @out}", GpuWriter.A(layer.Index), "P", GpuWriter.A(layer.Index + 1), GpuWriter.A(layer.Index + 2));
    }

    public override void GpuBackward(GpuWriter g, LayerPlan layer)
    {
        var c = g.C;
        int @in = In(layer), @out = Out(layer), W = layer.WeightOffset, steps = layer.InputShape[0];
        bool trainBias = layer.BiasCount > 0 && layer.TrainBias;
        string name = layer.PascalName, t = c.T;
        int count = @out * @in + (trainBias ? @out : 0);
        string weights = g.Kernel(name + "WeightGradient",
            $"{name} ∂E/∂W[j, k] += Σ_r δ[r, j]·x[r, k] over every sample and step, for i = j·{@in} + k" + (trainBias ? $"; ∂E/∂b[j] += Σ_r δ[r, j] for i = {@out * @in} + j" : ""),
            new[] { g.V("x"), g.V("dy"), g.V("grad"), ("int", "rows") }, w =>
        {
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            if (trainBias)
            {
                w.Open($"if (i >= {@out * @in})");
                w.Line($"int unit = i - {@out * @in};");
                w.Line($"for (int r = 0; r < rows; r++) Accumulate(ref sum, ref carry, dy[r * {@out} + unit]);");
                w.Line($"grad[{layer.BiasOffset} + unit] += sum;");
                w.Line("return;");
                w.Close();
            }
            w.Line($"int j = i / {@in}, k = i - j * {@in};");
            w.Line($"for (int r = 0; r < rows; r++) Accumulate(ref sum, ref carry, dy[r * {@out} + j] * x[r * {@in} + k]);");
            w.Line($"grad[{W} + i] += sum;");
        });
        string inputs = g.Kernel(name + "InputGradient", $"{name} ∂E/∂x[r, k] = Σⱼ w[j, k]·δ[r, j] for i = (row r = (sample, step), input k)",
            new[] { g.V("p"), g.V("dy"), g.V("dx") }, w =>
        {
            w.Line($"int r = i / {@in}, k = i - r * {@in};");
            w.Line($"{t} sum = {c.Lit(0)}, carry = {c.Lit(0)};");
            w.Line($"for (int j = 0; j < {@out}; j++) Accumulate(ref sum, ref carry, p[{W} + j * {@in} + k] * dy[r * {@out} + j]);");
            w.Line("dx[i] = sum;");
        });
        g.Host.Line($"// Layer {layer.Index}: {name} backward at every step: ∂E/∂W{(trainBias ? ", ∂E/∂b" : "")} (one thread per parameter), ∂E/∂x (one per input value)");
        g.Launch(weights, count.ToString(CultureInfo.InvariantCulture), GpuWriter.A(layer.Index), GpuWriter.D(layer.Index + 1), "G", $"batch * {steps}");
        if (layer.Index == 0) g.Host.Open("if (inputGradient)");
        g.Launch(inputs, $"batch * {steps * @in}", "P", GpuWriter.D(layer.Index + 1), GpuWriter.D(layer.Index));
        if (layer.Index == 0) g.Host.Close();
    }
}
