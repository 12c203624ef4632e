namespace NetGen.Detection;

/// <summary>
/// The target layout the detection losses and metrics read: per image, <c>maxObjects</c> rows of
/// (class, x1, y1, x2, y2) with coordinates in [0, 1] of the image side; unused rows have class −1. A data set of such
/// rows is an ordinary target <see cref="Dataset{T}"/> with 5·maxObjects values per sample.
/// </summary>
public static class DetectionTargets
{
    /// <summary>Values per object row.</summary>
    public const int Fields = 5;

    /// <summary>Writes <paramref name="objects"/> (boxes in [0, 1]) into one image's target rows, padding with class −1.</summary>
    public static void Write(IReadOnlyList<DetectedBox> objects, Span<float> target)
    {
        if (target.Length % Fields != 0 || objects.Count > target.Length / Fields)
            throw new ArgumentException($"{objects.Count} objects do not fit {target.Length} target values ({Fields} per object).", nameof(target));
        target.Clear();
        for (int i = 0; i < target.Length / Fields; i++) target[i * Fields] = -1;
        for (int i = 0; i < objects.Count; i++)
        {
            var o = objects[i];
            target[i * Fields] = o.Class;
            target[i * Fields + 1] = o.Box.X1; target[i * Fields + 2] = o.Box.Y1;
            target[i * Fields + 3] = o.Box.X2; target[i * Fields + 4] = o.Box.Y2;
        }
    }

    /// <summary>The objects of one image's target rows (class ≥ 0), appended to <paramref name="into"/> with score 1.</summary>
    public static void Read(ReadOnlySpan<float> target, List<DetectedBox> into)
    {
        for (int i = 0; i + Fields <= target.Length; i += Fields)
        {
            if (target[i] < 0) continue;
            into.Add(new DetectedBox(new Box(target[i + 1], target[i + 2], target[i + 3], target[i + 4]), (int)target[i], 1));
        }
    }
}
