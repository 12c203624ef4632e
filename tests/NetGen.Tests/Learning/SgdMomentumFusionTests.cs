using System.Numerics;
using System.Numerics.Tensors;

namespace NetGen.Tests.Learning;

/// <summary>
/// SGD with momentum runs as one fused pass over θ, g and the momentum buffer (Vector512 where accelerated, Vector256,
/// then scalars). It must give the same bits as the pass-by-pass form (TensorPrimitives.MultiplyAdd calls, each rounding
/// apart), which PyTorch's oracle checks: both run side by side for several steps, on lengths that end in every kind of
/// tail, in float and double, with and without weight decay and Nesterov. The 256-bit path runs when the suite runs with
/// AVX-512 disabled (DOTNET_EnableAVX512F=0).
/// </summary>
public sealed class SgdMomentumFusionTests
{
    [Theory]
    [InlineData(1, false, 0.0)]
    [InlineData(7, true, 0.0)]
    [InlineData(16, false, 1e-3)]
    [InlineData(31, true, 1e-3)]
    [InlineData(40, false, 0.0)]
    [InlineData(4097, true, 5e-4)]
    public void FusedUpdate_IsBitIdentical_ToThePassByPassForm(int length, bool nesterov, double decay)
    {
        Check<float>(length, nesterov, decay);
        Check<double>(length, nesterov, decay);
    }

    [Fact]
    public void SgdStep_MatchesThePassByPassForm_OverChunkedParameters()
    {
        // Through the public optimiser: 10,000 parameters (several chunks, the last one ragged), 5 steps.
        const int length = 10_000;
        var sgd = new Sgd(0.05, momentum: 0.9, weightDecay: 1e-3);
        float[] p = new float[length], reference = new float[length], b = new float[length], work = new float[length], g = new float[length];
        for (int i = 0; i < length; i++) p[i] = reference[i] = MathF.Sin(i * 0.37f);
        for (int step = 1; step <= 5; step++)
        {
            for (int i = 0; i < length; i++) g[i] = MathF.Cos(i * 0.11f + step) * (1 + i % 13) * (step % 2 == 0 ? -1 : 1);
            sgd.Step<float>(p, g);
            PassByPass<float>(reference, g, b, work, 0.9f, 1e-3f, nesterov: false, -0.05f);
            Assert.Equal(reference, p);
        }
        Assert.NotEqual(MathF.Sin(0.37f), p[1]);   // the parameters moved
    }

    private static void Check<T>(int length, bool nesterov, double decay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(length);
        T[] p = new T[length], g = new T[length], b = new T[length];
        T[] rp = new T[length], rb = new T[length], work = new T[length];
        for (int i = 0; i < length; i++) p[i] = rp[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        T mu = T.CreateChecked(0.9), lambda = T.CreateChecked(decay), rate = T.CreateChecked(-0.01);
        for (int step = 1; step <= 4; step++)
        {
            for (int i = 0; i < length; i++) g[i] = T.CreateChecked((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-4, 3)));
            Sgd.FusedMomentum<T>(p, g, b, mu, lambda, nesterov, rate);
            PassByPass<T>(rp, g, rb, work, mu, lambda, nesterov, rate);
            Assert.Equal(rb, b);
            Assert.Equal(rp, p);
        }
    }

    /// <summary>The update pass by pass (the form before the fused loop).</summary>
    private static void PassByPass<T>(Span<T> parameters, ReadOnlySpan<T> g, Span<T> b, Span<T> work, T mu, T decay, bool nesterov, T minusRate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] decayed = new T[g.Length];
        ReadOnlySpan<T> d = g;
        if (decay != T.Zero)
        {
            TensorPrimitives.MultiplyAdd(parameters, decay, g, decayed);
            d = decayed;
        }
        TensorPrimitives.MultiplyAdd(b, mu, d, b);
        if (nesterov)
        {
            TensorPrimitives.MultiplyAdd(b, mu, d, work);
            d = work;
        }
        else d = b;
        TensorPrimitives.MultiplyAdd(d, minusRate, parameters, parameters);
    }
}
