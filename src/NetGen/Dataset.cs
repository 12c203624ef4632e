using System.Numerics;
using System.Numerics.Tensors;

namespace NetGen;

/// <summary>
/// An in-memory data set: n samples of <see cref="FeatureSize"/> values each (row-major in one array), with either
/// a class label per sample or a target vector per sample.
/// </summary>
public sealed class Dataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _features;
    private readonly int[]? _labels;
    private readonly T[]? _targets;

    /// <summary>A classification set: <paramref name="labels"/> holds one class index in [0, classes) per sample.</summary>
    /// <param name="features">n × <paramref name="featureSize"/> values, row-major (the array is kept, not copied).</param>
    /// <param name="featureSize">Values per sample.</param>
    /// <param name="labels">One class index per sample.</param>
    /// <param name="classes">The number of classes.</param>
    /// <param name="allowNonFinite">Accept NaN and infinite feature values. False (the default) rejects them naming
    /// the sample and the feature: one NaN feature silently poisons every weight it reaches.</param>
    /// <exception cref="ArgumentException">The sizes do not match, a label is out of range, or a value is not finite.</exception>
    public Dataset(T[] features, int featureSize, int[] labels, int classes, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (features.Length != labels.Length * featureSize)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length} × {featureSize} = {labels.Length * featureSize} feature values, but {features.Length} were given.", nameof(features));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {labels[i]} of sample {i} is not in 0..{classes - 1}.");
        if (!allowNonFinite) CheckFinite(features, featureSize, "Feature", nameof(features));
        _features = features; _labels = labels; FeatureSize = featureSize; Classes = classes; TargetSize = classes;
        AllowsNonFinite = allowNonFinite;
    }

    /// <summary>A regression (or soft-target) set: <paramref name="targets"/> holds <paramref name="targetSize"/> values per sample.</summary>
    /// <param name="features">n × <paramref name="featureSize"/> values, row-major (the array is kept, not copied).</param>
    /// <param name="featureSize">Values per sample.</param>
    /// <param name="targets">n × <paramref name="targetSize"/> target values, row-major.</param>
    /// <param name="targetSize">Values per target.</param>
    /// <param name="allowNonFinite">Accept NaN and infinite features and targets. False (the default) rejects them
    /// naming the sample and the feature (or target value).</param>
    /// <exception cref="ArgumentException">The sizes do not match, or a value is not finite.</exception>
    public Dataset(T[] features, int featureSize, T[] targets, int targetSize, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetSize);
        if (features.Length % featureSize != 0 || targets.Length % targetSize != 0 || features.Length / featureSize != targets.Length / targetSize)
            throw new ArgumentException($"Features ({features.Length} values of {featureSize} per sample) and targets ({targets.Length} values of {targetSize} per sample) must describe the same whole number of samples.", nameof(targets));
        if (!allowNonFinite)
        {
            CheckFinite(features, featureSize, "Feature", nameof(features));
            CheckFinite(targets, targetSize, "Target value", nameof(targets));
        }
        _features = features; _targets = targets; FeatureSize = featureSize; TargetSize = targetSize;
        AllowsNonFinite = allowNonFinite;
    }

    /// <summary>Whether the set was made with <c>allowNonFinite: true</c> (its subsets and conversions inherit it).</summary>
    public bool AllowsNonFinite { get; }

    private static void CheckFinite(T[] values, int size, string what, string parameter)
    {
        // One vectorised pass: IndexOfMaxMagnitude returns the first NaN if there is one, else the largest magnitude
        // (an infinity if there is one). Only when that is not finite is the first offender looked for.
        int k = TensorPrimitives.IndexOfMaxMagnitude<T>(values);
        if (k < 0 || T.IsFinite(values[k])) return;
        int first = Array.FindIndex(values, v => !T.IsFinite(v));
        throw new ArgumentException(
            $"{what} {first % size} of sample {first / size} is {values[first]}: a data set's values must be finite (one NaN poisons every weight " +
            "it reaches during training). Clean the data (replace missing values, scale large ones), or pass allowNonFinite: true to keep them.",
            parameter);
    }

    /// <summary>Number of samples.</summary>
    public int Count => _features.Length / FeatureSize;

    /// <summary>Values per sample.</summary>
    public int FeatureSize { get; }

    /// <summary>Values per target (the number of classes for a labelled set).</summary>
    public int TargetSize { get; }

    /// <summary>Number of classes of a labelled set, 0 otherwise.</summary>
    public int Classes { get; }

    /// <summary>Whether samples carry class labels (else target vectors).</summary>
    public bool HasLabels => _labels is not null;

    /// <summary>All features, row-major.</summary>
    public ReadOnlySpan<T> AllFeatures => _features;

    /// <summary>All labels (empty for a regression set).</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>All targets (empty for a labelled set).</summary>
    public ReadOnlySpan<T> Targets => _targets;

    /// <summary>The features of sample <paramref name="i"/>.</summary>
    public ReadOnlySpan<T> Features(int i) => _features.AsSpan(i * FeatureSize, FeatureSize);

    /// <summary>The label of sample <paramref name="i"/>.</summary>
    public int Label(int i) => _labels is null ? throw new InvalidOperationException("This data set has target vectors, not labels.") : _labels[i];

    /// <summary>The target vector of sample <paramref name="i"/>.</summary>
    public ReadOnlySpan<T> Target(int i) => _targets is null ? throw new InvalidOperationException("This data set has labels, not target vectors.") : _targets.AsSpan(i * TargetSize, TargetSize);

    /// <summary>A new set holding the samples at <paramref name="indices"/>, in that order.</summary>
    public Dataset<T> Subset(ReadOnlySpan<int> indices)
    {
        var f = new T[indices.Length * FeatureSize];
        for (int k = 0; k < indices.Length; k++) Features(indices[k]).CopyTo(f.AsSpan(k * FeatureSize));
        if (_labels is not null)
        {
            var l = new int[indices.Length];
            for (int k = 0; k < indices.Length; k++) l[k] = _labels[indices[k]];
            return new Dataset<T>(f, FeatureSize, l, Classes, AllowsNonFinite);
        }
        var t = new T[indices.Length * TargetSize];
        for (int k = 0; k < indices.Length; k++) Target(indices[k]).CopyTo(t.AsSpan(k * TargetSize));
        return new Dataset<T>(f, FeatureSize, t, TargetSize, AllowsNonFinite);
    }

    /// <summary>Shuffles (seeded) and splits off the last <paramref name="testFraction"/> of the samples as a test set.</summary>
    public (Dataset<T> Train, Dataset<T> Test) Split(double testFraction, int seed)
    {
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be strictly between 0 and 1, e.g. 0.2.");
        int[] order = Enumerable.Range(0, Count).ToArray();
        new SeededRandom(seed).Shuffle<int>(order);
        int testCount = Math.Max(1, (int)Math.Round(Count * testFraction));
        return (Subset(order.AsSpan(0, Count - testCount)), Subset(order.AsSpan(Count - testCount)));
    }

    /// <summary>The same samples in another precision.</summary>
    public Dataset<TOther> Convert<TOther>() where TOther : unmanaged, IFloatingPointIeee754<TOther>
    {
        var f = new TOther[_features.Length];
        for (int i = 0; i < f.Length; i++) f[i] = TOther.CreateChecked(_features[i]);
        if (_labels is not null) return new Dataset<TOther>(f, FeatureSize, _labels, Classes, AllowsNonFinite);
        var t = new TOther[_targets!.Length];
        for (int i = 0; i < t.Length; i++) t[i] = TOther.CreateChecked(_targets[i]);
        return new Dataset<TOther>(f, FeatureSize, t, TargetSize, AllowsNonFinite);
    }
}
