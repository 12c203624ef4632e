using System.Text.RegularExpressions;
using NetGen.Tests.Networks;

namespace NetGen.Tests;

/// <summary>The generated <c>Explain(input, writer, outputGradient)</c>: backprop from a given upstream gradient, printed.
/// What it prints and leaves in the gradients must be what <c>Backward(outputGradient, inputGradient)</c> computes.</summary>
public class ExplainUpstreamTests
{
    [Fact]
    public void SigmoidNeuronPrintsCs231nsGradients()
    {
        var net = new SigmoidNeuron();
        net.Dense1Weights[0] = 2; net.Dense1Weights[1] = -3; net.Dense1Bias[0] = -3;
        var text = new StringWriter();
        net.Explain([-1.0, -2.0], text, outputGradient: [1.0]);
        string s = text.ToString();
        Assert.Contains("out_o1 = σ(net_o1) = 1/(1 + e^(-1)) = 0.731058579", s);
        Assert.Contains("∂out_o1/∂net_o1 = out_o1·(1 - out_o1) = 0.196611933", s);
        Assert.Contains("∂f/∂w1 = ∂f/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w1 = 1 · 0.196611933 · (-1) = -0.196611933", s);
        Assert.Contains("∂f/∂b_o1 = δ_o1 = 0.196611933", s);
        Assert.Contains("∂f/∂i1 = δ_o1·w1 = 0.196611933·2 = 0.393223866", s);
        Assert.Contains("∂f/∂i2 = δ_o1·w2 = 0.196611933·(-3) = -0.5898358", s);
        Assert.DoesNotContain("E_total", s);
    }

    [Fact]
    public void WorkedExampleFromItsLossGradientPrintsTheLossWalkthroughsWeightGradients()
    {
        // Upstream ∂E/∂out = −(t − out) reproduces the loss walkthrough's ∂E_total/∂w, now named ∂f/∂w.
        var net = WorkedExampleTests.Lecture();
        var output = net.Forward([0.05, 0.10]).ToArray();
        double[] upstream = [output[0] - 0.01, output[1] - 0.99];
        var text = new StringWriter();
        net.Explain([0.05, 0.10], text, upstream);
        string s = text.ToString();
        Assert.Contains("∂f/∂out_o1 = 0.74136507   (given)", s);
        Assert.Contains("∂f/∂w5 = ∂f/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w5 = 0.74136507 · 0.186815602 · 0.593269992 = 0.082167041", s);
        Assert.Contains("∂f/∂w1 = ∂f/∂out_h1 · ∂out_h1/∂net_h1 · ∂net_h1/∂w1 = 0.036350306 · 0.241300709 · 0.05 = 0.000438568", s);
        Assert.DoesNotContain("∂f/∂b_", s);   // biases held
    }

    public static TheoryData<string> Networks => new() { "SigmoidNeuron", "WorkedExample", "XorNet", "SoftmaxExplained", "TanhFirst" };

    [Theory]
    [MemberData(nameof(Networks))]
    public void PrintedInputGradientsAndLeftGradientsAreBackwardsOwn(string name)
    {
        INetwork<double> net = name switch
        {
            "SigmoidNeuron" => new SigmoidNeuron(seed: 3),
            "WorkedExample" => new WorkedExample(seed: 3),
            "XorNet" => new XorNet(seed: 3),
            "SoftmaxExplained" => new SoftmaxExplained(seed: 3),
            _ => new TanhFirst(seed: 3),
        };
        var random = new SeededRandom(17);
        for (int i = 0; i < net.Parameters.Length; i++) net.Parameters[i] = random.NextDouble(-1, 1);
        var input = new double[net.InputSize];
        var upstream = new double[net.OutputSize];
        for (int i = 0; i < input.Length; i++) input[i] = random.NextDouble(-1, 1);
        for (int i = 0; i < upstream.Length; i++) upstream[i] = random.NextDouble(-1, 1);

        var text = new StringWriter();
        switch (net)
        {
            case SigmoidNeuron n: n.Explain(input, text, upstream); break;
            case WorkedExample n: n.Explain(input, text, upstream); break;
            case XorNet n: n.Explain(input, text, upstream); break;
            case SoftmaxExplained n: n.Explain(input, text, upstream); break;
            case TanhFirst n: n.Explain(input, text, upstream); break;
        }
        double[] explained = net.Gradients.ToArray();

        net.ZeroGradients();
        net.Forward(input);
        var inputGradient = new double[net.InputSize];
        net.Backward(upstream, inputGradient);
        Assert.Equal(net.Gradients.ToArray(), explained);

        string s = text.ToString();
        for (int i = 0; i < net.InputSize; i++)
        {
            var line = Regex.Match(s, $@"∂f/∂i{i + 1} = (?:.*= )?(\S+)\r?\n");
            Assert.True(line.Success, $"no ∂f/∂i{i + 1} line:\n{s}");
            Assert.Equal(Explanation.F(inputGradient[i]), line.Groups[1].Value);
        }
        Assert.Equal(net.OutputSize, Regex.Matches(s, @"\(given\)").Count);
    }
}
