using NetGen.Detection;
using NetGen.Imaging;

namespace NetGen.Tests.ObjectDetection;

public class DetectionTests
{
    [Fact]
    public void IouAndGIouOfHandWorkedPairs()
    {
        // 5×5 overlap of two 10×10 boxes: 25 / (100 + 100 − 25).
        Assert.Equal(25f / 175f, BoxOps.Iou(new Box(0, 0, 10, 10), new Box(5, 5, 15, 15)));
        Assert.Equal(0.36f, BoxOps.Iou(new Box(0, 0, 10, 10), new Box(2, 2, 8, 8)));
        Assert.Equal(0f, BoxOps.Iou(new Box(0, 0, 10, 10), new Box(10, 0, 20, 10)));
        Assert.True(float.IsNaN(BoxOps.Iou(new Box(1, 1, 1, 5), new Box(1, 1, 1, 5))));   // 0/0, as torchvision
        // GIoU: hull 15×15 = 225, union 175: 25/175 − 50/225.
        Assert.Equal(25f / 175f - 50f / 225f, BoxOps.GeneralizedIou(new Box(0, 0, 10, 10), new Box(5, 5, 15, 15)), 6);
        // Disjoint: IoU 0, GIoU −(hull − union)/hull = −(300 − 200)/300.
        Assert.Equal(-1f / 3f, BoxOps.GeneralizedIou(new Box(0, 0, 10, 10), new Box(20, 0, 30, 10)), 6);
        var (cx, cy, w, h) = Box.FromCenter(5, 6, 4, 2).ToCenter();
        Assert.Equal((5f, 6f, 4f, 2f), (cx, cy, w, h));
    }

    [Fact]
    public void NmsKeepsTheBestOfEachCluster()
    {
        Box[] boxes = [new(0, 0, 10, 10), new(1, 1, 11, 11), new(20, 20, 30, 30), new(0, 0, 10, 10)];
        float[] scores = [0.9f, 0.8f, 0.7f, 0.95f];
        Assert.Equal([3, 2], Nms.Apply(boxes, scores, 0.5));
        Assert.Equal([3, 1, 2], Nms.Batched(boxes, scores, [0, 1, 0, 0], 0.5));
        var selected = Nms.Select([new(boxes[0], 0, 0.9f), new(boxes[1], 0, 0.005f), new(boxes[2], 1, 0.7f)], 0.5, scoreThreshold: 0.01f, topK: 1);
        Assert.Single(selected);
        Assert.Equal(0.9f, selected[0].Score);
        var e = Assert.Throws<ArgumentException>(() => Nms.Apply(boxes, [0.1f, float.NaN, 0.2f, 0.3f], 0.5));
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void NmsIntoASpanKeepsTheSameIndicesWithoutAllocating()
    {
        // Ties (equal scores, and −0 beside +0, which compare equal) keep index order, as torchvision's stable sort;
        // negative scores sort below positive ones.
        Box[] boxes = [new(0, 0, 10, 10), new(50, 50, 60, 60), new(20, 20, 30, 30), new(0, 0, 10, 10), new(70, 70, 80, 80), new(1, 1, 11, 11)];
        float[] scores = [0.5f, -0f, 0.5f, 0.5f, 0f, -2f];
        var kept = new int[boxes.Length];
        int count = Nms.Apply(boxes, scores, 0.5, kept);
        Assert.Equal([0, 2, 1, 4], kept[..count]);
        Assert.Equal(kept[..count], Nms.Apply(boxes, scores, 0.5));

        var (many, manyScores) = RandomBoxes(1000, seed: 5);
        var destination = new int[many.Length];
        Nms.Apply(many, manyScores, 0.5, destination);   // warm the pool
        long before = GC.GetAllocatedBytesForCurrentThread();
        int keptCount = Nms.Apply(many, manyScores, 0.5, destination);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(Nms.Apply(many, manyScores, 0.5), destination[..keptCount]);

        var e = Assert.Throws<ArgumentException>(() => Nms.Apply(boxes, scores, 0.5, new int[3]));
        Assert.Contains("at least 6", e.Message);
    }

    private static (Box[] Boxes, float[] Scores) RandomBoxes(int count, int seed)
    {
        var random = new Random(seed);
        var boxes = new Box[count];
        var scores = new float[count];
        for (int i = 0; i < count; i++)
        {
            float x = 100 * random.NextSingle(), y = 100 * random.NextSingle();
            boxes[i] = new Box(x, y, x + 5 + 25 * random.NextSingle(), y + 5 + 25 * random.NextSingle());
            scores[i] = MathF.Round(random.NextSingle(), 2);   // rounded: many ties
        }
        return (boxes, scores);
    }

    [Fact]
    public void DefaultBoxesEncodeDecodeAndMatch()
    {
        var anchors = new DefaultBoxes([new FeatureMap(4, 0.3f, [1f, 0.5f]), new FeatureMap(2, 0.6f, [1f], ExtraScale: 0.8f)]);
        Assert.Equal(4 * 4 * 2 + 2 * 2 * 2, anchors.Count);
        Assert.Equal([0, 32], anchors.MapOffsets);
        // Anchor 5 = kind 0, row 1, col 1 of the 4×4 map: centre (0.375, 0.375), 0.3 × 0.3.
        var a5 = anchors.Boxes[5];
        Assert.Equal(0.375f, a5.CenterX, 6);
        Assert.Equal(0.3f, a5.Width, 6);
        // Kind 1 (w/h = 0.5): w = 0.3·√0.5, h = 0.3/√0.5.
        Assert.Equal(0.3f * MathF.Sqrt(0.5f), anchors.Boxes[16].Width, 6);
        var box = new Box(0.3f, 0.35f, 0.5f, 0.6f);
        var (dx, dy, dw, dh) = anchors.Encode(box, 5);
        Assert.Equal((0.4f - 0.375f) / (0.3f * 0.1f), dx, 4);
        Assert.Equal(MathF.Log(0.2f / 0.3f) / 0.2f, dw, 4);
        var back = anchors.Decode(dx, dy, dw, dh, 5);
        Assert.Equal(box.X1, back.X1, 5); Assert.Equal(box.Y2, back.Y2, 5);

        var matches = new int[anchors.Count];
        Box[] truth = [new(0.3f, 0.3f, 0.45f, 0.45f), new(0.02f, 0.6f, 0.06f, 0.62f)];   // the second overlaps no anchor by 0.5
        anchors.Match(truth, 0.5f, matches);
        Assert.Equal(0, matches[5]);   // best anchor of object 0
        Assert.Equal(1, matches.Count(m => m == 1));   // object 1 still gets exactly its best anchor
        Assert.True(matches.Count(m => m == -1) > anchors.Count - 6);
    }

    private static double CentralDifferenceCheck(ILoss<float> loss, float[] output, float[] target, int batch, float eps)
    {
        var gradient = new float[output.Length];
        loss.ValueAndGradient(output, target, batch, gradient);
        double worst = 0;
        for (int i = 0; i < output.Length; i++)
        {
            float keep = output[i];
            output[i] = keep + eps; double plus = loss.Value(output, target, batch);
            output[i] = keep - eps; double minus = loss.Value(output, target, batch);
            output[i] = keep;
            double numeric = (plus - minus) / (2 * eps);
            worst = Math.Max(worst, Math.Abs(numeric - gradient[i]) / Math.Max(0.05, Math.Abs(gradient[i])));
        }
        return worst;
    }

    [Fact]
    public void YoloLossGradientMatchesCentralDifferences()
    {
        foreach (var c in DetectionOracleTests.YoloCases())
        {
            double worst = CentralDifferenceCheck(c.Loss, c.Output, c.Target, c.Batch, 1e-2f);
            Assert.True(worst < 2e-2, $"YOLO gradient vs central differences: worst relative error {worst:E2}");
        }
    }

    [Fact]
    public void SsdLossGradientMatchesCentralDifferencesAndMinesThreeNegativesPerPositive()
    {
        var anchors = new DefaultBoxes([new FeatureMap(4, 0.3f, [1f, 0.5f]), new FeatureMap(2, 0.55f, [1f])]);
        var loss = new SsdLoss(anchors, classes: 3, maxObjects: 2);
        var rng = new SeededRandom(4);
        int batch = 2;
        var output = new float[batch * loss.OutputSize];
        for (int i = 0; i < output.Length; i++) output[i] = (float)rng.NextDouble(-1.5, 1.5);   // offsets inside smooth L1's quadratic part mostly
        var target = new float[batch * 10];
        DetectionTargets.Write([new DetectedBox(new Box(0.3f, 0.3f, 0.5f, 0.55f), 2, 1)], target.AsSpan(0, 10));
        DetectionTargets.Write([new DetectedBox(new Box(0.1f, 0.1f, 0.35f, 0.4f), 0, 1), new DetectedBox(new Box(0.5f, 0.4f, 0.95f, 0.95f), 1, 1)], target.AsSpan(10, 10));
        double worst = CentralDifferenceCheck(loss, output, target, batch, 1e-3f);
        Assert.True(worst < 2e-2, $"SSD gradient vs central differences: worst relative error {worst:E2}");

        // Exactly 3 negatives per positive get a class gradient; all other background anchors get none.
        var gradient = new float[output.Length];
        loss.ValueAndGradient(output, target, batch, gradient);
        var matches = new int[anchors.Count];
        anchors.Match([new Box(0.3f, 0.3f, 0.5f, 0.55f)], 0.5f, matches);
        int positives = matches.Count(m => m >= 0), withClassGradient = 0;
        for (int a = 0; a < anchors.Count; a++)
            if (gradient[loss.OutputIndex(a, 4)] != 0) withClassGradient++;
        Assert.Equal(4 * positives, withClassGradient);
    }

    private static DetectionEvaluator Evaluator(int classes, params (DetectedBox[] D, DetectedBox[] T)[] images)
    {
        var e = new DetectionEvaluator(classes);
        foreach (var (d, t) in images) e.Add(d, t);
        return e;
    }

    [Fact]
    public void HandWorkedAp_TruePositiveFalsePositiveTruePositive()
    {
        // Two objects; detections by score: TP, FP, TP. Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
        // Envelope: 1 up to recall 1/2, then 2/3: AP = 0.5·1 + 0.5·(2/3) = 0.8333.
        var e = Evaluator(1, (
            [new(new Box(0, 0, 10, 10), 0, 0.9f), new(new Box(50, 50, 60, 60), 0, 0.8f), new(new Box(20, 20, 31, 30), 0, 0.7f)],
            [new(new Box(0, 0, 10, 10), 0, 1), new(new Box(20, 20, 30, 30), 0, 1)]));
        var (p, r, n) = e.PrecisionRecall(0);
        Assert.Equal(2, n);
        Assert.Equal([1, 0.5, 2.0 / 3], p);
        Assert.Equal([0.5, 0.5, 1], r);
        Assert.Equal(0.5 + 0.5 * 2.0 / 3, e.AveragePrecision(0), 12);
    }

    [Fact]
    public void HandWorkedAp_DuplicateDetectionIsAFalsePositive()
    {
        // One object found twice: TP then FP (already taken). Precision 1, 1/2 at recall 1, 1: AP = 1·1 = 1.
        // A second image's object missed entirely halves the recall instead: AP = 0.5.
        var e = Evaluator(1, ([new(new Box(0, 0, 10, 10), 0, 0.9f), new(new Box(0, 0, 10, 10), 0, 0.8f)], [new(new Box(0, 0, 10, 10), 0, 1)]));
        Assert.Equal(1.0, e.AveragePrecision(0), 12);
        e.Add([], [new(new Box(5, 5, 9, 9), 0, 1)]);
        Assert.Equal(0.5, e.AveragePrecision(0), 12);
    }

    [Fact]
    public void HandWorkedMap_ThresholdIsStrictAndClassesWithoutTruthAreLeftOut()
    {
        // Class 0: IoU (0,0,10,10) vs (0,0,10,20) = 100/200 = 0.5, not > 0.5: a false positive at 0.5 (AP 0), a true
        // positive at 0.45. Class 1: found exactly (AP 1). Class 2: a detection but no truth: left out of the mean.
        var e = Evaluator(3, (
            [new(new Box(0, 0, 10, 10), 0, 0.9f), new(new Box(30, 30, 40, 40), 1, 0.6f), new(new Box(50, 50, 60, 60), 2, 0.7f)],
            [new(new Box(0, 0, 10, 20), 0, 1), new(new Box(30, 30, 40, 40), 1, 1)]));
        Assert.Equal(0, e.AveragePrecision(0, 0.5));
        Assert.Equal(1, e.AveragePrecision(0, 0.45));
        Assert.True(double.IsNaN(e.AveragePrecision(2)));
        Assert.Equal(0.5, e.MeanAveragePrecision(0.5), 12);
        Assert.Equal(1.0, e.MeanAveragePrecision(0.45), 12);
        // COCO: class 1 is exact at every threshold (AP 1), class 0 never passes 0.5: mean 0.5.
        Assert.Equal(0.5, e.CocoMeanAveragePrecision(), 12);
    }

    [Fact]
    public void DigitCanvasesAreSeededSeparatedAndTight()
    {
        var a = DigitCanvases.Generate(200, train: true);
        var b = DigitCanvases.Generate(200, train: true);
        Assert.True(a.AllFeatures.SequenceEqual(b.AllFeatures) && a.Targets.SequenceEqual(b.Targets));
        Assert.Equal(4096, a.FeatureSize);
        Assert.Equal(15, a.TargetSize);
        var counts = new int[4];
        for (int n = 0; n < a.Count; n++)
        {
            var truth = DigitCanvases.Truth(a, n);
            counts[truth.Count]++;
            for (int i = 0; i < truth.Count; i++)
            {
                var box = truth[i].Box;
                Assert.InRange(box.X1, 0, 1); Assert.InRange(box.X2, 0, 1);
                Assert.InRange(box.Height * 64, 6, 32);
                for (int j = i + 1; j < truth.Count; j++) Assert.True(BoxOps.Iou(box, truth[j].Box) < 0.2f);
                // Tight: ink on the box's top row and left column.
                int x1 = (int)MathF.Round(box.X1 * 64), y1 = (int)MathF.Round(box.Y1 * 64), x2 = (int)MathF.Round(box.X2 * 64);
                bool inkOnTop = false;
                for (int x = x1; x < x2; x++) inkOnTop |= a.Features(n)[y1 * 64 + x] >= 0.3f;
                Assert.True(inkOnTop, $"canvas {n} object {i}: no ink on the box's top row");
            }
        }
        Assert.Equal(0, counts[0]);
        Assert.True(counts[1] > 40 && counts[2] > 40 && counts[3] > 40, string.Join(",", counts));
        var test = DigitCanvases.Generate(50, train: false);
        Assert.False(test.AllFeatures.SequenceEqual(a.AllFeatures[..test.AllFeatures.Length]));
    }

    [Fact]
    public void YoloTrainsThroughFitWithTheMapMetric()
    {
        var data = DigitCanvases.Generate(64, train: true);
        var net = new TinyYolo(maxBatch: 16, seed: 1);
        var loss = new YoloLoss(grid: 4, boxesPerCell: 1, classes: 10, anchors: [(0.2f, 0.3f)]);
        var map = new MeanAveragePrecision(10, o => loss.Decode(o));
        var history = Trainer.Fit(net, data, 4, 16, new Adam(3e-3), verbose: 0, validation: data, loss: loss, outputMetrics: [map]);
        Assert.True(history.Loss[3] < 0.7 * history.Loss[0], $"loss {history.Loss[0]} -> {history.Loss[3]}");
        Assert.Equal(4, history["val_map50"].Count);
        Assert.False(history.Contains("map50"));   // validation only
        Assert.InRange(history["val_map50"][3], 0, 1);
        var wrong = new YoloLoss(grid: 8, boxesPerCell: 2, classes: 10);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, data, 1, 16, new Adam(), verbose: 0, loss: wrong));
        Assert.Contains("Conv2D(30, Kernel = 1)", e.Message);
    }

    [Fact]
    public void CanvasShiftMovesInkAndBoxesTogetherAndKeepsBoxesInside()
    {
        var data = DigitCanvases.Generate(40, train: true);
        var x = data.AllFeatures.ToArray();
        var t = data.Targets.ToArray();
        var shift = new CanvasShift(64, 64, DigitCanvases.MaxObjects, maxShift: 16);
        var random = new SeededRandom(5);
        int moved = 0, size = 64 * 64, rows = DigitCanvases.MaxObjects * DetectionTargets.Fields;
        for (int n = 0; n < 40; n++)
        {
            var before = x.AsSpan(n * size, size).ToArray();
            var boxesBefore = t.AsSpan(n * rows, rows).ToArray();
            shift.Apply(x.AsSpan(n * size, size), t.AsSpan(n * rows, rows), 1, random);
            var (dx, dy) = shift.LastShift;
            Assert.InRange(dx, -16, 16);
            Assert.InRange(dy, -16, 16);
            if (dx != 0 || dy != 0) moved++;
            // Every pixel is the source pixel (dx, dy) away, or 0 where the shift uncovered the border.
            for (int py = 0; py < 64; py++)
                for (int px = 0; px < 64; px++)
                {
                    int sx = px - dx, sy = py - dy;
                    float expected = sx is >= 0 and < 64 && sy is >= 0 and < 64 ? before[sy * 64 + sx] : 0;
                    Assert.Equal(expected, x[n * size + py * 64 + px]);
                }
            for (int o = 0; o < DigitCanvases.MaxObjects; o++)
            {
                int f = o * DetectionTargets.Fields;
                Assert.Equal(boxesBefore[f], t[n * rows + f]);
                if (boxesBefore[f] < 0) continue;
                Assert.Equal(boxesBefore[f + 1] + dx / 64f, t[n * rows + f + 1], 6);
                Assert.Equal(boxesBefore[f + 4] + dy / 64f, t[n * rows + f + 4], 6);
                Assert.InRange(t[n * rows + f + 1], -1e-6f, 1f);
                Assert.InRange(t[n * rows + f + 3], 0f, 1f + 1e-6f);
                Assert.InRange(t[n * rows + f + 2], -1e-6f, 1f);
                Assert.InRange(t[n * rows + f + 4], 0f, 1f + 1e-6f);
            }
        }
        Assert.True(moved >= 30, $"only {moved} of 40 canvases moved");
        // Without targets it refuses rather than leave the boxes behind.
        var e = Assert.Throws<InvalidOperationException>(() => shift.Apply(x.AsSpan(0, size), 1, random));
        Assert.Contains("needs the targets", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FitGivesATargetAugmentationTheBatchTargets()
    {
        // A target augmentation that negates the images and records the targets it was handed: Fit passes each batch's
        // targets (as in the data set, since this one leaves them unchanged) and never the data set itself.
        var data = DigitCanvases.Generate(8, train: true);
        var recorder = new RecordingAugmentation();
        var net = new TinyYolo(maxBatch: 4, seed: 1);
        var loss = new YoloLoss(grid: 4, boxesPerCell: 1, classes: 10, anchors: [(0.2f, 0.3f)]);
        Trainer.Fit(net, data, 1, 4, new Sgd(0.001), verbose: 0, loss: loss, augment: recorder, shuffle: false);
        Assert.Equal(2, recorder.Calls);
        Assert.Equal(data.Targets.ToArray(), recorder.Seen.ToArray());
        Assert.True(data.AllFeatures.ToArray().All(v => v >= 0), "the data set was changed");
    }

    private sealed class RecordingAugmentation : ITargetAugmentation<float>
    {
        public int Calls;
        public readonly List<float> Seen = [];

        public void Apply(Span<float> batch, int count, SeededRandom random) => throw new InvalidOperationException("Fit should pass the targets.");

        public void Apply(Span<float> batch, Span<float> targets, int count, SeededRandom random)
        {
            Calls++;
            Seen.AddRange(targets.ToArray());
            for (int i = 0; i < batch.Length; i++) batch[i] = -batch[i];
        }
    }

    [Fact]
    public void DecodingKeepsEveryClassThatPasses()
    {
        // One 1×1 grid slot, 3 classes: objectness σ(2) ≈ 0.881, class logits (1, 0.9, −3) → softmax ≈ (0.516, 0.467, 0.0086).
        var loss = new YoloLoss(grid: 1, boxesPerCell: 1, classes: 3, anchors: [(0.5f, 0.5f)]);
        float[] output = [0, 0, 0, 0, 2, 1, 0.9f, -3];
        var all = loss.Decode(output, scoreThreshold: 0.05f);
        Assert.Equal([0, 1], all.Select(d => d.Class).ToArray());
        float sum = MathF.Exp(1) + MathF.Exp(0.9f) + MathF.Exp(-3), objectness = 1 / (1 + MathF.Exp(-2));
        Assert.Equal(objectness * MathF.Exp(1) / sum, all[0].Score, 5);
        Assert.Equal(objectness * MathF.Exp(0.9f) / sum, all[1].Score, 5);
        Assert.Equal(all[0].Box, all[1].Box);
        Assert.Equal([0], loss.Decode(output, scoreThreshold: 0.05f, bestClassOnly: true).Select(d => d.Class).ToArray());
    }

    [Fact]
    public void DrawingWritesReadablePngs()
    {
        var data = DigitCanvases.Generate(2, train: false);
        var image = Drawing.FromGrayscale(data.Features(0), 64, 64, 4);
        Drawing.DrawDetections(image, [new(new Box(0.1f, 0.1f, 0.4f, 0.5f), 3, 0.87f)], []);
        // A 2-pixel outline of a 76.8 × 102.4 box in class 3's colour (about 2·2·(77 + 102) pixels) plus the label's
        // filled background (7 characters × 6 × 9 pixels, less the black glyph pixels).
        int coloured = 0;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                if (image.Pixel(x, y).SequenceEqual(new byte[] { 0, 130, 200 })) coloured++;
        Assert.InRange(coloured, 700, 1300);
        var e = new DetectionEvaluator(2);
        e.Add([new(new Box(0, 0, 1, 1), 0, 0.9f), new(new Box(0, 0, 1, 1), 1, 0.4f)], [new(new Box(0, 0, 1, 1), 0, 1), new(new Box(2, 2, 3, 3), 1, 1)]);
        string path = Path.Combine(Path.GetTempPath(), $"netgen-pr-{Environment.ProcessId}.png");
        Drawing.PrecisionRecallCurve(e).SavePng(path);
        var back = Image.Load(path);
        Assert.Equal(570, back.Width);
        File.Delete(path);
    }
}

[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 64, 64)]
[Conv2D(8, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(4)]
[Conv2D(16, Kernel = 3, Padding = Padding.Same), ReLU, MaxPool(4)]
[Conv2D(15, Kernel = 1)]
public partial class TinyYolo;
