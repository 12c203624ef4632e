using System.Diagnostics;
using System.Globalization;
using System.Runtime.Loader;
using System.Text;
using Microsoft.CodeAnalysis;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Analyzers;

/// <summary>
/// Random attribute stacks — random layer kinds, orders, sizes, strides and paddings, malformed and extreme arguments,
/// layers spread over partial declarations — through the generator and the analyzers together: nothing ever throws
/// (no AD0001, CS8784, CS8785, NG9999); every stack the analyzers accept is generated as real code, compiles, and its
/// Forward returns finite numbers; every stack they reject gets the throwing stub, which compiles too. Stacks are
/// batched many to a compilation to keep the sweep fast.
/// </summary>
public class AnalyzerRobustnessTests
{
    private const int Batches = 25, PerBatch = 44;   // 1,100 well-typed stacks

    private sealed class StackWriter(Random random)
    {
        private T Pick<T>(params T[] items) => items[random.Next(items.Length)];

        private int Pick(params int[] items) => items[random.Next(items.Length)];

        private bool Chance(int percent) => random.Next(100) < percent;

        private string Size(params int[] usual) => Chance(6) ? Pick("0", "-1", "int.MaxValue", "int.MinValue", "1 << 27") : Pick(usual).ToString(CultureInfo.InvariantCulture);

        public string Layer(bool malformed)
        {
            if (malformed && Chance(15))
                return Pick("Dense(\"x\")", "Dense", "Conv2D(2, Kernel = \"3\")", "Input(2)", "MaxPool", "Dropout(\"half\")", "Network");
            switch (random.Next(12))
            {
                case 0:
                case 1:
                    var dense = new List<string> { Size(1, 2, 3, 5, 8) };
                    if (Chance(15)) dense.Add("Bias = false");
                    if (Chance(10)) dense.Add("TrainBias = false");
                    if (Chance(10)) dense.Add(Pick("L2 = 1e-4", "L1 = 0.01", "L2 = -1", "L1 = double.PositiveInfinity"));
                    return $"Dense({string.Join(", ", dense)})";
                case 2:
                case 3:
                    var conv = new List<string> { Size(1, 2, 3) };
                    if (Chance(70)) conv.Add("Kernel = " + Size(1, 2, 3, 5));
                    if (Chance(10)) conv.Add("KernelHeight = " + Size(1, 2, 3));
                    if (Chance(10)) conv.Add("KernelWidth = " + Size(1, 2, 3));
                    if (Chance(50)) conv.Add("Stride = " + Size(1, 2, 3));
                    if (Chance(50)) conv.Add("Padding = " + Pick("0", "1", "2", "Padding.Same", "Padding.Valid", "-2", "7"));
                    if (Chance(20)) conv.Add("RoundDown = true");
                    if (Chance(10)) conv.Add("Bias = false");
                    if (Chance(5)) conv.Add("L2 = 1e-3");
                    return $"Conv2D({string.Join(", ", conv)})";
                case 4:
                    var pool = Pick("MaxPool", "AvgPool") + "(" + Size(1, 2, 3);
                    if (Chance(40)) pool += ", Stride = " + Size(1, 2, 3);
                    if (Chance(20)) pool += ", RoundDown = true";
                    return pool + ")";
                case 5: return "Flatten";
                case 6: return Chance(70) ? "BatchNorm" : $"BatchNorm(Momentum = {Pick("0.1", "0.5", "1.5", "-0.1")}, Epsilon = {Pick("1e-5", "0.001", "0", "-1")})";
                case 7: return $"Dropout({Pick("0", "0.2", "0.5", "0.9", "1", "-0.5", "double.NaN")})";
                case 8: return $"LeakyReLU({Pick("", "0.01", "0.3", "2", "double.NaN", "double.PositiveInfinity")})";
                default: return Pick("ReLU", "Sigmoid", "Tanh", "Softmax", "Identity", "Step");
            }
        }

        /// <summary>A stack shaped like a real network — convolutions and pooling over an image, [Flatten], Dense
        /// layers, an output activation — with random sizes: most are valid, which exercises the generated code.</summary>
        private List<string> Structured()
        {
            var layers = new List<string>();
            if (Chance(50))
            {
                layers.Add($"Input({Pick(1, 2, 3)}, {Pick(4, 6, 8, 9, 12)}, {Pick(4, 6, 8, 12)})");
                for (int i = random.Next(0, 4); i > 0; i--)
                {
                    layers.Add(Pick(
                        $"Conv2D({Pick(1, 2, 4)}, Kernel = {Pick(1, 3, 5)}, Padding = Padding.Same)",
                        $"Conv2D({Pick(1, 2, 4)}, Kernel = {Pick(1, 2, 3)}, Stride = {Pick(1, 2)}, RoundDown = true)",
                        $"Conv2D({Pick(1, 3)}, Kernel = 3, Padding = 1)",
                        $"{Pick("MaxPool", "AvgPool")}({Pick(1, 2)}, RoundDown = true)",
                        "BatchNorm", Pick("ReLU", "Tanh", "LeakyReLU(0.1)", "Sigmoid")));
                }
                layers.Add("Flatten");
            }
            else layers.Add($"Input({Pick(1, 2, 3, 5, 8, 20)})");
            for (int i = random.Next(0, 3); i > 0; i--)
            {
                layers.Add($"Dense({Pick(1, 3, 8, 16)}{(Chance(20) ? ", Bias = false" : "")}{(Chance(10) ? ", L2 = 1e-3" : "")})");
                if (Chance(70)) layers.Add(Pick("ReLU", "Tanh", "Sigmoid", "LeakyReLU(0.2)", "Step", "Identity"));
                if (Chance(20)) layers.Add(Pick("Dropout(0.3)", "BatchNorm"));
            }
            layers.Add($"Dense({Pick(1, 2, 4, 10)})");
            if (Chance(70)) layers.Add(Pick("Softmax", "Sigmoid", "Identity", "Tanh"));
            return layers;
        }

        /// <summary>One declaration (one or two partial parts) of class <paramref name="name"/>.</summary>
        public List<string> Declaration(string name, bool malformed)
        {
            var layers = new List<string>();
            if (!malformed && Chance(45)) layers = Structured();
            else if (!Chance(5))
                layers.Add(Chance(50)
                    ? $"Input({Size(1, 2, 3, 4, 7, 10, 20)})"
                    : $"Input({Size(1, 2, 3)}, {Size(1, 2, 4, 5, 6, 7, 8, 11)}, {Size(1, 2, 4, 5, 6, 7, 8, 12)})");
            int count = layers.Count > 1 ? 0 : random.Next(0, 8);
            for (int i = 0; i < count; i++) layers.Add(Layer(malformed));
            if (Chance(5) && layers.Count > 0) layers.Insert(random.Next(layers.Count), layers[0]);   // Input again, or a repeat
            if (!malformed)   // a second [Input] is a compiler error (CS0579): only in the malformed sweep
            {
                int first = layers.FindIndex(x => x.StartsWith("Input", StringComparison.Ordinal));
                layers = layers.Where((l, i) => i == first || !l.StartsWith("Input", StringComparison.Ordinal)).ToList();
            }

            var network = new List<string>();
            if (Chance(80)) network.Add("Loss = LossFunction." + Pick("HalfSquaredError", "MeanSquaredError", "CrossEntropy", "BinaryCrossEntropy", "MeanAbsoluteError", "SumSquaredError", "SumAbsoluteError", "MulticlassHinge", "MulticlassSquaredHinge"));
            if (Chance(3)) network = ["Loss = (LossFunction)42"];
            if (Chance(40)) network.Add("Precision = Precision." + Pick("Single", "Double"));
            // Mostly no unrolling: straight-line code is what makes a compilation slow, and the sweep compiles 1,100 networks.
            network.Add("UnrollThreshold = " + (Chance(85) ? "0" : Pick("1", "16", "64", "5000", "-1")));

            // Sometimes the layers are split over two partial declarations (NG0035), or written in one list.
            string Lists(IEnumerable<string> ls) => Chance(30) ? (ls.Any() ? "[" + string.Join(", ", ls) + "]" : "") : string.Concat(ls.Select(l => "[" + l + "]"));
            int split = Chance(10) ? random.Next(layers.Count + 1) : layers.Count;
            var parts = new List<string> { $"[Network({string.Join(", ", network)})]{Lists(layers.Take(split))}\npublic partial class {name};" };
            if (split < layers.Count) parts.Add($"{Lists(layers.Skip(split))}\npublic partial class {name};");
            return parts;
        }
    }

    [Fact]
    public async Task RandomStacksNeverThrowAndEveryAcceptedStackRuns()
    {
        var random = new Random(20251123);
        var writer = new StackWriter(random);
        int accepted = 0, rejected = 0, ran = 0;
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        for (int b = 0; b < Batches; b++)
        {
            var sources = new List<string>();
            var owner = new Dictionary<string, int>();     // file → network index
            var declarations = new List<string>();
            for (int k = 0; k < PerBatch; k++)
            {
                var parts = writer.Declaration($"Net{k}", malformed: false);
                declarations.Add(string.Join("\n", parts));
                foreach (var part in parts)
                {
                    owner[$"Source{sources.Count + 1}.cs"] = k;   // Source0 is the implicit usings
                    sources.Add("using NetGen;\nnamespace Sweep;\n" + part);
                }
            }
            // The analyzers read only the declarations: they run on the user's code alone, as in an IDE before the
            // generator has caught up; the generated code is compiled once, by Emit.
            var compilation = GeneratorHarness.CreateCompilation([UserCode.ImplicitUsings, .. sources]);
            var driver = GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
            var generator = driver.GetRunResult();
            var result = await AnalyzerHarness.AnalyzeAsync(compilation, generator, compilerErrors: false);
            if (result.Exceptions.Count > 0) { failures.Add($"batch {b} threw:\n{string.Join("\n", result.Exceptions.Take(3))}"); continue; }

            var bad = result.NetGenErrors.Select(d => owner.TryGetValue(Path.GetFileName(d.Location.SourceTree?.FilePath ?? ""), out int k) ? k : -1).ToHashSet();
            Assert.DoesNotContain(-1, bad);
            using var stream = new MemoryStream();
            var emit = output.Emit(stream);
            // Every stack here is well-typed: accepted ones are generated as code, rejected ones as stubs, and both compile.
            if (!emit.Success) { failures.Add($"batch {b} does not compile:\n{string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(5))}"); continue; }
            stream.Position = 0;
            var context = new AssemblyLoadContext("Sweep" + b, isCollectible: true);
            try
            {
                var assembly = context.LoadFromStream(stream);
                for (int k = 0; k < PerBatch; k++)
                {
                    string code = GeneratorHarness.GeneratedSource(result.Generator, $"Net{k}");
                    bool stub = code.Contains("is not a valid network", StringComparison.Ordinal);
                    if (bad.Contains(k))
                    {
                        rejected++;
                        // A shape error stops generation; NG0035 (layers on two declarations) alone does not.
                        bool onlyDeclarationErrors = result.NetGenErrors.Where(d => owner[Path.GetFileName(d.Location.SourceTree!.FilePath)] == k).All(d => d.Id == "NG0035");
                        if (!stub && !onlyDeclarationErrors) failures.Add($"rejected but generated as code:\n{declarations[k]}");
                        continue;
                    }
                    accepted++;
                    if (stub) { failures.Add($"accepted by the analyzers but stubbed by the generator:\n{declarations[k]}"); continue; }
                    try
                    {
                        AnalyzerHarness.AssertForwardIsFinite(assembly, $"Sweep.Net{k}");
                        ran++;
                    }
                    catch (Exception e)
                    {
                        failures.Add($"accepted but Forward failed: {e.GetType().Name}: {e.Message}\n{declarations[k]}");
                    }
                }
            }
            finally { context.Unload(); }
        }

        // Malformed arguments (compiler errors of the user's own): still no exception anywhere, and no compiler error
        // inside generated code.
        for (int b = 0; b < 4; b++)
        {
            var sources = Enumerable.Range(0, 25).SelectMany(k => writer.Declaration($"Bad{k}", malformed: true)).Select(p => "using NetGen;\nnamespace Malformed;\n" + p).ToArray();
            var result = await AnalyzerHarness.RunAsync(sources);
            if (result.Exceptions.Count > 0) failures.Add($"malformed batch {b} threw:\n{string.Join("\n", result.Exceptions.Take(3))}");
            var inGenerated = result.CompilerErrors.Where(e => e.Location.SourceTree is { } t && UserCode.IsGenerated(t)).ToList();
            if (inGenerated.Count > 0) failures.Add($"malformed batch {b}: errors in generated code:\n{string.Join("\n", inGenerated.Take(5))}");
        }

        Console.WriteLine($"{Batches * PerBatch} stacks + 100 malformed: {accepted} accepted ({ran} ran), {rejected} rejected, {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n\n", failures.Take(8)));
        Assert.True(accepted >= 300, $"Only {accepted} of {Batches * PerBatch} stacks were accepted: the sweep says little about valid networks.");
        Assert.True(rejected >= 150, $"Only {rejected} stacks were rejected.");
    }
}
