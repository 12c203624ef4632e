using Xunit.Abstractions;
using static NetGen.Tests.Generative.GenerativeTestSupport;

namespace NetGen.Tests.Generative;

/// <summary>
/// Central-difference gradient checks, in double, of the generative layers (Conv2DTranspose with and without output
/// padding and bias, Upsample2D nearest and bilinear, Reshape, Sampling with its KL term, BCE fused with Sigmoid and
/// summed per sample): ∂Φ/∂θ and ∂Φ/∂x from <c>Backward(g, dx)</c> for Φ = Σ g ⊙ output + Σ β·KL (the layer's own
/// term, which every backward pass adds), and ∂E/∂θ, ∂E/∂x from <c>Backward(target)</c> / <c>BackwardFromTarget</c>
/// for E = <c>Loss(target)</c>, against (f(θ + h) − f(θ − h)) / 2h with h = 1e−6, relative error below 1e−6. Each
/// evaluation runs a fresh network with the same seed, so the Sampling layer's first ε is the same in every one.
/// </summary>
public sealed class GenerativeGradientCheckTests(ITestOutputHelper output)
{
    private const double H = 1e-6, Tolerance = 1e-6;

    public static TheoryData<string, int> Cases() => new()
    {
        { nameof(GenTransposed), 1 }, { nameof(GenTransposed), 3 },
        { nameof(GenUpsample), 2 },
        { nameof(GenReshapeBce), 3 },
        { nameof(GenVae), 1 }, { nameof(GenVae), 3 },
        { nameof(GenSamplingFirst), 2 },
        { nameof(GenVaeDecoder), 2 },
        { nameof(GenGanGenerator), 3 },
    };

    private static Type TypeOf(string name) => typeof(GenTransposed).Assembly.GetType("NetGen.Tests.Generative." + name)!;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_finite_differences(string name, int batch)
    {
        var type = TypeOf(name);
        var random = new SeededRandom(CnnSpec.StableSeed(name, batch));
        var reference = Create(type);
        Randomize(reference, random);
        double[] theta = reference.Parameters.ToArray();
        double[] x = Uniform(random, batch * reference.InputSize, 0.05, 0.95);
        reference.Forward(x, batch);
        double[] g = Uniform(random, batch * reference.OutputSize, -1, 1);
        double[] target = Uniform(random, batch * reference.OutputSize, 0.05, 0.95);

        // Analytic: Φ from Backward(g, dx); E from Backward(target) and BackwardFromTarget(target, dx).
        var net = Fresh(type, theta, x, batch);
        net.ZeroGradients();
        var phiInput = new double[x.Length];
        net.Backward(g, phiInput);
        double[] phiTheta = net.Gradients.ToArray();
        net.ZeroGradients();
        net.Backward(target);
        double[] lossTheta = net.Gradients.ToArray();
        net.ZeroGradients();
        var lossInput = new double[x.Length];
        net.BackwardFromTarget(target, lossInput);
        Assert.Equal(lossTheta, net.Gradients.ToArray());   // the same ∂E/∂θ either way

        double Phi(INetwork<double> n) { double s = OwnLoss(n); var o = n.Output; for (int k = 0; k < g.Length; k++) s += g[k] * o[k]; return s; }
        double Loss(INetwork<double> n) => n.Loss(target);
        int checkedCount = 0;
        foreach (var (objective, what, analyticTheta, analyticInput) in new[] { ((Func<INetwork<double>, double>)Phi, "Φ", phiTheta, phiInput), (Loss, "E", lossTheta, lossInput) })
        {
            for (int i = 0; i < theta.Length; i++)
            {
                double numeric = Difference(type, theta, x, batch, objective, i, parameter: true);
                Check($"{what}: ∂/∂θ[{i}]", analyticTheta[i], numeric);
                checkedCount++;
            }
            for (int i = 0; i < x.Length; i++)
            {
                double numeric = Difference(type, theta, x, batch, objective, i, parameter: false);
                Check($"{what}: ∂/∂x[{i}]", analyticInput[i], numeric);
                checkedCount++;
            }
        }
        output.WriteLine($"{name} batch {batch}: {checkedCount} derivatives within {Tolerance:g}");
    }

    private static INetwork<double> Fresh(Type type, double[] theta, double[] x, int batch)
    {
        var net = Create(type);
        net.Training = true;
        theta.CopyTo(net.Parameters);
        net.Forward(x, batch);
        return net;
    }

    private static double Difference(Type type, double[] theta, double[] x, int batch, Func<INetwork<double>, double> f, int i, bool parameter)
    {
        double[] t = (double[])theta.Clone(), input = (double[])x.Clone();
        double[] v = parameter ? t : input;
        double saved = v[i];
        v[i] = saved + H;
        double plus = f(Fresh(type, t, input, batch));
        v[i] = saved - H;
        double minus = f(Fresh(type, t, input, batch));
        return (plus - minus) / (2 * H);
    }

    private static void Check(string what, double analytic, double numeric)
    {
        double error = Math.Abs(analytic - numeric) / Math.Max(Math.Abs(analytic) + Math.Abs(numeric), 1e-8);
        Assert.True(error < Tolerance || Math.Abs(analytic - numeric) < 1e-9, $"{what}: backprop {analytic:R}, finite difference {numeric:R} (relative error {error:E2})");
    }

    [Fact]
    public void Sampling_draws_fresh_noise_in_training_and_returns_the_mean_in_inference()
    {
        var net = (GenSamplingFirst)Create(typeof(GenSamplingFirst));
        var random = new SeededRandom(3);
        double[] x = Uniform(random, 2 * 6, -1, 1);
        net.Forward(x, 2);
        double[] first = net.Sampling1Epsilon.ToArray();
        net.Forward(x, 2);
        Assert.NotEqual(first, net.Sampling1Epsilon.ToArray());                       // a new draw per training pass
        var again = (GenSamplingFirst)Create(typeof(GenSamplingFirst));
        again.Forward(x, 2);
        Assert.Equal(first, again.Sampling1Epsilon.ToArray());                        // same seed, same noise
        double mean = first.Average(), variance = first.Select(e => (e - mean) * (e - mean)).Average();
        var many = new double[6000];
        for (int k = 0; k < 1000; k++) { again.Forward(x, 2); again.Sampling1Epsilon.CopyTo(many.AsSpan(k * 6, 6)); }
        Assert.InRange(many.Average(), -0.06, 0.06);                                   // N(0, 1): 6,000 draws (σ of the mean 0.013)
        Assert.InRange(many.Select(e => e * e).Average(), 0.93, 1.07);
        net.Training = false;
        net.Forward(x, 2);
        Assert.All(net.Sampling1Epsilon.ToArray(), e => Assert.Equal(0, e));          // inference: z = μ
        net.Sampling1SampleInInference = true;
        net.Forward(x, 2);
        Assert.Contains(net.Sampling1Epsilon.ToArray(), e => e != 0);
        Assert.True(double.IsFinite(variance));
    }

    [Fact]
    public void Kl_term_is_in_the_loss_with_beta_and_beta_is_settable()
    {
        var net = (GenVae)Create(typeof(GenVae));
        var random = new SeededRandom(4);
        double[] x = Uniform(random, 2 * 6, 0.1, 0.9);
        net.Training = false;
        net.Forward(x, 2);
        double kl = net.Sampling1KL;
        // KL by hand from the Dense2 output (μ, log σ²).
        double[] h = net.Dense2Output.ToArray();
        double expected = 0;
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < 2; j++)
            {
                double mu = h[n * 4 + j], lv = h[n * 4 + 2 + j];
                expected += -0.5 * (1 + lv - mu * mu - Math.Exp(lv));
            }
        Assert.Equal(expected / 2, kl, 12);
        double withBeta = net.Loss(x);
        net.Sampling1Beta = 0;
        Assert.Equal(withBeta - 0.7 * kl, net.Loss(x), 12);
    }
}
