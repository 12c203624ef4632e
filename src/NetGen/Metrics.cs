using System.Globalization;
using System.Numerics;
using System.Text;

namespace NetGen;

/// <summary>
/// A classification metric accumulated over batches (a Keras "stateful" metric): <see cref="Reset"/>, then
/// <see cref="Update{T}"/> once per batch, then <see cref="Result"/>. <see cref="Trainer.Fit"/> resets its metrics
/// each epoch and logs them by <see cref="Name"/> (and as "val_" + name on the validation set).
/// <para>
/// A sample's predicted class is the index of its largest output, or, for a network with a single output, 1 when
/// the output is ≥ 0.5 (two classes). For a data set of target vectors, the trainer passes the class of each target
/// read the same way.
/// </para>
/// </summary>
public interface IMetric
{
    /// <summary>The name logged in the history, e.g. "accuracy".</summary>
    string Name { get; }

    /// <summary>Forgets everything accumulated.</summary>
    void Reset();

    /// <summary>Accumulates one batch: <paramref name="outputs"/> holds labels.Length × <paramref name="outputSize"/>
    /// network outputs, <paramref name="labels"/> the true class of each sample. Must not allocate after the first call.</summary>
    void Update<T>(ReadOnlySpan<T> outputs, int outputSize, ReadOnlySpan<int> labels) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The value over everything accumulated since <see cref="Reset"/> (0 before any sample).</summary>
    double Result { get; }
}

/// <summary>Factories for the built-in metrics, named as Keras names them.</summary>
public static class Metrics
{
    /// <summary>Fraction of samples whose predicted class is the label ("accuracy").</summary>
    public static IMetric Accuracy() => new AccuracyMetric();

    /// <summary>Fraction of samples whose label is among the <paramref name="k"/> largest outputs
    /// ("top_k_accuracy" with k written out, e.g. "top_5_accuracy"). Ties at the boundary count as in the top k, as
    /// in TensorFlow's <c>in_top_k</c>.</summary>
    public static IMetric TopKAccuracy(int k) => new TopKAccuracyMetric(k);

    /// <summary>Precision TP/(TP + FP) of class <paramref name="classIndex"/> ("precision_3"), or the macro average
    /// over all classes when null ("precision"). A class never predicted has precision 0.</summary>
    public static IMetric Precision(int? classIndex = null) => new ConfusionMetric(ConfusionMetric.Kind.Precision, classIndex);

    /// <summary>Recall TP/(TP + FN) of class <paramref name="classIndex"/> ("recall_3"), or the macro average
    /// ("recall"). A class with no samples has recall 0.</summary>
    public static IMetric Recall(int? classIndex = null) => new ConfusionMetric(ConfusionMetric.Kind.Recall, classIndex);

    /// <summary>F1 = 2PR/(P + R) of class <paramref name="classIndex"/> ("f1_3"), or the macro average of the
    /// per-class F1 scores ("f1"). 0 when P + R = 0.</summary>
    public static IMetric F1Score(int? classIndex = null) => new ConfusionMetric(ConfusionMetric.Kind.F1, classIndex);

    /// <summary>The class a row of outputs predicts: the index of the largest value (the first on ties), or for a
    /// single output, 1 when it is ≥ 0.5.</summary>
    public static int PredictedClass<T>(ReadOnlySpan<T> outputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outputs.Length == 1) return outputs[0] >= T.CreateChecked(0.5) ? 1 : 0;
        int best = 0;
        for (int j = 1; j < outputs.Length; j++) if (outputs[j] > outputs[best]) best = j;
        return best;
    }

    internal static void CheckBatch(int outputs, int outputSize, int labels, string metric)
    {
        if (outputSize < 1 || outputs != labels * outputSize)
            throw new ArgumentException(
                $"{metric}: {outputs} outputs do not hold {labels} samples of {outputSize} values: pass batch × outputSize outputs and one label per sample.");
    }
}

internal sealed class AccuracyMetric : IMetric
{
    private long _correct, _count;

    public string Name => "accuracy";

    public void Reset() => _correct = _count = 0;

    public void Update<T>(ReadOnlySpan<T> outputs, int outputSize, ReadOnlySpan<int> labels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Metrics.CheckBatch(outputs.Length, outputSize, labels.Length, Name);
        for (int k = 0; k < labels.Length; k++)
            if (Metrics.PredictedClass(outputs.Slice(k * outputSize, outputSize)) == labels[k]) _correct++;
        _count += labels.Length;
    }

    public double Result => _count == 0 ? 0 : (double)_correct / _count;
}

internal sealed class TopKAccuracyMetric : IMetric
{
    private readonly int _k;
    private long _correct, _count;

    public TopKAccuracyMetric(int k)
    {
        _k = k >= 1 ? k : throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1, e.g. 5 for top-5 accuracy.");
        Name = string.Create(CultureInfo.InvariantCulture, $"top_{k}_accuracy");
    }

    public string Name { get; }

    public void Reset() => _correct = _count = 0;

    public void Update<T>(ReadOnlySpan<T> outputs, int outputSize, ReadOnlySpan<int> labels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Metrics.CheckBatch(outputs.Length, outputSize, labels.Length, Name);
        for (int n = 0; n < labels.Length; n++)
        {
            ReadOnlySpan<T> row = outputs.Slice(n * outputSize, outputSize);
            bool hit;
            if (outputSize == 1) hit = _k >= 2 || Metrics.PredictedClass(row) == labels[n];
            else
            {
                T target = row[labels[n]];
                int greater = 0;
                foreach (T v in row) if (v > target) greater++;
                hit = greater < _k;
            }
            if (hit) _correct++;
        }
        _count += labels.Length;
    }

    public double Result => _count == 0 ? 0 : (double)_correct / _count;
}

internal sealed class ConfusionMetric(ConfusionMetric.Kind kind, int? classIndex) : IMetric
{
    internal enum Kind { Precision, Recall, F1 }

    private ConfusionMatrix? _matrix;

    public string Name { get; } = (kind switch { Kind.Precision => "precision", Kind.Recall => "recall", _ => "f1" }) +
        (classIndex is int c ? (c >= 0 ? "_" + c.ToString(CultureInfo.InvariantCulture) : throw new ArgumentOutOfRangeException(nameof(classIndex), c, "A class index is ≥ 0.")) : "");

    public void Reset() => _matrix?.Clear();

    public void Update<T>(ReadOnlySpan<T> outputs, int outputSize, ReadOnlySpan<int> labels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Metrics.CheckBatch(outputs.Length, outputSize, labels.Length, Name);
        int classes = outputSize == 1 ? 2 : outputSize;
        if (classIndex >= classes)
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"{Name}: class {classIndex} does not exist; the network predicts classes 0..{classes - 1}.");
        _matrix ??= new ConfusionMatrix(classes);
        if (_matrix.Classes != classes)
            throw new InvalidOperationException($"{Name} was used with {_matrix.Classes} classes and now gets {classes}: use one metric object per network.");
        _matrix.Add(outputs, outputSize, labels);
    }

    public double Result
    {
        get
        {
            if (_matrix is null || _matrix.Total == 0) return 0;
            return (kind, classIndex) switch
            {
                (Kind.Precision, int c) => _matrix.Precision(c),
                (Kind.Recall, int c) => _matrix.Recall(c),
                (Kind.F1, int c) => _matrix.F1(c),
                (Kind.Precision, null) => _matrix.MacroPrecision,
                (Kind.Recall, null) => _matrix.MacroRecall,
                _ => _matrix.MacroF1,
            };
        }
    }
}

/// <summary>
/// A confusion matrix: entry (actual, predicted) counts the samples of class <c>actual</c> predicted as
/// <c>predicted</c>. Gives per-class precision, recall and F1 and their macro averages (the unweighted mean over
/// every class, as scikit-learn's <c>average="macro"</c> with <c>labels=range(classes)</c>; a ratio with a zero
/// denominator is 0), and prints as an aligned table.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;
    private readonly string[] _names;

    /// <summary>An empty matrix for <paramref name="classes"/> classes, named by <paramref name="classNames"/> (or
    /// by their indices).</summary>
    public ConfusionMatrix(int classes, IReadOnlyList<string>? classNames = null)
    {
        if (classes < 2)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "A confusion matrix needs at least 2 classes.");
        if (classNames is not null && classNames.Count != classes)
            throw new ArgumentException($"{classNames.Count} class names were given for {classes} classes: give one name per class.", nameof(classNames));
        Classes = classes;
        _counts = new long[classes * classes];
        _names = classNames?.ToArray() ?? Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>The class names (indices when none were given).</summary>
    public IReadOnlyList<string> ClassNames => _names;

    /// <summary>Samples of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted] => _counts[Index(actual) * Classes + Index(predicted)];

    /// <summary>Number of samples counted.</summary>
    public long Total { get; private set; }

    /// <summary>Counts one sample.</summary>
    public void Add(int actual, int predicted)
    {
        _counts[Index(actual) * Classes + Index(predicted)]++;
        Total++;
    }

    /// <summary>Counts a batch of network outputs (labels.Length × <paramref name="outputSize"/> values) against
    /// their labels; the predicted class is read as <see cref="Metrics.PredictedClass{T}"/> does.</summary>
    public void Add<T>(ReadOnlySpan<T> outputs, int outputSize, ReadOnlySpan<int> labels) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Metrics.CheckBatch(outputs.Length, outputSize, labels.Length, nameof(ConfusionMatrix));
        for (int n = 0; n < labels.Length; n++)
            Add(labels[n], Metrics.PredictedClass(outputs.Slice(n * outputSize, outputSize)));
    }

    /// <summary>Sets every count to zero.</summary>
    public void Clear()
    {
        Array.Clear(_counts);
        Total = 0;
    }

    /// <summary>Runs <paramref name="network"/> over a labelled <paramref name="data"/> set in inference mode (the
    /// training mode is restored afterwards) and counts its predictions.</summary>
    /// <param name="network">The classifier.</param>
    /// <param name="data">A labelled data set.</param>
    /// <param name="classNames">Names for the table; null for the class indices.</param>
    /// <param name="batchSize">Samples per forward pass; 0 for <see cref="INetwork{T}.MaxBatch"/>.</param>
    public static ConfusionMatrix Compute<T>(INetwork<T> network, Dataset<T> data, IReadOnlyList<string>? classNames = null, int batchSize = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (!data.HasLabels)
            throw new ArgumentException("A confusion matrix needs a labelled data set (class indices), not target vectors.", nameof(data));
        if (batchSize == 0) batchSize = network.MaxBatch;
        if (batchSize < 1 || batchSize > network.MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"Pass a batch size from 1 to {network.MaxBatch}, or 0 for {network.MaxBatch}.");
        var matrix = new ConfusionMatrix(Math.Max(2, data.Classes), classNames);
        bool training = network.Training;
        try
        {
            network.Training = false;
            for (int start = 0; start < data.Count; start += batchSize)
            {
                int n = Math.Min(batchSize, data.Count - start);
                ReadOnlySpan<T> output = network.Forward(data.AllFeatures.Slice(start * data.FeatureSize, n * data.FeatureSize), n);
                matrix.Add(output, output.Length / n, data.Labels.Slice(start, n));
            }
        }
        finally { network.Training = training; }
        return matrix;
    }

    /// <summary>Samples of class <paramref name="c"/> (its row sum).</summary>
    public long Support(int c)
    {
        long s = 0;
        for (int p = 0; p < Classes; p++) s += this[c, p];
        return s;
    }

    /// <summary>Samples predicted as class <paramref name="c"/> (its column sum).</summary>
    public long Predicted(int c)
    {
        long s = 0;
        for (int a = 0; a < Classes; a++) s += this[a, c];
        return s;
    }

    /// <summary>Fraction of samples on the diagonal.</summary>
    public double Accuracy
    {
        get
        {
            long correct = 0;
            for (int c = 0; c < Classes; c++) correct += this[c, c];
            return Total == 0 ? 0 : (double)correct / Total;
        }
    }

    /// <summary>TP / (TP + FP) of class <paramref name="c"/>; 0 when it is never predicted.</summary>
    public double Precision(int c) => Ratio(this[c, c], Predicted(c));

    /// <summary>TP / (TP + FN) of class <paramref name="c"/>; 0 when it has no samples.</summary>
    public double Recall(int c) => Ratio(this[c, c], Support(c));

    /// <summary>2PR / (P + R) of class <paramref name="c"/>; 0 when P + R = 0.</summary>
    public double F1(int c)
    {
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>The mean of the per-class precisions.</summary>
    public double MacroPrecision
    {
        get
        {
            double sum = 0;
            for (int c = 0; c < Classes; c++) sum += Precision(c);
            return sum / Classes;
        }
    }

    /// <summary>The mean of the per-class recalls.</summary>
    public double MacroRecall
    {
        get
        {
            double sum = 0;
            for (int c = 0; c < Classes; c++) sum += Recall(c);
            return sum / Classes;
        }
    }

    /// <summary>The mean of the per-class F1 scores (not the F1 of the macro precision and recall).</summary>
    public double MacroF1
    {
        get
        {
            double sum = 0;
            for (int c = 0; c < Classes; c++) sum += F1(c);
            return sum / Classes;
        }
    }

    /// <summary>The matrix as an aligned table, actual classes down, predicted classes across:
    /// <code>
    /// actual \ predicted  cat  dog  bird
    /// cat                   5    1     0
    /// dog                   2    3     0
    /// bird                  0    0     4
    /// </code></summary>
    public override string ToString()
    {
        const string corner = "actual \\ predicted";
        int first = Math.Max(corner.Length, _names.Max(n => n.Length));
        var widths = new int[Classes];
        for (int p = 0; p < Classes; p++)
        {
            widths[p] = _names[p].Length;
            for (int a = 0; a < Classes; a++) widths[p] = Math.Max(widths[p], this[a, p].ToString(CultureInfo.InvariantCulture).Length);
        }
        var sb = new StringBuilder();
        sb.Append(corner.PadRight(first));
        for (int p = 0; p < Classes; p++) sb.Append("  ").Append(_names[p].PadLeft(widths[p]));
        sb.AppendLine();
        for (int a = 0; a < Classes; a++)
        {
            sb.Append(_names[a].PadRight(first));
            for (int p = 0; p < Classes; p++) sb.Append("  ").Append(this[a, p].ToString(CultureInfo.InvariantCulture).PadLeft(widths[p]));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>Per-class precision, recall, F1 and support, then the macro averages and the accuracy, as an aligned
    /// table in the layout of scikit-learn's <c>classification_report</c> (four decimals).</summary>
    public string Report()
    {
        const string macro = "macro avg", accuracy = "accuracy";
        int first = Math.Max(macro.Length, _names.Max(n => n.Length));
        int supportWidth = Math.Max("support".Length, Total.ToString(CultureInfo.InvariantCulture).Length);
        var sb = new StringBuilder();
        string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture).PadLeft(9);
        string S(long v) => v.ToString(CultureInfo.InvariantCulture).PadLeft(supportWidth);
        sb.Append("".PadRight(first)).Append(" precision").Append("    recall").Append("        f1").Append("  ").Append("support".PadLeft(supportWidth)).AppendLine();
        for (int c = 0; c < Classes; c++)
            sb.Append(_names[c].PadRight(first)).Append(' ').Append(F(Precision(c))).Append(' ').Append(F(Recall(c))).Append(' ').Append(F(F1(c))).Append("  ").Append(S(Support(c))).AppendLine();
        sb.AppendLine();
        sb.Append(accuracy.PadRight(first)).Append(' ').Append("".PadLeft(9)).Append(' ').Append("".PadLeft(9)).Append(' ').Append(F(Accuracy)).Append("  ").Append(S(Total)).AppendLine();
        sb.Append(macro.PadRight(first)).Append(' ').Append(F(MacroPrecision)).Append(' ').Append(F(MacroRecall)).Append(' ').Append(F(MacroF1)).Append("  ").Append(S(Total)).AppendLine();
        return sb.ToString();
    }

    private int Index(int c) =>
        (uint)c < (uint)Classes ? c : throw new ArgumentOutOfRangeException(nameof(c), c, $"Class {c} is not in 0..{Classes - 1}.");

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}
