using NetGen.Imaging;

namespace Module6.Generative;

/// <summary>Grey PNG grids of 28×28 digits.</summary>
public static class Grids
{
    /// <summary>Lays out <paramref name="rows"/> × <paramref name="columns"/> images of 28×28 values in [0, 1]
    /// (row-major, one after another) with a 2-pixel white gap, each pixel enlarged <paramref name="scale"/> times, and
    /// saves it as a PNG. Returns the path.</summary>
    public static string Save(string path, ReadOnlySpan<float> images, int rows, int columns, int scale = 2)
    {
        const int Side = 28, Gap = 2;
        int tile = Side * scale, width = columns * (tile + Gap) + Gap, height = rows * (tile + Gap) + Gap;
        var pixels = new float[width * height];
        Array.Fill(pixels, 1f);
        int count = Math.Min(rows * columns, images.Length / (Side * Side));
        for (int k = 0; k < count; k++)
        {
            int left = Gap + k % columns * (tile + Gap), top = Gap + k / columns * (tile + Gap);
            for (int y = 0; y < tile; y++)
                for (int x = 0; x < tile; x++)
                    pixels[(top + y) * width + left + x] = 1f - Math.Clamp(images[k * Side * Side + y / scale * Side + x / scale], 0f, 1f);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Image.FromTensor(pixels, 1, height, width).SavePng(path);
        return path;
    }

    /// <summary>"name.png (12,345 bytes)".</summary>
    public static string Describe(string path) => $"{Path.GetFileName(path)} ({new FileInfo(path).Length:N0} bytes)";
}
