using System.Numerics;

namespace NetGen.Imaging;

public sealed partial class Image
{
    /// <summary>
    /// Converts the image to the input a network takes: a (C, H, W) tensor, flattened, with each byte scaled to
    /// [0, 1] as value / 255 (the same as torchvision's <c>ToTensor</c>).
    /// </summary>
    /// <remarks>
    /// "CHW" (planar) means all the red values first (row by row), then all the green, then all the blue:
    /// channel <c>c</c> of pixel (x, y) lands at index <c>c · H · W + y · W + x</c>. That is the layout a NetGen
    /// network declared with <c>[Input(C, H, W)]</c> reads. The image itself is stored interleaved ("HWC",
    /// see <see cref="Pixels"/>), so this is a transpose as well as a scaling. Mean/std normalisation, if a
    /// model wants it, is a separate step on the returned values.
    /// </remarks>
    /// <typeparam name="T">The element type, usually <see cref="float"/>.</typeparam>
    /// <returns>A new array of <see cref="Channels"/> · <see cref="Height"/> · <see cref="Width"/> values in [0, 1].</returns>
    public T[] ToTensor<T>() where T : IFloatingPoint<T>
    {
        // The 256 possible values, computed once: scaled[v] = v / 255.
        var scaled = new T[256];
        T max = T.CreateChecked(255);
        for (int v = 0; v < 256; v++)
        {
            scaled[v] = T.CreateChecked(v) / max;
        }

        int plane = Height * Width; // values per channel
        var tensor = new T[Channels * plane];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                int pixel = (y * Width + x) * Channels; // HWC source offset
                for (int c = 0; c < Channels; c++)
                {
                    tensor[c * plane + y * Width + x] = scaled[Pixels[pixel + c]];
                }
            }
        }
        return tensor;
    }

    /// <summary>
    /// The inverse of <see cref="ToTensor{T}"/>: builds an image from a flattened (C, H, W) tensor of values in
    /// [0, 1]. Each value becomes round(value · 255), clamped to 0..255 (NaN becomes 0).
    /// </summary>
    /// <param name="chw">channels · height · width values, index <c>c · H · W + y · W + x</c>.</param>
    /// <param name="channels">1, 3 or 4.</param>
    /// <param name="height">Number of rows.</param>
    /// <param name="width">Number of columns.</param>
    /// <exception cref="ArgumentException"><paramref name="chw"/> does not hold exactly channels · height · width values.</exception>
    public static Image FromTensor(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        var image = new Image(width, height, channels);
        int plane = height * width;
        if (chw.Length != image.Pixels.Length)
        {
            throw new ArgumentException(
                $"A ({channels}, {height}, {width}) tensor has {image.Pixels.Length} values, but {chw.Length} were given.", nameof(chw));
        }
        for (int c = 0; c < channels; c++)
        {
            for (int i = 0; i < plane; i++)
            {
                // i = y · W + x is both the position in the plane and the pixel number in the image.
                image.Pixels[i * channels + c] = ToByte(chw[c * plane + i] * 255.0);
            }
        }
        return image;
    }

    /// <summary>
    /// Converts to a 1-channel grey image using the ITU-R BT.601 luma weights:
    /// Y = 0.299 R + 0.587 G + 0.114 B, rounded. The weights sum to 1 (white stays 255) and follow the eye's
    /// sensitivity: green looks brightest, blue darkest. Alpha is dropped; a grey image is copied unchanged.
    /// </summary>
    public Image ToGrayscale()
    {
        if (Channels == 1)
        {
            return Clone();
        }
        var grey = new Image(Width, Height, 1);
        for (int i = 0; i < grey.Pixels.Length; i++)
        {
            int p = i * Channels;
            grey.Pixels[i] = ToByte(0.299 * Pixels[p] + 0.587 * Pixels[p + 1] + 0.114 * Pixels[p + 2]);
        }
        return grey;
    }

    /// <summary>
    /// Converts to a 3-channel RGB image, the input most networks expect: grey is copied into R, G and B;
    /// alpha is dropped (not blended with a background). An RGB image is copied unchanged.
    /// </summary>
    public Image ToRgb()
    {
        if (Channels == 3)
        {
            return Clone();
        }
        var rgb = new Image(Width, Height, 3);
        for (int i = 0; i < Width * Height; i++)
        {
            int p = i * Channels;
            rgb.Pixels[i * 3] = Pixels[p];
            rgb.Pixels[i * 3 + 1] = Channels == 1 ? Pixels[p] : Pixels[p + 1];
            rgb.Pixels[i * 3 + 2] = Channels == 1 ? Pixels[p] : Pixels[p + 2];
        }
        return rgb;
    }
}
