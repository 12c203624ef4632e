using NetGen.Imaging;

namespace Module3.Cnn;

/// <summary>Lays out small single-channel maps (kernels, feature maps) as one grey PNG grid.</summary>
public static class FeatureImages
{
    /// <summary>Pixels between tiles and around the grid.</summary>
    public const int Gap = 2;

    /// <summary>At most this many tiles per row.</summary>
    public const int MaxColumns = 8;

    /// <summary>
    /// Builds a grid of <paramref name="count"/> maps of <paramref name="height"/> × <paramref name="width"/> values
    /// (stored one after another, row-major), each normalised on its own so that its minimum is black and its
    /// maximum white (a constant map is black), and enlarged <paramref name="scale"/> times by repeating pixels
    /// (nearest neighbour). Tiles are separated by <see cref="Gap"/> white pixels, up to <see cref="MaxColumns"/>
    /// tiles per row.
    /// </summary>
    public static Image Grid(ReadOnlySpan<float> maps, int count, int height, int width, int scale)
    {
        if (maps.Length != count * height * width)
            throw new ArgumentException($"{count} maps of {height} × {width} need {count * height * width} values, but {maps.Length} were given.", nameof(maps));
        var (columns, rows) = Layout(count);
        int tileH = height * scale, tileW = width * scale;
        int gridW = GridSide(columns, tileW), gridH = GridSide(rows, tileH);
        var pixels = new float[gridW * gridH];
        Array.Fill(pixels, 1f);   // white gaps
        for (int k = 0; k < count; k++)
        {
            ReadOnlySpan<float> map = maps.Slice(k * height * width, height * width);
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            foreach (float v in map) { min = Math.Min(min, v); max = Math.Max(max, v); }
            float range = max - min;
            int left = Gap + (k % columns) * (tileW + Gap), top = Gap + (k / columns) * (tileH + Gap);
            for (int y = 0; y < tileH; y++)
                for (int x = 0; x < tileW; x++)
                {
                    float v = map[(y / scale) * width + x / scale];
                    pixels[(top + y) * gridW + left + x] = range > 0 ? (v - min) / range : 0f;
                }
        }
        return Image.FromTensor(pixels, 1, gridH, gridW);
    }

    /// <summary>The grid's size in pixels for <paramref name="count"/> tiles of the given size (for checking).</summary>
    public static (int Width, int Height) GridSize(int count, int tileHeight, int tileWidth)
    {
        var (columns, rows) = Layout(count);
        return (GridSide(columns, tileWidth), GridSide(rows, tileHeight));
    }

    private static (int Columns, int Rows) Layout(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int columns = Math.Min(count, MaxColumns);
        return (columns, (count + columns - 1) / columns);
    }

    private static int GridSide(int tiles, int tile) => tiles * tile + (tiles + 1) * Gap;
}
