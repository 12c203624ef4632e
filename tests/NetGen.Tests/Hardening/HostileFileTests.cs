using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace NetGen.Tests.Hardening;

/// <summary>A float and a double network of the same declaration, for checkpoints converted across precisions.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(3)]
[Dense(2), Tanh]
public partial class HardenedFloatNet;

/// <summary>The double twin of <see cref="HardenedFloatNet"/>.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
[Input(3)]
[Dense(2), Tanh]
public partial class HardenedDoubleNet;

/// <summary>
/// Files written to break the readers: safetensors headers with invalid UTF-8, lone surrogates, huge headers and
/// huge arrays, values a network cannot hold; IDX files through gzip that inflate far beyond what they promise or
/// carry garbage after the compressed stream. Each is rejected with a short message naming the file, without touching
/// the network, and with the memory it costs asserted (bytes allocated by the reading thread, which counts every
/// array the reader makes).
/// </summary>
public sealed class HostileFileTests : IDisposable
{
    private const long MemoryLimit = 200L << 20;

    private readonly string _directory = Directory.CreateTempSubdirectory("netgen-hostile-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string FilePath(string name) => Path.Combine(_directory, name);

    private static byte[] Safetensors(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    private static (T Result, long Allocated) Measure<T>(Func<T> action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        T result = action();
        return (result, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static (TException Exception, long Allocated) MeasureThrows<TException>(Action action) where TException : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<TException>(action);
        return (ex, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // ---- 13: invalid UTF-8 and lone surrogates ------------------------------------------------------------------

    [Fact]
    public void Safetensors_InvalidUtf8InAName_IsInvalidDataNamingFileAndOffset()
    {
        // "Dense1Weights" with its 'W' replaced by a byte that starts no UTF-8 sequence.
        byte[] header = Encoding.UTF8.GetBytes("""{"Dense1XWeights":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""");
        int at = Array.IndexOf(header, (byte)'X');
        header[at] = 0xFF;
        string path = FilePath("utf8.safetensors");
        File.WriteAllBytes(path, Safetensors(header, new byte[32]));
        var net = new HardenedFloatNet(seed: 3);
        float[] before = net.Parameters.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(net, path));
        Assert.Contains("'utf8.safetensors'", ex.Message);
        Assert.Matches(@"at byte \d+", ex.Message);
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.Throws<InvalidDataException>(() => Checkpoint.ReadMetadata(path));
    }

    [Theory]
    [InlineData("""{"__metadata__":{"epoch":"\ud800"}}""", "a lone high surrogate, escaped")]
    [InlineData("""{"__metadata__":{"\udc00":"7"}}""", "a lone low surrogate as a key")]
    public void Safetensors_LoneSurrogate_IsInvalidDataNamingFileAndOffset(string header, string what)
    {
        string path = FilePath("surrogate.safetensors");
        File.WriteAllBytes(path, Safetensors(Encoding.ASCII.GetBytes(header), []));
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadMetadata(path));
        Assert.Contains("'surrogate.safetensors'", ex.Message);
        Assert.Contains("lone surrogate", ex.Message);
        int offset = 8 + header.IndexOf("\"\\u", StringComparison.Ordinal);
        Assert.True(ex.Message.Contains($"at byte {offset} "), $"{what}: {ex.Message} (expected byte {offset})");
    }

    // ---- 14: bounded header, bounded arrays, short messages -----------------------------------------------------

    [Fact]
    public void Safetensors_HeaderOverTheLimit_IsRejectedUnread()
    {
        // A 60 MB header of one shape array of zeros: the old reader built a JSON document of it (12 bytes per token).
        var sb = new StringBuilder("""{"Dense1Weights":{"dtype":"F32","data_offsets":[0,24],"shape":[""", 61_000_000);
        while (sb.Length < 60_000_000) sb.Append("0,");
        sb.Append("0]}}");
        string path = FilePath("huge-header.safetensors");
        File.WriteAllBytes(path, Safetensors(Encoding.ASCII.GetBytes(sb.ToString()), new byte[24]));
        sb.Clear();
        var net = new HardenedFloatNet(seed: 3);
        var (ex, allocated) = MeasureThrows<InvalidDataException>(() => Checkpoint.Load(net, path));
        Assert.Contains($"more than the {Checkpoint.MaxHeaderBytes} allowed", ex.Message);
        Assert.True(ex.Message.Length < 400, ex.Message);
        Assert.True(allocated < MemoryLimit, $"{allocated / 1e6:F1} MB allocated");
    }

    [Fact]
    public void Safetensors_HugeShapeArrayWithinTheHeaderLimit_IsRejectedAtItsNinthEntry_WithAShortMessage()
    {
        var sb = new StringBuilder("""{"Dense1Weights":{"dtype":"F32","data_offsets":[0,24],"shape":[""");
        while (sb.Length < 12_000_000) sb.Append("0,");
        sb.Append("0]},\"Dense1Bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}");
        string path = FilePath("long-shape.safetensors");
        File.WriteAllBytes(path, Safetensors(Encoding.ASCII.GetBytes(sb.ToString()), new byte[32]));
        var net = new HardenedFloatNet(seed: 3);
        var (ex, allocated) = MeasureThrows<InvalidDataException>(() => Checkpoint.Load(net, path));
        Assert.Contains("tensor 'Dense1Weights' has a \"shape\" that is not an array of at most 8 sizes", ex.Message);
        Assert.True(ex.Message.Length < 400, $"{ex.Message.Length} characters");
        Assert.True(allocated < MemoryLimit, $"{allocated / 1e6:F1} MB allocated");
    }

    [Fact]
    public void Safetensors_LongNamesFromTheFile_AreCutInMessages()
    {
        string name = new('x', 5_000_000);
        string header = "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        string path = FilePath("long-name.safetensors");
        File.WriteAllBytes(path, Safetensors(Encoding.ASCII.GetBytes(header), new byte[8]));
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new HardenedFloatNet(), path));
        Assert.Contains("that the network does not have", ex.Message);
        Assert.Contains("(5000000 characters)", ex.Message);
        Assert.True(ex.Message.Length < 500, $"{ex.Message.Length} characters");
    }

    // ---- 15: values a network cannot hold ----------------------------------------------------------------------

    [Fact]
    public void Checkpoint_F64ValuesBeyondFloat_AreRejected_WeightsUntouched_UnlessAllowed()
    {
        var source = new HardenedDoubleNet(seed: 1);
        source.Parameters[4] = 1e300;
        string path = FilePath("overflow.safetensors");
        Checkpoint.Save(source, path);

        var net = new HardenedFloatNet(seed: 2);
        float[] before = net.Parameters.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(net, path));
        Assert.Contains("value 4 of tensor 'Dense1Weights' is 1E+300, beyond the range of Single", ex.Message);
        Assert.Contains("allowNonFinite: true", ex.Message);
        Assert.Equal(before, net.Parameters.ToArray());

        Checkpoint.Load(net, path, allowNonFinite: true);
        Assert.True(float.IsPositiveInfinity(net.Parameters[4]));
        // The double twin holds 1e300 exactly: no error.
        var twin = new HardenedDoubleNet(seed: 5);
        Checkpoint.Load(twin, path);
        Assert.Equal(1e300, twin.Parameters[4]);
    }

    [Fact]
    public void Checkpoint_NaNWeights_AreRejected_WeightsUntouched_UnlessAllowed()
    {
        var source = new HardenedFloatNet(seed: 1);
        source.Parameters[7] = float.NaN;   // Dense1Bias[1]
        string path = FilePath("nan.safetensors");
        Checkpoint.Save(source, path);

        var net = new HardenedFloatNet(seed: 2);
        float[] before = net.Parameters.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(net, path));
        Assert.Contains("value 1 of tensor 'Dense1Bias' is NaN; nothing was loaded", ex.Message);
        Assert.Equal(before, net.Parameters.ToArray());
        Checkpoint.Load(net, path, allowNonFinite: true);
        Assert.True(float.IsNaN(net.Parameters[7]));
    }

    // ---- 16: IDX through gzip ----------------------------------------------------------------------------------

    /// <summary>A gzip stream of an IDX header for <paramref name="shape"/> (unsigned bytes) followed by
    /// <paramref name="zeros"/> zero bytes, and then <paramref name="tail"/> raw bytes after the gzip stream.</summary>
    private static byte[] GzipIdx(int[] shape, long zeros, byte[]? tail = null)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            var header = new byte[4 + 4 * shape.Length];
            header[2] = 0x08; header[3] = (byte)shape.Length;
            for (int i = 0; i < shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), shape[i]);
            gzip.Write(header);
            var block = new byte[1 << 20];
            for (long left = zeros; left > 0; left -= block.Length) gzip.Write(block, 0, (int)Math.Min(left, block.Length));
        }
        if (tail is not null) output.Write(tail);
        return output.ToArray();
    }

    [Fact]
    public void Idx_GzipClaimingMoreThanMaxBytes_IsRejectedBeforeAllocating()
    {
        // Claims 2,000,000,000 bytes and inflates to 250 MB: the old reader grew its buffer to hold what came (and
        // would have held 2 GB for a file that delivers it).
        byte[] file = GzipIdx([2_000, 1_000, 1_000], 250L << 20);
        var (ex, allocated) = MeasureThrows<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "claims-2gb.gz"));
        Assert.Contains("IDX file 'claims-2gb.gz'", ex.Message);
        Assert.Contains($"promises 2000000000 bytes of data, more than the {Idx.DefaultMaxBytes} allowed (maxBytes)", ex.Message);
        Assert.True(allocated < MemoryLimit, $"{allocated / 1e6:F1} MB allocated");
    }

    [Fact]
    public void Idx_GzipInflatingFarBeyondItsHeader_CostsOnlyTheDestination()
    {
        // Promises 1 MB, inflates to 150 MB: rejected after the data and a bounded count of the rest.
        byte[] file = GzipIdx([1_000, 1_000], 150L << 20);
        var (ex, allocated) = MeasureThrows<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "bomb.gz"));
        Assert.Contains("at least", ex.Message);
        Assert.Contains("unexpected bytes after the data", ex.Message);
        Assert.True(allocated < 8L << 20, $"{allocated / 1e6:F1} MB allocated for a 1 MB array");
    }

    [Fact]
    public void Idx_MaxBytes_BoundsWhatIsRead_AndAValidFileWithinItReads()
    {
        byte[] file = GzipIdx([10, 28, 28], 7_840);
        var ex = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "small.gz", maxBytes: 7_839));
        Assert.Contains("more than the 7839 allowed (maxBytes)", ex.Message);
        var (array, allocated) = Measure(() => Idx.Read(new MemoryStream(file), "small.gz", maxBytes: 7_840));
        Assert.Equal([10, 28, 28], array.Shape);
        Assert.Equal(7_840, array.Data.Length);
        Assert.True(allocated < 1L << 20, $"{allocated} bytes allocated for a 7,840-byte array");
    }

    [Theory]
    [InlineData(20, "garbage")]
    [InlineData(4, "four zero bytes")]
    [InlineData(13, "a gzip header with nothing after it")]
    [InlineData(300_000, "a large tail")]
    public void Idx_GzipFollowedByGarbage_IsRejected(int length, string what)
    {
        var tail = new byte[length];
        if (length == 20) new Random(5).NextBytes(tail);
        if (length == 13) { tail[0] = 0x1F; tail[1] = 0x8B; tail[2] = 8; }
        if (length == 300_000) new Random(6).NextBytes(tail);
        byte[] file = GzipIdx([10, 28, 28], 7_840, tail);
        var ex = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "tail.gz"));
        Assert.True(ex.Message.Contains("there are bytes after the gzip data"), $"{what}: {ex.Message}");
        // The same file without the tail reads, from a stream and from a file.
        byte[] clean = GzipIdx([10, 28, 28], 7_840);
        Assert.Equal(7_840, Idx.Read(new MemoryStream(clean)).Data.Length);
        string path = FilePath("clean.gz");
        File.WriteAllBytes(path, clean);
        Assert.Equal(7_840, Idx.Read(path).Data.Length);
    }
}
