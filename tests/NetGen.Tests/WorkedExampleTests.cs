using NetGen.Tests.Networks;

namespace NetGen.Tests;

/// <summary>The lecture's worked backprop example, reproduced by generated code to the printed digits.</summary>
public class WorkedExampleTests
{
    internal static WorkedExample Lecture()
    {
        var net = new WorkedExample();
        new double[] { 0.15, 0.20, 0.25, 0.30 }.CopyTo(net.Dense1Weights);
        new double[] { 0.40, 0.45, 0.50, 0.55 }.CopyTo(net.Dense2Weights);
        net.Dense1Bias.Fill(0.35);
        net.Dense2Bias.Fill(0.60);
        return net;
    }

    private static readonly double[] Input = [0.05, 0.10];
    private static readonly double[] Target = [0.01, 0.99];

    [Fact]
    public void ForwardPassMatchesTheLecture()
    {
        var net = Lecture();
        var output = net.Forward(Input);
        Assert.Equal(0.75136507, output[0], 8);
        Assert.Equal(0.772928465, output[1], 9);
        Assert.Equal(0.298371109, net.Loss(Target), 9);
    }

    [Fact]
    public void OneStepMatchesTheLecture()
    {
        var net = Lecture();
        double before = net.TrainStep(Input, Target, new Sgd(0.5));
        Assert.Equal(0.298371109, before, 9);
        // The lecture's values, each to the digits it prints.
        string[] expected = ["0.149780716", "0.19956143", "0.24975114", "0.29950229", "0.35891648", "0.408666186", "0.511301270", "0.561370121"];
        double[] actual = [.. net.Dense1Weights.ToArray(), .. net.Dense2Weights.ToArray()];
        for (int i = 0; i < 8; i++) AssertPrinted(expected[i], actual[i]);
        // Biases are held (TrainBias = false), as the lecture does.
        Assert.Equal([0.35, 0.35, 0.60, 0.60], [.. net.Dense1Bias.ToArray(), .. net.Dense2Bias.ToArray()]);
        net.Forward(Input);
        // Exact double arithmetic; the lecture prints 0.291027924 from rounded hand arithmetic.
        Assert.Equal(0.2910277737, net.Loss(Target), 10);
    }

    /// <summary>Asserts that <paramref name="actual"/> rounds to <paramref name="printed"/> at the digits printed.</summary>
    internal static void AssertPrinted(string printed, double actual)
    {
        int decimals = printed.Length - printed.IndexOf('.') - 1;
        Assert.Equal(printed, Math.Round(actual, decimals).ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ExplainPrintsTheLecturesComputation()
    {
        var net = Lecture();
        var text = new StringWriter();
        net.Explain(Input, Target, text, learningRate: 0.5);
        string s = text.ToString();
        Assert.Contains("net_h1 = w1·i1 + w2·i2 + b_h1·1 = 0.15·0.05 + 0.2·0.1 + 0.35·1 = 0.3775", s);
        Assert.Contains("out_h1 = σ(net_h1) = 1/(1 + e^(-0.3775)) = 0.593269992", s);
        Assert.Contains("E_total = E_o1 + E_o2 = 0.298371109", s);
        Assert.Contains("∂E_total/∂out_o1 = -(target_o1 - out_o1) = -(0.01 - 0.75136507) = 0.74136507", s);
        Assert.Contains("∂E_total/∂w5 = ∂E_total/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w5 = 0.74136507 · 0.186815602 · 0.593269992 = 0.082167041", s);
        Assert.Contains("∂E_total/∂w1 = ∂E_total/∂out_h1 · ∂out_h1/∂net_h1 · ∂net_h1/∂w1 = 0.036350306 · 0.241300709 · 0.05 = 0.000438568", s);
        Assert.Contains("w5⁺ = w5 - η·∂E_total/∂w5 = 0.4 - 0.5·0.082167041 = 0.35891648", s);
        Assert.DoesNotContain("∂E_total/∂b_", s);   // biases held
    }
}
