namespace NetGen.Imaging;

/// <summary>
/// An 8-bit image: <see cref="Width"/> × <see cref="Height"/> pixels with <see cref="Channels"/> bytes each
/// (1 = grey, 3 = RGB, 4 = RGBA), stored row by row in <see cref="Pixels"/>.
/// </summary>
/// <remarks>
/// <para><b>Coordinates.</b> The origin (0, 0) is the <b>top-left</b> corner. <c>x</c> is the <b>column</b>,
/// 0 … <see cref="Width"/> − 1 from left to right; <c>y</c> is the <b>row</b>, 0 … <see cref="Height"/> − 1
/// from top to bottom (y grows <i>downwards</i>, unlike in a maths plot). This API takes the pair in the
/// order of a point, <c>Pixel(x, y)</c>. An array library indexes the same pixel the other way round,
/// row first: NumPy and OpenCV write <c>image[y, x]</c>, because the image is a (height, width, channels)
/// array. <c>Pixel(100, 50)</c> here is <c>image[50, 100]</c> there.</para>
/// <para><b>Memory layout.</b> "HWC", row-major: the bytes of row 0 come first, left to right, each pixel's
/// channels next to each other (R, G, B, R, G, B, …). Channel <c>c</c> of pixel (x, y) is
/// <c>Pixels[(y * Width + x) * Channels + c]</c>. A network instead takes "CHW" (planar) input: see
/// <see cref="ToTensor{T}"/>.</para>
/// <para><b>Channel order.</b> Colour images are RGB (red first), as in PNG/JPEG files, PIL and torchvision.
/// OpenCV's <c>imread</c> returns <b>BGR</b> (blue first): its pixel <c>[b, g, r]</c> is <c>[r, g, b]</c> here.</para>
/// </remarks>
public sealed partial class Image
{
    /// <summary>Creates a black (all-zero) image.</summary>
    /// <param name="width">Number of columns, at least 1.</param>
    /// <param name="height">Number of rows, at least 1.</param>
    /// <param name="channels">Bytes per pixel: 1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, the channel count is not 1, 3 or 4,
    /// or the image would be too large for one array.</exception>
    public Image(int width, int height, int channels)
        : this(width, height, channels, new byte[CheckedLength(width, height, channels)])
    {
    }

    /// <summary>Wraps existing pixel bytes (HWC order, see <see cref="Image"/>) without copying them.</summary>
    /// <param name="width">Number of columns, at least 1.</param>
    /// <param name="height">Number of rows, at least 1.</param>
    /// <param name="channels">Bytes per pixel: 1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <param name="pixels">Exactly <paramref name="width"/> × <paramref name="height"/> × <paramref name="channels"/> bytes;
    /// the image uses this array, so later changes to it show in the image.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the channel count is not 1, 3 or 4.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> has the wrong length.</exception>
    public Image(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        int length = CheckedLength(width, height, channels);
        if (pixels.Length != length)
        {
            throw new ArgumentException(
                $"A {width} × {height} × {channels} image needs {length} bytes, but {pixels.Length} were given.", nameof(pixels));
        }
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Number of columns (the range of <c>x</c> is 0 … Width − 1).</summary>
    public int Width { get; }

    /// <summary>Number of rows (the range of <c>y</c> is 0 … Height − 1).</summary>
    public int Height { get; }

    /// <summary>Bytes per pixel, the image's "depth": 1 (grey), 3 (RGB) or 4 (RGBA).</summary>
    public int Channels { get; }

    /// <summary>The pixel bytes, row-major HWC: channel <c>c</c> of pixel (x, y) is at <c>(y * Width + x) * Channels + c</c>.</summary>
    public byte[] Pixels { get; }

    /// <summary>The channel values of the pixel in column <paramref name="x"/>, row <paramref name="y"/>
    /// (origin top-left), e.g. [R, G, B] for an RGB image. Same as <see cref="Pixel"/>.</summary>
    /// <param name="x">Column, 0 … <see cref="Width"/> − 1 (left to right).</param>
    /// <param name="y">Row, 0 … <see cref="Height"/> − 1 (top to bottom).</param>
    /// <exception cref="ArgumentOutOfRangeException">The pixel is outside the image.</exception>
    public ReadOnlySpan<byte> this[int x, int y] => Pixel(x, y);

    /// <summary>Reads or writes one channel of one pixel.</summary>
    /// <param name="x">Column, 0 … <see cref="Width"/> − 1 (left to right).</param>
    /// <param name="y">Row, 0 … <see cref="Height"/> − 1 (top to bottom).</param>
    /// <param name="channel">Channel, 0 … <see cref="Channels"/> − 1 (0 = R, 1 = G, 2 = B, 3 = A for colour images).</param>
    /// <exception cref="ArgumentOutOfRangeException">A coordinate or the channel is out of range.</exception>
    public byte this[int x, int y, int channel]
    {
        get => Pixels[Offset(x, y) + CheckChannel(channel)];
        set => Pixels[Offset(x, y) + CheckChannel(channel)] = value;
    }

    /// <summary>
    /// The channel values of the pixel in column <paramref name="x"/>, row <paramref name="y"/>:
    /// [grey], [R, G, B] or [R, G, B, A]. The origin (0, 0) is the top-left corner.
    /// NumPy/OpenCV would write this pixel as <c>image[y, x]</c> (row first), and OpenCV lists it as B, G, R.
    /// </summary>
    /// <param name="x">Column, 0 … <see cref="Width"/> − 1 (left to right).</param>
    /// <param name="y">Row, 0 … <see cref="Height"/> − 1 (top to bottom).</param>
    /// <returns>A view of <see cref="Channels"/> bytes inside <see cref="Pixels"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The pixel is outside the image.</exception>
    public ReadOnlySpan<byte> Pixel(int x, int y) => new(Pixels, Offset(x, y), Channels);

    /// <summary>Sets the pixel in column <paramref name="x"/>, row <paramref name="y"/>, e.g. <c>SetPixel(x, y, 255, 0, 0)</c> for red.</summary>
    /// <param name="x">Column, 0 … <see cref="Width"/> − 1 (left to right).</param>
    /// <param name="y">Row, 0 … <see cref="Height"/> − 1 (top to bottom).</param>
    /// <param name="values">Exactly <see cref="Channels"/> values.</param>
    /// <exception cref="ArgumentOutOfRangeException">The pixel is outside the image.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> does not hold one value per channel.</exception>
    public void SetPixel(int x, int y, params ReadOnlySpan<byte> values)
    {
        if (values.Length != Channels)
        {
            throw new ArgumentException($"This image has {Channels} channel(s) per pixel, but {values.Length} value(s) were given.", nameof(values));
        }
        values.CopyTo(Pixels.AsSpan(Offset(x, y), Channels));
    }

    /// <summary>Returns an independent copy of this image.</summary>
    public Image Clone() => new(Width, Height, Channels, (byte[])Pixels.Clone());

    /// <summary>Describes the image as <c>width × height × channels</c>.</summary>
    public override string ToString() => $"{Width} × {Height} × {Channels}";

    /// <summary>Index of the first byte of pixel (x, y) in <see cref="Pixels"/>: skip y whole rows, then x pixels.</summary>
    private int Offset(int x, int y)
    {
        if ((uint)x >= (uint)Width)
        {
            throw new ArgumentOutOfRangeException(nameof(x), x,
                $"x is the column and must be in 0..{Width - 1} (the image is {Width} pixels wide).");
        }
        if ((uint)y >= (uint)Height)
        {
            throw new ArgumentOutOfRangeException(nameof(y), y,
                $"y is the row and must be in 0..{Height - 1} (the image is {Height} pixels high).");
        }
        return (y * Width + x) * Channels;
    }

    private int CheckChannel(int channel)
    {
        if ((uint)channel >= (uint)Channels)
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel,
                $"channel must be in 0..{Channels - 1} (the image has {Channels} channel(s)).");
        }
        return channel;
    }

    /// <summary>Validates a size and returns the number of bytes it needs.</summary>
    private static int CheckedLength(int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (channels is not (1 or 3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grey), 3 (RGB) or 4 (RGBA).");
        }
        long length = (long)width * height * channels;
        if (length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width} × {height} × {channels} image is too large ({length} bytes).");
        }
        return (int)length;
    }
}
