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
