using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetGen.Generators;

namespace NetGen.Tests.Infrastructure;

/// <summary>Runs the NetGen generator on source text in memory, as the compiler would, and optionally loads the result.</summary>
internal static class GeneratorHarness
{
    /// <summary>.NET 10 reference assemblies (nothing downloaded) plus the NetGen runtime and its one dependency.</summary>
    public static readonly ImmutableArray<MetadataReference> References =
    [
        .. Basic.Reference.Assemblies.Net100.References.All,
        MetadataReference.CreateFromFile(typeof(INetwork<>).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location),
    ];

    /// <summary><see cref="References"/> plus NetGen.Gpu and ILGPU: the generator then also emits each network's Gpu class.</summary>
    public static readonly ImmutableArray<MetadataReference> GpuReferences =
    [
        .. References,
        MetadataReference.CreateFromFile(typeof(NetGen.Gpu.GpuNetwork<>).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(ILGPU.Index1D).Assembly.Location),
    ];

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation CreateCompilation(params string[] sources) => CreateCompilation(gpu: false, sources);

    public static CSharpCompilation CreateCompilation(bool gpu, params string[] sources) => CSharpCompilation.Create(
        "NetGen.Dynamic" + Guid.NewGuid().ToString("N"),
        sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Source{i}.cs")),
        gpu ? GpuReferences : References,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, optimizationLevel: OptimizationLevel.Release));

    public static GeneratorDriver CreateDriver(bool trackSteps = false) => CSharpGeneratorDriver.Create(
        [new NetworkGenerator().AsSourceGenerator()],
        parseOptions: ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator; returns its result and the compilation including the generated code.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(params string[] sources) => Run(gpu: false, sources);

    /// <summary>As <see cref="Run(string[])"/>; with <paramref name="gpu"/> the compilation references NetGen.Gpu.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(bool gpu, params string[] sources)
    {
        var compilation = CreateCompilation(gpu, sources);
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult(), output);
    }

    /// <summary>Generates, compiles and loads an assembly from <paramref name="sources"/>; throws listing every
    /// error (generator exceptions included) if anything fails.</summary>
    public static Assembly CompileAndLoad(params string[] sources) => CompileAndLoad(gpu: false, sources);

    /// <summary>As <see cref="CompileAndLoad(string[])"/>; with <paramref name="gpu"/> every network also has its Gpu class.</summary>
    public static Assembly CompileAndLoad(bool gpu, params string[] sources)
    {
        var (result, output) = Run(gpu, sources);
        var generatorErrors = result.Results.Where(r => r.Exception is not null).Select(r => r.Exception!.ToString()).ToList();
        if (generatorErrors.Count > 0) throw new InvalidOperationException("The generator threw:\n" + string.Join("\n", generatorErrors));
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        var errors = emit.Diagnostics.Concat(result.Diagnostics).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (!emit.Success || errors.Count > 0)
            throw new InvalidOperationException("Compilation failed:\n" + string.Join("\n", errors.Take(20)));
        stream.Position = 0;
        // The default context resolves NetGen.dll to the same assembly the tests use, so INetwork<T> casts work.
        return AssemblyLoadContext.Default.LoadFromStream(stream);
    }

    /// <summary>The generated source for the network class named <paramref name="className"/>.</summary>
    public static string GeneratedSource(GeneratorDriverRunResult result, string className) =>
        result.GeneratedTrees.Single(t => IsFileOf(t.FilePath, className, gpu: false)).GetText().ToString();

    /// <summary>Whether <paramref name="path"/> is the generated file (CPU or GPU variant) of the network class
    /// <paramref name="className"/> (hint names: the full metadata name, '-', a case mask, 'g' for the GPU variant).</summary>
    public static bool IsFileOf(string path, string className, bool gpu)
    {
        string name = Path.GetFileName(path);
        int dash = name.LastIndexOf('-');
        if (dash < 0 || !name.EndsWith(".g.cs", StringComparison.Ordinal)) return false;
        string full = name[..dash], tag = name[(dash + 1)..^".g.cs".Length];
        return (full == className || full.EndsWith("." + className, StringComparison.Ordinal) || full.EndsWith("+" + className, StringComparison.Ordinal))
               && tag.EndsWith('g') == gpu;
    }

    /// <summary>Creates an instance of a generated network type through its (maxBatch, seed) constructor.</summary>
    public static INetwork<T> Create<T>(Assembly assembly, string typeName, int maxBatch, int seed = 42)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => (INetwork<T>)Activator.CreateInstance(assembly.GetType(typeName, throwOnError: true)!, maxBatch, seed)!;
}
