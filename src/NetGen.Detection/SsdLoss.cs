using NetGen;

namespace NetGen.Detection;

/// <summary>
/// The SSD loss (Liu et al. 2016) over the default boxes of <see cref="DefaultBoxes"/>: anchors matched to ground truth
/// (best anchor per object, then IoU ≥ <see cref="MatchThreshold"/>) are positives; loss = (Σ_pos smooth-L1(offsets −
/// encoded truth) + Σ_pos CE(class) + Σ_hard negatives CE(background)) / N_pos, where each image's hard negatives are
/// its <see cref="NegativeRatio"/>·n_pos unmatched anchors with the largest background cross-entropy (3:1 hard-negative
/// mining). Class logits include background as class 0 (object class c is logit c + 1).
/// <para>Output layout, per image: map after map, each map's head convolution output of k·(4 + C + 1) channels ×
/// size × size, channel k·(5 + C) + f (f: 0–3 offsets, 4… logits).</para>
/// </summary>
public sealed class SsdLoss : ILoss<float>
{
    /// <summary>The loss over <paramref name="anchors"/> for <paramref name="classes"/> object classes.</summary>
    public SsdLoss(DefaultBoxes anchors, int classes, int maxObjects = 3, float matchThreshold = 0.5f, int negativeRatio = 3)
    {
        Anchors = anchors ?? throw new ArgumentNullException(nameof(anchors));
        if (classes < 1 || maxObjects < 1 || negativeRatio < 0) throw new ArgumentOutOfRangeException(nameof(classes), "classes and maxObjects ≥ 1, negativeRatio ≥ 0.");
        Classes = classes; MaxObjects = maxObjects; MatchThreshold = matchThreshold; NegativeRatio = negativeRatio;
        _index = new int[anchors.Count];
        int offset = 0;
        for (int i = 0; i < anchors.Maps.Count; i++)
        {
            var m = anchors.Maps[i];
            for (int k = 0; k < m.BoxesPerCell; k++)
                for (int cell = 0; cell < m.Size * m.Size; cell++)
                    _index[anchors.MapOffsets[i] + k * m.Size * m.Size + cell] = offset + k * Fields * m.Size * m.Size + cell;
            offset += m.BoxesPerCell * Fields * m.Size * m.Size;
        }
        OutputSize = offset;
        _stride = new int[anchors.Count];
        for (int i = 0, a = 0; i < anchors.Maps.Count; i++)
            for (int j = 0; j < anchors.Maps[i].BoxesPerCell * anchors.Maps[i].Size * anchors.Maps[i].Size; j++) _stride[a++] = anchors.Maps[i].Size * anchors.Maps[i].Size;
        _matches = new int[anchors.Count];
        _negLoss = new float[anchors.Count];
        _order = new int[anchors.Count];
        _truth = new Box[maxObjects];
        _truthClass = new int[maxObjects];
    }

    /// <summary>The default boxes.</summary>
    public DefaultBoxes Anchors { get; }

    /// <summary>Object classes (background excluded).</summary>
    public int Classes { get; }

    /// <summary>Object rows per image in the targets.</summary>
    public int MaxObjects { get; }

    /// <summary>IoU at or above which an anchor is matched to a ground-truth box.</summary>
    public float MatchThreshold { get; }

    /// <summary>Hard negatives kept per positive.</summary>
    public int NegativeRatio { get; }

    /// <summary>Values per anchor: 4 offsets and C + 1 logits.</summary>
    public int Fields => 5 + Classes;

    /// <summary>Network outputs per image.</summary>
    public int OutputSize { get; }

    /// <inheritdoc/>
    public string Name => "ssd";

    private readonly int[] _index, _stride, _matches, _order, _truthClass;
    private readonly float[] _negLoss;
    private readonly Box[] _truth;

    /// <inheritdoc/>
    public int TargetSize(int outputSize)
    {
        if (outputSize != OutputSize)
            throw new ArgumentException($"The SSD loss over {Anchors.Count} default boxes with {Classes} classes reads {OutputSize} outputs per image, but the network gives {outputSize}: " +
                $"each map's head needs boxes-per-cell·{Fields} channels.");
        return MaxObjects * DetectionTargets.Fields;
    }

    /// <summary>Index in one image's output of field <paramref name="field"/> of anchor <paramref name="anchor"/>.</summary>
    public int OutputIndex(int anchor, int field) => _index[anchor] + field * _stride[anchor];

    /// <inheritdoc/>
    public float Value(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int batch) => Compute(output, target, batch, []);

    /// <inheritdoc/>
    public float ValueAndGradient(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int batch, Span<float> gradient)
    {
        if (gradient.Length != output.Length) throw new ArgumentException("The gradient has the output's length.", nameof(gradient));
        return Compute(output, target, batch, gradient);
    }

    /// <summary>Log-sum-exp of the anchor's C + 1 logits.</summary>
    private float LogSumExp(ReadOnlySpan<float> o, int anchor)
    {
        float max = float.NegativeInfinity;
        for (int c = 0; c <= Classes; c++) max = MathF.Max(max, o[OutputIndex(anchor, 4 + c)]);
        float sum = 0;
        for (int c = 0; c <= Classes; c++) sum += MathF.Exp(o[OutputIndex(anchor, 4 + c)] - max);
        return max + MathF.Log(sum);
    }

    private float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> target, int batch, Span<float> gradient)
    {
        NetworkLoss.CheckSpans(this, output, target, batch);
        int perImage = OutputSize, targetSize = MaxObjects * DetectionTargets.Fields, count = Anchors.Count;
        bool grad = !gradient.IsEmpty;
        if (grad) gradient.Clear();
        // N: positives over the whole batch, the normaliser.
        int positives = 0;
        for (int n = 0; n < batch; n++) positives += MatchImage(target.Slice(n * targetSize, targetSize));
        float scale = 1f / Math.Max(positives, 1);
        double total = 0;
        for (int n = 0; n < batch; n++)
        {
            var o = output.Slice(n * perImage, perImage);
            var g = grad ? gradient.Slice(n * perImage, perImage) : default;
            int pos = MatchImage(target.Slice(n * targetSize, targetSize));
            int negCandidates = 0;
            for (int a = 0; a < count; a++)
            {
                float lse = LogSumExp(o, a);
                int m = _matches[a];
                if (m < 0)
                {
                    _negLoss[a] = lse - o[OutputIndex(a, 4)];
                    _order[negCandidates++] = a;
                    continue;
                }
                int cls = _truthClass[m] + 1;
                total += lse - o[OutputIndex(a, 4 + cls)];
                var (dx, dy, dw, dh) = Anchors.Encode(_truth[m], a);
                total += SmoothL1(o[OutputIndex(a, 0)] - dx) + SmoothL1(o[OutputIndex(a, 1)] - dy) + SmoothL1(o[OutputIndex(a, 2)] - dw) + SmoothL1(o[OutputIndex(a, 3)] - dh);
                if (!grad) continue;
                g[OutputIndex(a, 0)] = SmoothL1Gradient(o[OutputIndex(a, 0)] - dx) * scale;
                g[OutputIndex(a, 1)] = SmoothL1Gradient(o[OutputIndex(a, 1)] - dy) * scale;
                g[OutputIndex(a, 2)] = SmoothL1Gradient(o[OutputIndex(a, 2)] - dw) * scale;
                g[OutputIndex(a, 3)] = SmoothL1Gradient(o[OutputIndex(a, 3)] - dh) * scale;
                for (int c = 0; c <= Classes; c++)
                    g[OutputIndex(a, 4 + c)] = (MathF.Exp(o[OutputIndex(a, 4 + c)] - lse) - (c == cls ? 1 : 0)) * scale;
            }
            // Hard negatives: the NegativeRatio·pos unmatched anchors with the largest background loss (ties: lower index).
            int keep = Math.Min(NegativeRatio * pos, negCandidates);
            var candidates = _order.AsSpan(0, negCandidates);
            var losses = _negLoss;
            candidates.Sort((a, b) => { int c = losses[b].CompareTo(losses[a]); return c != 0 ? c : a.CompareTo(b); });
            for (int i = 0; i < keep; i++)
            {
                int a = candidates[i];
                total += _negLoss[a];
                if (!grad) continue;
                float lse = LogSumExp(o, a);
                for (int c = 0; c <= Classes; c++)
                    g[OutputIndex(a, 4 + c)] = (MathF.Exp(o[OutputIndex(a, 4 + c)] - lse) - (c == 0 ? 1 : 0)) * scale;
            }
        }
        return (float)(total * scale);
    }

    /// <summary>Matches one image's objects to the anchors into _matches; returns the number of positives.</summary>
    private int MatchImage(ReadOnlySpan<float> target)
    {
        int objects = 0;
        for (int o = 0; o < MaxObjects; o++)
        {
            int f = o * DetectionTargets.Fields;
            if (target[f] < 0) continue;
            if (target[f] >= Classes) throw new ArgumentException($"Target class {target[f]} is out of range: the SSD loss has {Classes} classes (0 to {Classes - 1}), and −1 marks an empty row.", nameof(target));
            _truth[objects] = new Box(target[f + 1], target[f + 2], target[f + 3], target[f + 4]);
            if (!(_truth[objects].Width > 0 && _truth[objects].Height > 0))
                throw new ArgumentException($"Target box {o} {_truth[objects]} has no area: give x1 < x2 and y1 < y2.", nameof(target));
            _truthClass[objects++] = (int)target[f];
        }
        Anchors.Match(_truth.AsSpan(0, objects), MatchThreshold, _matches);
        int positives = 0;
        foreach (int m in _matches) if (m >= 0) positives++;
        return positives;
    }

    private static float SmoothL1(float x) => MathF.Abs(x) < 1 ? 0.5f * x * x : MathF.Abs(x) - 0.5f;

    private static float SmoothL1Gradient(float x) => MathF.Abs(x) < 1 ? x : MathF.Sign(x);

    /// <summary>Decodes one image's output into detections (boxes in [0, 1]): per anchor and object class, the softmax
    /// probability, kept when ≥ <paramref name="scoreThreshold"/> (every class that passes, as torchvision's SSD
    /// post-processing; <paramref name="bestClassOnly"/> keeps only each anchor's most likely object class); then
    /// per-class NMS and the <paramref name="topK"/> highest scores.</summary>
    public List<DetectedBox> Decode(ReadOnlySpan<float> output, float scoreThreshold = 0.01f, double iouThreshold = 0.45, int topK = 100, bool bestClassOnly = false)
    {
        if (output.Length != OutputSize) throw new ArgumentException($"One image's output has {OutputSize} values, not {output.Length}.", nameof(output));
        var raw = new List<DetectedBox>();
        for (int a = 0; a < Anchors.Count; a++)
        {
            float lse = LogSumExp(output, a);
            int best = 1;
            for (int c = 2; c <= Classes; c++) if (output[OutputIndex(a, 4 + c)] > output[OutputIndex(a, 4 + best)]) best = c;
            if (MathF.Exp(output[OutputIndex(a, 4 + best)] - lse) < scoreThreshold) continue;   // not even the best class passes
            var box = Anchors.Decode(output[OutputIndex(a, 0)], output[OutputIndex(a, 1)], output[OutputIndex(a, 2)], output[OutputIndex(a, 3)], a);
            for (int c = 1; c <= Classes; c++)
            {
                if (bestClassOnly && c != best) continue;
                float p = MathF.Exp(output[OutputIndex(a, 4 + c)] - lse);
                if (p >= scoreThreshold) raw.Add(new DetectedBox(box, c - 1, p));
            }
        }
        return Nms.Select(raw, iouThreshold, scoreThreshold, topK);
    }
}
