using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetGen.Generators;

namespace NetGen.Benchmarks;

/// <summary>
/// The cost of the single-thread guard (NetGen.SingleThreaded, docs/threading.md) on the smallest step there is: the
/// worked example's SGD step (2-2-2, double) and its forward pass. Both variants are generated in memory from the same
/// declaration by the same generator; the unguarded one has the guard's lines removed from the generated text (the
/// <c>Enter</c> line, its try/finally, the replica check of ZeroGradients), so the two differ by exactly the guard.
/// Run: <c>dotnet run -c Release --project benchmarks/NetGen.Benchmarks -- --guard</c>.
/// </summary>
[MemoryDiagnoser]
public class GuardBenchmarks
{
    private const string Declaration = """
        using NetGen;
        [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
        [Input(2)]
        [Dense(2, TrainBias = false), Sigmoid]
        [Dense(2, TrainBias = false), Sigmoid]
        public partial class GuardedExample;
        """;

    private INetwork<double> _guarded = null!, _unguarded = null!;
    private readonly double[] _input = [0.05, 0.10], _target = [0.01, 0.99];
    private readonly Sgd _sgd = new(0.5);

    static GuardBenchmarks()
    {
        // The generator is a Roslyn component (no entry in this app's deps.json): load it from beside this assembly.
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            string path = Path.Combine(AppContext.BaseDirectory, name.Name + ".dll");
            return name.Name == "NetGen.Generators" && File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
        };
    }

    /// <summary>Runs these benchmarks; arguments after <c>--bdn</c> go to BenchmarkDotNet.</summary>
    public static void Run(string[] args)
    {
        int bdn = Array.IndexOf(args, "--bdn");
        BenchmarkRunner.Run<GuardBenchmarks>(DefaultConfig.Instance.WithOptions(ConfigOptions.DisableOptimizationsValidator), bdn >= 0 ? args[(bdn + 1)..] : []);
    }

    [GlobalSetup]
    public void Setup()
    {
        string generated = Generate(Declaration);
        string unguarded = Unguard(generated).Replace("GuardedExample", "UnguardedExample");
        if (unguarded.Contains("global::NetGen.SingleThreaded.", StringComparison.Ordinal))
            throw new InvalidOperationException("The guard's generated lines changed: update GuardBenchmarks.Unguard.");
        var assembly = Compile(Declaration, generated, unguarded);
        _guarded = Create(assembly, "GuardedExample");
        _unguarded = Create(assembly, "UnguardedExample");
    }

    [Benchmark(Baseline = true)]
    public double UnguardedTrainStep() => _unguarded.TrainStep(_input, _target, _sgd);

    [Benchmark]
    public double GuardedTrainStep() => _guarded.TrainStep(_input, _target, _sgd);

    [Benchmark]
    public double UnguardedForward() => _unguarded.Forward(_input)[0];

    [Benchmark]
    public double GuardedForward() => _guarded.Forward(_input)[0];

    /// <summary>The generated code without the guard: each <c>bool entered = …Enter…; try {</c> becomes <c>{</c>, each
    /// <c>} finally { if (entered) …Exit…; }</c> becomes <c>}</c>, and the replica check in ZeroGradients goes.</summary>
    public static string Unguard(string source)
    {
        source = Regex.Replace(source, @"bool entered = global::NetGen\.SingleThreaded\.Enter\w*\([^;]*\);\s*try\s*\{", "{");
        source = Regex.Replace(source, @"\}\s*finally\s*\{\s*if \(entered\) global::NetGen\.SingleThreaded\.Exit\(ref _owner\);\s*\}", "}");
        source = Regex.Replace(source, @"if \(Training\) global::NetGen\.SingleThreaded\.RefuseTraining\([^;]*\);", "");
        return Regex.Replace(source, @"global::NetGen\.SingleThreaded\.RefuseTraining\([^;]*\);", "");
    }

    private static string Generate(string declaration)
    {
        var compilation = CSharpCompilation.Create("G", [CSharpSyntaxTree.ParseText(declaration, Parse)], References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var driver = CSharpGeneratorDriver.Create([new NetworkGenerator().AsSourceGenerator()], parseOptions: Parse).RunGenerators(compilation);
        return driver.GetRunResult().GeneratedTrees.Single().ToString();
    }

    /// <summary>The declaration with its generated part (GuardedExample), and the unguarded copy of the generated part
    /// under another name (UnguardedExample: a plain partial class, no longer generated from), in one assembly.</summary>
    private static Assembly Compile(params string[] sources)
    {
        var compilation = CSharpCompilation.Create("GuardBenchmark" + Guid.NewGuid().ToString("N"),
            sources.Select(s => CSharpSyntaxTree.ParseText(s, Parse)), References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
            throw new InvalidOperationException("The guard benchmark's networks do not compile:\n" +
                string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)));
        stream.Position = 0;
        return AssemblyLoadContext.Default.LoadFromStream(stream);
    }

    private static INetwork<double> Create(Assembly assembly, string name) =>
        (INetwork<double>)Activator.CreateInstance(assembly.GetType(name, throwOnError: true)!, 1, 42)!;

    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    private static readonly MetadataReference[] References =
    [
        .. Basic.Reference.Assemblies.Net100.References.All,
        MetadataReference.CreateFromFile(typeof(INetwork<>).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location),
    ];
}
