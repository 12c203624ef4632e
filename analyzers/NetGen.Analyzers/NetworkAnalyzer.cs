using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using NetGen.Generators;
using NetGen.Generators.Model;

namespace NetGen.Analyzers;

/// <summary>
/// Reports every problem of a network declaration where it is written: parses the [Network] class with the generator's
/// parser, runs the generator's shape inference (<see cref="Shapes.Infer"/>), and maps each problem's layer index back
/// to the attribute — and, when the problem names one, to the argument (<c>Stride = 2</c>) — that causes it. Adds the
/// checks that need syntax: layers on several partial declarations, layer attributes on a class without [Network].
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class NetworkAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Diagnostic property: how many fixes the diagnostic carries (Fix0.Title, Fix0.Ops …).</summary>
    public const string FixCountProperty = "FixCount";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Descriptors.All;

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var network = start.Compilation.GetTypeByMetadataName(NetworkParser.NetworkAttributeName);
            var layer = start.Compilation.GetTypeByMetadataName(NetworkParser.LayerAttributeBase);
            if (network is null || layer is null) return;   // NetGen is not referenced: nothing to check
            start.RegisterSymbolAction(c => AnalyzeType(c, network, layer), SymbolKind.NamedType);
        });
    }

    private static bool IsLayer(INamedTypeSymbol? attributeClass, INamedTypeSymbol layerBase)
    {
        for (var t = attributeClass?.BaseType; t is not null; t = t.BaseType)
            if (SymbolEqualityComparer.Default.Equals(t, layerBase)) return true;
        return false;
    }

    private static void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol networkAttribute, INamedTypeSymbol layerBase)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var ct = context.CancellationToken;
        var attributes = type.GetAttributes();
        AttributeData? network = null;
        var layers = new List<AttributeData>();
        foreach (var a in attributes)
        {
            if (network is null && SymbolEqualityComparer.Default.Equals(a.AttributeClass, networkAttribute)) network = a;
            else if (IsLayer(a.AttributeClass, layerBase)) layers.Add(a);
        }
        if (network is null)
        {
            if (layers.Count > 0 && Syntax(layers[0], ct) is { } first)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.LayersWithoutNetwork, first.GetLocation(),
                    $"[{Name(layers[0])}] is a layer attribute, but {type.Name} has no [Network]: the layers are ignored and no network is generated. Add [Network] above them."));
            return;
        }

        var networkSyntax = Syntax(network, ct);
        var declaration = networkSyntax?.Parent?.Parent as TypeDeclarationSyntax;
        var spec = NetworkParser.Parse(type, ct);

        if (spec.ClassProblem is { } classProblem) ReportClassProblem(context, type, declaration, classProblem);
        else ReportClashes(context, type, declaration);
        ReportLayersOnSeveralDeclarations(context, type, declaration, layers);

        Shapes.Infer(spec, out var problems);
        foreach (var problem in problems)
        {
            ct.ThrowIfCancellationRequested();
            var descriptor = problem.Descriptor;
            AttributeSyntax? attribute = problem.LayerIndex >= 0 && problem.LayerIndex < layers.Count ? Syntax(layers[problem.LayerIndex], ct) : null;
            Location location;
            if (attribute is not null)
                location = Locate(attribute, layers[problem.LayerIndex], problem.Argument);
            else if (problem.LayerIndex < 0 && problem.Argument is not null && networkSyntax is not null)
                location = Locate(networkSyntax, network, problem.Argument);
            else
                location = (declaration ?? FirstDeclaration(type, ct))?.Identifier.GetLocation() ?? type.Locations.FirstOrDefault() ?? Location.None;

            // Additional locations, read by the code fixes: [0] the layer attribute (or the location itself), [1] the
            // [Network] attribute, then the related [Network] argument when it is written.
            var additional = new List<Location> { attribute?.GetLocation() ?? location, networkSyntax?.GetLocation() ?? location };
            if (problem.Related is { } related && networkSyntax is not null && FindArgument(networkSyntax, network, related) is { } r)
                additional.Add(r.GetLocation());

            var properties = ImmutableDictionary.CreateBuilder<string, string?>();
            if (problem.Fixes.Length > 0)
            {
                properties[FixCountProperty] = problem.Fixes.Length.ToString(CultureInfo.InvariantCulture);
                for (int i = 0; i < problem.Fixes.Length; i++)
                {
                    properties["Fix" + i + ".Title"] = problem.Fixes[i].Title;
                    properties["Fix" + i + ".Ops"] = problem.Fixes[i].Operations;
                }
            }
            context.ReportDiagnostic(Diagnostic.Create(descriptor, location, additional, properties.ToImmutable(), problem.Message));
        }
    }

    private static AttributeSyntax? Syntax(AttributeData attribute, CancellationToken ct) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(ct) as AttributeSyntax;

    private static string Name(AttributeData attribute)
    {
        string name = attribute.AttributeClass?.Name ?? "?";
        return name.EndsWith("Attribute", StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

    private static TypeDeclarationSyntax? FirstDeclaration(INamedTypeSymbol type, CancellationToken ct) =>
        type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<TypeDeclarationSyntax>().FirstOrDefault();

    /// <summary>The problem's argument inside the attribute: the first of its '|'-separated candidates that is written,
    /// else the whole attribute.</summary>
    internal static Location Locate(AttributeSyntax attribute, AttributeData data, string? argument)
    {
        if (argument is not null)
            foreach (string candidate in argument.Split('|'))
                if (FindArgument(attribute, data, candidate) is { } found) return found.GetLocation();
        return attribute.GetLocation();
    }

    /// <summary>A named argument ("Stride"), a constructor parameter ("units", by name or position) or an element of a
    /// params array ("shape[1]") as written, or null.</summary>
    internal static AttributeArgumentSyntax? FindArgument(AttributeSyntax attribute, AttributeData data, string name)
    {
        var arguments = attribute.ArgumentList?.Arguments;
        if (arguments is null) return null;
        int element = -1;
        int bracket = name.IndexOf('[');
        if (bracket > 0)
        {
            element = int.Parse(name.Substring(bracket + 1, name.Length - bracket - 2), CultureInfo.InvariantCulture);
            name = name.Substring(0, bracket);
        }
        foreach (var a in arguments)
            if (a.NameEquals?.Name.Identifier.ValueText == name) return a;
        var parameters = data.AttributeConstructor?.Parameters ?? ImmutableArray<IParameterSymbol>.Empty;
        var parameter = parameters.FirstOrDefault(p => p.Name == name);
        if (parameter is null) return null;
        foreach (var a in arguments)
            if (a.NameColon?.Name.Identifier.ValueText == name) return a;
        var positional = arguments.Value.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
        int index = parameter.Ordinal + (parameter.IsParams && element > 0 ? element : 0);
        return index < positional.Count ? positional[index] : null;
    }

    /// <summary>NG0030–NG0034: the parser says why nothing can be added to the class; report it on the declaration
    /// that causes it (the one without 'partial', possibly an enclosing type's).</summary>
    private static void ReportClassProblem(SymbolAnalysisContext context, INamedTypeSymbol type, TypeDeclarationSyntax? declaration, ClassProblem problem)
    {
        var descriptor = problem.Descriptor;
        string message = problem.Message;
        Location? location = null;
        if (descriptor == Descriptors.NotPartial)
        {
            for (INamedTypeSymbol? t = type; t is not null && location is null; t = t.ContainingType)
                foreach (var r in t.DeclaringSyntaxReferences)
                    if (r.GetSyntax(context.CancellationToken) is TypeDeclarationSyntax d && !d.Modifiers.Any(SyntaxKind.PartialKeyword))
                    {
                        location = d.Identifier.GetLocation();
                        break;
                    }
        }
        else if (descriptor == Descriptors.NestedInGeneric)
        {
            for (var outer = type.ContainingType; outer is not null && location is null; outer = outer.ContainingType)
                if (outer.TypeParameters.Length > 0)
                    location = (outer.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken) as TypeDeclarationSyntax)?.Identifier.GetLocation();
        }
        location ??= declaration?.Identifier.GetLocation() ?? type.Locations.FirstOrDefault() ?? Location.None;
        context.ReportDiagnostic(Diagnostic.Create(descriptor, location, message));
    }

    private static bool IsGenerated(SyntaxTree? tree) => tree is not null && tree.FilePath.Contains("NetGen.Generators.NetworkGenerator");

    /// <summary>NG0037: what the user wrote that the generated code cannot compile beside — a member with the name (and,
    /// for methods and constructors, the parameter types) of a generated one, reported at the user's member; a
    /// generated member with the class's own name (a network called like one of its views, or called Gpu with
    /// NetGen.Gpu); a name the generated code uses (Unsafe, Vector256, ArrayView …) that in this class means
    /// something the user declared (a type Unsafe in the network's namespace, a member called Unsafe).</summary>
    private static void ReportClashes(SymbolAnalysisContext context, INamedTypeSymbol type, TypeDeclarationSyntax? declaration)
    {
        var ct = context.CancellationToken;
        var members = type.GetMembers();
        if (!members.Any(m => m.DeclaringSyntaxReferences.Any(r => IsGenerated(r.SyntaxTree)))) return;   // nothing generated (yet)
        // Members only the generator declares; a nested network's own file declares its class (partial) too, which is no clash.
        var generated = members.Where(m => !m.IsImplicitlyDeclared && m.DeclaringSyntaxReferences.Length > 0 && m.DeclaringSyntaxReferences.All(r => IsGenerated(r.SyntaxTree))).ToList();
        Location classLocation = declaration?.Identifier.GetLocation() ?? type.Locations.FirstOrDefault() ?? Location.None;
        var reportedMembers = new List<ISymbol>();
        foreach (var member in members)
        {
            if (member.IsImplicitlyDeclared) continue;
            var mine = member.Locations.FirstOrDefault(l => l.IsInSource && !IsGenerated(l.SourceTree));
            if (mine is null) continue;
            // A nested class of the user's merged with a generated one that is not partial (a network called Gpu nested
            // in a network, beside the outer one's generated Gpu class), or a generated member of the same name.
            bool merged = member is INamedTypeSymbol && member.DeclaringSyntaxReferences.Any(r => IsGenerated(r.SyntaxTree)
                && r.GetSyntax(ct) is TypeDeclarationSyntax d && !d.Modifiers.Any(SyntaxKind.PartialKeyword));
            var clash = merged ? member : generated.FirstOrDefault(g => g.Name == member.Name && !SymbolEqualityComparer.Default.Equals(g, member) && SameSignature(member, g));
            if (clash is null) continue;
            string what = member is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor
                ? $"a constructor ({string.Join(", ", constructor.Parameters.Select(p => p.Type.ToDisplayString()))}), as the generated {type.Name}(int maxBatch, int seed)"
                : $"'{member.Name}', a name NetGen generates in the network ({Kind(clash)} {clash.Name})";
            reportedMembers.Add(member);
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.ClashesWithGeneratedCode, mine,
                $"{type.Name} declares {what}: the generated code cannot compile beside it. Rename your member, or move it out of the network class."));
        }
        if (generated.FirstOrDefault(g => g.Name == type.Name) is { } named)
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.ClashesWithGeneratedCode, classLocation,
                $"NetGen generates a {Kind(named)} {named.Name} in {type.Name}, and a member cannot have its class's name: rename the class (e.g. {type.Name}Net)."));

        // The names the generated code starts a type or member reference with, each bound once where it is used.
        var trees = type.DeclaringSyntaxReferences.Select(r => r.SyntaxTree).Where(IsGenerated).Distinct().ToList();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tree in trees)
        {
            if (!context.Compilation.ContainsSyntaxTree(tree)) continue;
            var firstUse = new Dictionary<string, SimpleNameSyntax>(StringComparer.Ordinal);
            foreach (var node in tree.GetRoot(ct).DescendantNodes().OfType<SimpleNameSyntax>())
            {
                string name = node.Identifier.ValueText;
                // One use per name and number of type arguments: Vector256<float> and a bare Vector256 bind to
                // different types, so a user's non-generic Vector256 is seen only at a non-generic use.
                string key = node is GenericNameSyntax generic ? name + "`" + generic.TypeArgumentList.Arguments.Count.ToString(CultureInfo.InvariantCulture) : name;
                if (name.Length == 0 || !char.IsUpper(name[0]) || firstUse.ContainsKey(key)) continue;
                bool leftmost = node.Parent switch
                {
                    MemberAccessExpressionSyntax m => m.Expression == node,
                    QualifiedNameSyntax q => q.Left == node,
                    AliasQualifiedNameSyntax => false,
                    MemberBindingExpressionSyntax => false,
                    NameEqualsSyntax or NameColonSyntax => false,
                    _ => true,
                };
                if (leftmost) firstUse[key] = node;
            }
            if (firstUse.Count == 0) continue;
            // The generated tree is not analyzed by semantic-model actions (generated code is excluded); binding a few
            // names of it here, once per network, is the check.
#pragma warning disable RS1030
            var model = context.Compilation.GetSemanticModel(tree);
#pragma warning restore RS1030
            foreach (var use in firstUse)
            {
                var node = use.Value;
                string name = node.Identifier.ValueText;
                ct.ThrowIfCancellationRequested();
                if (reported.Contains(name)) continue;
                var info = model.GetSymbolInfo(node, ct);
                var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                if (symbol is null || symbol.DeclaringSyntaxReferences.Length == 0 || symbol.DeclaringSyntaxReferences.Any(r => IsGenerated(r.SyntaxTree))) continue;
                if (symbol is IParameterSymbol or ILocalSymbol or IRangeVariableSymbol || reportedMembers.Any(m => SymbolEqualityComparer.Default.Equals(m, symbol))) continue;
                reported.Add(name);
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ClashesWithGeneratedCode, classLocation,
                    $"The code NetGen generates for {type.Name} uses the name '{name}' (a .NET or NetGen type or member), but in {type.Name} it means your {Kind(symbol)} {symbol.ToDisplayString()}: rename it, or declare the network where it is not in scope (another namespace)."));
            }
        }
    }

    private static string Kind(ISymbol symbol) => symbol switch
    {
        INamedTypeSymbol t => t.TypeKind.ToString().ToLowerInvariant(),
        INamespaceSymbol => "namespace",
        IMethodSymbol => "method",
        _ => symbol.Kind.ToString().ToLowerInvariant(),
    };

    private static bool SameSignature(ISymbol a, ISymbol b) =>
        a is not IMethodSymbol ma || b is not IMethodSymbol mb
        || ma.Parameters.Select(p => p.Type).SequenceEqual(mb.Parameters.Select(p => p.Type), SymbolEqualityComparer.Default);

    /// <summary>NG0035: attribute order across partial declarations follows file order, so the layers must sit on one
    /// declaration. Reported on the first layer attribute of every declaration other than the one with [Network].</summary>
    private static void ReportLayersOnSeveralDeclarations(SymbolAnalysisContext context, INamedTypeSymbol type, TypeDeclarationSyntax? main, List<AttributeData> layers)
    {
        var byDeclaration = new List<(TypeDeclarationSyntax Declaration, List<AttributeSyntax> Attributes)>();
        foreach (var layer in layers)
        {
            if (Syntax(layer, context.CancellationToken) is not { Parent.Parent: TypeDeclarationSyntax d } syntax) continue;
            var entry = byDeclaration.FirstOrDefault(e => e.Declaration == d);
            if (entry.Declaration is null) byDeclaration.Add((d, new List<AttributeSyntax> { syntax }));
            else entry.Attributes.Add(syntax);
        }
        if (byDeclaration.Count < 2) return;
        var home = main is not null && byDeclaration.Any(e => e.Declaration == main) ? main : byDeclaration[0].Declaration;
        string files = string.Join(", ", byDeclaration.Select(e => System.IO.Path.GetFileName(e.Declaration.SyntaxTree.FilePath)).Distinct());
        foreach (var (declaration, attributes) in byDeclaration)
        {
            if (declaration == home) continue;
            string names = string.Join(", ", attributes.Select(a => "[" + a.Name + "]"));
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.LayersOnSeveralDeclarations, attributes[0].GetLocation(),
                $"{type.Name} has layer attributes on {byDeclaration.Count} partial declarations ({files}): their order would follow the order of the files in the compilation. Move {names} to the declaration with [Network]."));
        }
    }
}
