using System.Globalization;
using NetGen;

namespace Module5.Sequences;

/// <summary>
/// Gradients through time at initialisation: for a T = 50 sequence, ‖∂E/∂h_t‖ for t = 50 … 1 for SimpleRNN, GRU and
/// LSTM (E = g·h_50 for a random unit vector g per sequence, so ‖∂E/∂h_50‖ = 1), averaged over 64 sequences.
/// </summary>
public static class Vanishing
{
    public const int Steps = 50;
    private const int Batch = 64;

    public static void Run(TextWriter output, string imageDirectory, int seed = 1)
    {
        output.WriteLine("== Vanishing gradients: ‖∂E/∂h_t‖ at initialisation, T = 50, 32 units, E = g·h_50 with ‖g‖ = 1 (mean of 64 sequences) ==");
        output.WriteLine();
        var random = new SeededRandom(seed);
        float[] x = Enumerable.Range(0, Batch * Steps).Select(_ => (float)random.NextDouble(-1, 1)).ToArray();
        float[] g = new float[Batch * 32];
        for (int n = 0; n < Batch; n++)
        {
            double norm = 0;
            for (int j = 0; j < 32; j++) { g[n * 32 + j] = (float)random.NextGaussian(); norm += g[n * 32 + j] * (double)g[n * 32 + j]; }
            for (int j = 0; j < 32; j++) g[n * 32 + j] /= (float)Math.Sqrt(norm);
        }

        var rnn = new VanishingRnn(Batch, seed);
        var gru = new VanishingGru(Batch, seed);
        var lstm = new VanishingLstm(Batch, seed);
        var lstmForget = new VanishingLstm(Batch, seed);
        // Keras' unit_forget_bias: the forget gate's bias starts at 1 (rows H..2H of bias_ih), so f ≈ σ(1) = 0.73.
        lstmForget.LSTM1BiasIh.Slice(32, 32).Fill(1f);
        lstmForget.LSTM1BiasHh.Slice(32, 32).Clear();
        var columns = new (string Name, double[] Norms)[]
        {
            ("SimpleRNN", Norms(rnn, rnn.SimpleRNN1Layer, x, g)),
            ("GRU", Norms(gru, gru.GRU1Layer, x, g)),
            ("LSTM", Norms(lstm, lstm.LSTM1Layer, x, g)),
            ("LSTM, forget bias 1", Norms(lstmForget, lstmForget.LSTM1Layer, x, g)),
        };
        output.WriteLine($"{"t",4}  " + string.Join("  ", columns.Select(c => c.Name.PadLeft(20))));
        foreach (int t in new[] { 50, 45, 40, 35, 30, 25, 20, 15, 10, 5, 1 })
            output.WriteLine($"{t,4}  " + string.Join("  ", columns.Select(c => c.Norms[t - 1].ToString("E2", CultureInfo.InvariantCulture).PadLeft(20))));
        output.WriteLine();
        var series = columns.ToDictionary(c => c.Name, c => (Enumerable.Range(1, Steps).Select(t => (double)t).ToArray(), c.Norms));
        string png = Path.Combine(imageDirectory, "vanishing.png");
        NetGen.Plots.Plots.SaveSeries(series, png, "‖∂E/∂h_t‖ at initialisation (T = 50, 32 units)", "step t", "‖∂E/∂h_t‖ (log scale)", logY: true);
        output.WriteLine($"Plot (log scale): {png}");
        output.WriteLine();
        double rnnDecay = Math.Pow(columns[0].Norms[0] / columns[0].Norms[Steps - 1], 1.0 / (Steps - 1));
        output.WriteLine($"""
            Why the SimpleRNN's gradient vanishes: ∂E/∂h_(t−1) = W_hhᵀ·diag(1 − h_t²)·∂E/∂h_t, so ∂E/∂h_1 is ∂E/∂h_50 multiplied by
            49 such Jacobians. At PyTorch's initialisation (uniform ±1/√32) W_hh's singular values are below 1 and tanh′ ≤ 1, so
            every step shrinks the gradient by about the same factor — here ×{rnnDecay.ToString("0.00", CultureInfo.InvariantCulture)} per step on average — and the product
            decays geometrically: the first steps get almost no learning signal. Gated cells add a path that is not a
            matrix product: the LSTM's cell c_t = f ⊙ c_(t−1) + i ⊙ g carries ∂E/∂c back multiplied only by the forget gate f
            (and the GRU's h' = (1 − z) ⊙ n + z ⊙ h by z). At initialisation f ≈ σ(0) = 0.5, so an untrained LSTM still loses
            the signal; but f is learned, and a forget bias of 1 (Keras' default) already keeps it orders of magnitude
            larger at t = 1. Trained on a task that needs memory (the adding problem), the gates open and GRU and LSTM learn
            what the SimpleRNN cannot.
            """);
        output.WriteLine();
    }

    /// <summary>Mean over the batch of ‖∂E/∂h_t‖ for t = 1 … T, with ∂E/∂h_T = g.</summary>
    private static double[] Norms(INetwork<float> net, RecurrentLayer<float> layer, float[] x, float[] g)
    {
        net.Forward(x, Batch);
        net.ZeroGradients();
        net.Backward(g, default);
        var dh = layer.HiddenGradient(0);
        var norms = new double[Steps];
        for (int n = 0; n < Batch; n++)
            for (int t = 0; t < Steps; t++)
            {
                double s = 0;
                for (int j = 0; j < 32; j++) { double v = dh[(n * Steps + t) * 32 + j]; s += v * v; }
                norms[t] += Math.Sqrt(s) / Batch;
            }
        return norms;
    }

    /// <summary>The lecture's unrolled RNN in numbers: 1 input, 2 hidden units, T = 3.</summary>
    public static void Unrolled(TextWriter output)
    {
        output.WriteLine("== The unrolled RNN: 1 input, 2 hidden units, T = 3, E = ½‖h_3 − y‖² ==");
        output.WriteLine();
        var net = new TinyRnn();
        new double[] { 0.5, -0.3 }.CopyTo(net.SimpleRNN1WeightIh);          // W_xh [2 × 1]
        new double[] { 0.1, 0.4, -0.2, 0.3 }.CopyTo(net.SimpleRNN1WeightHh); // W_hh [2 × 2]
        new double[] { 0.05, -0.05 }.CopyTo(net.SimpleRNN1BiasIh);
        new double[] { 0.0, 0.0 }.CopyTo(net.SimpleRNN1BiasHh);
        net.Explain([1.0, 0.5, -1.0], [0.2, -0.1], output);
        output.WriteLine();
    }
}
