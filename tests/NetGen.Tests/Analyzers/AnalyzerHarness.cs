using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CodeRefactorings;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using NetGen.Analyzers;
using NetGen.CodeFixes;
using NetGen.Tests.Infrastructure;

namespace NetGen.Tests.Analyzers;

/// <summary>
/// Runs the NetGen analyzers the way the compiler does (CSharpCompilation.WithAnalyzers, after the generator), and the
/// code fixes the way an IDE does (an AdhocWorkspace, the fix's ApplyChangesOperation). Expected diagnostics are
/// written in the source as <c>{|NG0014:Stride = 2|}</c>: the ID and the exact span it must cover.
/// </summary>
internal static class AnalyzerHarness
{
    public static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers = [new NetworkAnalyzer()];

    /// <summary>What a build sees: the analyzers' diagnostics, the compiler's errors, and any analyzer exception.</summary>
    public sealed record Result(ImmutableArray<Diagnostic> NetGen, IReadOnlyList<Diagnostic> CompilerErrors, IReadOnlyList<string> Exceptions, Compilation Output, GeneratorDriverRunResult Generator)
    {
        public IEnumerable<Diagnostic> NetGenErrors => NetGen.Where(d => d.Severity == DiagnosticSeverity.Error);
    }

    /// <summary>Generates, compiles and analyzes <paramref name="sources"/> (with the SDK's implicit usings).</summary>
    public static async Task<Result> RunAsync(params string[] sources)
    {
        var (generator, output) = GeneratorHarness.Run([UserCode.ImplicitUsings, .. sources]);
        return await AnalyzeAsync(output, generator);
    }

    /// <summary>Runs the analyzers over a compilation that already holds the generated code. With
    /// <paramref name="compilerErrors"/> the compiler's errors come from the same pass (GetAllDiagnosticsAsync: the
    /// compiler's diagnostics drive the analyzers' events, so every method is bound once, not once for the analyzers
    /// and again for the errors); without, they are not collected (the caller emits and reads them there).</summary>
    public static async Task<Result> AnalyzeAsync(Compilation output, GeneratorDriverRunResult generator, bool compilerErrors = true)
    {
        var exceptions = new List<string>();
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), (e, analyzer, d) => { lock (exceptions) exceptions.Add(e.ToString()); },
            concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var withAnalyzers = output.WithAnalyzers(Analyzers, options);
        ImmutableArray<Diagnostic> diagnostics;
        List<Diagnostic> errors;
        if (compilerErrors)
        {
            // The compiler's own diagnostics are CSxxxx; everything else came from the analyzers (NG…, AD0001).
            var all = await withAnalyzers.GetAllDiagnosticsAsync();
            diagnostics = all.Where(d => !d.Id.StartsWith("CS", StringComparison.Ordinal)).ToImmutableArray();
            errors = all.Where(d => d.Id.StartsWith("CS", StringComparison.Ordinal) && d.Severity == DiagnosticSeverity.Error).ToList();
        }
        else
        {
            diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
            errors = [];
        }
        exceptions.AddRange(generator.Results.Where(r => r.Exception is not null).Select(r => "generator: " + r.Exception));
        exceptions.AddRange(generator.Diagnostics.Concat(diagnostics).Where(d => d.Id is "AD0001" or "CS8784" or "CS8785" or "NG9999").Select(d => d.ToString()));
        return new Result(diagnostics, errors, exceptions, output, generator);
    }

    /// <summary>Markup → (plain source, expected (id, span) pairs).</summary>
    public static (string Source, List<(string Id, TextSpan Span)> Expected) Parse(string markup)
    {
        var sb = new StringBuilder();
        var expected = new List<(string, TextSpan)>();
        var open = new Stack<(string Id, int Start)>();
        for (int i = 0; i < markup.Length; i++)
        {
            if (markup[i] == '{' && i + 1 < markup.Length && markup[i + 1] == '|')
            {
                int colon = markup.IndexOf(':', i);
                open.Push((markup.Substring(i + 2, colon - i - 2), sb.Length));
                i = colon;
            }
            else if (markup[i] == '|' && i + 1 < markup.Length && markup[i + 1] == '}' && open.Count > 0)
            {
                var (id, start) = open.Pop();
                expected.Add((id, TextSpan.FromBounds(start, sb.Length)));
                i++;
            }
            else sb.Append(markup[i]);
        }
        return (sb.ToString(), expected);
    }

    /// <summary>Asserts that, for every ID marked in the sources, the analyzers report exactly the marked spans (no
    /// more, no fewer), and that nothing threw.</summary>
    public static async Task<Result> VerifyAsync(params string[] markups)
    {
        var parsed = markups.Select(Parse).ToList();
        var result = await RunAsync([.. parsed.Select(p => p.Source)]);
        Assert.Empty(result.Exceptions);
        var ids = parsed.SelectMany(p => p.Expected.Select(e => e.Id)).ToHashSet();
        // Source i is Source{i + 1}.cs: the implicit usings come first.
        var expected = parsed.SelectMany((p, i) => p.Expected.Select(e => $"{e.Id} Source{i + 1}.cs {e.Span}")).OrderBy(s => s).ToList();
        var actual = result.NetGen.Where(d => ids.Contains(d.Id))
            .Select(d => $"{d.Id} {Path.GetFileName(d.Location.SourceTree?.FilePath)} {d.Location.SourceSpan}").OrderBy(s => s).ToList();
        Assert.True(expected.SequenceEqual(actual),
            $"Expected:\n  {string.Join("\n  ", expected)}\nActual:\n  {string.Join("\n  ", actual)}\nAll NetGen diagnostics:\n  {string.Join("\n  ", result.NetGen)}");
        return result;
    }

    // ---- Code fixes ------------------------------------------------------------------------------------------------

    public static readonly CSharpCompilationOptions CompilationOptions = new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);

    private static (AdhocWorkspace Workspace, Project Project) CreateProject(string[] sources)
    {
        var workspace = new AdhocWorkspace();
        var projectId = ProjectId.CreateNewId();
        var documents = sources.Select((s, i) => DocumentInfo.Create(DocumentId.CreateNewId(projectId), $"Source{i}.cs",
            loader: TextLoader.From(TextAndVersion.Create(SourceText.From(s), VersionStamp.Create())), filePath: $"/src/Source{i}.cs")).ToList();
        var info = ProjectInfo.Create(projectId, VersionStamp.Create(), "Fixes", "Fixes", LanguageNames.CSharp,
            compilationOptions: CompilationOptions, parseOptions: GeneratorHarness.ParseOptions,
            documents: documents, metadataReferences: GeneratorHarness.References);
        var solution = workspace.CurrentSolution.AddProject(info);
        Assert.True(workspace.TryApplyChanges(solution));
        return (workspace, workspace.CurrentSolution.GetProject(projectId)!);
    }

    private static async Task<Solution> RunActionAsync(CodeAction action)
    {
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        return Assert.Single(operations.OfType<ApplyChangesOperation>()).ChangedSolution;
    }

    private static async Task<string[]> TextsAsync(Project project, Solution solution) =>
        await Task.WhenAll(project.DocumentIds.Select(async id => (await solution.GetDocument(id)!.GetTextAsync()).ToString()));

    /// <summary>The titles of the fixes offered for the first <paramref name="id"/> diagnostic, and the sources after
    /// applying the one titled <paramref name="title"/> (null: apply none).</summary>
    public static async Task<(List<string> Titles, string[] After)> FixAsync(string[] sources, string id, string? title)
    {
        var (workspace, project) = CreateProject(sources);
        using (workspace)
        {
            var compilation = (await project.GetCompilationAsync())!;
            var diagnostics = await compilation.WithAnalyzers(Analyzers).GetAnalyzerDiagnosticsAsync();
            var diagnostic = diagnostics.Where(d => d.Id == id).OrderBy(d => d.Location.SourceSpan.Start).FirstOrDefault();
            Assert.True(diagnostic is not null, $"No {id} reported. Reported:\n{string.Join("\n", diagnostics)}");
            var document = project.Solution.GetDocument(diagnostic.Location.SourceTree)!;
            var actions = new List<CodeAction>();
            var provider = new NetworkCodeFixProvider();
            Assert.Contains(id, provider.FixableDiagnosticIds);
            await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
            var titles = actions.Select(a => a.Title).ToList();
            if (title is null) return (titles, sources);
            var action = actions.FirstOrDefault(a => a.Title == title);
            Assert.True(action is not null, $"No fix titled '{title}'. Offered:\n  {string.Join("\n  ", titles)}");
            return (titles, await TextsAsync(project, await RunActionAsync(action)));
        }
    }

    /// <summary>The refactorings offered at the first occurrence of <paramref name="at"/>, and the sources after the one
    /// titled <paramref name="title"/> (null: apply none).</summary>
    public static async Task<(List<string> Titles, string After)> RefactorAsync(string source, string at, string? title)
    {
        var (workspace, project) = CreateProject([source]);
        using (workspace)
        {
            var document = project.Documents.Single();
            var actions = new List<CodeAction>();
            var span = new TextSpan(source.IndexOf(at, StringComparison.Ordinal), 0);
            await new WindowRefactoringProvider().ComputeRefactoringsAsync(new CodeRefactoringContext(document, span, actions.Add, CancellationToken.None));
            var titles = actions.Select(a => a.Title).ToList();
            if (title is null) return (titles, source);
            var action = actions.FirstOrDefault(a => a.Title == title);
            Assert.True(action is not null, $"No refactoring titled '{title}'. Offered:\n  {string.Join("\n  ", titles)}");
            return (titles, (await TextsAsync(project, await RunActionAsync(action)))[0]);
        }
    }

    /// <summary>Compiles the sources with the generator and analyzers: no compiler error and no NetGen error; loads the
    /// assembly into a collectible context.</summary>
    public static async Task<Assembly> CompileCleanAsync(params string[] sources)
    {
        var result = await RunAsync(sources);
        Assert.Empty(result.Exceptions);
        Assert.True(!result.CompilerErrors.Any() && !result.NetGenErrors.Any(),
            "The code does not compile cleanly:\n" + string.Join("\n", result.CompilerErrors.Concat(result.NetGenErrors)) + "\n" + string.Join("\n---\n", sources));
        using var stream = new MemoryStream();
        var emit = result.Output.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        stream.Position = 0;
        return new AssemblyLoadContext("NetGen.Fixed", isCollectible: true).LoadFromStream(stream);
    }

    /// <summary>Creates the network type and runs Forward on a ramp input (token ids 0 and 1 for a network that starts
    /// with an Embedding); every output must be finite.</summary>
    public static void AssertForwardIsFinite(Assembly assembly, string typeName)
    {
        var type = assembly.GetType(typeName, throwOnError: true)!;
        var instance = Activator.CreateInstance(type, 2, 7)!;
        if (instance is INetwork<float> f)
        {
            bool ids = f.Layers.Count > 0 && f.Layers[0].Kind == "Embedding";
            var input = Enumerable.Range(0, 2 * GetSize(type, "InputSize")).Select(i => ids ? i % 2 : (float)Math.Sin(i)).ToArray();
            var output = f.Forward(input, 2).ToArray();
            Assert.NotEmpty(output);
            Assert.All(output, v => Assert.True(float.IsFinite(v), $"{typeName}.Forward returned {v}"));
        }
        else
        {
            var d = (INetwork<double>)instance;
            bool ids = d.Layers.Count > 0 && d.Layers[0].Kind == "Embedding";
            var input = Enumerable.Range(0, 2 * GetSize(type, "InputSize")).Select(i => ids ? i % 2 : Math.Sin(i)).ToArray();
            var output = d.Forward(input, 2).ToArray();
            Assert.NotEmpty(output);
            Assert.All(output, v => Assert.True(double.IsFinite(v), $"{typeName}.Forward returned {v}"));
        }
    }

    private static int GetSize(Type type, string name) => (int)type.GetField(name)!.GetRawConstantValue()!;
}
