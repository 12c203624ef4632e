namespace NetGen.Detection;

/// <summary>An axis-aligned box in corner form (x1, y1) – (x2, y2), x to the right and y down, as torchvision's
/// <c>boxes</c> tensors. A box with x2 ≤ x1 or y2 ≤ y1 is degenerate (zero area).</summary>
public readonly record struct Box(float X1, float Y1, float X2, float Y2)
{
    /// <summary>Width (negative for an inverted box).</summary>
    public float Width => X2 - X1;

    /// <summary>Height.</summary>
    public float Height => Y2 - Y1;

    /// <summary>(x2 − x1)·(y2 − y1), as torchvision's <c>box_area</c> (not clamped).</summary>
    public float Area => (X2 - X1) * (Y2 - Y1);

    /// <summary>Centre x.</summary>
    public float CenterX => (X1 + X2) / 2;

    /// <summary>Centre y.</summary>
    public float CenterY => (Y1 + Y2) / 2;

    /// <summary>The box of centre (cx, cy), width w and height h.</summary>
    public static Box FromCenter(float cx, float cy, float w, float h) => new(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);

    /// <summary>Centre form (cx, cy, w, h).</summary>
    public (float Cx, float Cy, float W, float H) ToCenter() => (CenterX, CenterY, Width, Height);

    /// <summary>The box scaled by (sx, sy), e.g. from [0, 1] coordinates to pixels.</summary>
    public Box Scale(float sx, float sy) => new(X1 * sx, Y1 * sy, X2 * sx, Y2 * sy);

    /// <summary>The box clipped to [0, w] × [0, h].</summary>
    public Box Clip(float w, float h) => new(Math.Clamp(X1, 0, w), Math.Clamp(Y1, 0, h), Math.Clamp(X2, 0, w), Math.Clamp(Y2, 0, h));

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"({X1:0.##}, {Y1:0.##}, {X2:0.##}, {Y2:0.##})");
}

/// <summary>A detected (or ground-truth) object: its box, class and score (1 for ground truth).</summary>
public readonly record struct DetectedBox(Box Box, int Class, float Score);

/// <summary>Overlap measures between boxes, computed in single precision in torchvision's order of operations so the
/// results are the same floats as <c>torchvision.ops.box_iou</c>.</summary>
public static class BoxOps
{
    /// <summary>Intersection over union: |a ∩ b| / (|a| + |b| − |a ∩ b|). Two degenerate boxes give 0/0 = NaN, as in
    /// torchvision.</summary>
    public static float Iou(Box a, Box b)
    {
        float w = MathF.Max(MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1), 0);
        float h = MathF.Max(MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1), 0);
        float inter = w * h;
        return inter / (a.Area + b.Area - inter);
    }

    /// <summary>The pairwise IoU matrix: <paramref name="result"/>[i·b.Length + j] = IoU(a[i], b[j]) (torchvision
    /// <c>box_iou(a, b)</c>).</summary>
    public static void Iou(ReadOnlySpan<Box> a, ReadOnlySpan<Box> b, Span<float> result)
    {
        if (result.Length != a.Length * b.Length)
            throw new ArgumentException($"The IoU matrix of {a.Length} × {b.Length} boxes has {a.Length * b.Length} entries; the result span holds {result.Length}.", nameof(result));
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++) result[i * b.Length + j] = Iou(a[i], b[j]);
    }

    /// <summary>As the other overload, returning a new a.Length × b.Length matrix.</summary>
    public static float[,] Iou(ReadOnlySpan<Box> a, ReadOnlySpan<Box> b)
    {
        var m = new float[a.Length, b.Length];
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++) m[i, j] = Iou(a[i], b[j]);
        return m;
    }

    /// <summary>Generalised IoU (Rezatofighi et al. 2019): IoU − (|C| − |a ∪ b|)/|C| with C the smallest box enclosing
    /// both; in [−1, 1], and informative when the boxes do not overlap (torchvision <c>generalized_box_iou</c>).</summary>
    public static float GeneralizedIou(Box a, Box b)
    {
        float w = MathF.Max(MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1), 0);
        float h = MathF.Max(MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1), 0);
        float inter = w * h, union = a.Area + b.Area - inter;
        float iou = inter / union;
        float cw = MathF.Max(MathF.Max(a.X2, b.X2) - MathF.Min(a.X1, b.X1), 0);
        float ch = MathF.Max(MathF.Max(a.Y2, b.Y2) - MathF.Min(a.Y1, b.Y1), 0);
        float hull = cw * ch;
        return iou - (hull - union) / hull;
    }
}
