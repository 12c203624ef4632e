using System.Globalization;
using NetGen.Detection;
using NetGen.Imaging;

namespace Module4.ObjectDetection;

/// <summary>IoU by hand, NMS before/after, SSD default boxes drawn.</summary>
internal static class BoxesLesson
{
    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    public static void Run(TextWriter log, string outputDirectory)
    {
        log.WriteLine("IoU = area of intersection / area of union (boxes as x1, y1, x2, y2):");
        (Box A, Box B)[] examples =
        [
            (new Box(0, 0, 10, 10), new Box(5, 5, 15, 15)),
            (new Box(0, 0, 10, 10), new Box(2, 2, 8, 8)),
            (new Box(0, 0, 10, 10), new Box(10, 0, 20, 10)),
            (new Box(1, 1, 4, 5), new Box(2, 3, 6, 6)),
        ];
        foreach (var (a, b) in examples)
        {
            float iw = MathF.Max(0, MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1)), ih = MathF.Max(0, MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1));
            float inter = iw * ih, union = a.Area + b.Area - inter;
            log.WriteLine($"  A {a}  B {b}: intersection {F(iw)}×{F(ih)} = {F(inter)}; union {F(a.Area)} + {F(b.Area)} − {F(inter)} = {F(union)}; " +
                $"IoU = {F(inter)}/{F(union)} = {F(BoxOps.Iou(a, b))}; GIoU = {F(BoxOps.GeneralizedIou(a, b))}");
        }

        log.WriteLine();
        log.WriteLine("NMS (IoU threshold 0.5) on a crowded example: three detections of one '3', two of a '7', one of a second '3':");
        DetectedBox[] crowded =
        [
            new(new Box(10, 10, 30, 40), 3, 0.92f), new(new Box(12, 11, 31, 42), 3, 0.85f), new(new Box(8, 9, 28, 37), 3, 0.60f),
            new(new Box(40, 10, 56, 34), 7, 0.88f), new(new Box(42, 12, 57, 35), 7, 0.55f),
            new(new Box(14, 14, 32, 44), 3, 0.40f), new(new Box(35, 40, 55, 62), 3, 0.77f),
        ];
        for (int i = 0; i < crowded.Length; i++) log.WriteLine($"  before [{i}] class {crowded[i].Class} score {F(crowded[i].Score)} {crowded[i].Box}");
        var kept = Nms.Select(crowded, iouThreshold: 0.5, scoreThreshold: 0, topK: 0);
        foreach (var d in kept) log.WriteLine($"  after  [{Array.IndexOf(crowded, d)}] class {d.Class} score {F(d.Score)} {d.Box}");
        log.WriteLine($"  {crowded.Length} detections -> {kept.Count}: each kept box suppressed the lower-scored boxes of its class overlapping it by IoU > 0.5.");

        Directory.CreateDirectory(outputDirectory);
        var canvases = DigitCanvases.Generate(1, train: false, seed: 7);
        var image = Drawing.FromGrayscale(canvases.Features(0), DigitCanvases.Size, DigitCanvases.Size, scale: 6);
        var anchors = new DefaultBoxes([new FeatureMap(4, 0.34f, [1f, 0.55f, 0.3f])]);
        for (int k = 0; k < 3; k++)
            for (int cell = 0; cell < 16; cell += 5)
                Drawing.DrawBox(image, anchors.Boxes[k * 16 + cell].Scale(image.Width, image.Height), Drawing.Palette[k], 1);
        for (int x = 1; x < 4; x++)
            for (int y = 0; y < image.Height; y += 2) { Drawing.Plot(image, x * image.Width / 4, y, (90, 90, 90)); Drawing.Plot(image, y, x * image.Height / 4, (90, 90, 90)); }
        string path = Path.Combine(outputDirectory, "ssd-default-boxes.png");
        image.SavePng(path);
        log.WriteLine();
        log.WriteLine($"SSD default boxes of the 4×4 feature map (scale 0.34, aspect ratios w/h 1, 0.55, 0.3), at cells 0, 5, 10 and 15: {path}");
    }
}
