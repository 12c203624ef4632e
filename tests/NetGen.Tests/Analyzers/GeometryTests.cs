using System.Diagnostics;
using NetGen.Generators;
using NetGen.Generators.Model;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Analyzers;

/// <summary>The course's geometry exercises, through the same inference the analyzers and the generator use.</summary>
public class GeometryTests
{
    private static NetworkPlan Plan(string declaration)
    {
        var compilation = GeneratorHarness.CreateCompilation("using NetGen;\n" + declaration);
        var type = compilation.GetTypeByMetadataName("Net")!;
        var plan = Shapes.Infer(NetworkParser.Parse(type, default), out var problems);
        Assert.True(plan is not null, string.Join("\n", problems));
        return plan;
    }

    [Fact]
    public void SevenBySevenKernelOver28x28GivesTwentyTwo()
    {
        var plan = Plan("[Network][Input(1, 28, 28)][Conv2D(1, Kernel = 7)][Flatten][Dense(2), Softmax] public partial class Net;");
        Assert.Equal([1, 22, 22], plan.Layers[0].OutputShape.ToArray());
    }

    [Fact]
    public async Task FiveByFiveStrideTwoIsOfferedPaddingThreeToKeepItsSize()
    {
        const string source = "using NetGen;\n[Network][Input(1, 5, 5)][Conv2D(1, Kernel = 3, Stride = 2)][Flatten][Dense(2), Softmax] public partial class Net;";
        Assert.Equal([1, 2, 2], Plan(source.Substring(14)).Layers[0].OutputShape.ToArray());   // valid as written: 2×2
        var (titles, after) = await AnalyzerHarness.RefactorAsync(source, "Conv2D", "Set Padding = 3 (output 5×5, padding not smaller than the kernel)");
        Assert.Equal(
        [
            "Set Padding = 1 (output 3×3)",
            "Set Padding = 2 (output 4×4)",
            "Set Padding = 3 (output 5×5, padding not smaller than the kernel)",
            "Set Padding = Padding.Same (output 3×3)",
        ], titles);
        Assert.Contains("[Conv2D(1, Kernel = 3, Stride = 2, Padding = 3)]", after);
        Assert.Equal([1, 5, 5], Plan(after.Substring(14)).Layers[0].OutputShape.ToArray());
        AnalyzerHarness.AssertForwardIsFinite(await AnalyzerHarness.CompileCleanAsync(after), "Net");
    }

    [Fact]
    public async Task TwoTwentyFourWithKernelFiveStrideTwoHasNoPaddingThatWorks()
    {
        var (titles, _) = await AnalyzerHarness.FixAsync(
            ["using NetGen;\n[Network][Input(3, 224, 224)][Conv2D(16, Kernel = 5, Stride = 2)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0014", null);
        Assert.DoesNotContain(titles, t => t.StartsWith("Set Padding", StringComparison.Ordinal));
        Assert.Equal(
        [
            "Set Stride = 1 (output 220×220)",
            "Set Kernel = 4, Padding = 0 (output 111×111)",
            "Set Kernel = 6, Padding = 0 (output 110×110)",
            "Set RoundDown = true (output 110×110, the border dropped as PyTorch does)",
        ], titles);
    }

    [Fact]
    public void ThirtyTwoKernelsOver128x128x3KeepTheSizeWith896Parameters()
    {
        var plan = Plan("[Network][Input(3, 128, 128)][Conv2D(32, Kernel = 3, Stride = 1, Padding = 1)][Flatten][Dense(2), Softmax] public partial class Net;");
        Assert.Equal([32, 128, 128], plan.Layers[0].OutputShape.ToArray());
        Assert.Equal(896, plan.Layers[0].ParameterCount);
    }

    [Fact]
    public void ThreeConvolutionsOver39x39()
    {
        var plan = Plan("[Network][Input(3, 39, 39)][Conv2D(10, Kernel = 3)][Conv2D(20, Kernel = 5, Stride = 2)][Conv2D(40, Kernel = 5, Stride = 2)][Flatten][Dense(2), Softmax] public partial class Net;");
        string summary = Shapes.Summary(plan);
        Assert.Contains("(None, 10, 37, 37)", summary);
        Assert.Contains("(None, 20, 17, 17)", summary);
        Assert.Contains("(None, 40, 7, 7)", summary);
        Assert.Contains("(None, 1960)", summary);
    }

    private const string Vgg16 = """
        using NetGen;
        [Network]
        [Input(3, 224, 224)]
        [Conv2D(64, Padding = 1), ReLU][Conv2D(64, Padding = 1), ReLU][MaxPool(2)]
        [Conv2D(128, Padding = 1), ReLU][Conv2D(128, Padding = 1), ReLU][MaxPool(2)]
        [Conv2D(256, Padding = 1), ReLU][Conv2D(256, Padding = 1), ReLU][Conv2D(256, Padding = 1), ReLU][MaxPool(2)]
        [Conv2D(512, Padding = 1), ReLU][Conv2D(512, Padding = 1), ReLU][Conv2D(512, Padding = 1), ReLU][MaxPool(2)]
        [Conv2D(512, Padding = 1), ReLU][Conv2D(512, Padding = 1), ReLU][Conv2D(512, Padding = 1), ReLU][MaxPool(2)]
        [Flatten]
        [Dense(4096), ReLU]
        [Dense(4096), ReLU]
        [Dense(1000), Softmax]
        public partial class Net;
        """;

    [Fact]
    public async Task Vgg16HasTheRightParameterCountAndIsGeneratedAsLoops()
    {
        var watch = Stopwatch.StartNew();
        var result = await AnalyzerHarness.RunAsync(Vgg16);
        watch.Stop();
        Assert.Empty(result.Exceptions);
        Assert.Empty(result.CompilerErrors);
        Assert.DoesNotContain(result.NetGen, d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning);
        string code = GeneratorHarness.GeneratedSource(result.Generator, "Net");
        Assert.Contains("Total params: 138,357,544", code);
        Assert.Contains("public const long ParameterCount = 138357544;", code);
        // Literal loops, nothing unrolled: the source does not grow with the layers' sizes. The same architecture with
        // an eighth of the channels and units (still far above the unroll threshold) generates about as much code; a
        // 4096×4096 layer unrolled would be millions of statements.
        string narrow = Vgg16.Replace("(64,", "(8,").Replace("(128,", "(16,").Replace("(256,", "(32,").Replace("(512,", "(64,")
            .Replace("Dense(4096)", "Dense(512)").Replace("Dense(1000)", "Dense(125)");
        var (narrowRun, _) = GeneratorHarness.Run(narrow);
        string narrowCode = GeneratorHarness.GeneratedSource(narrowRun, "Net");
        Assert.DoesNotContain("is not a valid network", narrowCode);
        Assert.True(code.Length < narrowCode.Length * 1.25,
            $"VGG16's generated source ({code.Length:N0} characters) grows with its layer sizes: the narrow copy's is {narrowCode.Length:N0}.");
        Console.WriteLine($"VGG16: generated {code.Length:N0} characters (narrow copy {narrowCode.Length:N0}); generator + compiler + analyzers {watch.ElapsedMilliseconds} ms");
    }
}
