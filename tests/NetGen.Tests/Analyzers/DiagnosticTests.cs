using Microsoft.CodeAnalysis;
using NetGen.Analyzers;
using NetGen.Generators;

namespace NetGen.Tests.Analyzers;

/// <summary>
/// Every NetGen diagnostic: a declaration that reports it at the exact span (the offending argument when there is one),
/// and a near miss — the smallest change that makes it go away — that does not.
/// </summary>
public class DiagnosticTests
{
    private const string U = "using NetGen;\n";

    /// <summary>name → (failing markup sources, near-miss sources, the ID the near miss must not report).</summary>
    private static readonly Dictionary<string, (string[] Failing, string[] NearMiss, string Id)> Cases = new()
    {
        ["NG0001 no input"] = ([U + "[Network][Dense(2), Softmax] public partial class {|NG0001:Net|};"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0001"),
        ["NG0002 repeated input"] = ([U + "[Network][Input(2)][{|NG0002:Input(3)|}][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0002"),
        ["NG0003 input not first"] = ([U + "[Network][Dense(2)][{|NG0003:Input(2)|}] public partial class Net;"],
            [U + "[Network][Input(2)][Dense(2)] public partial class Net;"], "NG0003"),
        ["NG0004 negative input dimension"] = ([U + "[Network][Input(1, {|NG0004:-28|}, 28)][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 28, 28)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0004"),
        ["NG0004 zero units"] = ([U + "[Network][Input(2)][Dense({|NG0004:0|})] public partial class Net;"],
            [U + "[Network][Input(2)][Dense(1)] public partial class Net;"], "NG0004"),
        ["NG0004 absurd units"] = ([U + "[Network][Input(2)][Dense({|NG0004:units: int.MaxValue|})] public partial class Net;"],
            [U + "[Network][Input(2)][Dense(units: 1000)] public partial class Net;"], "NG0004"),
        ["NG0004 zero stride"] = ([U + "[Network][Input(1, 8, 8)][Conv2D(2, {|NG0004:Stride = 0|})] public partial class Net;"],
            [U + "[Network][Input(1, 8, 8)][Conv2D(2, Stride = 1)] public partial class Net;"], "NG0004"),
        ["NG0004 dropout rate"] = ([U + "[Network][Input(4)][Dense(4), ReLU][Dropout({|NG0004:1.5|})][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(4), ReLU][Dropout(0.5)][Dense(2), Softmax] public partial class Net;"], "NG0004"),
        ["NG0005 unroll threshold"] = ([U + "[Network({|NG0005:UnrollThreshold = -1|})][Input(2)][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network(UnrollThreshold = 0)][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0005"),
        ["NG0005 NaN slope"] = ([U + "[Network][Input(2)][Dense(2), LeakyReLU({|NG0005:double.NaN|})][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(2)][Dense(2), LeakyReLU(0.1)][Dense(2), Softmax] public partial class Net;"], "NG0005"),
        ["NG0005 unknown layer attribute"] = ([U + "[Network][Input(2)][{|NG0005:My|}][Dense(2), Softmax] public partial class Net; public sealed class MyAttribute : LayerAttribute;"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net; public sealed class MyAttribute : LayerAttribute;"], "NG0005"),
        ["NG0005 undefined loss"] = ([U + "[Network({|NG0005:Loss = (LossFunction)42|})][Input(2)][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.CrossEntropy)][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0005"),
        ["NG0006 no layers"] = ([U + "[Network][Input(2)] public partial class {|NG0006:Net|};"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0006"),
        ["NG0010 dense without flatten"] = ([U + "[Network][Input(1, 4, 4)][{|NG0010:Dense(10)|}, Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 4, 4)][Flatten][Dense(10), Softmax] public partial class Net;"], "NG0010"),
        ["NG0011 conv over a vector"] = ([U + "[Network][Input(16)][{|NG0011:Conv2D(4)|}][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 4, 4)][Conv2D(4)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0011"),
        ["NG0012 kernel larger than input"] = ([U + "[Network][Input(1, 4, 4)][Conv2D(2, {|NG0012:Kernel = 5|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 4, 4)][Conv2D(2, Kernel = 5, Padding = 1)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0012"),
        ["NG0013 same with an even kernel"] = ([U + "[Network][Input(1, 8, 8)][Conv2D(2, Kernel = 2, {|NG0013:Padding = Padding.Same|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 8, 8)][Conv2D(2, Kernel = 3, Padding = Padding.Same)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0013"),
        ["NG0014 conv does not tile"] = ([U + "[Network][Input(3, 224, 224)][Conv2D(16, Kernel = 5, {|NG0014:Stride = 2|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(3, 224, 224)][Conv2D(16, Kernel = 5, Stride = 1)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0014"),
        ["NG0014 pool does not tile"] = ([U + "[Network][Input(1, 5, 5)][MaxPool({|NG0014:2|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 4, 4)][MaxPool(2)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0014"),
        ["NG0014 one axis of a rectangle"] = ([U + "[Network][Input(1, 8, 9)][Conv2D(2, Kernel = 2, {|NG0014:Stride = 2|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 8, 9)][Conv2D(2, Kernel = 2, Stride = 2, RoundDown = true)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0014"),
        ["NG0015 padding not smaller than kernel"] = ([U + "[Network][Input(1, 5, 5)][Conv2D(1, Kernel = 3, Stride = 2, {|NG0015:Padding = 3|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 5, 5)][Conv2D(1, Kernel = 3, Stride = 2, Padding = 2)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0015"),
        ["NG0016 stride larger than window"] = ([U + "[Network][Input(1, 8, 8)][Conv2D(1, Kernel = 2, {|NG0016:Stride = 3|})][Flatten][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(1, 8, 8)][Conv2D(1, Kernel = 2, Stride = 2)][Flatten][Dense(2), Softmax] public partial class Net;"], "NG0016"),
        ["NG0020 softmax not last"] = ([U + "[Network][Input(4)][Dense(3), {|NG0020:Softmax|}][Dense(2)] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(3), ReLU][Dense(2), Softmax] public partial class Net;"], "NG0020"),
        ["NG0021 two activations"] = ([U + "[Network][Input(4)][Dense(3), ReLU, {|NG0021:Sigmoid|}][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(3), ReLU][Dense(3), Sigmoid][Dense(2), Softmax] public partial class Net;"], "NG0021"),
        ["NG0022 activation first"] = ([U + "[Network][Input(4)][{|NG0022:Sigmoid|}][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(4), Sigmoid][Dense(2), Softmax] public partial class Net;"], "NG0022"),
        ["NG0023 cross-entropy on logits"] = ([U + "[Network][Input(4)][Dense(4), ReLU][{|NG0023:Dense(3)|}] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(4), ReLU][Dense(3), Softmax] public partial class Net;"], "NG0023"),
        ["NG0024 softmax with squared error"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(3), {|NG0024:Softmax|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.CrossEntropy)][Input(4)][Dense(3), Softmax] public partial class Net;"], "NG0024"),
        ["NG0025 binary cross-entropy without sigmoid"] = ([U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1), {|NG0025:ReLU|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.BinaryCrossEntropy)][Input(4)][Dense(1), Sigmoid] public partial class Net;"], "NG0025"),
        ["NG0026 softmax over one unit"] = ([U + "[Network][Input(4)][Dense(1), {|NG0026:Softmax|}] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(2), Softmax] public partial class Net;"], "NG0026"),
        ["NG0026 cross-entropy over one output"] = ([U + "[Network][Input(4)][{|NG0026:Dense(1)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(1)] public partial class Net;"], "NG0026"),
        ["NG0027 cross-entropy after sigmoid"] = ([U + "[Network][Input(4)][Dense(3), {|NG0027:Sigmoid|}] public partial class Net;"],
            [U + "[Network][Input(4)][Dense(3), Softmax] public partial class Net;"], "NG0027"),
        ["NG0030 not partial"] = ([U + "[Network][Input(2)][Dense(2), Softmax] public class {|NG0030:Net|};"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0030"),
        ["NG0030 outer not partial"] = ([U + "public class {|NG0030:Outer|} { [Network][Input(2)][Dense(2), Softmax] public partial class Net; }"],
            [U + "public partial class Outer { [Network][Input(2)][Dense(2), Softmax] public partial class Net; }"], "NG0030"),
        ["NG0031 static"] = ([U + "[Network][Input(2)][Dense(2), Softmax] public static partial class {|NG0031:Net|};"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0031"),
        ["NG0032 generic"] = ([U + "[Network][Input(2)][Dense(2), Softmax] public partial class {|NG0032:Net|}<T>;"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0032"),
        ["NG0033 nested in generic"] = ([U + "public partial class {|NG0033:Outer|}<T> { [Network][Input(2)][Dense(2), Softmax] public partial class Net; }"],
            [U + "public partial class Outer { [Network][Input(2)][Dense(2), Softmax] public partial class Net; }"], "NG0033"),
        ["NG0034 record"] = ([U + "[Network][Input(2)][Dense(2), Softmax] public partial record {|NG0034:Net|};"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net;"], "NG0034"),
        ["NG0035 layers on two declarations"] = (
            [U + "[Network][Input(2)][Dense(3)] public partial class Net;", U + "[{|NG0035:ReLU|}][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(2)][Dense(3)][ReLU][Dense(2), Softmax] public partial class Net;", U + "[System.Obsolete] public partial class Net;"], "NG0035"),
        ["NG0037 member named like a generated one"] = ([U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net { public int {|NG0037:Forward|}; }"],
            [U + "[Network][Input(2)][Dense(2), Softmax] public partial class Net { public int ForwardCount; }"], "NG0037"),
        ["NG0037 file-local class"] = ([U + "[Network][Input(2)][Dense(2), Softmax] file partial class {|NG0037:Net|};"],
            [U + "[Network][Input(2)][Dense(2), Softmax] internal partial class Net;"], "NG0037"),
        ["NG0050 recurrent over a vector"] = ([U + "[Network][Input(784)][{|NG0050:LSTM(8)|}][Dense(10), Softmax] public partial class Net;"],
            [U + "[Network][Input(28, 28)][LSTM(8)][Dense(10), Softmax] public partial class Net;"], "NG0050"),
        ["NG0051 stacked without sequences"] = ([U + "[Network][Input(5, 3)][{|NG0051:LSTM(8)|}][GRU(4)][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(5, 3)][LSTM(8, ReturnSequences = true)][GRU(4)][Dense(2), Softmax] public partial class Net;"], "NG0051"),
        ["NG0052 embedding not first"] = ([U + "[Network][Input(6)][Dense(4)][{|NG0052:Embedding(10, 3)|}][LSTM(4)][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(6)][Embedding(10, 3)][LSTM(4)][Dense(2), Softmax] public partial class Net;"], "NG0052"),
        ["NG0050 recurrent after a dense layer"] = ([U + "[Network][Input(10)][Dense(12)][{|NG0050:LSTM(4)|}][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(10)][Dense(12)][Reshape(4, 3)][LSTM(4)][Dense(2), Softmax] public partial class Net;"], "NG0050"),
        ["NG0052 embedding over features"] = ([U + "[Network][Input(20, 4)][{|NG0052:Embedding(30, 8)|}][LSTM(4)][Dense(2), Softmax] public partial class Net;"],
            [U + "[Network][Input(20)][Embedding(30, 8)][LSTM(4)][Dense(2), Softmax] public partial class Net;"], "NG0052"),
        ["NG0056 per-step softmax over one value"] = ([U + "[Network][Input(5, 3)][LSTM(4, ReturnSequences = true)][Dense(1), {|NG0056:Softmax|}] public partial class Net;"],
            [U + "[Network][Input(5, 3)][LSTM(4, ReturnSequences = true)][Dense(3), Softmax] public partial class Net;"], "NG0056"),
        ["NG0056 per-step cross-entropy over one value"] = ([U + "[Network][Input(5, 3)][GRU(4, ReturnSequences = true)][{|NG0056:Dense(1)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(5, 3)][GRU(4, ReturnSequences = true)][Dense(1)] public partial class Net;"], "NG0056"),
        ["NG0036 layers without network"] = ([U + "[{|NG0036:Input(2)|}][Dense(2), Softmax] public partial class Net;"],
            [U + "[System.Serializable] public partial class Net;"], "NG0036"),
        ["NG0048 unrolling capped"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, {|NG0048:UnrollThreshold = 4096|})][Input(64)][Dense(64), ReLU][Dropout(0.5)][Dense(2)] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, UnrollThreshold = 128)][Input(64)][Dense(64), ReLU][Dropout(0.5)][Dense(2)] public partial class Net;"], "NG0048"),
        ["NG0049 explain too large"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, {|NG0049:UnrollThreshold = 256|})][Input(16)][Dense(16), Tanh][Dense(2)] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, UnrollThreshold = 256)][Input(14)][Dense(16), Tanh][Dense(2)] public partial class Net;"], "NG0049"),
        ["NG0060 reshape size"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(10)][{|NG0060:Reshape(2, 2, 2)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(8)][Reshape(2, 2, 2)] public partial class Net;"], "NG0060"),
        ["NG0061 output padding"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(2, 3, 3)][Conv2DTranspose(2, Kernel = 3, Stride = 2, {|NG0061:OutputPadding = 2|})] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(2, 3, 3)][Conv2DTranspose(2, Kernel = 3, Stride = 2, OutputPadding = 1)] public partial class Net;"], "NG0061"),
        ["NG0062 unreachable output size"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(2, 7, 7)][Conv2DTranspose(2, Kernel = 4, Stride = 2, {|NG0062:OutputSize = 20|})] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(2, 7, 7)][Conv2DTranspose(2, Kernel = 4, Stride = 2, OutputSize = 14)] public partial class Net;"], "NG0062"),
        ["NG0063 sampling odd"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(5)][{|NG0063:Sampling|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError)][Input(4)][Dense(6)][Sampling] public partial class Net;"], "NG0063"),
        ["NG0070 detection head without boxes"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, {|NG0070:BoxesPerCell = 0|}, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0070"),
        ["NG0071 detection head ends in a vector"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Flatten][{|NG0071:Dense(15)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0071"),
        ["NG0072 detection head channels"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10)][Input(1, 8, 8)][{|NG0072:Conv2D(15, Kernel = 1)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10)][Input(1, 8, 8)][Conv2D(30, Kernel = 1)] public partial class Net;"], "NG0072"),
        ["NG0072 ssd head channels"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Ssd, BoxesPerCell = 3, Classes = 10)][Input(128, 8, 8)][{|NG0072:Conv2D(44, Kernel = 3, Padding = Padding.Same)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Ssd, BoxesPerCell = 3, Classes = 10)][Input(128, 8, 8)][Conv2D(45, Kernel = 3, Padding = Padding.Same)] public partial class Net;"], "NG0072"),
        ["NG0073 detection grid"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10, Grid = 4)][Input(1, 8, 8)][{|NG0073:Conv2D(15, Kernel = 1)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10, Grid = 8)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0073"),
        ["NG0073 detection grid not square"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 4)][{|NG0073:Conv2D(15, Kernel = 1)|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 4, 4)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0073"),
        ["NG0074 detection head activation"] = ([U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1), {|NG0074:Sigmoid|}] public partial class Net;"],
            [U + "[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 1, Classes = 10)][Input(1, 8, 8)][Conv2D(15, Kernel = 1)] public partial class Net;"], "NG0074"),
    };

    public static TheoryData<string> Names => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public async Task IsReportedAtTheExactSpan(string name) => await AnalyzerHarness.VerifyAsync(Cases[name].Failing);

    [Theory]
    [MemberData(nameof(Names))]
    public async Task NearMissIsNotReported(string name)
    {
        var (_, nearMiss, id) = Cases[name];
        var result = await AnalyzerHarness.RunAsync(nearMiss);
        Assert.Empty(result.Exceptions);
        Assert.DoesNotContain(result.NetGen, d => d.Id == id);
    }

    [Fact]
    public void EveryDiagnosticHasACase()
    {
        var covered = Cases.Values.Select(c => c.Id).ToHashSet();
        var missing = Descriptors.All.Select(d => d.Id).Where(id => !covered.Contains(id)).ToList();
        Assert.True(missing.Count == 0, "No test case for " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryDescriptorIsDocumentedAndTracked()
    {
        string root = RepoRoot();
        string docs = File.ReadAllText(Path.Combine(root, "docs", "diagnostics.md"));
        string releases = File.ReadAllText(Path.Combine(root, "analyzers", "NetGen.Analyzers", "AnalyzerReleases.Unshipped.md"))
            + File.ReadAllText(Path.Combine(root, "analyzers", "NetGen.Analyzers", "AnalyzerReleases.Shipped.md"));
        foreach (var d in Descriptors.All)
        {
            Assert.Contains($"<a id=\"{d.Id.ToLowerInvariant()}\"></a>", docs);
            Assert.Contains($"## {d.Id}", docs);
            Assert.Matches($@"(?m)^{d.Id}\s*\|\s*NetGen\s*\|\s*{d.DefaultSeverity}\s*\|", releases);
            Assert.Equal(Descriptors.HelpBase + d.Id.ToLowerInvariant(), d.HelpLinkUri);
            Assert.False(string.IsNullOrWhiteSpace(d.Title.ToString()));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task SeverityMatchesWhetherTheGeneratorStops(string name)
    {
        // A problem that stops generation (an error in Shapes) must be an error diagnostic, and a warning or note must
        // not stop it: the stub-or-code decision and the squiggle's colour come from the same rule.
        var (failing, _, _) = Cases[name];
        var result = await AnalyzerHarness.RunAsync([.. failing.Select(m => AnalyzerHarness.Parse(m).Source)]);
        bool stub = result.Generator.GeneratedTrees.Any(t => t.ToString().Contains("is not a valid network", StringComparison.Ordinal));
        // Declaration problems (NG0030–NG0039) stop generation by other means; every other error ID is a shape error.
        bool shapeError = result.NetGen.Any(d => d.Severity == DiagnosticSeverity.Error && !(string.CompareOrdinal(d.Id, "NG0030") >= 0 && string.CompareOrdinal(d.Id, "NG0040") < 0));
        Assert.Equal(shapeError, stub);
    }

    [Fact]
    public async Task MessagesCarryTheNumbers()
    {
        var result = await AnalyzerHarness.RunAsync(U + "[Network][Input(3, 224, 224)][Conv2D(16, Kernel = 5, Stride = 2)][Flatten][Dense(2), Softmax] public partial class Net;");
        var d = Assert.Single(result.NetGen, d => d.Id == "NG0014");
        string message = d.GetMessage();
        Assert.Contains("(224 + 2·0 − 5) / 2 + 1 = 219/2 + 1 is not an integer", message);
        Assert.Contains("224 + 2·P − 5 is odd for every P", message);
        Assert.Contains("Stride = 1 (output 220)", message);
        Assert.Contains("Kernel = 4 with Padding = 0 (output 111)", message);
        Assert.Contains("Kernel = 6 with Padding = 0 (output 110)", message);
        Assert.Equal("docs/diagnostics.md#ng0014", d.Descriptor.HelpLinkUri);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
    }

    [Fact]
    public async Task TheLossDiagnosticAlsoPointsAtTheLossArgument()
    {
        var (source, _) = AnalyzerHarness.Parse(U + "[Network({|L:Loss = LossFunction.MeanSquaredError|})][Input(4)][Dense(3), Softmax] public partial class Net;");
        var result = await AnalyzerHarness.RunAsync(source);
        var d = Assert.Single(result.NetGen, d => d.Id == "NG0024");
        Assert.Contains(d.AdditionalLocations, l => source.Substring(l.SourceSpan.Start, l.SourceSpan.Length) == "Loss = LossFunction.MeanSquaredError");
    }

    [Fact]
    public async Task ValidNetworksOfTheTestSuiteAreCleanOfErrors()
    {
        // The reference networks this project trains carry no NetGen error (warnings are allowed: some are chosen to
        // exercise odd combinations on purpose).
        string dir = Path.Combine(RepoRoot(), "tests", "NetGen.Tests", "Networks");
        var sources = Directory.GetFiles(dir, "*.cs").Select(File.ReadAllText).ToArray();
        var result = await AnalyzerHarness.RunAsync(sources);
        Assert.Empty(result.Exceptions);
        Assert.Empty(result.NetGenErrors);
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NetGen.sln"))) return dir.FullName;
        throw new InvalidOperationException("NetGen.sln not found above " + AppContext.BaseDirectory);
    }
}
