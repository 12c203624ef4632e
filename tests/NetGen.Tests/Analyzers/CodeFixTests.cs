namespace NetGen.Tests.Analyzers;

/// <summary>
/// Every code fix, before → after, through an AdhocWorkspace as an IDE applies it; the fixed code then compiles with the
/// generator and analyzers without any error, the diagnostic is gone, and the network runs (Forward gives finite values).
/// </summary>
public class CodeFixTests
{
    private const string U = "using NetGen;\n";

    /// <summary>name → (sources before, the diagnostic, the fix's title, sources after).</summary>
    private static readonly Dictionary<string, (string[] Before, string Id, string Title, string[] After)> Cases = new()
    {
        ["insert Flatten (own line)"] = (
            [U + "[Network]\n[Input(1, 4, 4)]\n[Dense(3), Softmax]\npublic partial class Net;"], "NG0010", "Insert [Flatten] before [Dense]",
            [U + "[Network]\n[Input(1, 4, 4)]\n[Flatten]\n[Dense(3), Softmax]\npublic partial class Net;"]),
        ["set ReturnSequences on the earlier recurrent layer"] = (
            [U + "[Network][Input(5, 3)][LSTM(8)][GRU(4)][Dense(2), Softmax] public partial class Net;"], "NG0051", "Set ReturnSequences = true on [LSTM]",
            [U + "[Network][Input(5, 3)][LSTM(8, ReturnSequences = true)][GRU(4)][Dense(2), Softmax] public partial class Net;"]),
        ["recurrent over the input vector → declare a sequence input"] = (
            [U + "[Network][Input(784)][LSTM(8)][Dense(10), Softmax] public partial class Net;"], "NG0050", "Declare [Input(28, 28)] (28 steps of 28)",
            [U + "[Network][Input(28, 28)][LSTM(8)][Dense(10), Softmax] public partial class Net;"]),
        ["recurrent over the input vector → one feature per step"] = (
            [U + "[Network][Input(12)][GRU(4)][Dense(2), Softmax] public partial class Net;"], "NG0050", "Declare [Input(12, 1)] (12 steps of 1)",
            [U + "[Network][Input(12, 1)][GRU(4)][Dense(2), Softmax] public partial class Net;"]),
        ["recurrent over an image input → rows as steps"] = (
            [U + "[Network]\n[Input(2, 6, 5)]\n[SimpleRNN(4)]\n[Dense(2), Softmax]\npublic partial class Net;"], "NG0050", "Declare [Input(6, 10)] (6 steps of 10)",
            [U + "[Network]\n[Input(6, 10)]\n[SimpleRNN(4)]\n[Dense(2), Softmax]\npublic partial class Net;"]),
        ["recurrent after a dense layer → reshape"] = (
            [U + "[Network][Input(10)][Dense(12)][LSTM(4)][Dense(2), Softmax] public partial class Net;"], "NG0050", "Insert [Reshape(4, 3)] before [LSTM] (4 steps of 3)",
            [U + "[Network][Input(10)][Dense(12)][Reshape(4, 3)][LSTM(4)][Dense(2), Softmax] public partial class Net;"]),
        ["embedding after dense → moved first"] = (
            [U + "[Network][Input(6)][Dense(4)][Embedding(10, 3)][LSTM(4)][Dense(2), Softmax] public partial class Net;"], "NG0052", "Move [Embedding(10, 3)] right after [Input(6)]",
            [U + "[Network][Input(6), Embedding(10, 3)][Dense(4)][LSTM(4)][Dense(2), Softmax] public partial class Net;"]),
        ["embedding over features → ids input"] = (
            [U + "[Network][Input(20, 4)][Embedding(30, 8)][LSTM(4)][Dense(2), Softmax] public partial class Net;"], "NG0052", "Declare [Input(20)] (20 token ids)",
            [U + "[Network][Input(20)][Embedding(30, 8)][LSTM(4)][Dense(2), Softmax] public partial class Net;"]),
        ["per-step softmax over one value → sigmoid + BCE"] = (
            [U + "[Network][Input(5, 3)][LSTM(4, ReturnSequences = true)][Dense(1), Softmax] public partial class Net;"], "NG0056", "Replace [Softmax] with [Sigmoid] and use Loss = LossFunction.BinaryCrossEntropy",
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(5, 3)][LSTM(4, ReturnSequences = true)][Dense(1), Sigmoid] public partial class Net;"]),
        ["per-step cross-entropy over one value → regression"] = (
            [U + "[Network][Input(5, 3)][GRU(4, ReturnSequences = true)][Dense(1)] public partial class Net;"], "NG0056", "Use Loss = LossFunction.MeanSquaredError (a number per step)",
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(5, 3)][GRU(4, ReturnSequences = true)][Dense(1)] public partial class Net;"]),
        ["per-step cross-entropy over one value → sigmoid + BCE"] = (
            [U + "[Network][Input(5, 3)][GRU(4, ReturnSequences = true)][Dense(1)] public partial class Net;"], "NG0056", "Add [Sigmoid] after [Dense] and use Loss = LossFunction.BinaryCrossEntropy",
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(5, 3)][GRU(4, ReturnSequences = true)][Dense(1), Sigmoid] public partial class Net;"]),
        ["insert Flatten (inside a list)"] = (
            [U + "[Network][Input(1, 6, 6)][Conv2D(2), ReLU, Dense(3), Softmax] public partial class Net;"], "NG0010", "Insert [Flatten] before [Dense]",
            [U + "[Network][Input(1, 6, 6)][Conv2D(2), ReLU, Flatten, Dense(3), Softmax] public partial class Net;"]),
        ["padding that keeps nothing: stride 1"] = (
            [U + "[Network][Input(3, 224, 224)][Conv2D(2, Kernel = 5, Stride = 2)][MaxPool(4)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", "Set Stride = 1 (output 220×220)",
            [U + "[Network][Input(3, 224, 224)][Conv2D(2, Kernel = 5, Stride = 1)][MaxPool(4)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["kernel 4 when no padding works"] = (
            [U + "[Network][Input(1, 12, 12)][Conv2D(2, Kernel = 5, Stride = 2)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", "Set Kernel = 6, Padding = 0 (output 4×4)",
            [U + "[Network][Input(1, 12, 12)][Conv2D(2, Kernel = 6, Stride = 2, Padding = 0)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["padding labelled with its output"] = (
            [U + "[Network][Input(1, 7, 7)][Conv2D(2, Kernel = 3, Stride = 3)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", "Set Padding = 1 (output 3×3)",
            [U + "[Network][Input(1, 7, 7)][Conv2D(2, Kernel = 3, Stride = 3, Padding = 1)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["padding replaced"] = (
            [U + "[Network][Input(1, 7, 7)][Conv2D(2, Kernel = 3, Stride = 3, Padding = 2)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", "Set Padding = Padding.Same (output 3×3)",
            [U + "[Network][Input(1, 7, 7)][Conv2D(2, Kernel = 3, Stride = 3, Padding = Padding.Same)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["round down"] = (
            [U + "[Network][Input(1, 5, 5)][MaxPool(2)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", "Set RoundDown = true (output 2×2, the border dropped as PyTorch does)",
            [U + "[Network][Input(1, 5, 5)][MaxPool(2, RoundDown = true)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["pool stride"] = (
            [U + "[Network][Input(1, 5, 5)][MaxPool(3, Stride = 3)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", "Set Stride = 2 (output 2×2)",
            [U + "[Network][Input(1, 5, 5)][MaxPool(3, Stride = 2)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["kernel larger than the input → padding"] = (
            [U + "[Network][Input(1, 4, 4)][Conv2D(2, Kernel = 5)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0012", "Set Padding = 1 (output 2×2)",
            [U + "[Network][Input(1, 4, 4)][Conv2D(2, Kernel = 5, Padding = 1)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["same that cannot be split → a number"] = (
            [U + "[Network][Input(1, 8, 8)][Conv2D(2, Kernel = 2, Padding = Padding.Same)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0013", "Set Padding = 1 (output 9×9)",
            [U + "[Network][Input(1, 8, 8)][Conv2D(2, Kernel = 2, Padding = 1)][Flatten][Dense(3), Softmax] public partial class Net;"]),
        ["softmax not last → ReLU"] = (
            [U + "[Network][Input(4)][Dense(3), Softmax][Dense(2), Softmax] public partial class Net;"], "NG0020", "Replace [Softmax] with [ReLU]",
            [U + "[Network][Input(4)][Dense(3), ReLU][Dense(2), Softmax] public partial class Net;"]),
        ["two activations → remove"] = (
            [U + "[Network][Input(4)][Dense(3), ReLU, Sigmoid][Dense(2), Softmax] public partial class Net;"], "NG0021", "Remove [Sigmoid]",
            [U + "[Network][Input(4)][Dense(3), ReLU][Dense(2), Softmax] public partial class Net;"]),
        ["activation first → remove its line"] = (
            [U + "[Network]\n[Input(4)]\n[Tanh]\n[Dense(2), Softmax]\npublic partial class Net;"], "NG0022", "Remove [Tanh]",
            [U + "[Network]\n[Input(4)]\n[Dense(2), Softmax]\npublic partial class Net;"]),
        ["cross-entropy → add softmax"] = (
            [U + "[Network][Input(4)][Dense(4), ReLU][Dense(3)] public partial class Net;"], "NG0023", "Add [Softmax] after [Dense]",
            [U + "[Network][Input(4)][Dense(4), ReLU][Dense(3), Softmax] public partial class Net;"]),
        ["detection head channels → a 1×1 head"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0072", "Add [Conv2D(30, Kernel = 1)] after [Conv2D]",
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1), Conv2D(30, Kernel = 1)] public partial class Net;"]),
        ["detection head channels → boxes per cell"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0072", "Set BoxesPerCell = 1 (15 = 1·(5 + 10))",
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"]),
        ["detection grid → the map's"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10, Grid = 4)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0073", "Set Grid = 8",
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10, Grid = 8)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"]),
        ["detection grid → pool"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10, Grid = 4)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0073", "Add [MaxPool(2)] before [Conv2D]",
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10, Grid = 4)][Input(1, 8, 8)][MaxPool(2)][Conv2D(15, Kernel = 1)] public partial class Net;"]),
        ["detection head activation → remove"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1), Sigmoid] public partial class Net;"], "NG0074", "Remove [Sigmoid]",
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"]),
        ["softmax with MSE → cross-entropy"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(3), Softmax] public partial class Net;"], "NG0024", "Use Loss = LossFunction.CrossEntropy",
            [U + "[Network(Loss = LossFunction.CrossEntropy)][Input(4)][Dense(3), Softmax] public partial class Net;"]),
        ["softmax with MSE → remove softmax"] = (
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(3), Softmax] public partial class Net;"], "NG0024", "Remove [Softmax]",
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(3)] public partial class Net;"]),
        ["BCE → sigmoid replaces ReLU"] = (
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1), ReLU] public partial class Net;"], "NG0025", "Replace [ReLU] with [Sigmoid]",
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1), Sigmoid] public partial class Net;"]),
        ["BCE → sigmoid added"] = (
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1)] public partial class Net;"], "NG0025", "Add [Sigmoid] after [Dense]",
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1), Sigmoid] public partial class Net;"]),
        ["softmax over one unit → sigmoid + BCE"] = (
            [U + "[Network][Input(4)][Dense(1), Softmax] public partial class Net;"], "NG0026", "Replace [Softmax] with [Sigmoid] and use Loss = LossFunction.BinaryCrossEntropy",
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1), Sigmoid] public partial class Net;"]),
        ["cross-entropy over one output → regression"] = (
            [U + "[Network()][Input(4)][Dense(1)] public partial class Net;"], "NG0026", "Use Loss = LossFunction.MeanSquaredError (regression)",
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(1)] public partial class Net;"]),
        ["cross-entropy after sigmoid → softmax"] = (
            [U + "[Network(Loss = LossFunction.CrossEntropy)][Input(4)][Dense(3), Sigmoid] public partial class Net;"], "NG0027", "Replace [Sigmoid] with [Softmax]",
            [U + "[Network(Loss = LossFunction.CrossEntropy)][Input(4)][Dense(3), Softmax] public partial class Net;"]),
        ["make partial"] = (
            [U + "[Network][Input(2)][Dense(2), Softmax] public sealed class Net { public int Extra => 1; }"], "NG0030", "Make the class partial",
            [U + "[Network][Input(2)][Dense(2), Softmax] public sealed partial class Net { public int Extra => 1; }"]),
        ["make the enclosing types partial"] = (
            [U + "namespace App { public class Outer { internal class Middle { [Network][Input(2)][Dense(2), Softmax] public partial class Net; } } }"], "NG0030", "Make the class partial",
            [U + "namespace App { public partial class Outer { internal partial class Middle { [Network][Input(2)][Dense(2), Softmax] public partial class Net; } } }"]),
        ["move layers to the [Network] declaration"] = (
            [U + "[Network]\n[Input(2)]\n[Dense(3)]\npublic partial class Net;", U + "[ReLU]\n[Dense(2), Softmax]\npublic partial class Net { public int Extra => 1; }"],
            "NG0035", "Move the layer attributes to the declaration with [Network]",
            [U + "[Network]\n[Input(2)]\n[Dense(3)]\n[ReLU]\n[Dense(2), Softmax]\npublic partial class Net;", U + "public partial class Net { public int Extra => 1; }"]),
        ["move layers that come first in file order"] = (
            [U + "[Input(2)][System.Obsolete(\"x\"), Dense(3)] public partial class Net;", U + "[Network]\n[ReLU]\n[Dense(2), Softmax]\npublic partial class Net;"],
            "NG0035", "Move the layer attributes to the declaration with [Network]",
            [U + "[System.Obsolete(\"x\")] public partial class Net;", U + "[Network]\n[Input(2)]\n[Dense(3)]\n[ReLU]\n[Dense(2), Softmax]\npublic partial class Net;"]),
        ["add [Network]"] = (
            [U + "namespace App;\n\n[Input(2)]\n[Dense(2), Softmax]\npublic partial class Net;"], "NG0036", "Add [Network]",
            [U + "namespace App;\n\n[Network]\n[Input(2)]\n[Dense(2), Softmax]\npublic partial class Net;"]),
    };

    public static TheoryData<string> Names => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public async Task FixProducesTheExpectedCodeWhichCompilesAndRuns(string name)
    {
        var (before, id, title, after) = Cases[name];
        var (_, fixedSources) = await AnalyzerHarness.FixAsync(before, id, title);
        Assert.Equal(after.Select(Normalize), fixedSources.Select(Normalize));

        var assembly = await AnalyzerHarness.CompileCleanAsync(fixedSources);
        var result = await AnalyzerHarness.RunAsync(fixedSources);
        // The fixed diagnostic is gone (NG0035's move leaves one declaration with layers; NG0030 the partial class).
        Assert.DoesNotContain(result.NetGen, d => d.Id == id);
        string type = fixedSources.Any(s => s.Contains("namespace App")) ? (fixedSources[0].Contains("Outer") ? "App.Outer+Middle+Net" : "App.Net") : "Net";
        AnalyzerHarness.AssertForwardIsFinite(assembly, type);
    }

    [Fact]
    public void EveryFixableDiagnosticWithFixesHasACase()
    {
        var tested = Cases.Values.Select(c => c.Id).ToHashSet();
        var claimed = new NetGen.CodeFixes.NetworkCodeFixProvider().FixableDiagnosticIds;
        var untested = claimed.Where(id => !tested.Contains(id)).ToList();
        Assert.True(untested.Count == 0, "No fix case for " + string.Join(", ", untested));
    }

    [Fact]
    public async Task NotTilingOffersEveryPaddingStrideAndRoundDownWithTheirOutputs()
    {
        var (titles, _) = await AnalyzerHarness.FixAsync(
            [U + "[Network][Input(1, 7, 7)][Conv2D(2, Kernel = 3, Stride = 3)][Flatten][Dense(3), Softmax] public partial class Net;"], "NG0014", null);
        Assert.Equal(
        [
            "Set Padding = 1 (output 3×3)",
            "Set Padding = Padding.Same (output 3×3)",
            "Set Stride = 2 (output 3×3)",
            "Set Stride = 1 (output 5×5)",
            "Set RoundDown = true (output 2×2, the border dropped as PyTorch does)",
        ], titles);
    }

    private static string Normalize(string s) => s.Replace("\r\n", "\n");
}
