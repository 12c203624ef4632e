using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Detection;

namespace Module4.ObjectDetection;

/// <summary>What the three detectors share: training with per-epoch loss and validation mAP@0.5, and detection.</summary>
internal abstract class Detector
{
    public abstract string Name { get; }

    public abstract long Parameters { get; }

    /// <summary>Default epochs.</summary>
    public abstract int DefaultEpochs { get; }

    /// <summary>Training: <paramref name="shift"/> is the canvas-shift augmentation's largest shift in pixels (0 = none);
    /// <paramref name="epochEnd"/>, if given, is called with the number of finished epochs after each one (the `train`
    /// command saves a checkpoint there, so a run cut short still leaves the last epoch's weights).</summary>
    public abstract void Train(Dataset<float> train, Dataset<float> validation, int epochs, int seed, int shift, TextWriter log, Action<int>? epochEnd = null);

    /// <summary>Calls an action after each epoch of <see cref="Trainer.Fit"/>.</summary>
    protected sealed class EpochEnd(Action<int> action) : ICallback
    {
        public void OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs) => action(epoch + 1);
    }

    /// <summary>The detector's networks with a file stem each (one checkpoint per network).</summary>
    protected abstract IEnumerable<(string File, INetwork<float> Network)> Networks { get; }

    private IEnumerable<(string Path, INetwork<float> Network)> Files(string directory) =>
        Networks.Select(n => (Path.Combine(directory, n.File + ".safetensors"), n.Network));

    /// <summary>Writes every network to <paramref name="directory"/> (atomically, one safetensors file each), with
    /// <paramref name="metadata"/> (training settings and seconds) in each header. Returns the files.</summary>
    public List<string> Save(string directory, IReadOnlyDictionary<string, string> metadata)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        foreach (var (path, network) in Files(directory))
        {
            Checkpoint.Save(network, path, metadata);
            files.Add(path);
        }
        return files;
    }

    /// <summary>Loads the networks saved by <see cref="Save"/>; returns the metadata, or null when a file is missing.</summary>
    public IReadOnlyDictionary<string, string>? Load(string directory)
    {
        var files = Files(directory).ToList();
        if (files.Any(f => !File.Exists(f.Path))) return null;
        IReadOnlyDictionary<string, string>? metadata = null;
        foreach (var (path, network) in files) metadata = Checkpoint.Load(network, path).Metadata;
        return metadata;
    }

    /// <summary>Detections (boxes in [0, 1]) for canvases start … start + count − 1 of <paramref name="data"/>.</summary>
    public abstract List<List<DetectedBox>> Detect(Dataset<float> data, int start, int count);

    public DetectionEvaluator Evaluate(Dataset<float> data, int count = int.MaxValue)
    {
        count = Math.Min(count, data.Count);
        var evaluator = new DetectionEvaluator(DigitCanvases.Classes);
        for (int start = 0; start < count; start += 100)
        {
            int n = Math.Min(100, count - start);
            var detections = Detect(data, start, n);
            for (int k = 0; k < n; k++) evaluator.Add(detections[k], DigitCanvases.Truth(data, start + k));
        }
        return evaluator;
    }

    /// <summary>Mean wall-clock milliseconds to detect in one canvas at batch 1 (after a warm-up).</summary>
    public double MillisecondsPerImage(Dataset<float> data, int images = 50)
    {
        Detect(data, 0, 2);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < images; i++) Detect(data, i % data.Count, 1);
        return watch.Elapsed.TotalMilliseconds / images;
    }

    protected static string F3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
}

/// <summary>YOLO: YoloNet trained by Trainer.Fit with the YOLO loss and the mAP output metric.</summary>
internal sealed class YoloDetector : Detector
{
    private readonly YoloNet _net;
    public readonly YoloLoss Loss = new(grid: 8, boxesPerCell: 2, classes: DigitCanvases.Classes, maxObjects: DigitCanvases.MaxObjects,
        anchors: [(0.12f, 0.25f), (0.25f, 0.3f)]);

    public YoloDetector(int seed) => _net = new YoloNet(maxBatch: 100, seed: seed);

    public override string Name => "yolo";
    public override long Parameters => YoloNet.ParameterCount;
    public override int DefaultEpochs => 10;

    protected override IEnumerable<(string File, INetwork<float> Network)> Networks => [("yolo", _net)];

    public override void Train(Dataset<float> train, Dataset<float> validation, int epochs, int seed, int shift, TextWriter log, Action<int>? epochEnd = null)
    {
        var map = new MeanAveragePrecision(DigitCanvases.Classes, o => Loss.Decode(o));
        var augment = shift > 0 ? new CanvasShift(DigitCanvases.Size, DigitCanvases.Size, DigitCanvases.MaxObjects, shift) : null;
        Trainer.Fit(_net, train, epochs, 32, new Adam(2e-3), seed: seed, log: log, verbose: 2, validation: validation,
            loss: Loss, outputMetrics: [map], augment: augment,
            callbacks: epochEnd is null ? [new LearningRateScheduler(new CosineAnnealing(epochs, 2e-5))] : [new LearningRateScheduler(new CosineAnnealing(epochs, 2e-5)), new EpochEnd(epochEnd)]);
    }

    public override List<List<DetectedBox>> Detect(Dataset<float> data, int start, int count)
    {
        _net.Training = false;
        var output = _net.Forward(data.AllFeatures.Slice(start * data.FeatureSize, count * data.FeatureSize), count);
        var result = new List<List<DetectedBox>>(count);
        for (int k = 0; k < count; k++) result.Add(Loss.Decode(output.Slice(k * Loss.OutputSize, Loss.OutputSize)));
        return result;
    }
}

/// <summary>SSD: a backbone and two heads (8×8 and 4×4 default boxes), three generated networks composed here: the
/// heads read the backbone's output, and their input gradients are summed into the backbone's output gradient.</summary>
internal sealed class SsdDetector : Detector
{
    private readonly SsdBackbone _backbone;
    private readonly SsdHead8 _head8;
    private readonly SsdBranch4 _branch4;
    public readonly DefaultBoxes Anchors = new([
        new FeatureMap(8, 0.22f, [1f, 0.55f, 0.3f]),
        new FeatureMap(4, 0.34f, [1f, 0.55f, 0.3f]),
    ]);
    public readonly SsdLoss Loss;
    private readonly float[] _output, _gradient, _featureGradient, _branchGradient, _g8, _g4;
    private const int Batch = 100;

    public SsdDetector(int seed)
    {
        _backbone = new SsdBackbone(maxBatch: Batch, seed: seed);
        _head8 = new SsdHead8(maxBatch: Batch, seed: seed + 1);
        _branch4 = new SsdBranch4(maxBatch: Batch, seed: seed + 2);
        Loss = new SsdLoss(Anchors, DigitCanvases.Classes, DigitCanvases.MaxObjects);
        _output = new float[Batch * Loss.OutputSize];
        _gradient = new float[Batch * Loss.OutputSize];
        _featureGradient = new float[Batch * SsdBackbone.OutputSize];
        _branchGradient = new float[Batch * SsdBackbone.OutputSize];
        _g8 = new float[Batch * SsdHead8.OutputSize];
        _g4 = new float[Batch * SsdBranch4.OutputSize];
    }

    public override string Name => "ssd";
    public override long Parameters => SsdBackbone.ParameterCount + SsdHead8.ParameterCount + SsdBranch4.ParameterCount;
    public override int DefaultEpochs => 10;

    /// <summary>Forward through the three networks; the per-image output is [8×8 head | 4×4 head].</summary>
    private Span<float> Forward(ReadOnlySpan<float> input, int n)
    {
        var features = _backbone.Forward(input, n);
        var a = _head8.Forward(features, n);
        var b = _branch4.Forward(features, n);
        int sa = SsdHead8.OutputSize, sb = SsdBranch4.OutputSize;
        for (int k = 0; k < n; k++)
        {
            a.Slice(k * sa, sa).CopyTo(_output.AsSpan(k * (sa + sb)));
            b.Slice(k * sb, sb).CopyTo(_output.AsSpan(k * (sa + sb) + sa));
        }
        return _output.AsSpan(0, n * (sa + sb));
    }

    protected override IEnumerable<(string File, INetwork<float> Network)> Networks =>
        [("ssd-backbone", _backbone), ("ssd-head8", _head8), ("ssd-branch4", _branch4)];

    public override void Train(Dataset<float> train, Dataset<float> validation, int epochs, int seed, int shift, TextWriter log, Action<int>? epochEnd = null)
    {
        var augment = shift > 0 ? new CanvasShift(DigitCanvases.Size, DigitCanvases.Size, DigitCanvases.MaxObjects, shift) : null;
        var augmentRandom = new SeededRandom(seed ^ 0x5A17_AD6E);
        var optimizers = new[] { new Adam(2e-3), new Adam(2e-3), new Adam(2e-3) };
        var schedule = new CosineAnnealing(epochs, 2e-5);
        const int batch = 32;
        int count = train.Count, featureSize = train.FeatureSize, targetSize = train.TargetSize;
        var order = Enumerable.Range(0, count).ToArray();
        var x = new float[batch * featureSize];
        var t = new float[batch * targetSize];
        int sa = SsdHead8.OutputSize, sb = SsdBranch4.OutputSize;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            foreach (var o in optimizers) o.LearningRate = schedule.LearningRate(epoch, 2e-3);
            new SeededRandom(seed + epoch + 1).Shuffle<int>(order);
            _backbone.Training = _head8.Training = _branch4.Training = true;
            double lossSum = 0;
            for (int start = 0; start < count; start += batch)
            {
                int n = Math.Min(batch, count - start);
                for (int k = 0; k < n; k++)
                {
                    train.Features(order[start + k]).CopyTo(x.AsSpan(k * featureSize));
                    train.Target(order[start + k]).CopyTo(t.AsSpan(k * targetSize));
                }
                augment?.Apply(x.AsSpan(0, n * featureSize), t.AsSpan(0, n * targetSize), n, augmentRandom);
                _backbone.ZeroGradients(); _head8.ZeroGradients(); _branch4.ZeroGradients();
                var output = Forward(x.AsSpan(0, n * featureSize), n);
                float loss = Loss.ValueAndGradient(output, t.AsSpan(0, n * targetSize), n, _gradient.AsSpan(0, output.Length));
                if (!float.IsFinite(loss)) throw new InvalidOperationException($"SSD training diverged at epoch {epoch + 1}: the loss is {loss}. Lower the learning rate.");
                lossSum += loss * n;
                // Split ∂E/∂output into the two heads' output gradients.
                var g8 = _g8.AsSpan(0, n * sa);
                var g4 = _g4.AsSpan(0, n * sb);
                for (int k = 0; k < n; k++)
                {
                    _gradient.AsSpan(k * (sa + sb), sa).CopyTo(g8.Slice(k * sa, sa));
                    _gradient.AsSpan(k * (sa + sb) + sa, sb).CopyTo(g4.Slice(k * sb, sb));
                }
                var dFeatures = _featureGradient.AsSpan(0, n * SsdBackbone.OutputSize);
                var dBranch = _branchGradient.AsSpan(0, n * SsdBackbone.OutputSize);
                _head8.Backward(g8, dFeatures);
                _branch4.Backward(g4, dBranch);
                for (int i = 0; i < dFeatures.Length; i++) dFeatures[i] += dBranch[i];
                _backbone.Backward(dFeatures, []);
                optimizers[0].Step<float>(_backbone.Parameters, _backbone.Gradients);
                optimizers[1].Step<float>(_head8.Parameters, _head8.Gradients);
                optimizers[2].Step<float>(_branch4.Parameters, _branch4.Gradients);
            }
            double map = Evaluate(validation).MeanAveragePrecision();
            log.WriteLine($"Epoch {epoch + 1}/{epochs} - {watch.Elapsed.TotalSeconds:0.0}s - loss: {lossSum / count:0.0000} - val_map50: {F3(map)}");
            epochEnd?.Invoke(epoch + 1);
        }
    }

    public override List<List<DetectedBox>> Detect(Dataset<float> data, int start, int count)
    {
        _backbone.Training = _head8.Training = _branch4.Training = false;
        var output = Forward(data.AllFeatures.Slice(start * data.FeatureSize, count * data.FeatureSize), count);
        var result = new List<List<DetectedBox>>(count);
        for (int k = 0; k < count; k++) result.Add(Loss.Decode(output.Slice(k * Loss.OutputSize, Loss.OutputSize)));
        return result;
    }
}

/// <summary>
/// R-CNN at small scale: region proposals are sliding windows (3 heights × 3 widths, stride 4 pixels) kept when at
/// least 8 % of their pixels are ink — a cheap stand-in for selective search that skips the empty canvas; each
/// proposal, with a 15 % margin, is resized to 28×28 and classified by a LeNet with a background class; the
/// class probability is the score, and NMS per class removes the overlapping windows. No box refinement.
/// </summary>
internal sealed class RcnnDetector : Detector
{
    private readonly RcnnLeNet _net = new(maxBatch: 256, seed: 1);
    private static readonly int[] Heights = [12, 16, 21];
    private static readonly float[] WidthRatios = [0.85f, 0.5f, 0.25f];
    private const int Stride = 4, Background = 10;
    private readonly float[] _crops = new float[256 * 784];

    public override string Name => "rcnn";
    public override long Parameters => RcnnLeNet.ParameterCount;
    public override int DefaultEpochs => 6;

    /// <summary>The proposal windows of one canvas, in pixels.</summary>
    public static List<Box> Proposals(ReadOnlySpan<float> canvas)
    {
        int size = DigitCanvases.Size;
        var result = new List<Box>();
        // An integral image makes each window's ink count O(1).
        var integral = new float[(size + 1) * (size + 1)];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                integral[(y + 1) * (size + 1) + x + 1] = (canvas[y * size + x] >= 0.3f ? 1 : 0) + integral[y * (size + 1) + x + 1] + integral[(y + 1) * (size + 1) + x] - integral[y * (size + 1) + x];
        foreach (int h in Heights)
            foreach (float r in WidthRatios)
            {
                int w = Math.Max(3, (int)MathF.Round(h * r));
                for (int y = 0; y + h <= size; y += Stride)
                    for (int x = 0; x + w <= size; x += Stride)
                    {
                        float ink = integral[(y + h) * (size + 1) + x + w] - integral[y * (size + 1) + x + w] - integral[(y + h) * (size + 1) + x] + integral[y * (size + 1) + x];
                        if (ink >= 0.08f * w * h) result.Add(new Box(x, y, x + w, y + h));
                    }
            }
        return result;
    }

    /// <summary>The window (pixels) with a 15 % margin, resized bilinearly to 28×28 (zero outside the canvas).</summary>
    public static void Crop(ReadOnlySpan<float> canvas, Box window, Span<float> crop)
    {
        int size = DigitCanvases.Size;
        float mx = 0.15f * window.Width, my = 0.15f * window.Height;
        float x0 = window.X1 - mx, y0 = window.Y1 - my, cw = window.Width + 2 * mx, ch = window.Height + 2 * my;
        for (int i = 0; i < 28; i++)
            for (int j = 0; j < 28; j++)
            {
                float sx = x0 + (j + 0.5f) * cw / 28 - 0.5f, sy = y0 + (i + 0.5f) * ch / 28 - 0.5f;
                int xa = (int)MathF.Floor(sx), ya = (int)MathF.Floor(sy);
                float fx = sx - xa, fy = sy - ya, v = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                    {
                        int px = xa + dx, py = ya + dy;
                        if (px < 0 || py < 0 || px >= size || py >= size) continue;
                        v += (dx == 1 ? fx : 1 - fx) * (dy == 1 ? fy : 1 - fy) * canvas[py * size + px];
                    }
                crop[i * 28 + j] = v;
            }
    }

    /// <summary>Training crops: every proposal with IoU ≥ 0.5 with an object (its class), and up to 2 background
    /// proposals (IoU &lt; 0.3 with every object) per object proposal, drawn at random.</summary>
    private static Dataset<float> Crops(Dataset<float> canvases, int count, int seed)
    {
        var rng = new SeededRandom(seed);
        var features = new List<float>();
        var labels = new List<int>();
        var crop = new float[784];
        for (int n = 0; n < count; n++)
        {
            var canvas = canvases.Features(n);
            var truth = DigitCanvases.Truth(canvases, n);
            var positives = new List<(Box, int)>();
            var negatives = new List<Box>();
            foreach (var p in Proposals(canvas))
            {
                var norm = p.Scale(1f / DigitCanvases.Size, 1f / DigitCanvases.Size);
                float best = 0;
                int cls = -1;
                foreach (var g in truth)
                {
                    float iou = BoxOps.Iou(norm, g.Box);
                    if (iou > best) { best = iou; cls = g.Class; }
                }
                if (best >= 0.5f) positives.Add((p, cls));
                else if (best < 0.3f) negatives.Add(p);
            }
            var chosen = positives.ToList();
            for (int k = 0; k < Math.Min(2 * positives.Count, negatives.Count); k++) chosen.Add((negatives[rng.NextInt(negatives.Count)], Background));
            foreach (var (b, label) in chosen)
            {
                Crop(canvas, b, crop);
                features.AddRange(crop);
                labels.Add(label);
            }
        }
        return new Dataset<float>(features.ToArray(), 784, labels.ToArray(), 11);
    }

    protected override IEnumerable<(string File, INetwork<float> Network)> Networks => [("rcnn-lenet", _net)];

    /// <summary>R-CNN trains on crops of proposals, not on canvases: <paramref name="shift"/> is not used.</summary>
    public override void Train(Dataset<float> train, Dataset<float> validation, int epochs, int seed, int shift, TextWriter log, Action<int>? epochEnd = null)
    {
        var crops = Crops(train, Math.Min(train.Count, 4000), seed);
        log.WriteLine($"R-CNN training crops: {crops.Count:N0} from {Math.Min(train.Count, 4000):N0} canvases ({crops.Labels.ToArray().Count(l => l == Background):N0} background)");
        var adam = new Adam(1e-3);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            var h = Trainer.Fit(_net, crops, 1, 64, adam, seed: seed + epoch, verbose: 0);
            double map = Evaluate(validation, 200).MeanAveragePrecision();
            log.WriteLine($"Epoch {epoch + 1}/{epochs} - {watch.Elapsed.TotalSeconds:0.0}s - loss: {h.Loss[0]:0.0000} - accuracy: {h.Accuracy[0]:0.0000} - val_map50: {F3(map)} (200 canvases)");
            epochEnd?.Invoke(epoch + 1);
        }
    }

    public override List<List<DetectedBox>> Detect(Dataset<float> data, int start, int count)
    {
        _net.Training = false;
        var result = new List<List<DetectedBox>>(count);
        for (int k = 0; k < count; k++)
        {
            var canvas = data.Features(start + k);
            var proposals = Proposals(canvas);
            var raw = new List<DetectedBox>();
            for (int b0 = 0; b0 < proposals.Count; b0 += 256)
            {
                int n = Math.Min(256, proposals.Count - b0);
                for (int i = 0; i < n; i++) Crop(canvas, proposals[b0 + i], _crops.AsSpan(i * 784, 784));
                var probabilities = _net.Forward(_crops.AsSpan(0, n * 784), n);
                for (int i = 0; i < n; i++)
                {
                    var p = probabilities.Slice(i * 11, 11);
                    int best = 0;
                    for (int c = 1; c < 10; c++) if (p[c] > p[best]) best = c;
                    if (p[best] >= 0.05f)
                        raw.Add(new DetectedBox(proposals[b0 + i].Scale(1f / DigitCanvases.Size, 1f / DigitCanvases.Size), best, p[best]));
                }
            }
            result.Add(Nms.Select(raw, iouThreshold: 0.3, scoreThreshold: 0.05f, topK: 100));
        }
        return result;
    }
}
