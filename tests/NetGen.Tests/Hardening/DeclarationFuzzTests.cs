using System.Text;
using Microsoft.CodeAnalysis;
using NetGen.Tests.Analyzers;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests.Hardening;

/// <summary>
/// The generator and the analyzers never crash and never accept a declaration whose generated code does not compile:
/// 1,200 seeded random declarations per run (valid ones, and the shapes found by trying to break NetGen: null and
/// default arrays, non-finite and huge options, shapes whose products wrap, names that differ only in case, nested
/// networks called Gpu, user members named like generated ones), compiled in memory with the generator and analyzed
/// with the analyzers, 40 networks per compilation. Zero AD0001, CS8785 and NG9999, and every network the analyzers
/// accept (no NG error) compiles.
/// </summary>
public sealed class DeclarationFuzzTests(ITestOutputHelper log)
{
    private const int Declarations = 1200, PerCompilation = 40;

    private static readonly string[] Inputs =
    [
        "Input(1)", "Input(3)", "Input(16)", "Input(2, 3)", "Input(1, 8, 8)", "Input(3, 6, 6)", "Input(0)", "Input(-1)",
        "Input(null)", "Input(default(int[]))", "Input(new int[0])", "Input(65536, 65536, 65536, 65536)", "Input(2, 12, 12)",
        "Input(1 << 30, 4)", "Input(2147483647)", "Input(1, 46341, 46341)",
    ];

    private static readonly string[] Layers =
    [
        "Dense(1)", "Dense(4)", "Dense(7, Bias = false)", "Dense(3, TrainBias = false)", "Dense(0)", "Dense(-2)", "Dense(4, L1 = 1e39)",
        "Dense(4, L2 = 1e308)", "Dense(4, L2 = double.NaN)", "Dense(4, L1 = 0.01, L2 = 0.001)", "Dense(67108864)", "Dense(1 << 26)",
        "Dense(int.MaxValue)", "Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "LeakyReLU(0.2)", "LeakyReLU(1e39)",
        "LeakyReLU(double.PositiveInfinity)", "LeakyReLU(1e-50)", "Softmax", "Identity", "Flatten", "Dropout(0.5)", "Dropout(1.5)",
        "Dropout(double.NaN)", "BatchNorm", "BatchNorm(Epsilon = 1e39)", "BatchNorm(Momentum = double.NaN)", "BatchNorm(Epsilon = 1e-300)",
        "Conv2D(2, Kernel = 3)", "Conv2D(2, Kernel = 3, Padding = 1)", "Conv2D(3, Kernel = 3, Padding = 8192)", "Conv2D(1 << 26, Kernel = 1)",
        "Conv2D(2, Kernel = 2, Stride = 2, RoundDown = true)", "Conv2D(4, KernelHeight = 1, KernelWidth = 3)", "Conv2D(2, Kernel = 0)",
        "MaxPool(2)", "MaxPool(2, Stride = 1)", "AvgPool(2)", "MaxPool(0)", "MaxPool(int.MaxValue)",
    ];

    private static readonly string[] Losses = ["HalfSquaredError", "MeanSquaredError", "CrossEntropy", "BinaryCrossEntropy", "MeanAbsoluteError", "MulticlassHinge"];

    private static readonly string[] Members =
    [
        "", "", "", "", "", "", "public int Forward;", "public int Loss() => 0;", "public int Parameters;", "public const string Summary = \"\";",
        "public int State;", "private int _batch;", "private float[] _a0 = [];", "public NAME(int a, int b) { }", "public class Output { }",
        "public class Summary { }",
    ];

    [Fact]
    public async Task RandomDeclarations_NeverCrash_AndEveryAcceptedOneCompiles()
    {
        var random = new Random(18_2026);
        var failures = new List<string>();
        int accepted = 0, rejected = 0;
        for (int start = 0; start < Declarations; start += PerCompilation)
        {
            var sources = new List<string>();
            var names = new List<string>();
            for (int k = start; k < start + PerCompilation; k++)
            {
                var (source, name) = Declaration(random, k);
                sources.Add(source);
                names.Add(name);
            }
            var (generator, output) = GeneratorHarness.Run(gpu: start % (2 * PerCompilation) == 0, [UserCode.ImplicitUsings, .. sources]);
            var result = await AnalyzerHarness.AnalyzeAsync(output, generator);
            foreach (string e in result.Exceptions) failures.Add($"crash: {Short(e)}");
            var netgenErrors = result.NetGenErrors.ToList();
            var compilerErrors = result.CompilerErrors.Where(d => d.Id != "CS0579").ToList();   // CS0579: a duplicated [Input] is the user's error
            for (int i = 0; i < sources.Count; i++)
            {
                string file = $"Source{i + 1}.cs";   // Source0.cs is the implicit usings
                bool hasNgError = netgenErrors.Any(d => d.Location.SourceTree?.FilePath == file);
                if (hasNgError) { rejected++; continue; }
                accepted++;
                var broken = compilerErrors.Where(d => d.Location.SourceTree is { } t && (t.FilePath == file || GeneratedFor(t, names[i]))).ToList();
                if (broken.Count > 0) failures.Add($"accepted but does not compile: {sources[i]}\n    {string.Join("\n    ", broken.Take(3).Select(d => Short(d.ToString())))}");
            }
        }
        log.WriteLine($"{Declarations} declarations: {accepted} accepted (all compile unless listed), {rejected} rejected with an NG error, {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Distinct().Take(25)));
    }

    private static bool GeneratedFor(SyntaxTree tree, string ns) =>
        UserCode.IsGenerated(tree) && Path.GetFileName(tree.FilePath).StartsWith(ns + ".", StringComparison.Ordinal);

    private static string Short(string s) => s.Length <= 400 ? s : s[..400] + "…";

    /// <summary>One random declaration in its own namespace (sometimes one differing only in case from another's),
    /// sometimes nested, sometimes with a user member that clashes with a generated one.</summary>
    private static (string Source, string Name) Declaration(Random random, int k)
    {
        var attributes = new List<string>();
        if (random.Next(12) > 0) attributes.Add(Inputs[random.Next(Inputs.Length)]);
        int count = random.Next(0, 7);
        for (int i = 0; i < count; i++)
        {
            string layer = Layers[random.Next(Layers.Length)];
            // Mostly valid pipelines: a convolution after a 3-D input, Flatten before Dense.
            attributes.Add(layer);
        }
        int threshold = random.Next(4) switch { 0 => 0, 1 => 16, 2 => 64, _ => 256 };
        string network = $"[Network(Loss = LossFunction.{Losses[random.Next(Losses.Length)]}, Precision = Precision.{(random.Next(2) == 0 ? "Single" : "Double")}, UnrollThreshold = {threshold})]";
        string ns = (k % 2 == 0 ? "Fuzz" : "fuzz") + (k / 2);   // pairs of namespaces that differ only in case
        string name = random.Next(5) switch { 0 => "Net", 1 => "NET", 2 => "Gpu", _ => "Net" + k };
        string member = Members[random.Next(Members.Length)].Replace("NAME", name);
        var sb = new StringBuilder($"using NetGen; namespace {ns}; ");
        if (random.Next(6) == 0)
            sb.Append($"public partial class Outer{k % 3} {{ {network}{string.Concat(attributes.Select(a => "[" + a + "]"))} public partial class {name} {{ {member} }} }}");
        else
            sb.Append($"{network}{string.Concat(attributes.Select(a => "[" + a + "]"))} public partial class {name} {{ {member} }}");
        return (sb.ToString(), ns);
    }
}
