using System.Globalization;

namespace Module3.Cnn;

/// <summary>
/// The lecture's hand computations (edge detection by convolution, max and average pooling, cross-correlation
/// versus convolution, parameter counts), each computed by a generated network whose weights are set by hand.
/// </summary>
public static class Convolutions
{
    /// <summary>The vertical-edge kernel: +1 on the left column, −1 on the right.</summary>
    public static readonly double[,] VerticalKernel = { { 1, 0, -1 }, { 1, 0, -1 }, { 1, 0, -1 } };

    /// <summary>The horizontal-edge kernel: +1 on the top row, −1 on the bottom.</summary>
    public static readonly double[,] HorizontalKernel = { { 1, 1, 1 }, { 0, 0, 0 }, { -1, -1, -1 } };

    /// <summary>An asymmetric kernel: every entry differs, so its 180° rotation is a different kernel.</summary>
    public static readonly double[,] AsymmetricKernel = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } };

    /// <summary>A 6×6 image whose left half is 10 (bright) and right half 0 (dark).</summary>
    public static double[,] BrightLeft() => Image6x6((_, c) => c < 3 ? 10 : 0);

    /// <summary>The mirror image: left half 0, right half 10.</summary>
    public static double[,] BrightRight() => Image6x6((_, c) => c < 3 ? 0 : 10);

    /// <summary>Four 3×3 quadrants, bright (10) top-left and bottom-right, dark (0) top-right and bottom-left.</summary>
    public static double[,] Quadrants() => Image6x6((r, c) => (r < 3) == (c < 3) ? 10 : 0);

    /// <summary>The pooling examples' 4×4 inputs.</summary>
    public static readonly double[,] MaxPoolInput = { { 1, 3, 2, 1 }, { 2, 9, 1, 1 }, { 1, 3, 2, 3 }, { 5, 6, 1, 2 } };

    /// <inheritdoc cref="MaxPoolInput"/>
    public static readonly double[,] AvgPoolInput = { { 1, 3, 2, 1 }, { 2, 9, 1, 1 }, { 1, 4, 2, 3 }, { 5, 6, 1, 2 } };

    /// <summary>Prints every computation of the <c>convolve</c> subcommand.</summary>
    public static void Run(TextWriter o)
    {
        o.WriteLine("== Convolution by hand, computed by generated networks");
        o.WriteLine($"A [Conv2D(1, Kernel = 3, Bias = false)] layer on a 6×6 input: output (6 − 3)/1 + 1 = 4, so 4×4 (no padding, stride 1).");
        o.WriteLine("The kernel is set through the generated view Conv2D1Weights; Forward computes the rest.");
        o.WriteLine();

        o.WriteLine("Vertical edge detector: bright on the left, dark on the right gives a strong positive response where the");
        o.WriteLine("window straddles the edge (columns 1 and 2) and 0 where the window sees a flat region:");
        var bright = BrightLeft();
        o.WriteLine(SideBySide(("image (6×6)", bright), ("⋆ kernel (3×3)", VerticalKernel), ("= output (4×4)", CrossCorrelate(bright, VerticalKernel))));
        o.WriteLine("The mirrored image (dark to bright) gives the same edge with the opposite sign:");
        var dark = BrightRight();
        o.WriteLine(SideBySide(("image (6×6)", dark), ("⋆ kernel (3×3)", VerticalKernel), ("= output (4×4)", CrossCorrelate(dark, VerticalKernel))));

        o.WriteLine("Horizontal edge detector on four quadrants (bright top-left and bottom-right): the middle rows see the");
        o.WriteLine("horizontal edge; its sign flips from left (bright above dark) to right (dark above bright), and the");
        o.WriteLine("columns whose window straddles the vertical boundary see a mix (10 and −10):");
        var quadrants = Quadrants();
        o.WriteLine(SideBySide(("image (6×6)", quadrants), ("⋆ kernel (3×3)", HorizontalKernel), ("= output (4×4)", CrossCorrelate(quadrants, HorizontalKernel))));

        o.WriteLine("== Pooling: 2×2 windows, stride 2 (a [MaxPool(2)] / [AvgPool(2)] network on a 4×4 input)");
        o.WriteLine(SideBySide(("input (4×4)", MaxPoolInput), ("→ max pooling (2×2)", MaxPool(MaxPoolInput))));
        o.WriteLine(SideBySide(("input (4×4)", AvgPoolInput), ("→ average pooling (2×2)", AvgPool(AvgPoolInput))));

        o.WriteLine("== Cross-correlation versus convolution");
        o.WriteLine("NetGen, like PyTorch, TensorFlow and every other framework, computes the cross-correlation");
        o.WriteLine("  y[i, j] = Σ_u Σ_v w[u, v] · x[i + u, j + v]");
        o.WriteLine("and calls it convolution. The true (mathematical) convolution flips the kernel:");
        o.WriteLine("  y[i, j] = Σ_u Σ_v w[u, v] · x[i + 2 − u, j + 2 − v]   (3×3 kernel)");
        o.WriteLine("For a symmetric kernel the two agree; for an asymmetric one they differ. A single bright pixel shows it:");
        o.WriteLine("cross-correlation stamps the kernel rotated by 180°, convolution stamps the kernel itself.");
        var impulse = new double[5, 5];
        impulse[2, 2] = 1;
        var impulseCorrelation = CrossCorrelateSame(impulse, AsymmetricKernel);
        var impulseConvolution = Convolve(Pad(impulse, 1), AsymmetricKernel);
        o.WriteLine(SideBySide(("impulse (5×5)", impulse), ("kernel w", AsymmetricKernel),
            ("cross-correlation (network)", impulseCorrelation), ("convolution (by hand)", impulseConvolution)));

        o.WriteLine("On the quadrant image (padding 0) the two results differ as well:");
        var correlation = CrossCorrelate(quadrants, AsymmetricKernel);
        var convolution = Convolve(quadrants, AsymmetricKernel);
        var flipped = Rotate180(AsymmetricKernel);
        var correlationWithFlipped = CrossCorrelate(quadrants, flipped);
        o.WriteLine(SideBySide(("cross-correlation with w", correlation), ("convolution with w (by hand)", convolution)));
        o.WriteLine("Convolution is cross-correlation with the kernel flipped (rotated 180°): the network given the flipped");
        o.WriteLine("kernel reproduces the hand-computed convolution exactly.");
        o.WriteLine(SideBySide(("flipped kernel rot180(w)", flipped), ("cross-correlation with rot180(w)", correlationWithFlipped)));
        o.WriteLine($"cross-correlation with w equals convolution with w: {SameValues(correlation, convolution)}");
        o.WriteLine($"cross-correlation with rot180(w) equals convolution with w: {SameValues(correlationWithFlipped, convolution)}");
        o.WriteLine("Since a network learns its kernels, it simply learns the flipped kernel: for training the difference does not matter.");
        o.WriteLine();

        o.WriteLine("== Parameters of a convolution layer");
        o.WriteLine("32 kernels of 3×3 over a 3-channel (RGB) input: each kernel has 3·3·3 = 27 weights and 1 bias, so");
        o.WriteLine($"32 × (27 + 1) = {32 * (3 * 3 * 3 + 1)}; the generated network reports ParameterCount = {Conv32On3Channels.ParameterCount}");
        o.WriteLine("(independent of the image size: the same kernels slide over every position).");
        o.WriteLine(Conv32On3Channels.Summary);
    }

    /// <summary>Cross-correlates a 6×6 image with a 3×3 kernel (no padding) by a generated <see cref="Convolve6x6"/> network.</summary>
    public static double[,] CrossCorrelate(double[,] image, double[,] kernel)
    {
        var net = new Convolve6x6();
        Flatten(kernel).CopyTo(net.Conv2D1Weights);   // [1 filter × 1 channel × 3 × 3], row-major
        return Unflatten(net.Forward(Flatten(image)), 4, 4);
    }

    /// <summary>Cross-correlates a 5×5 image with a 3×3 kernel, padding 1 ("same"), by a generated <see cref="Impulse5x5"/> network.</summary>
    public static double[,] CrossCorrelateSame(double[,] image, double[,] kernel)
    {
        var net = new Impulse5x5();
        Flatten(kernel).CopyTo(net.Conv2D1Weights);
        return Unflatten(net.Forward(Flatten(image)), 5, 5);
    }

    /// <summary>2×2 max pooling, stride 2, of a 4×4 input by a generated <see cref="MaxPool4x4"/> network.</summary>
    public static double[,] MaxPool(double[,] input) => Unflatten(new MaxPool4x4().Forward(Flatten(input)), 2, 2);

    /// <summary>2×2 average pooling, stride 2, of a 4×4 input by a generated <see cref="AvgPool4x4"/> network.</summary>
    public static double[,] AvgPool(double[,] input) => Unflatten(new AvgPool4x4().Forward(Flatten(input)), 2, 2);

    /// <summary>The true convolution (valid, stride 1), written out by hand as the formula reads.</summary>
    public static double[,] Convolve(double[,] image, double[,] kernel)
    {
        int kh = kernel.GetLength(0), kw = kernel.GetLength(1);
        int h = image.GetLength(0) - kh + 1, w = image.GetLength(1) - kw + 1;
        var y = new double[h, w];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                double sum = 0;
                for (int u = 0; u < kh; u++)
                    for (int v = 0; v < kw; v++)
                        sum += kernel[u, v] * image[i + kh - 1 - u, j + kw - 1 - v];
                y[i, j] = sum;
            }
        return y;
    }

    /// <summary>The kernel rotated by 180° (flipped up–down and left–right).</summary>
    public static double[,] Rotate180(double[,] kernel)
    {
        int h = kernel.GetLength(0), w = kernel.GetLength(1);
        var r = new double[h, w];
        for (int u = 0; u < h; u++)
            for (int v = 0; v < w; v++)
                r[u, v] = kernel[h - 1 - u, w - 1 - v];
        return r;
    }

    /// <summary>Formats a matrix as one bracketed row per line, right-aligned: <c>[30, 10, -10, -30]</c>.</summary>
    public static string[] Format(double[,] m)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1);
        var cells = new string[rows, cols];
        int width = 1;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double v = m[r, c] == 0 ? 0 : m[r, c];   // no "-0"
                cells[r, c] = v.ToString("0.##", CultureInfo.InvariantCulture);
                width = Math.Max(width, cells[r, c].Length);
            }
        var lines = new string[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = new string[cols];
            for (int c = 0; c < cols; c++) row[c] = cells[r, c].PadLeft(width);
            lines[r] = "[" + string.Join(", ", row) + "]";
        }
        return lines;
    }

    /// <summary>Prints titled matrices next to each other, top-aligned.</summary>
    private static string SideBySide(params (string Title, double[,] Matrix)[] blocks)
    {
        var columns = blocks.Select(b => new[] { b.Title }.Concat(Format(b.Matrix)).ToArray()).ToArray();
        var widths = columns.Select(c => c.Max(line => line.Length)).ToArray();
        int height = columns.Max(c => c.Length);
        var text = new System.Text.StringBuilder();
        for (int line = 0; line < height; line++)
        {
            var parts = columns.Select((c, k) => (line < c.Length ? c[line] : "").PadRight(widths[k]));
            text.Append("  ").AppendLine(string.Join("    ", parts).TrimEnd());
        }
        return text.ToString();
    }

    private static double[,] Image6x6(Func<int, int, double> pixel)
    {
        var image = new double[6, 6];
        for (int r = 0; r < 6; r++)
            for (int c = 0; c < 6; c++)
                image[r, c] = pixel(r, c);
        return image;
    }

    private static double[,] Pad(double[,] image, int p)
    {
        var padded = new double[image.GetLength(0) + 2 * p, image.GetLength(1) + 2 * p];
        for (int r = 0; r < image.GetLength(0); r++)
            for (int c = 0; c < image.GetLength(1); c++)
                padded[r + p, c + p] = image[r, c];
        return padded;
    }

    private static bool SameValues(double[,] a, double[,] b) => Flatten(a).SequenceEqual(Flatten(b));

    private static double[] Flatten(double[,] m) => m.Cast<double>().ToArray();   // row-major

    private static double[,] Unflatten(ReadOnlySpan<double> values, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                m[r, c] = values[r * cols + c];
        return m;
    }
}
