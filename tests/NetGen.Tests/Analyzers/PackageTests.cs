using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace NetGen.Tests.Analyzers;

/// <summary>
/// Packs NetGen once into a local folder feed (a fresh version number, so no cached copy is used) and removes that
/// version from the NuGet cache afterwards.
/// </summary>
public sealed class PackageFeed : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "netgen-package-" + Guid.NewGuid().ToString("N")[..8]);

    public string Feed => Path.Combine(Root, "feed");

    public string Version { get; } = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss");

    public string PackLog { get; }

    public PackageFeed()
    {
        Directory.CreateDirectory(Feed);
        string project = Path.Combine(DiagnosticTests.RepoRoot(), "src", "NetGen", "NetGen.csproj");
        var (code, output) = Dotnet.Run(Root, $"pack \"{project}\" -c Release -o \"{Feed}\" -p:Version={Version} -p:MinVerVersionOverride={Version}");
        PackLog = output;
        if (code != 0) throw new InvalidOperationException("dotnet pack failed:\n" + output);
        // A NuGet.config for the apps: the local feed, plus nuget.org for System.Numerics.Tensors (and ILCompiler).
        File.WriteAllText(Path.Combine(Root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="netgen-local" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>Writes a console app referencing the package: csproj + Program.cs, in its own folder.</summary>
    public string App(string name, string program, string extraProperties = "")
    {
        string dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                {extraProperties}
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NetGen" Version="{Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), program);
        return dir;
    }

    public void Dispose()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        TryDelete(Path.Combine(packages, "netgen", Version));
        TryDelete(Root);
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Runs the dotnet CLI as a user would, without the test host's MSBuild environment and without build servers.</summary>
internal static class Dotnet
{
    public static (int ExitCode, string Output) Run(string workingDirectory, string arguments, string? executable = null, int timeoutSeconds = 600)
    {
        bool cli = executable is null;
        var psi = new ProcessStartInfo(executable ?? "dotnet", cli ? arguments + " -nodeReuse:false -p:UseSharedCompilation=false -clp:NoSummary" : arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string key in psi.Environment.Keys.ToList())
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase) || key.Equals("DOTNET_CLI_TELEMETRY_SESSIONID", StringComparison.OrdinalIgnoreCase))
                psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{psi.FileName} {arguments} did not finish in {timeoutSeconds} s:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }
}

/// <summary>
/// The NetGen package end to end, as a user meets it: one PackageReference in a fresh console project. A valid network
/// trains and runs; an invalid one fails the build with the NG error and nothing else; and the same package publishes
/// with NativeAOT to a native binary that trains and runs.
/// </summary>
public class PackageTests(PackageFeed feed, ITestOutputHelper log) : IClassFixture<PackageFeed>
{
    private const string ValidProgram = """
        using NetGen;

        var net = new Xor(maxBatch: 4, seed: 3);
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        float[] y = [0, 1, 1, 0];
        var optimizer = new Adam(0.05);
        float first = net.TrainStep(x, y, optimizer, batch: 4), last = first;
        for (int epoch = 1; epoch < 1000; epoch++) last = net.TrainStep(x, y, optimizer, batch: 4);
        net.Training = false;
        float[] output = net.Forward(x, 4).ToArray();
        Console.WriteLine($"loss {first:F4} -> {last:F4}");
        Console.WriteLine("xor " + string.Join(" ", output.Select(v => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
        Console.Write(Xor.Summary);
        bool learned = output[0] < 0.5f && output[1] > 0.5f && output[2] > 0.5f && output[3] < 0.5f;
        Console.WriteLine(learned ? "learned XOR" : "did not learn XOR");
        return learned && last < first ? 0 : 1;

        [Network(Loss = LossFunction.BinaryCrossEntropy)]
        [Input(2)]
        [Dense(8), Tanh]
        [Dense(1), Sigmoid]
        public partial class Xor;
        """;

    private const string InvalidProgram = """
        using NetGen;

        // Code that uses the invalid network compiles against the generated (throwing) API: the build shows the NG
        // error alone, not "member not found" errors here.
        var net = new Bad();
        Console.WriteLine(net.Forward(new float[Bad.InputSize]).Length + Bad.Summary);

        [Network]
        [Input(3, 224, 224)]
        [Conv2D(16, Kernel = 5, Stride = 2)]
        [Flatten]
        [Dense(10), Softmax]
        public partial class Bad;
        """;

    [Fact]
    public void ValidNetworkTrainsAndRunsAndInvalidOneFailsWithTheNetGenErrorAlone()
    {
        Assert.Contains("Successfully created package", feed.PackLog);

        string valid = feed.App("ValidApp", ValidProgram);
        var build = Dotnet.Run(valid, "build -c Release");
        log.WriteLine("---- dotnet build (valid) ----\n" + build.Output);
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.DoesNotContain(": warning ", build.Output);
        var run = Dotnet.Run(valid, "run -c Release --no-build");
        log.WriteLine("---- dotnet run (valid) ----\n" + run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("learned XOR", run.Output);
        Assert.Contains("Total params: 33", run.Output);

        string invalid = feed.App("InvalidApp", InvalidProgram);
        var bad = Dotnet.Run(invalid, "build -c Release");
        log.WriteLine("---- dotnet build (invalid) ----\n" + bad.Output);
        Assert.NotEqual(0, bad.ExitCode);
        var problems = bad.Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal) || l.Contains(": warning ", StringComparison.Ordinal))
            .Select(l => l.Trim()).Distinct().ToList();
        var error = Assert.Single(problems);
        Assert.Contains("Program.cs(10,25): error NG0014: [Conv2D] does not tile the input height and width", error);
    }

    private const string AotProgram = """
        using System.Diagnostics;
        using NetGen;

        var watch = Stopwatch.StartNew();
        var net = new Digits(maxBatch: 8, seed: 1);
        var random = new Random(5);
        float[] x = new float[8 * 16];
        int[] labels = new int[8];
        for (int i = 0; i < 8; i++) { labels[i] = i % 4; for (int j = 0; j < 16; j++) x[i * 16 + j] = (j % 4 == labels[i] ? 1f : 0f) + 0.1f * random.NextSingle(); }
        var optimizer = new Sgd(0.5, momentum: 0.9);
        float first = net.TrainStep(x, labels, optimizer, batch: 8), last = first;
        for (int step = 1; step < 200; step++) last = net.TrainStep(x, labels, optimizer, batch: 8);
        net.Training = false;
        var output = net.Forward(x, 8);
        int correct = 0;
        for (int i = 0; i < 8; i++)
        {
            int best = 0;
            for (int k = 1; k < 4; k++) if (output[i * 4 + k] > output[i * 4 + best]) best = k;
            if (best == labels[i]) correct++;
        }
        Console.WriteLine($"native: loss {first:F4} -> {last:F4}, {correct}/8 correct, {watch.Elapsed.TotalMilliseconds:F1} ms in Main");
        return correct == 8 ? 0 : 1;

        [Network]
        [Input(1, 4, 4)]
        [Conv2D(4, Kernel = 3, Padding = Padding.Same), ReLU]
        [MaxPool(2)]
        [Flatten]
        [Dense(16), ReLU]
        [Dense(4), Softmax]
        public partial class Digits;
        """;

    [Fact]
    public void PublishesWithNativeAotAndTheNativeBinaryRuns()
    {
        Assert.True(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "The NativeAOT test publishes for linux-x64 and runs the binary here.");
        string app = feed.App("AotApp", AotProgram, "<PublishAot>true</PublishAot><InvariantGlobalization>true</InvariantGlobalization>");
        string output = Path.Combine(app, "out");
        var publish = Dotnet.Run(app, $"publish -c Release -r linux-x64 -o \"{output}\"");
        log.WriteLine("---- dotnet publish -p:PublishAot=true ----\n" + publish.Output);
        Assert.True(publish.ExitCode == 0, publish.Output);
        // Trimming and AOT analysis of NetGen's code (runtime + generated network): no IL2xxx/IL3xxx warning.
        Assert.DoesNotMatch(@"warning IL[23]\d{3}", publish.Output);

        string binary = Path.Combine(output, "AotApp");
        Assert.True(File.Exists(binary), "No native binary at " + binary);
        Assert.False(File.Exists(Path.Combine(output, "AotApp.dll")), "A managed AotApp.dll was published: not a native build.");
        long size = new FileInfo(binary).Length;
        var times = new List<double>();
        string text = "";
        for (int i = 0; i < 5; i++)
        {
            var watch = Stopwatch.StartNew();
            var (code, stdout) = Dotnet.Run(output, "", executable: binary, timeoutSeconds: 60);
            times.Add(watch.Elapsed.TotalMilliseconds);
            Assert.True(code == 0, stdout);
            text = stdout;
        }
        string report = $"NativeAOT binary: {size / 1024.0 / 1024.0:F2} MiB; process start to exit (train 200 steps + infer): min {times.Min():F1} ms, median {times.Order().ElementAt(2):F1} ms\n{text}";
        log.WriteLine(report);
        Console.WriteLine(report);
        Assert.Contains("8/8 correct", text);
    }
}
