using System.Diagnostics;
using System.Text;
using Microsoft.CodeAnalysis;
using NetGen.Tests.Analyzers;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests.Hardening;

/// <summary>
/// The generator and the analyzers never crash and never accept a declaration whose generated code does not compile
/// (issue 18, "Done when"): 1,200 seeded random declarations per run, most of them valid networks built layer by
/// layer against the shape rules (vectors, images, sequences, embeddings, generative layers; every loss, both
/// precisions, several unroll thresholds), the rest carrying one of the shapes found by trying to break NetGen (null
/// and default input arrays, non-finite and huge options, 65536⁴ inputs, huge padding and filter counts, user members
/// and classes named like generated ones, names that differ only in case, a network called Gpu nested in a network,
/// file-local classes, base classes, types called Unsafe or Vector256 in the network's namespace). They are compiled
/// 120 networks per compilation with the generator, every other compilation with NetGen.Gpu (600 declarations with
/// their Gpu class), and analyzed with the analyzers in the same pass that collects the compiler's errors (each
/// compilation bound once). Zero AD0001, CS8785, NG9999 and generator exceptions, and every network without an NG error
/// compiles.
/// </summary>
public sealed class DeclarationFuzzTests(ITestOutputHelper log)
{
    private const int Declarations = 1200, PerCompilation = 120, Seed = 18_2026;

    [Fact]
    public async Task RandomDeclarations_NeverCrash_AndEveryAcceptedOneCompiles()
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(Seed);
        var failures = new List<string>();
        int accepted = 0, rejected = 0, acceptedHostile = 0;
        var rejectedBy = new Dictionary<string, int>();
        var generating = new Stopwatch();
        var checking = new Stopwatch();
        for (int start = 0; start < Declarations; start += PerCompilation)
        {
            var declarations = Enumerable.Range(start, PerCompilation).Select(k => Declaration(random, k)).ToList();
            bool gpu = start / PerCompilation % 2 == 1;
            generating.Start();
            var (generator, output) = GeneratorHarness.Run(gpu, [UserCode.ImplicitUsings, .. declarations.Select(d => d.Source)]);
            generating.Stop();
            checking.Start();
            var result = await AnalyzerHarness.AnalyzeAsync(output, generator);
            checking.Stop();
            foreach (string e in result.Exceptions) failures.Add($"crash (batch at {start}): {Short(e)}");
            var netgenErrors = result.NetGenErrors.ToList();
            for (int i = 0; i < declarations.Count; i++)
            {
                var d = declarations[i];
                string file = $"Source{i + 1}.cs";   // Source0.cs holds the implicit usings
                var mine = netgenErrors.Where(e => e.Location.SourceTree?.FilePath == file).ToList();
                if (mine.Count > 0)
                {
                    rejected++;
                    foreach (string id in mine.Select(e => e.Id).Distinct()) rejectedBy[id] = rejectedBy.GetValueOrDefault(id) + 1;
                    if (d.MustBeAccepted) failures.Add($"valid but rejected: {d.Source}\n    {string.Join("\n    ", mine.Take(3).Select(e => Short(e.ToString())))}");
                    continue;
                }
                accepted++;
                if (d.Hostile) acceptedHostile++;
                var broken = result.CompilerErrors.Where(e => e.Location.SourceTree is { } t && (t.FilePath == file || GeneratedFor(t, d.Namespace))).ToList();
                if (broken.Count > 0)
                    failures.Add($"accepted but does not compile{(gpu ? " (with NetGen.Gpu)" : "")}: {d.Source}\n    {string.Join("\n    ", broken.Take(3).Select(e => Short(e.ToString())))}");
            }
        }
        log.WriteLine($"seed {Seed}: {Declarations} declarations in {Declarations / PerCompilation} compilations, {clock.Elapsed.TotalSeconds:F1} s " +
                      $"(generator {generating.Elapsed.TotalSeconds:F1} s, analyzers and compiler {checking.Elapsed.TotalSeconds:F1} s): " +
                      $"{accepted} accepted and compiled ({acceptedHostile} of them with a hostile shape), {rejected} rejected with an NG error " +
                      $"({string.Join(", ", rejectedBy.OrderBy(p => p.Key).Select(p => $"{p.Key} ×{p.Value}"))}), {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Distinct().Take(25)));
        Assert.True(accepted >= Declarations * 6 / 10, $"only {accepted} of {Declarations} declarations were accepted: the test must mostly compile real networks");
    }

    private static bool GeneratedFor(SyntaxTree tree, string ns) =>
        UserCode.IsGenerated(tree) && Path.GetFileName(tree.FilePath).StartsWith(ns + ".", StringComparison.Ordinal);

    private static string Short(string s) => s.Length <= 600 ? s : s[..600] + "…";

    private sealed record Generated(string Source, string Namespace, bool Hostile, bool MustBeAccepted);

    // ---- Valid networks, layer by layer ---------------------------------------------------------------------------

    private static readonly string[] Activations = ["ReLU", "Sigmoid", "Tanh", "LeakyReLU", "LeakyReLU(0.2)", "ELU", "ELU(0.5)", "Identity", "Step"];

    private static T Pick<T>(Random r, params T[] items) => items[r.Next(items.Length)];

    /// <summary>A valid layer list (with its [Input]) and the loss that fits its output.</summary>
    private static (List<string> Layers, string Loss) ValidNetwork(Random r)
    {
        var layers = new List<string>();
        int kind = r.Next(20);
        int features;
        if (kind < 9)
        {
            features = r.Next(1, 24);
            layers.Add($"Input({features})");
        }
        else if (kind < 15)
        {
            int c = r.Next(1, 4), h = Pick(r, 4, 6, 8, 10), w = r.Next(3) == 0 ? Pick(r, 4, 8, 12) : h;
            layers.Add($"Input({c}, {h}, {w})");
            for (int n = r.Next(1, 4); n > 0; n--)
            {
                switch (r.Next(9))
                {
                    case 0: case 1: layers.Add($"Conv2D({r.Next(1, 5)}, Kernel = 3, Padding = 1)"); c = -1; break;
                    case 2: if (h % 2 == 0 && w % 2 == 0 && h >= 2) { layers.Add($"Conv2D({r.Next(1, 4)}, Kernel = 2, Stride = 2{Pick(r, "", ", Bias = false", ", L2 = 0.001")})"); h /= 2; w /= 2; } break;
                    case 3: if (h % 2 == 0 && w % 2 == 0 && h >= 2) { layers.Add(Pick(r, "MaxPool(2)", "AvgPool(2)")); h /= 2; w /= 2; } break;
                    case 4: layers.Add(Pick(r, "ReLU", "Tanh", "LeakyReLU(0.1)", "Sigmoid")); break;
                    case 5: layers.Add("BatchNorm"); break;
                    case 6: if (h <= 8) { layers.Add(Pick(r, "Upsample2D(2)", "Upsample2D(2, Mode = UpsampleMode.Bilinear)")); h *= 2; w *= 2; } break;
                    case 7: if (h <= 8) { layers.Add($"Conv2DTranspose({r.Next(1, 3)}, Kernel = 2, Stride = 2)"); h *= 2; w *= 2; } break;
                    default: layers.Add($"Conv2D({r.Next(1, 4)}, KernelHeight = 1, KernelWidth = 3, Padding = Padding.Same)"); break;
                }
            }
            layers.Add("Flatten");
            features = 0;
        }
        else if (kind < 18)
        {
            int t = r.Next(2, 6), f = r.Next(1, 5);
            layers.Add($"Input({t}, {f})");
            string cell = Pick(r, "SimpleRNN", "GRU", "LSTM");
            bool sequences = r.Next(2) == 0;
            layers.Add($"{cell}({r.Next(1, 6)}{(sequences ? ", ReturnSequences = true" : "")}{Pick(r, "", "", ", Bidirectional = true")}{(cell == "SimpleRNN" ? Pick(r, "", ", Activation = RecurrentActivation.ReLU") : "")})");
            if (sequences && r.Next(2) == 0) layers.Add($"{Pick(r, "SimpleRNN", "GRU", "LSTM")}({r.Next(1, 5)})");
            features = 0;
            if (sequences && layers.Count == 2)
            {
                // A Dense at every step, with a per-step loss.
                int classes = r.Next(2, 5);
                layers.Add($"Dense({classes})");
                return r.Next(2) == 0 ? ([.. layers, "Softmax"], "CrossEntropy") : (layers, "MeanSquaredError");
            }
        }
        else if (kind < 19)
        {
            int t = r.Next(2, 6);
            layers.Add($"Input({t})");
            layers.Add($"Embedding({r.Next(2, 12)}, {r.Next(1, 5)})");
            layers.Add($"{Pick(r, "GRU", "LSTM", "SimpleRNN")}({r.Next(1, 5)})");
            features = 0;
        }
        else
        {
            // A variational block: Dense(2L), Sampling → L, then a decoder (sometimes into an image).
            features = r.Next(2, 10);
            layers.Add($"Input({features})");
            int latent = r.Next(1, 4);
            layers.Add($"Dense({2 * latent})");
            layers.Add($"Sampling({Pick(r, "1.0", "0.5", "0")})");
            if (r.Next(2) == 0)
            {
                layers.Add("Dense(16)");
                layers.Add("Reshape(1, 4, 4)");
                layers.Add("Conv2D(1, Kernel = 3, Padding = 1)");
                layers.Add("Flatten");
            }
        }
        for (int n = r.Next(0, 4); n > 0; n--)
        {
            switch (r.Next(7))
            {
                case 0: case 1: case 2:
                    layers.Add($"Dense({r.Next(1, 40)}{Pick(r, "", "", "", ", Bias = false", ", TrainBias = false", ", L1 = 0.001", ", L2 = 0.0001", ", L1 = 1e-5, L2 = 1e-4")})");
                    break;
                case 3: case 4: layers.Add(Pick(r, Activations)); break;
                case 5: layers.Add($"Dropout({Pick(r, "0.1", "0.5", "0")})"); break;
                default: layers.Add(Pick(r, "BatchNorm", "BatchNorm(Momentum = 0.01, Epsilon = 1e-3)")); break;
            }
        }
        int outputs = r.Next(1, 6);
        layers.Add($"Dense({outputs})");
        return r.Next(5) switch
        {
            0 when outputs > 1 => ([.. layers, "Softmax"], "CrossEntropy"),
            1 => ([.. layers, "Sigmoid"], Pick(r, "BinaryCrossEntropy", "BinaryCrossEntropySummed")),
            2 when outputs > 1 => (layers, Pick(r, "CrossEntropy", "MulticlassHinge", "MulticlassSquaredHinge")),
            _ => (layers, Pick(r, "HalfSquaredError", "MeanSquaredError", "MeanAbsoluteError", "SumSquaredError", "SumAbsoluteError")),
        };
    }

    // ---- Hostile shapes ---------------------------------------------------------------------------------------------

    /// <summary>Layer lists that must be rejected or compile.</summary>
    private static readonly string[][] HostileLayers =
    [
        ["Input(null)", "Dense(2)"], ["Input(default(int[]))", "Dense(2)"], ["Input(new int[0])", "Dense(2)"], ["Input", "Dense(2)"],
        ["Input(0)", "Dense(2)"], ["Input(-1)", "Dense(2)"], ["Input(65536, 65536, 65536, 65536)", "Flatten", "Dense(2)"],
        ["Input(1 << 30, 4)", "Dense(2)"], ["Input(2147483647)", "Dense(2)"], ["Input(1, 46341, 46341)", "Flatten", "Dense(2)"],
        ["Input(3)", "Dense(4)", "LeakyReLU(1e39)", "Dense(2)"], ["Input(3)", "Dense(4)", "LeakyReLU(double.PositiveInfinity)"],
        ["Input(3)", "Dense(4)", "LeakyReLU(1e-50)", "Dense(2)"], ["Input(3)", "Dense(4)", "ELU(-1e39)", "Dense(2)"],
        ["Input(3)", "Dense(4)", "BatchNorm(Epsilon = 1e39)", "Dense(2)"], ["Input(3)", "Dense(4)", "BatchNorm(Momentum = double.NaN)", "Dense(2)"],
        ["Input(3)", "Dense(4)", "BatchNorm(Epsilon = 1e-300)", "Dense(2)"], ["Input(3)", "Dense(4, L1 = 1e39)", "Dense(2)"],
        ["Input(3)", "Dense(4, L2 = 1e308)", "Dense(2)"], ["Input(3)", "Dense(4, L2 = double.NaN)", "Dense(2)"], ["Input(3)", "Dense(4, L1 = -1)"],
        ["Input(3)", "Dense(4)", "Dropout(double.NaN)", "Dense(2)"], ["Input(3)", "Dense(4)", "Dropout(1.5)", "Dense(2)"],
        ["Input(3)", "Dense(4)", "Sampling(1e39)", "Dense(2)"], ["Input(3)", "Dense(4)", "Sampling(double.NaN)"],
        ["Input(2, 12, 12)", "Conv2D(3, Kernel = 3, Padding = 8192)", "Flatten", "Dense(2)"], ["Input(2, 12, 12)", "Conv2D(1 << 26, Kernel = 1)"],
        ["Input(1, 1, 1)", "Conv2D(1, Kernel = 1, Stride = 4096, Padding = 8192)"], ["Input(4096, 64, 64)", "Conv2D(1, Kernel = 64, Padding = 32)"],
        ["Input(2, 8, 8)", "Conv2D(2, Kernel = 0)"], ["Input(2, 8, 8)", "Conv2D(2, Kernel = 3, Padding = int.MaxValue)"], ["Input(2, 8, 8)", "MaxPool(int.MaxValue)"],
        ["Input(2, 8, 8)", "Conv2D(2, Kernel = 4096, Padding = 2047)"], ["Input(2, 8, 8)", "Upsample2D(64)", "Upsample2D(64)"],
        ["Input(3)", "Dense(int.MaxValue)"], ["Input(3)", "Dense(1 << 26)", "Dense(64)"], ["Input(3)", "Dense(67108864)"], ["Input(4)", "Reshape(0, 0, 0)"],
        ["Input(4)", "Reshape(null)"], ["Input(3)", "Embedding(1 << 30, 1 << 30)"], ["Input(3, 2)", "LSTM(1 << 26)"], ["Input(1 << 26, 1)", "GRU(4)", "Dense(2)"],
        ["Input(2, 3, 3)", "Conv2DTranspose(2, Kernel = 4096, Stride = 64)"], ["Input(2, 3, 3)", "Conv2DTranspose(1 << 26, Kernel = 3)"],
    ];

    /// <summary>Members that clash with generated ones (must be NG0037), or that only look like it (must compile).</summary>
    private static readonly string[] HostileMembers =
    [
        "public int Forward;", "public int Loss() => 0;", "public int Parameters;", "public const string Summary = \"\";", "public int State;",
        "private int _batch;", "private float[] _a0 = [];", "public NAME(int a, int b) { }", "public NAME(int maxBatch) : this(maxBatch, 1) { }",
        "public class Output { }", "public class Unsafe { }", "public int Dense1Weights;", "public void Explain() { }", "public int Unsafe;",
        "public static int InputSize = 3;", "public void TrainStep() { }", "public void Backward(int x) { }", "public class Vector256 { }",
    ];

    /// <summary>Types beside the network, in its namespace.</summary>
    private static readonly string[] HostileNeighbours =
    [
        "public class Unsafe { }", "public class Vector256 { }", "public class Vector512 { }", "public static class MethodImplOptions { }",
        "public class ArrayView<T> { }", "public class Index1D { }", "public class Math { }", "public class Span<T> { }", "public class Array { }",
        "public class Environment { }", "public class MathF { }", "public class GpuNetwork<T> { }", "public class Guard { }", "public class NetGen { }",
        "public class System { }", "public class Stride1D { }", "public class Accelerator { }",
    ];

    private static Generated Declaration(Random r, int k)
    {
        string ns = (k % 2 == 0 ? "Fuzz" : "fuzz") + (k / 2);   // pairs of namespaces that differ only in case
        var (layers, loss) = ValidNetwork(r);
        string precision = r.Next(3) == 0 ? "Double" : "Single";
        int threshold = Pick(r, 0, 16, 64, 64, 256, 1024);
        string name = Pick(r, "Net", "NET", "Net" + k, "Model", "@event", "Café");
        string member = "", neighbour = "", baseClass = "", modifiers = "public";
        string? sibling = null;
        bool nestedInOuter = r.Next(8) == 0, nestedGpu = false;
        bool hostile = r.Next(100) < 28;
        if (hostile)
        {
            switch (r.Next(8))
            {
                case 0: case 1: case 2: layers = [.. Pick(r, HostileLayers)]; loss = "MeanSquaredError"; break;
                case 3: member = Pick(r, HostileMembers); break;
                case 4: neighbour = Pick(r, HostileNeighbours); break;
                case 5: name = Pick(r, "Output", "Summary", "Forward", "Gpu", "Dense1Weights", "Layers", "Unsafe"); break;
                case 6:
                    switch (r.Next(5))
                    {
                        case 0: modifiers = "file"; break;
                        case 1: neighbour = "public class BaseWithArgument { public BaseWithArgument(int x) { } }"; baseClass = " : BaseWithArgument"; break;
                        case 2: neighbour = "[Network][Input(2)][Dense(2)] public partial class BaseNetwork;"; baseClass = " : BaseNetwork"; break;
                        case 3: neighbour = "public abstract class BaseOk { protected BaseOk() { } public int Epochs { get; set; } }"; baseClass = " : BaseOk"; break;
                        default: neighbour = "public class BaseOptional { public BaseOptional(int x = 1) { } }"; baseClass = " : BaseOptional"; break;
                    }
                    break;
                default: nestedGpu = true; break;
            }
        }
        else if (r.Next(10) == 0) sibling = name == "NET" ? "Net" : "NET";   // a second network whose name differs only in case
        string attributes = $"[Network(Loss = LossFunction.{loss}, Precision = Precision.{precision}, UnrollThreshold = {threshold})]"
                            + string.Concat(layers.Select(a => "[" + a + "]"));
        string escapedName = name;
        if (modifiers == "file") nestedInOuter = false;   // (file applies to top-level types only)
        string body = member.Replace("NAME", name);
        if (nestedGpu)
            body += $" {attributes} public partial class Gpu {{ }}";
        string network = $"{attributes} {modifiers} partial class {escapedName}{baseClass} {{ {body} }}";
        if (sibling is not null) network += $" {attributes} public partial class {sibling} {{ }}";
        if (nestedInOuter) network = $"public partial class Outer{k % 3} {{ {network} }}";
        var source = new StringBuilder($"using NetGen; namespace {ns}; {neighbour} {network}");
        // Valid declarations with no hostile part must be accepted (their warnings are allowed).
        bool mustBeAccepted = !hostile && name != "Gpu";
        return new Generated(source.ToString(), ns, hostile, mustBeAccepted);
    }
}
