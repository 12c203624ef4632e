using Microsoft.CodeAnalysis;
using NetGen.Generators;
using NetGen.Generators.Emit;
using NetGen.Tests.Analyzers;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Hardening;

/// <summary>
/// The generator and the analyzers never crash and never accept a declaration whose generated code does not compile
/// (issue 18, items 1–4): hint names unique ignoring case, [Input(null)], options beyond the element type, shape
/// arithmetic that wrapped.
/// </summary>
public sealed class GeneratorHardeningTests
{
    private const string U = "using NetGen;\n";

    // ---- 1. Hint names -------------------------------------------------------------------------------------------

    [Fact]
    public void NetworksWhoseNamesDifferOnlyInCase_EachGetTheirCode_AndCompile()
    {
        // Before: Net/NET, Models/models and outer.Net/Outer.Net mapped to one hint name (hint names compare ignoring
        // case): CS8785, and every network of the project lost its code.
        string[] sources =
        [
            U + "namespace App { [Network][Input(2)][Dense(2), Softmax] public partial class Net; [Network][Input(3)][Dense(2), Softmax] public partial class NET; }",
            U + "namespace Models { [Network][Input(4)][Dense(2), Softmax] public partial class Net; }",
            U + "namespace models { [Network][Input(5)][Dense(2), Softmax] public partial class Net; }",
            U + "namespace outer { [Network][Input(6)][Dense(2), Softmax] public partial class Net; }",
            U + "public partial class Outer { [Network][Input(7)][Dense(2), Softmax] public partial class Net; }",
            U + "namespace Café { [Network][Input(8)][Dense(2), Softmax] public partial class Net; }",
            U + "namespace CafÉ { [Network][Input(9)][Dense(2), Softmax] public partial class Net; }",
        ];
        var (result, output) = GeneratorHarness.Run([UserCode.ImplicitUsings, .. sources]);
        UserCode.AssertGeneratorDidNotFail(result);
        Assert.Equal(8, result.GeneratedTrees.Length);
        Assert.Equal(8, result.GeneratedTrees.Select(t => Path.GetFileName(t.FilePath).ToUpperInvariant()).Distinct().Count());
        Assert.Empty(UserCode.Errors(output));
        var assembly = GeneratorHarness.CompileAndLoad([UserCode.ImplicitUsings, .. sources]);
        int[] inputs = [.. new[] { "App.Net", "App.NET", "Models.Net", "models.Net", "outer.Net", "Outer+Net", "Café.Net", "CafÉ.Net" }
            .Select(n => (int)assembly.GetType(n, throwOnError: true)!.GetField("InputSize")!.GetValue(null)!)];
        Assert.Equal([2, 3, 4, 5, 6, 7, 8, 9], inputs);
    }

    [Fact]
    public void HintNames_EqualIgnoringCase_OnlyForTheSameNameAndVariant()
    {
        var random = new Random(18);
        const string letters = "aAbB._+`éÉµμ1";
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < 20_000; i++)
        {
            string name = new([.. Enumerable.Range(0, random.Next(1, 9)).Select(_ => letters[random.Next(letters.Length)])]);
            bool gpu = random.Next(2) == 0;
            string hint = NetworkGenerator.HintName(name, gpu);
            Assert.Matches("^[A-Za-z0-9_.+`{}]+-[0-9a-f]+g?\\.g\\.cs$", hint);
            if (seen.TryGetValue(hint, out var earlier)) Assert.Equal(earlier, name + (gpu ? "/gpu" : ""));
            else seen[hint] = name + (gpu ? "/gpu" : "");
        }
        Assert.Equal("Incremental.Net-1001.g.cs", NetworkGenerator.HintName("Incremental.Net", gpu: false));
        Assert.Equal("Incremental.Net-1001g.g.cs", NetworkGenerator.HintName("Incremental.Net", gpu: true));
    }

    // ---- 2. [Input(null)] ----------------------------------------------------------------------------------------

    [Theory]
    [InlineData("null")]
    [InlineData("default(int[])")]
    [InlineData("new int[0]")]
    public async Task InputWithoutDimensions_IsAnErrorAtTheArgument_NotACrash(string argument)
    {
        // Before: [Input(null)] threw a NullReferenceException in the analyzer (AD0001) and the generator emitted nothing.
        var result = await AnalyzerHarness.VerifyAsync(U + $"[Network][Input({{|NG0004:{argument}|}})][Dense(2), Softmax] public partial class Net;");
        Assert.Contains("none were given", Assert.Single(result.NetGen, d => d.Id == "NG0004").GetMessage());
        Assert.Empty(result.CompilerErrors);   // the invalid network's stub compiles
        await AnalyzerHarness.VerifyAsync(U + "[Network][{|NG0004:Input|}][Dense(2), Softmax] public partial class Net;");
    }

    // ---- 3. Options beyond the element type ------------------------------------------------------------------------

    [Theory]
    [InlineData("Single", "[Dense(4)][LeakyReLU({|NG0004:1e39|})][Dense(2)]")]
    [InlineData("Single", "[Dense(4)][BatchNorm({|NG0004:Epsilon = 1e39|})][Dense(2)]")]
    [InlineData("Single", "[Dense(4, {|NG0004:L1 = 1e39|})][Dense(2)]")]
    [InlineData("Double", "[Dense(4, {|NG0004:L2 = 1e308|})][Dense(2)]")]
    [InlineData("Single", "[Dense(4)][ELU({|NG0004:alpha: -1e39|})][Dense(2)]")]
    [InlineData("Single", "[Dense(4)][LeakyReLU({|NG0004:1e-50|})][Dense(2)]")]
    [InlineData("Single", "[Dense(4)][BatchNorm({|NG0004:Epsilon = 1e-300|})][Dense(2)]")]
    public async Task OptionsBeyondTheElementType_AreErrors_AndNothingEmittedFailsToCompile(string precision, string layers)
    {
        // Before: accepted, and the generated code said Infinityf / Infinity (CS0103).
        var result = await AnalyzerHarness.VerifyAsync(U + $"[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.{precision})][Input(3)]{layers} public partial class Net;");
        Assert.Empty(result.CompilerErrors);
    }

    [Theory]
    [InlineData("Single", "[Dense(4)][LeakyReLU(3e37)][Dense(2)]")]
    [InlineData("Single", "[Dense(4, L1 = 1e-30, L2 = 1e37)][Dense(2)]")]
    [InlineData("Double", "[Dense(4, L2 = 1e307)][BatchNorm(Epsilon = 1e-300)][Dense(2)]")]
    public async Task OptionsInsideTheRange_AreAccepted_AndCompile(string precision, string layers)
    {
        var result = await AnalyzerHarness.RunAsync(U + $"[Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.{precision})][Input(3)]{layers} public partial class Net;");
        Assert.Empty(result.Exceptions);
        Assert.Empty(result.NetGenErrors);
        Assert.Empty(result.CompilerErrors);
    }

    [Fact]
    public void EveryLiteralCompiles_EvenANonFiniteOne()
    {
        Assert.Equal("float.PositiveInfinity", CodeWriter.Literal(1e39, isDouble: false));
        Assert.Equal("float.NegativeInfinity", CodeWriter.Literal(double.NegativeInfinity, isDouble: false));
        Assert.Equal("double.NaN", CodeWriter.Literal(double.NaN, isDouble: true));
        Assert.Equal("double.PositiveInfinity", CodeWriter.Literal(double.PositiveInfinity, isDouble: true));
        Assert.Equal("1E+38f", CodeWriter.Literal(1e38, isDouble: false));
        Assert.Equal("1E+308", CodeWriter.Literal(1e308, isDouble: true));
    }

    // ---- 4. Shape arithmetic --------------------------------------------------------------------------------------

    [Theory]
    [InlineData("[{|NG0004:Input(65536, 65536, 65536, 65536)|}][Flatten][Dense(2)]", "more than 9.2e18 values per sample")]
    [InlineData("[{|NG0004:Input(1, 46341, 46341)|}][Flatten][Dense(2)]", "2,147,488,281 values per sample")]
    [InlineData("[Input(2, 12, 12)][{|NG0004:Conv2D(3, Kernel = 3, Padding = 8192)|}]", "= 806,289,708 values per sample")]
    [InlineData("[Input(2, 12, 12)][{|NG0004:Conv2D(1 << 26, Kernel = 1)|}]", "= 9,663,676,416 values per sample")]
    [InlineData("[Input(1, 1, 1)][Conv2D(1, Kernel = 1, Stride = 4096, {|NG0004:Padding = 8192|})]", "pads each sample to 1 × 16385 × 16385 = 268,468,225 values")]
    [InlineData("[Input(4096, 64, 64)][Conv2D(1, {|NG0004:Kernel = 64|}, Padding = 32)]", "im2col")]
    public async Task ShapesWhoseProductsWrapOrExceedTheLimit_AreErrorsNamingTheProduct(string layers, string expected)
    {
        // Before: the first was accepted with InputSize 0 (the product wrapped; generated _p[-10]), and convolution
        // outputs were never checked against the limit (806M values per sample with only NG0015).
        var result = await AnalyzerHarness.VerifyAsync(U + $"[Network(Loss = LossFunction.MeanSquaredError)]{layers} public partial class Net;");
        Assert.Contains(result.NetGen, d => d.Id == "NG0004" && d.GetMessage().Contains(expected, StringComparison.Ordinal));
        Assert.Empty(result.CompilerErrors);
    }
}
