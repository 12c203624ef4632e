using Module5.Sequences;

namespace NetGen.Tests.Samples;

/// <summary>The Module 5 sample's claims, checked on the sample's own code and networks (short runs).</summary>
public class Module5SampleTests
{
    [Fact]
    public void TheUnrolledRnnPrintsTheLecturesNumbers()
    {
        var text = new StringWriter();
        Vanishing.Unrolled(text);
        string s = text.ToString();
        // h_t = tanh(W_xh·x_t + b_ih + W_hh·h_(t−1) + b_hh), computed here independently.
        double[] wx = [0.5, -0.3], b = [0.05, -0.05];
        double[,] wh = { { 0.1, 0.4 }, { -0.2, 0.3 } };
        double[] x = [1.0, 0.5, -1.0], y = [0.2, -0.1];
        var h = new double[4][];
        h[0] = [0, 0];
        for (int t = 1; t <= 3; t++)
            h[t] = [Math.Tanh(wx[0] * x[t - 1] + b[0] + wh[0, 0] * h[t - 1][0] + wh[0, 1] * h[t - 1][1]),
                    Math.Tanh(wx[1] * x[t - 1] + b[1] + wh[1, 0] * h[t - 1][0] + wh[1, 1] * h[t - 1][1])];
        string F(double v) => v.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"h_1[1] = tanh(0.55) = {F(h[1][0])}", s);
        Assert.Contains($"h_3[2] = tanh(", s);
        Assert.Contains($"= {F(h[3][1])}", s);
        // ∂E/∂h_3 = h_3 − y (E = ½‖h_3 − y‖²), then back through time: ∂E/∂h_2 = W_hhᵀ·(∂E/∂h_3 ⊙ (1 − h_3²)).
        double[] d3 = [h[3][0] - y[0], h[3][1] - y[1]];
        double[] delta3 = [d3[0] * (1 - h[3][0] * h[3][0]), d3[1] * (1 - h[3][1] * h[3][1])];
        double[] d2 = [wh[0, 0] * delta3[0] + wh[1, 0] * delta3[1], wh[0, 1] * delta3[0] + wh[1, 1] * delta3[1]];
        Assert.Contains($"∂E/∂h_3 = [{F(d3[0])}, {F(d3[1])}]", s);
        Assert.Contains($"∂E/∂h_2 = [{F(d2[0])}, {F(d2[1])}]", s);
        double e = 0.5 * (d3[0] * d3[0] + d3[1] * d3[1]);
        Assert.Contains($"E = {F(e)}", s);
    }

    [Fact]
    public void TheSimpleRnnsGradientVanishesAndAForgetBiasKeepsTheLstms()
    {
        var text = new StringWriter();
        string images = Path.Combine(Path.GetTempPath(), "netgen-m5-" + Guid.NewGuid().ToString("N"));
        try
        {
            Vanishing.Run(text, images);
            Assert.True(new FileInfo(Path.Combine(images, "vanishing.png")).Length > 10_000);
        }
        finally
        {
            if (Directory.Exists(images)) Directory.Delete(images, recursive: true);
        }
        var rows = text.ToString().Split('\n').Select(l => l.Trim()).ToList();
        double[] Row(int t) => rows.First(l => l.StartsWith(t + " ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        double[] last = Row(50), first = Row(1);
        Assert.All(last, v => Assert.Equal(1.0, v, 2));
        Assert.True(first[0] < 1e-6, $"SimpleRNN ‖∂E/∂h_1‖ = {first[0]}");
        Assert.True(first[3] > 100 * first[2], $"forget bias 1 {first[3]} vs LSTM {first[2]}");
        Assert.Contains("Jacobians", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheAddingProblemsBaselineIsASixth()
    {
        var (_, y) = Adding.Make(20_000, new SeededRandom(3));
        double mse = y.Average(v => (v - 1.0) * (v - 1.0));
        Assert.InRange(mse, 0.16, 0.175);
    }

    [Fact]
    public void GruLearnsTheAddingProblemWhereTheSimpleRnnDoesNot()
    {
        var text = new StringWriter();
        var results = Adding.Run(text, steps: 500, batch: 32, learningRate: 1e-2, models: ["SimpleRNN", "GRU"]);
        Assert.Contains("adding T=50 SimpleRNN test mse: ", text.ToString());
        Assert.Contains("adding T=50 GRU test mse: ", text.ToString());
        Assert.True(results[0].TestMse > 0.12, $"SimpleRNN {results[0].TestMse}");
        Assert.True(results[1].TestMse < 0.05, $"GRU {results[1].TestMse}");
    }

    [Fact]
    public void RowLstmLearnsMnistRowByRow()
    {
        var text = new StringWriter();
        // 141 steps of 64 (the full run, 12 epochs on 8,000 images, reaches ≥ 0.95; see docs/sequences.md).
        var results = RowMnist.Run(text, ["LSTM"], epochs: 3, trainCount: 3000, testCount: 500);
        Assert.True(results[0].TestAccuracy > 0.5, $"accuracy {results[0].TestAccuracy}");
        Assert.EndsWith($"test accuracy: {results[0].TestAccuracy.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)}", text.ToString().TrimEnd());
    }

    [Fact]
    public void NGramBaselinesAreDistributionsThatImproveWithOrder()
    {
        var words = NetGen.Data.Datasets.EnglishWords();
        Assert.Equal(63_875, words.Length);
        Assert.All(words, w => Assert.Matches("^[a-z]+$", w));
        Assert.Contains("Kevin Atkinson", NetGen.Data.Datasets.EnglishWordsNotice(), StringComparison.Ordinal);
        var train = words.Where((_, i) => i % 10 != 0).ToArray();
        var test = words.Where((_, i) => i % 10 == 0).Take(2000).ToArray();
        var ngrams = new NGrams(train);
        double uni = ngrams.BitsPerCharacter(test, 1), bi = ngrams.BitsPerCharacter(test, 2), tri = ngrams.BitsPerCharacter(test, 3);
        Assert.True(uni > bi && bi > tri, $"{uni} {bi} {tri}");
        Assert.InRange(uni, 4.0, Math.Log2(27));
    }

    [Fact]
    public void TheCharacterModelEncodesWordsAndSamplesThroughSteps()
    {
        var input = new float[CharModel.Steps];
        var labels = new int[CharModel.Steps];
        CharModel.Encode("cab", input, labels);
        Assert.Equal([0f, 3, 1, 2, 27, 27], input.Take(6).ToArray());
        Assert.Equal([3, 1, 2, 27, 27], labels.Take(5).ToArray());

        // A few hundred steps on a small list: the model beats the unigram, and sampling through Step gives words.
        var text = new StringWriter();
        var result = Words.Run(text, "gru", epochs: 1, limit: 3000);
        Assert.True(result.NetworkBits < result.Unigram, $"{result.NetworkBits} vs unigram {result.Unigram}");
        Assert.Contains("bits per character: network ", text.ToString());
        Assert.Contains("temperature 0.5: ", text.ToString());
    }
}
