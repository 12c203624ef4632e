namespace NetGen.Detection;

/// <summary>One square feature map of an SSD: its size, the default-box scale (a fraction of the image side), and the
/// aspect ratios w/h of its boxes. With <see cref="ExtraScale"/> a square box of scale √(s·s′) is added, as in SSD.</summary>
public sealed record FeatureMap(int Size, float Scale, float[] AspectRatios, float ExtraScale = 0)
{
    /// <summary>Default boxes per cell: one per aspect ratio, plus one for the extra scale.</summary>
    public int BoxesPerCell => AspectRatios.Length + (ExtraScale > 0 ? 1 : 0);
}

/// <summary>
/// SSD default boxes (anchors) over one or more feature maps, in [0, 1] image coordinates, ordered map by map, then
/// by box kind k, then row, then column — the order of a head convolution's output read as (k·fields + f, row, col)
/// channels. Encodes ground-truth boxes as offsets from their anchors with variances, decodes predictions back, and
/// matches anchors to ground truth.
/// </summary>
public sealed class DefaultBoxes
{
    /// <summary>Default boxes of <paramref name="maps"/>; the variances scale the centre and size offsets
    /// (SSD's 0.1 and 0.2).</summary>
    public DefaultBoxes(IReadOnlyList<FeatureMap> maps, float centerVariance = 0.1f, float sizeVariance = 0.2f)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.Count == 0) throw new ArgumentException("Give at least one feature map.", nameof(maps));
        Maps = maps.ToArray();
        CenterVariance = centerVariance;
        SizeVariance = sizeVariance;
        var boxes = new List<Box>();
        var offsets = new List<int>();
        foreach (var m in Maps)
        {
            if (m.Size < 1 || !(m.Scale > 0) || m.AspectRatios.Length == 0 || m.AspectRatios.Any(r => !(r > 0)))
                throw new ArgumentException($"Feature map {m.Size}×{m.Size}: the size, the scale and every aspect ratio must be positive, with at least one aspect ratio.", nameof(maps));
            offsets.Add(boxes.Count);
            for (int k = 0; k < m.BoxesPerCell; k++)
            {
                float w, h;
                if (k < m.AspectRatios.Length) { float r = MathF.Sqrt(m.AspectRatios[k]); w = m.Scale * r; h = m.Scale / r; }
                else w = h = MathF.Sqrt(m.Scale * m.ExtraScale);
                for (int row = 0; row < m.Size; row++)
                    for (int col = 0; col < m.Size; col++)
                        boxes.Add(Box.FromCenter((col + 0.5f) / m.Size, (row + 0.5f) / m.Size, w, h));
            }
        }
        Boxes = boxes.ToArray();
        MapOffsets = offsets.ToArray();
    }

    /// <summary>The feature maps.</summary>
    public IReadOnlyList<FeatureMap> Maps { get; }

    /// <summary>Every default box, in [0, 1] coordinates.</summary>
    public Box[] Boxes { get; }

    /// <summary>Index of each map's first box in <see cref="Boxes"/>.</summary>
    public int[] MapOffsets { get; }

    /// <summary>Number of default boxes.</summary>
    public int Count => Boxes.Length;

    /// <summary>Variance of the centre offsets.</summary>
    public float CenterVariance { get; }

    /// <summary>Variance of the log-size offsets.</summary>
    public float SizeVariance { get; }

    /// <summary>Offsets of <paramref name="box"/> from anchor <paramref name="anchor"/>:
    /// ((cx − acx)/(aw·v₀), (cy − acy)/(ah·v₀), log(w/aw)/v₁, log(h/ah)/v₁).</summary>
    public (float Dx, float Dy, float Dw, float Dh) Encode(Box box, int anchor)
    {
        var a = Boxes[anchor];
        return ((box.CenterX - a.CenterX) / (a.Width * CenterVariance), (box.CenterY - a.CenterY) / (a.Height * CenterVariance),
            MathF.Log(box.Width / a.Width) / SizeVariance, MathF.Log(box.Height / a.Height) / SizeVariance);
    }

    /// <summary>The inverse of <see cref="Encode"/>.</summary>
    public Box Decode(float dx, float dy, float dw, float dh, int anchor)
    {
        var a = Boxes[anchor];
        float cx = a.CenterX + dx * CenterVariance * a.Width, cy = a.CenterY + dy * CenterVariance * a.Height;
        float w = a.Width * MathF.Exp(MathF.Min(dw * SizeVariance, 10)), h = a.Height * MathF.Exp(MathF.Min(dh * SizeVariance, 10));
        return Box.FromCenter(cx, cy, w, h);
    }

    /// <summary>
    /// SSD matching: each ground-truth box first takes the anchor it overlaps most (so every object has one), then every
    /// other anchor whose best IoU with some ground truth is ≥ <paramref name="threshold"/> takes that ground truth.
    /// Writes, per anchor, the index of its ground-truth box or −1 (background).
    /// </summary>
    public void Match(ReadOnlySpan<Box> truth, float threshold, Span<int> matches)
    {
        if (matches.Length != Count)
            throw new ArgumentException($"matches holds {matches.Length} entries for {Count} default boxes.", nameof(matches));
        Span<float> best = Count <= 4096 ? stackalloc float[Count] : new float[Count];
        for (int a = 0; a < Count; a++)
        {
            matches[a] = -1;
            best[a] = 0;
            for (int g = 0; g < truth.Length; g++)
            {
                float iou = BoxOps.Iou(Boxes[a], truth[g]);
                if (iou > best[a]) { best[a] = iou; matches[a] = g; }
            }
            if (best[a] < threshold) matches[a] = -1;
        }
        for (int g = 0; g < truth.Length; g++)
        {
            int bestAnchor = -1;
            float bestIou = -1;
            for (int a = 0; a < Count; a++)
            {
                float iou = BoxOps.Iou(Boxes[a], truth[g]);
                if (iou > bestIou) { bestIou = iou; bestAnchor = a; }
            }
            if (bestAnchor >= 0 && bestIou > 0) matches[bestAnchor] = g;
        }
    }
}
