namespace NetGen.Imaging;

public sealed partial class Image
{
    /// <summary>
    /// Resizes to exactly <paramref name="width"/> × <paramref name="height"/>, <b>ignoring the aspect ratio</b>
    /// (a circle becomes an ellipse unless both sides scale by the same factor).
    /// </summary>
    /// <remarks>
    /// <para>Each output pixel is a weighted average of input pixels, computed separately along x and then y.</para>
    /// <para><b>Bilinear</b> (upscaling, or shrinking by at most 2×): pixel centres sit at i + 0.5, so output
    /// pixel d looks at input position s = (d + 0.5) · in/out − 0.5 and mixes its two neighbours
    /// ⌊s⌋ and ⌊s⌋ + 1 with weights 1 − f and f, where f = s − ⌊s⌋. Positions outside the image are clamped
    /// to the border. This is OpenCV's <c>INTER_LINEAR</c> (and PyTorch's <c>align_corners=False</c>).</para>
    /// <para><b>Area averaging</b> (shrinking by more than 2×): bilinear would read only 2 of the many input
    /// pixels under each output pixel and alias (stripes, jagged edges). Instead output pixel d covers the input
    /// interval [d · in/out, (d + 1) · in/out) and averages every input pixel by the fraction of it that interval
    /// covers, like OpenCV's <c>INTER_AREA</c>.</para>
    /// <para>The choice is made per axis. Results are rounded to the nearest byte (halves away from zero).</para>
    /// </remarks>
    /// <param name="width">New number of columns, at least 1.</param>
    /// <param name="height">New number of rows, at least 1.</param>
    /// <returns>A new image with the same number of channels.</returns>
    public Image Resize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var result = new Image(width, height, Channels);
        Tap[][] columns = AxisTaps(Width, width);
        Tap[][] rows = AxisTaps(Height, height);
        int c = Channels;

        // Pass 1, along x: every input row becomes `width` pixels wide. Kept as double (no rounding yet).
        var horizontal = new double[Height * width * c];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    foreach (Tap tap in columns[x])
                    {
                        sum += tap.Weight * Pixels[(y * Width + tap.Index) * c + ch];
                    }
                    horizontal[(y * width + x) * c + ch] = sum;
                }
            }
        }

        // Pass 2, along y: mix the rows of pass 1, then round once to a byte.
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    foreach (Tap tap in rows[y])
                    {
                        sum += tap.Weight * horizontal[(tap.Index * width + x) * c + ch];
                    }
                    result.Pixels[(y * width + x) * c + ch] = ToByte(sum);
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Resizes keeping the aspect ratio so that the <b>shorter</b> side becomes <paramref name="size"/>.
    /// The longer side is scaled by the same factor and <b>rounded to the nearest integer</b> (halves up):
    /// 640 × 480 → 224 gives 299 × 224 (640 · 224 / 480 = 298.67). torchvision's <c>Resize(224)</c> truncates
    /// instead and gives 298 × 224.
    /// </summary>
    /// <param name="size">The new length of the shorter side, at least 1.</param>
    public Image ResizeShortestSide(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return Width <= Height
            ? Resize(size, ScaleRounded(Height, size, Width))
            : Resize(ScaleRounded(Width, size, Height), size);
    }

    /// <summary>
    /// Cuts the central <paramref name="width"/> × <paramref name="height"/> region out of the image (no scaling).
    /// The margin removed on the left is ⌊(Width − width) / 2⌋ and the rest is removed on the right; likewise
    /// top and bottom. E.g. 299 → 224 drops 37 columns on the left and 38 on the right.
    /// </summary>
    /// <param name="width">Width of the crop, 1 … <see cref="Width"/>.</param>
    /// <param name="height">Height of the crop, 1 … <see cref="Height"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The crop is larger than the image.</exception>
    public Image CenterCrop(int width, int height)
    {
        if (width < 1 || width > Width)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"The crop width must be in 1..{Width} (the image width).");
        }
        if (height < 1 || height > Height)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, $"The crop height must be in 1..{Height} (the image height).");
        }
        return Crop((Width - width) / 2, (Height - height) / 2, width, height);
    }

    /// <summary>
    /// Cuts out the rectangle whose top-left pixel is (<paramref name="x"/>, <paramref name="y"/>).
    /// </summary>
    /// <param name="x">Left column of the rectangle.</param>
    /// <param name="y">Top row of the rectangle.</param>
    /// <param name="width">Width of the rectangle; it must fit inside the image.</param>
    /// <param name="height">Height of the rectangle; it must fit inside the image.</param>
    /// <exception cref="ArgumentOutOfRangeException">The rectangle does not lie inside the image.</exception>
    public Image Crop(int x, int y, int width, int height)
    {
        if (x < 0 || y < 0 || width < 1 || height < 1 || x > Width - width || y > Height - height)
        {
            throw new ArgumentOutOfRangeException(nameof(x),
                $"The rectangle at (x={x}, y={y}) of size {width} × {height} does not fit in the {Width} × {Height} image.");
        }
        var result = new Image(width, height, Channels);
        int rowBytes = width * Channels;
        for (int row = 0; row < height; row++)
        {
            // Each output row is one contiguous run of bytes in the input row y + row, starting at column x.
            Array.Copy(Pixels, ((y + row) * Width + x) * Channels, result.Pixels, row * rowBytes, rowBytes);
        }
        return result;
    }

    /// <summary>
    /// The classic classification preprocessing: <see cref="ResizeShortestSide"/>(<paramref name="size"/>), then
    /// <see cref="CenterCrop"/>(<paramref name="size"/>, <paramref name="size"/>). The result is
    /// <paramref name="size"/> × <paramref name="size"/>, undistorted; the ends of the longer side are lost.
    /// </summary>
    /// <param name="size">Side of the square result, e.g. 224.</param>
    public Image ResizeAndCenterCrop(int size) => ResizeShortestSide(size).CenterCrop(size, size);

    /// <summary>One input pixel index and the weight it contributes to an output pixel.</summary>
    private readonly record struct Tap(int Index, double Weight);

    /// <summary>For each of the <paramref name="output"/> pixels along one axis, the input pixels it mixes.</summary>
    private static Tap[][] AxisTaps(int input, int output) =>
        input > 2L * output ? AreaTaps(input, output) : BilinearTaps(input, output);

    private static Tap[][] BilinearTaps(int input, int output)
    {
        double scale = (double)input / output;
        var taps = new Tap[output][];
        for (int d = 0; d < output; d++)
        {
            // Centre of output pixel d, (d + 0.5), mapped into input units, minus the input centre offset 0.5.
            double s = Math.Clamp((d + 0.5) * scale - 0.5, 0, input - 1);
            int left = (int)Math.Floor(s);
            double f = s - left; // how far we are from `left` towards `left + 1`
            taps[d] = f == 0 ? [new Tap(left, 1)] : [new Tap(left, 1 - f), new Tap(left + 1, f)];
        }
        return taps;
    }

    private static Tap[][] AreaTaps(int input, int output)
    {
        double scale = (double)input / output; // input pixels per output pixel (> 2 here)
        var taps = new Tap[output][];
        var list = new List<Tap>();
        for (int d = 0; d < output; d++)
        {
            double start = d * scale, end = (d + 1) * scale;
            list.Clear();
            for (int i = (int)Math.Floor(start); i < Math.Min(input, (int)Math.Ceiling(end)); i++)
            {
                // Length of the overlap of input pixel [i, i + 1) with [start, end), as a share of the whole interval.
                double overlap = Math.Min(i + 1, end) - Math.Max(i, start);
                if (overlap > 1e-9)
                {
                    list.Add(new Tap(i, overlap / scale));
                }
            }
            taps[d] = [.. list];
        }
        return taps;
    }

    /// <summary>round(value · numerator / denominator), halves up, at least 1, in exact integer arithmetic.</summary>
    private static int ScaleRounded(int value, int numerator, int denominator) =>
        (int)Math.Max(1, ((long)value * numerator * 2 + denominator) / (2L * denominator));

    /// <summary>Rounds to the nearest integer (halves away from zero) and clamps to 0..255.</summary>
    private static byte ToByte(double value) =>
        double.IsNaN(value) ? (byte)0 : (byte)Math.Clamp(Math.Round(value, MidpointRounding.AwayFromZero), 0, 255);
}
