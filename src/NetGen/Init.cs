using System.Numerics;

namespace NetGen;

/// <summary>Weight initialisers called by generated constructors. All draw from a <see cref="SeededRandom"/>.</summary>
public static class Init
{
    /// <summary>Glorot (Xavier) uniform: U(−a, a) with a = √(6 / (fanIn + fanOut)). For sigmoid, tanh, softmax and linear layers.</summary>
    public static void GlorotUniform<T>(Span<T> weights, int fanIn, int fanOut, SeededRandom random) where T : unmanaged, IFloatingPointIeee754<T>
        => Uniform(weights, Math.Sqrt(6.0 / (fanIn + fanOut)), random);

    /// <summary>He (Kaiming) uniform: U(−a, a) with a = √(6 / fanIn), variance 2 / fanIn. For ReLU-family layers.</summary>
    public static void HeUniform<T>(Span<T> weights, int fanIn, SeededRandom random) where T : unmanaged, IFloatingPointIeee754<T>
        => Uniform(weights, Math.Sqrt(6.0 / fanIn), random);

    /// <summary>U(−limit, limit).</summary>
    public static void Uniform<T>(Span<T> weights, double limit, SeededRandom random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < weights.Length; i++)
            weights[i] = T.CreateChecked(random.NextDouble(-limit, limit));
    }
}
