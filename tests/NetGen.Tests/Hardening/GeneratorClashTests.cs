using NetGen.Tests.Analyzers;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Hardening;

/// <summary>
/// Clashes with the generated code (issue 18 item 6) are NG0037 at the user's member or class, with the fix, instead of
/// compiler errors in generated code (or, for a file-local class, silence); look-alikes that can compile do.
/// </summary>
public sealed class GeneratorClashTests
{
    private const string U = "using NetGen;\nnamespace App;\n";
    private const string Mlp = "[Network][Input(64)][Dense(32), ReLU][Dense(10), Softmax]";

    [Theory]
    [InlineData("public int {|NG0037:Forward|};")]
    [InlineData("public int {|NG0037:Parameters|};")]
    [InlineData("public const string {|NG0037:Summary|} = \"\";")]
    [InlineData("public int {|NG0037:State|};")]
    [InlineData("private int {|NG0037:_batch|};")]
    [InlineData("private float[] {|NG0037:_a0|} = [];")]
    [InlineData("public {|NG0037:Net|}(int a, int b) { }")]
    [InlineData("public class {|NG0037:Output|} { }")]
    [InlineData("public int {|NG0037:Dense1Weights|};")]
    [InlineData("public static int {|NG0037:InputSize|} = 3;")]
    public async Task UserMembersNamedLikeGeneratedOnes_AreNG0037AtTheMember(string member)
    {
        // Before: CS0102/CS0111 in the generated file, no NetGen diagnostic.
        var result = await AnalyzerHarness.VerifyAsync(U + $"{Mlp} public partial class Net {{ {member} }}");
        Assert.Contains("Rename your member", Assert.Single(result.NetGen, d => d.Id == "NG0037").GetMessage());
    }

    [Theory]
    [InlineData("public partial class {|NG0037:Output|};")]
    [InlineData("public partial class {|NG0037:Summary|};")]
    [InlineData("public partial class {|NG0037:Unsafe|};")]
    [InlineData("file partial class {|NG0037:Net|};")]
    [InlineData("public partial class {|NG0037:Net|} : BaseWithArgument; public class BaseWithArgument { public BaseWithArgument(int x) { } }")]
    [InlineData("public partial class {|NG0037:Net|} : Other; [Network][Input(2)][Dense(2)] public partial class Other;")]
    public async Task ClassesTheGeneratorCannotExtend_AreNG0037AtTheClass_AndCompile(string declaration)
    {
        // Before: CS0542 (a member named like its class), CS7036 (no base()), CS0108 (hidden members), or — for a
        // file-local class — silently no code.
        var result = await AnalyzerHarness.VerifyAsync(U + Mlp + " " + declaration);
        Assert.DoesNotContain(result.CompilerErrors, e => e.Location.SourceTree is { } t && UserCode.IsGenerated(t) && t.FilePath.Contains("Net", StringComparison.Ordinal)
                                                          && !t.FilePath.Contains("Other", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATypeInTheNetworksNamespaceThatHidesOneTheCodeUses_IsNG0037()
    {
        // Before: CS0117 ('Unsafe' does not contain a definition for 'Add') in the generated file, no NetGen diagnostic.
        var result = await AnalyzerHarness.VerifyAsync(U + "public class Unsafe { } [Network][Input(1, 8, 8)][Conv2D(4, Kernel = 3, Padding = 1), ReLU][MaxPool(2)][Flatten][Dense(10), Softmax] public partial class {|NG0037:Net|};");
        Assert.Contains("rename it, or declare the network where it is not in scope", Assert.Single(result.NetGen, d => d.Id == "NG0037").GetMessage());
    }

    [Theory]
    [InlineData("public class Vector256 { }")]
    [InlineData("public class Vector512 { }")]
    [InlineData("public static class MethodImplOptions { }")]
    [InlineData("public class Span<T> { }")]
    [InlineData("public class Math { }")]
    public async Task ATypeInTheNetworksNamespace_EitherIsNG0037_OrTheCodeCompiles(string neighbour)
    {
        foreach (string network in new[] { Mlp, "[Network][Input(1, 8, 8)][Conv2D(4, Kernel = 3, Padding = 1), ReLU][MaxPool(2)][Flatten][Dense(10), Softmax]" })
        {
            var result = await AnalyzerHarness.RunAsync(U + neighbour + " " + network + " public partial class Net;");
            Assert.Empty(result.Exceptions);
            Assert.True(result.NetGenErrors.Any(d => d.Id == "NG0037") || result.CompilerErrors.Count == 0, string.Join("\n", result.CompilerErrors.Take(5)));
        }
    }

    [Fact]
    public async Task ANetworkCalledGpuNestedInANetwork_WithNetGenGpu_IsNG0037_AndTheOtherNetworksKeepTheirCode()
    {
        // Before: the nested network's file and the outer network's GPU file had one hint name: CS8785, no code at all.
        string source = U + Mlp + " public partial class Net { [Network][Input(3)][Dense(2), Softmax] public partial class {|NG0037:Gpu|}; }";
        var (markup, expected) = AnalyzerHarness.Parse(source);
        var (generator, output) = GeneratorHarness.Run(gpu: true, UserCode.ImplicitUsings, markup);
        var result = await AnalyzerHarness.AnalyzeAsync(output, generator);
        Assert.Empty(result.Exceptions);
        // Reported for the outer network (its Gpu class) and for the nested one (its own Gpu class), both at the nested class.
        Assert.NotEmpty(result.NetGen.Where(d => d.Id == "NG0037"));
        Assert.All(result.NetGen.Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error), d => Assert.Equal(expected.Single().Span, d.Location.SourceSpan));
        Assert.Equal(4, generator.GeneratedTrees.Length);   // Net and the nested network Net.Gpu, each with its Gpu class
        // Without NetGen.Gpu the nested network is a plain network: everything compiles.
        var cpu = await AnalyzerHarness.RunAsync(markup);
        Assert.Empty(cpu.NetGenErrors);
        Assert.Empty(cpu.CompilerErrors);
    }

    [Theory]
    [InlineData("public partial class Net { public void TrainStep() { } public void Backward(int x) { } public void Explain() { } }")]
    [InlineData("public partial class Net { public Net(int maxBatch) : this(maxBatch, 1) { } }")]
    [InlineData("public partial class Net : BaseOk; public abstract class BaseOk { protected BaseOk() { } public int Epochs { get; set; } }")]
    [InlineData("public partial class Net : BaseOptional; public class BaseOptional { public BaseOptional(int x = 1) { } }")]
    [InlineData("public partial class Net { public class Helper { } } public class Unsafe2 { }")]
    public async Task LookAlikesThatCanCompile_AreAcceptedAndCompile(string declaration)
    {
        var result = await AnalyzerHarness.RunAsync(U + Mlp + " " + declaration);
        Assert.Empty(result.Exceptions);
        Assert.Empty(result.NetGenErrors);
        Assert.Empty(result.CompilerErrors);
    }
}
