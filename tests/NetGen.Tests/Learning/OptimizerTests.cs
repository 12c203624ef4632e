using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetGen.Tests.Infrastructure;
using NetGen.Tests.Oracle;
using Xunit.Abstractions;

namespace NetGen.Tests.Learning;

/// <summary>A [Theory] reported as skipped, with the reason, when no Python interpreter can import torch (the
/// Oracle's probe decides).</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    public TorchTheoryAttribute()
    {
        if (TorchOracle.Python is null) Skip = TorchOracle.SkipReason;
    }
}

/// <summary>
/// Every optimiser against PyTorch's optimiser of the same name and settings: the same 7 initial parameters and the
/// same 20 gradients (a fixed function of step and index, of varying size so that norm clipping acts on some steps
/// only, and of changing sign), compared after every step to 1e-6 (float64). One Python run computes every case.
/// </summary>
public sealed class OptimizerTests(ITestOutputHelper output)
{
    private const int Size = 7, Steps = 20;
    private const double Tolerance = 1e-6;

    private sealed record Case(string Name, Func<Optimizer> Create, string TorchOptimizer, string TorchKwargs, double? ClipNorm = null, double? ClipValue = null);

    private static readonly Case[] Cases =
    [
        new("sgd", () => new Sgd(0.1), "SGD", """{"lr": 0.1}"""),
        new("sgd_momentum", () => new Sgd(0.05, momentum: 0.9), "SGD", """{"lr": 0.05, "momentum": 0.9}"""),
        new("sgd_nesterov", () => new Sgd(0.05, momentum: 0.9, nesterov: true), "SGD", """{"lr": 0.05, "momentum": 0.9, "nesterov": true}"""),
        new("sgd_weight_decay", () => new Sgd(0.1, weightDecay: 0.05), "SGD", """{"lr": 0.1, "weight_decay": 0.05}"""),
        new("sgd_nesterov_weight_decay", () => new Sgd(0.05, momentum: 0.8, nesterov: true, weightDecay: 0.05), "SGD", """{"lr": 0.05, "momentum": 0.8, "nesterov": true, "weight_decay": 0.05}"""),
        new("adagrad", () => new Adagrad(0.1), "Adagrad", """{"lr": 0.1}"""),
        new("adagrad_all", () => new Adagrad(0.1, learningRateDecay: 0.05, weightDecay: 0.02, initialAccumulatorValue: 0.5, epsilon: 1e-6), "Adagrad",
            """{"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.02, "initial_accumulator_value": 0.5, "eps": 1e-6}"""),
        new("rmsprop", () => new RmsProp(0.01), "RMSprop", """{"lr": 0.01}"""),
        new("rmsprop_momentum", () => new RmsProp(0.01, momentum: 0.9), "RMSprop", """{"lr": 0.01, "momentum": 0.9}"""),
        new("rmsprop_centered", () => new RmsProp(0.01, alpha: 0.9, centered: true), "RMSprop", """{"lr": 0.01, "alpha": 0.9, "centered": true}"""),
        new("rmsprop_all", () => new RmsProp(0.005, alpha: 0.95, epsilon: 1e-6, weightDecay: 0.01, momentum: 0.5, centered: true), "RMSprop",
            """{"lr": 0.005, "alpha": 0.95, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.5, "centered": true}"""),
        new("adam", () => new Adam(0.01), "Adam", """{"lr": 0.01}"""),
        new("adam_weight_decay", () => new Adam(0.01, weightDecay: 0.1), "Adam", """{"lr": 0.01, "weight_decay": 0.1}"""),
        new("adam_amsgrad", () => new Adam(0.01, beta1: 0.8, beta2: 0.99, amsgrad: true), "Adam", """{"lr": 0.01, "betas": [0.8, 0.99], "amsgrad": true}"""),
        new("adamw", () => new AdamW(0.01), "AdamW", """{"lr": 0.01}"""),
        new("adamw_amsgrad", () => new AdamW(0.02, weightDecay: 0.1, amsgrad: true, epsilon: 1e-6), "AdamW", """{"lr": 0.02, "weight_decay": 0.1, "amsgrad": true, "eps": 1e-6}"""),
        new("clip_norm_sgd_momentum", () => new Sgd(0.05, momentum: 0.9) { ClipNorm = 3 }, "SGD", """{"lr": 0.05, "momentum": 0.9}""", ClipNorm: 3),
        new("clip_value_adam", () => new Adam(0.01) { ClipValue = 0.5 }, "Adam", """{"lr": 0.01}""", ClipValue: 0.5),
        new("clip_both_rmsprop", () => new RmsProp(0.01, momentum: 0.5) { ClipValue = 1.5, ClipNorm = 2 }, "RMSprop", """{"lr": 0.01, "momentum": 0.5}""", ClipNorm: 2, ClipValue: 1.5),
    ];

    public static TheoryData<string> CaseNames() => new(Cases.Select(c => c.Name));

    internal static double[] InitialParameters() => Enumerable.Range(0, Size).Select(i => Math.Cos(0.5 * i) - 0.2 * i).ToArray();

    /// <summary>Gradient of step s (1-based): norms between about 1 and 6 (so clipping at 3 acts on some steps only).</summary>
    internal static double[] Gradient(int s) =>
        Enumerable.Range(0, Size).Select(i => (1 + s % 4) / 4.0 * (3 * Math.Sin(0.9 * i + 0.7 * s) + 0.5 * Math.Cos(1.3 * s * (i + 1)))).ToArray();

    private static readonly Lazy<(string Version, Dictionary<string, double[][]> Results)> Torch = new(RunTorch);

    private static (string, Dictionary<string, double[][]>) RunTorch()
    {
        var request = new JsonObject
        {
            ["initial"] = new JsonArray(InitialParameters().Select(v => (JsonNode)v).ToArray()),
            ["gradients"] = new JsonArray(Enumerable.Range(1, Steps).Select(s => (JsonNode)new JsonArray(Gradient(s).Select(v => (JsonNode)v).ToArray())).ToArray()),
            ["cases"] = new JsonArray(Cases.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["optimizer"] = c.TorchOptimizer,
                ["kwargs"] = JsonNode.Parse(c.TorchKwargs),
                ["clip_norm"] = c.ClipNorm,
                ["clip_value"] = c.ClipValue,
            }).ToArray()),
        };
        string script = Path.Combine(AppContext.BaseDirectory, "Learning", "torch_optimizers.py");
        var (exit, stdout, stderr) = PythonRunner.Run(TorchOracle.Python!, script, request.ToJsonString(), TimeSpan.FromSeconds(120));
        if (exit != 0) throw new InvalidOperationException($"torch_optimizers.py failed ({exit}): {stderr}");
        using var document = JsonDocument.Parse(stdout);
        var results = new Dictionary<string, double[][]>();
        foreach (var property in document.RootElement.GetProperty("results").EnumerateObject())
            results[property.Name] = property.Value.EnumerateArray().Select(step => step.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        return (document.RootElement.GetProperty("torch").GetString()!, results);
    }

    private static double[][] RunNetGen(Case c)
    {
        var optimizer = c.Create();
        var parameters = InitialParameters();
        var trace = new double[Steps][];
        for (int s = 1; s <= Steps; s++)
        {
            optimizer.Step<double>(parameters, Gradient(s));
            trace[s - 1] = (double[])parameters.Clone();
        }
        return trace;
    }

    [TorchTheory]
    [MemberData(nameof(CaseNames))]
    public void Optimizer_MatchesPyTorch_Over20Steps(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var (version, results) = Torch.Value;
        double[][] expected = results[name], actual = RunNetGen(c);
        double maxError = 0;
        for (int s = 0; s < Steps; s++)
            for (int i = 0; i < Size; i++)
            {
                double error = Math.Abs(actual[s][i] - expected[s][i]);
                maxError = Math.Max(maxError, error);
                Assert.True(error <= Tolerance, $"{name}: step {s + 1}, parameter {i}: NetGen {actual[s][i]:R}, torch {expected[s][i]:R} (|Δ| = {error:E2})");
            }
        // The parameters must actually move, or the comparison proves nothing.
        Assert.True(Math.Abs(actual[^1][0] - InitialParameters()[0]) > 1e-3, $"{name}: the parameters hardly moved");
        output.WriteLine($"{name}: max |NetGen − torch {version}| over {Steps} steps × {Size} parameters = {maxError:E2}");
    }

    [Fact]
    public void ClipNorm_ActsOnSomeStepsOnly_SoTheTorchCaseTestsBothBranches()
    {
        var norms = Enumerable.Range(1, Steps).Select(s => Math.Sqrt(Gradient(s).Sum(g => g * g))).ToArray();
        Assert.Contains(norms, n => n > 3);
        Assert.Contains(norms, n => n < 3);
        Assert.Contains(Enumerable.Range(1, Steps).SelectMany(Gradient), g => Math.Abs(g) > 1.5);
    }

    [Fact]
    public void Sgd_Plain_IsThetaMinusEtaG_AndMomentumBySand()
    {
        double[] p = [1, -2], g = [0.5, 0.25];
        new Sgd(0.1).Step<double>(p, g);
        Assert.Equal([0.95, -2.025], p);

        // Momentum 0.9: b₁ = g, b₂ = 0.9·g + g = 1.9g; θ₂ = θ₀ − η(g + 1.9g) = θ₀ − 2.9ηg.
        p = [1, -2];
        var momentum = new Sgd(0.1, momentum: 0.9);
        momentum.Step<double>(p, g);
        momentum.Step<double>(p, g);
        Assert.Equal(1 - 0.29 * 0.5, p[0], 14);
        Assert.Equal(-2 - 0.29 * 0.25, p[1], 14);
        Assert.Equal(2, momentum.Iterations);
    }

    [Fact]
    public void Clipping_NeverModifiesTheCallersGradient()
    {
        double[] p = [0, 0, 0], g = [3, -4, 0.1];
        var sgd = new Sgd(1) { ClipNorm = 1, ClipValue = 3.5 };
        sgd.Step<double>(p, g);
        Assert.Equal([3, -4, 0.1], g);
        // Value clipping first: (3, −3.5, 0.1), norm √(9 + 12.25 + 0.01) = 4.6109…; scaled to norm ≈ 1.
        double norm = Math.Sqrt(9 + 12.25 + 0.01), k = 1 / (norm + 1e-6);
        Assert.Equal(-3 * k, p[0], 14);
        Assert.Equal(3.5 * k, p[1], 14);
        Assert.Equal(-0.1 * k, p[2], 14);
    }

    /// <summary>Above 4,096 parameters the built-in optimisers update chunk by chunk (each chunk with the matching
    /// chunks of its state vectors): 10,001 parameters (two full chunks and a ragged one) must end exactly where
    /// separate optimisers on 1,000-parameter windows (one call each) end. Norm clipping, a sum over every
    /// parameter, is left out: windows would clip by their own norms.</summary>
    [Fact]
    public void LargeParameterCounts_UpdateChunkByChunk_ExactlyAsWindowByWindow()
    {
        const int Count = 10_001, Window = 1_000;
        foreach (var c in Cases.Where(c => c.ClipNorm is null))
        {
            double[] initial = Enumerable.Range(0, Count).Select(i => Math.Cos(0.37 * i) - 1e-4 * i).ToArray();
            double[] Gradient(int s) => Enumerable.Range(0, Count).Select(i => (1 + s % 3) * Math.Sin(0.61 * i + 0.9 * s)).ToArray();
            var whole = c.Create();
            double[] p = (double[])initial.Clone();
            for (int s = 1; s <= 4; s++) whole.Step<double>(p, Gradient(s));

            double[] expected = (double[])initial.Clone();
            for (int start = 0; start < Count; start += Window)
            {
                int length = Math.Min(Window, Count - start);
                var part = c.Create();
                double[] window = expected.AsSpan(start, length).ToArray();
                for (int s = 1; s <= 4; s++) part.Step<double>(window, Gradient(s).AsSpan(start, length));
                window.CopyTo(expected, start);
            }
            Assert.Equal(4, whole.Iterations);
            for (int i = 0; i < Count; i++)
                Assert.True(p[i] == expected[i], $"{c.Name}: parameter {i}: chunked {p[i]:R}, window by window {expected[i]:R}");
            Assert.True(Math.Abs(p[^1] - initial[^1]) > 1e-3, $"{c.Name}: the last parameters hardly moved");
        }
    }

    [Fact]
    public void Step_IsAllocationFree_AfterTheFirst()
    {
        foreach (var c in Cases)
        {
            var optimizer = c.Create();
            var p = new float[1000];
            var g = new float[1000];
            for (int i = 0; i < g.Length; i++) g[i] = MathF.Sin(i);
            for (int k = 0; k < 5; k++) optimizer.Step<float>(p, g);   // allocates the state; warms the JIT
            long allocated = Allocations.Steady(() => optimizer.Step<float>(p, g), 100);
            Assert.True(allocated == 0, $"{c.Name}: {allocated} bytes allocated in 100 steps");
        }
    }

    [Fact]
    public void Step_WithAnotherLengthOrElementType_ThrowsClearly_UntilReset()
    {
        var adam = new Adam();
        adam.Step<double>(new double[4], new double[4]);
        var length = Assert.Throws<InvalidOperationException>(() => adam.Step<double>(new double[5], new double[5]));
        Assert.Contains("first used on 4 Double parameters and now gets 5 Double parameters", length.Message);
        Assert.Contains("Reset()", length.Message);
        var type = Assert.Throws<InvalidOperationException>(() => adam.Step<float>(new float[4], new float[4]));
        Assert.Contains("now gets 4 Single parameters", type.Message);
        adam.Reset();
        Assert.Equal(0, adam.Iterations);
        adam.Step<float>(new float[5], new float[5]);
        Assert.Equal(1, adam.Iterations);
        Assert.Throws<ArgumentException>(() => new Sgd(0.1).Step<double>(new double[3], new double[2]));
    }

    [Fact]
    public void Float_FollowsDouble()
    {
        foreach (var c in Cases)
        {
            var od = c.Create();
            var of = c.Create();
            double[] pd = InitialParameters();
            float[] pf = pd.Select(v => (float)v).ToArray();
            for (int s = 1; s <= Steps; s++)
            {
                double[] g = Gradient(s);
                od.Step<double>(pd, g);
                of.Step<float>(pf, g.Select(v => (float)v).ToArray());
            }
            for (int i = 0; i < Size; i++) Assert.True(Math.Abs(pd[i] - pf[i]) < 1e-4, $"{c.Name}[{i}]: double {pd[i]}, float {pf[i]}");
        }
    }

    [Fact]
    public void Hyperparameters_AreValidated()
    {
        Assert.Contains("positive finite", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(double.NaN));
        Assert.Contains("Nesterov momentum needs a momentum > 0", Assert.Throws<ArgumentException>(() => new Sgd(0.1, nesterov: true)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(momentum: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1) { ClipNorm = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1) { ClipValue = -1 });
        var sgd = new Sgd(0.1) { LearningRate = 0 };       // a schedule may anneal to 0
        Assert.Equal(0, sgd.LearningRate);
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.LearningRate = -1);
        Assert.Equal(0.01, new AdamW().WeightDecay);
        Assert.Equal(0.01, new RmsProp().LearningRate);
    }
}

/// <summary>Runs a Python script with JSON on standard input (OMP_NUM_THREADS=1, killed after a timeout).</summary>
internal static class PythonRunner
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string python, string script, string stdin, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {python}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.Result, "timed out after " + timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s; " + stderr.Result);
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
