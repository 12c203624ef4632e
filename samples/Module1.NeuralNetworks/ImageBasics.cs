using NetGen.Imaging;

namespace Module1.NeuralNetworks;

/// <summary>
/// Module 1, image fundamentals: what an image is to a program (width × height × channels bytes), how pixels are
/// addressed, the two ways of bringing an image to a network's fixed input size, and the tensor the network reads.
/// </summary>
public static class ImageBasics
{
    /// <summary>Network input side used throughout (the classic ImageNet size).</summary>
    private const int Size = 224;

    /// <summary>
    /// Walks through the image basics on <paramref name="file"/>, or on <see cref="DrawDemoImage"/> saved as
    /// <c>demo.png</c> when no file is given, writing the resized images into <paramref name="outputDirectory"/>.
    /// </summary>
    /// <param name="file">An image file (PNG, JPEG, BMP, …), or null for the demo image.</param>
    /// <param name="outputDirectory">Where the PNGs are written; created if missing.</param>
    /// <param name="output">Where the explanation is printed.</param>
    public static void Run(string? file, string outputDirectory, TextWriter output)
    {
        Directory.CreateDirectory(outputDirectory);
        output.WriteLine($"output directory: {Path.GetFullPath(outputDirectory)}");

        if (file is null)
        {
            file = Path.Combine(outputDirectory, "demo.png");
            DrawDemoImage().SavePng(file);
            output.WriteLine("no image given: drew a demo scene and saved it as demo.png");
        }
        Image image = Image.Load(file);

        // 1. An image is a grid of numbers: width × height pixels, each with `depth` channel bytes.
        output.WriteLine($"image: {image.Width} × {image.Height} × {image.Channels} (width × height × channels), "
            + $"{image.Pixels.Length} bytes");

        // 2. Addressing pixels: x is the column (from the left), y the row (from the top), origin top-left.
        int px = Math.Min(100, image.Width - 1), py = Math.Min(50, image.Height - 1);
        output.WriteLine($"pixel (x=0, y=0) = {Describe(image.Pixel(0, 0))}   (top-left corner)");
        output.WriteLine($"pixel (x={px}, y={py}) = {Describe(image.Pixel(px, py))}   (column {px}, row {py}; "
            + $"NumPy/OpenCV write image[{py}, {px}], row first{(image.Channels >= 3 ? ", and OpenCV lists B, G, R" : "")})");
        if (image.Width > py && image.Height > px)
        {
            output.WriteLine($"pixel (x={py}, y={px}) = {Describe(image.Pixel(py, px))}   (swapping x and y reads a different pixel)");
        }

        // 3a. Resize to the network's size, ignoring the aspect ratio: simple, but shapes get distorted.
        Image squashed = image.Resize(Size, Size);
        string distortion = image.Width == image.Height
            ? "the image is square, so nothing is distorted"
            : $"x scaled by {(double)Size / image.Width:0.###}, y by {(double)Size / image.Height:0.###}: circles become ellipses";
        Save(squashed, outputDirectory, "resized-224x224.png", output,
            $"resize ignoring aspect ratio: {image.Width} × {image.Height} → {squashed.Width} × {squashed.Height} ({distortion})");

        // 3b. Resize the shortest side, keeping the aspect ratio, then cut the centre square out.
        Image shortest = image.ResizeShortestSide(Size);
        Save(shortest, outputDirectory, "resized-shortest-224.png", output,
            $"resize shortest side to {Size}: {image.Width} × {image.Height} → {shortest.Width} × {shortest.Height} (aspect ratio kept)");
        Image crop = shortest.CenterCrop(Size, Size);
        Save(crop, outputDirectory, "center-crop-224x224.png", output,
            $"centre crop: {shortest.Width} × {shortest.Height} → {crop.Width} × {crop.Height} ({CropMargins(shortest, crop)})");

        // 4. The network's input: channels first (C, H, W), values scaled from 0..255 to [0, 1].
        Image rgb = crop.Channels == 3 ? crop : crop.ToRgb();
        if (crop.Channels != 3)
        {
            output.WriteLine($"converted {crop.Channels} channel(s) to RGB for the network");
        }
        float[] tensor = rgb.ToTensor<float>();
        int plane = rgb.Height * rgb.Width;
        output.WriteLine($"tensor: ({rgb.Channels}, {rgb.Height}, {rgb.Width}) = {tensor.Length} values in [0, 1], "
            + "index c·H·W + y·W + x");
        string[] names = ["R", "G", "B"];
        for (int c = 0; c < rgb.Channels; c++)
        {
            ReadOnlySpan<float> channel = tensor.AsSpan(c * plane, plane);
            float min = float.MaxValue, max = float.MinValue;
            double sum = 0;
            foreach (float v in channel)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
                sum += v;
            }
            output.WriteLine($"  {names[c]}: min {min:0.000}  max {max:0.000}  mean {sum / plane:0.000}");
        }
    }

    /// <summary>
    /// Draws a 640 × 480 RGB scene in code: a sky getting lighter towards the horizon, green ground getting darker
    /// towards the bottom, a yellow sun near the top-left corner (pixel (x=100, y=50) lies inside it) and a red
    /// square on the ground. Squashing to 224 × 224 turns the sun into an ellipse and the square into a rectangle;
    /// the centre crop keeps their shapes but cuts the left part of the sun off.
    /// </summary>
    public static Image DrawDemoImage()
    {
        const int width = 640, height = 480, horizon = 300;
        var image = new Image(width, height, 3);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                (byte r, byte g, byte b) colour;
                if ((x - 110) * (x - 110) + (y - 85) * (y - 85) <= 55 * 55)
                {
                    colour = (255, 210, 40); // sun: disc of radius 55 around (110, 85)
                }
                else if (x >= 400 && x < 520 && y >= 240 && y < 360)
                {
                    colour = (220, 30, 30); // red 120 × 120 square
                }
                else if (y < horizon)
                {
                    colour = Mix((40, 110, 200), (190, 225, 250), (double)y / horizon); // deep blue → pale at the horizon
                }
                else
                {
                    colour = Mix((90, 170, 70), (30, 90, 30), (double)(y - horizon) / (height - horizon)); // grass
                }
                image.SetPixel(x, y, colour.r, colour.g, colour.b);
            }
        }
        return image;
    }

    /// <summary>Linear interpolation between two colours: t = 0 gives <paramref name="a"/>, t = 1 gives <paramref name="b"/>.</summary>
    private static (byte, byte, byte) Mix((byte r, byte g, byte b) a, (byte r, byte g, byte b) b, double t) =>
        ((byte)Math.Round(a.r + (b.r - a.r) * t), (byte)Math.Round(a.g + (b.g - a.g) * t), (byte)Math.Round(a.b + (b.b - a.b) * t));

    /// <summary>What <see cref="Image.CenterCrop"/> removed: ⌊margin / 2⌋ before, the rest after.</summary>
    private static string CropMargins(Image before, Image after)
    {
        int columns = before.Width - after.Width, rows = before.Height - after.Height;
        var parts = new List<string>();
        if (columns > 0)
        {
            parts.Add($"{columns / 2} columns cut on the left, {columns - columns / 2} on the right");
        }
        if (rows > 0)
        {
            parts.Add($"{rows / 2} rows cut at the top, {rows - rows / 2} at the bottom");
        }
        return parts.Count == 0 ? "nothing cut" : string.Join("; ", parts);
    }

    private static string Describe(ReadOnlySpan<byte> pixel) => pixel.Length switch
    {
        1 => $"grey {pixel[0]}",
        3 => $"R {pixel[0]}, G {pixel[1]}, B {pixel[2]}",
        _ => $"R {pixel[0]}, G {pixel[1]}, B {pixel[2]}, A {pixel[3]}",
    };

    private static void Save(Image image, string directory, string name, TextWriter output, string message)
    {
        image.SavePng(Path.Combine(directory, name));
        output.WriteLine($"{message} → {name}");
    }
}
