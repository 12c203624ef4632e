using NetGen;
using NetGen.Data;

namespace NetGen.Detection;

/// <summary>
/// The detection data set of course Module 4, generated from a seed (identical on every machine, nothing downloaded):
/// 64 × 64 grayscale canvases with 1–3 MNIST digits from the embedded 10,000-digit sample, each scaled to a square of
/// 16–32 pixels and placed so that the boxes of any two overlap with IoU &lt; 0.2; each box is the tight box of the
/// scaled digit's ink (pixels ≥ 0.3), in [0, 1] coordinates, class = the digit. Training canvases draw from the
/// sample's first 8,000 digits, test canvases from the last 2,000 (writers not seen in training).
/// </summary>
public static class DigitCanvases
{
    /// <summary>Canvas side in pixels.</summary>
    public const int Size = 64;

    /// <summary>Object rows per canvas in the targets (see <see cref="DetectionTargets"/>).</summary>
    public const int MaxObjects = 3;

    /// <summary>Classes: the digits 0–9.</summary>
    public const int Classes = 10;

    /// <summary>Digits of the embedded sample used for training canvases (the rest are for test canvases).</summary>
    public const int TrainDigits = 8000;

    private static readonly Lazy<Dataset<float>> Digits = new(() => Datasets.MnistSample<float>());

    /// <summary><paramref name="count"/> canvases (4,096 pixels in [0, 1] each) with targets of
    /// <see cref="MaxObjects"/> rows of (class, x1, y1, x2, y2).</summary>
    /// <param name="count">How many canvases.</param>
    /// <param name="train">Training digits (0–7,999) or test digits (8,000–9,999).</param>
    /// <param name="seed">The seed; the default sets differ (train 1, test 2).</param>
    public static Dataset<float> Generate(int count, bool train, int? seed = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Generate at least one canvas.");
        var digits = Digits.Value;
        var rng = new SeededRandom(seed ?? (train ? 1 : 2));
        int first = train ? 0 : TrainDigits, range = train ? TrainDigits : digits.Count - TrainDigits;
        var features = new float[count * Size * Size];
        var targets = new float[count * MaxObjects * DetectionTargets.Fields];
        var scaled = new float[32 * 32];
        var objects = new List<DetectedBox>(MaxObjects);
        for (int n = 0; n < count; n++)
        {
            var canvas = features.AsSpan(n * Size * Size, Size * Size);
            objects.Clear();
            int wanted = 1 + rng.NextInt(MaxObjects);
            for (int k = 0; k < wanted; k++)
            {
                int index = first + rng.NextInt(range);
                int s = 16 + rng.NextInt(17);
                Resize(digits.AllFeatures.Slice(index * 784, 784), 28, scaled.AsSpan(0, s * s), s);
                var ink = InkBox(scaled.AsSpan(0, s * s), s);
                for (int attempt = 0; attempt < 50; attempt++)
                {
                    int x = rng.NextInt(Size - s + 1), y = rng.NextInt(Size - s + 1);
                    var box = new Box((x + ink.X1) / Size, (y + ink.Y1) / Size, (x + ink.X2) / Size, (y + ink.Y2) / Size);
                    if (objects.Any(o => BoxOps.Iou(o.Box, box) >= 0.2f)) continue;
                    for (int yy = 0; yy < s; yy++)
                        for (int xx = 0; xx < s; xx++)
                        {
                            ref float p = ref canvas[(y + yy) * Size + x + xx];
                            p = MathF.Max(p, scaled[yy * s + xx]);
                        }
                    objects.Add(new DetectedBox(box, digits.Labels[index], 1));
                    break;
                }
            }
            DetectionTargets.Write(objects, targets.AsSpan(n * MaxObjects * DetectionTargets.Fields, MaxObjects * DetectionTargets.Fields));
        }
        return new Dataset<float>(features, Size * Size, targets, MaxObjects * DetectionTargets.Fields);
    }

    /// <summary>The ground-truth objects of canvas <paramref name="index"/>.</summary>
    public static List<DetectedBox> Truth(Dataset<float> data, int index)
    {
        var list = new List<DetectedBox>();
        DetectionTargets.Read(data.Targets.Slice(index * data.TargetSize, data.TargetSize), list);
        return list;
    }

    /// <summary>Bilinear resampling of a square image (pixel centres aligned, as PyTorch's align_corners=False).</summary>
    internal static void Resize(ReadOnlySpan<float> source, int from, Span<float> target, int to)
    {
        float ratio = (float)from / to;
        for (int y = 0; y < to; y++)
        {
            float sy = MathF.Max((y + 0.5f) * ratio - 0.5f, 0);
            int y0 = Math.Min((int)sy, from - 1), y1 = Math.Min(y0 + 1, from - 1);
            float fy = sy - y0;
            for (int x = 0; x < to; x++)
            {
                float sx = MathF.Max((x + 0.5f) * ratio - 0.5f, 0);
                int x0 = Math.Min((int)sx, from - 1), x1 = Math.Min(x0 + 1, from - 1);
                float fx = sx - x0;
                target[y * to + x] = (1 - fy) * ((1 - fx) * source[y0 * from + x0] + fx * source[y0 * from + x1])
                    + fy * ((1 - fx) * source[y1 * from + x0] + fx * source[y1 * from + x1]);
            }
        }
    }

    /// <summary>The tight box (pixel edges) of the pixels ≥ 0.3 of an s × s image; the whole image when it has none.</summary>
    private static Box InkBox(ReadOnlySpan<float> image, int s)
    {
        int x1 = s, y1 = s, x2 = -1, y2 = -1;
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
                if (image[y * s + x] >= 0.3f) { x1 = Math.Min(x1, x); y1 = Math.Min(y1, y); x2 = Math.Max(x2, x); y2 = Math.Max(y2, y); }
        return x2 < 0 ? new Box(0, 0, s, s) : new Box(x1, y1, x2 + 1, y2 + 1);
    }
}
