using System.Diagnostics;
using NetGen;
using NetGen.Data;
using NetGen.Gpu;
using NetGen.Samples;

namespace Module1.NeuralNetworks;

/// <summary>The module's demonstrations, one method per subcommand.</summary>
public static class Tour
{
    private static readonly double[][] Inputs = [[0, 0], [0, 1], [1, 0], [1, 1]];

    /// <summary>The perceptron learns AND and OR with Rosenblatt's rule, and cannot learn XOR. Returns which reached 4/4.</summary>
    public static (bool And, bool Or, bool Xor) Perceptrons(TextWriter o, int epochs = 12, double learningRate = 0.1)
    {
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
