using NetGen;

namespace NetGen.Detection;

/// <summary>
/// Box-aware augmentation for detection: each canvas is shifted by a whole number of pixels in x and y, drawn
/// uniformly from the shifts of at most <see cref="MaxShift"/> that keep every object's box inside the canvas (so no
/// object is cut and every box stays exact), the vacated border filled with <see cref="Fill"/>; the target rows
/// (<see cref="DetectionTargets"/>) move by the same amount. The same digits are seen at new positions relative to the
/// grid cells and default boxes each epoch. No flips: a mirrored digit is another shape (or no digit at all).
/// Give it to <see cref="Trainer.Fit"/>'s <c>augment:</c> with a target data set (it is an
/// <see cref="ITargetAugmentation{T}"/>), or call <see cref="Apply(Span{float}, Span{float}, int, SeededRandom)"/>.
/// Allocates one canvas of scratch at construction and nothing per call.
/// </summary>
public sealed class CanvasShift : ITargetAugmentation<float>
{
    private readonly float[] _scratch;

    /// <summary>For single-channel canvases of <paramref name="height"/> × <paramref name="width"/> pixels with
    /// <paramref name="maxObjects"/> target rows each, shifted by at most <paramref name="maxShift"/> pixels per axis.</summary>
    public CanvasShift(int height, int width, int maxObjects, int maxShift)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxObjects);
        if (maxShift < 0 || maxShift >= Math.Min(height, width))
            throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, $"MaxShift is a number of pixels from 0 to {Math.Min(height, width) - 1}.");
        (Height, Width, MaxObjects, MaxShift) = (height, width, maxObjects, maxShift);
        _scratch = new float[height * width];
    }

    /// <summary>Canvas height in pixels.</summary>
    public int Height { get; }

    /// <summary>Canvas width in pixels.</summary>
    public int Width { get; }

    /// <summary>Target rows per canvas.</summary>
    public int MaxObjects { get; }

    /// <summary>The largest shift per axis, in pixels.</summary>
    public int MaxShift { get; }

    /// <summary>The value of the pixels the shift uncovers (the canvas background; 0 by default).</summary>
    public float Fill { get; init; }

    /// <summary>The last shift applied to each canvas (dx, dy in pixels), for tests and drawings; not thread-safe.</summary>
    public (int Dx, int Dy) LastShift { get; private set; }

    /// <summary>Not available: shifting a canvas without its boxes would make the targets wrong.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public void Apply(Span<float> batch, int count, SeededRandom random) =>
        throw new InvalidOperationException("CanvasShift moves the boxes with the canvas, so it needs the targets: give Trainer.Fit a data set with target vectors (DetectionTargets), or call Apply(batch, targets, count, random).");

    /// <inheritdoc/>
    public void Apply(Span<float> batch, Span<float> targets, int count, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int size = Height * Width, targetSize = MaxObjects * DetectionTargets.Fields;
        if (count < 0 || batch.Length < (long)count * size)
            throw new ArgumentException($"The batch holds {batch.Length} values, fewer than {count} canvases of {Height}×{Width}.", nameof(batch));
        if (targets.Length < (long)count * targetSize)
            throw new ArgumentException($"The targets hold {targets.Length} values, fewer than {count} canvases × {MaxObjects} rows × {DetectionTargets.Fields}.", nameof(targets));
        for (int n = 0; n < count; n++)
        {
            var t = targets.Slice(n * targetSize, targetSize);
            // The shifts that keep every box inside: −x1·W ≤ dx ≤ W − x2·W (rounded inwards), within ±MaxShift.
            int loX = -MaxShift, hiX = MaxShift, loY = -MaxShift, hiY = MaxShift;
            for (int o = 0; o < MaxObjects; o++)
            {
                int f = o * DetectionTargets.Fields;
                if (t[f] < 0) continue;
                loX = Math.Max(loX, -(int)MathF.Floor(t[f + 1] * Width));
                hiX = Math.Min(hiX, (int)MathF.Floor(Width - t[f + 3] * Width));
                loY = Math.Max(loY, -(int)MathF.Floor(t[f + 2] * Height));
                hiY = Math.Min(hiY, (int)MathF.Floor(Height - t[f + 4] * Height));
            }
            // Boxes inside the canvas give lo ≤ 0 ≤ hi; a box poking out (or a NaN coordinate) leaves the canvas alone.
            int dx = loX <= hiX ? loX + random.NextInt(hiX - loX + 1) : 0;
            int dy = loY <= hiY ? loY + random.NextInt(hiY - loY + 1) : 0;
            LastShift = (dx, dy);
            if (dx == 0 && dy == 0) continue;
            var image = batch.Slice(n * size, size);
            image.CopyTo(_scratch);
            for (int y = 0; y < Height; y++)
            {
                int sy = y - dy;
                var row = image.Slice(y * Width, Width);
                if (sy < 0 || sy >= Height) { row.Fill(Fill); continue; }
                for (int x = 0; x < Width; x++)
                {
                    int sx = x - dx;
                    row[x] = sx >= 0 && sx < Width ? _scratch[sy * Width + sx] : Fill;
                }
            }
            float fx = (float)dx / Width, fy = (float)dy / Height;
            for (int o = 0; o < MaxObjects; o++)
            {
                int f = o * DetectionTargets.Fields;
                if (t[f] < 0) continue;
                t[f + 1] += fx; t[f + 3] += fx;
                t[f + 2] += fy; t[f + 4] += fy;
            }
        }
    }
}
