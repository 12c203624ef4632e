using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generators;

namespace NetGen.CodeFixes;

/// <summary>
/// The light-bulb fixes for NetGen diagnostics. A shape problem carries its own fixes (each an edit of attribute
/// arguments, computed by the rule that found it and labelled with the numbers), passed in the diagnostic's properties;
/// the declaration fixes — make the class partial, move the layers onto one declaration, add [Network] — work on the
/// class's declarations here.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(NetworkCodeFixProvider)), Shared]
public sealed class NetworkCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.CreateRange(new[]
    {
        Descriptors.DenseNeedsFlatten, Descriptors.RecurrentNeedsSequence, Descriptors.RecurrentReturnsLastStep, Descriptors.EmbeddingNotFirst, Descriptors.PerStepTargetMismatch, Descriptors.WindowTooLarge, Descriptors.SameNotSymmetric, Descriptors.DoesNotTile,
        Descriptors.SoftmaxNotLast, Descriptors.TwoActivations, Descriptors.ActivationFirst, Descriptors.FusedCrossEntropy,
        Descriptors.SoftmaxLossMismatch, Descriptors.BinaryCrossEntropyWithoutSigmoid, Descriptors.SoftmaxOverOneUnit,
        Descriptors.CrossEntropyAfterActivation, Descriptors.DetectionHeadChannels, Descriptors.DetectionGridMismatch, Descriptors.DetectionHeadActivation,
        Descriptors.NotPartial, Descriptors.LayersOnSeveralDeclarations, Descriptors.LayersWithoutNetwork,
    }.Select(d => d.Id));

    /// <inheritdoc />
    public override FixAllProvider? GetFixAllProvider() => null;   // each fix is a choice between numbers

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (diagnostic.Id == Descriptors.NotPartial.Id)
                RegisterMakePartial(context, diagnostic);
            else if (diagnostic.Id == Descriptors.LayersOnSeveralDeclarations.Id)
                RegisterMoveLayers(context, root, diagnostic);
            else if (diagnostic.Id == Descriptors.LayersWithoutNetwork.Id)
            {
                if (root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>() is { Parent.Parent: TypeDeclarationSyntax d })
                    context.RegisterCodeFix(CodeAction.Create("Add [Network]", ct => AddNetworkAsync(context.Document.Project.Solution, d, ct), "NG0036"), diagnostic);
            }
            else
                RegisterShapeFixes(context, diagnostic);
        }
    }

    /// <summary>The fixes a rule attached to its problem: Fix{i}.Title / Fix{i}.Ops (see ShapeFix in Shapes.cs).</summary>
    private static void RegisterShapeFixes(CodeFixContext context, Diagnostic diagnostic)
    {
        if (!diagnostic.Properties.TryGetValue("FixCount", out var countText) || !int.TryParse(countText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int count)) return;
        for (int i = 0; i < count; i++)
        {
            if (!diagnostic.Properties.TryGetValue("Fix" + i + ".Title", out var title) || title is null) continue;
            if (!diagnostic.Properties.TryGetValue("Fix" + i + ".Ops", out var ops) || ops is null) continue;
            context.RegisterCodeFix(CodeAction.Create(title, ct => ApplyAsync(context.Document.Project.Solution, diagnostic, ops, ct), diagnostic.Id + ":" + ops), diagnostic);
        }
    }

    private static async Task<Solution> ApplyAsync(Solution solution, Diagnostic diagnostic, string ops, CancellationToken ct)
    {
        var layer = await FindAttributeAsync(solution, diagnostic.AdditionalLocations.Count > 0 ? diagnostic.AdditionalLocations[0] : diagnostic.Location, ct).ConfigureAwait(false);
        var network = diagnostic.AdditionalLocations.Count > 1 ? await FindAttributeAsync(solution, diagnostic.AdditionalLocations[1], ct).ConfigureAwait(false) : null;
        if (layer is null) return solution;
        return await ApplyOperationsAsync(solution, layer, network, ops, ct).ConfigureAwait(false);
    }

    internal static Task<Solution> ApplyOperationsAsync(Solution solution, AttributeSyntax layer, AttributeSyntax? network, string ops, CancellationToken ct)
    {
        var edits = new AttributeEdits(solution);
        foreach (string op in ops.Split(';')) edits.Apply(op, layer, network);
        return edits.ApplyAsync(ct);
    }

    private static async Task<AttributeSyntax?> FindAttributeAsync(Solution solution, Location location, CancellationToken ct)
    {
        if (location.SourceTree is not { } tree || solution.GetDocument(tree) is not { } document) return null;
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        return root?.FindNode(location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
    }

    // ---- NG0030: make the class (and every enclosing type) partial --------------------------------------------------

    private static void RegisterMakePartial(CodeFixContext context, Diagnostic diagnostic)
    {
        context.RegisterCodeFix(CodeAction.Create("Make the class partial", async ct =>
        {
            var solution = context.Document.Project.Solution;
            var model = await context.Document.GetSemanticModelAsync(ct).ConfigureAwait(false);
            var root = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
            if (model is null || root?.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration) return solution;
            if (model.GetDeclaredSymbol(declaration, ct) is not INamedTypeSymbol type) return solution;
            // The reported declaration may be an enclosing type: make it and everything inside it down to the network
            // partial, on every declaration of each.
            var edits = new AttributeEdits(solution);
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
                foreach (var r in t.DeclaringSyntaxReferences)
                    if (await r.GetSyntaxAsync(ct).ConfigureAwait(false) is TypeDeclarationSyntax d) edits.MakePartial(d);
            foreach (var inner in declaration.DescendantNodes().OfType<TypeDeclarationSyntax>())
                if (inner.AttributeLists.SelectMany(l => l.Attributes).Any(a => a.Name.ToString() is "Network" or "NetworkAttribute" or "NetGen.Network" or "NetGen.NetworkAttribute"))
                    for (SyntaxNode? n = inner; n is not null && n != declaration; n = n.Parent)
                        if (n is TypeDeclarationSyntax d) edits.MakePartial(d);
            return await edits.ApplyAsync(ct).ConfigureAwait(false);
        }, "NG0030"), diagnostic);
    }

    // ---- NG0035: move every layer attribute onto the declaration with [Network] -------------------------------------

    private static void RegisterMoveLayers(CodeFixContext context, SyntaxNode root, Diagnostic diagnostic)
    {
        if (root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration) return;
        context.RegisterCodeFix(CodeAction.Create("Move the layer attributes to the declaration with [Network]",
            ct => MoveLayersAsync(context.Document, declaration, ct), "NG0035"), diagnostic);
    }

    private static async Task<Solution> MoveLayersAsync(Document document, TypeDeclarationSyntax declaration, CancellationToken ct)
    {
        var solution = document.Project.Solution;
        var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (model?.GetDeclaredSymbol(declaration, ct) is not INamedTypeSymbol type) return solution;
        var compilation = model.Compilation;
        var layerBase = compilation.GetTypeByMetadataName(NetworkParser.LayerAttributeBase);
        var networkType = compilation.GetTypeByMetadataName(NetworkParser.NetworkAttributeName);
        if (layerBase is null || networkType is null) return solution;

        var layers = new List<AttributeSyntax>();
        AttributeSyntax? network = null;
        foreach (var a in type.GetAttributes())
        {
            if (await (a.ApplicationSyntaxReference?.GetSyntaxAsync(ct) ?? Task.FromResult<SyntaxNode>(null!)).ConfigureAwait(false) is not AttributeSyntax syntax) continue;
            if (SymbolEqualityComparer.Default.Equals(a.AttributeClass, networkType)) network ??= syntax;
            else if (IsLayer(a.AttributeClass, layerBase)) layers.Add(syntax);
        }
        if (network?.Parent?.Parent is not TypeDeclarationSyntax home) return solution;

        // The new order is the order the generator reads today (declarations in file order): layers of other
        // declarations that come before the home's go in front of its first layer list, the rest after its last.
        var homeLayers = layers.Where(l => l.Parent!.Parent == home).ToList();
        var moving = layers.Where(l => l.Parent!.Parent != home).ToList();
        int firstHome = homeLayers.Count > 0 ? layers.IndexOf(homeLayers[0]) : layers.Count;
        static IEnumerable<string> Lists(IEnumerable<AttributeSyntax> attributes) =>
            attributes.GroupBy(a => a.Parent!).Select(g => "[" + string.Join(", ", g.Select(a => a.ToString())) + "]");
        var before = Lists(moving.Where(m => layers.IndexOf(m) < firstHome)).ToList();
        var after = Lists(moving.Where(m => layers.IndexOf(m) > firstHome)).ToList();

        var edits = new AttributeEdits(solution);
        edits.Remove(moving);
        var networkList = (AttributeListSyntax)network.Parent!;
        if (before.Count > 0)
        {
            if (homeLayers.Count > 0) foreach (var l in before) edits.InsertListBefore((AttributeListSyntax)homeLayers[0].Parent!, l);
            else edits.InsertListsAfter(networkList, before);
        }
        if (after.Count > 0)
        {
            var last = homeLayers.Count > 0 ? (AttributeListSyntax)homeLayers[homeLayers.Count - 1].Parent! : networkList;
            edits.InsertListsAfter(last, after);
        }
        return await edits.ApplyAsync(ct).ConfigureAwait(false);
    }

    internal static bool IsLayer(INamedTypeSymbol? attributeClass, INamedTypeSymbol layerBase)
    {
        for (var t = attributeClass?.BaseType; t is not null; t = t.BaseType)
            if (SymbolEqualityComparer.Default.Equals(t, layerBase)) return true;
        return false;
    }

    // ---- NG0036: add [Network] ---------------------------------------------------------------------------------------

    private static Task<Solution> AddNetworkAsync(Solution solution, TypeDeclarationSyntax declaration, CancellationToken ct)
    {
        var edits = new AttributeEdits(solution);
        edits.InsertListBefore(declaration.AttributeLists[0], "[Network]");
        return edits.ApplyAsync(ct);
    }
}
