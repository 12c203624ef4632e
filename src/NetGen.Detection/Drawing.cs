using NetGen.Imaging;

namespace NetGen.Detection;

/// <summary>
/// Drawing for detection results: grayscale canvases as RGB images, boxes, labels in a built-in 5 × 7 pixel font,
/// mosaics, and precision–recall curves, saved with <see cref="Image.SavePng"/>. Nothing beyond NetGen.Imaging.
/// </summary>
public static class Drawing
{
    /// <summary>Distinct colours, one per class (cycled).</summary>
    public static readonly (byte R, byte G, byte B)[] Palette =
    [
        (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
        (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    ];

    /// <summary>A grayscale image (values in [0, 1], row-major) as an RGB image enlarged <paramref name="scale"/> times.</summary>
    public static Image FromGrayscale(ReadOnlySpan<float> pixels, int width, int height, int scale = 4)
    {
        if (pixels.Length != width * height) throw new ArgumentException($"{pixels.Length} values are not a {width}×{height} image.", nameof(pixels));
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale is at least 1.");
        var image = new Image(width * scale, height * scale, 3);
        for (int y = 0; y < height * scale; y++)
            for (int x = 0; x < width * scale; x++)
            {
                byte v = (byte)Math.Clamp((int)MathF.Round(pixels[y / scale * width + x / scale] * 255), 0, 255);
                int o = (y * image.Width + x) * 3;
                image.Pixels[o] = image.Pixels[o + 1] = image.Pixels[o + 2] = v;
            }
        return image;
    }

    /// <summary>Sets one pixel if it is inside the image.</summary>
    public static void Plot(Image image, int x, int y, (byte R, byte G, byte B) color)
    {
        if (x < 0 || y < 0 || x >= image.Width || y >= image.Height || image.Channels < 3) return;
        int o = (y * image.Width + x) * image.Channels;
        image.Pixels[o] = color.R; image.Pixels[o + 1] = color.G; image.Pixels[o + 2] = color.B;
    }

    /// <summary>A rectangle outline (pixel coordinates), <paramref name="thickness"/> pixels wide, dashed if asked.</summary>
    public static void DrawBox(Image image, Box box, (byte R, byte G, byte B) color, int thickness = 1, bool dashed = false)
    {
        int x1 = (int)MathF.Round(box.X1), y1 = (int)MathF.Round(box.Y1), x2 = (int)MathF.Round(box.X2), y2 = (int)MathF.Round(box.Y2);
        for (int t = 0; t < thickness; t++)
        {
            for (int x = x1; x <= x2; x++)
                if (!dashed || (x / 3) % 2 == 0) { Plot(image, x, y1 + t, color); Plot(image, x, y2 - t, color); }
            for (int y = y1; y <= y2; y++)
                if (!dashed || (y / 3) % 2 == 0) { Plot(image, x1 + t, y, color); Plot(image, x2 - t, y, color); }
        }
    }

    /// <summary>A straight line (Bresenham).</summary>
    public static void DrawLine(Image image, int x0, int y0, int x1, int y1, (byte R, byte G, byte B) color)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            Plot(image, x0, y0, color);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// <summary>Text in the 5 × 7 font (letters, digits and . : - = @ [ ] ( ) / %; lower case is drawn as upper case),
    /// top-left at (x, y), each font pixel <paramref name="scale"/> pixels, on a filled background when given.</summary>
    public static void DrawText(Image image, int x, int y, string text, (byte R, byte G, byte B) color, int scale = 1, (byte R, byte G, byte B)? background = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (background is { } bg)
            for (int yy = y - 1; yy < y + 8 * scale; yy++)
                for (int xx = x - 1; xx < x + text.Length * 6 * scale; xx++) Plot(image, xx, yy, bg);
        for (int i = 0; i < text.Length; i++)
        {
            var glyph = Glyph(text[i]);
            for (int col = 0; col < 5; col++)
                for (int row = 0; row < 7; row++)
                    if ((glyph[col] >> row & 1) != 0)
                        for (int a = 0; a < scale; a++)
                            for (int b = 0; b < scale; b++) Plot(image, x + (i * 6 + col) * scale + a, y + row * scale + b, color);
        }
    }

    /// <summary>Draws ground truth (white, dashed) and detections (class colour, "class score" label) on an image of a
    /// canvas (any enlargement); boxes in [0, 1].</summary>
    public static void DrawDetections(Image image, IEnumerable<DetectedBox> detections, IEnumerable<DetectedBox> truth, IReadOnlyList<string>? classNames = null)
    {
        float sx = image.Width, sy = image.Height;
        foreach (var g in truth) DrawBox(image, g.Box.Scale(sx, sy), (255, 255, 255), 1, dashed: true);
        foreach (var d in detections)
        {
            var color = Palette[d.Class % Palette.Length];
            var box = d.Box.Scale(sx, sy);
            DrawBox(image, box, color, 2);
            string name = classNames is null ? d.Class.ToString(System.Globalization.CultureInfo.InvariantCulture) : classNames[d.Class];
            string label = name + " " + d.Score.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
            int ty = (int)box.Y1 - 10 < 0 ? (int)box.Y2 + 2 : (int)box.Y1 - 10;
            DrawText(image, Math.Max((int)box.X1, 1), ty, label, (0, 0, 0), 1, color);
        }
    }

    /// <summary>Images side by side in rows of <paramref name="columns"/>, with a gap.</summary>
    public static Image Mosaic(IReadOnlyList<Image> images, int columns, int gap = 4)
    {
        if (images.Count == 0) throw new ArgumentException("No images to arrange.", nameof(images));
        int w = images.Max(i => i.Width), h = images.Max(i => i.Height), rows = (images.Count + columns - 1) / columns;
        var mosaic = new Image(columns * (w + gap) + gap, rows * (h + gap) + gap, 3);
        mosaic.Pixels.AsSpan().Fill(40);
        for (int k = 0; k < images.Count; k++)
        {
            int ox = gap + k % columns * (w + gap), oy = gap + k / columns * (h + gap);
            var im = images[k];
            for (int y = 0; y < im.Height; y++)
                for (int x = 0; x < im.Width; x++)
                {
                    var p = im.Pixel(x, y);
                    Plot(mosaic, ox + x, oy + y, p.Length >= 3 ? (p[0], p[1], p[2]) : (p[0], p[0], p[0]));
                }
        }
        return mosaic;
    }

    /// <summary>The precision–recall curve of every class with ground truth at IoU <paramref name="iouThreshold"/>, with
    /// each class's AP in the legend, as an image (recall right, precision up).</summary>
    public static Image PrecisionRecallCurve(DetectionEvaluator evaluator, double iouThreshold = 0.5, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        const int size = 400, left = 50, top = 30, plot = 320;
        var image = new Image(size + 170, size + 20, 3);
        image.Pixels.AsSpan().Fill(255);
        (byte, byte, byte) black = (0, 0, 0), grid = (220, 220, 220);
        for (int k = 0; k <= 10; k++)
        {
            int gx = left + plot * k / 10, gy = top + plot - plot * k / 10;
            DrawLine(image, gx, top, gx, top + plot, grid);
            DrawLine(image, left, gy, left + plot, gy, grid);
        }
        DrawLine(image, left, top + plot, left + plot, top + plot, black);
        DrawLine(image, left, top, left, top + plot, black);
        for (int k = 0; k <= 10; k += 2)
        {
            string v = (k / 10.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
            DrawText(image, left + plot * k / 10 - 8, top + plot + 5, v, black);
            DrawText(image, left - 24, top + plot - plot * k / 10 - 3, v, black);
        }
        DrawText(image, left + plot / 2 - 18, top + plot + 18, "RECALL", black);
        DrawText(image, 4, 8, "PRECISION", black);
        DrawText(image, left + 60, 8, FormattableString.Invariant($"PR CURVES AT IOU {iouThreshold:0.00}  MAP {evaluator.MeanAveragePrecision(iouThreshold):0.000}"), black);
        int legend = 0;
        for (int c = 0; c < evaluator.Classes; c++)
        {
            var (precision, recall, positives) = evaluator.PrecisionRecall(c, iouThreshold);
            if (positives == 0) continue;
            var color = Palette[c % Palette.Length];
            int px = left, py = top;   // the curve starts at (0, first precision)
            for (int i = 0; i < precision.Length; i++)
            {
                int x = left + (int)Math.Round(recall[i] * plot), y = top + plot - (int)Math.Round(precision[i] * plot);
                if (i > 0) DrawLine(image, px, py, x, y, color);
                px = x; py = y;
            }
            string name = classNames is null ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : classNames[c];
            double ap = DetectionEvaluator.AllPointAp(precision, recall);
            for (int t = 0; t < 3; t++) DrawLine(image, left + plot + 20, top + 10 + legend * 14 + t, left + plot + 40, top + 10 + legend * 14 + t, color);
            DrawText(image, left + plot + 46, top + 8 + legend * 14, FormattableString.Invariant($"{name} AP {ap:0.000}"), black);
            legend++;
        }
        return image;
    }

    private static byte[] Glyph(char c)
    {
        c = char.ToUpperInvariant(c);
        if (c is >= '0' and <= '9') return Digits[c - '0'];
        if (c is >= 'A' and <= 'Z') return Letters[c - 'A'];
        return c switch
        {
            '.' => [0x00, 0x60, 0x60, 0x00, 0x00],
            ':' => [0x00, 0x36, 0x36, 0x00, 0x00],
            '-' => [0x08, 0x08, 0x08, 0x08, 0x08],
            '=' => [0x14, 0x14, 0x14, 0x14, 0x14],
            '@' => [0x32, 0x49, 0x79, 0x41, 0x3E],
            '[' => [0x00, 0x7F, 0x41, 0x41, 0x00],
            ']' => [0x00, 0x41, 0x41, 0x7F, 0x00],
            '(' => [0x00, 0x1C, 0x22, 0x41, 0x00],
            ')' => [0x00, 0x41, 0x22, 0x1C, 0x00],
            '/' => [0x20, 0x10, 0x08, 0x04, 0x02],
            '%' => [0x23, 0x13, 0x08, 0x64, 0x62],
            _ => [0, 0, 0, 0, 0],
        };
    }

    // The classic 5 × 7 font, one byte per column, bit 0 at the top.
    private static readonly byte[][] Digits =
    [
        [0x3E, 0x51, 0x49, 0x45, 0x3E], [0x00, 0x42, 0x7F, 0x40, 0x00], [0x42, 0x61, 0x51, 0x49, 0x46], [0x21, 0x41, 0x45, 0x4B, 0x31],
        [0x18, 0x14, 0x12, 0x7F, 0x10], [0x27, 0x45, 0x45, 0x45, 0x39], [0x3C, 0x4A, 0x49, 0x49, 0x30], [0x01, 0x71, 0x09, 0x05, 0x03],
        [0x36, 0x49, 0x49, 0x49, 0x36], [0x06, 0x49, 0x49, 0x29, 0x1E],
    ];

    private static readonly byte[][] Letters =
    [
        [0x7E, 0x11, 0x11, 0x11, 0x7E], [0x7F, 0x49, 0x49, 0x49, 0x36], [0x3E, 0x41, 0x41, 0x41, 0x22], [0x7F, 0x41, 0x41, 0x22, 0x1C],
        [0x7F, 0x49, 0x49, 0x49, 0x41], [0x7F, 0x09, 0x09, 0x09, 0x01], [0x3E, 0x41, 0x49, 0x49, 0x7A], [0x7F, 0x08, 0x08, 0x08, 0x7F],
        [0x00, 0x41, 0x7F, 0x41, 0x00], [0x20, 0x40, 0x41, 0x3F, 0x01], [0x7F, 0x08, 0x14, 0x22, 0x41], [0x7F, 0x40, 0x40, 0x40, 0x40],
        [0x7F, 0x02, 0x0C, 0x02, 0x7F], [0x7F, 0x04, 0x08, 0x10, 0x7F], [0x3E, 0x41, 0x41, 0x41, 0x3E], [0x7F, 0x09, 0x09, 0x09, 0x06],
        [0x3E, 0x41, 0x51, 0x21, 0x5E], [0x7F, 0x09, 0x19, 0x29, 0x46], [0x46, 0x49, 0x49, 0x49, 0x31], [0x01, 0x01, 0x7F, 0x01, 0x01],
        [0x3F, 0x40, 0x40, 0x40, 0x3F], [0x1F, 0x20, 0x40, 0x20, 0x1F], [0x3F, 0x40, 0x38, 0x40, 0x3F], [0x63, 0x14, 0x08, 0x14, 0x63],
        [0x07, 0x08, 0x70, 0x08, 0x07], [0x61, 0x51, 0x49, 0x45, 0x43],
    ];
}
