using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NetGen.Generators;
using NetGen.Generators.Model;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests;

/// <summary>
/// The generator is incremental: an edit that does not touch a network must not re-emit it (an IDE re-runs generators
/// on every keystroke), and an edit to a network's attributes must. Checked through the tracked pipeline steps
/// <see cref="NetworkGenerator.Steps.Parse"/> and <see cref="NetworkGenerator.Steps.Emit"/>.
/// </summary>
public class IncrementalityTests
{
    private const string NetworkFile = """
        using NetGen;

        namespace Incremental;

        [Network(Loss = LossFunction.MeanSquaredError)]
        [Input(2)]
        [Dense(2), Sigmoid]
        public partial class Net;

        public class Neighbour
        {
            public int Value() => 1;
        }
        """;

    private const string OtherFile = """
        namespace Incremental;

        public static class Helpers
        {
            public static int Twice(int x) => 2 * x;
        }
        """;

    private static readonly IncrementalStepRunReason[] NotRecomputed = [IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged];

    [Fact]
    public void FirstRunReportsEveryStepAsNew()
    {
        var (_, result) = Run(GeneratorHarness.CreateDriver(trackSteps: true), GeneratorHarness.CreateCompilation(NetworkFile, OtherFile));

        Assert.All(Reasons(result, NetworkGenerator.Steps.Parse), r => Assert.Equal(IncrementalStepRunReason.New, r));
        Assert.All(Reasons(result, NetworkGenerator.Steps.Emit), r => Assert.Equal(IncrementalStepRunReason.New, r));
        Assert.Single(Reasons(result, NetworkGenerator.Steps.Emit));
    }

    [Fact]
    public void AddingAnUnrelatedFileReEmitsNothing()
    {
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var extra = CSharpSyntaxTree.ParseText("namespace Incremental; public class Unrelated { public string Name => \"x\"; }",
            GeneratorHarness.ParseOptions, path: "Unrelated.cs");
        var (_, result) = Run(driver, compilation.AddSyntaxTrees(extra));

        AssertNothingRecomputed(result);
    }

    [Fact]
    public void EditingAMethodBodyInAnotherFileReEmitsNothing()
    {
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var (_, result) = Run(driver, Edit(compilation, "Source1.cs", "2 * x", "x + x"));

        AssertNothingRecomputed(result);
    }

    [Fact]
    public void EditingAnotherClassInTheNetworksFileReEmitsNothing()
    {
        // The network's own syntax tree changes, so its declaration is parsed again, but the spec is equal: the emit
        // step must see Unchanged/Cached and add no new source.
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var (_, result) = Run(driver, Edit(compilation, "Source0.cs", "public int Value() => 1;", "public int Value() => 41 + 1;"));

        AssertNothingRecomputed(result);
    }

    [Fact]
    public void MovingTheNetworkDownTheFileReEmitsNothing()
    {
        // Specs hold no source positions, so shifting the declaration (a comment and blank lines above it) is not a change.
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var (_, result) = Run(driver, Edit(compilation, "Source0.cs", "namespace Incremental;", "namespace Incremental;\n\n// A comment.\n\n"));

        AssertNothingRecomputed(result);
    }

    [Fact]
    public void ChangingTheNetworksAttributesReEmitsIt()
    {
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, first) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);
        Assert.Contains("public const int OutputSize = 2;", GeneratedSource(first));

        var (_, result) = Run(driver, Edit(compilation, "Source0.cs", "[Dense(2), Sigmoid]", "[Dense(3), Sigmoid]"));

        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(result, NetworkGenerator.Steps.Parse));
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(result, NetworkGenerator.Steps.Emit));
        string source = GeneratedSource(result);
        Assert.Contains("public const int OutputSize = 3;", source);
        Assert.DoesNotContain("public const int OutputSize = 2;", source);
        Assert.Contains("public const long ParameterCount = 9;", source);   // 3·2 weights + 3 biases
    }

    [Fact]
    public void ChangingTheNetworkArgumentsReEmitsIt()
    {
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var (_, result) = Run(driver, Edit(compilation, "Source0.cs", "[Network(Loss = LossFunction.MeanSquaredError)]",
            "[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]"));

        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(result, NetworkGenerator.Steps.Emit));
        Assert.Contains("partial class Net : global::NetGen.INetwork<double>", GeneratedSource(result));
    }

    [Fact]
    public void AddingASecondNetworkLeavesTheFirstCached()
    {
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var second = CSharpSyntaxTree.ParseText("using NetGen; namespace Incremental; [Network][Input(4)][Dense(3), Softmax] public partial class Second;",
            GeneratorHarness.ParseOptions, path: "Second.cs");
        var (_, result) = Run(driver, compilation.AddSyntaxTrees(second));

        var emit = result.TrackedSteps[NetworkGenerator.Steps.Emit].SelectMany(s => s.Outputs).ToList();
        Assert.Equal(2, emit.Count);
        Assert.Single(emit, o => o.Reason == IncrementalStepRunReason.New);
        Assert.Single(emit, o => NotRecomputed.Contains(o.Reason));
        Assert.Equal(2, result.GeneratedSources.Length);
    }

    [Fact]
    public void ParsingTheSameDeclarationTwiceGivesEqualSpecs()
    {
        // Two separate compilations of the same text: different symbols, equal specs. This is what lets the pipeline
        // cache: a spec must compare by value (records plus EquatableArray), never by reference.
        var a = ParseNet(GeneratorHarness.CreateCompilation(NetworkFile, OtherFile));
        var b = ParseNet(GeneratorHarness.CreateCompilation(NetworkFile, OtherFile));

        Assert.NotSame(a, b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a.Layers, b.Layers);
        Assert.Equal(a.ContainingTypes, b.ContainingTypes);

        var c = ParseNet(GeneratorHarness.CreateCompilation(NetworkFile.Replace("[Dense(2), Sigmoid]", "[Dense(3), Sigmoid]"), OtherFile));
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void ParsingTheSameSymbolTwiceGivesEqualSpecs()
    {
        var compilation = GeneratorHarness.CreateCompilation(NetworkFile, OtherFile);
        Assert.Equal(ParseNet(compilation), ParseNet(compilation));
    }

    [Fact]
    public void EmitStepOutputsAreEquatable()
    {
        var spec = ParseNet(GeneratorHarness.CreateCompilation(NetworkFile, OtherFile));
        Assert.Equal(NetworkGenerator.EmitSafely(spec), NetworkGenerator.EmitSafely(spec));
    }

    [Fact]
    public void TheGpuVariantIsEmittedOnlyWhenNetGenGpuIsReferenced()
    {
        // A CPU-only project (which may publish NativeAOT) gets no ILGPU code at all.
        var (_, cpuOnly) = Run(GeneratorHarness.CreateDriver(trackSteps: true), GeneratorHarness.CreateCompilation(NetworkFile, OtherFile));
        Assert.DoesNotContain(cpuOnly.GeneratedSources, s => GeneratorHarness.IsFileOf(s.HintName, "Net", gpu: true));

        var (_, withGpu) = Run(GeneratorHarness.CreateDriver(trackSteps: true), GeneratorHarness.CreateCompilation(gpu: true, NetworkFile, OtherFile));
        var gpuFile = Assert.Single(withGpu.GeneratedSources, s => s.HintName == "Incremental.Net-1001g.g.cs").SourceText.ToString();
        Assert.Contains("public sealed class Gpu : global::NetGen.Gpu.GpuNetwork<float>", gpuFile);
        Assert.Equal(2, withGpu.GeneratedSources.Length);
    }

    [Fact]
    public void WithTheGpuReferenceAnUnrelatedEditReEmitsNothing()
    {
        var compilation = GeneratorHarness.CreateCompilation(gpu: true, NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var (_, result) = Run(driver, Edit(compilation, "Source1.cs", "2 * x", "x + x"));

        AssertNothingRecomputed(result);
        // The compilation changed, so "does it reference NetGen.Gpu?" is asked again; the answer is equal, so the GPU
        // emit step is cached.
        var reasons = Reasons(result, NetworkGenerator.Steps.EmitGpu);
        Assert.True(reasons.All(NotRecomputed.Contains), $"{NetworkGenerator.Steps.EmitGpu}: {string.Join(", ", reasons)}");
    }

    [Fact]
    public void WithTheGpuReferenceChangingTheNetworkReEmitsBothFiles()
    {
        var compilation = GeneratorHarness.CreateCompilation(gpu: true, NetworkFile, OtherFile);
        var (driver, _) = Run(GeneratorHarness.CreateDriver(trackSteps: true), compilation);

        var (_, result) = Run(driver, Edit(compilation, "Source0.cs", "[Dense(2), Sigmoid]", "[Dense(3), Sigmoid]"));

        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(result, NetworkGenerator.Steps.Emit));
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(result, NetworkGenerator.Steps.EmitGpu));
        string gpu = Assert.Single(result.GeneratedSources, s => s.HintName == "Incremental.Net-1001g.g.cs").SourceText.ToString();
        Assert.Contains("// maxBatch × 3", gpu);
    }

    private static NetworkSpec ParseNet(Compilation compilation)
    {
        var symbol = compilation.GetTypeByMetadataName("Incremental.Net");
        Assert.NotNull(symbol);
        var spec = NetworkParser.Parse(symbol, CancellationToken.None);
        Assert.NotNull(spec);
        return spec;
    }

    private static (GeneratorDriver Driver, GeneratorRunResult Result) Run(GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGenerators(compilation);
        var result = Assert.Single(driver.GetRunResult().Results);
        Assert.Null(result.Exception);
        return (driver, result);
    }

    private static Compilation Edit(Compilation compilation, string path, string oldText, string newText)
    {
        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        string text = tree.GetText().ToString();
        int at = text.IndexOf(oldText, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{oldText}' not found in {path}");
        var edited = tree.WithChangedText(tree.GetText().WithChanges(new TextChange(new TextSpan(at, oldText.Length), newText)));
        return compilation.ReplaceSyntaxTree(tree, edited);
    }

    private static List<IncrementalStepRunReason> Reasons(GeneratorRunResult result, string step)
    {
        Assert.True(result.TrackedSteps.ContainsKey(step), $"Step '{step}' was not tracked; tracked: {string.Join(", ", result.TrackedSteps.Keys)}");
        var reasons = result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.NotEmpty(reasons);
        return reasons;
    }

    private static void AssertNothingRecomputed(GeneratorRunResult result)
    {
        foreach (var step in new[] { NetworkGenerator.Steps.Parse, NetworkGenerator.Steps.Emit })
        {
            var reasons = Reasons(result, step);
            Assert.True(reasons.All(NotRecomputed.Contains), $"{step}: expected only Cached/Unchanged outputs, got {string.Join(", ", reasons)}");
        }
        // And the generated file itself is still there, unchanged in content.
        Assert.Contains("public const int OutputSize = 2;", GeneratedSource(result));
    }

    private static string GeneratedSource(GeneratorRunResult result) =>
        Assert.Single(result.GeneratedSources, s => s.HintName == "Incremental.Net-1001.g.cs").SourceText.ToString();
}
