using System;
using Microsoft.CodeAnalysis;
using NetGen.Generators.Emit;
using NetGen.Generators.Model;

namespace NetGen.Generators;

/// <summary>
/// Compiles network declarations (<c>[Network]</c> classes with layer attributes) into specialised C#.
/// Pipeline: find [Network] classes → parse each into an equatable <see cref="NetworkSpec"/> → infer shapes and emit
/// one source file per network. Each step is named so tests can check that an unrelated edit re-emits nothing.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class NetworkGenerator : IIncrementalGenerator
{
    /// <summary>Names of the pipeline steps, for incrementality tests.</summary>
    public static class Steps
    {
        /// <summary>Declaration → <see cref="NetworkSpec"/>.</summary>
        public const string Parse = "NetGen.Parse";

        /// <summary><see cref="NetworkSpec"/> → generated source.</summary>
        public const string Emit = "NetGen.Emit";

        /// <summary>Compilation → whether it references NetGen.Gpu (then every network gets a nested Gpu class).</summary>
        public const string GpuEnabled = "NetGen.GpuEnabled";

        /// <summary><see cref="NetworkSpec"/> → the GPU variant's source.</summary>
        public const string EmitGpu = "NetGen.EmitGpu";
    }

    /// <summary>The type whose presence in the compilation's references turns the GPU variant on.</summary>
    internal const string GpuNetworkTypeName = "NetGen.Gpu.GpuNetwork`1";

    internal const string NetworkAttributeName = NetworkParser.NetworkAttributeName;

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var specs = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                NetworkAttributeName,
                predicate: static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax,
                transform: static (ctx, ct) => NetworkParser.TryParse(ctx, ct))
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!)
            .WithTrackingName(Steps.Parse);

        var files = specs
            .Select(static (spec, _) => EmitSafely(spec))
            .WithTrackingName(Steps.Emit);

        context.RegisterSourceOutput(files, Output);

        // The GPU variant: only when the project references NetGen.Gpu (and so ILGPU); a CPU-only project, which may
        // publish NativeAOT, gets no ILGPU code. A bool per compilation: an edit elsewhere leaves it equal and cached.
        var gpuEnabled = context.CompilationProvider
            .Select(static (compilation, _) => compilation.GetTypeByMetadataName(GpuNetworkTypeName) is not null)
            .WithTrackingName(Steps.GpuEnabled);
        var gpuFiles = specs
            .Combine(gpuEnabled)
            .Where(static pair => pair.Right)
            .Select(static (pair, _) => EmitSafely(pair.Left, gpu: true))
            .WithTrackingName(Steps.EmitGpu);
        context.RegisterSourceOutput(gpuFiles, Output);
    }

    private static void Output(SourceProductionContext ctx, GeneratedFile file)
    {
        if (file.Source.Length > 0) ctx.AddSource(file.HintName, file.Source);
        if (file.InternalError is not null)
            ctx.ReportDiagnostic(Diagnostic.Create(InternalError, Location.None, file.HintName, file.InternalError));
    }

    /// <summary>
    /// The generated file's hint name, unique by construction, case-insensitively (hint names are compared ignoring
    /// case, so <c>Net</c> and <c>NET</c>, or namespaces <c>Models</c> and <c>models</c>, must not map to one name):
    /// the dotted full name, a '-' (which no name contains), the positions of its upper-case letters as a hexadecimal
    /// bit mask (lower-case digits), and 'g' for the GPU variant (not a hexadecimal digit): <c>App.Net-9.g.cs</c>,
    /// <c>App.Net-9g.g.cs</c>. Two hint names equal ignoring case have the same name ignoring case, the same letters in
    /// upper case, and the same variant, so they are one network's file.
    /// </summary>
    internal static string HintName(string fileName, bool gpu)
    {
        var mask = new System.Text.StringBuilder(fileName.Length / 4 + 2);
        for (int start = 0; start < fileName.Length; start += 4)
        {
            int digit = 0;
            for (int bit = 0; bit < 4 && start + bit < fileName.Length; bit++)
                if (char.IsUpper(fileName[start + bit])) digit |= 1 << bit;
            mask.Insert(0, "0123456789abcdef"[digit]);
        }
        string hex = mask.ToString().TrimStart('0');
        return fileName + "-" + (hex.Length == 0 ? "0" : hex) + (gpu ? "g" : "") + ".g.cs";
    }

    /// <summary>Emits a network's source. A generator must never throw: an exception here is a NetGen bug, reported
    /// as NG9999 instead of failing the user's build with an opaque CS8785.</summary>
    internal static GeneratedFile EmitSafely(NetworkSpec spec, bool gpu = false)
    {
        string hint = HintName(spec.FileName, gpu);
        try
        {
            return new GeneratedFile(hint, gpu ? GpuNetworkEmitter.Emit(spec) : NetworkEmitter.Emit(spec), null);
        }
        catch (Exception e)
        {
            return new GeneratedFile(hint, "", e.GetType().Name + ": " + e.Message);
        }
    }

    private static readonly DiagnosticDescriptor InternalError = new(
        id: "NG9999",
        title: "NetGen generator internal error",
        messageFormat: "NetGen failed to generate {0}: {1}. This is a bug in NetGen; please report it with the declaration.",
        category: "NetGen",
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}

/// <summary>The emit step's output: equatable, so an unchanged network re-adds nothing.</summary>
internal sealed record GeneratedFile(string HintName, string Source, string? InternalError);
