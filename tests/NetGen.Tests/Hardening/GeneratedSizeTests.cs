using Microsoft.CodeAnalysis;
using NetGen.Tests.Analyzers;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Hardening;

/// <summary>
/// Unbounded generated code (issue 18, item 5): unrolling and Explain are bounded by size (Model/CodeBudget.cs), so the
/// source is linear in the layer count with a bounded cost per layer, every accepted declaration compiles, and a
/// warning (NG0048, NG0049) at UnrollThreshold or [Network] says what was capped. Before the bounds, eight Dense(64)
/// layers at UnrollThreshold = 4096 wrote 20 MB and failed with CS0204, and 150 Dense(8) layers at the default
/// threshold wrote 10.9 MB. Everything runs the generator in memory.
/// </summary>
public sealed class GeneratedSizeTests
{
    private static string Deep(string name, int layers, string options = "") =>
        $"[Network(Loss = LossFunction.MeanSquaredError{options})]\n[Input(8)]\n" +
        string.Concat(Enumerable.Repeat("[Dense(8), ReLU]\n", layers)) + $"public partial class {name};\n";

    private static string Wide(string name, int threshold) =>
        $"[Network(Loss = LossFunction.MeanSquaredError, UnrollThreshold = {threshold})]\n[Input(64)]\n" +
        string.Concat(Enumerable.Repeat("[Dense(64), ReLU]\n", 8)) + $"public partial class {name};\n";

    private static int GeneratedSize(string source, string name)
    {
        var (result, _) = GeneratorHarness.Run("using NetGen;\n" + source);
        return GeneratorHarness.GeneratedSource(result, name).Length;
    }

    [Fact]
    public void DeepNetwork_AtTheDefaultThreshold_IsLinearInTheLayerCount()
    {
        // Past the first 64 layers (the unrolled ones) every Dense(8) + ReLU adds the same amount of source.
        int s80 = GeneratedSize(Deep("Deep", 80), "Deep"), s120 = GeneratedSize(Deep("Deep", 120), "Deep"), s160 = GeneratedSize(Deep("Deep", 160), "Deep");
        int perLayer = (s160 - s120) / 40;
        Assert.InRange(s120 - s80, 40 * perLayer * 0.97, 40 * perLayer * 1.03);
        Assert.InRange(perLayer, 1_000, 12_000);
        // 150 layers: 10.9 MB before the bounds (8.6 MB of it Explain).
        string s150 = GeneratorHarness.GeneratedSource(GeneratorHarness.Run("using NetGen;\n" + Deep("Deep", 150)).Result, "Deep");
        Assert.InRange(s150.Length, 100_000, 2_000_000);
        Assert.DoesNotContain("public void Explain(", s150);
        Assert.Equal(64, CountOccurrences(s150, "), unrolled: netⱼ"));   // 64 × 64 multiply-adds: the network's budget of 4,096
    }

    [Fact]
    public void CappedNetworks_Compile_AndComputeWhatTheUncappedCodeComputes()
    {
        // 8 × Dense(64) at UnrollThreshold = 4096 failed with CS0204 (more than 65,534 locals in Explain), 20 MB of source.
        string wide = Wide("Wide", 4096), loops = Wide("WideLoops", 0), deep = Deep("Deep150", 150);
        var (result, _) = GeneratorHarness.Run("using NetGen;\n" + wide + loops + deep);
        string wideSource = GeneratorHarness.GeneratedSource(result, "Wide");
        Assert.InRange(wideSource.Length, 50_000, 1_500_000);
        Assert.Equal(1, CountOccurrences(wideSource, "), unrolled: netⱼ"));   // Dense1 (4,096 multiply-adds) only
        Assert.DoesNotContain("public void Explain(", wideSource);

        var assembly = GeneratorHarness.CompileAndLoad("using NetGen;\n" + wide + loops + deep);
        var capped = GeneratorHarness.Create<float>(assembly, "Wide", maxBatch: 3, seed: 7);
        var reference = GeneratorHarness.Create<float>(assembly, "WideLoops", maxBatch: 3, seed: 7);
        Assert.Equal(reference.Parameters.ToArray(), capped.Parameters.ToArray());   // the same seeded initialisation
        var random = new SeededRandom(4);
        var x = new float[3 * 64];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        var expected = reference.Forward(x, 3).ToArray();
        var actual = capped.Forward(x, 3).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        Assert.Contains(expected, v => v != 0);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);

        var deepNet = GeneratorHarness.Create<float>(assembly, "Deep150", maxBatch: 2, seed: 1);
        float loss = deepNet.TrainStep(new float[16], new float[16], new Sgd(0.01), batch: 2);
        Assert.True(float.IsFinite(loss));
    }

    [Fact]
    public async Task Caps_AreReportedAtUnrollThreshold()
    {
        // Dense1 (4,096) fits the budget, Dense2 (128 more) does not.
        var capped = await AnalyzerHarness.RunAsync("using NetGen;\n[Network(UnrollThreshold = 4096)][Input(64)][Dense(64), ReLU][Dense(2)] public partial class Net;");
        var ng0048 = Assert.Single(capped.NetGen, d => d.Id == "NG0048");
        Assert.Equal(DiagnosticSeverity.Warning, ng0048.Severity);
        Assert.Equal("UnrollThreshold = 4096", Text(ng0048));
        Assert.Contains("Dense layers with 4,224 multiply-adds in all", ng0048.GetMessage());
        Assert.Contains("at most 4,096 per network", ng0048.GetMessage());
        Assert.Contains("Dense2 runs the vectorised kernels instead", ng0048.GetMessage());
        Assert.Contains(capped.NetGen, d => d.Id == "NG0049");
        Assert.Empty(capped.CompilerErrors);

        // Every layer unrolled, but 288 weights are too many to print.
        var explain = await AnalyzerHarness.RunAsync("using NetGen;\n[Network(UnrollThreshold = 256)][Input(16)][Dense(16), Tanh][Dense(2)] public partial class Net;");
        var ng0049 = Assert.Single(explain.NetGen, d => d.Id == "NG0049");
        Assert.Equal("UnrollThreshold = 256", Text(ng0049));
        Assert.Contains("at most 256 weights, but the Dense layers of Net have 288", ng0049.GetMessage());
        Assert.DoesNotContain(explain.NetGen, d => d.Id == "NG0048");

        // At the default threshold the warning is on [Network], which has no UnrollThreshold to point at.
        var deep = await AnalyzerHarness.RunAsync("using NetGen;\n" + Deep("Net", 65));
        Assert.StartsWith("Network(Loss", Text(Assert.Single(deep.NetGen, d => d.Id == "NG0048")));
        Assert.Contains("Dense65 runs the vectorised kernels", deep.NetGen.Single(d => d.Id == "NG0048").GetMessage());

        // The lecture's networks are far inside both bounds.
        var small = await AnalyzerHarness.RunAsync("using NetGen;\n[Network(Loss = LossFunction.HalfSquaredError)][Input(2)][Dense(2), Sigmoid][Dense(2), Sigmoid] public partial class Net;");
        Assert.DoesNotContain(small.NetGen, d => d.Id is "NG0048" or "NG0049");
        Assert.Contains("public void Explain(", GeneratorHarness.GeneratedSource(small.Generator, "Net"));
    }

    private static string Text(Diagnostic d) => d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan);

    private static int CountOccurrences(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
