using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace NetGen;

/// <summary>What <see cref="Checkpoint.Load"/> read besides the tensors.</summary>
/// <param name="Metadata">The file's <c>__metadata__</c> (empty when it has none).</param>
/// <param name="DType">The file's element type: "F32" or "F64".</param>
/// <param name="Converted">True when the file's element type differs from the network's and the values were
/// converted (F32 → double is exact; F64 → float rounds to the nearest float).</param>
public sealed record CheckpointInfo(IReadOnlyDictionary<string, string> Metadata, string DType, bool Converted);

/// <summary>
/// Saves and loads a network's <see cref="INetwork{T}.Parameters"/> and <see cref="INetwork{T}.State"/> as a
/// safetensors file, the format of Hugging Face's <c>safetensors</c> (readable by <c>safetensors.torch.load_file</c>):
/// an 8-byte little-endian header length N, N bytes of JSON header
/// <c>{"name": {"dtype": "F32", "shape": [10, 64], "data_offsets": [begin, end]}, …, "__metadata__": {…}}</c>
/// (padded with spaces to a multiple of 8), then the raw little-endian tensor data, offsets counted from the first
/// byte after the header. Tensors are named by <see cref="INetwork{T}.Tensors"/> (PyTorch layouts) and written in
/// that order without gaps.
/// <para>
/// Saving is atomic: the file is written to a temporary file in the same directory, flushed to disk and moved over
/// <c>path</c>, so a crash never leaves a half-written checkpoint. Loading checks the whole file against the network
/// before changing anything, and reads no more than the header's declared size after checking it against the file.
/// A file whose element type differs from the network's (F32 into a double network or F64 into a float one) is
/// converted, as PyTorch's <c>load_state_dict</c> copies across dtypes, and <see cref="CheckpointInfo.Converted"/>
/// says so; other element types (F16, BF16, integers) are rejected.
/// </para>
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// Headers larger than this (16 MiB) are rejected without being read. A header entry takes about 100 bytes per
    /// tensor (NetGen's largest reference network, MiniVGGNet, writes a header of under 4 KB), so the limit fits some
    /// 150,000 tensors plus metadata, while a hostile header costs at most this much memory to read (the safetensors
    /// library's own limit is 100 MB). Shapes are read up to 8 dimensions and data_offsets as exactly two numbers: a
    /// longer array is rejected at its first extra element.
    /// </summary>
    public const long MaxHeaderBytes = 16 << 20;

    private const string MetadataKey = "__metadata__";

    /// <summary>Writes <paramref name="network"/>'s parameters and state to <paramref name="path"/>, atomically.</summary>
    /// <param name="network">The network.</param>
    /// <param name="path">The file to write (replaced if it exists); by convention it ends in ".safetensors".</param>
    /// <param name="metadata">Free-form string pairs stored in the header's <c>__metadata__</c> (e.g. epoch, loss).</param>
    /// <exception cref="InvalidOperationException">The network's tensor list does not cover its buffers exactly.</exception>
    public static void Save<T>(INetwork<T> network, string path, IReadOnlyDictionary<string, string>? metadata = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string dtype = DTypeOf<T>(out int size);
        var tensors = network.Tensors;
        CheckCoverage(network, tensors);

        byte[] header = BuildHeader(tensors, dtype, size, metadata);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var tensor in tensors)
                {
                    ReadOnlySpan<T> values = (tensor.Buffer == TensorBuffer.Parameters ? network.Parameters : network.State).Slice(tensor.Offset, tensor.Length);
                    WriteLittleEndian(stream, values);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/> (or by any safetensors writer, with the same tensor
    /// names and shapes) into <paramref name="network"/>. Everything is checked before the network is changed.</summary>
    /// <param name="network">The network; its parameters and state are replaced.</param>
    /// <param name="path">The safetensors file.</param>
    /// <returns>The metadata and element type found.</returns>
    /// <param name="allowNonFinite">Load NaN, infinite values and values beyond the network's precision (an F64 value
    /// above float's 3.4e38 loaded into a float network) as they are. False (the default) rejects such a file naming
    /// the tensor, the element and its value, and leaves the network untouched: a checkpoint of a diverged run is
    /// rarely what was meant.</param>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file, does not match the network
    /// (the message names the first mismatched tensor), or holds a non-finite value.</exception>
    public static CheckpointInfo Load<T>(INetwork<T> network, string path, bool allowNonFinite = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        DTypeOf<T>(out _);
        var tensors = network.Tensors;
        CheckCoverage(network, tensors);
        string name = Path.GetFileName(path);

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Bad(name, $"it is {fileLength} bytes long, shorter than the 8-byte header length that starts a safetensors file (truncated or not a checkpoint)");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)MaxHeaderBytes)
            throw Bad(name, $"its header length field says {headerLength} bytes, more than the {MaxHeaderBytes} allowed (not a safetensors file, or corrupt)");
        if (headerLength > (ulong)(fileLength - 8))
            throw Bad(name, $"its header length field says {headerLength} bytes but only {fileLength - 8} bytes follow it (truncated, or not a safetensors file)");
        if (headerLength < 2)
            throw Bad(name, $"its header is {headerLength} bytes long, too short for a JSON object");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerLength;

        var (entries, metadata) = ParseHeader(name, header, tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal));
        string fileDType = Match(name, entries, tensors, dataLength) ?? DTypeOf<T>(out _);
        int fileSize = fileDType == "F32" ? 4 : 8;

        // Stage everything, then copy: a read error half-way leaves the network as it was. The tensors tile the data
        // section (checked above), so reading them in file order reads the file front to back.
        var parameters = new T[network.Parameters.Length];
        var state = new T[network.State.Length];
        var chunk = new byte[1 << 16];
        foreach (var tensor in tensors.OrderBy(t => entries[t.Name].Begin))
        {
            Span<T> target = (tensor.Buffer == TensorBuffer.Parameters ? parameters.AsSpan() : state.AsSpan()).Slice(tensor.Offset, tensor.Length);
            int perChunk = chunk.Length / fileSize;
            for (int done = 0; done < target.Length; done += perChunk)
            {
                int n = Math.Min(perChunk, target.Length - done);
                Span<byte> bytes = chunk.AsSpan(0, n * fileSize);
                try
                {
                    stream.ReadExactly(bytes);
                }
                catch (EndOfStreamException)
                {
                    throw Bad(name, $"it ended while tensor '{tensor.Name}' was being read (truncated while loading?)");
                }
                ReadLittleEndian(bytes, fileSize, target.Slice(done, n));
                if (!allowNonFinite) CheckFinite(name, tensor, done, bytes, fileSize, target.Slice(done, n));
            }
        }
        parameters.CopyTo(network.Parameters);
        state.CopyTo(network.State);
        return new CheckpointInfo(metadata, fileDType, fileDType != DTypeOf<T>(out _));
    }

    /// <summary>Reads only the <c>__metadata__</c> of a checkpoint (e.g. to see which epoch it holds).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string name = Path.GetFileName(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length < 8) throw Bad(name, "it is shorter than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)MaxHeaderBytes || headerLength > (ulong)(stream.Length - 8) || headerLength < 2)
            throw Bad(name, $"its header length field ({headerLength} bytes) does not fit the file ({stream.Length} bytes)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        return ParseHeader(name, header).Metadata;
    }

    private readonly record struct Entry(string DType, long[] Shape, long Begin, long End);

    private static string DTypeOf<T>(out int size)
    {
        if (typeof(T) == typeof(float)) { size = 4; return "F32"; }
        if (typeof(T) == typeof(double)) { size = 8; return "F64"; }
        throw new NotSupportedException($"Checkpoints hold float (F32) or double (F64) networks, not {typeof(T).Name}.");
    }

    private static InvalidDataException Bad(string file, string problem) =>
        new($"'{file}' is not a valid safetensors checkpoint: {problem}.");

    private static InvalidDataException Mismatch(string file, string problem) =>
        new($"'{file}' does not fit this network: {problem}. Load a checkpoint saved from the same network declaration.");

    private static void CheckCoverage<T>(INetwork<T> network, IReadOnlyList<TensorInfo> tensors) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int parameters = network.Parameters.Length, state = network.State.Length;
        long p = 0, s = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!names.Add(t.Name) || t.Name == MetadataKey)
                throw new InvalidOperationException($"{network.GetType().Name} names two tensors '{t.Name}' (or uses the reserved name): tensor names must be unique.");
            int limit = t.Buffer == TensorBuffer.Parameters ? parameters : state;
            if (t.Offset < 0 || t.Length < 0 || (long)t.Offset + t.Length > limit)
                throw new InvalidOperationException($"{network.GetType().Name}'s tensor '{t.Name}' (offset {t.Offset}, {t.Length} values) lies outside its {t.Buffer} buffer of {limit} values.");
            if (t.Buffer == TensorBuffer.Parameters) p += t.Length; else s += t.Length;
        }
        if (p != parameters || s != state)
            throw new InvalidOperationException(
                $"{network.GetType().Name}'s named tensors cover {p} of {parameters} parameters and {s} of {state} state values: " +
                "a checkpoint would not restore the network, so none is written or read.");
    }

    private static byte[] BuildHeader(IReadOnlyList<TensorInfo> tensors, string dtype, int size, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    ArgumentNullException.ThrowIfNull(key, nameof(metadata));
                    json.WriteString(key, value ?? throw new ArgumentException($"Metadata '{key}' is null: metadata values are strings.", nameof(metadata)));
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)t.Length * size;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int length = (int)buffer.Length, padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    /// <summary>Parses the header with a forward-only reader (no document is built, so memory stays within a small
    /// multiple of the header's bytes), bounding every array and name as it goes. <paramref name="known"/>, when
    /// given, holds the network's tensor names: an entry outside it stops the parse at once.</summary>
    private static (Dictionary<string, Entry> Entries, IReadOnlyDictionary<string, string> Metadata) ParseHeader(string file, byte[] header, HashSet<string>? known = null)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 4 });
        try
        {
            Next(file, ref reader);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Bad(file, $"its header is a JSON {Kind(reader.TokenType)}, not an object");
            while (true)
            {
                Next(file, ref reader);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string key = Text(file, ref reader);
                Next(file, ref reader);
                if (key == MetadataKey)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                        throw Bad(file, "its __metadata__ is not an object of strings");
                    while (true)
                    {
                        Next(file, ref reader);
                        if (reader.TokenType == JsonTokenType.EndObject) break;
                        string m = Text(file, ref reader);
                        Next(file, ref reader);
                        metadata[m] = reader.TokenType == JsonTokenType.String
                            ? Text(file, ref reader)
                            : throw Bad(file, $"metadata '{Short(m)}' is a JSON {Kind(reader.TokenType)}, not a string");
                    }
                    continue;
                }
                if (known is not null && !known.Contains(key))
                    throw Mismatch(file, $"it holds a tensor '{Short(key)}' (shape {PeekShape(reader)}) that the network does not have");
                if (entries.ContainsKey(key))
                    throw Bad(file, $"tensor '{Short(key)}' appears twice in the header");
                entries[key] = ParseEntry(file, key, ref reader);
            }
            if (reader.Read())
                throw Bad(file, $"its header has content after the JSON object, at byte {8 + reader.TokenStartIndex}");
        }
        catch (JsonException ex)
        {
            throw Bad(file, $"its header is not valid JSON (at byte {8 + reader.BytesConsumed}: {Short(ex.Message, 120)})");
        }
        return (entries, metadata);
    }

    /// <summary>The longest shape a tensor entry may declare (NetGen's tensors have at most 4 dimensions).</summary>
    private const int MaxRank = 8;

    private static Entry ParseEntry(string file, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad(file, $"the header entry of tensor '{Short(name)}' is not an object");
        string? dtype = null;
        long[]? dims = null, be = null;
        while (true)
        {
            Next(file, ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string field = Text(file, ref reader);
            Next(file, ref reader);
            switch (field)
            {
                case "dtype":
                    dtype = reader.TokenType == JsonTokenType.String ? Text(file, ref reader) : throw Bad(file, $"tensor '{Short(name)}' has no \"dtype\" string");
                    break;
                case "shape":
                    dims = Integers(file, ref reader, MaxRank, $"tensor '{Short(name)}' has a \"shape\" that is not an array of at most {MaxRank} sizes",
                        v => $"tensor '{Short(name)}' has a shape entry {v} that is not a non-negative integer");
                    break;
                case "data_offsets":
                    be = Integers(file, ref reader, 2, $"tensor '{Short(name)}' has no \"data_offsets\" pair [begin, end]",
                        v => $"tensor '{Short(name)}' has a data offset {v} that is not a non-negative integer");
                    break;
                default:
                    reader.Skip();   // a field this reader does not use; Skip reads forward without storing anything
                    break;
            }
        }
        if (dtype is null)
            throw Bad(file, $"tensor '{Short(name)}' has no \"dtype\" string");
        if (dims is null)
            throw Bad(file, $"tensor '{Short(name)}' has no \"shape\" array");
        if (be is not { Length: 2 })
            throw Bad(file, $"tensor '{Short(name)}' has no \"data_offsets\" pair [begin, end]");
        if (be[1] < be[0])
            throw Bad(file, $"tensor '{Short(name)}' has data_offsets [{be[0]}, {be[1]}] that end before they begin");
        return new Entry(dtype, dims, be[0], be[1]);
    }

    /// <summary>An array of at most <paramref name="max"/> non-negative integers; a longer array is rejected at its
    /// (max + 1)-th element, before anything more is read.</summary>
    private static long[] Integers(string file, ref Utf8JsonReader reader, int max, string notArray, Func<string, string> badValue)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw Bad(file, notArray);
        var values = new List<long>(max);
        while (true)
        {
            Next(file, ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) return [.. values];
            if (values.Count == max) throw Bad(file, notArray);
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0)
                throw Bad(file, badValue(TokenText(reader)));
            values.Add(v);
        }
    }

    private static void Next(string file, ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw Bad(file, $"its header is not valid JSON (it ends after {reader.BytesConsumed} bytes, inside a value)");
    }

    /// <summary>The string (or property name) at the reader, as UTF-16; invalid UTF-8 or a lone surrogate (escaped
    /// or not) is an InvalidDataException naming the byte offset in the file.</summary>
    private static string Text(string file, ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Bad(file, $"the header holds a string that is not valid UTF-8 (invalid bytes or a lone surrogate) at byte {8 + reader.TokenStartIndex} of the file");
        }
    }

    private static string TokenText(Utf8JsonReader reader)
    {
        var span = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
        string text = System.Text.Encoding.UTF8.GetString(span, 0, Math.Min(span.Length, 40));
        return reader.TokenType == JsonTokenType.String ? $"\"{text}\"" : text;
    }

    /// <summary>The shape of an entry the reader is at, for a message, without moving the reader.</summary>
    private static string PeekShape(Utf8JsonReader copy)
    {
        try
        {
            if (copy.TokenType != JsonTokenType.StartObject) return "?";
            while (copy.Read() && copy.TokenType != JsonTokenType.EndObject)
            {
                bool isShape = copy.ValueTextEquals("shape");
                copy.Read();
                if (!isShape) { copy.Skip(); continue; }
                if (copy.TokenType != JsonTokenType.StartArray) return "?";
                var dims = new List<string>();
                while (copy.Read() && copy.TokenType == JsonTokenType.Number && dims.Count <= MaxRank) dims.Add(TokenText(copy));
                return "[" + string.Join(", ", dims.Take(MaxRank)) + (dims.Count > MaxRank ? ", …" : "") + "]";
            }
        }
        catch (JsonException) { }
        return "?";
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "Object",
        JsonTokenType.StartArray => "Array",
        JsonTokenType.String => "String",
        JsonTokenType.Number => "Number",
        JsonTokenType.True => "True",
        JsonTokenType.False => "False",
        JsonTokenType.Null => "Null",
        _ => token.ToString(),
    };

    /// <summary>A name from the file, cut to <paramref name="max"/> characters so that a hostile file cannot make a
    /// message long.</summary>
    private static string Short(string text, int max = 64) => text.Length <= max ? text : text[..max] + $"… ({text.Length} characters)";

    /// <summary>Checks the header against the network and the data section; returns the file's dtype (null when
    /// neither has a tensor).</summary>
    private static string? Match(string file, Dictionary<string, Entry> entries, IReadOnlyList<TensorInfo> tensors, long dataLength)
    {
        string? dtype = null;
        foreach (var t in tensors)
        {
            if (!entries.TryGetValue(t.Name, out var entry))
                throw Mismatch(file, $"it has no tensor '{t.Name}' (shape {Shape(t.Shape)}); it holds {Names(entries.Keys)}");
            if (entry.DType is not ("F32" or "F64"))
                throw Mismatch(file, $"tensor '{t.Name}' has dtype {entry.DType}; only F32 and F64 can be loaded");
            if (dtype is not null && entry.DType != dtype)
                throw Mismatch(file, $"tensor '{t.Name}' has dtype {entry.DType} but earlier tensors have {dtype}; a checkpoint has one element type");
            dtype = entry.DType;
            if (!entry.Shape.AsSpan().SequenceEqual(Array.ConvertAll(t.Shape, d => (long)d)))
                throw Mismatch(file, $"tensor '{t.Name}' has shape {Shape(entry.Shape)} in the file but {Shape(t.Shape)} in the network");
        }
        foreach (string key in entries.Keys)
            if (!tensors.Any(t => t.Name == key))
                throw Mismatch(file, $"it holds a tensor '{key}' (shape {Shape(entries[key].Shape)}) that the network does not have");
        int size = dtype == "F32" ? 4 : 8;

        foreach (var t in tensors)
        {
            var entry = entries[t.Name];
            long bytes = (long)t.Length * size;
            if (entry.End - entry.Begin != bytes)
                throw Bad(file, $"tensor '{t.Name}' has data_offsets [{entry.Begin}, {entry.End}] ({entry.End - entry.Begin} bytes) but shape {Shape(entry.Shape)} of {entry.DType} needs {bytes} bytes");
            if (entry.End > dataLength)
                throw Bad(file, $"tensor '{t.Name}' has data_offsets [{entry.Begin}, {entry.End}] beyond the {dataLength} data bytes the file holds (truncated?)");
        }
        // The tensors must tile the data section exactly: sorted by begin, each starts where the last ended.
        long position = 0;
        string? previous = null;
        foreach (var (key, entry) in entries.OrderBy(kv => kv.Value.Begin).ThenBy(kv => kv.Value.End))
        {
            if (entry.Begin < position)
                throw Bad(file, $"tensor '{key}' (data_offsets [{entry.Begin}, {entry.End}]) overlaps tensor '{previous}', which ends at {position}");
            if (entry.Begin > position)
                throw Bad(file, $"there is a gap of {entry.Begin - position} bytes before tensor '{key}' (data_offsets [{entry.Begin}, {entry.End}])");
            position = entry.End;
            previous = key;
        }
        if (position != dataLength)
            throw Bad(file, $"the tensors cover {position} data bytes but the file holds {dataLength} after the header (trailing bytes)");
        return dtype;
    }

    /// <summary>Rejects the first NaN, infinity or value beyond <typeparamref name="T"/>'s range in a chunk just read.</summary>
    private static void CheckFinite<T>(string file, TensorInfo tensor, int first, ReadOnlySpan<byte> bytes, int fileSize, ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // IndexOfMaxMagnitude returns the first NaN when there is one, else the largest magnitude (an infinity if any).
        int k = System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude(values);
        if (k < 0 || T.IsFinite(values[k])) return;
        double stored = fileSize == 4 ? BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(k * 4, 4)) : BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(k * 8, 8));
        string problem = double.IsFinite(stored)
            ? $"is {stored.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, beyond the range of {typeof(T).Name} (±{(typeof(T) == typeof(float) ? float.MaxValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : double.MaxValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture))})"
            : $"is {stored.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        throw new InvalidDataException(
            $"'{file}': value {first + k} of tensor '{tensor.Name}' {problem}; nothing was loaded. A checkpoint of a diverged run? " +
            "Load an earlier checkpoint, or pass allowNonFinite: true to load it as it is.");
    }

    private static string Shape(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    private static string Shape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "no tensors" : string.Join(", ", list.Take(8).Select(n => $"'{Short(n)}'")) + (list.Count > 8 ? $" and {list.Count - 8} more" : "");
    }

    private static void WriteLittleEndian<T>(Stream stream, ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> one = stackalloc byte[8];
        foreach (T v in values)
        {
            if (typeof(T) == typeof(float)) { BinaryPrimitives.WriteSingleLittleEndian(one, float.CreateChecked(v)); stream.Write(one[..4]); }
            else { BinaryPrimitives.WriteDoubleLittleEndian(one, double.CreateChecked(v)); stream.Write(one); }
        }
    }

    private static void ReadLittleEndian<T>(ReadOnlySpan<byte> bytes, int size, Span<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (BitConverter.IsLittleEndian && size == Unsafe.SizeOf<T>())
        {
            MemoryMarshal.Cast<byte, T>(bytes).CopyTo(target);
            return;
        }
        for (int i = 0; i < target.Length; i++)
            target[i] = size == 4
                ? T.CreateChecked(BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4, 4)))
                : T.CreateChecked(BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(i * 8, 8)));
    }
}
