using System.Numerics;
using System.Numerics.Tensors;

namespace NetGen.Tests.Learning;

/// <summary>
/// Adam's update without AMSGrad runs as one fused pass over θ, g, m and v (Vector512 where accelerated, Vector256,
/// then scalars). It must give the same bits as the pass-by-pass form (ten <see cref="TensorPrimitives"/> calls, each
/// rounding separately), which PyTorch's oracle (OptimizerTests) checks: here both run side by side for several
/// steps, on lengths that end in every kind of tail, in float and double. The 256-bit path of the same loop runs in
/// VectorWidthTests' child process (the vae-train-b128 smoke workload steps Adam with AVX-512 disabled).
/// </summary>
public sealed class AdamFusionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(40)]
    [InlineData(4097)]
    public void FusedUpdate_IsBitIdentical_ToThePassByPassForm(int length)
    {
        Check<float>(length);
        Check<double>(length);
    }

    [Fact]
    public void AdamStep_MatchesThePassByPassForm_OverChunkedParameters()
    {
        // Through the public optimiser: 10,000 parameters (three chunks, the last one ragged), 5 steps, with a gradient
        // that changes sign and size; the state is private, so θ is compared with a reference that keeps its own m and v.
        const int length = 10_000;
        var adam = new Adam(0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6);
        float[] p = new float[length], reference = new float[length], m = new float[length], v = new float[length], work = new float[length], g = new float[length];
        for (int i = 0; i < length; i++) p[i] = reference[i] = MathF.Sin(i * 0.37f);
        for (int step = 1; step <= 5; step++)
        {
            for (int i = 0; i < length; i++) g[i] = MathF.Cos(i * 0.11f + step) * (1 + i % 13) * (step % 2 == 0 ? -1 : 1);
            adam.Step<float>(p, g);
            PassByPass<float>(reference, g, step, 0.01, 0.8, 0.99, 1e-6, m, v, work);
            Assert.Equal(reference, p);
        }
        Assert.NotEqual(MathF.Sin(0.37f), p[1]);   // the parameters moved
    }

    private static void Check<T>(int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(length);
        T[] p = new T[length], g = new T[length], m = new T[length], v = new T[length];
        T[] rp = new T[length], rm = new T[length], rv = new T[length], work = new T[length];
        for (int i = 0; i < length; i++) p[i] = rp[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        for (int step = 1; step <= 4; step++)
        {
            for (int i = 0; i < length; i++) g[i] = T.CreateChecked((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-4, 3)));
            double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
            double c1 = 1 - Math.Pow(b1, step), c2 = 1 - Math.Pow(b2, step);
            AdamCore.Fused<T>(p, g, m, v, T.CreateChecked(b1), T.CreateChecked(1 - b1), T.CreateChecked(b2), T.CreateChecked(1 - b2),
                T.CreateChecked(Math.Sqrt(c2)), T.CreateChecked(eps), T.CreateChecked(-(lr / c1)));
            PassByPass<T>(rp, g, step, lr, b1, b2, eps, rm, rv, work);
            Assert.Equal(rm, m);
            Assert.Equal(rv, v);
            Assert.Equal(rp, p);
        }
    }

    /// <summary>The update as ten passes (the form before the fused loop, PyTorch's single-tensor Adam step by step).</summary>
    private static void PassByPass<T>(Span<T> parameters, ReadOnlySpan<T> g, long step, double learningRate, double beta1, double beta2, double epsilon,
        Span<T> m, Span<T> v, Span<T> work) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(m, T.CreateChecked(beta1), m);
        TensorPrimitives.MultiplyAdd(g, T.CreateChecked(1 - beta1), m, m);
        TensorPrimitives.Multiply(v, T.CreateChecked(beta2), v);
        TensorPrimitives.Multiply(g, T.CreateChecked(1 - beta2), work);
        TensorPrimitives.MultiplyAdd(work, g, v, v);
        double biasCorrection1 = 1 - Math.Pow(beta1, step), biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = learningRate / biasCorrection1;
        TensorPrimitives.Sqrt<T>(v, work);
        TensorPrimitives.Divide(work, T.CreateChecked(Math.Sqrt(biasCorrection2)), work);
        TensorPrimitives.Add(work, T.CreateChecked(epsilon), work);
        TensorPrimitives.Divide(m, work, work);
        TensorPrimitives.MultiplyAdd(work, T.CreateChecked(-stepSize), parameters, parameters);
    }
}
