using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetGen.Generators;

namespace NetGen.Deploy.Tests.Infrastructure;

/// <summary>Runs the NetGen generator on declarations written at test time, compiles and loads the result.</summary>
internal static class Generated
{
    private static readonly ImmutableArray<MetadataReference> References =
    [
        .. Basic.Reference.Assemblies.Net100.References.All,
        MetadataReference.CreateFromFile(typeof(INetwork<>).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location),
    ];

    public static Assembly CompileAndLoad(string source)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create("NetGen.Deploy.Dynamic" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, parse, path: "Networks.cs")], References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, optimizationLevel: OptimizationLevel.Release));
        var driver = CSharpGeneratorDriver.Create([new NetworkGenerator().AsSourceGenerator()], parseOptions: parse)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var result = driver.GetRunResult();
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        var errors = emit.Diagnostics.Concat(result.Diagnostics).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (!emit.Success || errors.Count > 0) throw new InvalidOperationException("Compilation failed:\n" + string.Join("\n", errors.Take(20)));
        stream.Position = 0;
        return AssemblyLoadContext.Default.LoadFromStream(stream);
    }

    public static INetwork<T> Create<T>(Assembly assembly, string typeName, int maxBatch, int seed = 42) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => (INetwork<T>)Activator.CreateInstance(assembly.GetType(typeName, throwOnError: true)!, maxBatch, seed)!;
}
