using NetGen;

namespace NetGen.Detection;

/// <summary>
/// A YOLO-style grid loss in the YOLO v2 manner: an S × S grid, B anchor boxes per cell (priors of fixed width and
/// height), each with its own (tx, ty, tw, th, objectness, class logits). Output layout: the head convolution's
/// B·(5 + C) channels × S × S, channel b·(5 + C) + f (f: 0 tx, 1 ty, 2 tw, 3 th, 4 objectness, 5… classes).
/// <para>
/// Each object is assigned to the cell holding its centre and, within it, to the free anchor whose shape best matches
/// (IoU of the two sizes centred together). For the responsible slot: λ_coord·[(σ(tx) − gx)² + (σ(ty) − gy)² +
/// (tw − log(gw/aw))² + (th − log(gh/ah))²] + BCE(σ(to), 1) + softmax cross-entropy of the class; every other slot:
/// λ_noobj·BCE(σ(to), 0). Summed over the grid and averaged over the batch. gx, gy are the centre's offsets within its
/// cell in [0, 1]; sizes are fractions of the image. (YOLO v2's "ignore objectness when IoU &gt; 0.6" is not applied.)
/// </para>
/// </summary>
public sealed class YoloLoss : ILoss<float>
{
    /// <summary>A grid of <paramref name="grid"/> × <paramref name="grid"/> cells with <paramref name="boxesPerCell"/>
    /// anchors (sizes in [0, 1]; by default spread between 0.3 and 0.45 of the image) for <paramref name="classes"/>
    /// classes, targets of <paramref name="maxObjects"/> rows (see <see cref="DetectionTargets"/>).</summary>
    public YoloLoss(int grid, int boxesPerCell, int classes, int maxObjects = 3, (float W, float H)[]? anchors = null,
        float lambdaCoord = 5, float lambdaNoObject = 0.5f)
    {
        if (grid < 1 || boxesPerCell < 1 || classes < 1 || maxObjects < 1)
            throw new ArgumentOutOfRangeException(nameof(grid), "The grid, boxes per cell, classes and max objects must each be at least 1.");
        anchors ??= Enumerable.Range(0, boxesPerCell).Select(b => boxesPerCell == 1 ? (0.37f, 0.4f) : (0.25f + 0.2f * b / (boxesPerCell - 1), 0.3f + 0.2f * b / (boxesPerCell - 1))).ToArray();
        if (anchors.Length != boxesPerCell)
            throw new ArgumentException($"{anchors.Length} anchor sizes were given for {boxesPerCell} boxes per cell: give one (w, h) per box.", nameof(anchors));
        Grid = grid; BoxesPerCell = boxesPerCell; Classes = classes; MaxObjects = maxObjects; Anchors = anchors;
        LambdaCoord = lambdaCoord; LambdaNoObject = lambdaNoObject;
        _slot = new int[grid * grid * boxesPerCell];
        _object = new int[grid * grid * boxesPerCell];
    }

    /// <summary>Cells per side.</summary>
    public int Grid { get; }

    /// <summary>Anchor boxes per cell.</summary>
    public int BoxesPerCell { get; }

    /// <summary>Object classes (no background class).</summary>
    public int Classes { get; }

    /// <summary>Object rows per image in the targets.</summary>
    public int MaxObjects { get; }

    /// <summary>Anchor (width, height) per box slot, fractions of the image.</summary>
    public IReadOnlyList<(float W, float H)> Anchors { get; }

    /// <summary>Weight of the box terms (YOLO's λ_coord).</summary>
    public float LambdaCoord { get; }

    /// <summary>Weight of the objectness term of slots without an object (YOLO's λ_noobj).</summary>
    public float LambdaNoObject { get; }

    /// <summary>Network outputs per image: B·(5 + C)·S².</summary>
    public int OutputSize => BoxesPerCell * (5 + Classes) * Grid * Grid;

    /// <inheritdoc/>
    public string Name => "yolo";

    /// <inheritdoc/>
    public int TargetSize(int outputSize)
    {
        if (outputSize != OutputSize)
            throw new ArgumentException($"The YOLO loss for a {Grid}×{Grid} grid with {BoxesPerCell} boxes and {Classes} classes reads {OutputSize} outputs per image " +
                $"({BoxesPerCell}·(5 + {Classes}) channels × {Grid}×{Grid}), but the network has {outputSize}: end the network in Conv2D({BoxesPerCell * (5 + Classes)}, Kernel = 1) on a {Grid}×{Grid} map.");
        return MaxObjects * DetectionTargets.Fields;
    }

    private readonly int[] _slot, _object;

    /// <inheritdoc/>
    public float Value(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int batch) => Compute(output, target, batch, []);

    /// <inheritdoc/>
    public float ValueAndGradient(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int batch, Span<float> gradient)
    {
        if (gradient.Length != output.Length) throw new ArgumentException("The gradient has the output's length.", nameof(gradient));
        return Compute(output, target, batch, gradient);
    }

    /// <summary>Assigns the image's objects to (cell, anchor) slots: _object[slot] = object row or −1.</summary>
    private void Assign(ReadOnlySpan<float> target)
    {
        Array.Fill(_object, -1);
        for (int o = 0; o < MaxObjects; o++)
        {
            int f = o * DetectionTargets.Fields;
            if (target[f] < 0) continue;
            if (target[f] >= Classes) throw new ArgumentException($"Target class {target[f]} is out of range: the YOLO loss has {Classes} classes (0 to {Classes - 1}), and −1 marks an empty row.", nameof(target));
            float x1 = target[f + 1], y1 = target[f + 2], x2 = target[f + 3], y2 = target[f + 4];
            float w = x2 - x1, h = y2 - y1;
            if (!(w > 0 && h > 0)) throw new ArgumentException($"Target box {o} ({x1}, {y1}, {x2}, {y2}) has no area: give x1 < x2 and y1 < y2.", nameof(target));
            int col = Math.Clamp((int)((x1 + x2) / 2 * Grid), 0, Grid - 1), row = Math.Clamp((int)((y1 + y2) / 2 * Grid), 0, Grid - 1);
            int best = -1;
            float bestIou = -1;
            for (int b = 0; b < BoxesPerCell; b++)
            {
                if (_object[(row * Grid + col) * BoxesPerCell + b] >= 0) continue;
                var (aw, ah) = Anchors[b];
                float inter = MathF.Min(aw, w) * MathF.Min(ah, h), iou = inter / (aw * ah + w * h - inter);
                if (iou > bestIou) { bestIou = iou; best = b; }
            }
            if (best >= 0) _object[(row * Grid + col) * BoxesPerCell + best] = o;
        }
    }

    private float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int batch, Span<float> gradient)
    {
        NetworkLoss.CheckSpans(this, output, target, batch);
        int s2 = Grid * Grid, fields = 5 + Classes, perImage = OutputSize, targetSize = MaxObjects * DetectionTargets.Fields;
        bool grad = !gradient.IsEmpty;
        double total = 0;
        float scale = 1f / batch;
        for (int n = 0; n < batch; n++)
        {
            var o = output.Slice(n * perImage, perImage);
            var t = target.Slice(n * targetSize, targetSize);
            var g = grad ? gradient.Slice(n * perImage, perImage) : default;
            if (grad) g.Clear();
            Assign(t);
            for (int row = 0; row < Grid; row++)
                for (int col = 0; col < Grid; col++)
                    for (int b = 0; b < BoxesPerCell; b++)
                    {
                        int cell = row * Grid + col, baseIndex = b * fields * s2 + cell;
                        int obj = _object[cell * BoxesPerCell + b];
                        float to = o[baseIndex + 4 * s2];
                        if (obj < 0)
                        {
                            // λ_noobj · BCE(σ(to), 0) = λ_noobj · softplus(to); derivative λ_noobj · σ(to).
                            total += LambdaNoObject * Softplus(to);
                            if (grad) g[baseIndex + 4 * s2] = LambdaNoObject * Sigmoid(to) * scale;
                            continue;
                        }
                        int f = obj * DetectionTargets.Fields;
                        int cls = (int)t[f];
                        float x1 = t[f + 1], y1 = t[f + 2], x2 = t[f + 3], y2 = t[f + 4];
                        float gx = (x1 + x2) / 2 * Grid - col, gy = (y1 + y2) / 2 * Grid - row;
                        var (aw, ah) = Anchors[b];
                        float lw = MathF.Log((x2 - x1) / aw), lh = MathF.Log((y2 - y1) / ah);
                        float sx = Sigmoid(o[baseIndex]), sy = Sigmoid(o[baseIndex + s2]);
                        float tw = o[baseIndex + 2 * s2], th = o[baseIndex + 3 * s2];
                        float ex = sx - gx, ey = sy - gy, ew = tw - lw, eh = th - lh;
                        total += LambdaCoord * (ex * ex + ey * ey + ew * ew + eh * eh);
                        // BCE(σ(to), 1) = softplus(−to); derivative σ(to) − 1.
                        total += Softplus(-to);
                        // Softmax cross-entropy of the class logits.
                        float max = float.NegativeInfinity;
                        for (int c = 0; c < Classes; c++) max = MathF.Max(max, o[baseIndex + (5 + c) * s2]);
                        float sum = 0;
                        for (int c = 0; c < Classes; c++) sum += MathF.Exp(o[baseIndex + (5 + c) * s2] - max);
                        float lse = max + MathF.Log(sum);
                        total += lse - o[baseIndex + (5 + cls) * s2];
                        if (!grad) continue;
                        g[baseIndex] = LambdaCoord * 2 * ex * sx * (1 - sx) * scale;
                        g[baseIndex + s2] = LambdaCoord * 2 * ey * sy * (1 - sy) * scale;
                        g[baseIndex + 2 * s2] = LambdaCoord * 2 * ew * scale;
                        g[baseIndex + 3 * s2] = LambdaCoord * 2 * eh * scale;
                        g[baseIndex + 4 * s2] = (Sigmoid(to) - 1) * scale;
                        for (int c = 0; c < Classes; c++)
                            g[baseIndex + (5 + c) * s2] = (MathF.Exp(o[baseIndex + (5 + c) * s2] - lse) - (c == cls ? 1 : 0)) * scale;
                    }
        }
        return (float)(total / batch);
    }

    /// <summary>Decodes one image's output into detections (boxes in [0, 1]): per slot and class, the score
    /// σ(objectness)·softmax(class), kept when it is ≥ <paramref name="scoreThreshold"/> (every class that passes, as
    /// torchvision's detectors post-process, so a digit the head is unsure between two classes is found under both;
    /// <paramref name="bestClassOnly"/> keeps only each slot's most likely class); then per-class NMS and the
    /// <paramref name="topK"/> highest scores.</summary>
    public List<DetectedBox> Decode(ReadOnlySpan<float> output, float scoreThreshold = 0.01f, double iouThreshold = 0.45, int topK = 100, bool bestClassOnly = false)
    {
        if (output.Length != OutputSize) throw new ArgumentException($"One image's output has {OutputSize} values, not {output.Length}.", nameof(output));
        int s2 = Grid * Grid, fields = 5 + Classes;
        var raw = new List<DetectedBox>();
        for (int row = 0; row < Grid; row++)
            for (int col = 0; col < Grid; col++)
                for (int b = 0; b < BoxesPerCell; b++)
                {
                    int baseIndex = b * fields * s2 + row * Grid + col;
                    float objectness = Sigmoid(output[baseIndex + 4 * s2]);
                    if (objectness < scoreThreshold) continue;
                    int best = 0;
                    float max = float.NegativeInfinity, sum = 0;
                    for (int c = 0; c < Classes; c++) { float z = output[baseIndex + (5 + c) * s2]; if (z > max) { max = z; best = c; } }
                    for (int c = 0; c < Classes; c++) sum += MathF.Exp(output[baseIndex + (5 + c) * s2] - max);
                    if (objectness / sum < scoreThreshold) continue;   // not even the best class passes
                    var (aw, ah) = Anchors[b];
                    float cx = (col + Sigmoid(output[baseIndex])) / Grid, cy = (row + Sigmoid(output[baseIndex + s2])) / Grid;
                    float w = aw * MathF.Exp(MathF.Min(output[baseIndex + 2 * s2], 5)), h = ah * MathF.Exp(MathF.Min(output[baseIndex + 3 * s2], 5));
                    var box = Box.FromCenter(cx, cy, w, h);
                    for (int c = 0; c < Classes; c++)
                    {
                        if (bestClassOnly && c != best) continue;
                        float score = objectness * MathF.Exp(output[baseIndex + (5 + c) * s2] - max) / sum;
                        if (score >= scoreThreshold) raw.Add(new DetectedBox(box, c, score));
                    }
                }
        return Nms.Select(raw, iouThreshold, scoreThreshold, topK);
    }

    internal static float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));

    internal static float Softplus(float x) => x > 0 ? x + MathF.Log(1 + MathF.Exp(-x)) : MathF.Log(1 + MathF.Exp(x));
}
