using System.Reflection;

namespace NetGen.Tests.Generative;

/// <summary>Helpers shared by the generative gradient checks and the oracle.</summary>
internal static class GenerativeTestSupport
{
    public const int MaxBatch = 4;

    /// <summary>A fresh network of type <paramref name="type"/> (maxBatch 4, seed 11).</summary>
    public static INetwork<double> Create(Type type, int seed = 11) => (INetwork<double>)Activator.CreateInstance(type, MaxBatch, seed)!;

    /// <summary>Every parameter drawn from U(−0.6, 0.6) (biases included, so a zero bias hides nothing).</summary>
    public static void Randomize(INetwork<double> net, SeededRandom random)
    {
        var p = net.Parameters;
        for (int i = 0; i < p.Length; i++) p[i] = random.NextDouble(-0.6, 0.6);
    }

    public static double[] Uniform(SeededRandom random, int count, double lo, double hi)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = random.NextDouble(lo, hi);
        return values;
    }

    /// <summary>Σ β·KL of the network's Sampling layers in the last forward pass (the terms its Loss adds).</summary>
    public static double OwnLoss(object net)
    {
        double sum = 0;
        for (int k = 1; ; k++)
        {
            var kl = net.GetType().GetProperty($"Sampling{k}KL", BindingFlags.Public | BindingFlags.Instance);
            if (kl is null) return sum;
            var beta = net.GetType().GetProperty($"Sampling{k}Beta", BindingFlags.Public | BindingFlags.Instance)!;
            sum += (double)beta.GetValue(net)! * (double)kl.GetValue(net)!;
        }
    }

    /// <summary>The ε of each Sampling layer in the last forward pass.</summary>
    public static List<double[]> Epsilons(object net)
    {
        var list = new List<double[]>();
        for (int k = 1; CnnViews.Has(net, $"Sampling{k}Epsilon"); k++) list.Add(CnnViews.Read(net, $"Sampling{k}Epsilon"));
        return list;
    }

    /// <summary>|a − b| ≤ tolerance·max(1, |b|) for every value; the message names the worst.</summary>
    public static double MaxRelativeDifference(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        if (actual.Length != expected.Length) throw new InvalidOperationException($"lengths differ: {actual.Length} vs {expected.Length}");
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i])));
        return worst;
    }
}
