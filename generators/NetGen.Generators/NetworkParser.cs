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
        LossKind loss = LossKind.CrossEntropy;
        int precision = 0;
        int unroll = 64;
        if (network is not null)
        {
            foreach (var arg in network.NamedArguments)
            {
                switch (arg.Key)
                {
                    case "Loss" when arg.Value.Value is int l: loss = (LossKind)l; break;
                    case "Precision" when arg.Value.Value is int p: precision = p; break;
                    case "UnrollThreshold" when arg.Value.Value is int u: unroll = u; break;
                }
            }
        }

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
        // The hint name: unescaped, with each generic outer type's arity, so Outer<T>.Net and Outer.Net differ.
        string fileName = string.Join(".", namespaces.Concat(EnumerateContainingNames(type)));

        return new NetworkSpec(ns, type.Name, new EquatableArray<string>(containing), fileName, loss, precision, unroll,
            new EquatableArray<LayerSpec>(layers), ClassProblem(type));
    }

    private static IEnumerable<string> EnumerateContainingNames(INamedTypeSymbol type)
    {
        var names = new List<string>();
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType) names.Insert(0, t.Arity > 0 ? t.Name + "_" + t.Arity : t.Name);
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

    /// <summary>The public members every generated network has (a class of one of these names cannot be a network).</summary>
    private static readonly string[] GeneratedMemberNames =
    [
        "InputSize", "OutputSize", "ParameterCount", "Summary", "MaxBatch", "Training", "Parameters", "Gradients", "State", "Tensors",
        "Output", "Forward", "Loss", "Backward", "ZeroGradients", "TrainStep", "Explain", "Layers",
    ];

    /// <summary>Why no code can be emitted onto this class, or null.</summary>
    private static string? ClassProblem(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || type.IsRecord)
            return $"NG0034: {type.Name} must be a class to be a network: write 'partial class {type.Name}'.";
        foreach (var reference in type.DeclaringSyntaxReferences)
            if (reference.GetSyntax() is TypeDeclarationSyntax c && !c.Modifiers.Any(SyntaxKind.PartialKeyword))
                return $"NG0030: {type.Name} must be declared partial so NetGen can add the generated members: write 'partial class {type.Name}'.";
        if (type.IsStatic) return $"NG0031: {type.Name} is static, but a network is an object with buffers: remove 'static'.";
        if (type.TypeParameters.Length > 0) return $"NG0032: {type.Name} is generic; a network's shapes are fixed at compile time: remove the type parameters.";
        if (System.Array.IndexOf(GeneratedMemberNames, type.Name) >= 0)
            return $"NG0037: a network cannot be called {type.Name}: NetGen generates a member {type.Name}, and a member cannot have its class's name. Rename the class (e.g. {type.Name}Net).";
        foreach (var reference in type.DeclaringSyntaxReferences)
            if (reference.GetSyntax() is TypeDeclarationSyntax f && f.Modifiers.Any(SyntaxKind.FileKeyword))
                return $"NG0037: {type.Name} is a file-local class ('file'): a generator cannot add members to it from another file. Remove 'file' (make it internal).";
        if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType)
        {
            if (baseType.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == NetworkAttributeName))
                return $"NG0037: {type.Name} derives from the network {baseType.Name}, whose generated members it would hide: compose networks (hold a {baseType.Name} in a field) instead of deriving one from another.";
            if (!baseType.InstanceConstructors.Any(c => c.Parameters.All(p => p.IsOptional || p.IsParams) && c.DeclaredAccessibility is not Accessibility.Private))
                return $"NG0037: {type.Name}'s base class {baseType.Name} has no accessible parameterless constructor, which the generated constructor calls: add one to {baseType.Name}, or do not derive from it.";
        }
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (outer.TypeParameters.Length > 0) return $"NG0033: {type.Name} is nested in the generic type {outer.Name}: move it out.";
            foreach (var reference in outer.DeclaringSyntaxReferences)
                if (reference.GetSyntax() is TypeDeclarationSyntax d && !d.Modifiers.Any(SyntaxKind.PartialKeyword))
                    return $"NG0030: {type.Name} is nested in {outer.Name}, which must be partial too.";
        }
        return null;
    }

    private static bool IsLayerAttribute(INamedTypeSymbol? attributeClass)
    {
        for (var t = attributeClass?.BaseType; t is not null; t = t.BaseType)
            if (t.ToDisplayString() == LayerAttributeBase) return true;
        return false;
    }

    private static LayerSpec ParseLayer(AttributeData attribute)
    {
        string name = attribute.AttributeClass!.Name;
        if (name.EndsWith("Attribute", StringComparison.Ordinal)) name = name.Substring(0, name.Length - "Attribute".Length);
        var kind = name switch
        {
            "Input" => LayerKind.Input,
            "Dense" => LayerKind.Dense,
            "Step" => LayerKind.Step,
            "Sigmoid" => LayerKind.Sigmoid,
            "Tanh" => LayerKind.Tanh,
            "ReLU" => LayerKind.ReLU,
            "LeakyReLU" => LayerKind.LeakyReLU,
            "Softmax" => LayerKind.Softmax,
            "Identity" => LayerKind.Identity,
            "Conv2D" => LayerKind.Conv2D,
            "MaxPool" => LayerKind.MaxPool,
            "AvgPool" => LayerKind.AvgPool,
            "Flatten" => LayerKind.Flatten,
            "BatchNorm" => LayerKind.BatchNorm,
            "Dropout" => LayerKind.Dropout,
            _ => LayerKind.Unknown,
        };
        // A constructor that did not bind (wrong arguments) leaves nothing to read.
        if (attribute.AttributeConstructor is null) kind = LayerKind.Unknown;

        var sizes = new List<int>();
        double? number = null;
        foreach (var arg in attribute.ConstructorArguments)
        {
            if (arg.Kind == TypedConstantKind.Array)
            {
                if (!arg.IsNull) foreach (var v in arg.Values) if (v.Value is int i) sizes.Add(i);   // [Input(null)]: no sizes (an NG error), not a crash
            }
            else if (arg.Value is int i) sizes.Add(i);
            else if (arg.Value is double d) number = d;
        }

        var spec = new LayerSpec(kind, name, new EquatableArray<int>(sizes))
        {
            Stride = kind == LayerKind.Conv2D ? 1 : 0,
        };
        if (number is double n)
            spec = kind == LayerKind.Dropout ? spec with { Rate = n } : spec with { Alpha = n };
        foreach (var arg in attribute.NamedArguments)
        {
            object? v = arg.Value.Value;
            spec = (arg.Key, v) switch
            {
                ("Bias", bool b) => spec with { Bias = b },
                ("TrainBias", bool b) => spec with { TrainBias = b },
                ("Kernel", int k) => spec with { Kernel = k },
                ("KernelHeight", int k) => spec with { KernelHeight = k },
                ("KernelWidth", int k) => spec with { KernelWidth = k },
                ("Stride", int k) => spec with { Stride = k },
                ("Padding", int k) => spec with { Padding = k },
                ("RoundDown", bool b) => spec with { RoundDown = b },
                ("Momentum", double d) => spec with { Momentum = d },
                ("Epsilon", double d) => spec with { Epsilon = d },
                ("L1", double d) => spec with { L1 = d },
                ("L2", double d) => spec with { L2 = d },
                _ => spec,
            };
        }
        return spec with { TrainBias = spec.TrainBias && spec.Bias };
    }
}
