using System.Numerics;

namespace NetGen;

/// <summary>
/// A data-augmentation step applied by <see cref="Trainer.Fit"/> to each training mini-batch (a copy: the data set
/// is never changed; validation data is never augmented). Must not allocate per call.
/// </summary>
public interface IAugmentation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Transforms the <paramref name="count"/> samples in <paramref name="batch"/> (count × sample size
    /// values, row-major) in place, drawing every random choice from <paramref name="random"/>.</summary>
    void Apply(Span<T> batch, int count, SeededRandom random);
}

/// <summary>
/// An augmentation that moves the targets with the image (a detector's boxes when the canvas is shifted).
/// <see cref="Trainer.Fit"/> calls this overload for a data set with target vectors, on copies of the batch's
/// features and targets; never on validation data.
/// </summary>
public interface ITargetAugmentation<T> : IAugmentation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Transforms the <paramref name="count"/> samples in <paramref name="batch"/> and their targets
    /// (count × target size values) in place, drawing every random choice from <paramref name="random"/>.</summary>
    void Apply(Span<T> batch, Span<T> targets, int count, SeededRandom random);
}

/// <summary>
/// Random transformations of (C, H, W) images, each sample independently: a horizontal flip (probability ½),
/// a translation by up to <see cref="MaxTranslation"/> pixels in x and y (zero fill), a rotation by up to
/// <see cref="MaxRotationDegrees"/> (bilinear, zero fill) and a brightness shift by up to
/// <see cref="MaxBrightness"/> (optionally clamped), applied in that order with the choices drawn in that order.
/// Seeded through the <see cref="SeededRandom"/> the trainer passes, so a seed gives the same run. One image of
/// scratch space is allocated at construction; <see cref="Apply"/> allocates nothing.
/// </summary>
public sealed class ImageAugmentation<T> : IAugmentation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _scratch;
    private readonly int _channels, _height, _width;

    /// <summary>For images of <paramref name="channels"/> × <paramref name="height"/> × <paramref name="width"/> values.</summary>
    public ImageAugmentation(int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        (_channels, _height, _width) = (channels, height, width);
        _scratch = new T[channels * height * width];
    }

    /// <summary>Values per image, C·H·W.</summary>
    public int SampleSize => _scratch.Length;

    /// <summary>Flip left–right with probability ½.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Shift by a whole number of pixels drawn uniformly from [−k, k], independently in x and y.</summary>
    public int MaxTranslation
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxTranslation is a number of pixels ≥ 0.");
    }

    /// <summary>Rotate about the centre by an angle drawn uniformly from [−a, a] degrees.</summary>
    public double MaxRotationDegrees
    {
        get;
        init => field = value >= 0 && value <= 180 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxRotationDegrees is an angle in [0, 180], e.g. 10.");
    }

    /// <summary>Add a value drawn uniformly from [−b, b] to every pixel.</summary>
    public double MaxBrightness
    {
        get;
        init => field = value >= 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "MaxBrightness is a finite number ≥ 0, e.g. 0.1 for pixels in [0, 1].");
    }

    /// <summary>After a brightness shift, clamp pixels to this range (e.g. (0, 1)); null for none.</summary>
    public (double Min, double Max)? BrightnessRange { get; init; }

    /// <inheritdoc />
    public void Apply(Span<T> batch, int count, SeededRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int size = SampleSize;
        if (count < 0 || batch.Length < (long)count * size)
            throw new ArgumentException($"The batch holds {batch.Length} values, fewer than {count} images of {_channels}×{_height}×{_width} = {size} values.", nameof(batch));
        for (int n = 0; n < count; n++)
        {
            Span<T> image = batch.Slice(n * size, size);
            if (HorizontalFlip && random.NextDouble() < 0.5)
                Augmentation.FlipHorizontal(image, _channels, _height, _width);
            if (MaxTranslation > 0)
            {
                int dx = random.NextInt(2 * MaxTranslation + 1) - MaxTranslation;
                int dy = random.NextInt(2 * MaxTranslation + 1) - MaxTranslation;
                if (dx != 0 || dy != 0)
                {
                    Augmentation.Translate<T>(image, _scratch, _channels, _height, _width, dx, dy);
                    _scratch.CopyTo(image);
                }
            }
            if (MaxRotationDegrees > 0)
            {
                double degrees = random.NextDouble(-MaxRotationDegrees, MaxRotationDegrees);
                Augmentation.Rotate<T>(image, _scratch, _channels, _height, _width, degrees);
                _scratch.CopyTo(image);
            }
            if (MaxBrightness > 0)
            {
                double delta = random.NextDouble(-MaxBrightness, MaxBrightness);
                Augmentation.AdjustBrightness(image, delta, BrightnessRange);
            }
        }
    }
}

/// <summary>The image transformations behind <see cref="ImageAugmentation{T}"/>, on one (C, H, W) image each.</summary>
public static class Augmentation
{
    /// <summary>Mirrors every row in place: pixel (y, x) ↔ (y, W − 1 − x).</summary>
    public static void FlipHorizontal<T>(Span<T> image, int channels, int height, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(image.Length, channels, height, width, nameof(image));
        for (int row = 0; row < channels * height; row++) image.Slice(row * width, width).Reverse();
    }

    /// <summary>Shifts the content right by <paramref name="dx"/> and down by <paramref name="dy"/> pixels (negative:
    /// left, up): destination(y, x) = source(y − dy, x − dx), 0 where that falls outside.</summary>
    public static void Translate<T>(ReadOnlySpan<T> source, Span<T> destination, int channels, int height, int width, int dx, int dy)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(source.Length, channels, height, width, nameof(source));
        Check(destination.Length, channels, height, width, nameof(destination));
        destination.Clear();
        int x0 = Math.Max(0, dx), x1 = Math.Min(width, width + dx);       // destination columns that have a source
        if (x1 <= x0) return;
        for (int c = 0; c < channels; c++)
            for (int y = Math.Max(0, dy); y < Math.Min(height, height + dy); y++)
                source.Slice((c * height + y - dy) * width + x0 - dx, x1 - x0).CopyTo(destination.Slice((c * height + y) * width + x0, x1 - x0));
    }

    /// <summary>Rotates the content by <paramref name="degrees"/> counter-clockwise as the image is displayed (rows
    /// top to bottom), about the centre ((W − 1)/2, (H − 1)/2), sampling bilinearly with 0 outside the image:
    /// destination(y, x) = source(cy + u·sin θ + v·cos θ, cx + u·cos θ − v·sin θ) with u = x − cx, v = y − cy.
    /// Sample positions within 1e-9 of a whole pixel are taken as that pixel, so quarter turns are exact.</summary>
    public static void Rotate<T>(ReadOnlySpan<T> source, Span<T> destination, int channels, int height, int width, double degrees)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(source.Length, channels, height, width, nameof(source));
        Check(destination.Length, channels, height, width, nameof(destination));
        double theta = degrees * Math.PI / 180, cos = Math.Cos(theta), sin = Math.Sin(theta);
        double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
        int plane = height * width;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double u = x - cx, v = y - cy;
                double sx = Snap(cx + u * cos - v * sin), sy = Snap(cy + u * sin + v * cos);
                int ix = (int)Math.Floor(sx), iy = (int)Math.Floor(sy);
                double fx = sx - ix, fy = sy - iy;
                double w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
                for (int c = 0; c < channels; c++)
                {
                    ReadOnlySpan<T> src = source.Slice(c * plane, plane);
                    double value = w00 * Pixel(src, iy, ix, height, width) + w01 * Pixel(src, iy, ix + 1, height, width)
                                 + w10 * Pixel(src, iy + 1, ix, height, width) + w11 * Pixel(src, iy + 1, ix + 1, height, width);
                    destination[c * plane + y * width + x] = T.CreateChecked(value);
                }
            }
    }

    /// <summary>Adds <paramref name="delta"/> to every pixel, then clamps to <paramref name="range"/> when given.</summary>
    public static void AdjustBrightness<T>(Span<T> image, double delta, (double Min, double Max)? range = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        System.Numerics.Tensors.TensorPrimitives.Add(image, T.CreateChecked(delta), image);
        if (range is (double min, double max))
        {
            if (min > max) throw new ArgumentException($"The range ({min}, {max}) is empty: give (min, max) with min ≤ max.", nameof(range));
            System.Numerics.Tensors.TensorPrimitives.Max(image, T.CreateChecked(min), image);
            System.Numerics.Tensors.TensorPrimitives.Min(image, T.CreateChecked(max), image);
        }
    }

    private static double Snap(double value)
    {
        double r = Math.Round(value);
        return Math.Abs(value - r) < 1e-9 ? r : value;
    }

    private static double Pixel<T>(ReadOnlySpan<T> plane, int y, int x, int height, int width) where T : unmanaged, IFloatingPointIeee754<T> =>
        (uint)y < (uint)height && (uint)x < (uint)width ? double.CreateChecked(plane[y * width + x]) : 0;

    private static void Check(int length, int channels, int height, int width, string name)
    {
        if (channels < 1 || height < 1 || width < 1 || length != channels * height * width)
            throw new ArgumentException($"'{name}' has {length} values but a {channels}×{height}×{width} image has {channels * height * width}.", name);
    }
}
