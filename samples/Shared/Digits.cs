using NetGen;
using NetGen.Imaging;

namespace NetGen.Samples.Digits;

// The digit reader shared by the deploy samples (samples/Deploy, samples/DigitsWeb): one LeNet declaration, the
// weights it was trained to (samples/Shared/lenet-mnist.safetensors, embedded in each app), and the preprocessing
// that turns any picture of a digit into what MNIST-trained networks expect.

/// <summary>LeNet-5 on 28×28 digits, as Module 3 trains it.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(10), Softmax]
public partial class DigitsLeNet;

/// <summary>Loading the embedded weights, preparing images, classifying.</summary>
public static class DigitReader
{
    /// <summary>The embedded checkpoint's resource name.</summary>
    public const string WeightsResource = "lenet-mnist.safetensors";

    /// <summary>Pixels per digit.</summary>
    public const int Side = 28;

    /// <summary>A LeNet in inference mode with the weights embedded in the app.</summary>
    /// <remarks><see cref="Checkpoint.Load{T}"/> reads a file, so the embedded checkpoint is copied to a temporary file
    /// first (a few hundred kilobytes; deleted at once).</remarks>
    public static DigitsLeNet LoadEmbedded(int maxBatch = 1)
    {
        var net = new DigitsLeNet(maxBatch);
        using var resource = typeof(DigitReader).Assembly.GetManifestResourceStream(WeightsResource)
            ?? throw new InvalidOperationException($"The app was built without its weights (embedded resource {WeightsResource}).");
        string temp = Path.Combine(Path.GetTempPath(), $"netgen-digits-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var file = File.Create(temp)) resource.CopyTo(file);
            Checkpoint.Load(net, temp);
        }
        finally
        {
            File.Delete(temp);
        }
        net.Training = false;
        return net;
    }

    /// <summary>The most probable digit and its probability, for one 784-value input.</summary>
    public static (int Digit, float Probability) Classify(DigitsLeNet net, ReadOnlySpan<float> pixels)
    {
        var p = net.Forward(pixels);
        int best = 0;
        for (int k = 1; k < 10; k++) if (p[k] > p[best]) best = k;
        return (best, p[best]);
    }

    /// <summary>
    /// An image of a digit as MNIST's 784 values: grey (transparent pixels count as white paper), light-on-dark (a dark
    /// digit on light paper is inverted, judged by the border), and, unless the image already is 28×28, the digit's
    /// bounding box scaled to fit 20×20 and centred in 28×28 as MNIST's digits are.
    /// </summary>
    public static float[] FromImage(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var grey = new float[image.Width * image.Height];
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
            {
                var px = image[x, y];
                double v = image.Channels switch
                {
                    1 => px[0],
                    2 => px[0] * px[1] / 255.0 + (255 - px[1]),
                    3 => 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2],
                    _ => (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) * px[3] / 255.0 + (255 - px[3]),
                };
                grey[y * image.Width + x] = (float)(v / 255.0);
            }
        // Paper is light when the border is: invert to MNIST's light digit on black.
        double border = 0;
        int count = 0;
        for (int x = 0; x < image.Width; x++) { border += grey[x] + grey[(image.Height - 1) * image.Width + x]; count += 2; }
        for (int y = 0; y < image.Height; y++) { border += grey[y * image.Width] + grey[y * image.Width + image.Width - 1]; count += 2; }
        if (border / count > 0.5)
            for (int i = 0; i < grey.Length; i++) grey[i] = 1 - grey[i];
        if (image.Width == Side && image.Height == Side) return grey;
        return Centre(grey, image.Width, image.Height);
    }

    /// <summary>Crops to the ink's bounding box, scales it (area average) to fit 20×20 keeping its aspect, and places
    /// it in 28×28 with its centre of mass in the middle (as MNIST's digits were); the page does the same in script.</summary>
    public static float[] Centre(float[] grey, int width, int height)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                if (grey[y * width + x] > 0.1f) { x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
        var output = new float[Side * Side];
        if (x1 < 0) return output;   // blank
        int w = x1 - x0 + 1, h = y1 - y0 + 1;
        double scale = 20.0 / Math.Max(w, h);
        int ow = Math.Max(1, (int)Math.Round(w * scale)), oh = Math.Max(1, (int)Math.Round(h * scale));
        var small = new float[ow * oh];
        double mass = 0, cx = 0, cy = 0;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                // Average of the source pixels this output pixel covers.
                int sx0 = x0 + (int)Math.Floor(x / scale), sx1 = Math.Max(sx0 + 1, x0 + (int)Math.Floor((x + 1) / scale));
                int sy0 = y0 + (int)Math.Floor(y / scale), sy1 = Math.Max(sy0 + 1, y0 + (int)Math.Floor((y + 1) / scale));
                double sum = 0;
                int n = 0;
                for (int sy = sy0; sy < Math.Min(sy1, y1 + 1); sy++)
                    for (int sx = sx0; sx < Math.Min(sx1, x1 + 1); sx++) { sum += grey[sy * width + sx]; n++; }
                float v = n == 0 ? 0 : (float)(sum / n);
                small[y * ow + x] = v;
                mass += v; cx += v * x; cy += v * y;
            }
        int ox = (int)Math.Round(Side / 2.0 - (mass > 0 ? cx / mass : ow / 2.0) - 0.5, MidpointRounding.AwayFromZero);
        int oy = (int)Math.Round(Side / 2.0 - (mass > 0 ? cy / mass : oh / 2.0) - 0.5, MidpointRounding.AwayFromZero);
        ox = Math.Clamp(ox, 0, Side - ow);
        oy = Math.Clamp(oy, 0, Side - oh);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) output[(oy + y) * Side + ox + x] = small[y * ow + x];
        return output;
    }
}
