using System.Diagnostics;
using NetGen;
using NetGen.Data;
using NetGen.Gpu;
using NetGen.Samples;
using static System.FormattableString;

namespace Module1.NeuralNetworks;

/// <summary>The module's demonstrations, one method per subcommand.</summary>
public static class Tour
{
    private static readonly double[][] Inputs = [[0, 0], [0, 1], [1, 0], [1, 1]];

    /// <summary>The perceptron learns AND and OR with Rosenblatt's rule, and cannot learn XOR. Returns which reached 4/4.</summary>
    public static (bool And, bool Or, bool Xor) Perceptrons(TextWriter o, int epochs = 12, double learningRate = 0.1)
    {
        AndByHand(o);
        o.WriteLine("== Perceptron: y = step(w1·x1 + w2·x2 + b), rule w ← w + α(d − y)x, α = " + learningRate);
        bool and = Train("AND", [0, 0, 0, 1]);
        bool or = Train("OR", [0, 1, 1, 1]);
        bool xorLearned = Train("XOR", [0, 1, 1, 0]);
        o.WriteLine(xorLearned
            ? "XOR: unexpectedly separated (this should not happen)."
            : "XOR: never 4/4. No line w1·x1 + w2·x2 + b = 0 puts (0,1), (1,0) on one side and (0,0), (1,1) on the other:\n" +
              "     XOR is not linearly separable, so a single perceptron cannot represent it. A hidden layer can (see `xor`).");
        o.WriteLine();
        return (and, or, xorLearned);

        bool Train(string name, double[] targets)
        {
            var p = new Perceptron(seed: 1);
            var sgd = new Sgd(learningRate);
            o.WriteLine($"{name}: targets {string.Join(" ", targets)}");
            for (int epoch = 1; epoch <= epochs; epoch++)
            {
                for (int i = 0; i < 4; i++) p.TrainStep(Inputs[i], targets.AsSpan(i, 1), sgd);
                int correct = 0;
                var outputs = new double[4];
                for (int i = 0; i < 4; i++) { outputs[i] = p.Forward(Inputs[i])[0]; if (outputs[i] == targets[i]) correct++; }
                o.WriteLine($"  epoch {epoch,2}: w = ({p.Dense1Weights[0],6:0.00}, {p.Dense1Weights[1],6:0.00}), b = {p.Dense1Bias[0],6:0.00}, outputs {string.Join(" ", outputs)}, {correct}/4 correct");
                if (correct == 4)
                {
                    o.WriteLine($"  {name} learned in {epoch} epochs.");
                    return true;
                }
            }
            o.WriteLine($"  {name}: not learned after {epochs} epochs.");
            return false;
        }
    }

    /// <summary>The lecture's AND perceptron with chosen weights w = (1, 1), b = −1.5, set through the generated
    /// network's weight views: each input's net value and step output. Returns both, input by input.</summary>
    public static (double[] Net, double[] Output) AndByHand(TextWriter o)
    {
        var p = new Perceptron();
        p.Dense1Weights[0] = 1;      // w1
        p.Dense1Weights[1] = 1;      // w2
        p.Dense1Bias[0] = -1.5;      // b
        double w1 = p.Dense1Weights[0], w2 = p.Dense1Weights[1], b = p.Dense1Bias[0];
        o.WriteLine($"== Perceptron with chosen weights: AND as y = step(w1·x1 + w2·x2 + b), w = ({F(w1)}, {F(w2)}), b = {F(b)}, nothing learned");
        double[] net = new double[4], output = new double[4];
        for (int i = 0; i < 4; i++)
        {
            double[] x = Inputs[i];
            output[i] = p.Forward(x)[0];
            net[i] = p.Dense1Output[0];   // the Dense layer's output view: the net value before the step
            o.WriteLine($"  x = ({F(x[0])}, {F(x[1])}): net = {F(w1)}·{F(x[0])} + {F(w2)}·{F(x[1])} + {P(b)} = {F(net[i])}, y = step({F(net[i])}) = {F(output[i])}");
        }
        o.WriteLine($"  outputs {string.Join(" ", output.Select(F))}: AND. The line x1 + x2 = 1.5 puts (1, 1) alone on the side where net ≥ 0.");
        o.WriteLine();
        return (net, output);
    }

    /// <summary>What <see cref="Graph"/> computed.</summary>
    /// <param name="F">f = (x + y)·z at x = −2, y = 5, z = −4.</param>
    /// <param name="Dx">∂f/∂x, ∂f/∂y, ∂f/∂z by the chain rule.</param>
    /// <param name="Dy">∂f/∂y.</param>
    /// <param name="Dz">∂f/∂z.</param>
    /// <param name="Output">σ(w0·x0 + w1·x1 + w2) of the generated sigmoid neuron.</param>
    /// <param name="InputGradient">∂f/∂x0, ∂f/∂x1 from the network's Backward with ∂f/∂out = 1.</param>
    /// <param name="WeightGradient">∂f/∂w0, ∂f/∂w1, ∂f/∂w2 (the bias) from its gradient views.</param>
    public sealed record GraphResult(double F, double Dx, double Dy, double Dz, double Output, double[] InputGradient, double[] WeightGradient);

    /// <summary>Backpropagation on cs231n's computational graphs: (x + y)·z by hand in plain C#, then the sigmoid neuron
    /// as a generated network whose <c>Explain</c> backpropagates an upstream gradient of 1.</summary>
    public static GraphResult Graph(TextWriter o)
    {
        // (x + y)·z: two gates and no layers. The chain rule is all there is, so it is written out by hand here.
        double x = -2, y = 5, z = -4;
        o.WriteLine($"== Backpropagation on a computational graph: f(x, y, z) = (x + y)·z at x = {F(x)}, y = {F(y)}, z = {F(z)}");
        o.WriteLine("A graph of two gates and no layers, so plain C#: this is the chain rule before there are layers to generate.");
        double q = x + y, f = q * z;                      // forward, gate by gate
        o.WriteLine($"  forward:  q = x + y = {F(x)} + {F(y)} = {F(q)};  f = q·z = {F(q)}·{P(z)} = {F(f)}");
        double dfdf = 1;                                  // backward from the output: ∂f/∂f = 1
        double dfdq = z * dfdf, dfdz = q * dfdf;          // multiply gate: each input gets the other input times the upstream gradient
        double dfdx = 1 * dfdq, dfdy = 1 * dfdq;          // add gate: ∂q/∂x = ∂q/∂y = 1, the upstream gradient passes to both
        o.WriteLine($"  backward: ∂f/∂f = {F(dfdf)}");
        o.WriteLine($"            ∂f/∂q = z = {F(dfdq)},  ∂f/∂z = q = {F(dfdz)}   (the multiply gate swaps its inputs)");
        o.WriteLine($"            ∂f/∂x = ∂f/∂q·∂q/∂x = {P(dfdq)}·1 = {F(dfdx)},  ∂f/∂y = ∂f/∂q·∂q/∂y = {P(dfdq)}·1 = {F(dfdy)}   (the add gate distributes the gradient)");
        o.WriteLine();

        // The sigmoid neuron: a layer, so NetGen generates its forward and backward and Explain prints them.
        double[] w = [2, -3, -3], input = [-1, -2];
        o.WriteLine($"== The sigmoid neuron f(w, x) = σ(w0·x0 + w1·x1 + w2) at w = ({F(w[0])}, {F(w[1])}, {F(w[2])}), x = ({F(input[0])}, {F(input[1])}): a generated [Input(2)] [Dense(1), Sigmoid] network");
        var neuron = new SigmoidNeuron();
        w.AsSpan(0, 2).CopyTo(neuron.Dense1Weights);      // w0, w1
        neuron.Dense1Bias[0] = w[2];                      // w2
        o.WriteLine("NetGen's names: inputs i1, i2 are x0, x1; weights w1, w2 are w0, w1; the bias b_o1 is w2. SigmoidNeuron.Explain with ∂f/∂out = 1:");
        neuron.Explain(input, o, outputGradient: [1.0]);

        // The same numbers through the public API, rounded as the slide rounds them.
        neuron.ZeroGradients();
        double output = neuron.Forward(input)[0];
        var inputGradient = new double[2];
        neuron.Backward([1.0], inputGradient);
        double[] weightGradient = [neuron.Dense1WeightsGradient[0], neuron.Dense1WeightsGradient[1], neuron.Dense1BiasGradient[0]];
        o.WriteLine("In the slide's notation, to two decimals (Forward, then Backward(outputGradient: [1], inputGradient) and the gradient views):");
        o.WriteLine(Invariant($"  output σ = {output:0.00}, local gradient (1 − σ)σ = {(1 - output) * output:0.00}"));
        o.WriteLine(Invariant($"  ∂f/∂x0 = {inputGradient[0]:0.00} (the slide rounds to 0.4), ∂f/∂w0 = {weightGradient[0]:0.00}"));
        o.WriteLine(Invariant($"  ∂f/∂x1 = {inputGradient[1]:0.00}, ∂f/∂w1 = {weightGradient[1]:0.00}"));
        o.WriteLine(Invariant($"  ∂f/∂w2 = {weightGradient[2]:0.00}"));
        o.WriteLine();
        return new GraphResult(f, dfdx, dfdy, dfdz, output, inputGradient, weightGradient);
    }

    private static string F(double value) => Explanation.F(value);

    private static string P(double value) => Explanation.P(value);

    /// <summary>The lecture's worked example: forward pass, E_total, one backprop step, the chain rule printed.</summary>
    public static void Backprop(TextWriter o, bool explain = true)
    {
        o.WriteLine("== Backpropagation, the lecture's worked example (2-2-2 sigmoid, E = Σ ½(t − o)², η = 0.5)");
        var net = new WorkedExample();
        new double[] { 0.15, 0.20, 0.25, 0.30 }.CopyTo(net.Dense1Weights);   // w1..w4: input → hidden, row-major [h, i]
        new double[] { 0.40, 0.45, 0.50, 0.55 }.CopyTo(net.Dense2Weights);   // w5..w8: hidden → output
        net.Dense1Bias.Fill(0.35);                                              // b1, held
        net.Dense2Bias.Fill(0.60);                                              // b2, held
        double[] input = [0.05, 0.10], target = [0.01, 0.99];
        o.WriteLine(WorkedExample.Summary);
        if (explain)
        {
            net.Explain(input, target, o, learningRate: 0.5);
            o.WriteLine();
        }

        var output = net.Forward(input);
        o.WriteLine($"out_h1 = {net.Sigmoid1Output[0]:F9}");   // every layer's output has a named view
        o.WriteLine($"out_o1 = {output[0]:F9}");
        o.WriteLine($"out_o2 = {output[1]:F9}");
        double before = net.TrainStep(input, target, new Sgd(0.5));
        o.WriteLine($"E_total before the step = {before:F9}");
        var w = net.Dense1Weights.ToArray().Concat(net.Dense2Weights.ToArray()).ToArray();
        for (int i = 0; i < 8; i++) o.WriteLine($"w{i + 1} = {w[i]:F9}");
        net.Forward(input);
        o.WriteLine($"E_total after one step  = {net.Loss(target):F9}");
        o.WriteLine("  (The lecture prints 0.291027924: it rounds every intermediate by hand. Exact double arithmetic gives 0.2910277737.)");
        o.WriteLine();
    }

    /// <summary>A 2-4-1 sigmoid MLP learns XOR by full-batch gradient descent, on the CPU or, given a device, as
    /// <c>XorMlp.Gpu</c> on it (same initial weights, same steps).</summary>
    public static bool Xor(TextWriter o, int epochs = 4000, double learningRate = 2.0, GpuDevice? device = null)
    {
        o.WriteLine($"== XOR with a 2-4-1 sigmoid MLP (full-batch gradient descent, η = {learningRate})");
        if (device is not null) SampleDevice.Describe(o, device);
        var cpu = device is null ? new XorMlp(maxBatch: 4, seed: 3) : null;
        using var gpu = device is null ? null : new XorMlp.Gpu(device, maxBatch: 4, seed: 3);
        double[] x = [0, 0, 0, 1, 1, 0, 1, 1], t = [0, 1, 1, 0];
        var sgd = new Sgd(learningRate);
        int correct = 0;
        var clock = Stopwatch.StartNew();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            bool report = epoch == 1 || epoch % 500 == 0 || epoch == epochs;
            double loss;
            ReadOnlySpan<double> y;
            if (cpu is not null)
            {
                loss = cpu.TrainStep(x, t, sgd, batch: 4);
                if (!report) continue;
                y = cpu.Forward(x, 4);
            }
            else
            {
                gpu!.TrainStep(x, t, sgd, batch: 4);   // returns nothing: the loss stays on the device
                if (!report) continue;
                loss = gpu.Loss();                      // read back (a wait for the device) only when printed
                y = gpu.Forward(x, 4);
            }
            correct = 0;
            for (int i = 0; i < 4; i++) if ((y[i] >= 0.5 ? 1 : 0) == t[i]) correct++;
            o.WriteLine($"  epoch {epoch,5}: loss {loss:0.000000}, outputs {y[0]:0.000} {y[1]:0.000} {y[2]:0.000} {y[3]:0.000}, {correct}/4 correct");
        }
        if (gpu is not null) o.WriteLine($"trained in {clock.Elapsed.TotalSeconds:0.0} s; {SampleDevice.MemoryLine(gpu)}");
        o.WriteLine(correct == 4 ? "XOR learned: 4/4." : $"XOR: {correct}/4 (try more epochs).");
        o.WriteLine();
        return correct == 4;
    }

    /// <summary>Epochs of the digits MLP by default, and with the CPU emulator (about 3 s an epoch there).</summary>
    public const int DigitsEpochs = 60, DigitsEmulatorEpochs = 15;

    /// <summary>The digits MLP on the embedded UCI 8×8 digits: 80/20 split, mini-batch SGD, on the CPU or, given a
    /// device, as <c>DigitsMlp.Gpu</c> on it. Epochs default to <see cref="DigitsEpochs"/>
    /// (<see cref="DigitsEmulatorEpochs"/> on the emulator). Returns the test accuracy.</summary>
    public static double Digits(TextWriter o, int? epochs = null, int batchSize = 32, double learningRate = 0.1, int seed = 7, GpuDevice? device = null)
    {
        int n = epochs ?? (device is { IsEmulator: true } ? DigitsEmulatorEpochs : DigitsEpochs);
        o.WriteLine($"== Digits: UCI 8×8 handwritten digits, {n} epochs of mini-batch SGD (batch {batchSize}, η = {learningRate})");
        var all = Datasets.UciDigits<float>();
        var (train, test) = all.Split(0.2, seed);
        o.WriteLine($"{all.Count} samples of {all.FeatureSize} pixels: {train.Count} to train, {test.Count} held out for the test.");
        o.WriteLine(DigitsMlp.Summary);
        var clock = Stopwatch.StartNew();
        double loss, accuracy;
        if (device is null)
        {
            var net = new DigitsMlp(maxBatch: batchSize, seed: seed);
            Trainer.Fit(net, train, n, batchSize, new Sgd(learningRate), seed: seed, log: o);
            (loss, accuracy) = Trainer.Evaluate(net, test);
        }
        else
        {
            SampleDevice.Describe(o, device);
            if (epochs is null && device.IsEmulator) o.WriteLine($"(on the emulator {DigitsEmulatorEpochs} epochs by default, not {DigitsEpochs}: --epochs changes it)");
            using var net = new DigitsMlp.Gpu(device, maxBatch: batchSize, seed: seed);   // the same initial weights as new DigitsMlp(batchSize, seed)
            GpuTrainer.Fit(net, train, n, batchSize, new Sgd(learningRate), seed, o);
            (loss, accuracy) = GpuTrainer.Evaluate(net, test);
            o.WriteLine(SampleDevice.MemoryLine(net));
        }
        o.WriteLine($"trained in {clock.Elapsed.TotalSeconds:0.0} s; test loss {loss:0.0000}");
        o.WriteLine($"test accuracy: {accuracy:0.000}");
        o.WriteLine();
        return accuracy;
    }
}
