using NetGen;

namespace NetGen.Detection;

/// <summary>
/// Average precision of a detector over a set of images, the PASCAL VOC devkit's algorithm (<c>voc_eval</c>) with
/// all-point interpolation: per class, detections of all images by descending score (ties in the order added); each is
/// a true positive when its best-overlapping ground-truth box of that class in its image has IoU &gt; the threshold and
/// was not already taken, else a false positive; AP = Σ (r_{i+1} − r_i)·p̂_{i+1} over the precision envelope p̂.
/// IoU is continuous (no "+1 pixel" of the devkit's integer pixel boxes). mAP is the mean over classes that have at
/// least one ground-truth box. COCO-style mAP@[.5:.95] is the mean of mAP at IoU 0.50, 0.55, …, 0.95 (all-point AP at
/// each, not COCO's 101-point sampling).
/// </summary>
public sealed class DetectionEvaluator
{
    private readonly List<(int Image, DetectedBox D)> _detections = [];
    private readonly List<List<DetectedBox>> _truth = [];

    /// <summary>An evaluator for classes 0 … <paramref name="classes"/> − 1.</summary>
    public DetectionEvaluator(int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "At least one class.");
        Classes = classes;
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Images added.</summary>
    public int Images => _truth.Count;

    /// <summary>Forgets every image.</summary>
    public void Clear() { _detections.Clear(); _truth.Clear(); }

    /// <summary>Adds one image: its detections and its ground-truth objects.</summary>
    public void Add(IEnumerable<DetectedBox> detections, IEnumerable<DetectedBox> truth)
    {
        ArgumentNullException.ThrowIfNull(detections);
        ArgumentNullException.ThrowIfNull(truth);
        int image = _truth.Count;
        var t = truth.ToList();
        foreach (var d in t.Concat(detections))
            if (d.Class < 0 || d.Class >= Classes)
                throw new ArgumentException($"Class {d.Class} is out of range: the evaluator has classes 0 to {Classes - 1}.");
        _truth.Add(t);
        foreach (var d in detections)
        {
            if (float.IsNaN(d.Score)) throw new ArgumentException("A detection's score is NaN: the detector's outputs are not finite.", nameof(detections));
            _detections.Add((image, d));
        }
    }

    /// <summary>Precision and recall after each detection of class <paramref name="cls"/> by descending score, and the
    /// number of ground-truth boxes of the class.</summary>
    public (double[] Precision, double[] Recall, int Positives) PrecisionRecall(int cls, double iouThreshold = 0.5)
    {
        int positives = 0;
        var taken = new List<bool[]>(_truth.Count);
        foreach (var t in _truth)
        {
            taken.Add(new bool[t.Count]);
            foreach (var g in t) if (g.Class == cls) positives++;
        }
        var dets = _detections.Where(d => d.D.Class == cls).ToList();
        var order = Enumerable.Range(0, dets.Count).OrderByDescending(i => dets[i].D.Score).ThenBy(i => i).ToArray();   // stable
        var precision = new double[order.Length];
        var recall = new double[order.Length];
        int tp = 0, fp = 0;
        for (int k = 0; k < order.Length; k++)
        {
            var (image, d) = dets[order[k]];
            var truth = _truth[image];
            float best = float.NegativeInfinity;
            int bestIndex = -1;
            for (int g = 0; g < truth.Count; g++)
            {
                if (truth[g].Class != cls) continue;
                float iou = BoxOps.Iou(d.Box, truth[g].Box);
                if (iou > best) { best = iou; bestIndex = g; }
            }
            if (bestIndex >= 0 && best > iouThreshold && !taken[image][bestIndex]) { tp++; taken[image][bestIndex] = true; }
            else fp++;
            recall[k] = positives == 0 ? 0 : (double)tp / positives;
            precision[k] = tp / Math.Max((double)(tp + fp), double.Epsilon);
        }
        return (precision, recall, positives);
    }

    /// <summary>All-point interpolated AP of class <paramref name="cls"/>; NaN when the class has no ground truth.</summary>
    public double AveragePrecision(int cls, double iouThreshold = 0.5)
    {
        var (precision, recall, positives) = PrecisionRecall(cls, iouThreshold);
        return positives == 0 ? double.NaN : AllPointAp(precision, recall);
    }

    /// <summary>The VOC all-point AP of a precision/recall sequence.</summary>
    public static double AllPointAp(ReadOnlySpan<double> precision, ReadOnlySpan<double> recall)
    {
        int n = precision.Length;
        var mrec = new double[n + 2];
        var mpre = new double[n + 2];
        mrec[n + 1] = 1;
        for (int i = 0; i < n; i++) { mrec[i + 1] = recall[i]; mpre[i + 1] = precision[i]; }
        for (int i = n; i >= 0; i--) mpre[i] = Math.Max(mpre[i], mpre[i + 1]);
        double ap = 0;
        for (int i = 0; i <= n; i++)
            if (mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
        return ap;
    }

    /// <summary>Mean AP over the classes with ground truth, at one IoU threshold (VOC mAP@0.5 by default); 0 when no
    /// class has ground truth.</summary>
    public double MeanAveragePrecision(double iouThreshold = 0.5)
    {
        double sum = 0;
        int classes = 0;
        for (int c = 0; c < Classes; c++)
        {
            double ap = AveragePrecision(c, iouThreshold);
            if (double.IsNaN(ap)) continue;
            sum += ap;
            classes++;
        }
        return classes == 0 ? 0 : sum / classes;
    }

    /// <summary>COCO-style mAP@[.5:.95]: the mean of <see cref="MeanAveragePrecision"/> at IoU 0.50, 0.55, …, 0.95.</summary>
    public double CocoMeanAveragePrecision()
    {
        double sum = 0;
        for (int k = 0; k < 10; k++) sum += MeanAveragePrecision(0.5 + 0.05 * k);
        return sum / 10;
    }
}

/// <summary>Decodes one image's network output into detections (boxes in [0, 1]).</summary>
public delegate List<DetectedBox> DetectionDecoder(ReadOnlySpan<float> output);

/// <summary>
/// Mean average precision as a metric over outputs and targets (<see cref="IOutputMetric{T}"/>) for
/// <see cref="Trainer.Fit"/>'s validation: decodes each output with a decoder (e.g. <see cref="YoloLoss.Decode"/>),
/// reads the ground truth from <see cref="DetectionTargets"/> rows and logs "map50" (or "map" for COCO-style
/// mAP@[.5:.95]). Computed on validation only (<see cref="OnTraining"/> is false).
/// </summary>
public sealed class MeanAveragePrecision : IOutputMetric<float>
{
    private readonly DetectionDecoder _decoder;
    private readonly DetectionEvaluator _evaluator;
    private readonly List<DetectedBox> _truth = [];
    private readonly bool _coco;

    /// <summary>mAP@0.5 (or COCO-style with <paramref name="coco"/>) of <paramref name="classes"/> classes.</summary>
    public MeanAveragePrecision(int classes, DetectionDecoder decoder, bool coco = false)
    {
        _decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        _evaluator = new DetectionEvaluator(classes);
        _coco = coco;
    }

    /// <inheritdoc/>
    public string Name => _coco ? "map" : "map50";

    /// <inheritdoc/>
    public bool OnTraining => false;

    /// <inheritdoc/>
    public void Reset() => _evaluator.Clear();

    /// <inheritdoc/>
    public void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int batch)
    {
        int outputSize = outputs.Length / batch, targetSize = targets.Length / batch;
        for (int n = 0; n < batch; n++)
        {
            _truth.Clear();
            DetectionTargets.Read(targets.Slice(n * targetSize, targetSize), _truth);
            _evaluator.Add(_decoder(outputs.Slice(n * outputSize, outputSize)), _truth);
        }
    }

    /// <inheritdoc/>
    public double Result => _evaluator.Images == 0 ? 0 : _coco ? _evaluator.CocoMeanAveragePrecision() : _evaluator.MeanAveragePrecision();
}
