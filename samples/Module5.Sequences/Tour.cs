namespace Module5.Sequences;

/// <summary>The module in a few minutes: the unrolled RNN, vanishing gradients, a shortened adding problem, the
/// row-by-row LSTM on part of MNIST, and a short character model with sampled words.</summary>
public static class Tour
{
    public static void Run(TextWriter output, string imageDirectory)
    {
        output.WriteLine("NetGen, module 5: recurrent networks (the full runs: the vanishing, adding, mnist and words subcommands)");
        output.WriteLine();
        Vanishing.Unrolled(output);
        Vanishing.Run(output, imageDirectory);
        Adding.Run(output, steps: 1000, batch: 64, learningRate: Adding.DefaultLearningRate, models: ["SimpleRNN", "LSTM"]);
        RowMnist.Run(output, ["LSTM"], epochs: 2, trainCount: 4000, testCount: 2000);
        output.WriteLine();
        Words.Run(output, "lstm", epochs: 2, limit: 30000);   // enough to beat the trigram baseline (1 epoch of 20,000 words did not: 3.163 vs 3.129)
    }
}
