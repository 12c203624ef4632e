using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeRefactorings;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generators;
using NetGen.Generators.Model;

namespace NetGen.CodeFixes;

/// <summary>
/// On a valid [Conv2D] (or pooling) attribute, offers every padding that tiles the input, each labelled with the output
/// size it gives, and Padding.Same where it works: "Set Padding = 3 (output 5×5)" is how a 5×5 input keeps its size
/// under a 3×3 kernel at stride 2. The options come from the same shape inference as the diagnostics.
/// </summary>
[ExportCodeRefactoringProvider(LanguageNames.CSharp, Name = nameof(WindowRefactoringProvider)), Shared]
public sealed class WindowRefactoringProvider : CodeRefactoringProvider
{
    /// <inheritdoc />
    public override async Task ComputeRefactoringsAsync(CodeRefactoringContext context)
    {
        var ct = context.CancellationToken;
        var root = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root?.FindNode(context.Span).FirstAncestorOrSelf<AttributeSyntax>() is not { Parent.Parent: TypeDeclarationSyntax declaration } attribute) return;
        var model = await context.Document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (model?.GetDeclaredSymbol(declaration, ct) is not INamedTypeSymbol type) return;
        var layerBase = model.Compilation.GetTypeByMetadataName(NetworkParser.LayerAttributeBase);
        if (layerBase is null || !type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == NetworkParser.NetworkAttributeName)) return;

        var layers = type.GetAttributes().Where(a => NetworkCodeFixProvider.IsLayer(a.AttributeClass, layerBase)).ToList();
        int index = layers.FindIndex(a => a.ApplicationSyntaxReference is { } r && r.SyntaxTree == attribute.SyntaxTree && r.Span == attribute.Span);
        if (index < 0) return;
        var spec = NetworkParser.Parse(type, ct);
        if (spec.Layers[index].Kind is not (LayerKind.Conv2D or LayerKind.MaxPool or LayerKind.AvgPool)) return;
        // Only on a valid network (an invalid one has diagnostics with their own fixes); plan layers skip [Input].
        var plan = Shapes.Infer(spec, out _);
        if (plan is null || index < 1 || index - 1 >= plan.Layers.Length) return;
        var layer = plan.Layers[index - 1];

        foreach (var fix in Shapes.WindowFixes(spec.Layers[index], layer.InputShape))
            context.RegisterRefactoring(CodeAction.Create(fix.Title,
                c => NetworkCodeFixProvider.ApplyOperationsAsync(context.Document.Project.Solution, attribute, null, fix.Operations, c),
                "NetGen.Window:" + fix.Operations));
    }
}
