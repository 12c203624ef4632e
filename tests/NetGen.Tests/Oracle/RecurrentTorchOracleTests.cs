using System.Globalization;
using System.Text;
using System.Text.Json;
using NetGen.Tests.Infrastructure;
using Xunit.Abstractions;

namespace NetGen.Tests.Oracle;

/// <summary>One layer of a random sequence network.</summary>
internal sealed record SeqLayer(string Kind, int Units = 0, bool Bidirectional = false, bool ReturnSequences = false, bool ReLU = false, int Vocabulary = 0)
{
    public string Attribute => Kind switch
    {
        "Embedding" => $"Embedding({Vocabulary}, {Units})",
        "SimpleRNN" or "GRU" or "LSTM" => $"{Kind}({Units}" + (ReturnSequences ? ", ReturnSequences = true" : "") + (Bidirectional ? ", Bidirectional = true" : "")
            + (ReLU ? ", Activation = RecurrentActivation.ReLU" : "") + ")",
        "Dense" => $"Dense({Units})",
        _ => Kind,
    };
}

/// <summary>A random sequence network: its declaration, shapes and the data the oracle needs.</summary>
internal sealed record SeqNet(string Name, LossFunction Loss, int[] Input, SeqLayer[] Layers, int Batch)
{
    public bool Ids => Layers[0].Kind == "Embedding";

    public string Declaration(string ns) =>
        $"namespace {ns} {{ [NetGen.Network(Loss = NetGen.LossFunction.{Loss}, Precision = NetGen.Precision.Double)] [NetGen.Input({string.Join(", ", Input)})] " +
        string.Concat(Layers.Select(l => "[NetGen." + l.Attribute.Replace("RecurrentActivation.", "NetGen.RecurrentActivation.") + "]")) + $" public partial class {Name}; }}";

    /// <summary>Every layer with the features it reads (F of a sequence, the vector size otherwise) and the output shape.</summary>
    public (List<Dictionary<string, object>> Layers, int[] Output) Describe()
    {
        var list = new List<Dictionary<string, object>>();
        int[] shape = Input;
        foreach (var l in Layers)
        {
            var d = new Dictionary<string, object> { ["kind"] = l.Kind };
            switch (l.Kind)
            {
                case "Embedding":
                    d["vocabulary"] = l.Vocabulary; d["dimension"] = l.Units;
                    shape = [shape[0], l.Units];
                    break;
                case "SimpleRNN" or "GRU" or "LSTM":
                    d["features"] = shape[1]; d["units"] = l.Units; d["bidirectional"] = l.Bidirectional;
                    d["return_sequences"] = l.ReturnSequences; d["activation"] = l.ReLU ? "relu" : "tanh";
                    int h = l.Units * (l.Bidirectional ? 2 : 1);
                    shape = l.ReturnSequences ? [shape[0], h] : [h];
                    break;
                case "Dense":
                    d["features"] = shape[^1]; d["units"] = l.Units;
                    shape = shape.Length == 2 ? [shape[0], l.Units] : [l.Units];
                    break;
            }
            list.Add(d);
        }
        return (list, shape);
    }
}

/// <summary>
/// Random recurrent networks (seeded) compared with PyTorch 1.13 autograd in float64: SimpleRNN (tanh and ReLU), GRU
/// and LSTM, hidden sizes 1–5, 1–6 steps, batch 1–3, one or two stacked layers, bidirectional or not, every step or the
/// last step out, Embedding first or float features, a Dense at every step or on the last state, and each of five
/// losses. Per case: the output, the loss, every parameter gradient of the loss, the parameter and input gradients of
/// Φ = Σ g ⊙ output for a random g; then 20 Adam steps (lr 0.01) against torch.optim.Adam: the step losses and the
/// final parameters. Every value within 1e−9·max(1, |torch|). One generated source declares every network; one
/// Python run computes every case.
/// </summary>
public sealed class RecurrentTorchOracleTests(ITestOutputHelper output)
{
    private const int CaseCount = 36;
    private const int AdamSteps = 20;
    private const double LearningRate = 0.01;
    private const double Tolerance = 1e-9;
    private const string Namespace = "NetGen.Tests.RnnTorchOracle";

    private static readonly LossFunction[] Losses =
        [LossFunction.HalfSquaredError, LossFunction.MeanSquaredError, LossFunction.CrossEntropy, LossFunction.BinaryCrossEntropy, LossFunction.MeanAbsoluteError];

    private static readonly string[] Cells = ["SimpleRNN", "GRU", "LSTM"];

    internal static readonly IReadOnlyList<SeqNet> Networks = Enumerable.Range(0, CaseCount).Select(RandomNetwork).ToList();

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var n in Networks) data.Add(n.Name);
        return data;
    }

    /// <summary>Network i: cell i mod 3, loss (i / 3) mod 5 (so the first 15 cover every pair, twice over 30); the rest drawn.</summary>
    private static SeqNet RandomNetwork(int index)
    {
        var r = new SeededRandom(1_000_003L * (index + 11));
        bool Chance(double p) => r.NextDouble() < p;
        var loss = Losses[index / 3 % Losses.Length];
        int steps = 1 + r.NextInt(6), batch = 1 + r.NextInt(3);
        var layers = new List<SeqLayer>();
        int[] input;
        if (index % 4 == 1 || Chance(0.15))
        {
            int vocabulary = 2 + r.NextInt(6);
            input = [steps];
            layers.Add(new SeqLayer("Embedding", Units: 1 + r.NextInt(4), Vocabulary: vocabulary));
        }
        else input = [steps, 1 + r.NextInt(4)];
        int stack = index % 5 == 2 || Chance(0.2) ? 2 : 1;
        bool sequenceOut = index % 2 == 0 ? Chance(0.7) : Chance(0.3);
        for (int s = 0; s < stack; s++)
        {
            string cell = s == stack - 1 ? Cells[index % 3] : Cells[r.NextInt(3)];
            bool last = s == stack - 1;
            layers.Add(new SeqLayer(cell, Units: 1 + r.NextInt(5), Bidirectional: index % 3 == 1 ? !Chance(0.3) : Chance(0.3),
                ReturnSequences: !last || sequenceOut, ReLU: cell == "SimpleRNN" && (index % 6 == 3 || Chance(0.2))));
        }
        bool dense = loss is LossFunction.CrossEntropy or LossFunction.BinaryCrossEntropy || Chance(0.7);
        if (dense)
        {
            if (Chance(0.3))
            {
                layers.Add(new SeqLayer("Dense", Units: 2 + r.NextInt(3)));
                layers.Add(new SeqLayer(Chance(0.5) ? "Tanh" : "ReLU"));
            }
            layers.Add(new SeqLayer("Dense", Units: 2 + r.NextInt(3)));
        }
        switch (loss)
        {
            case LossFunction.CrossEntropy:
                if (Chance(0.6)) layers.Add(new SeqLayer("Softmax"));
                break;
            case LossFunction.BinaryCrossEntropy:
                layers.Add(new SeqLayer("Sigmoid"));
                break;
        }
        return new SeqNet($"RandomRnn{index:D2}", loss, input, [.. layers], batch);
    }

    private sealed class NetGenRun
    {
        public required SeqNet Net { get; init; }
        public double[] Parameters0 = [], Input = [], Target = [], OutputGradient = [];
        public double[] Output = [], Gradients = [], PhiGradients = [], PhiInputGradient = [], StepLosses = [], Parameters = [];
        public double Loss;
        public int[] OutputShape = [];
        public Exception? Failure;
    }

    private sealed record OracleRun(Dictionary<string, NetGenRun> NetGen, Dictionary<string, JsonElement> Torch, string TorchVersion);

    private static readonly Lazy<OracleRun> Run = new(RunAll);

    internal static double WorstDifference;

    private static OracleRun RunAll()
    {
        var source = string.Join("\n", Networks.Select(n => n.Declaration(Namespace)));
        var assembly = GeneratorHarness.CompileAndLoad(source);
        var runs = Networks.Select(n => RunNetGen(assembly, n)).ToDictionary(r => r.Net.Name);
        var cases = runs.Values.Where(r => r.Failure is null).Select(r => new Dictionary<string, object>
        {
            ["name"] = r.Net.Name,
            ["input_shape"] = r.Net.Input,
            ["output_shape"] = r.OutputShape,
            ["layers"] = r.Net.Describe().Layers,
            ["loss"] = r.Net.Loss.ToString(),
            ["batch"] = r.Net.Batch,
            ["parameters"] = r.Parameters0,
            ["input"] = r.Input,
            ["target"] = r.Target,
            ["output_gradient"] = r.OutputGradient,
            ["steps"] = AdamSteps,
            ["lr"] = LearningRate,
        }).ToArray();
        using var document = TorchOracle.RunCases("torch_rnn_oracle.py", cases, TimeSpan.FromSeconds(300));
        var torch = document.RootElement.GetProperty("results").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.Clone());
        return new(runs, torch, document.RootElement.GetProperty("torch").GetString()!);
    }

    private static NetGenRun RunNetGen(System.Reflection.Assembly assembly, SeqNet spec)
    {
        var run = new NetGenRun { Net = spec };
        try
        {
            var net = GeneratorHarness.Create<double>(assembly, Namespace + "." + spec.Name, maxBatch: spec.Batch, seed: 5);
            var (_, outShape) = spec.Describe();
            run.OutputShape = outShape;
            int batch = spec.Batch;
            var random = new SeededRandom(spec.Name.Length * 7919L + spec.Name[^1] * 31L + spec.Name[^2]);
            run.Parameters0 = net.Parameters.ToArray();
            int steps = spec.Input[0];
            int vocabulary = spec.Ids ? spec.Layers[0].Vocabulary : 0;
            run.Input = Enumerable.Range(0, batch * net.InputSize).Select(_ => spec.Ids ? random.NextInt(vocabulary) : random.NextDouble(-1.5, 1.5)).ToArray();
            run.Output = net.Forward(run.Input, batch).ToArray();
            int features = outShape[^1], rows = run.Output.Length / features;
            run.Target = spec.Loss switch
            {
                LossFunction.CrossEntropy => Enumerable.Range(0, rows).SelectMany(_ => { int y = random.NextInt(features); return Enumerable.Range(0, features).Select(j => j == y ? 1.0 : 0.0); }).ToArray(),
                LossFunction.BinaryCrossEntropy => Enumerable.Range(0, run.Output.Length).Select(_ => random.NextDouble(0.05, 0.95)).ToArray(),
                _ => Enumerable.Range(0, run.Output.Length).Select(_ => random.NextDouble(-1, 1)).ToArray(),
            };
            run.OutputGradient = Enumerable.Range(0, run.Output.Length).Select(_ => random.NextDouble(-1, 1)).ToArray();
            run.Loss = net.Loss(run.Target);
            net.ZeroGradients();
            net.Backward(run.Target);
            run.Gradients = net.Gradients.ToArray();
            net.ZeroGradients();
            run.PhiInputGradient = new double[run.Input.Length];
            net.Backward(run.OutputGradient, run.PhiInputGradient);
            run.PhiGradients = net.Gradients.ToArray();
            var adam = new Adam(LearningRate);
            var losses = new List<double>();
            for (int s = 0; s < AdamSteps; s++) losses.Add(net.TrainStep(run.Input, run.Target, adam, batch));
            run.StepLosses = [.. losses];
            run.Parameters = net.Parameters.ToArray();
            _ = steps;
        }
        catch (Exception e)
        {
            run.Failure = e;
        }
        return run;
    }

    [CnnTorchTheory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string network)
    {
        var oracle = Run.Value;
        var netgen = oracle.NetGen[network];
        string description = $"{network} (batch {netgen.Net.Batch}, loss {netgen.Net.Loss}): {netgen.Net.Declaration("N")}";
        if (netgen.Failure is not null) throw new InvalidOperationException("NetGen failed on " + description, netgen.Failure);
        var torch = oracle.Torch[network];
        if (torch.TryGetProperty("error", out var error)) Assert.Fail($"the oracle failed on {description}: {error.GetString()}");
        var failures = new List<string>();
        double worst = 0;
        void Compare(string what, IReadOnlyList<double> actual, string property)
        {
            var element = torch.GetProperty(property);
            double[] expected = element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().Select(e => e.GetDouble()).ToArray() : [element.GetDouble()];
            if (actual.Count != expected.Length) { failures.Add($"{what}: NetGen has {actual.Count} values, PyTorch {expected.Length}"); return; }
            for (int i = 0; i < expected.Length; i++)
            {
                double e = Math.Abs(actual[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i]));
                worst = Math.Max(worst, double.IsNaN(e) ? double.PositiveInfinity : e);
                if (!(e <= Tolerance) && failures.Count < 12) failures.Add($"{what} [{i}]: NetGen {actual[i]:R}, PyTorch {expected[i]:R}");
            }
        }
        Compare("output", netgen.Output, "output");
        Compare("loss", [netgen.Loss], "loss");
        Compare("∂E/∂θ", netgen.Gradients, "gradients");
        Compare("∂Φ/∂θ", netgen.PhiGradients, "phi_gradients");
        Compare("∂Φ/∂x", netgen.PhiInputGradient, "phi_input_gradient");
        Compare("Adam step loss", netgen.StepLosses, "step_losses");
        Compare("θ after 20 Adam steps", netgen.Parameters, "parameters");
        lock (Networks) WorstDifference = Math.Max(WorstDifference, worst);
        output.WriteLine($"{network}: torch {oracle.TorchVersion}, max relative difference {worst.ToString("E2", CultureInfo.InvariantCulture)} over {netgen.Parameters.Length} parameters; {description}");
        Assert.True(failures.Count == 0, description + "\n" + string.Join("\n", failures));
    }

    [Fact]
    public void CoversEveryCellLossAndOption()
    {
        Assert.True(Networks.Count >= 30);
        foreach (var cell in Cells) Assert.Contains(Networks, n => n.Layers.Any(l => l.Kind == cell));
        foreach (var loss in Losses) Assert.Contains(Networks, n => n.Loss == loss);
        Assert.Contains(Networks, n => n.Layers.Any(l => l.Bidirectional));
        Assert.Contains(Networks, n => n.Layers.Count(l => l.Kind is "SimpleRNN" or "GRU" or "LSTM") == 2);
        Assert.Contains(Networks, n => n.Ids);
        Assert.Contains(Networks, n => n.Layers.Any(l => l.ReLU));
        Assert.Contains(Networks, n => n.Describe().Output.Length == 2 && n.Layers[^1].Kind is "Dense" or "Softmax" or "Sigmoid");
        Assert.Contains(Networks, n => n.Describe().Output.Length == 1 && n.Layers.Any(l => l.Kind == "Dense"));
    }
}
