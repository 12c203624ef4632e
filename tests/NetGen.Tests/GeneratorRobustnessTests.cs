using Microsoft.CodeAnalysis;
using NetGen.Tests.Analyzers;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests;

/// <summary>
/// The generator must never throw, whatever it is fed: a malformed declaration gets a throwing stub, so code that uses
/// the network does not fail with a cascade of "member not found" errors, and the NetGen analyzers report the problem
/// (an NG diagnostic at the declaration, never inside generated code); a valid but unusual declaration compiles cleanly.
/// </summary>
public class GeneratorRobustnessTests
{
    /// <summary>An invalid declaration: the NetGen diagnostic it must get, and which errors the user's own code may
    /// legitimately add (an attribute that does not bind is a compiler error before it is a NetGen one).</summary>
    private sealed record InvalidCase(string Source, string Message, string[] UserErrors, bool HasStub = true);

    // Each declares a class Bad in the global namespace. Those with a stub are used by UsesOfBad below.
    private static readonly Dictionary<string, InvalidCase> Invalid = new()
    {
        ["NoInput"] = new("[Network][Dense(2), ReLU] public partial class Bad;", "NG0001", []),
        ["NetworkWithoutLayers"] = new("[Network] public partial class Bad;", "NG0001", []),
        ["TwoInputs"] = new("[Network][Input(2)][Input(3)][Dense(1)] public partial class Bad;", "NG0002", ["CS0579"]),
        ["InputNotFirst"] = new("[Network][Dense(2)][Input(2)] public partial class Bad;", "NG0003", []),
        ["EmptyInput"] = new("[Network][Input()][Dense(1)] public partial class Bad;", "NG0004", []),
        ["ZeroInput"] = new("[Network][Input(0)][Dense(1)] public partial class Bad;", "NG0004", []),
        ["NegativeInput"] = new("[Network][Input(-3)][Dense(1)] public partial class Bad;", "NG0004", []),
        ["ZeroUnits"] = new("[Network][Input(2)][Dense(0)] public partial class Bad;", "NG0004", []),
        ["HugeDense"] = new("[Network][Input(100000)][Dense(100000)] public partial class Bad;", "NG0004", []),
        ["DenseWithoutArguments"] = new("[Network][Input(2)][Dense][ReLU] public partial class Bad;", "NG0005", ["CS7036"]),
        ["DenseWithString"] = new("[Network][Input(2)][Dense(\"x\")] public partial class Bad;", "NG0005", ["CS1503"]),
        ["LeakyReLUNaN"] = new("[Network][Input(2)][Dense(2), LeakyReLU(double.NaN)] public partial class Bad;", "NG0005", []),
        ["UnknownLayerAttribute"] = new("[Network][Input(2)][My][Dense(1)] public partial class Bad; public sealed class MyAttribute : LayerAttribute;", "NG0005", []),
        ["NegativeUnrollThreshold"] = new("[Network(UnrollThreshold = -1)][Input(2)][Dense(1)] public partial class Bad;", "NG0005", []),
        ["InputOnly"] = new("[Network][Input(2)] public partial class Bad;", "NG0006", []),
        ["ThreeDInputWithoutFlatten"] = new("[Network][Input(1, 28, 28)][Dense(10), Softmax] public partial class Bad;", "NG0010", []),
        ["SoftmaxNotLast"] = new("[Network][Input(4)][Dense(3), Softmax][Dense(2)] public partial class Bad;", "NG0020", []),
        // Nothing can be added to these classes, so there is no stub, only the message.
        ["NotPartial"] = new("[Network][Input(2)][Dense(1)] public class Bad;", "NG0030", [], HasStub: false),
        ["StaticPartial"] = new("[Network][Input(2)][Dense(1)] public static partial class Bad;", "NG0031", [], HasStub: false),
        ["GenericPartial"] = new("[Network][Input(2)][Dense(1)] public partial class Bad<T>;", "NG0032", [], HasStub: false),
        ["NestedInGeneric"] = new("public partial class Outer<T> { [Network][Input(2)][Dense(1)] public partial class Bad; }", "NG0033", [], HasStub: false),
    };

    /// <summary>User code that touches the stub's API surface: must add no error of its own.</summary>
    private const string UsesOfBad = """
        public static class UsesOfBad
        {
            public static float Use()
            {
                var n = new Bad(maxBatch: 4, seed: 1);
                n.Forward(new float[2]);
                n.Backward(new float[1]);
                n.ZeroGradients();
                global::NetGen.INetwork<float> network = n;
                return n.Loss(new float[1]) + Bad.InputSize + Bad.OutputSize + Bad.ParameterCount + Bad.Summary.Length + network.Parameters.Length;
            }
        }
        """;

    public static TheoryData<string> InvalidNames => new(Invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task InvalidDeclarationFailsOnlyWithTheNetGenMessage(string name)
    {
        var test = Invalid[name];
        var sources = new List<string> { "using NetGen;\n" + test.Source };
        if (test.HasStub) sources.Add(UsesOfBad);
        var result = await AnalyzerHarness.RunAsync([.. sources]);

        UserCode.AssertGeneratorDidNotFail(result.Generator);
        Assert.Empty(result.Exceptions);
        var netGen = result.NetGenErrors.ToList();
        Assert.True(netGen.Any(e => e.Id == test.Message),
            $"No {test.Message} error. NetGen reported:\n{string.Join("\n", result.NetGen)}\nThe compiler:\n{string.Join("\n", result.CompilerErrors)}");
        Assert.All(netGen, e => Assert.True(e.Location.SourceTree is { } t && !UserCode.IsGenerated(t), $"NetGen diagnostic outside the user's code: {e}"));

        // Everything else is the user's own attribute mistake, never a cascade (CS1061, CS0117, CS0535 …) from the
        // generated code or from code that uses the network.
        var errors = result.CompilerErrors;
        var unexpected = errors.Where(e => !test.UserErrors.Contains(e.Id)).ToList();
        Assert.True(unexpected.Count == 0, "Unexpected errors:\n" + string.Join("\n", unexpected));
        foreach (string id in test.UserErrors) Assert.Contains(errors, e => e.Id == id);
        // The generator reports nothing about shapes itself: no #error, no diagnostics of its own.
        Assert.Empty(result.Generator.Diagnostics);
        Assert.All(result.Generator.GeneratedTrees, t => Assert.DoesNotContain("#error", t.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void HugeNetworkIsRejectedWithoutEmittingItsCode()
    {
        // 100000 × 100000 weights: rejected by shape inference, so the emitters never see it. The stub is small; the
        // test returning at all shows nothing quadratic ran.
        var (result, _) = GeneratorHarness.Run("using NetGen; [Network][Input(100000)][Dense(100000)] public partial class Bad;");
        UserCode.AssertGeneratorDidNotFail(result);
        var tree = Assert.Single(result.GeneratedTrees);
        Assert.True(tree.Length < 20_000, $"The stub for a rejected network is {tree.Length} characters long.");
        Assert.Contains("more than one buffer can hold", tree.ToString());
    }

    [Fact]
    public async Task InvalidDenseArgumentIsReportedAsUnreadable()
    {
        var result = await AnalyzerHarness.RunAsync("using NetGen; [Network][Input(2)][Dense(\"x\")] public partial class Bad;");
        Assert.Contains(result.NetGen, e => e.Id == "NG0005" && e.GetMessage().Contains("[Dense] could not be read", StringComparison.Ordinal));
    }

    // ---- Valid but unusual declarations: zero errors ---------------------------------------------------------------

    public static TheoryData<string, string, string> ValidDeclarations => new()
    {
        {
            "FileScopedNamespace",
            "using NetGen; namespace Company.Product.Models; [Network][Input(2)][Dense(3), Tanh][Dense(1), Sigmoid] public partial class Net;",
            "var n = new Company.Product.Models.Net(); n.Forward(new float[2]);"
        },
        {
            "GlobalNamespace",
            "using NetGen; [Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)][Input(3)][Dense(1)] public partial class Net;",
            "var n = new Net(); n.Forward(new double[3]);"
        },
        {
            "NestedInNonGenericPartialClass",
            "using NetGen; namespace App { public partial class Outer { internal partial class Middle { [Network][Input(4)][Dense(3), Softmax] public partial class Net; } } }",
            "var n = new App.Outer.Middle.Net(); n.Forward(new float[4]);"
        },
        {
            "NestedInPartialStruct",
            "using NetGen; namespace App; public partial struct Holder { [Network][Input(2)][Dense(2), ReLU][Dense(2)] public partial class Net; }",
            "var n = new App.Holder.Net(); n.Forward(new float[2]);"
        },
        {
            "UnrelatedAttributeMixedIn",
            "using NetGen; namespace App; [Network][Input(2)][System.Obsolete(\"old\")][Dense(2), ReLU][System.Serializable][Dense(1)] public partial class Net;",
            "var n = new App.Net(); n.Forward(new float[2]); /* CS0618 (obsolete) is only a warning */"
        },
        {
            "InternalSealedWithExistingMembers",
            "using NetGen; namespace App; [Network][Input(2)][Dense(1), Sigmoid] internal sealed partial class Net { public string Describe() => Summary; }",
            "var n = new App.Net(); n.Forward(new float[2]); _ = n.Describe();"
        },
        {
            "ActivationFirstAndParameterFreeNetworks",
            "using NetGen; namespace App; [Network(Loss = LossFunction.MeanSquaredError)][Input(3)][Identity] public partial class Net; [Network][Input(3)][Softmax] public partial class Net2; [Network(Loss = LossFunction.MeanAbsoluteError)][Input(2)][Sigmoid][Dense(1, Bias = false)] public partial class Net3;",
            "new App.Net().Forward(new float[3]); new App.Net2().Forward(new float[3]); new App.Net3().Forward(new float[2]);"
        },
    };

    [Theory]
    [MemberData(nameof(ValidDeclarations))]
    public void ValidDeclarationCompilesWithoutErrors(string name, string source, string use)
    {
        var (result, output) = GeneratorHarness.Run(UserCode.ImplicitUsings, source, "public static class Use { public static void M() { " + use + " } }");
        UserCode.AssertGeneratorDidNotFail(result);
        Assert.NotEmpty(result.GeneratedTrees);
        var errors = UserCode.Errors(output);
        Assert.True(errors.Count == 0, $"{name}:\n" + string.Join("\n", errors));
    }

    [Fact]
    public void LayersSplitAcrossTwoPartialDeclarationsFollowFileOrder()
    {
        // The analyzers ask for layers on one declaration; the generator itself takes the attributes in file order.
        var (result, output) = GeneratorHarness.Run(
            UserCode.ImplicitUsings,
            "using NetGen; namespace App; [Network][Input(2)][Dense(3)] public partial class Net;",
            "using NetGen; namespace App; [ReLU][Dense(1)] public partial class Net;",
            "public static class Use { public static void M() { new App.Net().Forward(new float[2]); } }");

        UserCode.AssertGeneratorDidNotFail(result);
        Assert.Empty(UserCode.Errors(output));
        string code = GeneratorHarness.GeneratedSource(result, "Net");
        Assert.Contains("// Layer 0: Dense1 (2 → 3)", code);
        Assert.Contains("// Layer 1: ReLU over 3 values per sample", code);
        Assert.Contains("// Layer 2: Dense2 (3 → 1)", code);
    }

    [Fact]
    public void RandomDeclarationsNeverBreakTheGeneratedCode()
    {
        // A seeded sweep over layer sequences, good and bad: the generator never throws, and no error is ever inside
        // a generated file (an invalid declaration gets a stub that compiles; the analyzers report the problem).
        string[] layers =
        [
            "Dense(1)", "Dense(3)", "Dense(5)", "Dense(0)", "Dense(2, Bias = false)", "Dense(2, TrainBias = false)",
            "Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "LeakyReLU(0.3)", "Softmax", "Identity", "Input(2)",
        ];
        string[] inputs = ["Input(1)", "Input(3)", "Input(2, 3)", "Input(0)", "Input(70)"];
        string[] losses = ["HalfSquaredError", "MeanSquaredError", "CrossEntropy", "BinaryCrossEntropy", "MeanAbsoluteError"];
        int[] thresholds = [0, 1, 64, 1000];
        var random = new Random(20240611);
        var failures = new List<string>();
        for (int k = 0; k < 120; k++)
        {
            var attributes = new List<string>();
            if (random.Next(10) > 0) attributes.Add(inputs[random.Next(inputs.Length)]);
            int count = random.Next(0, 6);
            for (int i = 0; i < count; i++) attributes.Add(layers[random.Next(layers.Length)]);
            string network = $"[Network(Loss = LossFunction.{losses[random.Next(losses.Length)]}, Precision = Precision.{(random.Next(2) == 0 ? "Single" : "Double")}, UnrollThreshold = {thresholds[random.Next(thresholds.Length)]})]";
            string source = $"using NetGen; namespace Sweep; {network}{string.Concat(attributes.Select(a => "[" + a + "]"))} public partial class Net{k};";

            // Every other declaration as in a project that references NetGen.Gpu: the GPU variant must compile too.
            var (result, output) = GeneratorHarness.Run(gpu: k % 2 == 0, UserCode.ImplicitUsings, source);
            if (result.Results[0].Exception is { } e) { failures.Add($"{source}\n  threw {e}"); continue; }
            if (result.Diagnostics.Any(d => d.Id is "NG9999" or "CS8785")) { failures.Add($"{source}\n  {string.Join("; ", result.Diagnostics)}"); continue; }
            var errors = UserCode.Errors(output);
            var inGenerated = errors.Where(d => d.Location.SourceTree is { } t && UserCode.IsGenerated(t)).ToList();
            var broken = inGenerated;
            if (broken.Count > 0) failures.Add($"{source}\n  {string.Join("\n  ", broken.Take(3))}");
            else if (errors.Except(inGenerated).Any(d => d.Id != "CS0579"))   // CS0579: a second [Input] is a duplicate attribute
                failures.Add($"{source}\n  errors outside generated code: {string.Join("; ", errors.Except(inGenerated).Take(3))}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} declarations broke the generator:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void AnInvalidNetworksGpuClassIsAStubThatCompiles()
    {
        // With NetGen.Gpu referenced, code using Bad.Gpu compiles too; only the NG diagnostic (from the analyzers) remains.
        var (result, output) = GeneratorHarness.Run(gpu: true, UserCode.ImplicitUsings,
            "using NetGen; [Network][Input(1, 28, 28)][Dense(10), Softmax] public partial class Bad;",
            "public static class UsesGpu { public static void M(NetGen.Gpu.GpuDevice d) { using var n = new Bad.Gpu(d, 4); n.TrainStep(new float[784], new int[1], new NetGen.Sgd(0.1)); n.Loss(); } }");
        Assert.Null(result.Results[0].Exception);
        Assert.Empty(UserCode.Errors(output));
        Assert.Contains(result.GeneratedTrees, t => GeneratorHarness.IsFileOf(t.FilePath, "Bad", gpu: true));
    }

    // ---- Generator bugs found in review, kept as regression tests. -------------------------------------------------

    [Fact]
    public void GeneratedCodeCompilesWithoutImplicitUsings()
    {
        var (result, output) = GeneratorHarness.Run("using NetGen; namespace App; [Network][Input(2)][Dense(2), ReLU][Dense(1)] public partial class Net;");
        UserCode.AssertGeneratorDidNotFail(result);
        Assert.Empty(UserCode.Errors(output));
    }

    [Fact]
    public void KeywordNamesWithAtSignDoNotBreakTheGenerator()
    {
        var (result, output) = GeneratorHarness.Run(UserCode.ImplicitUsings,
            "using NetGen; namespace @class; [Network][Input(2)][Dense(1)] public partial class @event; public static class Use { public static void M() { new @event().Forward(new float[2]); } }");
        UserCode.AssertGeneratorDidNotFail(result);
        Assert.Empty(UserCode.Errors(output));
    }

    [Fact]
    public void SameNameUnderGenericAndNonGenericOuterTypesDoesNotCollide()
    {
        var (result, _) = GeneratorHarness.Run(UserCode.ImplicitUsings,
            "using NetGen; namespace N; public partial class Outer<T> { [Network][Input(2)][Dense(1)] public partial class Net; } public partial class Outer { [Network][Input(2)][Dense(1)] public partial class Net; }");
        UserCode.AssertGeneratorDidNotFail(result);
    }

    [Fact]
    public void NetworkAttributeOnTwoPartialDeclarationsDoesNotThrow()
    {
        var (result, output) = GeneratorHarness.Run(UserCode.ImplicitUsings,
            "using NetGen; [Network][Input(2)][Dense(1)] public partial class Net;", "using NetGen; [Network] public partial class Net;");
        UserCode.AssertGeneratorDidNotFail(result);
        Assert.All(UserCode.Errors(output), e => Assert.Equal("CS0579", e.Id));   // the duplicate attribute, nothing else
    }

    [Fact]
    public async Task NetworkOnARecordIsGeneratedOrReported()
    {
        var result = await AnalyzerHarness.RunAsync("using NetGen; [Network][Input(2)][Dense(1)] public partial record Net;");
        UserCode.AssertGeneratorDidNotFail(result.Generator);
        // A record cannot carry the generated Span members (its synthesized PrintMembers would box them): reported.
        Assert.Contains(result.NetGenErrors, e => e.Id == "NG0034");
        Assert.Empty(result.CompilerErrors);
    }
}

/// <summary>Helpers for compiling user code together with the generated code.</summary>
internal static class UserCode
{
    /// <summary>The global usings an SDK project gets from ImplicitUsings (the default for new projects).</summary>
    public const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    public static List<Diagnostic> Errors(Compilation output) =>
        output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();

    public static bool IsGenerated(SyntaxTree tree) => tree.FilePath.EndsWith(".g.cs", StringComparison.Ordinal);

    /// <summary>No exception escaped, and NetGen reported no internal error (NG9999) nor Roslyn a crashed generator (CS8785).</summary>
    public static void AssertGeneratorDidNotFail(GeneratorDriverRunResult result)
    {
        var run = Assert.Single(result.Results);
        Assert.Null(run.Exception);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "NG9999" or "CS8785");
    }
}
