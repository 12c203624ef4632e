using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Text;

namespace NetGen;

/// <summary>The element types of the IDX format; each value is the type code stored in byte 3 of the header.</summary>
public enum IdxType : byte
{
    /// <summary>0x08: unsigned byte (MNIST's images and labels).</summary>
    UnsignedByte = 0x08,
    /// <summary>0x09: signed byte.</summary>
    SignedByte = 0x09,
    /// <summary>0x0B: big-endian 16-bit signed integer.</summary>
    Int16 = 0x0B,
    /// <summary>0x0C: big-endian 32-bit signed integer.</summary>
    Int32 = 0x0C,
    /// <summary>0x0D: big-endian IEEE 754 single.</summary>
    Single = 0x0D,
    /// <summary>0x0E: big-endian IEEE 754 double.</summary>
    Double = 0x0E,
}

/// <summary>
/// An n-dimensional array read from (or to be written to) an IDX file: its element type, its shape and its elements'
/// bytes exactly as the file stores them (row-major; big-endian for multi-byte types).
/// </summary>
public sealed class IdxArray
{
    /// <summary>An unsigned-byte array (the type of MNIST's images and labels).</summary>
    /// <param name="shape">The size of each dimension, outermost first, e.g. [10000, 28, 28].</param>
    /// <param name="data">The elements, row-major; its length must be the product of <paramref name="shape"/>.</param>
    public IdxArray(int[] shape, byte[] data) : this(IdxType.UnsignedByte, shape, data) { }

    /// <summary>An array of any IDX element type.</summary>
    /// <param name="type">The element type.</param>
    /// <param name="shape">The size of each dimension, outermost first (1 to 255 dimensions).</param>
    /// <param name="data">The elements' bytes, row-major, big-endian for multi-byte types; its length must be the
    /// product of <paramref name="shape"/> times the element size.</param>
    public IdxArray(IdxType type, int[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (!Enum.IsDefined(type))
            throw new ArgumentOutOfRangeException(nameof(type), type, $"0x{(byte)type:X2} is not an IDX element type; use one of {Idx.TypeList}.");
        if (shape.Length is 0 or > 255)
            throw new ArgumentException($"An IDX array has 1 to 255 dimensions, but the shape has {shape.Length}: give at least one dimension, e.g. [count].", nameof(shape));
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(shape), shape[i], $"Dimension {i} of the shape is {shape[i]}; sizes must be zero or more.");
            count = Math.Min(count * shape[i], (long)Array.MaxLength + 1); // capped: past that no byte[] can match anyway
        }
        int size = Idx.ElementSize(type);
        if (count * size != data.Length)
            throw new ArgumentException(
                $"The shape {Idx.FormatShape(shape)} of {Idx.TypeName(type)} needs {count * size} bytes of data, but {data.Length} were given: " +
                "pass exactly product(shape) × element size bytes.", nameof(data));
        Type = type; Shape = shape; Data = data; Count = count;
    }

    /// <summary>The element type.</summary>
    public IdxType Type { get; }

    /// <summary>The size of each dimension, outermost first (e.g. [10000, 28, 28] for MNIST's test images).
    /// Do not modify it.</summary>
    public int[] Shape { get; }

    /// <summary>The elements' bytes as the file stores them: row-major, big-endian for multi-byte types. For
    /// <see cref="IdxType.UnsignedByte"/> these are the values themselves.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements (the product of <see cref="Shape"/>).</summary>
    public long Count { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementSize => Idx.ElementSize(Type);

    /// <summary>Where the array was read from (a file path or resource name), used in error messages; null when unknown.</summary>
    public string? Source { get; init; }

    /// <summary>Element <paramref name="index"/> (row-major) converted to <see cref="double"/>, whatever the element type.</summary>
    public double GetDouble(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int i = checked((int)(index * ElementSize));
        ReadOnlySpan<byte> d = Data;
        return Type switch
        {
            IdxType.UnsignedByte => d[i],
            IdxType.SignedByte => (sbyte)d[i],
            IdxType.Int16 => BinaryPrimitives.ReadInt16BigEndian(d[i..]),
            IdxType.Int32 => BinaryPrimitives.ReadInt32BigEndian(d[i..]),
            IdxType.Single => BinaryPrimitives.ReadSingleBigEndian(d[i..]),
            _ => BinaryPrimitives.ReadDoubleBigEndian(d[i..]),
        };
    }

    /// <summary>All elements converted to <see cref="double"/>, row-major.</summary>
    public double[] ToDoubles()
    {
        var result = new double[Count];
        for (long i = 0; i < result.Length; i++) result[i] = GetDouble(i);
        return result;
    }
}

/// <summary>
/// Reads and writes the IDX format of MNIST and Fashion-MNIST: two zero bytes, a type byte, a dimension count, the
/// dimensions as big-endian 32-bit integers, then the data. Gzipped files (as distributed) are recognised by their
/// magic bytes 1F 8B and decompressed on the fly.
/// </summary>
public static class Idx
{
    internal const string TypeList = "0x08 (unsigned byte), 0x09 (signed byte), 0x0B (int16), 0x0C (int32), 0x0D (float32), 0x0E (float64)";

    /// <summary>
    /// The largest data section <see cref="Read(string, long)"/> accepts by default: 256 MiB, room for every
    /// MNIST-class data set (MNIST's and Fashion-MNIST's 60,000 training images are 47 MB, EMNIST Letters' 124,800
    /// are 98 MB). A header that promises more is rejected before anything is allocated; pass a larger
    /// <c>maxBytes</c> to read a bigger file (EMNIST ByClass' training images are 547 MB).
    /// </summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>Trailing bytes counted past the data before a file is rejected (the count in the message then says
    /// "at least"), so that a stream that inflates without end is not read to its end.</summary>
    private const int TrailingCountLimit = 1 << 20;

    /// <summary>Reads an IDX file, gzipped or not.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">The largest data section accepted (the header's shape × element size); a header that
    /// promises more is rejected before any memory is allocated. The data is read straight into one array of exactly
    /// that size, so memory is bounded by the data, whatever the compressed file inflates to.</param>
    /// <exception cref="InvalidDataException">The file is not a well-formed IDX file; the message names the file,
    /// what was expected and what was found.</exception>
    public static IdxArray Read(string path, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path, maxBytes);
    }

    /// <summary>Reads an IDX array from <paramref name="stream"/> (gzipped or not) to its end; the stream is left open.</summary>
    /// <param name="stream">The stream to read.</param>
    /// <param name="sourceName">A file path or resource name to name in error messages (and in <see cref="IdxArray.Source"/>).</param>
    /// <param name="maxBytes">The largest data section accepted; see <see cref="Read(string, long)"/>.</param>
    /// <exception cref="InvalidDataException">The data is not a well-formed IDX array; the message names the
    /// source, what was expected and what was found.</exception>
    public static IdxArray Read(Stream stream, string? sourceName = null, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        string what = sourceName is null ? "IDX data" : $"IDX file '{sourceName}'";
        Span<byte> magic = stackalloc byte[2];
        int got = ReadFully(stream, magic);
        long? rawLength = stream.CanSeek ? stream.Length - stream.Position + got : null;
        var prefixed = new PrefixedStream(magic[..got].ToArray(), stream);
        if (got == 2 && magic[0] == 0x1F && magic[1] == 0x8B)
        {
            IdxArray array;
            long inflated;
            using (var gzip = new GZipStream(prefixed, CompressionMode.Decompress, leaveOpen: true))
            {
                try { (array, inflated) = ReadRaw(gzip, what, sourceName, null, gzipped: true, maxBytes); }
                catch (InvalidDataException ex) when (!ex.Message.StartsWith(what, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{what}: the gzip compression is corrupt ({ex.Message}). The file is damaged; download it again.", ex);
                }
            }
            // GZipStream stops silently at bytes after a gzip member that do not start another member. Such bytes
            // are either still unread, or were the last bytes it was given: then the gzip trailer's ISIZE (the last
            // 4 bytes, the inflated size mod 2^32) does not match what was inflated.
            bool unread = prefixed.ReadByte() >= 0;
            if (unread || prefixed.Last4 is not { } isize || isize != (uint)inflated)
                throw new InvalidDataException(
                    $"{what}: there are bytes after the gzip data (the file continues past the end of its compressed stream). " +
                    "The file is damaged or something was appended to it; download it again. (A file of several concatenated gzip members is " +
                    "not read either: decompress it and gzip it again.)");
            return array;
        }
        return ReadRaw(prefixed, what, sourceName, rawLength, gzipped: false, maxBytes).Array;
    }

    private static (IdxArray Array, long Read) ReadRaw(Stream s, string what, string? sourceName, long? totalLength, bool gzipped, long maxBytes)
    {
        string content = gzipped ? "the decompressed data" : "the file";
        const string fix = "The file is incomplete or damaged; download it again.";
        Span<byte> head = stackalloc byte[4];
        int got = ReadFully(s, head);
        if (got < 4)
            throw new InvalidDataException(
                $"{what}: truncated header: an IDX header needs at least 4 bytes (00 00, a type byte, a dimension count), but {content} holds only {got}. {fix}");
        if (head[0] != 0 || head[1] != 0)
            throw new InvalidDataException(
                $"{what}: not an IDX file: expected it to start with the bytes 00 00 followed by a type byte and a dimension count, " +
                $"but it starts with {Hex(head)}{Guess(head)}. Pass an IDX file such as train-images-idx3-ubyte or train-images-idx3-ubyte.gz.");
        var type = (IdxType)head[2];
        if (!Enum.IsDefined(type))
            throw new InvalidDataException(
                $"{what}: unsupported element type code 0x{head[2]:X2} in byte 2 of the header (header {Hex(head)}); expected one of {TypeList}. " +
                "The file is damaged or not an IDX file.");
        int rank = head[3];
        if (rank == 0)
            throw new InvalidDataException(
                $"{what}: the header declares 0 dimensions (byte 3 is 00); expected at least 1 (3 for images: count × rows × columns, 1 for labels). " +
                "The file is damaged or not an IDX file.");
        int headerLength = 4 + 4 * rank;
        Span<byte> dims = stackalloc byte[4 * rank];
        got = ReadFully(s, dims);
        if (got < dims.Length)
            throw new InvalidDataException(
                $"{what}: truncated header: {rank} dimensions need a {headerLength}-byte header, but {content} ends after {4 + got} bytes. {fix}");
        var shape = new int[rank];
        BigInteger elements = BigInteger.One;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(dims[(4 * i)..]);
            if (shape[i] < 0)
                throw new InvalidDataException(
                    $"{what}: dimension {i} in the header is {shape[i]} ({Hex(dims.Slice(4 * i, 4))}); sizes must be zero or more. The file is damaged or not an IDX file.");
            elements *= shape[i];
        }
        int size = ElementSize(type);
        BigInteger bytes = elements * size;
        if (bytes > Array.MaxLength)
            throw new InvalidDataException(
                $"{what}: the header's shape {FormatShape(shape)} of {TypeName(type)} describes {bytes} bytes of data, more than one array can hold " +
                $"({Array.MaxLength} bytes). The header is damaged or this is not an IDX file.");
        if (bytes > maxBytes)
            throw new InvalidDataException(
                $"{what}: the header's shape {FormatShape(shape)} of {TypeName(type)} promises {bytes} bytes of data, more than the {maxBytes} allowed (maxBytes). " +
                "If the file is genuine, pass a larger maxBytes to Idx.Read; otherwise it is damaged or not an IDX file.");
        int expected = (int)bytes;
        string promise = $"the header (shape {FormatShape(shape)}, {TypeName(type)}) promises {Plural(expected, "byte")} of data after the {headerLength}-byte header";

        if (totalLength is long total)
        {
            long present = total - headerLength;
            if (present < expected)
                throw Truncated(what, promise, content, present, expected, fix);
            if (present > expected)
                throw Trailing(what, promise, content, present, expected, atLeast: false);
        }

        // The destination is allocated once, at the size the header promises (checked against maxBytes above), and
        // filled straight from the stream: memory is bounded by the data, however much the stream holds.
        byte[] data = new byte[expected];
        int filled = ReadFully(s, data);
        if (filled < expected)
            throw Truncated(what, promise, content, filled, expected, fix);
        long extra = 0;
        Span<byte> scratch = stackalloc byte[4096];
        for (int n; extra < TrailingCountLimit && (n = s.Read(scratch)) > 0;) extra += n;
        if (extra > 0)
            throw Trailing(what, promise, content, expected + extra, expected, atLeast: extra >= TrailingCountLimit);
        return (new IdxArray(type, shape, data) { Source = sourceName }, headerLength + (long)expected);
    }

    private static InvalidDataException Truncated(string what, string promise, string content, long present, int expected, string fix) =>
        new($"{what}: truncated data: {promise}, but {content} holds only {present} ({expected - present} missing). {fix}");

    private static InvalidDataException Trailing(string what, string promise, string content, long present, int expected, bool atLeast) =>
        new($"{what}: {(atLeast ? "at least " : "")}{Plural(present - expected, "unexpected byte")} after the data: {promise}, but {content} holds {(atLeast ? "at least " : "")}{present}. " +
            "The dimensions in the header do not match the data: the file is damaged or was written with the wrong shape.");

    /// <summary>Writes <paramref name="array"/> in IDX format, gzipped when <paramref name="gzip"/> is true.
    /// <paramref name="stream"/> is left open.</summary>
    public static void Write(Stream stream, IdxArray array, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        if (gzip)
        {
            using var z = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
            WriteRaw(z, array);
        }
        else WriteRaw(stream, array);
    }

    /// <summary>Writes <paramref name="array"/> to the file <paramref name="path"/>, gzipped when the name ends in ".gz".</summary>
    public static void Write(string path, IdxArray array)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(stream, array, path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase));
    }

    private static void WriteRaw(Stream s, IdxArray array)
    {
        Span<byte> header = stackalloc byte[4 + 4 * array.Shape.Length];
        header[0] = 0; header[1] = 0; header[2] = (byte)array.Type; header[3] = (byte)array.Shape.Length;
        for (int i = 0; i < array.Shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header[(4 + 4 * i)..], array.Shape[i]);
        s.Write(header);
        s.Write(array.Data);
    }

    /// <summary>
    /// Loads an MNIST-style labelled image set: an images file (unsigned bytes, count × rows × columns) and a labels
    /// file (unsigned bytes, count), gzipped or not. Pixels are scaled to [0, 1] (÷ 255); the set has
    /// max(largest label + 1, 10) classes.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is malformed, has the wrong type or rank, or the counts differ.</exception>
    public static Dataset<T> LoadImages<T>(string imagesPath, string labelsPath) where T : unmanaged, IFloatingPointIeee754<T>
        => ToDataset<T>(Read(imagesPath), Read(labelsPath));

    /// <summary>
    /// Makes a labelled data set from an images array (unsigned bytes, count × rows × columns, or count × features)
    /// and a labels array (unsigned bytes, count), keeping the first <paramref name="maxCount"/> samples. Pixels are
    /// scaled to [0, 1] (÷ 255); the set has max(largest label + 1, 10) classes.
    /// </summary>
    /// <exception cref="InvalidDataException">An array has the wrong type or rank, or the counts differ.</exception>
    public static Dataset<T> ToDataset<T>(IdxArray images, IdxArray labels, int maxCount = int.MaxValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        string imagesName = images.Source is null ? "The images array" : $"The images file '{images.Source}'";
        string labelsName = labels.Source is null ? "the labels array" : $"the labels file '{labels.Source}'";
        if (images.Type != IdxType.UnsignedByte || images.Shape.Length < 2)
            throw new InvalidDataException(
                $"{imagesName} holds {TypeName(images.Type)} of shape {FormatShape(images.Shape)}; expected unsigned bytes (type 0x08) of shape " +
                "count × rows × columns (such as an idx3-ubyte file). Check that the images and labels files were not swapped.");
        if (labels.Type != IdxType.UnsignedByte || labels.Shape.Length != 1)
            throw new InvalidDataException(
                $"{Capitalise(labelsName)} holds {TypeName(labels.Type)} of shape {FormatShape(labels.Shape)}; expected unsigned bytes (type 0x08) " +
                "of shape count (such as an idx1-ubyte file). Check that the images and labels files were not swapped.");
        int count = images.Shape[0];
        if (labels.Shape[0] != count)
            throw new InvalidDataException(
                $"{imagesName} holds {count} images but {labelsName} holds {labels.Shape[0]} labels; they must hold the same number. " +
                "Check that the two files belong together (train-images with train-labels, t10k-images with t10k-labels).");
        if (count == 0)
            throw new InvalidDataException($"{imagesName} holds no images; a data set needs at least one sample.");
        int featureSize = (int)(images.Count / count);
        if (featureSize == 0)
            throw new InvalidDataException($"{imagesName} has shape {FormatShape(images.Shape)}: its images hold no pixels. Expected count × rows × columns with rows and columns of at least 1.");
        int n = Math.Min(count, maxCount);

        Span<T> scale = stackalloc T[256];
        for (int v = 0; v < 256; v++) scale[v] = T.CreateChecked(v / 255.0);
        var features = new T[(long)n * featureSize];
        ReadOnlySpan<byte> pixels = images.Data.AsSpan(0, features.Length);
        for (int i = 0; i < features.Length; i++) features[i] = scale[pixels[i]];

        var result = new int[n];
        int maxLabel = 0;
        for (int i = 0; i < n; i++) { result[i] = labels.Data[i]; maxLabel = Math.Max(maxLabel, result[i]); }
        return new Dataset<T>(features, featureSize, result, Math.Max(maxLabel + 1, 10));
    }

    internal static int ElementSize(IdxType type) => type switch
    {
        IdxType.UnsignedByte or IdxType.SignedByte => 1,
        IdxType.Int16 => 2,
        IdxType.Int32 or IdxType.Single => 4,
        IdxType.Double => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, $"0x{(byte)type:X2} is not an IDX element type; use one of {TypeList}."),
    };

    internal static string TypeName(IdxType type) => type switch
    {
        IdxType.UnsignedByte => "unsigned bytes (0x08)",
        IdxType.SignedByte => "signed bytes (0x09)",
        IdxType.Int16 => "int16 (0x0B)",
        IdxType.Int32 => "int32 (0x0C)",
        IdxType.Single => "float32 (0x0D)",
        IdxType.Double => "float64 (0x0E)",
        _ => $"type 0x{(byte)type:X2}",
    };

    internal static string FormatShape(int[] shape) => string.Join(" × ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));

    private static string Plural(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Hex(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (byte b in bytes) { if (sb.Length > 0) sb.Append(' '); sb.Append(b.ToString("X2", CultureInfo.InvariantCulture)); }
        return sb.ToString();
    }

    private static string Guess(ReadOnlySpan<byte> head)
    {
        if (head[0] == (byte)'P' && head[1] == (byte)'K') return " (a ZIP archive: extract the IDX files from it first)";
        if (head[0] == (byte)'B' && head[1] == (byte)'Z' && head[2] == (byte)'h') return " (bzip2-compressed: decompress it first)";
        if (head[0] == 0xFD && head[1] == (byte)'7' && head[2] == (byte)'z') return " (xz-compressed: decompress it first)";
        if (head[0] == 0x1F && head[1] == 0x8B) return " (gzip data inside gzip: decompress it once first)";
        if (head[2] == 0 && head[3] == 0 && Enum.IsDefined((IdxType)head[1]) && head[0] is >= 1 and <= 4) return " (the header looks byte-swapped: the sizes must be big-endian)";
        bool text = true;
        foreach (byte b in head) text &= b is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t';
        if (text) return $" (\"{Encoding.ASCII.GetString(head)}\": text, perhaps a web page saved in place of the data)";
        return "";
    }

    private static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        for (int n; total < buffer.Length && (n = s.Read(buffer[total..])) > 0;) total += n;
        return total;
    }

    /// <summary>A read-only stream that yields a few already-read bytes before the rest of another stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
    {
        private int _offset;
        private uint _last4;
        private long _delivered;

        /// <summary>The last 4 bytes delivered, little-endian (a gzip trailer's ISIZE), or null before 4 were.</summary>
        public uint? Last4 => _delivered >= 4 ? _last4 : null;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_offset < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _offset);
                prefix.AsSpan(_offset, n).CopyTo(buffer);
                _offset += n;
                Track(buffer[..n]);
                return n;
            }
            int read = inner.Read(buffer);
            Track(buffer[..read]);
            return read;
        }

        private void Track(ReadOnlySpan<byte> bytes)
        {
            _delivered += bytes.Length;
            foreach (byte b in bytes.Length > 4 ? bytes[^4..] : bytes) _last4 = (_last4 >> 8) | ((uint)b << 24);
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
