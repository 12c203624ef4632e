using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests.Oracle;

/// <summary>A [Fact] that is reported as skipped, with the reason, when no Python interpreter can import torch
/// (xunit 2 has no dynamic skip, so the attribute decides at discovery).</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (TorchOracle.Python is null) Skip = TorchOracle.SkipReason;
    }
}

/// <summary>Finds and runs the PyTorch oracle script, tests/NetGen.Tests/Oracle/torch_oracle.py.</summary>
internal static class TorchOracle
{
    public const string SkipReason = "python3-torch is not installed: apt-get install python3-torch libopenblas0-pthread";

    /// <summary>Debian's interpreter first (apt's python3-torch installs there), then whatever python3 is on PATH.</summary>
    private static readonly string[] Candidates = ["/usr/bin/python3", "python3"];

    private static readonly Lazy<string?> Interpreter = new(Probe);

    /// <summary>An interpreter that can <c>import torch</c>, or null.</summary>
    public static string? Python => Interpreter.Value;

    public static string Script => Path.Combine(AppContext.BaseDirectory, "Oracle", "torch_oracle.py");

    private static string? Probe()
    {
        foreach (string candidate in Candidates)
        {
            try
            {
                if (Run(candidate, ["-c", "import torch"], TimeSpan.FromSeconds(60)).ExitCode == 0) return candidate;
            }
            catch (Win32Exception)
            {
                // Not installed at that path.
            }
        }
        return null;
    }

    /// <summary>Writes <paramref name="cases"/> as <c>{"cases": …}</c> to a temporary file, runs the oracle script
    /// Oracle/<paramref name="scriptName"/> on it (arguments: cases file, results file) and returns the parsed results
    /// file, which the caller disposes. The temporary folder is removed either way; a timeout or a non-zero exit throws
    /// with the script's output.</summary>
    public static JsonDocument RunCases(string scriptName, object cases, TimeSpan timeout)
    {
        string directory = Path.Combine(Path.GetTempPath(), "netgen-oracle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string input = Path.Combine(directory, "cases.json"), results = Path.Combine(directory, "results.json");
            File.WriteAllText(input, JsonSerializer.Serialize(new { cases }));
            string script = Path.Combine(AppContext.BaseDirectory, "Oracle", scriptName);
            var (exitCode, stdout, stderr, timedOut) = Run(Python!, [script, input, results], timeout);
            if (timedOut) throw new TimeoutException($"{scriptName} did not finish within {timeout.TotalSeconds:0} s");
            if (exitCode != 0) throw new InvalidOperationException($"{scriptName} exited with {exitCode}:\n{stderr}\n{stdout}");
            return JsonDocument.Parse(File.ReadAllText(results));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Runs a process with OMP_NUM_THREADS=1, killing it after <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string Stdout, string Stderr, bool TimedOut) Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.Result, stderr.Result, true);
        }
        process.WaitForExit();   // drains the redirected streams
        return (process.ExitCode, stdout.Result, stderr.Result, false);
    }
}

/// <summary>
/// Random dense networks compared with PyTorch (float64 autograd): the output, the loss, every parameter gradient
/// of the loss, and the parameter and input gradients of a random output gradient, each to 1e-9 (absolute below 1,
/// relative above). One generated source declares every network; one Python run computes every case.
/// </summary>
public sealed class TorchOracleTests(ITestOutputHelper output)
{
    private const string Namespace = "NetGen.Tests.TorchOracle";
    private const long Seed = 20_240_917;
    private const int Count = 40;
    private const double Tolerance = 1e-9;

    private static readonly DenseAct[] OutputActivations = [DenseAct.Sigmoid, DenseAct.Tanh, DenseAct.ReLU, DenseAct.LeakyReLU, DenseAct.Softmax, DenseAct.Identity, DenseAct.ELU, DenseAct.SiLU];
    private static readonly DenseAct[] HiddenActivations = [DenseAct.Sigmoid, DenseAct.Tanh, DenseAct.ReLU, DenseAct.LeakyReLU, DenseAct.Identity, DenseAct.ELU, DenseAct.SiLU];

    /// <summary>Network i has loss i mod 5 and ends in activation (i / 5) mod 8, so the first 40 cover every pair; the
    /// rest is random: depth 1–4, widths 1–12, hidden activations (or none), layers without or with held bias,
    /// unroll threshold, batch 1–6.</summary>
    internal static List<(DenseNetSpec Spec, int Batch)> RandomNetworks()
    {
        var random = new SeededRandom(Seed);
        var networks = new List<(DenseNetSpec, int)>();
        for (int n = 0; n < Count; n++)
        {
            var loss = GradientCheckNetworks.Losses[n % GradientCheckNetworks.Losses.Length];
            var last = OutputActivations[n / GradientCheckNetworks.Losses.Length % OutputActivations.Length];
            int depth = 1 + random.NextInt(4), inputs = 1 + random.NextInt(12);
            var layers = new DenseLayerSpec[depth];
            for (int l = 0; l < depth; l++)
            {
                int units = 1 + random.NextInt(12);
                DenseAct[] acts;
                if (l == depth - 1)
                {
                    acts = loss == LossFunction.BinaryCrossEntropy && last is not (DenseAct.Sigmoid or DenseAct.Softmax) ? [last, DenseAct.Sigmoid] : [last];
                    // A one-unit softmax is always 1, where BCE's log(1 − p) is clamped: a degenerate case, not a test.
                    if (loss == LossFunction.BinaryCrossEntropy && last == DenseAct.Softmax) units = Math.Max(units, 2);
                }
                else
                {
                    int pick = random.NextInt(HiddenActivations.Length + 1);
                    acts = pick == HiddenActivations.Length ? [] : [HiddenActivations[pick]];
                }
                bool bias = random.NextDouble() >= 0.15;
                layers[l] = new DenseLayerSpec(units, acts, bias, TrainBias: !bias || random.NextDouble() >= 0.2);
            }
            // 0: every Dense a loop; null: the default 64; 4096 (the largest allowed) unrolls everything. A fully unrolled
            // network also gets Explain, whose code grows with every weight, so only small ones are unrolled whole
            // (the compile is most of this test's run time).
            int? threshold = random.NextInt(3) switch { 0 => 0, 1 => null, _ => 4096 };
            int weights = 0, largest = 0, fanIn = inputs;
            foreach (var layer in layers)
            {
                weights += layer.Units * fanIn;
                largest = Math.Max(largest, layer.Units * fanIn);
                fanIn = layer.Units;
            }
            if (largest <= (threshold ?? 64) && weights > 60) threshold = largest > 64 ? null : 0;
            string name = $"Oracle{n:D2}_{GradientCheckNetworks.Abbreviation(loss)}_{last}";
            networks.Add((new DenseNetSpec(name, loss, inputs, layers, threshold), 1 + random.NextInt(6)));
        }
        return networks;
    }

    private static readonly Lazy<Assembly> Compiled = new(() => GeneratorHarness.CompileAndLoad(DenseNetSpec.Source(Namespace, RandomNetworks().Select(c => c.Spec))));

    private sealed record NetGenResult(double[] Output, double Loss, double[] ParameterGradient, double[] OutputGradientParameterGradient, double[] InputGradient);

    [TorchFact]
    public void RandomNetworksMatchPyTorch()
    {
        var networks = RandomNetworks();
        Assert.Equal(GradientCheckNetworks.Losses.Length, networks.Select(c => c.Spec.Loss).Distinct().Count());
        Assert.Equal(OutputActivations.Length, networks.Select(c => c.Spec.LastActivation).Distinct().Count());
        Assert.Contains(networks, c => c.Spec.FusedSoftmax);

        var random = new SeededRandom(Seed + 1);
        var cases = new List<Dictionary<string, object>>();
        var netgen = new Dictionary<string, NetGenResult>();
        foreach (var (spec, batch) in networks)
        {
            var net = GeneratorHarness.Create<double>(Compiled.Value, Namespace + "." + spec.Name, batch);
            Assert.Equal(spec.ParameterCount, net.Parameters.Length);
            foreach (var b in spec.Blocks())
            {
                double scale = b.IsBias ? 0.3 : 1.2 / Math.Sqrt(b.FanIn);
                for (int i = b.Offset; i < b.Offset + b.Count; i++) net.Parameters[i] = random.NextDouble(-scale, scale);
            }
            double[] parameters = net.Parameters.ToArray();
            double[] input = Enumerable.Range(0, batch * spec.Inputs).Select(_ => random.NextDouble(-1, 1)).ToArray();
            double[] outputGradient = Enumerable.Range(0, batch * spec.Outputs).Select(_ => random.NextDouble(-1, 1)).ToArray();

            net.ZeroGradients();
            double[] y = net.Forward(input, batch).ToArray();
            double[] target = GradientCheckTests.Target(spec, y, batch, random);
            double loss = net.Loss(target);
            net.Backward(target);
            double[] parameterGradient = net.Gradients.ToArray();

            net.ZeroGradients();
            net.Forward(input, batch);
            var inputGradient = new double[batch * spec.Inputs];
            net.Backward(outputGradient, inputGradient);
            var result = new NetGenResult(y, loss, parameterGradient, net.Gradients.ToArray(), inputGradient);
            netgen[spec.Name] = result;

            cases.Add(new()
            {
                ["name"] = spec.Name,
                ["declaration"] = spec.Declaration(),
                ["loss"] = spec.Loss.ToString(),
                ["batch"] = batch,
                ["inputSize"] = spec.Inputs,
                ["fusedSoftmax"] = spec.FusedSoftmax,
                ["layers"] = Layers(spec),
                ["params"] = parameters,
                ["input"] = input,
                ["target"] = target,
                ["outputGradient"] = outputGradient,
                ["expected"] = new Dictionary<string, object>
                {
                    ["output"] = result.Output,
                    ["loss"] = result.Loss,
                    ["parameterGradient"] = result.ParameterGradient,
                    ["outputGradientParameterGradient"] = result.OutputGradientParameterGradient,
                    ["inputGradient"] = result.InputGradient,
                },
            });
        }

        string directory = Path.Combine(Path.GetTempPath(), "netgen-torch-oracle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string casesPath = Path.Combine(directory, "cases.json"), resultsPath = Path.Combine(directory, "results.json");
        File.WriteAllText(casesPath, JsonSerializer.Serialize(new Dictionary<string, object> { ["cases"] = cases }));

        string python = TorchOracle.Python!;
        var clock = Stopwatch.StartNew();
        var run = TorchOracle.Run(python, [TorchOracle.Script, casesPath, resultsPath], TimeSpan.FromSeconds(120));
        Assert.False(run.TimedOut, $"{python} {TorchOracle.Script} did not finish in 120 s; stderr:\n{run.Stderr}");
        Assert.True(run.ExitCode == 0, $"{python} {TorchOracle.Script} {casesPath} failed (exit {run.ExitCode}); stderr:\n{run.Stderr}\nstdout:\n{run.Stdout}");
        output.WriteLine($"{python}: {run.Stdout.Trim()} ({clock.ElapsedMilliseconds} ms)");

        using var document = JsonDocument.Parse(File.ReadAllText(resultsPath));
        var failures = new List<string>();
        double maxDifference = 0;
        int values = 0, compared = 0;
        foreach (var torchCase in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = torchCase.GetProperty("name").GetString()!;
            var mine = netgen[name];
            void Check(string what, ReadOnlySpan<double> actual, double[] expected)
            {
                if (actual.Length != expected.Length)
                {
                    failures.Add($"{name} {what}: NetGen has {actual.Length} values, PyTorch {expected.Length}");
                    return;
                }
                for (int i = 0; i < actual.Length; i++)
                {
                    double difference = Math.Abs(actual[i] - expected[i]);
                    maxDifference = Math.Max(maxDifference, difference);
                    values++;
                    if (!(difference <= Tolerance * Math.Max(1, Math.Abs(expected[i]))))
                        failures.Add($"{name} {what}[{i}]: NetGen {actual[i]:R}, PyTorch {expected[i]:R} (difference {difference:E2})");
                }
            }
            double[] Read(string property) => torchCase.GetProperty(property).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Check("output", mine.Output, Read("output"));
            Check("loss", [mine.Loss], [torchCase.GetProperty("loss").GetDouble()]);
            Check("∂E/∂θ", mine.ParameterGradient, Read("parameterGradient"));
            Check("∂Φ/∂θ (Backward(outputGradient))", mine.OutputGradientParameterGradient, Read("outputGradientParameterGradient"));
            Check("∂Φ/∂x (Backward(outputGradient))", mine.InputGradient, Read("inputGradient"));
            compared++;
        }

        output.WriteLine($"{compared} networks compared with PyTorch, {values} values, max |NetGen − PyTorch| = {maxDifference:E2}");
        Assert.Equal(networks.Count, compared);
        Assert.True(failures.Count == 0,
            $"{failures.Count} values differ from PyTorch by more than {Tolerance:E0}·max(1, |value|) (inputs kept in {directory}):\n" +
            string.Join("\n", failures.Take(30)));
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>The architecture as the oracle script reads it: Dense layers and activations in order.</summary>
    private static List<Dictionary<string, object>> Layers(DenseNetSpec spec)
    {
        var layers = new List<Dictionary<string, object>>();
        int fanIn = spec.Inputs;
        foreach (var layer in spec.Layers)
        {
            layers.Add(new() { ["type"] = "dense", ["in"] = fanIn, ["out"] = layer.Units, ["bias"] = layer.Bias, ["trainBias"] = layer.TrainBias });
            foreach (var act in layer.Activations)
            {
                layers.Add(act switch
                {
                    DenseAct.LeakyReLU => new() { ["type"] = "leaky_relu", ["alpha"] = DenseNetSpec.LeakyAlpha },
                    DenseAct.ReLU => new() { ["type"] = "relu" },
                    DenseAct.ELU => new() { ["type"] = "elu", ["alpha"] = 1.0 },
                    DenseAct.Step => throw new NotSupportedException("Step is not differentiable; the oracle does not model it"),
                    _ => new() { ["type"] = act.ToString().ToLowerInvariant() },
                });
            }
            fanIn = layer.Units;
        }
        return layers;
    }
}
