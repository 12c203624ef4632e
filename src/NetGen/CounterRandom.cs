namespace NetGen;

/// <summary>
/// Counter-based random numbers: the value for (key, counter) is a pure function of both, so any thread can draw
/// element k of a stream without drawing elements 0 … k − 1 first. Dropout uses it for its masks, which is how the
/// CPU network and its GPU kernels draw the same mask from the same seed: each value is the SplitMix64 finaliser of
/// key + (counter + 1)·φ (φ the golden-ratio constant), a bijection with full avalanche.
/// Only integer arithmetic, so ILGPU compiles it into GPU kernels unchanged.
/// </summary>
public static class CounterRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>64 random bits for <paramref name="counter"/> in the stream <paramref name="key"/>.</summary>
    public static ulong Bits(ulong key, ulong counter)
    {
        ulong z = key + (counter + 1) * Golden;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits: exactly representable as a float, so a comparison with it gives
    /// the same answer on every device.</summary>
    public static float Uniform(ulong key, ulong counter) => (Bits(key, counter) >> 40) * (1.0f / 16777216.0f);

    /// <summary>A standard normal value for <paramref name="counter"/> in the stream <paramref name="key"/> (Box–Muller
    /// on two 53-bit uniforms drawn at counters 2·counter and 2·counter + 1): a VAE Sampling layer's ε.</summary>
    public static double Normal(ulong key, ulong counter)
    {
        double u1 = ((Bits(key, 2 * counter) >> 11) + 1) * (1.0 / 9007199254740992.0);   // (0, 1]: the log is finite
        double u2 = (Bits(key, 2 * counter + 1) >> 11) * (1.0 / 9007199254740992.0);
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>The stream key of one dropout layer's masks in one training pass: a function of the network's seed,
    /// the layer's position and the pass number.</summary>
    public static ulong Key(long seed, int layer, long pass) => Bits(Bits((ulong)seed, (ulong)layer), (ulong)pass);
}
