using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetGen.Generators;

namespace NetGen.Benchmarks;

/// <summary>Workload 6: the generator's time on a declaration (a fresh driver each run, so nothing is cached), and
/// optionally the build time of the samples with and without the compiler's cached output.</summary>
public static class GeneratorTiming
{
    private static readonly MetadataReference[] References =
    [
        .. Basic.Reference.Assemblies.Net100.References.All,
        MetadataReference.CreateFromFile(typeof(INetwork<>).Assembly.Location),
    ];

    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    public static readonly (string Name, string Source)[] Declarations =
    [
        ("lenet", GeneratorSources.LeNet), ("minivggnet", GeneratorSources.MiniVggNet), ("vgg16", GeneratorSources.Vgg16),
    ];

    static GeneratorTiming()
    {
        // The generator is a Roslyn component (no entry in this app's deps.json): load it from beside this assembly.
        System.Runtime.Loader.AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            string path = Path.Combine(AppContext.BaseDirectory, name.Name + ".dll");
            return name.Name == "NetGen.Generators" && File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
        };
    }

    /// <summary>Runs the generator once on <paramref name="source"/>; returns the generated text's length.</summary>
    public static int RunOnce(string source) => Run(source);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Run(string source)
    {
        var compilation = CSharpCompilation.Create("G", [CSharpSyntaxTree.ParseText(source, Parse)], References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new NetworkGenerator().AsSourceGenerator()], parseOptions: Parse);
        driver = driver.RunGenerators(compilation);
        var result = driver.GetRunResult();
        if (result.Results.Any(r => r.Exception is not null)) throw new InvalidOperationException("The generator threw: " + result.Results.First(r => r.Exception is not null).Exception);
        if (Environment.GetEnvironmentVariable("NETGEN_BENCH_DUMP") is { Length: > 0 } dump)
            foreach (var tree in result.GeneratedTrees) File.WriteAllText(Path.Combine(dump, Path.GetFileName(tree.FilePath)), tree.ToString());
        return result.GeneratedTrees.Sum(t => t.Length);
    }

    /// <summary>Median time of <paramref name="runs"/> generator runs after one warm-up run.</summary>
    public static (double Seconds, int Chars) Measure(string source, int runs)
    {
        int chars = RunOnce(source);
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RunOnce(source);
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return (times[runs / 2], chars);
    }

    /// <summary>Builds a sample project twice: once from scratch with no compiler server (the generator runs cold), then
    /// again with nothing changed (the build is up to date and the generator's output is reused).</summary>
    public static (double Cold, double Cached)? BuildTimes(string repoRoot, string project)
    {
        string path = Path.Combine(repoRoot, project);
        if (!File.Exists(path)) return null;
        Dotnet(repoRoot, "build-server shutdown");
        double cold = Dotnet(repoRoot, $"build \"{path}\" -c Release --no-incremental -p:UseSharedCompilation=false -nologo -v q");
        double cached = Dotnet(repoRoot, $"build \"{path}\" -c Release -nologo -v q");
        return (cold, cached);
    }

    private static double Dotnet(string directory, string arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        long start = Stopwatch.GetTimestamp();
        using var process = Process.Start(info)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet {arguments} failed ({process.ExitCode})");
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
