using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

namespace Module5.Sequences;

/// <summary>The character model's vocabulary and sequence length: ids 0 = start, 1–26 = a–z, 27 = end.</summary>
public static class CharModel
{
    public const int Vocabulary = 28;
    public const int Start = 0, End = 27;

    /// <summary>Steps per word: up to 15 letters, then the end token (the input starts with the start token).</summary>
    public const int Steps = 16;

    public const int MaxLetters = Steps - 1;

    public static int Id(char c) => c - 'a' + 1;

    public static char Letter(int id) => (char)('a' + id - 1);

    /// <summary>Input ids [start, c1 … cn, end, end …] and next-character labels [c1 … cn, end, end …].</summary>
    public static void Encode(string word, Span<float> input, Span<int> labels)
    {
        for (int t = 0; t < Steps; t++)
        {
            input[t] = t == 0 ? Start : t <= word.Length ? Id(word[t - 1]) : End;
            labels[t] = t < word.Length ? Id(word[t]) : End;
        }
    }
}

/// <summary>
/// A character-level language model on English words: Embedding → LSTM (or GRU) → Dense at every step → Softmax,
/// trained to predict the next character; held-out bits per character against count-based n-gram baselines, and words
/// sampled one character at a time with the stateful step API.
/// </summary>
public static class Words
{
    public sealed record Result(double NetworkBits, double Unigram, double Bigram, double Trigram, double NovelShare05, double NovelShare10);

    public static Result Run(TextWriter output, string cell, int epochs, int seed = 1, int? limit = null, double learningRate = 3e-3)
    {
        var words = Datasets.EnglishWords().Where(w => w.Length <= CharModel.MaxLetters).ToArray();
        var random = new SeededRandom(seed);
        random.Shuffle(words.AsSpan());
        if (limit is int l) words = words.Take(l).ToArray();
        int testCount = words.Length / 10;
        var test = words.Take(testCount).ToArray();
        var train = words.Skip(testCount).ToArray();
        output.WriteLine($"== A character-level language model on {words.Length:N0} English words (SCOWL, ≤ {CharModel.MaxLetters} letters): {train.Length:N0} to train, {test.Length:N0} held out (seeded 90/10 split) ==");
        output.WriteLine();

        // Count-based baselines, fitted on the training words (Witten–Bell interpolation down to add-one unigrams).
        var ngrams = new NGrams(train);
        double uni = ngrams.BitsPerCharacter(test, 1), bi = ngrams.BitsPerCharacter(test, 2), tri = ngrams.BitsPerCharacter(test, 3);

        const int batch = 64;
        INetwork<float> net = cell == "gru" ? new CharGru(batch, seed) : new CharLstm(batch, seed);
        output.WriteLine(cell == "gru" ? CharGru.Summary : CharLstm.Summary);
        var adam = new Adam(learningRate) { ClipNorm = 1.0 };
        var x = new float[batch * CharModel.Steps];
        var y = new int[batch * CharModel.Steps];
        var order = Enumerable.Range(0, train.Length).ToArray();
        var clock = Stopwatch.StartNew();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            random.Shuffle(order.AsSpan());
            double sum = 0;
            int batches = 0;
            for (int start = 0; start + batch <= order.Length; start += batch)
            {
                for (int n = 0; n < batch; n++)
                    CharModel.Encode(train[order[start + n]], x.AsSpan(n * CharModel.Steps, CharModel.Steps), y.AsSpan(n * CharModel.Steps, CharModel.Steps));
                sum += net.TrainStep(x, y, adam, batch);
                batches++;
            }
            output.WriteLine($"epoch {epoch}/{epochs}: loss {(sum / batches).ToString("0.0000", CultureInfo.InvariantCulture)} (nats per step, padding included), held-out bits per character " +
                             $"{BitsPerCharacter(net, test).ToString("0.000", CultureInfo.InvariantCulture)}, {clock.Elapsed.TotalSeconds:0} s");
        }
        double bits = BitsPerCharacter(net, test);
        output.WriteLine();
        output.WriteLine("| model | held-out bits per character |");
        output.WriteLine("|---|---:|");
        output.WriteLine($"| unigram | {uni.ToString("0.000", CultureInfo.InvariantCulture)} |");
        output.WriteLine($"| bigram | {bi.ToString("0.000", CultureInfo.InvariantCulture)} |");
        output.WriteLine($"| trigram | {tri.ToString("0.000", CultureInfo.InvariantCulture)} |");
        output.WriteLine($"| {(cell == "gru" ? "GRU" : "LSTM")} 128 | {bits.ToString("0.000", CultureInfo.InvariantCulture)} |");
        output.WriteLine("(each word's letters and its end are predicted: ln p summed over them, in bits, per predicted character)");
        output.WriteLine();
        output.WriteLine($"bits per character: network {bits.ToString("0.000", CultureInfo.InvariantCulture)}, trigram {tri.ToString("0.000", CultureInfo.InvariantCulture)}");
        output.WriteLine();

        // Sampling, one character per Step: the state (h, c) carries the prefix; nothing is re-run.
        var known = new HashSet<string>(train);
        var sampler = cell == "gru" ? (dynamic)new CharGru(1, seed) : new CharLstm(1, seed);
        net.Parameters.CopyTo(((INetwork<float>)sampler).Parameters);
        var shares = new List<double>();
        foreach (double temperature in new[] { 0.5, 1.0 })
        {
            var rng = new SeededRandom(seed + (int)(temperature * 100));
            var sampled = Enumerable.Range(0, 20).Select(_ => Sample(sampler, temperature, rng)).ToList();
            double novel = sampled.Count(w => !known.Contains(w)) / (double)sampled.Count;
            shares.Add(novel);
            output.WriteLine($"temperature {temperature.ToString("0.0", CultureInfo.InvariantCulture)}: {string.Join(" ", sampled)}");
            output.WriteLine($"  {novel.ToString("0.00", CultureInfo.InvariantCulture)} of them are not in the training list");
        }
        output.WriteLine();
        return new Result(bits, uni, bi, tri, shares[0], shares[1]);
    }

    /// <summary>One word, character by character through the stateful step API.</summary>
    private static string Sample(dynamic sampler, double temperature, SeededRandom random)
    {
        sampler.ResetState();
        var word = new System.Text.StringBuilder();
        float[] input = [CharModel.Start];
        var p = new double[CharModel.Vocabulary];
        for (int t = 0; t < 30; t++)
        {
            float[] probabilities = StepOf(sampler, input);
            double sum = 0;
            for (int k = 0; k < p.Length; k++) { p[k] = Math.Exp(Math.Log(Math.Max(probabilities[k], 1e-30)) / temperature); sum += p[k]; }
            double u = random.NextDouble() * sum;
            int id = 0;
            for (; id < p.Length - 1; id++) { u -= p[id]; if (u < 0) break; }
            if (id == CharModel.End || id == CharModel.Start) break;
            word.Append(CharModel.Letter(id));
            input[0] = id;
        }
        return word.ToString();
    }

    private static float[] StepOf(object sampler, float[] input) => sampler switch
    {
        CharLstm lstm => lstm.Step(input).ToArray(),
        CharGru gru => gru.Step(input).ToArray(),
        _ => throw new ArgumentException("not a character model"),
    };

    /// <summary>Held-out bits per predicted character (each letter and the end of each word).</summary>
    public static double BitsPerCharacter(INetwork<float> net, string[] words)
    {
        int batch = net.MaxBatch;
        var x = new float[batch * CharModel.Steps];
        var y = new int[batch * CharModel.Steps];
        double bits = 0;
        long count = 0;
        bool training = net.Training;
        net.Training = false;
        for (int start = 0; start < words.Length; start += batch)
        {
            int n = Math.Min(batch, words.Length - start);
            for (int i = 0; i < n; i++) CharModel.Encode(words[start + i], x.AsSpan(i * CharModel.Steps, CharModel.Steps), y.AsSpan(i * CharModel.Steps, CharModel.Steps));
            var p = net.Forward(x.AsSpan(0, n * CharModel.Steps), n);
            for (int i = 0; i < n; i++)
                for (int t = 0; t <= words[start + i].Length; t++)
                {
                    int r = i * CharModel.Steps + t;
                    bits -= Math.Log2(Math.Max(p[r * CharModel.Vocabulary + y[r]], 1e-30f));
                    count++;
                }
        }
        net.Training = training;
        return bits / count;
    }
}

/// <summary>Character n-gram counts (n ≤ 3) over words padded with start symbols, with Witten–Bell interpolation:
/// p(c | h) = (C(h c) + N₁₊(h ·)·p(c | h′)) / (C(h) + N₁₊(h ·)), h′ the history without its oldest symbol, down to an
/// add-one unigram over the 27 predicted symbols (a–z and the end).</summary>
public sealed class NGrams
{
    private readonly Dictionary<string, Dictionary<int, int>> _counts = new();

    public NGrams(IEnumerable<string> words)
    {
        foreach (var w in words)
        {
            var s = Symbols(w);
            for (int i = 2; i < s.Length; i++)
                for (int order = 0; order < 3; order++)
                    Add(Key(s, i, order), s[i]);
        }
    }

    private static int[] Symbols(string w) => [CharModel.Start, CharModel.Start, .. w.Select(CharModel.Id), CharModel.End];

    private static string Key(int[] s, int i, int order) => order == 0 ? "" : string.Join(",", s.Skip(i - order).Take(order));

    private void Add(string history, int symbol)
    {
        if (!_counts.TryGetValue(history, out var d)) _counts[history] = d = new();
        d[symbol] = d.GetValueOrDefault(symbol) + 1;
    }

    private double P(int[] s, int i, int order)
    {
        if (order == 0)
        {
            var uni = _counts.GetValueOrDefault("") ?? new();
            return (uni.GetValueOrDefault(s[i]) + 1.0) / (uni.Values.Sum() + 27.0);
        }
        double lower = P(s, i, order - 1);
        if (!_counts.TryGetValue(Key(s, i, order), out var d)) return lower;
        double total = d.Values.Sum(), types = d.Count;
        return (d.GetValueOrDefault(s[i]) + types * lower) / (total + types);
    }

    /// <summary>Bits per predicted character of an n-gram model (n = 1, 2, 3).</summary>
    public double BitsPerCharacter(IEnumerable<string> words, int n)
    {
        double bits = 0;
        long count = 0;
        foreach (var w in words)
        {
            var s = Symbols(w);
            for (int i = 2; i < s.Length; i++) { bits -= Math.Log2(P(s, i, n - 1)); count++; }
        }
        return bits / count;
    }
}
