using System.IO.Compression;
using System.Numerics;

namespace NetGen.Data;

/// <summary>
/// Ready-made data sets. Two are embedded in this assembly, so nothing is downloaded: the UCI 8×8 handwritten digits
/// and a 10,000-digit MNIST sample. Full MNIST or Fashion-MNIST are read from IDX files the user has. The origin and
/// licence of the embedded data are in the repository's data/README.md (UCI digits: CC BY 4.0; MNIST: CC BY-SA 3.0).
/// </summary>
public static class Datasets
{
    /// <summary>Where Debian's (and Ubuntu's) <c>dataset-fashion-mnist</c> package installs the Fashion-MNIST IDX files;
    /// pass it to <see cref="Mnist"/>.</summary>
    public const string DebianFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    private const string DigitsResource = "NetGen.Data.uci-digits-8x8.csv.gz";
    private const string MnistImagesResource = "NetGen.Data.mnist-10k-images-idx3-ubyte.gz";
    private const string MnistLabelsResource = "NetGen.Data.mnist-10k-labels-idx1-ubyte.gz";
    private const string WordsResource = "NetGen.Data.scowl-words-lowercase.txt.gz";
    private const string WordsNoticeResource = "NetGen.Data.scowl-words-COPYRIGHT.txt";
    private const int DigitsPixels = 64;
    private const int MnistSampleCount = 10000;

    /// <summary>
    /// The UCI "Optical Recognition of Handwritten Digits" test set: 1,797 digits of 8 × 8 = 64 pixels, scaled from
    /// 0..16 to [0, 1], with labels 0–9 (10 classes, 174 to 183 samples each). Row-major pixels, top row first.
    /// </summary>
    public static Dataset<T> UciDigits<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        byte[] text;
        int length;
        using (var gzip = new GZipStream(OpenResource(DigitsResource), CompressionMode.Decompress))
        using (var buffer = new MemoryStream(1 << 18))
        {
            gzip.CopyTo(buffer);
            text = buffer.GetBuffer();
            length = (int)buffer.Length;
        }
        return ParseDigitsCsv<T>(text.AsSpan(0, length));
    }

    /// <summary>
    /// The first <paramref name="count"/> digits of an embedded 10,000-digit MNIST sample: 28 × 28 = 784 pixels
    /// scaled from 0..255 to [0, 1], labels 0–9 (10 classes; in the full sample 1001, 1127, 991, 1032, 980, 863,
    /// 1014, 1070, 944 and 978 digits of each). The digits are in a fixed shuffled order, so any prefix holds every
    /// class in about these proportions.
    /// </summary>
    /// <param name="count">How many digits to take, 1 to 10,000.</param>
    public static Dataset<T> MnistSample<T>(int count = MnistSampleCount) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (count < 1 || count > MnistSampleCount)
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"The embedded MNIST sample holds {MnistSampleCount} digits: ask for 1 to {MnistSampleCount}. For more, read the full MNIST files with Datasets.Mnist.");
        IdxArray images, labels;
        using (var s = OpenResource(MnistImagesResource)) images = Idx.Read(s, "embedded resource " + MnistImagesResource);
        using (var s = OpenResource(MnistLabelsResource)) labels = Idx.Read(s, "embedded resource " + MnistLabelsResource);
        return Idx.ToDataset<T>(images, labels, count);
    }

    /// <summary>
    /// 63,875 English words, lowercase a–z only, one string each, in the order of the source list: SCOWL (Spell Checker
    /// Oriented Word Lists, Kevin Atkinson) as Debian's <c>wamerican</c> package ships it, embedded in this assembly
    /// with its copyright and permission notice (<see cref="EnglishWordsNotice"/>; see data/README.md).
    /// </summary>
    public static string[] EnglishWords()
    {
        using var gzip = new GZipStream(OpenResource(WordsResource), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var words = new List<string>(64000);
        while (reader.ReadLine() is { } line)
            if (line.Length > 0) words.Add(line);
        return [.. words];
    }

    /// <summary>The SCOWL copyright and permission notice that must accompany <see cref="EnglishWords"/>.</summary>
    public static string EnglishWordsNotice()
    {
        using var reader = new StreamReader(OpenResource(WordsNoticeResource));
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Reads MNIST, or Fashion-MNIST (same format), from the IDX files in <paramref name="directory"/> under their
    /// standard names: <c>train-images-idx3-ubyte</c> and <c>train-labels-idx1-ubyte</c> for the training set,
    /// <c>t10k-images-idx3-ubyte</c> and <c>t10k-labels-idx1-ubyte</c> for the test set, each gzipped (<c>.gz</c>)
    /// or not (the spelling <c>train-images.idx3-ubyte</c> is accepted too). Pixels are scaled to [0, 1] (÷ 255);
    /// 10 classes.
    /// </summary>
    /// <param name="directory">The directory holding the files, e.g. <see cref="DebianFashionMnistDirectory"/>.</param>
    /// <param name="train">True for the training set (60,000 images), false for the test set (10,000).</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message lists every path tried and where to
    /// get the files.</exception>
    /// <exception cref="InvalidDataException">A file is not a well-formed IDX file, or the counts differ.</exception>
    public static Dataset<T> Mnist<T>(string directory, bool train) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string prefix = train ? "train" : "t10k";
        string[] imageNames = Candidates(directory, prefix + "-images", "idx3-ubyte");
        string[] labelNames = Candidates(directory, prefix + "-labels", "idx1-ubyte");
        string? images = imageNames.FirstOrDefault(File.Exists);
        string? labels = labelNames.FirstOrDefault(File.Exists);
        if (images is null || labels is null)
        {
            string[] tried = images is null ? imageNames : labelNames;
            string where = Directory.Exists(directory) ? "" : $" (the directory '{directory}' does not exist)";
            throw new FileNotFoundException(
                $"The MNIST {(train ? "training" : "test")} {(images is null ? "images" : "labels")} were not found{where}; tried: {string.Join(", ", tried)}. " +
                $"Put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) " +
                $"of MNIST or Fashion-MNIST in one directory and pass it; on Debian or Ubuntu, `apt-get install dataset-fashion-mnist` installs " +
                $"Fashion-MNIST's in {DebianFashionMnistDirectory}. The embedded Datasets.MnistSample needs no files.",
                tried[0]);
        }
        return Idx.LoadImages<T>(images, labels);
    }

    private static string[] Candidates(string directory, string stem, string kind) =>
    [
        Path.Combine(directory, $"{stem}-{kind}.gz"),
        Path.Combine(directory, $"{stem}-{kind}"),
        Path.Combine(directory, $"{stem}.{kind}.gz"),
        Path.Combine(directory, $"{stem}.{kind}"),
    ];

    private static Stream OpenResource(string name) =>
        typeof(Datasets).Assembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"The embedded resource '{name}' is missing from {typeof(Datasets).Assembly.GetName().Name}: the assembly was built without its data files (data/ in the repository).");

    /// <summary>Parses lines of 64 pixel values 0..16 and a label 0..9, comma-separated, into a labelled set.</summary>
    internal static Dataset<T> ParseDigitsCsv<T>(ReadOnlySpan<byte> text) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lines = 0;
        for (int i = 0; i < text.Length; i++) if (text[i] == (byte)'\n') lines++;
        if (text.Length > 0 && text[^1] != (byte)'\n') lines++;

        Span<T> scale = stackalloc T[17];
        for (int v = 0; v <= 16; v++) scale[v] = T.CreateChecked(v / 16.0);
        var features = new T[lines * DigitsPixels];
        var labels = new int[lines];
        int count = 0, pos = 0, lineNumber = 0;
        while (pos < text.Length)
        {
            lineNumber++;
            int end = text[pos..].IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? text[pos..] : text.Slice(pos, end);
            pos = end < 0 ? text.Length : pos + end + 1;
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (line.IsEmpty) continue;
            int field = 0, value = 0, digits = 0;
            for (int i = 0; i <= line.Length; i++)
            {
                byte c = i < line.Length ? line[i] : (byte)',';
                if (c is >= (byte)'0' and <= (byte)'9' && digits < 3) { value = value * 10 + (c - '0'); digits++; continue; }
                if (c != (byte)',' || digits == 0 || field > DigitsPixels)
                    throw BadLine(lineNumber, $"field {field + 1} is not a small whole number followed by a comma");
                if (field < DigitsPixels)
                {
                    if (value > 16) throw BadLine(lineNumber, $"pixel {field + 1} is {value}, not in 0..16");
                    features[count * DigitsPixels + field] = scale[value];
                }
                else
                {
                    if (value > 9) throw BadLine(lineNumber, $"the label is {value}, not in 0..9");
                    labels[count] = value;
                }
                field++; value = 0; digits = 0;
            }
            if (field != DigitsPixels + 1) throw BadLine(lineNumber, $"it has {field} fields");
            count++;
        }
        if (count != lines)
        {
            Array.Resize(ref features, count * DigitsPixels);
            Array.Resize(ref labels, count);
        }
        return new Dataset<T>(features, DigitsPixels, labels, 10);
    }

    private static InvalidDataException BadLine(int line, string problem) =>
        new($"UCI digits CSV, line {line}: {problem}; expected 64 pixel values in 0..16 then a label in 0..9, separated by commas.");
}
