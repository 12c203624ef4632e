using Module1.NeuralNetworks;

namespace NetGen.Tests.Samples;

/// <summary>The Module 1 sample's claims, checked on the sample's own code and networks.</summary>
public class Module1SampleTests
{
    [Fact]
    public void PerceptronLearnsAndAndOrButNeverXor()
    {
        var text = new StringWriter();
        var (and, or, xor) = Tour.Perceptrons(text, epochs: 50);
        Assert.True(and, "AND should be learned:\n" + text);
        Assert.True(or, "OR should be learned:\n" + text);
        Assert.False(xor, "XOR is not linearly separable:\n" + text);
        Assert.Contains("AND learned in 4 epochs.", text.ToString());
        Assert.Contains("OR learned in 2 epochs.", text.ToString());
    }

    [Fact]
    public void AndPerceptronWithChosenWeightsPrintsTheLecturesNetValuesBeforeAnyLearning()
    {
        var text = new StringWriter();
        var (net, output) = Tour.AndByHand(text);
        Assert.Equal([-1.5, -0.5, -0.5, 0.5], net);
        Assert.Equal([0.0, 0, 0, 1], output);
        string s = text.ToString();
        foreach (var line in new[]
                 {
                     "w = (1, 1), b = -1.5, nothing learned",
                     "x = (0, 0): net = 1·0 + 1·0 + (-1.5) = -1.5, y = step(-1.5) = 0",
                     "x = (0, 1): net = 1·0 + 1·1 + (-1.5) = -0.5, y = step(-0.5) = 0",
                     "x = (1, 0): net = 1·1 + 1·0 + (-1.5) = -0.5, y = step(-0.5) = 0",
                     "x = (1, 1): net = 1·1 + 1·1 + (-1.5) = 0.5, y = step(0.5) = 1",
                     "outputs 0 0 0 1: AND.",
                 })
            Assert.Contains(line, s);

        // The perceptron subcommand shows it first, before the learning runs.
        var tour = new StringWriter();
        Tour.Perceptrons(tour);
        string all = tour.ToString();
        int chosen = all.IndexOf("x = (1, 1): net = 1·1 + 1·1 + (-1.5) = 0.5, y = step(0.5) = 1", StringComparison.Ordinal);
        int learning = all.IndexOf("== Perceptron: y = step", StringComparison.Ordinal);
        Assert.True(chosen >= 0 && learning > chosen, all);
    }

    [Fact]
    public void GraphPrintsCs231nsCircuitAndTheSigmoidNeuronsGradients()
    {
        var text = new StringWriter();
        var r = Tour.Graph(text);
        string s = text.ToString();

        // (x + y)·z at x = −2, y = 5, z = −4: q = 3, f = −12; ∂f/∂x = ∂f/∂y = z = −4, ∂f/∂z = q = 3.
        Assert.Equal((-12.0, -4.0, -4.0, 3.0), (r.F, r.Dx, r.Dy, r.Dz));
        // σ(2·(−1) + (−3)·(−2) − 3) = σ(1); ∂f/∂x = σ'(1)·w, ∂f/∂w = σ'(1)·x, ∂f/∂w2 = σ'(1).
        double sigma = 1 / (1 + Math.Exp(-1)), local = sigma * (1 - sigma);
        Assert.Equal(sigma, r.Output, 15);
        Assert.Equal(new[] { 2 * local, -3 * local }, r.InputGradient.Select(v => Math.Round(v, 15)), new RoundedComparer());
        Assert.Equal(new[] { -local, -2 * local, local }, r.WeightGradient.Select(v => Math.Round(v, 15)), new RoundedComparer());

        foreach (var line in new[]
                 {
                     "q = x + y = -2 + 5 = 3;  f = q·z = 3·(-4) = -12",
                     "∂f/∂f = 1",
                     "∂f/∂q = z = -4,  ∂f/∂z = q = 3   (the multiply gate swaps its inputs)",
                     "∂f/∂x = ∂f/∂q·∂q/∂x = (-4)·1 = -4,  ∂f/∂y = ∂f/∂q·∂q/∂y = (-4)·1 = -4   (the add gate distributes the gradient)",
                     "the chain rule before there are layers",
                     // SigmoidNeuron.Explain with an upstream gradient of 1.
                     "net_o1 = w1·i1 + w2·i2 + b_o1·1 = 2·(-1) + (-3)·(-2) + (-3)·1 = 1",
                     "out_o1 = σ(net_o1) = 1/(1 + e^(-1)) = 0.731058579",
                     "∂f/∂out_o1 = 1   (given)",
                     "∂out_o1/∂net_o1 = out_o1·(1 - out_o1) = 0.196611933",
                     "∂f/∂w1 = ∂f/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w1 = 1 · 0.196611933 · (-1) = -0.196611933",
                     "∂f/∂w2 = ∂f/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w2 = 1 · 0.196611933 · (-2) = -0.393223866",
                     "∂f/∂b_o1 = δ_o1 = 0.196611933",
                     "∂f/∂i1 = δ_o1·w1 = 0.196611933·2 = 0.393223866",
                     "∂f/∂i2 = δ_o1·w2 = 0.196611933·(-3) = -0.5898358",
                     // The slide's numbers, to its two decimals.
                     "output σ = 0.73, local gradient (1 − σ)σ = 0.20",
                     "∂f/∂x0 = 0.39 (the slide rounds to 0.4), ∂f/∂w0 = -0.20",
                     "∂f/∂x1 = -0.59, ∂f/∂w1 = -0.39",
                     "∂f/∂w2 = 0.20",
                 })
            Assert.Contains(line, s);
    }

    /// <summary>Equal to 12 decimals (the expected values are formed in a different order).</summary>
    private sealed class RoundedComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-12;
        public int GetHashCode(double value) => 0;
    }

    [Fact]
    public void MlpLearnsXor()
    {
        var text = new StringWriter();
        Assert.True(Tour.Xor(text), text.ToString());
        Assert.Contains("4/4", text.ToString());
    }

    [Fact]
    public void BackpropPrintsTheLecturesNumbersToNineDecimals()
    {
        var text = new StringWriter();
        Tour.Backprop(text, explain: false);
        string s = text.ToString();
        foreach (var expected in new[]
                 {
                     "out_h1 = 0.593269992", "out_o1 = 0.751365070", "E_total before the step = 0.298371109",
                     "w1 = 0.149780716", "w2 = 0.199561432", "w3 = 0.249751144", "w4 = 0.299502287",
                     "w5 = 0.358916480", "w6 = 0.408666186", "w7 = 0.511301270", "w8 = 0.561370121",
                     "E_total after one step  = 0.291027774",
                 })
            Assert.Contains(expected, s);
    }

    [Fact]
    public void DigitsMlpReachesNinetyFivePercentOnHeldOutDigits()
    {
        var text = new StringWriter();
        double accuracy = Tour.Digits(text);
        Assert.True(accuracy >= 0.95, $"test accuracy {accuracy:0.000} < 0.95\n{text}");
        Assert.Matches(@"test accuracy: 0\.\d{3}", text.ToString());
    }
}
