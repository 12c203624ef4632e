using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

namespace Module5.Sequences;

/// <summary>MNIST read row by row: 28 steps of 28 pixels, SimpleRNN vs GRU vs LSTM (128 units, Adam 1e−3, batch 64).</summary>
public static class RowMnist
{
    public const int DefaultEpochs = 12;

    public sealed record Result(string Model, long Parameters, int Epochs, double SecondsPerEpoch, double TestAccuracy);

    public static (Dataset<float> Train, Dataset<float> Test) Load(string? directory, int trainCount, int testCount)
    {
        if (directory is null)
        {
            var all = Datasets.MnistSample<float>();
            return (all.Subset(Enumerable.Range(0, trainCount).ToArray()), all.Subset(Enumerable.Range(all.Count - testCount, testCount).ToArray()));
        }
        var train = Datasets.Mnist<float>(directory, train: true);
        var test = Datasets.Mnist<float>(directory, train: false);
        return (train.Subset(Enumerable.Range(0, Math.Min(trainCount, train.Count)).ToArray()), test.Subset(Enumerable.Range(0, Math.Min(testCount, test.Count)).ToArray()));
    }

    public static List<Result> Run(TextWriter output, string[] models, int epochs, string? directory = null, int trainCount = 8000, int testCount = 2000, int seed = 1)
    {
        var (train, test) = Load(directory, trainCount, testCount);
        output.WriteLine($"== {(directory is null ? "MNIST" : "IDX data from " + directory)} read row by row: 28 steps × 28 pixels, {train.Count:N0} training and {test.Count:N0} test images, 128 units, Adam(1e-3), batch 64, {epochs} epochs ==");
        output.WriteLine();
        var results = new List<Result>();
        foreach (string model in models)
        {
            INetwork<float> net = model switch
            {
                "SimpleRNN" => new RowRnn(64, seed),
                "GRU" => new RowGru(64, seed),
                "LSTM" => new RowLstm(64, seed),
                _ => throw new ArgumentException($"Unknown model '{model}': use SimpleRNN, GRU or LSTM."),
            };
            output.WriteLine($"{model}: {net.ParameterCount:N0} parameters");
            var clock = Stopwatch.StartNew();
            Trainer.Fit(net, train, epochs, batchSize: 64, new Adam(1e-3), seed: seed, log: output, verbose: 2);
            double seconds = clock.Elapsed.TotalSeconds;
            var (_, accuracy) = Trainer.Evaluate(net, test);
            output.WriteLine($"{model}: test accuracy {accuracy.ToString("0.000", CultureInfo.InvariantCulture)}");
            output.WriteLine();
            results.Add(new Result(model, net.ParameterCount, epochs, seconds / epochs, accuracy));
        }
        output.WriteLine("| model | parameters | epochs | seconds per epoch | test accuracy |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var r in results)
            output.WriteLine($"| {r.Model} | {r.Parameters:N0} | {r.Epochs} | {r.SecondsPerEpoch.ToString("0.0", CultureInfo.InvariantCulture)} | {r.TestAccuracy.ToString("0.000", CultureInfo.InvariantCulture)} |");
        output.WriteLine();
        var lstm = results.LastOrDefault(r => r.Model == "LSTM");
        if (lstm is not null) output.WriteLine($"test accuracy: {lstm.TestAccuracy.ToString("0.000", CultureInfo.InvariantCulture)}");
        return results;
    }
}
