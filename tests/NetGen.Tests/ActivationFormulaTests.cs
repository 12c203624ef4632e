using NetGen.Generators.Model;

namespace NetGen.Tests;

/// <summary>Each activation is written once (its <see cref="ActivationFormula"/> in the layer catalog) and every backend
/// prints that one tree; these tests check the tree itself: the backward pass is ∂E/∂y times the derivative, and the
/// derivative is the forward pass's slope (central differences in double).</summary>
public class ActivationFormulaTests
{
    public static TheoryData<string> Kinds => new(LayerCatalog.All.OfType<ActivationLayer>().Select(d => d.AttributeName));

    private static readonly double[] Points = [-3.1, -1.7, -0.6, -0.05, 0.04, 0.3, 1.2, 2.9];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void BackwardIsTheGradientTimesTheDerivativeOfForward(string kind)
    {
        var layer = (ActivationLayer)LayerCatalog.ForAttribute(kind)!;
        var f = layer.Formula;
        const double alpha = 0.37, h = 1e-6;
        foreach (double x in Points)
        {
            double y = f.Forward.Evaluate(x, alpha: alpha);
            double derivative = f.Derivative.Evaluate(x, y, alpha: alpha);
            Assert.Equal(0.7 * derivative, f.Backward.Evaluate(x, y, 0.7, alpha), 12);
            if (layer.Kind == LayerKind.Step) { Assert.Equal(1, derivative); continue; }   // straight-through, by definition
            double slope = (f.Forward.Evaluate(x + h, alpha: alpha) - f.Forward.Evaluate(x - h, alpha: alpha)) / (2 * h);
            Assert.True(Math.Abs(slope - derivative) < 1e-6, $"{kind} at x = {x}: derivative {derivative}, slope of forward {slope}");
        }
    }

    [Fact]
    public void EluIsPyTorchsDefinition()
    {
        // torch.nn.ELU(alpha): x if x > 0 else alpha * (exp(x) - 1).
        var f = ActivationLayer.ELU.Formula;
        foreach (double alpha in new[] { 1.0, 0.5 })
            foreach (double x in Points)
                Assert.Equal(x > 0 ? x : alpha * (Math.Exp(x) - 1), f.Forward.Evaluate(x, alpha: alpha), 15);
        Assert.Equal(1.0, new ELUAttribute().Alpha);
    }

    [Fact]
    public void SiluIsPyTorchsDefinition()
    {
        // torch.nn.SiLU: x * sigmoid(x); its derivative sigmoid(x) * (1 + x * (1 - sigmoid(x))).
        var f = ActivationLayer.SiLU.Formula;
        foreach (double x in Points)
        {
            double s = 1 / (1 + Math.Exp(-x)), y = f.Forward.Evaluate(x);
            Assert.Equal(x * s, y, 15);
            Assert.Equal(s * (1 + x * (1 - s)), f.Derivative.Evaluate(x, y), 14);
        }
        // Every form exists: the vector backward (the CPU's large layers) and no TensorPrimitives forward (a scalar loop).
        Assert.NotNull(f.Backward.Vector("float", a => a.ToString(System.Globalization.CultureInfo.InvariantCulture) + "f", () => 0));
        Assert.Null(f.Library);
    }

    [Fact]
    public void EveryBackendIsPrintedFromTheFormula()
    {
        // The scalar printer writes what the CPU loop, the fused kernels and the GPU kernels compile; the vector printer
        // the CPU's Vector256 backward.
        var f = ActivationLayer.ELU.Formula;
        string scalar = f.Forward.Scalar(v => v, a => a.ToString(System.Globalization.CultureInfo.InvariantCulture) + "f", "MathF");
        Assert.Equal("x > 0f ? x : alpha * (MathF.Exp(x) - 1f)", scalar);
        Assert.Equal("(x > 0f ? x : alpha * (MathF.Exp(x) - 1f))", f.Forward.Scalar(v => v, a => a.ToString(System.Globalization.CultureInfo.InvariantCulture) + "f", "MathF", operand: true));
        string? vector = f.Backward.Vector("float", a => a.ToString(System.Globalization.CultureInfo.InvariantCulture) + "f", () => 1.0);
        Assert.Equal("global::System.Runtime.Intrinsics.Vector256.ConditionalSelect(global::System.Runtime.Intrinsics.Vector256.GreaterThan(xv, global::System.Runtime.Intrinsics.Vector256<float>.Zero), dyv, dyv * (yv + global::System.Runtime.Intrinsics.Vector256.Create(1f)))", vector);
        Assert.False(ActivationLayer.Tanh.Formula.Backward.Reads("x"));   // tanh's backward reads only y
    }
}
