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
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.InternalError, Location.None, file.HintName, file.InternalError));
    }

    /// <summary>
    /// The generated file's hint name, unique by construction even compared ignoring case (as hint names are: two
    /// networks <c>Net</c> and <c>NET</c>, namespaces <c>Models</c> and <c>models</c>, or <c>namespace outer { Net }</c>
    /// beside <c>class Outer { Net }</c> must not get one file name, or the generator fails with CS8785 and every
    /// network of the project loses its code). From the full metadata name (<c>App.Outer+Net</c>: no two types share
    /// it): every character but ASCII letters, digits, '_', '.', '+' and '`' is written as its code in lower-case
    /// hexadecimal between braces (ASCII only, and injective: no name contains a brace); then '-' and the positions of
    /// the upper-case letters
    /// as a hexadecimal bit mask (lower-case digits); then 'g' for the GPU variant (not a hexadecimal digit):
    /// <c>App.Outer+Net-211.g.cs</c>, <c>App.Outer+Net-211g.g.cs</c>. Two hint names equal ignoring case have the same
    /// letters ignoring case and the same upper-case positions, so they are the same name, of the same variant.
    /// </summary>
    internal static string HintName(string fullName, bool gpu)
    {
        var name = new System.Text.StringBuilder(fullName.Length + 8);
        foreach (char ch in fullName)
        {
            if (ch < 128 && (char.IsLetterOrDigit(ch) || ch is '_' or '.' or '+' or '`')) name.Append(ch);
            else name.Append('{').Append(((int)ch).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)).Append('}');
        }
        string ascii = name.ToString();
        var mask = new System.Text.StringBuilder(ascii.Length / 4 + 2);
        for (int start = 0; start < ascii.Length; start += 4)
        {
            int digit = 0;
            for (int bit = 0; bit < 4 && start + bit < ascii.Length; bit++)
                if (ascii[start + bit] is >= 'A' and <= 'Z') digit |= 1 << bit;
            mask.Insert(0, "0123456789abcdef"[digit]);
        }
        string hex = mask.ToString().TrimStart('0');
        return ascii + "-" + (hex.Length == 0 ? "0" : hex) + (gpu ? "g" : "") + ".g.cs";
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
}

/// <summary>The emit step's output: equatable, so an unchanged network re-adds nothing.</summary>
internal sealed record GeneratedFile(string HintName, string Source, string? InternalError);
