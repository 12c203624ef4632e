using NetGen.Imaging;

namespace NetGen.Tests.Imaging;

public sealed class ImageTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "netgen-imaging-tests-" + Guid.NewGuid().ToString("N"));

    public ImageTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static Image RandomImage(int width, int height, int channels, int seed)
    {
        var image = new Image(width, height, channels);
        new Random(seed).NextBytes(image.Pixels);
        return image;
    }

    /// <summary>A grey image whose rows are given top to bottom.</summary>
    private static Image Grey(params byte[][] rows)
    {
        var image = new Image(rows[0].Length, rows.Length, 1);
        for (int y = 0; y < rows.Length; y++)
        {
            rows[y].CopyTo(image.Pixels, y * image.Width);
        }
        return image;
    }

    // ---- load / save ----

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void SavePng_ThenLoad_IsLosslessAndKeepsChannels(int channels)
    {
        var image = RandomImage(37, 23, channels, seed: channels);
        string path = Path.Combine(_directory, $"round-trip-{channels}.png");

        image.SavePng(path);
        var loaded = Image.Load(path);

        Assert.Equal((37, 23, channels), (loaded.Width, loaded.Height, loaded.Channels));
        Assert.Equal(image.Pixels, loaded.Pixels);
    }

    [Fact]
    public void Load_FromStream_DecodesLikeAFile()
    {
        var image = RandomImage(8, 5, 3, seed: 1);
        string path = Path.Combine(_directory, "stream.png");
        image.SavePng(path);

        using var stream = File.OpenRead(path);
        Assert.Equal(image.Pixels, Image.Load(stream).Pixels);
    }

    [Fact]
    public void SavePng_ReplacesAnExistingFile_AndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(_directory, "replace.png");
        File.WriteAllText(path, "old contents");

        var image = RandomImage(4, 4, 3, seed: 2);
        image.SavePng(path);

        Assert.Equal(image.Pixels, Image.Load(path).Pixels);
        Assert.Equal(["replace.png"], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void SaveJpeg_OfAUniformImage_LoadsBackCloseToTheColour()
    {
        var image = new Image(16, 16, 3);
        for (int i = 0; i < image.Pixels.Length; i += 3)
        {
            (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]) = ((byte)200, (byte)100, (byte)50);
        }
        string path = Path.Combine(_directory, "uniform.jpg");

        image.SaveJpeg(path, quality: 95);
        var loaded = Image.Load(path);

        Assert.Equal((16, 16, 3), (loaded.Width, loaded.Height, loaded.Channels));
        for (int i = 0; i < image.Pixels.Length; i++)
        {
            Assert.InRange(loaded.Pixels[i], image.Pixels[i] - 4, image.Pixels[i] + 4); // JPEG is lossy
        }
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFoundNamingThePath()
    {
        string path = Path.Combine(_directory, "no-such-image.png");

        var error = Assert.Throws<FileNotFoundException>(() => Image.Load(path));

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_GarbageFile_ThrowsInvalidDataNamingTheFileAndTheFormats()
    {
        string path = Path.Combine(_directory, "garbage.png");
        File.WriteAllText(path, "this is not an image, just text");

        var error = Assert.Throws<InvalidDataException>(() => Image.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("PNG", error.Message);
        Assert.Contains("JPEG", error.Message);
    }

    [Fact]
    public void Load_EmptyFile_ThrowsInvalidData()
    {
        string path = Path.Combine(_directory, "empty.jpg");
        File.WriteAllBytes(path, []);

        var error = Assert.Throws<InvalidDataException>(() => Image.Load(path));
        Assert.Contains(path, error.Message);
    }

    // ---- pixels ----

    [Fact]
    public void Pixel_ReadsColumnXOfRowY_FromTheTopLeft()
    {
        // 5 wide, 3 high; pixel (x, y) = (R = 10·x, G = 10·y, B = 7).
        var image = new Image(5, 3, 3);
        for (int y = 0; y < 3; y++)
        {
            for (int x = 0; x < 5; x++)
            {
                image.SetPixel(x, y, (byte)(10 * x), (byte)(10 * y), 7);
            }
        }

        Assert.Equal([40, 10, 7], image.Pixel(4, 1).ToArray()); // column 4, row 1
        Assert.Equal([10, 20, 7], image.Pixel(1, 2).ToArray()); // column 1, row 2 (bottom row)
        Assert.Equal([0, 0, 7], image[0, 0].ToArray());         // top-left corner
        Assert.Equal(30, image[3, 2, 0]);
        Assert.Equal(20, image[3, 2, 1]);
        // Row-major HWC: (y · Width + x) · Channels + c.
        Assert.Equal(40, image.Pixels[(1 * 5 + 4) * 3 + 0]);
        Assert.Equal(10, image.Pixels[(1 * 5 + 4) * 3 + 1]);
    }

    [Fact]
    public void Pixel_OutsideTheImage_ThrowsNamingTheValidRange()
    {
        var image = new Image(5, 3, 1);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => image.Pixel(5, 0));
        Assert.Equal("x", ex.ParamName);
        Assert.Contains("0..4", ex.Message);

        var ey = Assert.Throws<ArgumentOutOfRangeException>(() => image.Pixel(0, 3));
        Assert.Equal("y", ey.ParamName);
        Assert.Contains("0..2", ey.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => image.Pixel(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => image[0, 0, 1]);
    }

    [Fact]
    public void Constructor_RejectsTwoChannelsAndWrongLengths()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Image(2, 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Image(0, 2, 1));
        Assert.Throws<ArgumentException>(() => new Image(2, 2, 3, new byte[11]));
    }

    // ---- resize ----

    [Fact]
    public void Resize_2x2To4x4_GivesTheHandComputedBilinearValues()
    {
        // Half-pixel centres, scale 2/4: output column d samples input x = (d + 0.5)/2 − 0.5
        // = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1); the same for rows.
        // So columns mix the two inputs with weights of the right one 0, 0.25, 0.75, 1.
        var image = Grey([0, 100], [200, 40]);

        var resized = image.Resize(4, 4);

        // Row 0 = input row 0:            0, 25, 75, 100
        // Row 3 = input row 1:            200, 160, 80, 40
        // Row 1 = 0.75·row0 + 0.25·row3:  50, 58.75, 76.25, 85
        // Row 2 = 0.25·row0 + 0.75·row3:  150, 126.25, 78.75, 55
        byte[] expected =
        [
            0, 25, 75, 100,
            50, 59, 76, 85,
            150, 126, 79, 55,
            200, 160, 80, 40,
        ];
        Assert.Equal((4, 4, 1), (resized.Width, resized.Height, resized.Channels));
        Assert.Equal(expected, resized.Pixels);
    }

    [Fact]
    public void Resize_ByExactlyHalf_AveragesNeighbouringPairs()
    {
        // Bilinear at 2×: output pixel d samples input x = 2d + 0.5, exactly between two input pixels.
        var image = Grey([0, 100, 50, 250]);

        Assert.Equal([50, 150], image.Resize(2, 1).Pixels);
    }

    [Fact]
    public void Resize_ByMoreThanTwo_AveragesAreas()
    {
        // 6 → 2: each output pixel is the mean of 3 input pixels.
        Assert.Equal([30, 120], Grey([0, 30, 60, 90, 120, 150]).Resize(2, 1).Pixels);

        // 5 → 2: output pixel 0 covers [0, 2.5): pixels 0 and 1 fully, pixel 2 half → weights 0.4, 0.4, 0.2.
        //   0.4·10 + 0.4·20 + 0.2·30 = 18;  output 1 covers [2.5, 5): 0.2·30 + 0.4·40 + 0.4·50 = 42.
        Assert.Equal([18, 42], Grey([10, 20, 30, 40, 50]).Resize(2, 1).Pixels);

        // 4 × 4 → 1 × 1 is the mean of everything.
        var block = Grey([0, 10, 20, 30], [40, 50, 60, 70], [80, 90, 100, 110], [120, 130, 140, 150]);
        Assert.Equal([75], block.Resize(1, 1).Pixels);
    }

    [Theory]
    [InlineData(224, 224)] // upscale
    [InlineData(5, 3)]     // strong downscale (area)
    [InlineData(30, 20)]   // mild downscale (bilinear)
    [InlineData(100, 7)]   // mixed
    public void Resize_OfAUniformImage_StaysUniform(int width, int height)
    {
        var image = new Image(37, 23, 3);
        for (int i = 0; i < image.Pixels.Length; i += 3)
        {
            (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]) = ((byte)13, (byte)200, (byte)77);
        }

        var resized = image.Resize(width, height);

        Assert.Equal((width, height, 3), (resized.Width, resized.Height, resized.Channels));
        for (int i = 0; i < resized.Pixels.Length; i += 3)
        {
            Assert.Equal([13, 200, 77], resized.Pixels[i..(i + 3)]);
        }
    }

    [Fact]
    public void Resize_ToTheSameSize_ReturnsAnIdenticalCopy()
    {
        var image = RandomImage(9, 7, 4, seed: 3);

        var same = image.Resize(9, 7);

        Assert.NotSame(image.Pixels, same.Pixels);
        Assert.Equal(image.Pixels, same.Pixels);
    }

    [Fact]
    public void ResizeShortestSide_RoundsTheLongerSideToNearest()
    {
        // 640 · 224 / 480 = 298.67 → rounded to 299 (torchvision would truncate to 298).
        var landscape = new Image(640, 480, 3).ResizeShortestSide(224);
        Assert.Equal((299, 224), (landscape.Width, landscape.Height));

        var portrait = new Image(480, 640, 1).ResizeShortestSide(224);
        Assert.Equal((224, 299), (portrait.Width, portrait.Height));

        // 300 · 100 / 200 = 150 exactly; 5 · 2 / 4 = 2.5 → halves round up to 3.
        Assert.Equal((150, 100), Size(new Image(300, 200, 1).ResizeShortestSide(100)));
        Assert.Equal((3, 2), Size(new Image(5, 4, 1).ResizeShortestSide(2)));

        static (int, int) Size(Image image) => (image.Width, image.Height);
    }

    [Fact]
    public void CenterCrop_TakesTheMiddle_WithTheOddPixelOnTheRightAndBottom()
    {
        // 10 × 6 with pixel (x, y) = 10·y + x; crop 5 × 3: left margin ⌊5/2⌋ = 2, top margin ⌊3/2⌋ = 1.
        var image = new Image(10, 6, 1);
        for (int i = 0; i < 60; i++)
        {
            image.Pixels[i] = (byte)i;
        }

        var crop = image.CenterCrop(5, 3);

        Assert.Equal((5, 3), (crop.Width, crop.Height));
        Assert.Equal([12, 13, 14, 15, 16, 22, 23, 24, 25, 26, 32, 33, 34, 35, 36], crop.Pixels);
        Assert.Throws<ArgumentOutOfRangeException>(() => image.CenterCrop(11, 3));
    }

    [Fact]
    public void ResizeAndCenterCrop_224_GivesASquareFromTheCentre()
    {
        // Black 640 × 480 with a white 20 × 20 marker in the centre and a red band down the left edge.
        var image = new Image(640, 480, 3);
        for (int y = 0; y < 480; y++)
        {
            for (int x = 0; x < 640; x++)
            {
                if (x is >= 310 and < 330 && y is >= 230 and < 250)
                {
                    image.SetPixel(x, y, 255, 255, 255);
                }
                else if (x < 40)
                {
                    image.SetPixel(x, y, 255, 0, 0);
                }
            }
        }

        var crop = image.ResizeAndCenterCrop(224);

        Assert.Equal((224, 224, 3), (crop.Width, crop.Height, crop.Channels));
        // 640 × 480 → 299 × 224 (scale 0.467), minus 37 columns on the left: the marker centre (320, 240)
        // lands at (320·0.467 − 37, 240·0.467) ≈ (112, 112), the middle of the crop.
        Assert.Equal([255, 255, 255], crop.Pixel(112, 112).ToArray());
        Assert.Equal([0, 0, 0], crop.Pixel(0, 0).ToArray());
        // The red band (columns 0..39 → 0..18 after resizing) was cut off by the crop.
        for (int y = 0; y < 224; y++)
        {
            for (int x = 0; x < 224; x++)
            {
                Assert.True(crop[x, y, 0] == crop[x, y, 1], $"red at ({x}, {y})");
            }
        }
    }

    // ---- conversions ----

    [Fact]
    public void ToTensor_IsChannelsFirst_AndScaledBy255()
    {
        // 3 wide, 2 high: R = 10·x + y, G = 100 + 10·x + y, B = 200 + 10·x + y.
        const int width = 3, height = 2;
        var image = new Image(width, height, 3);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                image.SetPixel(x, y, (byte)(10 * x + y), (byte)(100 + 10 * x + y), (byte)(200 + 10 * x + y));
            }
        }

        float[] tensor = image.ToTensor<float>();

        Assert.Equal(3 * height * width, tensor.Length);
        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    Assert.Equal((100 * c + 10 * x + y) / 255f, tensor[c * height * width + y * width + x]);
                }
            }
        }
        // Spot checks: the whole red plane comes first, then green, then blue.
        Assert.Equal([0 / 255f, 10 / 255f, 20 / 255f, 1 / 255f, 11 / 255f, 21 / 255f], tensor[..6]);
        Assert.Equal(121 / 255f, tensor[1 * 6 + 1 * 3 + 2]); // G of (x=2, y=1)
    }

    [Fact]
    public void ToTensor_OfBlackAndWhite_GivesZeroAndOne()
    {
        var image = Grey([0, 255]);
        Assert.Equal([0.0, 1.0], image.ToTensor<double>());
    }

    [Fact]
    public void FromTensor_InvertsToTensor_AndClamps()
    {
        var image = RandomImage(6, 4, 3, seed: 4);
        Assert.Equal(image.Pixels, Image.FromTensor(image.ToTensor<float>(), 3, 4, 6).Pixels);

        // 0.5 · 255 = 127.5 → 128; out-of-range values are clamped; NaN becomes 0.
        var clamped = Image.FromTensor([-0.5f, 1.5f, 0.5f, float.NaN], 1, 2, 2);
        Assert.Equal([0, 255, 128, 0], clamped.Pixels);

        Assert.Throws<ArgumentException>(() => Image.FromTensor(new float[5], 1, 2, 2));
    }

    [Fact]
    public void ToGrayscale_UsesBt601Weights()
    {
        var image = new Image(5, 1, 3);
        image.SetPixel(0, 0, 255, 0, 0);     // 0.299 · 255 = 76.245  → 76
        image.SetPixel(1, 0, 0, 255, 0);     // 0.587 · 255 = 149.685 → 150
        image.SetPixel(2, 0, 0, 0, 255);     // 0.114 · 255 = 29.07   → 29
        image.SetPixel(3, 0, 255, 255, 255); // weights sum to 1 → 255
        image.SetPixel(4, 0, 10, 200, 30);   // 2.99 + 117.4 + 3.42 = 123.81 → 124

        var grey = image.ToGrayscale();

        Assert.Equal(1, grey.Channels);
        Assert.Equal([76, 150, 29, 255, 124], grey.Pixels);
    }

    [Fact]
    public void ToRgb_CopiesGreyIntoAllChannels_AndDropsAlpha()
    {
        Assert.Equal([9, 9, 9, 200, 200, 200], Grey([9, 200]).ToRgb().Pixels);

        var rgba = new Image(1, 1, 4, [1, 2, 3, 4]);
        Assert.Equal([1, 2, 3], rgba.ToRgb().Pixels);
    }
}
