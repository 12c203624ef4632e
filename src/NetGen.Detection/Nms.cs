using System.Buffers;

namespace NetGen.Detection;

/// <summary>
/// Greedy non-maximum suppression, the same algorithm and float arithmetic as torchvision 0.14's CPU kernels, so the
/// kept indices are identical (ties in score keep the lower index first, as torchvision's stable sort): boxes are
/// visited by descending score; each kept box suppresses every later box whose IoU with it is &gt; the threshold.
/// </summary>
public static class Nms
{
    /// <summary>torchvision.ops.nms: the indices of the kept boxes, by descending score. A degenerate box (zero
    /// area) has IoU NaN with another degenerate box and is never suppressed by it.</summary>
    /// <exception cref="ArgumentException">The spans differ in length, or a score is NaN.</exception>
    public static int[] Apply(ReadOnlySpan<Box> boxes, ReadOnlySpan<float> scores, double iouThreshold)
    {
        var kept = new int[boxes.Length];
        int count = Apply(boxes, scores, iouThreshold, kept);
        return count == kept.Length ? kept : kept.AsSpan(0, count).ToArray();
    }

    /// <summary>torchvision.ops.nms into <paramref name="kept"/>, without allocating: writes the indices of the kept
    /// boxes by descending score and returns how many (scratch space comes from <see cref="ArrayPool{T}.Shared"/>).
    /// The same indices as <see cref="Apply(ReadOnlySpan{Box}, ReadOnlySpan{float}, double)"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length, a score is NaN, or <paramref name="kept"/> is
    /// shorter than <paramref name="boxes"/> (every box may be kept).</exception>
    public static int Apply(ReadOnlySpan<Box> boxes, ReadOnlySpan<float> scores, double iouThreshold, Span<int> kept)
    {
        Check(boxes.Length, scores, null, false);
        if (kept.Length < boxes.Length)
            throw new ArgumentException($"NMS may keep all {boxes.Length} boxes but the destination holds {kept.Length}: pass a span of at least {boxes.Length}.", nameof(kept));
        int n = boxes.Length;
        var keys = ArrayPool<ulong>.Shared.Rent(n);
        var areas = ArrayPool<float>.Shared.Rent(n);
        var suppressed = ArrayPool<bool>.Shared.Rent(n);
        try
        {
            var order = keys.AsSpan(0, n);
            SortByScore(scores, order);
            return Greedy(boxes, order, areas.AsSpan(0, n), suppressed.AsSpan(0, n), iouThreshold, kept);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(keys);
            ArrayPool<float>.Shared.Return(areas);
            ArrayPool<bool>.Shared.Return(suppressed);
        }
    }

    /// <summary>torchvision.ops.batched_nms: NMS within each class (<paramref name="classes"/>) separately, the kept
    /// indices by descending score. Up to 1,000 boxes torchvision offsets each class's boxes by class × (max
    /// coordinate + 1) and runs one NMS; above, one NMS per class — both are followed here, float for float.</summary>
    public static int[] Batched(ReadOnlySpan<Box> boxes, ReadOnlySpan<float> scores, ReadOnlySpan<int> classes, double iouThreshold)
    {
        Check(boxes.Length, scores, classes, true);
        if (boxes.Length == 0) return [];
        if (boxes.Length * 4 <= 4000)
        {
            float max = float.NegativeInfinity;
            foreach (var b in boxes) max = MathF.Max(max, MathF.Max(MathF.Max(b.X1, b.Y1), MathF.Max(b.X2, b.Y2)));
            var shifted = new Box[boxes.Length];
            for (int i = 0; i < boxes.Length; i++)
            {
                float offset = classes[i] * (max + 1f);
                var b = boxes[i];
                shifted[i] = new Box(b.X1 + offset, b.Y1 + offset, b.X2 + offset, b.Y2 + offset);
            }
            return Greedy(shifted, SortedByScore(scores), iouThreshold);
        }
        var keep = new bool[boxes.Length];
        var boxArray = boxes.ToArray();
        var scoreArray = scores.ToArray();
        foreach (int c in classes.ToArray().Distinct())
        {
            var members = new List<int>();
            for (int i = 0; i < classes.Length; i++) if (classes[i] == c) members.Add(i);
            var sub = members.Select(i => boxArray[i]).ToArray();
            var subScores = members.Select(i => scoreArray[i]).ToArray();
            foreach (int k in Greedy(sub, SortedByScore(subScores), iouThreshold)) keep[members[k]] = true;
        }
        var kept = new List<int>();
        for (int i = 0; i < keep.Length; i++) if (keep[i]) kept.Add(i);
        var keptScores = kept.Select(i => scoreArray[i]).ToArray();
        return SortedByScore(keptScores).Select(k => kept[k]).ToArray();
    }

    /// <summary>The post-processing of a detector: drops detections scoring below <paramref name="scoreThreshold"/>,
    /// runs NMS per class (or across classes with <paramref name="classAgnostic"/>), and keeps at most
    /// <paramref name="topK"/> by descending score (0 for no limit).</summary>
    public static List<DetectedBox> Select(IReadOnlyList<DetectedBox> detections, double iouThreshold = 0.5, float scoreThreshold = 0.01f,
        int topK = 100, bool classAgnostic = false)
    {
        ArgumentNullException.ThrowIfNull(detections);
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "topK is the most detections kept, or 0 for no limit.");
        var candidates = detections.Where(d => d.Score >= scoreThreshold).ToArray();
        var boxes = candidates.Select(d => d.Box).ToArray();
        var scores = candidates.Select(d => d.Score).ToArray();
        int[] kept = classAgnostic
            ? Apply(boxes, scores, iouThreshold)
            : Batched(boxes, scores, candidates.Select(d => d.Class).ToArray(), iouThreshold);
        var result = new List<DetectedBox>(kept.Length);
        foreach (int k in kept)
        {
            if (topK > 0 && result.Count == topK) break;
            result.Add(candidates[k]);
        }
        return result;
    }

    private static void Check(int count, ReadOnlySpan<float> scores, ReadOnlySpan<int> classes, bool batched)
    {
        if (scores.Length != count)
            throw new ArgumentException($"NMS got {count} boxes and {scores.Length} scores: give one score per box.", nameof(scores));
        if (batched && classes.Length != count)
            throw new ArgumentException($"Batched NMS got {count} boxes and {classes.Length} class indices: give one class per box.", nameof(classes));
        for (int i = 0; i < scores.Length; i++)
            if (float.IsNaN(scores[i]))
                throw new ArgumentException($"Score {i} is NaN: a detector produced NaN (check its outputs and training) — NMS cannot order it.", nameof(scores));
    }

    /// <summary>Indices by descending score, ties in index order (a stable sort).</summary>
    private static int[] SortedByScore(ReadOnlySpan<float> scores)
    {
        var keys = new ulong[scores.Length];
        SortByScore(scores, keys);
        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++) order[i] = (int)(uint)keys[i];
        return order;
    }

    /// <summary>Sorts without a comparer: each key is (the score's order-preserving bits, inverted so a larger score
    /// sorts first) &lt;&lt; 32 | index, so equal scores fall back to index order exactly as a stable sort would; −0 is
    /// read as +0 (they compare equal). The low 32 bits of each sorted key are the box index.</summary>
    private static void SortByScore(ReadOnlySpan<float> scores, Span<ulong> keys)
    {
        for (int i = 0; i < scores.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(scores[i] + 0f);
            uint ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
            keys[i] = ((ulong)~ordered << 32) | (uint)i;
        }
        keys.Sort();
    }

    private static int[] Greedy(ReadOnlySpan<Box> boxes, int[] order, double iouThreshold)
    {
        int n = boxes.Length;
        var keys = new ulong[n];
        for (int i = 0; i < n; i++) keys[i] = (uint)order[i];
        var kept = new int[n];
        int count = Greedy(boxes, keys, new float[n], new bool[n], iouThreshold, kept);
        return kept.AsSpan(0, count).ToArray();
    }

    /// <summary>Greedy suppression over boxes visited in <paramref name="order"/> (box index in each key's low 32
    /// bits); writes the kept indices to <paramref name="kept"/> and returns their count.</summary>
    private static int Greedy(ReadOnlySpan<Box> boxes, ReadOnlySpan<ulong> order, Span<float> areas, Span<bool> suppressed, double iouThreshold, Span<int> kept)
    {
        int n = boxes.Length, count = 0;
        for (int i = 0; i < n; i++) areas[i] = boxes[i].Area;
        suppressed.Clear();
        for (int oi = 0; oi < n; oi++)
        {
            int i = (int)(uint)order[oi];
            if (suppressed[i]) continue;
            kept[count++] = i;
            var bi = boxes[i];
            float iarea = areas[i];
            for (int oj = oi + 1; oj < n; oj++)
            {
                int j = (int)(uint)order[oj];
                if (suppressed[j]) continue;
                var bj = boxes[j];
                float xx1 = MathF.Max(bi.X1, bj.X1), yy1 = MathF.Max(bi.Y1, bj.Y1);
                float xx2 = MathF.Min(bi.X2, bj.X2), yy2 = MathF.Min(bi.Y2, bj.Y2);
                float w = MathF.Max(0, xx2 - xx1), h = MathF.Max(0, yy2 - yy1);
                float inter = w * h;
                float ovr = inter / (iarea + areas[j] - inter);
                if (ovr > iouThreshold) suppressed[j] = true;
            }
        }
        return count;
    }
}
