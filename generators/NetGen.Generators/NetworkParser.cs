using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generators.Model;

namespace NetGen.Generators;

/// <summary>Reads a [Network] class into a <see cref="NetworkSpec"/>. Shared with the analyzers (compiled into both
/// assemblies); never throws on bad input: what cannot be read becomes a <see cref="LayerKind.Unknown"/> layer or a
/// class problem.</summary>
internal static class NetworkParser
{
    internal const string NetworkAttributeName = "NetGen.NetworkAttribute";

    internal const string LayerAttributeBase = "NetGen.LayerAttribute";

    public static NetworkSpec? TryParse(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type) return null;
        try
        {
            // [Network] written on several partial declarations: generate once, for the first of them
            // (the compiler reports the duplicate attribute itself).
            var first = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == NetworkAttributeName);
            if (first?.ApplicationSyntaxReference is { } r && context.Attributes.Length > 0
                && context.Attributes[0].ApplicationSyntaxReference is { } mine
                && (mine.SyntaxTree != r.SyntaxTree || mine.Span != r.Span))
                return null;
            return Parse(type, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A malformed declaration must never crash the compiler; emit nothing for it.
            return null;
        }
    }

    /// <summary>A name as it must be written in C#: reserved keywords get an @ (a class named @event).</summary>
    internal static string Escape(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    public static NetworkSpec Parse(INamedTypeSymbol type, CancellationToken ct)
    {
        var network = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == NetworkAttributeName);
        // The [Network] object as the declaration builds it: unset options keep NetworkAttribute's defaults.
        var options = (network is null ? null : AttributeReader.Create<Declared.NetworkAttribute>(network)) ?? new Declared.NetworkAttribute();
        var loss = (LossKind)(int)options.Loss;
        int precision = (int)options.Precision;
        int unroll = options.UnrollThreshold;

        // Attributes of one declaration come back in source order; across partial declarations they follow
        // file order, which is why the analyzers insist that layers sit on one declaration.
        var layers = new List<LayerSpec>();
        foreach (var attribute in type.GetAttributes())
        {
            ct.ThrowIfCancellationRequested();
            if (!IsLayerAttribute(attribute.AttributeClass)) continue;
            layers.Add(ParseLayer(attribute));
        }

        var containing = new List<string>();
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            containing.Insert(0, "partial " + TypeKeyword(outer) + " " + Escape(outer.Name));

        var namespaces = new List<string>();
        for (var n = type.ContainingNamespace; n is { IsGlobalNamespace: false }; n = n.ContainingNamespace) namespaces.Insert(0, n.Name);
        string? ns = namespaces.Count > 0 ? string.Join(".", namespaces.Select(Escape)) : null;
        // The full metadata name (namespaces joined by '.', nested types by '+', a generic outer type's arity after '`'),
        // which no two types of a compilation share; NetworkGenerator.HintName makes it a case-insensitively unique hint.
        string fileName = (namespaces.Count > 0 ? string.Join(".", namespaces) + "." : "") + string.Join("+", EnumerateContainingNames(type));

        return new NetworkSpec(ns, type.Name, new EquatableArray<string>(containing), fileName, loss, precision, unroll,
            new EquatableArray<LayerSpec>(layers), FindClassProblem(type))
        {
            Head = options.Head == Declared.DetectionHead.None ? null
                : new DetectionHeadSpec((int)options.Head, options.BoxesPerCell, options.Classes, options.Grid),
        };
    }

    private static IEnumerable<string> EnumerateContainingNames(INamedTypeSymbol type)
    {
        var names = new List<string>();
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType) names.Insert(0, t.Arity > 0 ? t.Name + "`" + t.Arity : t.Name);
        return names;
    }

    private static string TypeKeyword(INamedTypeSymbol t) => t switch
    {
        { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
        { IsRecord: true } => "record",
        { TypeKind: TypeKind.Struct } => "struct",
        { TypeKind: TypeKind.Interface } => "interface",
        _ => "class",
    };

    /// <summary>Members every generated network has: a class of one of these names cannot be a network (a member
    /// cannot have its class's name).</summary>
    internal static readonly string[] GeneratedMemberNames =
    [
        "InputSize", "OutputSize", "ParameterCount", "Summary", "MaxBatch", "Training", "Parameters", "Gradients", "State", "Tensors",
        "Layers", "Output", "Forward", "Loss", "Backward", "BackwardFromTarget", "ZeroGradients", "TrainStep", "Explain",
    ];

    /// <summary>.NET and ILGPU types the generated code names without <c>global::</c> (Unsafe.Add, Vector256&lt;T&gt;,
    /// ArrayView&lt;T&gt; …): inside a class of one of these names the name would mean the class.</summary>
    internal static readonly string[] TypesTheCodeNames =
    [
        "Unsafe", "Vector128", "Vector256", "Vector512", "MethodImpl", "MethodImplAttribute", "MethodImplOptions", "ArrayView", "Index1D",
        "Stride1D", "MemoryBuffer1D", "Action", "ILGPU", "System",
    ];

    /// <summary>Why no code can be emitted onto this class, or null.</summary>
    private static ClassProblem? FindClassProblem(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || type.IsRecord)
            return new(Descriptors.NotAClass, $"{type.Name} must be a class to be a network: write 'partial class {type.Name}'.");
        foreach (var reference in type.DeclaringSyntaxReferences)
            if (reference.GetSyntax() is TypeDeclarationSyntax c && !c.Modifiers.Any(SyntaxKind.PartialKeyword))
                return new(Descriptors.NotPartial, $"{type.Name} must be declared partial so NetGen can add the generated members: write 'partial class {type.Name}'.");
        if (type.IsStatic) return new(Descriptors.Static, $"{type.Name} is static, but a network is an object with buffers: remove 'static'.");
        if (type.TypeParameters.Length > 0) return new(Descriptors.Generic, $"{type.Name} is generic; a network's shapes are fixed at compile time: remove the type parameters.");
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (outer.TypeParameters.Length > 0) return new(Descriptors.NestedInGeneric, $"{type.Name} is nested in the generic type {outer.Name}: move it out.");
            foreach (var reference in outer.DeclaringSyntaxReferences)
                if (reference.GetSyntax() is TypeDeclarationSyntax d && !d.Modifiers.Any(SyntaxKind.PartialKeyword))
                    return new(Descriptors.NotPartial, $"{type.Name} is nested in {outer.Name}, which must be partial too.");
        }
        // NG0037: declarations the generated code cannot extend (nothing is generated for them).
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            if (t.IsFileLocal)
                return new(Descriptors.ClashesWithGeneratedCode, $"{type.Name} is{(SymbolEqualityComparer.Default.Equals(t, type) ? "" : $" nested in {t.Name}, which is")} a file-local class ('file'): a generator cannot add members to it from another file, so it would never be extended. Remove 'file' (make it internal).");
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            if (Array.IndexOf(TypesTheCodeNames, t.Name) >= 0)
                return new(Descriptors.ClashesWithGeneratedCode, $"{(SymbolEqualityComparer.Default.Equals(t, type) ? $"A network cannot be called {t.Name}" : $"{type.Name} cannot be nested in a class called {t.Name}")}: the code NetGen generates names the .NET type {t.Name}, which inside it would mean the class. Rename the class (e.g. {t.Name}Net).");
        if (Array.IndexOf(GeneratedMemberNames, type.Name) >= 0)
            return new(Descriptors.ClashesWithGeneratedCode, $"A network cannot be called {type.Name}: NetGen generates a member {type.Name}, and a member cannot have its class's name. Rename the class (e.g. {type.Name}Net).");
        if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType)
        {
            if (baseType.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == NetworkAttributeName))
                return new(Descriptors.ClashesWithGeneratedCode, $"{type.Name} derives from the network {baseType.Name}, whose generated members its own would hide: compose networks (hold a {baseType.Name} in a field) instead of deriving one from another.");
            if (!baseType.InstanceConstructors.Any(c => c.DeclaredAccessibility is not (Accessibility.Private or Accessibility.NotApplicable) && c.Parameters.All(p => p.IsOptional || p.IsParams)))
                return new(Descriptors.ClashesWithGeneratedCode, $"{type.Name}'s base class {baseType.Name} has no accessible parameterless constructor, which the generated constructor {type.Name}(int maxBatch, int seed) calls: give {baseType.Name} one, or do not derive from it.");
        }
        return null;
    }

    private static bool IsLayerAttribute(INamedTypeSymbol? attributeClass)
    {
        for (var t = attributeClass?.BaseType; t is not null; t = t.BaseType)
            if (t.ToDisplayString() == LayerAttributeBase) return true;
        return false;
    }

    /// <summary>A layer attribute → its kind (by the attribute's name, found in <see cref="LayerCatalog"/>) and its
    /// options, read by the kind's definition from the attribute object the declaration builds. What cannot be read is
    /// an <see cref="LayerKind.Unknown"/> layer (NG0005).</summary>
    private static LayerSpec ParseLayer(AttributeData attribute)
    {
        string name = attribute.AttributeClass!.Name;
        if (name.EndsWith("Attribute", StringComparison.Ordinal)) name = name.Substring(0, name.Length - "Attribute".Length);
        // A constructor that did not bind (wrong arguments) leaves nothing to read.
        if (attribute.AttributeConstructor is not null && LayerCatalog.ForAttribute(name) is { } definition
            && definition.Read(attribute) is { } options)
            return new LayerSpec(definition.Kind, name, options);
        return new LayerSpec(LayerKind.Unknown, name, NoOptions.Instance);
    }
}
