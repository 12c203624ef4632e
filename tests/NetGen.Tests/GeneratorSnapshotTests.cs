using Microsoft.CodeAnalysis;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests;

/// <summary>
/// The generated code of reference networks, compared with approved files in Snapshots/. A change to the emitters shows
/// up as a reviewable diff: on a mismatch the test writes Snapshots/{name}.received.cs; if the change is intended, run
/// the tests with NETGEN_APPROVE=1 and commit the approved files.
/// </summary>
public class GeneratorSnapshotTests
{
    // The declarations are spelled out here, not taken from Networks/, so each snapshot is self-contained.

    private const string WorkedExample = """
        using NetGen;

        namespace Lecture;

        /// <summary>The lecture's worked backprop example: 2-2-2, sigmoid, E = Σ ½(t − o)², biases held.</summary>
        [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
        [Input(2)]
        [Dense(2, TrainBias = false), Sigmoid]
        [Dense(2, TrainBias = false), Sigmoid]
        public partial class WorkedExample;
        """;

    private const string CharGru = """
        using NetGen;

        namespace Module5;

        /// <summary>A small character model: Embedding → bidirectional GRU over every step → Dense at every step → Softmax.</summary>
        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(6)]
        [Embedding(10, 4)]
        [GRU(5, ReturnSequences = true, Bidirectional = true)]
        [Dense(10), Softmax]
        public partial class CharGru;
        """;

    private const string Perceptron = """
        using NetGen;

        namespace Lecture;

        [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
        [Input(2)]
        [Dense(1), Step]
        public partial class Perceptron;
        """;

    private const string Xor = """
        using NetGen;

        namespace Lecture;

        [Network(Loss = LossFunction.BinaryCrossEntropy, Precision = Precision.Double)]
        [Input(2)]
        [Dense(4), Tanh]
        [Dense(1), Sigmoid]
        public partial class XorNet;
        """;

    // 64·32 = 2048 and 32·10 = 320 multiply-adds: both above the default UnrollThreshold (64), so vectorised loops.
    private const string Digits = """
        using NetGen;

        namespace Digits;

        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(64)]
        [Dense(32), ReLU]
        [Dense(10), Softmax]
        public partial class DigitsMlp;
        """;

    private const string Nested = """
        using NetGen;

        namespace Company.Models
        {
            public static partial class Zoo
            {
                internal partial class Inner
                {
                    [Network(Loss = LossFunction.MeanSquaredError)]
                    [Input(3)]
                    [Dense(2), LeakyReLU(0.2)]
                    [Dense(1), Identity]
                    public partial class Regressor;
                }
            }
        }
        """;

    private const string Invalid = """
        using NetGen;

        namespace Broken;

        [Network]
        [Dense(4), ReLU]
        [Dense(2), Softmax]
        public partial class NoInput;
        """;

    // The course's CNN architectures (Module 3), on 28×28 digits.
    private const string ShallowNet = """
        using NetGen;

        namespace Cnn;

        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU]
        [Flatten]
        [Dense(10), Softmax]
        public partial class ShallowNet;
        """;

    private const string LeNet = """
        using NetGen;

        namespace Cnn;

        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
        [Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
        [Flatten]
        [Dense(120), ReLU]
        [Dense(84), ReLU]
        [Dense(10), Softmax]
        public partial class LeNet;
        """;

    private const string MiniVggNet = """
        using NetGen;

        namespace Cnn;

        [Network(Loss = LossFunction.CrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [Conv2D(32, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [MaxPool(2), Dropout(0.25)]
        [Conv2D(64, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [Conv2D(64, Kernel = 3, Padding = Padding.Same), ReLU, BatchNorm]
        [MaxPool(2), Dropout(0.25)]
        [Flatten]
        [Dense(512), ReLU, BatchNorm, Dropout(0.5)]
        [Dense(10), Softmax]
        public partial class MiniVggNet;
        """;

    // Module 6's DCGAN generator, small: Conv2DTranspose with K = 4 (window rows by 128-bit vectors), both backward
    // column layouts (dcolᵀ[p, j] for the 8-filter layer, J = 128 ≥ P = 16; dcol[j, p] for the 1-filter one, J = 16 <
    // P = 64), and K = 3 (the scalar border loop only), first layer at index 0 (∂E/∂input only when asked).
    private const string TinyDcgan = """
        using NetGen;

        namespace Generative;

        [Network(Loss = LossFunction.BinaryCrossEntropy)]
        [Input(2, 4, 4)]
        [Conv2DTranspose(4, Kernel = 3, Padding = 1), ReLU]
        [Conv2DTranspose(8, Kernel = 4, Stride = 2, Padding = 1), BatchNorm, ReLU]
        [Conv2DTranspose(1, Kernel = 4, Stride = 2, Padding = 1), Sigmoid]
        public partial class TinyDcgan;
        """;

    public static TheoryData<string, string, string> Networks => new()
    {
        { "ShallowNet", ShallowNet, "ShallowNet" },
        { "LeNet", LeNet, "LeNet" },
        { "MiniVggNet", MiniVggNet, "MiniVggNet" },
        { "WorkedExample", WorkedExample, "WorkedExample" },
        { "Perceptron", Perceptron, "Perceptron" },
        { "XorNet", Xor, "XorNet" },
        { "DigitsMlp", Digits, "DigitsMlp" },
        { "NestedRegressor", Nested, "Regressor" },
        { "InvalidNoInput", Invalid, "NoInput" },
        { "TinyDcgan", TinyDcgan, "TinyDcgan" },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void GeneratedCodeMatchesSnapshot(string snapshot, string source, string className)
    {
        var (result, _) = GeneratorHarness.Run(source);
        Assert.Null(result.Results[0].Exception);
        Assert.Single(result.GeneratedTrees);
        Snapshot.Match(GeneratorHarness.GeneratedSource(result, className), snapshot);
    }

    /// <summary>The GPU variants (emitted when the project references NetGen.Gpu): an unrolled, a vectorised and a CNN
    /// network, plus MiniVGGNet for batch-norm and dropout, and a sequence network (Embedding, a bidirectional GRU over
    /// every step, a Dense and Softmax at every step, the per-step loss).</summary>
    public static TheoryData<string, string, string> GpuNetworks => new()
    {
        { "WorkedExample.Gpu", WorkedExample, "WorkedExample" },
        { "DigitsMlp.Gpu", Digits, "DigitsMlp" },
        { "LeNet.Gpu", LeNet, "LeNet" },
        { "MiniVggNet.Gpu", MiniVggNet, "MiniVggNet" },
        { "CharGru.Gpu", CharGru, "CharGru" },
    };

    [Theory]
    [MemberData(nameof(GpuNetworks))]
    public void GeneratedGpuCodeMatchesSnapshot(string snapshot, string source, string className)
    {
        var (result, output) = GeneratorHarness.Run(gpu: true, UserCode.ImplicitUsings, source);
        Assert.Null(result.Results[0].Exception);
        Assert.Equal(2, result.GeneratedTrees.Length);
        // CS1701/CS1702 (ILGPU is built against an older System.Runtime) are off in every SDK project by default.
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Id is not ("CS1701" or "CS1702")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var tree = Assert.Single(result.GeneratedTrees, t => GeneratorHarness.IsFileOf(t.FilePath, className, gpu: true));
        Snapshot.Match(tree.GetText().ToString(), snapshot);
    }

    /// <summary>No kernel reads a vector's lane with a variable index: <c>GetElement(l)</c> stores the vector on the stack and
    /// loads the lane back, and where the thread's stack puts that store across a cache line the load waits for it. The
    /// Conv2D ∂E/∂col tail block did this (docs/performance.md, "Tail lanes through the stack"): LeNet's backward sample
    /// chunks took 110–120 µs or 155–180 µs on the same machine depending only on the worker thread's stack address.
    /// The blocks read lanes with a permute in registers (Lane, Lane512) instead.</summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void NoKernelReadsALaneThroughTheStack(string snapshot, string source, string className)
    {
        if (snapshot == "InvalidNoInput") return;   // a stub: no kernels
        var (result, _) = GeneratorHarness.Run(source);
        string code = GeneratorHarness.GeneratedSource(result, className);
        var variableIndex = System.Text.RegularExpressions.Regex.Matches(code, @"\.GetElement\((?![0-9]+\))[^)]*\)");
        Assert.True(variableIndex.Count == 0, string.Join("\n", variableIndex.Select(m => m.Value).Distinct()));
    }

    [Theory]
    [InlineData(WorkedExample)]
    [InlineData(Perceptron)]
    [InlineData(Xor)]
    [InlineData(Digits)]
    [InlineData(Nested)]
    [InlineData(ShallowNet)]
    [InlineData(LeNet)]
    [InlineData(MiniVggNet)]
    [InlineData(TinyDcgan)]
    public void ValidSnapshotsCompileWithoutDiagnostics(string source)
    {
        // With the SDK's implicit usings, as in a default project (see GeneratorRobustnessTests for the bug without them).
        var (result, output) = GeneratorHarness.Run(UserCode.ImplicitUsings, source);
        Assert.Empty(result.Diagnostics);
        // Warnings count too: users build with TreatWarningsAsErrors, and generated code must not make them fix it.
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task InvalidSnapshotFailsOnlyWithTheNetGenMessage()
    {
        // The stub compiles; the one error is the analyzers' NG0001, on the declaration.
        var result = await Analyzers.AnalyzerHarness.RunAsync(Invalid);
        Assert.Empty(result.CompilerErrors);
        var error = Assert.Single(result.NetGenErrors);
        Assert.Equal("NG0001", error.Id);
    }

    [Fact]
    public void WorkedExampleIsUnrolledWithTheLecturesNames()
    {
        var (result, _) = GeneratorHarness.Run(WorkedExample);
        string code = GeneratorHarness.GeneratedSource(result, "WorkedExample");
        Assert.Contains("// net_h1 = w1·i1 + w2·i2 + b_h1·1", code);
        Assert.Contains("public void Explain(", code);
        Assert.DoesNotContain("TensorPrimitives.Dot", code);
    }

    [Fact]
    public void DigitsIsVectorisedAboveTheUnrollThreshold()
    {
        var (result, _) = GeneratorHarness.Run(Digits);
        string code = GeneratorHarness.GeneratedSource(result, "DigitsMlp");
        Assert.Contains("private static void Dense1Forward(", code);   // a register-blocked kernel, not one statement per neuron
        Assert.Contains("Vector256.FusedMultiplyAdd", code);
        Assert.DoesNotContain("public void Explain(", code);
    }
}
