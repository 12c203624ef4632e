using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace NetGen.CodeFixes;

/// <summary>
/// Text edits on attribute lists, collected per document and applied together, so that one fix may touch several
/// files (moving layers between partial declarations) and the user's formatting around the edit is kept as written.
/// </summary>
internal sealed class AttributeEdits
{
    private readonly Solution solution;
    private readonly Dictionary<DocumentId, List<TextChange>> changes = new();
    private readonly Dictionary<SyntaxTree, DocumentId> documents = new();

    public AttributeEdits(Solution solution) => this.solution = solution;

    private List<TextChange> For(SyntaxNode node)
    {
        var tree = node.SyntaxTree;
        if (!documents.TryGetValue(tree, out var id))
        {
            id = solution.GetDocumentId(tree) ?? throw new InvalidOperationException("The syntax tree is not part of the solution.");
            documents[tree] = id;
        }
        if (!changes.TryGetValue(id, out var list)) changes[id] = list = new List<TextChange>();
        return list;
    }

    private void Insert(SyntaxNode node, int position, string text) => For(node).Add(new TextChange(new TextSpan(position, 0), text));

    private void Replace(SyntaxNode node, TextSpan span, string text) => For(node).Add(new TextChange(span, text));

    /// <summary>Applies one operation of a <c>ShapeFix</c> (see Shapes.cs) to a layer attribute or to [Network].</summary>
    public void Apply(string operation, AttributeSyntax layer, AttributeSyntax? network)
    {
        int colon = operation.IndexOf(':');
        string verb = colon < 0 ? operation : operation.Substring(0, colon);
        string argument = colon < 0 ? "" : operation.Substring(colon + 1);
        switch (verb)
        {
            case "set": SetArgument(layer, argument); break;
            case "net": if (network is not null) SetArgument(network, argument); break;
            case "insert-before": InsertBefore(layer, argument); break;
            case "insert-after": Insert(layer, layer.Span.End, ", " + argument); break;
            case "replace": Replace(layer, layer.Span, argument); break;
            case "remove": Remove(layer); break;
            case "input": if (InputOf(layer) is { } input) Replace(input, input.Span, $"Input({argument})"); break;
            case "input-after": if (InputOf(layer) is { } first) Insert(first, first.Span.End, ", " + argument); break;
            default: throw new InvalidOperationException("Unknown fix operation " + operation);
        }
    }

    /// <summary>The [Input] attribute on the declaration that holds <paramref name="layer"/>, or null.</summary>
    private static AttributeSyntax? InputOf(AttributeSyntax layer) =>
        (layer.Parent?.Parent as MemberDeclarationSyntax)?.AttributeLists.SelectMany(l => l.Attributes)
            .FirstOrDefault(a => a.Name.ToString() is "Input" or "InputAttribute" or "NetGen.Input" or "NetGen.InputAttribute" or "global::NetGen.Input" or "global::NetGen.InputAttribute");

    /// <summary>Sets <c>Name = Value</c>: replaces the value when the argument is written, else appends it.</summary>
    public void SetArgument(AttributeSyntax attribute, string assignment)
    {
        int eq = assignment.IndexOf('=');
        string name = assignment.Substring(0, eq), value = assignment.Substring(eq + 1);
        var list = attribute.ArgumentList;
        var existing = list?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name);
        if (existing is not null) Replace(attribute, existing.Expression.Span, value);
        else if (list is null) Insert(attribute, attribute.Span.End, $"({name} = {value})");
        else Insert(attribute, list.CloseParenToken.SpanStart, (list.Arguments.Count > 0 ? ", " : "") + $"{name} = {value}");
    }

    /// <summary>Inserts <c>[text]</c> before an attribute: inside its list when it is not the first there, else as a
    /// list of its own (on its own line when the attribute's list starts a line).</summary>
    public void InsertBefore(AttributeSyntax attribute, string text)
    {
        var list = (AttributeListSyntax)attribute.Parent!;
        if (list.Attributes[0] != attribute) Insert(attribute, attribute.SpanStart, text + ", ");
        else InsertListBefore(list, "[" + text + "]");
    }

    public void InsertListBefore(AttributeListSyntax list, string listText)
    {
        var text = list.SyntaxTree.GetText();
        var line = text.Lines.GetLineFromPosition(list.SpanStart);
        string before = text.ToString(TextSpan.FromBounds(line.Start, list.SpanStart));
        if (before.Trim().Length == 0) Insert(list, list.SpanStart, listText + NewLine(text) + before);
        else Insert(list, list.SpanStart, listText);
    }

    public void InsertListsAfter(AttributeListSyntax list, IEnumerable<string> listTexts)
    {
        var text = list.SyntaxTree.GetText();
        var line = text.Lines.GetLineFromPosition(list.SpanStart);
        string indent = new string(text.ToString(TextSpan.FromBounds(line.Start, list.SpanStart)).TakeWhile(char.IsWhiteSpace).ToArray());
        Insert(list, list.Span.End, string.Concat(listTexts.Select(l => NewLine(text) + indent + l)));
    }

    /// <summary>Removes an attribute with its comma, or its whole list (and the line, when nothing else is on it).</summary>
    public void Remove(AttributeSyntax attribute) => Remove(new[] { attribute });

    /// <summary>Removes attributes, each with its comma; a list left empty goes whole.</summary>
    public void Remove(IReadOnlyCollection<AttributeSyntax> attributes)
    {
        foreach (var group in attributes.GroupBy(a => (AttributeListSyntax)a.Parent!))
        {
            var list = group.Key;
            var gone = new HashSet<AttributeSyntax>(group);
            if (list.Attributes.All(gone.Contains))
            {
                RemoveList(list);
                continue;
            }
            // The list keeps its other attributes, written as they were, separated by ", ".
            var kept = list.Attributes.Where(a => !gone.Contains(a)).Select(a => a.ToString());
            Replace(list, TextSpan.FromBounds(list.Attributes[0].SpanStart, list.Attributes[list.Attributes.Count - 1].Span.End), string.Join(", ", kept));
        }
    }

    private void RemoveList(AttributeListSyntax list)
    {
        var text = list.SyntaxTree.GetText();
        var line = text.Lines.GetLineFromPosition(list.SpanStart);
        string before = text.ToString(TextSpan.FromBounds(line.Start, list.SpanStart));
        string after = text.ToString(TextSpan.FromBounds(list.Span.End, line.End));
        if (before.Trim().Length == 0 && after.Trim().Length == 0)
            Replace(list, TextSpan.FromBounds(line.Start, line.EndIncludingLineBreak), "");
        else
        {
            // Keep one separator: drop the blanks that follow the list when something else follows on the line.
            int end = list.Span.End;
            while (end < line.End && text[end] == ' ' && before.Length > 0 && !char.IsWhiteSpace(before[before.Length - 1])) end++;
            Replace(list, TextSpan.FromBounds(list.SpanStart, end), "");
        }
    }

    /// <summary>Adds 'partial' to a type declaration that lacks it, just before its keyword.</summary>
    public void MakePartial(TypeDeclarationSyntax declaration)
    {
        if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword)) Insert(declaration, declaration.Keyword.SpanStart, "partial ");
    }

    private static string NewLine(SourceText text) => text.ToString().Contains("\r\n") ? "\r\n" : "\n";

    /// <summary>The solution with every collected edit applied.</summary>
    public async Task<Solution> ApplyAsync(CancellationToken ct)
    {
        var result = solution;
        foreach (var pair in changes)
        {
            var document = result.GetDocument(pair.Key)!;
            var text = await document.GetTextAsync(ct).ConfigureAwait(false);
            // Sorted by position; insertions at the same position keep the order they were made in.
            var ordered = pair.Value.Select((c, i) => (c, i)).OrderBy(x => x.c.Span.Start).ThenBy(x => x.c.Span.Length).ThenBy(x => x.i).Select(x => x.c).ToList();
            var merged = new List<TextChange>();
            foreach (var change in ordered)
            {
                if (merged.Count > 0 && change.Span.Length == 0 && merged[merged.Count - 1].Span.Length == 0 && merged[merged.Count - 1].Span.Start == change.Span.Start)
                    merged[merged.Count - 1] = new TextChange(change.Span, merged[merged.Count - 1].NewText + change.NewText);
                else if (merged.Count > 0 && change.Span.Start < merged[merged.Count - 1].Span.End)
                    continue;   // overlaps an edit already made (two fixes of one argument): the first wins
                else merged.Add(change);
            }
            result = result.WithDocumentText(pair.Key, text.WithChanges(merged));
        }
        return result;
    }
}
