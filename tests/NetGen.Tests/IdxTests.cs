using System.IO.Compression;

namespace NetGen.Tests;

public class IdxTests
{
    private static IdxArray Sample(int n = 2, int rows = 3, int cols = 3)
    {
        var data = new byte[n * rows * cols];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 37 % 256);
        return new IdxArray([n, rows, cols], data);
    }

    private static byte[] Bytes(IdxArray array, bool gzip)
    {
        var ms = new MemoryStream();
        Idx.Write(ms, array, gzip);
        return ms.ToArray();
    }

    /// <summary>A read-only stream that cannot seek, as a network or pipe stream would be.</summary>
    private sealed class ForwardOnly(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 5));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static InvalidDataException ReadFails(byte[] bytes) => Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(bytes)));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTrip(bool gzip)
    {
        var original = Sample();
        byte[] bytes = Bytes(original, gzip);
        if (gzip) Assert.Equal([0x1F, 0x8B], bytes[..2]);
        else Assert.Equal([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3], bytes[..16]);

        foreach (var stream in new Stream[] { new MemoryStream(bytes), new ForwardOnly(bytes) })
        {
            var read = Idx.Read(stream);
            Assert.Equal(IdxType.UnsignedByte, read.Type);
            Assert.Equal([2, 3, 3], read.Shape);
            Assert.Equal(original.Data, read.Data);
            Assert.Equal(18, read.Count);
            Assert.Null(read.Source);
        }
    }

    [Fact]
    public void RoundTripThroughFiles_DetectsGzipByContentNotName()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-idx-").FullName;
        try
        {
            var original = Sample(4, 2, 5);
            string gz = Path.Combine(dir, "a.gz"), raw = Path.Combine(dir, "a.idx"), misnamed = Path.Combine(dir, "b.idx");
            Idx.Write(gz, original);
            Idx.Write(raw, original);
            File.Copy(gz, misnamed);
            Assert.Equal(0x1F, File.ReadAllBytes(gz)[0]);
            Assert.Equal(0x00, File.ReadAllBytes(raw)[0]);
            foreach (string path in new[] { gz, raw, misnamed })
            {
                var read = Idx.Read(path);
                Assert.Equal([4, 2, 5], read.Shape);
                Assert.Equal(original.Data, read.Data);
                Assert.Equal(path, read.Source);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData(IdxType.SignedByte, new byte[] { 0xFF, 0x7F }, new double[] { -1, 127 })]
    [InlineData(IdxType.Int16, new byte[] { 0xFF, 0xFE, 0x01, 0x00 }, new double[] { -2, 256 })]
    [InlineData(IdxType.Int32, new byte[] { 0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF }, new double[] { 65536, -1 })]
    [InlineData(IdxType.Single, new byte[] { 0x3F, 0xC0, 0x00, 0x00, 0xC0, 0x20, 0x00, 0x00 }, new double[] { 1.5, -2.5 })]
    [InlineData(IdxType.Double, new byte[] { 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0xC0, 0x04, 0, 0, 0, 0, 0, 0 }, new double[] { 1.5, -2.5 })]
    public void OtherElementTypes_RoundTripAndConvertBigEndian(IdxType type, byte[] data, double[] expected)
    {
        var read = Idx.Read(new MemoryStream(Bytes(new IdxArray(type, [2], data), gzip: true)));
        Assert.Equal(type, read.Type);
        Assert.Equal(data, read.Data);
        Assert.Equal(expected, read.ToDoubles());
    }

    [Fact]
    public void EmptyOrTinyFile_IsATruncatedHeader()
    {
        var ex = ReadFails([0, 0]);
        Assert.Contains("truncated header", ex.Message);
        Assert.Contains("at least 4 bytes", ex.Message);
        Assert.Contains("holds only 2", ex.Message);
        Assert.Contains("holds only 0", ReadFails([]).Message);
    }

    [Fact]
    public void TruncatedHeader_SaysHowLongTheHeaderShouldBe()
    {
        // Three dimensions need a 16-byte header; the file stops after the first dimension.
        var ex = ReadFails([0, 0, 0x08, 3, 0, 0, 0, 5]);
        Assert.StartsWith("IDX data: truncated header", ex.Message);
        Assert.Contains("3 dimensions need a 16-byte header", ex.Message);
        Assert.Contains("ends after 8 bytes", ex.Message);
    }

    [Fact]
    public void TruncatedData_SaysBytesExpectedAndPresent()
    {
        byte[] full = Bytes(Sample(), gzip: false);          // 16-byte header + 18 data bytes
        byte[] cut = full[..(16 + 10)];
        foreach (Stream stream in new Stream[] { new MemoryStream(cut), new ForwardOnly(cut), new MemoryStream(Gzip(cut)) })
        {
            var ex = Assert.Throws<InvalidDataException>(() => Idx.Read(stream));
            Assert.Contains("truncated data", ex.Message);
            Assert.Contains("shape 2 × 3 × 3, unsigned bytes (0x08)", ex.Message);
            Assert.Contains("promises 18 bytes of data after the 16-byte header", ex.Message);
            Assert.Contains("holds only 10 (8 missing)", ex.Message);
        }
    }

    [Fact]
    public void TrailingBytes_SaysHowManyExtra()
    {
        byte[] full = Bytes(Sample(), gzip: false);
        byte[] longer = [.. full, 1, 2, 3, 4, 5];
        foreach (Stream stream in new Stream[] { new MemoryStream(longer), new ForwardOnly(longer), new MemoryStream(Gzip(longer)) })
        {
            var ex = Assert.Throws<InvalidDataException>(() => Idx.Read(stream));
            Assert.Contains("5 unexpected bytes after the data", ex.Message);
            Assert.Contains("promises 18 bytes", ex.Message);
            Assert.Contains("holds 23", ex.Message);
        }
    }

    [Fact]
    public void WrongMagic_ShowsTheBytesFoundAndGuessesTheFormat()
    {
        var zip = ReadFails([(byte)'P', (byte)'K', 3, 4, 0, 0]);
        Assert.Contains("expected it to start with the bytes 00 00", zip.Message);
        Assert.Contains("starts with 50 4B 03 04", zip.Message);
        Assert.Contains("ZIP archive", zip.Message);

        var html = ReadFails("<!DOCTYPE html>"u8.ToArray());
        Assert.Contains("\"<!DO\"", html.Message);
        Assert.Contains("web page", html.Message);

        // Little-endian 2051 (MNIST's image magic) written the wrong way round.
        Assert.Contains("byte-swapped", ReadFails([3, 8, 0, 0]).Message);
    }

    [Fact]
    public void UnknownTypeCode_IsNamed()
    {
        var ex = ReadFails([0, 0, 0x07, 1, 0, 0, 0, 1, 42]);
        Assert.Contains("unsupported element type code 0x07", ex.Message);
        Assert.Contains("0x08 (unsigned byte)", ex.Message);
        Assert.Contains("0x0E (float64)", ex.Message);
    }

    [Fact]
    public void ZeroDimensions_AreRejected()
    {
        var ex = ReadFails([0, 0, 0x08, 0]);
        Assert.Contains("declares 0 dimensions", ex.Message);
        Assert.Contains("expected at least 1", ex.Message);
    }

    [Fact]
    public void AbsurdOrNegativeSizes_AreRejectedWithoutAllocating()
    {
        // 65536³ bytes = 2⁴⁸: far beyond any array.
        var huge = ReadFails([0, 0, 0x08, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
        Assert.Contains("65536 × 65536 × 65536", huge.Message);
        Assert.Contains("281474976710656 bytes", huge.Message);
        Assert.Contains("more than one array can hold", huge.Message);

        var negative = ReadFails([0, 0, 0x08, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        Assert.Contains("dimension 0 in the header is -1", negative.Message);
    }

    [Fact]
    public void ErrorsNameTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"netgen-idx-{Guid.NewGuid():N}-images-idx3-ubyte");
        try
        {
            File.WriteAllBytes(path, Bytes(Sample(), gzip: false)[..20]);
            var ex = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
            Assert.StartsWith($"IDX file '{path}': truncated data", ex.Message);
            Assert.Contains("holds only 4 (14 missing)", ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void CorruptGzip_IsReportedAsSuch()
    {
        byte[] gz = Bytes(Sample(20, 10, 10), gzip: true);
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        var ex = Assert.ThrowsAny<InvalidDataException>(() => Idx.Read(new MemoryStream(gz), "digits.gz"));
        Assert.StartsWith("IDX file 'digits.gz':", ex.Message);
    }

    [Fact]
    public void IdxArray_RejectsDataOfTheWrongLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => new IdxArray(IdxType.Int16, [2, 3], new byte[6]));
        Assert.Contains("needs 12 bytes of data, but 6 were given", ex.Message);
        Assert.Throws<ArgumentException>(() => new IdxArray([], []));
    }

    [Fact]
    public void ToDataset_ScalesPixelsAndCountsClasses()
    {
        var images = new IdxArray([3, 1, 2], [0, 255, 51, 102, 255, 0]);
        var labels = new IdxArray([3], [2, 0, 1]);
        var set = Idx.ToDataset<double>(images, labels);
        Assert.Equal(3, set.Count);
        Assert.Equal(2, set.FeatureSize);
        Assert.Equal(10, set.Classes);                       // at least 10, as for digits
        Assert.Equal([0.0, 1.0, 0.2, 0.4, 1.0, 0.0], set.AllFeatures.ToArray());
        Assert.Equal([2, 0, 1], set.Labels.ToArray());

        var many = Idx.ToDataset<float>(images, new IdxArray([3], [11, 0, 1]), maxCount: 2);
        Assert.Equal(12, many.Classes);                      // largest label + 1 when that is more
        Assert.Equal(2, many.Count);
    }

    [Fact]
    public void LoadImages_CountMismatch_NamesBothFilesAndCounts()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-idx-").FullName;
        try
        {
            string images = Path.Combine(dir, "train-images-idx3-ubyte.gz"), labels = Path.Combine(dir, "t10k-labels-idx1-ubyte.gz");
            Idx.Write(images, new IdxArray([3, 2, 2], new byte[12]));
            Idx.Write(labels, new IdxArray([2], [1, 2]));
            var ex = Assert.Throws<InvalidDataException>(() => Idx.LoadImages<float>(images, labels));
            Assert.Contains($"'{images}' holds 3 images", ex.Message);
            Assert.Contains($"'{labels}' holds 2 labels", ex.Message);
            Assert.Contains("belong together", ex.Message);

            // Swapped arguments: the labels file is not an image file.
            var swapped = Assert.Throws<InvalidDataException>(() => Idx.LoadImages<float>(labels, images));
            Assert.Contains("expected unsigned bytes (type 0x08) of shape count × rows × columns", swapped.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static byte[] Gzip(byte[] bytes)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(bytes);
        return ms.ToArray();
    }
}
