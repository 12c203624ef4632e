using System.Collections.Generic;
using System.Linq;

namespace NetGen.Generators.Emit.Layers;

/// <summary>
/// Writes register-blocked matrix-product kernels with literal dimensions for Dense and Conv2D. Each layer gets
/// kernels (private static methods) whose loops have the layer's sizes as literals; they walk the output block by
/// block and call one block method per register block. The block methods are written once per network for each
/// block shape used and are inlined by the JIT (AggressiveInlining), so every call site compiles with its literal
/// strides, step count and mode. Two shapes of product cover every product the layers need:
/// <list type="bullet">
/// <item><b>Broadcast</b> (C[m, n] = Σ_k A[m, k]·B[k, n], B and C contiguous along n): a block of R rows × NV
/// vectors of C lives in registers; each step k broadcasts R values of A and loads NV vectors of B's row k. A may
/// be read with any strides, so Aᵀ costs nothing.</item>
/// <item><b>Dot</b> (C[m, n] = Σ_k A[m, k]·B[n, k], A and B contiguous along k): a block of R × NC dot products,
/// one vector accumulator each, summed across lanes at the end.</item>
/// </list>
/// Vectors are <c>Vector256</c> (8 floats or 4 doubles), and every kernel wide enough for it has a <c>Vector512</c> twin
/// (<c>…512</c>: 16 floats or 8 doubles, the same block shapes) that it hands over to when
/// <c>Vector512.IsHardwareAccelerated</c>. The JIT folds that test, so a CPU with full-width 512-bit FMAs (AMD Zen 5)
/// runs only the wide code and one without AVX-512 (or run with <c>DOTNET_EnableAVX512F=0</c>) only today's. A broadcast
/// product gives the same bits on both paths (each value is one FMA chain over k, in order, whatever the width); a
/// dot product sums its lanes in another grouping (k mod 16 rather than k mod 8, then across the lanes), so the two
/// paths differ by summation order only. A float dot product marked <see cref="Product.PackTransposed"/> (the Dense
/// forward) gets a different twin: B transposed into packed panels and broadcast blocks over them, from
/// <see cref="TransposedRows"/> rows on (see <c>TransposedKernel</c>).
/// Ragged edges use a last vector that overlaps the previous one and keeps only its new lanes (broadcast), or a
/// last vector whose already-summed lanes are masked off (dot), so every size of at least one vector stays
/// vectorised. Every output value is summed by one thread in a fixed order: splitting rows or columns across
/// threads (the m0/m1 and n0/n1 ranges) never changes a result.
/// </summary>
internal static class GemmEmitter
{
    /// <summary>How C is produced: C = product, C += product, C = product + bias[row], C = product + bias[column], or
    /// C = C + rate·product (Descend: a plain-SGD step θ ← θ − η·∂E/∂θ applied where the gradient is computed, with
    /// rate = −η; the gradient is never stored). The values are those of the <c>Kernel…</c> constants written into
    /// the network.</summary>
    public enum Mode { Assign = 0, Accumulate = 1, AssignBiasByRow = 2, AssignBiasByColumn = 3, Descend = 4 }

    private static readonly string[] ModeNames = { "KernelAssign", "KernelAccumulate", "KernelBiasByRow", "KernelBiasByColumn", "KernelDescend" };

    /// <summary>A product to emit.</summary>
    public sealed class Product
    {
        public string Method = "";
        public string Summary = "";
        public int N, K;              // literal column count and reduction length; rows are a runtime range
        public string? KRuntime;      // a runtime reduction length instead of K (a parameter of that name, e.g. "batch")
        public string AName = "a", BName = "b", CName = "c";
        public int LdA, AStepK = 1;   // A[m, k] at a[m·LdA + k·AStepK]   (broadcast: any strides; dot: AStepK = 1)
        public int LdB;               // broadcast: B[k, n] at b[k·LdB + n];  dot: B[n, k] at b[n·LdB + k]
        public int LdC, CStepN = 1;   // C[m, n] at c[m·LdC + n·CStepN]     (broadcast: CStepN = 1)
        public Mode Mode;
        public int MR = 4, NV = 3;    // broadcast: MR rows × NV vectors;  dot: MR rows × NV columns
        public bool Pack = true;
        public bool Wide;             // the Vector512 twin (written by Broadcast/Dot themselves)      // broadcast: copy B's strips into a contiguous panel first (when 8 rows or more reuse it)
        public int? M;                // the row count, when known (row ranges then start at multiples of MR): only the blocks M needs are written
        public int RowOrderSteps;     // broadcast with a runtime K: at most this many steps walk C row block by row block, B in place (see Broadcast)
        public bool CachePanels;      // with PackTransposed: the kernels also take (ref panels, int panelMode): 0 packs into scratch, 1 packs
                                      // into panels (strip n at panels[n·K], kept by the caller), 2 reuses panels as they are
        public bool PackTransposed;   // dot, float: the Vector512 twin transposes B into packed panels and runs broadcast blocks over them
                                      // from TransposedRows rows on (the kernels then take a scratch argument; see DotKernel)
        // Column ranges are the whole of N or split at multiples of the widest block (broadcast: NV vectors of the
        // wide path, 2·NV·Lanes; dot: 8 columns), so only the narrower blocks that N's remainder needs are written.

        public Product Widened()
        {
            var wide = (Product)MemberwiseClone();
            wide.Method += "512";
            wide.Wide = true;
            return wide;
        }
    }

    public static int Lanes(EmitContext c) => c.Plan.Spec.IsDouble ? 4 : 8;

    /// <summary>A strip of the register blocks: 3 vectors of the Vector512 twin, 6 of the 256-bit kernel (48 floats).</summary>
    public static int StripWidth(EmitContext c) => 6 * Lanes(c);

    /// <summary>One Vector512 (2 of the 256-bit kernel's vectors): the unit a split may cut the kernels' columns at. Every
    /// column loop has its one-vector loop whatever N, so a part may start at any whole vector, not only at a strip.</summary>
    public static int VectorWidth(EmitContext c) => 2 * Lanes(c);

    /// <summary>The lanes of the product's vectors: <see cref="Lanes(EmitContext)"/>, twice that in the Vector512 twin.</summary>
    private static int Lanes(EmitContext c, Product p) => p.Wide ? 2 * Lanes(c) : Lanes(c);

    private static string VN(bool wide) => wide ? "Vector512" : "Vector256";

    private static string Vec(EmitContext c, bool wide) => $"{VN(wide)}<{c.T}>";

    private static string Ld(bool wide) => wide ? "Load512" : "Load";

    private static string BlockName(bool dot, int rows, int width, bool wide) => $"{(dot ? "Dot" : "Broadcast")}{(wide ? "512" : "")}Block{rows}x{width}";

    /// <summary>Whether the product gets a Vector512 twin: it has a wide vector of columns (broadcast) or of k (dot).</summary>
    private static bool HasWide(EmitContext c, Product p, bool dot) => (dot ? p.K : p.N) >= 2 * Lanes(c);

    /// <summary>The 256-bit kernel's first statement when it has a twin: hand over to it where Vector512 is accelerated
    /// (a JIT-time constant, so the branch and the other path's code disappear).</summary>
    private static void HandOver(CodeWriter w, EmitContext c, Product p, bool dot)
    {
        if (p.Wide) return;
        w.Open("if (Vector512.IsHardwareAccelerated)   // a JIT-time constant: full-width AVX-512 runs the Vector512 twin");
        w.Line($"{p.Method}512(ref {p.AName}, ref {p.BName}, ref {p.CName}{(HasBias(p) ? ", ref bias" : p.Mode == Mode.Descend ? ", ref rate" : "")}, m0, m1, n0, n1" +
               $"{(p.KRuntime is null ? "" : ", " + p.KRuntime)}{((p.Pack && !dot) || (dot && p.PackTransposed) ? ", ref scratch" : "")}{(dot && p.CachePanels ? ", ref panels, panelMode" : "")});");
        w.Line("return;");
        w.Close();
    }

    private static string KCount(Product p) => p.KRuntime ?? p.K.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>"v * k", or "v" when k is 1.</summary>
    private static string Times(string v, int k) => k == 1 ? v : $"{v} * {k}";

    private static bool HasBias(Product p) => p.Mode is Mode.AssignBiasByRow or Mode.AssignBiasByColumn;

    private static string Params(Product p, EmitContext c) =>
        $"ref {c.T} {p.AName}, ref {c.T} {p.BName}, ref {c.T} {p.CName}" + (HasBias(p) ? $", ref {c.T} bias" : p.Mode == Mode.Descend ? $", ref {c.T} rate" : "") +
        ", int m0, int m1, int n0, int n1" + (p.KRuntime is null ? "" : ", int " + p.KRuntime) + (p.PackTransposed ? $", ref {c.T} scratch" : "") +
        (p.CachePanels ? $", ref {c.T} panels, int panelMode" : "");

    /// <summary>The bias argument of a block call: the block's first bias value, the rate (Descend), or any reference
    /// when unused.</summary>
    private static string BiasArgument(Product p) => p.Mode switch
    {
        Mode.AssignBiasByRow => "ref Unsafe.Add(ref bias, m)",
        Mode.AssignBiasByColumn => "ref Unsafe.Add(ref bias, n)",
        Mode.Descend => "ref rate",
        _ => $"ref {p.CName}",
    };

    // ---------------------------------------------------------------------------------------------------------------
    // Broadcast kernel: C[m, n] (+)= Σ_k A[m, k]·B[k, n]
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Writes the broadcast kernel, and its Vector512 twin when N has a wide vector. Columns n0/n1 must be
    /// multiples of 2·NV·Lanes (NV wide vectors), or N.</summary>
    public static void Broadcast(CodeWriter w, EmitContext c, Product p)
    {
        bool wide = HasWide(c, p, dot: false);
        BroadcastKernel(w, c, p, wide);
        if (wide) BroadcastKernel(w, c, p.Widened(), false);
    }

    private static void BroadcastKernel(CodeWriter w, EmitContext c, Product p, bool twin)
    {
        int V = Lanes(c, p);
        w.Line($"/// <summary>{p.Summary}</summary>");
        w.Line($"/// <remarks>Rows m0 ≤ m &lt; m1, columns n0 ≤ n &lt; n1 (multiples of {p.NV * V}, or {p.N}). For each strip of {p.NV * V} columns" + (p.Pack ? ", B's strip is" : ","));
        if (p.Pack)
        {
            w.Line($"/// first copied into <c>scratch</c> as one contiguous panel when at least 8 rows will reuse it (B's rows are {p.LdB} apart:");
            w.Line("/// read in place, every step can land in the same cache set);");
        }
        w.Line($"/// {(p.Pack ? "then " : "")}register blocks of {p.MR} rows × {p.NV * V} columns run over it, {KCount(p)} steps each." +
               (p.KRuntime is not null && p.RowOrderSteps > 0 && p.N >= V ? $" With {p.KRuntime} ≤ {p.RowOrderSteps}, {p.Method}ByRows instead." : "") + "</remarks>");
        w.Open($"private static void {p.Method}({Params(p, c)}{(p.Pack ? $", ref {c.T} scratch" : "")})");
        if (twin) HandOver(w, c, p, dot: false);
        if (p.N < V)
        {
            ScalarBroadcast(w, c, p);
            w.Close();
            w.Line();
            return;
        }
        if (p.KRuntime is not null && p.RowOrderSteps > 0)
        {
            // With few steps a block is a read-modify-write of C with little arithmetic: memory order decides. Strips
            // walk C down a column of blocks (rows LdC apart); rows stream it as stored.
            // Row by row, one stream through C, in blocks of 1 row × RowOrderVectors vectors (MLP 784-100-10, fused SGD
            // step at batch 1, measured in isolation: 8 rows × 3 vectors 8.7 µs, 1 × 1 9.7 µs, 1 × 3 6.3 µs; the whole step
            // with 1 × 6 ≈ 10.4 µs against 11.4 µs with 1 × 3).
            // A method of its own: the strip code's registers and spills stay out of its short blocks.
            w.Open($"if ({p.KRuntime} <= {p.RowOrderSteps})   // few steps per block: C row by row, as it is stored, reading B in place");
            w.Line($"{p.Method}ByRows(ref {p.AName}, ref {p.BName}, ref {p.CName}{(HasBias(p) ? ", ref bias" : p.Mode == Mode.Descend ? ", ref rate" : "")}, m0, m1, n0, n1, {p.KRuntime});");
            w.Line("return;");
            w.Close();
        }
        if (p.Pack) w.Line("bool pack = m1 - m0 >= 8;");
        w.Line("int n = n0;");
        if (p.NV > 1 && p.N >= p.NV * V)
        {
            w.Open($"for (; n + {p.NV * V} <= n1; n += {p.NV * V})");
            Strip(w, c, p, p.NV, tail: 0);
            w.Close();
        }
        w.Open($"for (; n + {V} <= n1; n += {V})");   // whatever N: a part may start at any whole vector (VectorWidth)
        Strip(w, c, p, 1, tail: 0);
        w.Close();
        if (p.N % V != 0)
        {
            w.Open($"if (n < n1)   // the last {p.N % V} columns: a vector ending at column {p.N}, keeping its last {p.N % V} lanes");
            w.Line($"n = {p.N - V};");
            Strip(w, c, p, 1, tail: p.N % V);
            w.Close();
        }
        w.Close();
        w.Line();
        if (p.KRuntime is not null && p.RowOrderSteps > 0)
        {
            w.Line($"/// <summary>{p.Method} with few steps ({p.KRuntime} ≤ {p.RowOrderSteps}): C row by row, in blocks of 1 row × {RowOrderVectors * V} columns, B read in place.</summary>");
            w.Line("[MethodImpl(MethodImplOptions.NoInlining)]");
            w.Open($"private static void {p.Method}ByRows({Params(p, c)})");
            if (p.Mode == Mode.Descend) OneStepDescent(w, c, p);
            w.Open("for (int m = m0; m < m1; m++)");
            RowBlockColumns(w, c, p, 1);
            w.Close();
            w.Close();
            w.Line();
        }
    }

    /// <summary>Vectors per block in row order (one row): 6, so the per-block work (the broadcast of A, the step
    /// loop) is spread over 48 floats.</summary>
    private const int RowOrderVectors = 6;

    /// <summary>Row order, one step (batch 1) of a Descend product: C[m, n] += rate·(A[m, 0]·B[0, n]), streamed row by
    /// row without the step loop, the block calls or the per-block bookkeeping of the general blocks.</summary>
    private static void OneStepDescent(CodeWriter w, EmitContext c, Product p)
    {
        int V = Lanes(c, p);
        string vec = Vec(c, p.Wide), load = Ld(p.Wide);
        string Update(string at) =>
            $"({load}(ref row, {at}) + step * Fma(av, {load}(ref {p.BName}, {at}), zero)).StoreUnsafe(ref row, (nuint)({at}));";
        w.Open($"if ({p.KRuntime} == 1)");
        w.Line("// One step (one sample): each row of C is one read-modify-write stream, C[m, n] += rate·(A[m, 0]·B[0, n]) two vectors");
        w.Line("// at a time. The update is bound by moving C between L1 and L2 (it does not fit L1), so the general blocks' step loop,");
        w.Line("// calls and six live accumulators only cost: measured on the MLP's 784 × 100 fused update, 6.1 → 5.6 µs. The arithmetic is");
        w.Line("// the blocks': the product formed by an FMA onto zero, then added to C times rate, so the results are the same bits.");
        w.Line($"{vec} step = {VN(p.Wide)}.Create(rate), zero = {vec}.Zero;");
        w.Open("for (int m = m0; m < m1; m++)");
        w.Line($"{vec} av = {VN(p.Wide)}.Create(Unsafe.Add(ref {p.AName}, {Times("m", p.LdA)}));");
        w.Line($"ref {c.T} row = ref Unsafe.Add(ref {p.CName}, {Times("m", p.LdC)});");
        w.Line("nint n = n0;");
        if (p.N >= 2 * V)
        {
            w.Open($"for (; n + {2 * V} <= n1; n += {2 * V})");
            w.Line(Update("n"));
            w.Line(Update($"n + {V}"));
            w.Close();
        }
        w.Line($"for (; n + {V} <= n1; n += {V}) {Update("n")}");
        if (p.N % V != 0)
        {
            w.Open($"if (n < n1)   // the last {p.N % V} columns: as the general path does them");
            w.Line($"n = {p.N - V};");
            w.Line(BlockCall(c, p, 1, 1, p.N % V));
            w.Close();
        }
        w.Close();
        w.Line("return;");
        w.Close();
    }

    /// <summary>A call of the broadcast block of rows × nv vectors at row m and column n, B read in place.</summary>
    private static string BlockCall(EmitContext c, Product p, int rows, int nv, int tail)
    {
        Blocks(c, p.Wide).Add((false, rows, nv));
        return $"{BlockName(false, rows, nv, p.Wide)}(ref Unsafe.Add(ref {p.AName}, {Times("m", p.LdA)}), {p.LdA}, {p.AStepK}, ref Unsafe.Add(ref {p.BName}, n), {p.LdB}, " +
               $"ref Unsafe.Add(ref {p.CName}, {Times("m", p.LdC)} + n), {p.LdC}, {KCount(p)}, {ModeNames[(int)p.Mode]}, {BiasArgument(p)}, {tail});";
    }

    /// <summary>Row order: the blocks of one row block (rows m .. m + rows) across the columns n0..n1.</summary>
    private static void RowBlockColumns(CodeWriter w, EmitContext c, Product p, int rows)
    {
        int V = Lanes(c, p);
        string Call(int nv, int tail) => BlockCall(c, p, rows, nv, tail);
        int nv = RowOrderVectors;
        w.Line("int n = n0;");
        if (p.N >= nv * V) w.Line($"for (; n + {nv * V} <= n1; n += {nv * V}) {Call(nv, 0)}");
        w.Line($"for (; n + {V} <= n1; n += {V}) {Call(1, 0)}");   // whatever N: a part may start at any whole vector (VectorWidth)
        if (p.N % V != 0)
        {
            w.Open($"if (n < n1)   // the last {p.N % V} columns: a vector ending at column {p.N}, keeping its last {p.N % V} lanes");
            w.Line($"n = {p.N - V};");
            w.Line(Call(1, p.N % V));
            w.Close();
        }
    }

    private static void Strip(CodeWriter w, EmitContext c, Product p, int nv, int tail)
    {
        int V = Lanes(c, p), width = nv * V;
        w.Line($"ref {c.T} panel = ref Unsafe.Add(ref {p.BName}, n);");
        w.Line($"nint ldb = {p.LdB};");
        if (p.Pack)
        {
            w.Open("if (pack)");
            w.Open($"for (int k = 0; k < {KCount(p)}; k++)");
            w.Line($"ref {c.T} from = ref Unsafe.Add(ref panel, k * {p.LdB});");
            w.Line($"ref {c.T} to = ref Unsafe.Add(ref scratch, k * {width});");
            w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(v => $"{Ld(p.Wide)}(ref from, {v * V}).StoreUnsafe(ref to, {v * V});")));
            w.Close();
            w.Line("panel = ref scratch;");
            w.Line($"ldb = {width};");
            w.Close();
        }
        w.Line("int m = m0;");
        string Call(int rows)
        {
            string method = BlockName(false, rows, nv, p.Wide);
            Blocks(c, p.Wide).Add((false, rows, nv));
            return $"{method}(ref Unsafe.Add(ref {p.AName}, {Times("m", p.LdA)}), {p.LdA}, {p.AStepK}, ref panel, ldb, ref Unsafe.Add(ref {p.CName}, {Times("m", p.LdC)} + n), {p.LdC}, " +
                   $"{KCount(p)}, {ModeNames[(int)p.Mode]}, {BiasArgument(p)}, {tail});";
        }
        if (p.M is not { } rowCount || rowCount >= p.MR)
            w.Line($"for (; m + {p.MR} <= m1; m += {p.MR}) {Call(p.MR)}");
        if (p.M is not { } all || all % p.MR != 0)
            w.Line($"for (; m < m1; m++) {Call(1)}");
    }

    /// <summary>Fewer columns than one vector: plain loops.</summary>
    private static void ScalarBroadcast(CodeWriter w, EmitContext c, Product p)
    {
        w.Open("for (int m = m0; m < m1; m++)");
        w.Open("for (int n = n0; n < n1; n++)");
        string init = p.Mode switch
        {
            Mode.Accumulate => $"Unsafe.Add(ref {p.CName}, m * {p.LdC} + n)",
            Mode.AssignBiasByRow => "Unsafe.Add(ref bias, m)",
            Mode.AssignBiasByColumn => "Unsafe.Add(ref bias, n)",
            _ => c.Lit(0),
        };
        w.Line($"{c.T} s = {init};");
        w.Line($"for (int k = 0; k < {KCount(p)}; k++) s += Unsafe.Add(ref {p.AName}, m * {p.LdA} + k * {p.AStepK}) * Unsafe.Add(ref {p.BName}, k * {p.LdB} + n);");
        w.Line(p.Mode == Mode.Descend
            ? $"Unsafe.Add(ref {p.CName}, m * {p.LdC} + n) += rate * s;"
            : $"Unsafe.Add(ref {p.CName}, m * {p.LdC} + n) = s;");
        w.Close();
        w.Close();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Dot kernel: C[m, n] (+)= Σ_k A[m, k]·B[n, k]
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Writes the dot kernel (NV is the number of B rows per block), and its Vector512 twin when K has a wide
    /// vector.</summary>
    public static void Dot(CodeWriter w, EmitContext c, Product p)
    {
        bool wide = HasWide(c, p, dot: true);
        DotKernel(w, c, p, wide);
        if (!wide) return;
        if (Transposes(c, p))
        {
            TransposedKernel(w, c, p.Widened());
            var dot = p.Widened();
            dot.Method = p.Method + "512Dot";
            DotKernel(w, c, dot, false);
        }
        else DotKernel(w, c, p.Widened(), false);
    }

    /// <summary>Whether the dot product's Vector512 twin runs over transposed panels (<see cref="Product.PackTransposed"/>):
    /// float only (the 16 × 16 transpose), with at least one wide vector of columns and of k.</summary>
    private static bool Transposes(EmitContext c, Product p) =>
        p.PackTransposed && p.KRuntime is null && p.CStepN == 1 && Transposes(c, p.K, p.N);

    /// <summary>Whether a dot product of length k into n columns with <see cref="Product.PackTransposed"/> gets the
    /// transposed twin (its scratch then needs k rows of 3 wide vectors).</summary>
    public static bool Transposes(EmitContext c, int k, int n) => !c.Plan.Spec.IsDouble && n >= 2 * Lanes(c) && k >= 2 * Lanes(c);

    /// <summary>Rows from which the transposed twin packs: below them the dot twin runs (no packing). Packing B costs
    /// about what 40 rows of dot blocks lose against broadcast blocks (Dense 784 → 100 on Zen 5, thread CPU time: a
    /// 96-column transpose 8.4 µs; per row 0.95 µs in dot blocks, 0.74 µs in 8 × 3 broadcast blocks).</summary>
    public const int TransposedRows = 48;

    /// <summary>The Vector512 twin of a float dot product C[m, n] = Σ_k A[m, k]·B[n, k] over transposed panels: for each
    /// strip of 48 (then 16) columns, B's rows n … n + 48 are transposed into <c>scratch</c> as a K × 48 panel (16 × 16
    /// blocks in registers), and broadcast blocks of 8 rows × 3 vectors run over it, K steps each; the last N mod 16
    /// columns are dot blocks. A dot block sums
    /// a product in 16 lane groups and then across the lanes; here each value is one FMA chain over k in order, started
    /// from its initial value (the bias, say), which is faster (no horizontal sums, one B load feeds 8 FMAs) but another
    /// summation order than the 256-bit path's. With fewer than <see cref="TransposedRows"/> rows the packing would not pay:
    /// the dot twin (…512Dot) runs instead. Results depend on the row count that way (a batch of 1 and a batch of 64
    /// round differently), never on how threads split the columns.</summary>
    private static void TransposedKernel(CodeWriter w, EmitContext c, Product p)
    {
        int V = Lanes(c, p), K = p.K, strip = p.NV >= 3 ? 3 : p.NV;
        w.Line($"/// <summary>{p.Summary}</summary>");
        w.Line($"/// <remarks>The Vector512 twin. From {TransposedRows} rows on: for each strip of {3 * V} (then {V}) columns n, B's rows n … are transposed into");
        w.Line($"/// <c>scratch</c> as one {K} × {3 * V} panel, then broadcast blocks of 8 rows × {3 * V} columns run over it, {K} steps each");
        w.Line($"/// (columns n0/n1: multiples of {3 * V}, or {p.N}){(p.N % V != 0 ? $"; the last {p.N % V} columns: {p.Method}Dot" : "")}. Fewer rows: {p.Method}Dot.</remarks>");
        w.Open($"private static void {p.Method}({Params(p, c)})");
        w.Open($"if (m1 - m0 < {TransposedRows})   // packing would cost more than it saves");
        w.Line($"{p.Method}Dot(ref {p.AName}, ref {p.BName}, ref {p.CName}{(HasBias(p) ? ", ref bias" : p.Mode == Mode.Descend ? ", ref rate" : "")}, m0, m1, n0, n1, ref scratch{(p.CachePanels ? ", ref panels, panelMode" : "")});");
        w.Line("return;");
        w.Close();
        w.Line("int n = n0;");
        if (p.N >= strip * V)
        {
            w.Open($"for (; n + {strip * V} <= n1; n += {strip * V})");
            TransposedStrip(w, c, p, strip, 0);
            w.Close();
        }
        w.Open($"for (; n + {V} <= n1; n += {V})");   // whatever N: a part may start at any whole vector (VectorWidth)
        TransposedStrip(w, c, p, 1, 0);
        w.Close();
        if (p.N % V != 0)
        {
            // A vector of which only the last N % 16 lanes are new would cost as much as 16 columns; dot blocks run
            // along k and cost only the columns they compute (Dense 784 → 100 at batch 128: 19 µs → about 5 µs).
            w.Open($"if (n < n1)   // the last {p.N % V} columns: dot blocks");
            w.Line($"{p.Method}Dot(ref {p.AName}, ref {p.BName}, ref {p.CName}{(HasBias(p) ? ", ref bias" : p.Mode == Mode.Descend ? ", ref rate" : "")}, m0, m1, n, n1, ref scratch{(p.CachePanels ? ", ref panels, panelMode" : "")});");
            w.Close();
        }
        w.Close();
        w.Line();
    }

    private static void TransposedStrip(CodeWriter w, EmitContext c, Product p, int nv, int tail)
    {
        int V = Lanes(c, p), width = nv * V, K = p.K;
        c.Transposes = true;
        string panel = "scratch";
        if (p.CachePanels)
        {
            panel = "panel";
            w.Line($"// the panel: in scratch (panelMode 0), or strip n of the kept panels at panels[n·{K}] (1: packed now, 2: packed by an earlier pass)");
            w.Line($"ref {c.T} panel = ref panelMode == 0 ? ref scratch : ref Unsafe.Add(ref panels, n * {K});");
        }
        w.Line($"// B's rows n … n + {width} as a {K} × {width} panel: panel[k, j] = B[n + j, k]" + (K % V != 0 ? $" (the last {K % V} steps: a block ending at step {K}, overlapping the one before)" : ""));
        if (p.CachePanels) w.Open("if (panelMode != 2)");
        w.Open($"for (int j = 0; j < {width}; j += {V})");
        w.Line($"ref {c.T} from = ref Unsafe.Add(ref {p.BName}, (n + j) * {p.LdB});");
        w.Line($"for (int k = 0; k + {V} <= {K}; k += {V}) Transpose16(ref Unsafe.Add(ref from, k), {p.LdB}, ref Unsafe.Add(ref {panel}, k * {width} + j), {width});");
        if (K % V != 0) w.Line($"Transpose16(ref Unsafe.Add(ref from, {K - V}), {p.LdB}, ref Unsafe.Add(ref {panel}, {(K - V) * width} + j), {width});");
        w.Close();
        if (p.CachePanels) w.Close();
        w.Line("int m = m0;");
        string Call(int rows)
        {
            Blocks(c, true).Add((false, rows, nv));
            return $"{BlockName(false, rows, nv, true)}(ref Unsafe.Add(ref {p.AName}, {Times("m", p.LdA)}), {p.LdA}, 1, ref {panel}, {width}, ref Unsafe.Add(ref {p.CName}, {Times("m", p.LdC)} + n), {p.LdC}, " +
                   $"{K}, {ModeNames[(int)p.Mode]}, {BiasArgument(p)}, {tail});";
        }
        w.Line($"for (; m + 8 <= m1; m += 8) {Call(8)}");
        w.Line($"for (; m < m1; m++) {Call(1)}");
    }

    private static void DotKernel(CodeWriter w, EmitContext c, Product p, bool twin)
    {
        int V = Lanes(c, p);
        w.Line($"/// <summary>{p.Summary}</summary>");
        w.Line($"/// <remarks>Rows m0 ≤ m &lt; m1, columns n0 ≤ n &lt; n1. Register blocks of {p.MR} × {p.NV} dot products of length {p.K}, one");
        w.Line($"/// {V}-lane accumulator each, summed across lanes at the end.</remarks>");
        w.Open($"private static void {p.Method}({Params(p, c)})");
        if (twin) HandOver(w, c, p, dot: true);
        if (p.K < V)
        {
            w.Open("for (int m = m0; m < m1; m++)");
            w.Open("for (int n = n0; n < n1; n++)");
            w.Line($"{c.T} s = {c.Lit(0)};");
            w.Line($"for (int k = 0; k < {p.K}; k++) s += Unsafe.Add(ref {p.AName}, m * {p.LdA} + k) * Unsafe.Add(ref {p.BName}, n * {p.LdB} + k);");
            string at = $"Unsafe.Add(ref {p.CName}, m * {p.LdC} + n * {p.CStepN})";
            w.Line(p.Mode switch
            {
                Mode.Accumulate => $"{at} += s;",
                Mode.Descend => $"{at} += rate * s;",
                Mode.AssignBiasByRow => $"{at} = s + Unsafe.Add(ref bias, m);",
                Mode.AssignBiasByColumn => $"{at} = s + Unsafe.Add(ref bias, n);",
                _ => $"{at} = s;",
            });
            w.Close();
            w.Close();
            w.Close();
            w.Line();
            return;
        }
        w.Line("int m = m0;");
        if (p.M is not { } rows || rows >= p.MR)
        {
            w.Open($"for (; m + {p.MR} <= m1; m += {p.MR})");
            DotColumns(w, c, p, p.MR, p.NV);
            w.Close();
        }
        if (p.M is not { } all || all % p.MR != 0)
        {
            w.Open("for (; m < m1; m++)");
            DotColumns(w, c, p, 1, System.Math.Max(p.NV, 8));   // one row: 8 dot products at a time, enough to hide the FMA latency
            w.Close();
        }
        w.Close();
        w.Line();
    }

    private static void DotColumns(CodeWriter w, EmitContext c, Product p, int rows, int cols)
    {
        string Call(int nc)
        {
            Blocks(c, p.Wide).Add((true, rows, nc));
            return $"{BlockName(true, rows, nc, p.Wide)}(ref Unsafe.Add(ref {p.AName}, {Times("m", p.LdA)}), {p.LdA}, ref Unsafe.Add(ref {p.BName}, {Times("n", p.LdB)}), {p.LdB}, {p.K}, " +
                   $"ref Unsafe.Add(ref {p.CName}, {Times("m", p.LdC)} + {Times("n", p.CStepN)}), {p.LdC}, {p.CStepN}, {ModeNames[(int)p.Mode]}, {BiasArgument(p)});";
        }
        w.Line("int n = n0;");
        if (p.N >= cols) w.Line($"for (; n + {cols} <= n1; n += {cols}) {Call(cols)}");
        // The columns left after the blocks of cols (a part's range is whole blocks but for the last part's p.N mod cols):
        int left = p.N % cols;
        if (cols > 4 && left >= 4) { w.Line($"for (; n + 4 <= n1; n += 4) {Call(4)}"); left -= 4; }   // four chains rather than four single ones
        if (cols >= 4 && left >= 2) { w.Line($"for (; n + 2 <= n1; n += 2) {Call(2)}"); left %= 2; }   // two columns: one load of A's rows for both
        if (left != 0) w.Line($"for (; n < n1; n++) {Call(1)}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Block methods and helpers, once per network
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Writes the mode constants, Fma, Load, TailMask and every block method the kernels call.</summary>
    public static void Helpers(CodeWriter w, EmitContext c)
    {
        string v = Vec(c, false), T = c.T;
        int V = Lanes(c);
        w.Line("// How a block writes C (the kernels pass these as constants; the JIT folds the tests away).");
        w.Line("private const int KernelAssign = 0, KernelAccumulate = 1, KernelBiasByRow = 2, KernelBiasByColumn = 3, KernelDescend = 4;");
        w.Line();
        w.Line("/// <summary>a·b + c in one rounding (an FMA instruction).</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line($"private static {v} Fma({v} a, {v} b, {v} c) => Vector256.FusedMultiplyAdd(a, b, c);");
        w.Line();
        w.Line("/// <summary>The vector at element <paramref name=\"i\"/> past <paramref name=\"at\"/> (no bounds check).</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line($"private static {v} Load(ref {T} at, nint i) => Vector256.LoadUnsafe(ref at, (nuint)i);");
        w.Line();
        foreach (bool wide in new[] { false, true })
        {
            var blocks = Blocks(c, wide);
            if (wide && blocks.Count > 0)
            {
                string vw = Vec(c, true);
                w.Line("// The Vector512 twins' helpers and blocks (run only where Vector512.IsHardwareAccelerated).");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line($"private static {vw} Fma({vw} a, {vw} b, {vw} c) => Vector512.FusedMultiplyAdd(a, b, c);");
                w.Line();
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line($"private static {vw} Load512(ref {T} at, nint i) => Vector512.LoadUnsafe(ref at, (nuint)i);");
                w.Line();
                if (c.Transposes) Transpose16(w);
                if (blocks.Any(b => b.Dot)) SumHelpers(w, c);
            }
            foreach (var (dot, rows, width) in blocks.OrderBy(b => b.Dot).ThenByDescending(b => b.Rows).ThenByDescending(b => b.Width))
            {
                if (dot) DotBlock(w, c, rows, width, wide);
                else BroadcastBlock(w, c, rows, width, wide);
                w.Line();
            }
            if (blocks.Any(b => !b.Dot))
            {
                string vn = VN(wide), index = c.Plan.Spec.IsDouble ? "(long)l" : "l";
                w.Line("/// <summary>Lane <paramref name=\"l\"/> of <paramref name=\"v\"/>, read with a permute in registers. GetElement with a variable");
                w.Line("/// index stores the vector on the stack and loads the lane back; where the thread's stack puts that store across a");
                w.Line("/// cache line the load cannot be forwarded from it and waits, so a block's tail cost depended on the stack's address");
                w.Line("/// (a thread's, a process's): docs/performance.md, \"Tail lanes through the stack\".</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line($"private static {T} Lane{(wide ? "512" : "")}({Vec(c, wide)} v, int l) => {vn}.Shuffle(v, {vn}.Create({index})).ToScalar();");
                w.Line();
            }
            if (blocks.Any(b => b.Dot))
            {
                int lanes = wide ? 2 * V : V;
                string vn = VN(wide);
                string indices = c.Plan.Spec.IsDouble ? $"{vn}<long>.Indices, {vn}.Create((long)" : $"{vn}<int>.Indices, {vn}.Create(";
                w.Line($"/// <summary>A mask keeping the last <paramref name=\"keep\"/> of the {lanes} lanes.</summary>");
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line($"private static {Vec(c, wide)} TailMask{(wide ? "512" : "")}(int keep) => {vn}.GreaterThanOrEqual({indices}({lanes} - keep))).As{(c.Plan.Spec.IsDouble ? "Double" : "Single")}();");
                w.Line();
            }
        }
    }

    /// <summary>The 16 × 16 float transpose the transposed panels are packed with: 16 rows loaded, four rounds of 16
    /// two-source shuffles (pairs of lanes, pairs of pairs, 128-bit quarters twice), 16 columns stored.</summary>
    private static void Transpose16(CodeWriter w)
    {
        const string X = "global::System.Runtime.Intrinsics.X86.Avx512F";
        string R(int i) => "r" + i.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        string Tn(int i) => "t" + i.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        w.Line("/// <summary>dst[j·ldd + i] = src[i·lds + j] for i, j &lt; 16: a 16 × 16 block transposed in registers.</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open("private static void Transpose16(ref float src, nint lds, ref float dst, nint ldd)");
        w.Line("Vector512<float> " + string.Join(", ", Enumerable.Range(0, 16).Select(i => $"{R(i)} = Load512(ref src, {Offset(i, "lds", 0)})")) + ";");
        w.Line("// lanes of rows 2i and 2i + 1 interleaved");
        w.Line("Vector512<float> " + string.Join(", ", Enumerable.Range(0, 16).Select(i => $"{Tn(i)} = {X}.Unpack{(i % 2 == 0 ? "Low" : "High")}({R(i / 2 * 2)}, {R(i / 2 * 2 + 1)})")) + ";");
        w.Line("// pairs of lanes of rows 4i … 4i + 3 interleaved");
        for (int g = 0; g < 4; g++)
        {
            int b = 4 * g;
            w.Line($"{R(b)} = {X}.UnpackLow({Tn(b)}.AsDouble(), {Tn(b + 2)}.AsDouble()).AsSingle(); {R(b + 1)} = {X}.UnpackHigh({Tn(b)}.AsDouble(), {Tn(b + 2)}.AsDouble()).AsSingle(); " +
                   $"{R(b + 2)} = {X}.UnpackLow({Tn(b + 1)}.AsDouble(), {Tn(b + 3)}.AsDouble()).AsSingle(); {R(b + 3)} = {X}.UnpackHigh({Tn(b + 1)}.AsDouble(), {Tn(b + 3)}.AsDouble()).AsSingle();");
        }
        w.Line("// 128-bit quarters: rows 0-3 with 4-7, 8-11 with 12-15");
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 4; i++)
            {
                int b = 8 * h + i;
                w.Line($"{Tn(b)} = {X}.Shuffle4x128({R(b)}, {R(b + 4)}, 0x88); {Tn(b + 4)} = {X}.Shuffle4x128({R(b)}, {R(b + 4)}, 0xDD);");
            }
        w.Line("// and once more across the two halves: column j complete");
        for (int j = 0; j < 8; j++)
        {
            w.Line($"{X}.Shuffle4x128({Tn(j)}, {Tn(j + 8)}, 0x88).StoreUnsafe(ref dst, (nuint)({Offset(j, "ldd", 0)}));");
        }
        for (int j = 0; j < 8; j++)
        {
            w.Line($"{X}.Shuffle4x128({Tn(j)}, {Tn(j + 8)}, 0xDD).StoreUnsafe(ref dst, (nuint)({Offset(j + 8, "ldd", 0)}));");
        }
        w.Close();
        w.Line();
    }

    /// <summary>The block methods used so far, of the 256-bit kernels or of their Vector512 twins.</summary>
    private static System.Collections.Generic.HashSet<(bool Dot, int Rows, int Width)> Blocks(EmitContext c, bool wide) => wide ? c.KernelBlocks512 : c.KernelBlocks;

    private static void BroadcastBlock(CodeWriter w, EmitContext c, int rows, int nv, bool wide)
    {
        int V = wide ? 2 * Lanes(c) : Lanes(c), width = nv * V;
        string vec = Vec(c, wide), T = c.T, vn = VN(wide), load = Ld(wide);
        var all = Enumerable.Range(0, rows).SelectMany(r => Enumerable.Range(0, nv).Select(j => $"c{r}{j}")).ToList();
        w.Line($"/// <summary>One register block of {rows} × {width}: C[r, 0..{width}) = init + Σ_k A[r, k]·B[k, 0..{width}) for r &lt; {rows}, with A[r, k] at");
        w.Line($"/// a[r·lda + k·astep], B's row k at b[k·ldb], C's row r at c[r·ldc]; init is 0, C itself (KernelAccumulate), bias[r] or");
        w.Line($"/// bias[0..{width}); KernelDescend writes C + bias·(the product) instead (bias is −η: a plain-SGD step). With tail &gt; 0 (a block");
        w.Line("/// of one vector) only the last tail lanes are written.</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open($"private static void {BlockName(false, rows, nv, wide)}(ref {T} a, nint lda, nint astep, ref {T} b, nint ldb, ref {T} c, nint ldc, int steps, int mode, ref {T} bias, int tail)");
        // Few locals on purpose: the JIT does not inline a method with more than 32 IL locals, and an 8 × 3 block has 24
        // accumulators already; rows are addressed from a and c directly (the strides are literals once inlined).
        string C(int r, int j) => Offset(r, "ldc", j * V);
        w.Line($"{vec} {string.Join(", ", all)};");
        w.Open("if (tail == 0 && mode == KernelAccumulate)");
        for (int r = 0; r < rows; r++) w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(j => $"c{r}{j} = {load}(ref c, {C(r, j)});")));
        w.Close();
        w.Open("else if (tail == 0 && mode == KernelBiasByRow)");
        for (int r = 0; r < rows; r++) w.Line($"c{r}0 = {vn}.Create(Unsafe.Add(ref bias, {r}));" + string.Concat(Enumerable.Range(1, nv - 1).Select(j => $" c{r}{j} = c{r}0;")));
        w.Close();
        w.Open("else if (tail == 0 && mode == KernelBiasByColumn)");
        w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(j => $"c0{j} = {load}(ref bias, {j * V});")));
        for (int r = 1; r < rows; r++) w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(j => $"c{r}{j} = c0{j};")));
        w.Close();
        w.Open("else");
        w.Line(string.Join(" ", all.Select(a => $"{a} = default;")));
        w.Close();
        // One-row blocks (row order at small batches, a few steps each) walk B with a pointer; the others index it,
        // which saves the local.
        bool walk = rows == 1;
        if (walk) w.Line($"ref {T} bk = ref b;");
        w.Open(walk ? "for (nint k = 0; k < steps; k++, bk = ref Unsafe.Add(ref bk, ldb))" : "for (nint k = 0; k < steps; k++)");
        w.Line($"{vec} " + string.Join(", ", Enumerable.Range(0, nv).Select(j => walk ? $"b{j} = {load}(ref bk, {j * V})" : $"b{j} = {load}(ref b, k * ldb{(j == 0 ? "" : $" + {j * V}")})")) + ";");
        w.Line($"{vec} ak;");
        for (int r = 0; r < rows; r++)
        {
            w.Line($"ak = {vn}.Create(Unsafe.Add(ref a, {Offset(r, "lda", 0)} + k * astep));");
            w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(j => $"c{r}{j} = Fma(ak, b{j}, c{r}{j});")));
        }
        w.Close();
        w.Open("if (tail == 0 && mode == KernelDescend)");
        w.Line($"{vec} rate = {vn}.Create(bias);   // read once: a store to C could alias it");
        for (int r = 0; r < rows; r++) w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(j => $"({load}(ref c, {C(r, j)}) + rate * c{r}{j}).StoreUnsafe(ref c, (nuint)({C(r, j)}));")));
        w.Close();
        w.Open("else if (tail == 0)");
        for (int r = 0; r < rows; r++) w.Line(string.Join(" ", Enumerable.Range(0, nv).Select(j => $"c{r}{j}.StoreUnsafe(ref c, (nuint)({C(r, j)}));")));
        w.Close();
        w.Open("else");
        w.Line($"// Only the last tail lanes are this block's (the others belong to the previous vector): write them one by one.");
        w.Open($"for (int l = {V} - tail; l < {V}; l++)");
        for (int r = 0; r < rows; r++)
        {
            string at = $"Unsafe.Add(ref c, {Offset(r, "ldc", 0)} + l)";
            w.Line($"{at} = mode == KernelDescend ? {at} + bias * Lane{(wide ? "512" : "")}(c{r}0, l) : Lane{(wide ? "512" : "")}(c{r}0, l) + (mode == KernelAccumulate ? {at} : mode == KernelBiasByRow ? Unsafe.Add(ref bias, {r}) : mode == KernelBiasByColumn ? Unsafe.Add(ref bias, l) : {c.Lit(0)});");
        }
        w.Close();
        w.Close();
        w.Close();
    }

    /// <summary>"r * ld + extra" as a short expression.</summary>
    private static string Offset(int r, string ld, int extra) =>
        (r == 0 ? "" : r == 1 ? ld : $"{r} * {ld}") is var row && row.Length == 0 ? extra.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : extra == 0 ? row : $"{row} + {extra}";

    /// <summary>"r * ld + k", or k for row 0.</summary>
    private static string At(int r, string ld, string k) => r == 0 ? k : $"{Offset(r, ld, 0)} + {k}";

    private static void DotBlock(CodeWriter w, EmitContext c, int rows, int nc, bool wide)
    {
        int V = wide ? 2 * Lanes(c) : Lanes(c);
        string vec = Vec(c, wide), T = c.T, load = Ld(wide);
        w.Line($"/// <summary>One register block of {rows} × {nc} dot products of length <paramref name=\"length\"/> (at least {V}): C[r, j] = Σ_k A[r, k]·B[j, k],");
        w.Line("/// with A's row r at a[r·lda], B's row j at b[j·ldb], C[r, j] at c[r·ldc + j·cstep], stored as the mode says (bias[r] or bias[j];");
        w.Line("/// KernelDescend: C + bias·sum, bias being −η).</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open($"private static void {BlockName(true, rows, nc, wide)}(ref {T} a, nint lda, ref {T} b, nint ldb, int length, ref {T} c, nint ldc, nint cstep, int mode, ref {T} bias)");
        // Few locals (see BroadcastBlock): rows and columns addressed from a and b directly, one B vector at a time.
        var acc = Enumerable.Range(0, rows).SelectMany(r => Enumerable.Range(0, nc).Select(j => $"s{r}{j} = default")).ToList();
        w.Line($"{vec} {string.Join(", ", acc)};");
        w.Line($"{vec} {string.Join(", ", Enumerable.Range(0, rows).Select(r => $"x{r}"))}, y;");
        void Step(string k, string mask)
        {
            w.Line(string.Join(" ", Enumerable.Range(0, rows).Select(r => $"x{r} = {load}(ref a, {At(r, "lda", k)}){mask};")));
            for (int j = 0; j < nc; j++)
            {
                w.Line($"y = {load}(ref b, {At(j, "ldb", k)});");
                w.Line(string.Join(" ", Enumerable.Range(0, rows).Select(r => $"s{r}{j} = Fma(x{r}, y, s{r}{j});")));
            }
        }
        w.Line($"nint full = length - length % {V};");
        w.Open($"for (nint k = 0; k < full; k += {V})");
        Step("k", "");
        w.Close();
        w.Open($"if (full < length)   // the last length % {V} values: a vector ending at length, its lanes already summed masked off");
        w.Line($"full = length - {V};");
        Step("full", $" & TailMask{(wide ? "512" : "")}(length % {V})");
        w.Close();
        w.Line($"{T} sum;");
        string CAt(int r, int j) => $"Unsafe.Add(ref c, {(r == 0 ? "" : r == 1 ? "ldc + " : $"{r} * ldc + ")}{(j == 0 ? "0" : j == 1 ? "cstep" : $"{j} * cstep")})";
        string Store(int r, int j) => $"{CAt(r, j)} = mode == KernelAccumulate ? {CAt(r, j)} + sum : mode == KernelDescend ? {CAt(r, j)} + bias * sum : mode == KernelBiasByRow ? sum + Unsafe.Add(ref bias, {r}) : mode == KernelBiasByColumn ? sum + Unsafe.Add(ref bias, {j}) : sum;";
        if (!wide)
        {
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < nc; j++)
                    w.Line($"sum = {VN(wide)}.Sum(s{r}{j}); {Store(r, j)}");
            w.Close();
            return;
        }
        // Vector512.Sum adds each 128-bit quarter on its own (about 27 instructions a value, measured on Dense 100 → 10:
        // more than the products). Four sums at a time instead: the halves added (512 → 256 bits), then Sums4's
        // horizontal adds; the four sums come out in one 128-bit (float) or 256-bit (double) vector.
        string sums = c.Plan.Spec.IsDouble ? "Vector256<double>" : "Vector128<float>";
        w.Line($"{sums} sums;");
        if (nc % 4 == 0)
        {
            // Four columns of a row at a time: stored as one vector where C's columns are adjacent (cstep 1, a literal once inlined).
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < nc; j += 4)
                {
                    w.Line($"sums = Sums4(Half(s{r}{j}), Half(s{r}{j + 1}), Half(s{r}{j + 2}), Half(s{r}{j + 3}));");
                    string at = $"ref Unsafe.Add(ref c, {(r == 0 ? "" : r == 1 ? "ldc + " : $"{r} * ldc + ")}{(j == 0 ? "0" : $"{j} * cstep")})";
                    string vn = c.Plan.Spec.IsDouble ? "Vector256" : "Vector128";
                    w.Open("if (cstep == 1)");
                    w.Line($"(mode == KernelAccumulate ? {vn}.LoadUnsafe({at}) + sums : mode == KernelDescend ? {vn}.LoadUnsafe({at}) + {vn}.Create(bias) * sums : " +
                           $"mode == KernelBiasByRow ? sums + {vn}.Create(Unsafe.Add(ref bias, {r})) : mode == KernelBiasByColumn ? sums + {vn}.LoadUnsafe(ref bias, {j}) : sums).StoreUnsafe({at});");
                    w.Close();
                    w.Open("else");
                    for (int i = 0; i < 4; i++) w.Line($"sum = sums.GetElement({i}); {Store(r, j + i)}");
                    w.Close();
                }
        }
        else if (rows % 4 == 0)
        {
            // Four rows of a column at a time.
            for (int j = 0; j < nc; j++)
                for (int r = 0; r < rows; r += 4)
                {
                    w.Line($"sums = Sums4(Half(s{r}{j}), Half(s{r + 1}{j}), Half(s{r + 2}{j}), Half(s{r + 3}{j}));");
                    for (int i = 0; i < 4; i++) w.Line($"sum = sums.GetElement({i}); {Store(r + i, j)}");
                }
        }
        else
        {
            // One or two values of a row through the same tree, so a value's bits never depend on the block it was computed in.
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < nc; j += 2)
                {
                    int j1 = j + 1 < nc ? j + 1 : j;
                    w.Line($"sums = Sums4(Half(s{r}{j}), Half(s{r}{j1}), Half(s{r}{j}), Half(s{r}{j1})); sum = sums.GetElement(0); {Store(r, j)}");
                    if (j1 != j) w.Line($"sum = sums.GetElement(1); {Store(r, j1)}");
                }
        }
        w.Close();
    }

    /// <summary>The wide dot blocks' sums: Half adds a 512-bit vector's halves; Sums4 gives the lane sums of four 256-bit
    /// vectors as one vector (x86 horizontal adds: the Vector512 twins run only where AVX-512 is accelerated).</summary>
    private static void SumHelpers(CodeWriter w, EmitContext c)
    {
        const string X = "global::System.Runtime.Intrinsics.X86.Avx";
        string T = c.T;
        w.Line("/// <summary>The two 256-bit halves of a 512-bit vector added lane by lane.</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line($"private static Vector256<{T}> Half(Vector512<{T}> v) => v.GetLower() + v.GetUpper();");
        w.Line();
        if (c.Plan.Spec.IsDouble)
        {
            w.Line("/// <summary>[Σa, Σb, Σc, Σd]: each the sum (a₀ + a₁) + (a₂ + a₃).</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static Vector256<double> Sums4(Vector256<double> a, Vector256<double> b, Vector256<double> c, Vector256<double> d)");
            w.Line($"Vector256<double> ab = {X}.HorizontalAdd(a, b), cd = {X}.HorizontalAdd(c, d);   // [a₀₁, b₀₁, a₂₃, b₂₃], [c₀₁, d₀₁, c₂₃, d₂₃]");
            w.Line($"return {X}.Permute2x128(ab, cd, 0x20) + {X}.Permute2x128(ab, cd, 0x31);");
        }
        else
        {
            w.Line("/// <summary>[Σa, Σb, Σc, Σd]: each the sum ((a₀ + a₁) + (a₂ + a₃)) + ((a₄ + a₅) + (a₆ + a₇)).</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static Vector128<float> Sums4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)");
            w.Line($"Vector256<float> abcd = {X}.HorizontalAdd({X}.HorizontalAdd(a, b), {X}.HorizontalAdd(c, d));   // [a₀₋₃, b₀₋₃, c₀₋₃, d₀₋₃ | a₄₋₇, b₄₋₇, c₄₋₇, d₄₋₇]");
            w.Line("return abcd.GetLower() + abcd.GetUpper();");
        }
        w.Close();
        w.Line();
    }
}
