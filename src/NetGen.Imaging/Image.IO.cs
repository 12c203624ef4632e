using StbImageSharp;
using StbImageWriteSharp;
using ReadComponents = StbImageSharp.ColorComponents;
using WriteComponents = StbImageWriteSharp.ColorComponents;

namespace NetGen.Imaging;

public sealed partial class Image
{
    /// <summary>The file formats <see cref="Load(string)"/> can decode (those of stb_image).</summary>
    public const string SupportedFormats = "PNG, JPEG (baseline and progressive), BMP, GIF (first frame), TGA, PSD, HDR, PIC and PNM (PPM/PGM)";

    /// <summary>
    /// Loads an image file, keeping its channel count: a grey file gives 1 channel, RGB 3, RGBA 4
    /// (grey + alpha is widened to RGBA). 16-bit files are reduced to 8 bits per channel.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not an image in one of the <see cref="SupportedFormats"/>.</exception>
    public static Image Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            string where = Path.IsPathFullyQualified(path) ? "" : $" (full path '{Path.GetFullPath(path)}')";
            throw new FileNotFoundException($"Image file not found: '{path}'{where}.", path);
        }
        return Decode(File.ReadAllBytes(path), $"'{path}'");
    }

    /// <summary>Loads an image from a stream (read to its end), keeping its channel count as <see cref="Load(string)"/> does.</summary>
    /// <param name="stream">The encoded image (PNG, JPEG, …).</param>
    /// <exception cref="InvalidDataException">The data is not an image in one of the <see cref="SupportedFormats"/>.</exception>
    public static Image Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.ToArray(), "the stream");
    }

    /// <summary>Writes the image as a PNG file (lossless: loading it back gives the same bytes).</summary>
    /// <param name="path">The file to write; it is replaced atomically if it exists. Its directory must exist.</param>
    public void SavePng(string path) =>
        WriteAtomically(path, stream => new ImageWriter().WritePng(Pixels, Width, Height, WriterComponents(), stream));

    /// <summary>Writes the image as a JPEG file (lossy; an alpha channel is dropped).</summary>
    /// <param name="path">The file to write; it is replaced atomically if it exists. Its directory must exist.</param>
    /// <param name="quality">1 (smallest file) … 100 (best quality).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quality"/> is not in 1..100.</exception>
    public void SaveJpeg(string path, int quality = 90)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        WriteAtomically(path, stream => new ImageWriter().WriteJpg(Pixels, Width, Height, WriterComponents(), stream, quality));
    }

    private static Image Decode(byte[] data, string source)
    {
        if (data.Length == 0)
        {
            throw new InvalidDataException($"Cannot decode {source} as an image: it is empty. Supported formats: {SupportedFormats}.");
        }

        ImageResult result;
        try
        {
            // Default = keep the number of channels stored in the file.
            result = ImageResult.FromMemory(data, ReadComponents.Default);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // stb_image reports every decoding problem as a plain exception ("unknown image type", "bad huffman code", ...).
            throw new InvalidDataException(
                $"Cannot decode {source} as an image ({e.Message}). Supported formats: {SupportedFormats}.", e);
        }
        if (result is null || result.Data is null || result.Width <= 0 || result.Height <= 0)
        {
            throw new InvalidDataException($"Cannot decode {source} as an image. Supported formats: {SupportedFormats}.");
        }

        if (result.Comp == ReadComponents.GreyAlpha)
        {
            return new Image(result.Width, result.Height, 4, GreyAlphaToRgba(result.Data));
        }
        int channels = result.Comp switch
        {
            ReadComponents.Grey => 1,
            ReadComponents.RedGreenBlue => 3,
            ReadComponents.RedGreenBlueAlpha => 4,
            _ => throw new InvalidDataException($"Cannot decode {source}: unexpected channel layout {result.Comp}."),
        };
        return new Image(result.Width, result.Height, channels, result.Data);
    }

    /// <summary>(grey, alpha) pairs become (grey, grey, grey, alpha).</summary>
    private static byte[] GreyAlphaToRgba(byte[] greyAlpha)
    {
        var rgba = new byte[greyAlpha.Length * 2];
        for (int i = 0, o = 0; i < greyAlpha.Length; i += 2, o += 4)
        {
            rgba[o] = rgba[o + 1] = rgba[o + 2] = greyAlpha[i];
            rgba[o + 3] = greyAlpha[i + 1];
        }
        return rgba;
    }

    private WriteComponents WriterComponents() => Channels switch
    {
        1 => WriteComponents.Grey,
        3 => WriteComponents.RedGreenBlue,
        _ => WriteComponents.RedGreenBlueAlpha,
    };

    /// <summary>
    /// Writes to a temporary file in the target's directory, then renames it over the target, so a reader never
    /// sees a half-written file and a failed write leaves any previous file intact.
    /// </summary>
    private static void WriteAtomically(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath) ?? ".";
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
