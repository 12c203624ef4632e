using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using NetGen.Tests.Networks;

namespace NetGen.Tests.Learning;

/// <summary>
/// Safetensors checkpoints: round trips (float, double, batch-norm state), the byte layout against the format's
/// specification (files written and read by an independent writer in this test; Debian packages no Python
/// <c>safetensors</c> module to test against), and every malformed or mismatched file rejected before the network is
/// touched.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("netgen-checkpoints-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string FilePath(string name) => Path.Combine(_directory, name);

    /// <summary>A file exactly as the specification lays it out: 8-byte little-endian N, N header bytes, data.</summary>
    private static byte[] Build(string header, byte[] data, ulong? declaredLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }

    private static byte[] Doubles(params double[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    private static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    // HandSoftmaxRegression: "Weights" [3, 2] at 0, "Bias" [3] at 6 of 9 double parameters.
    private static readonly double[] Weights = [0.5, -1.25, 2, 3.5, -0.125, 7], Bias = [0.1, 0.2, -0.3];

    private const string ValidHeader =
        """{"__metadata__":{"format":"pt","epoch":"7"},"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]}}""";

    private static byte[] ValidData() => [.. Doubles(Bias), .. Doubles(Weights)];

    [Fact]
    public void Save_WritesTheSpecifiedLayout_ByteForByte()
    {
        var net = new HandSoftmaxRegression(seed: 4);
        Weights.CopyTo(net.Parameters);
        Bias.CopyTo(net.Parameters[6..]);
        string path = FilePath("hand.safetensors");
        Checkpoint.Save(net, path, new Dictionary<string, string> { ["epoch"] = "3" });

        byte[] file = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0UL, n % 8);                                  // padded, as the reference writer does
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        Assert.Equal(
            """{"__metadata__":{"epoch":"3"},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[0,48]},"Bias":{"dtype":"F64","shape":[3],"data_offsets":[48,72]}}""",
            header.TrimEnd(' '));
        Assert.Equal(8 + (int)n + 72, file.Length);
        Assert.Equal(Doubles([.. Weights, .. Bias]), file[(8 + (int)n)..]);
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public void Load_ReadsAFileBuiltFromTheSpecification_InAnyTensorOrder()
    {
        string path = FilePath("spec.safetensors");
        File.WriteAllBytes(path, Build(ValidHeader, ValidData()));
        var net = new HandSoftmaxRegression(seed: 9);
        var info = Checkpoint.Load(net, path);
        Assert.Equal(Weights, net.Parameters[..6].ToArray());
        Assert.Equal(Bias, net.Parameters[6..].ToArray());
        Assert.Equal("F64", info.DType);
        Assert.False(info.Converted);
        Assert.Equal("7", info.Metadata["epoch"]);
        Assert.Equal("pt", Checkpoint.ReadMetadata(path)["format"]);
    }

    [Fact]
    public void Load_F32FileIntoADoubleNetwork_ConvertsAndSaysSo()
    {
        string header = """{"Weights":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"Bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}""";
        float[] w = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f], b = [1f / 3, -2, 5];
        string path = FilePath("f32.safetensors");
        File.WriteAllBytes(path, Build(header, [.. Floats(w), .. Floats(b)]));
        var net = new HandSoftmaxRegression();
        var info = Checkpoint.Load(net, path);
        Assert.True(info.Converted);
        Assert.Equal("F32", info.DType);
        Assert.Equal(w.Select(v => (double)v), net.Parameters[..6].ToArray());
        Assert.Equal((double)(1f / 3), net.Parameters[6]);
    }

    [Fact]
    public void RoundTrip_FloatNetwork()
    {
        var a = new DigitsMlp(seed: 1);
        var b = new DigitsMlp(seed: 2);
        Assert.NotEqual(a.Parameters.ToArray(), b.Parameters.ToArray());
        string path = FilePath("digits.safetensors");
        Checkpoint.Save(a, path);
        var info = Checkpoint.Load(b, path);
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
        Assert.Equal("F32", info.DType);
        Assert.Empty(info.Metadata);
        var x = new float[64];
        for (int i = 0; i < x.Length; i++) x[i] = i / 64f;
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x).ToArray());
    }

    [Fact]
    public void RoundTrip_DoubleNetwork_AndIntoFloat()
    {
        var a = new XorNet(seed: 5);
        var b = new XorNet(seed: 6);
        string path = FilePath("xor.safetensors");
        Checkpoint.Save(a, path);
        Checkpoint.Load(b, path);
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
        Assert.Equal("F64", Checkpoint.Load(new XorNet(), path).DType);
    }

    [Fact]
    public void RoundTrip_BatchNormState()
    {
        var a = new MiniVggNet(seed: 1);
        var random = new SeededRandom(3);
        for (int i = 0; i < a.State.Length; i++) a.State[i] = (float)random.NextDouble(0.5, 2);
        Assert.Contains(a.Tensors, t => t.Buffer == TensorBuffer.State);
        string path = FilePath("vgg.safetensors");
        Checkpoint.Save(a, path, new Dictionary<string, string> { ["note"] = "running statistics" });
        var b = new MiniVggNet(seed: 2);
        Checkpoint.Load(b, path);
        Assert.Equal(a.State.ToArray(), b.State.ToArray());
        Assert.True(a.Parameters.SequenceEqual(b.Parameters));
    }

    [Fact]
    public void RoundTrip_NetworkWithoutParameters()
    {
        string path = FilePath("empty.safetensors");
        Checkpoint.Save(new HandIdentity(1), path, new Dictionary<string, string> { ["a"] = "b" });
        var info = Checkpoint.Load(new HandIdentity(1), path);
        Assert.Equal("F64", info.DType);
        Assert.False(info.Converted);
        Assert.Equal("b", info.Metadata["a"]);
    }

    [Fact]
    public void Save_ReplacesAnExistingFile_AndCreatesTheDirectory()
    {
        string path = Path.Combine(_directory, "sub", "dir", "net.safetensors");
        Checkpoint.Save(new XorNet(seed: 1), path);
        var second = new XorNet(seed: 2);
        Checkpoint.Save(second, path);
        var loaded = new XorNet(seed: 3);
        Checkpoint.Load(loaded, path);
        Assert.Equal(second.Parameters.ToArray(), loaded.Parameters.ToArray());
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    public static TheoryData<string, string, ulong?, string> BadFiles() => new()
    {
        // name, header, declared header length (null: the real one), expected message fragment
        { "absurd length", ValidHeader, 1UL << 40, "more than the 16777216 allowed" },
        { "length past the end", ValidHeader, 10_000, "only 236 bytes follow it" },
        { "malformed JSON", """{"Weights":{"dtype":"F64",""", null, "its header is not valid JSON" },
        { "not an object", "[1, 2, 3]", null, "its header is a JSON Array, not an object" },
        { "missing tensor", """{"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]}}""", null, "it has no tensor 'Bias' (shape [3])" },
        { "extra tensor", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]},"Extra":{"dtype":"F64","shape":[0],"data_offsets":[72,72]}}""", null, "it holds a tensor 'Extra' (shape [0]) that the network does not have" },
        { "dtype F16", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F16","shape":[3,2],"data_offsets":[24,72]}}""", null, "tensor 'Weights' has dtype F16; only F32 and F64 can be loaded" },
        { "shape", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[2,3],"data_offsets":[24,72]}}""", null, "tensor 'Weights' has shape [2, 3] in the file but [3, 2] in the network" },
        { "size for shape", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,16]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[16,72]}}""", null, "tensor 'Weights' has data_offsets [16, 72] (56 bytes) but shape [3, 2] of F64 needs 48 bytes" },
        { "out of range", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[32,80]}}""", null, "tensor 'Weights' has data_offsets [32, 80] beyond the 72 data bytes" },
        { "overlap", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[40,64]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[0,48]}}""", null, "tensor 'Bias' (data_offsets [40, 64]) overlaps tensor 'Weights', which ends at 48" },
        { "overlap inside", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[8,56]}}""", null, "overlaps tensor 'Bias'" },
        { "overlap at the start", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[16,64]}}""", null, "overlaps" },
        { "reversed offsets", """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[24,0]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]}}""", null, "tensor 'Bias' has data_offsets [24, 0] that end before they begin" },
        { "negative dimension", """{"Bias":{"dtype":"F64","shape":[-3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]}}""", null, "tensor 'Bias' has a shape entry -3 that is not a non-negative integer" },
        { "no offsets", """{"Bias":{"dtype":"F64","shape":[3]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]}}""", null, "tensor 'Bias' has no \"data_offsets\" pair" },
        { "metadata not strings", """{"__metadata__":{"epoch":7},"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[24,72]}}""", null, "metadata 'epoch' is a JSON Number, not a string" },
        { "mixed dtypes", """{"Bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[12,60]}}""", null, "tensor 'Bias' has dtype F32 but earlier tensors have F64" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Load_RejectsABadFile_WithoutTouchingTheNetwork(string name, string header, ulong? declaredLength, string message)
    {
        string path = FilePath(name.Replace(' ', '-') + ".safetensors");
        File.WriteAllBytes(path, Build(header, ValidData(), declaredLength));
        var net = new HandSoftmaxRegression(seed: 11);
        double[] before = net.Parameters.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(net, path));
        Assert.Contains(message, ex.Message);
        Assert.Contains(Path.GetFileName(path), ex.Message);
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void Load_RejectsTrailingBytesAndGaps()
    {
        string gapHeader = """{"Bias":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"Weights":{"dtype":"F64","shape":[3,2],"data_offsets":[32,80]}}""";
        string path = FilePath("gap.safetensors");
        File.WriteAllBytes(path, Build(gapHeader, [.. ValidData(), .. new byte[8]]));
        Assert.Contains("there is a gap of 8 bytes before tensor 'Weights'", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new HandSoftmaxRegression(), path)).Message);

        File.WriteAllBytes(path, Build(ValidHeader, [.. ValidData(), 1, 2, 3]));
        Assert.Contains("the tensors cover 72 data bytes but the file holds 75 after the header", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new HandSoftmaxRegression(), path)).Message);
    }

    [Fact]
    public void Load_RejectsATruncatedFile()
    {
        var net = new XorNet(seed: 1);
        string path = FilePath("truncated.safetensors");
        Checkpoint.Save(net, path);
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole[..^5]);
        var target = new XorNet(seed: 2);
        double[] before = target.Parameters.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(target, path));
        Assert.Contains("truncated", ex.Message);
        Assert.Equal(before, target.Parameters.ToArray());

        File.WriteAllBytes(path, whole[..5]);
        Assert.Contains("shorter than the 8-byte header length", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(target, path)).Message);
        File.WriteAllBytes(path, whole[..20]);
        Assert.Contains("bytes follow it", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(target, path)).Message);
    }

    [Fact]
    public void Load_AnotherNetworksCheckpoint_NamesTheFirstMismatch()
    {
        string path = FilePath("digits.safetensors");
        Checkpoint.Save(new DigitsMlp(), path);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new XorNet(), path));
        Assert.Contains("does not fit this network", ex.Message);
        Assert.Contains("'Dense1Weights' has shape [32, 64] in the file but [4, 2] in the network", ex.Message);
    }

    [Fact]
    public void SavedHeader_IsPlainJson_ReadableByAnyParser()
    {
        string path = FilePath("json.safetensors");
        Checkpoint.Save(new DigitsMlp(), path, new Dictionary<string, string> { ["quote\"d"] = "ünïcode" });
        byte[] file = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        using var doc = JsonDocument.Parse(file.AsMemory(8, n));
        Assert.Equal("ünïcode", doc.RootElement.GetProperty("__metadata__").GetProperty("quote\"d").GetString());
        var dense2 = doc.RootElement.GetProperty("Dense2Weights");
        Assert.Equal([10, 32], dense2.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("F32", dense2.GetProperty("dtype").GetString());
        Assert.Equal("ünïcode", Checkpoint.ReadMetadata(path)["quote\"d"]);
    }
}
