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
        Check(boxes.Length, scores, null, false);
        var order = SortedByScore(scores);
        return Greedy(boxes, order, iouThreshold);
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
        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = scores.ToArray();
        Array.Sort(order, Comparer<int>.Create((a, b) =>
        {
            int c = keys[b].CompareTo(keys[a]);
            return c != 0 ? c : a.CompareTo(b);
        }));
        return order;
    }

    private static int[] Greedy(ReadOnlySpan<Box> boxes, int[] order, double iouThreshold)
    {
        int n = boxes.Length;
        var areas = new float[n];
        for (int i = 0; i < n; i++) areas[i] = boxes[i].Area;
        var suppressed = new bool[n];
        var keep = new List<int>();
        for (int oi = 0; oi < n; oi++)
        {
            int i = order[oi];
            if (suppressed[i]) continue;
            keep.Add(i);
            var bi = boxes[i];
            float iarea = areas[i];
            for (int oj = oi + 1; oj < n; oj++)
            {
                int j = order[oj];
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
        return keep.ToArray();
    }
}
