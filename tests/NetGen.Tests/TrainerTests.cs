using System.Text.RegularExpressions;

namespace NetGen.Tests;

/// <summary>
/// Multinomial logistic regression written out by hand (Dense(3) + softmax + cross-entropy on 2 inputs), so the
/// trainer can be tested without the generator.
/// </summary>
internal sealed class HandSoftmaxRegression : INetwork<double>
{
    private const int In = 2, Out = 3;
    private readonly double[] _parameters = new double[In * Out + Out], _gradients = new double[In * Out + Out];
    private readonly double[] _input, _output;
    private int _batch;

    public HandSoftmaxRegression(int maxBatch = 1, int seed = 0)
    {
        MaxBatch = maxBatch;
        _input = new double[maxBatch * In];
        _output = new double[maxBatch * Out];
        Init.GlorotUniform<double>(_parameters.AsSpan(0, In * Out), In, Out, new SeededRandom(seed));
    }

    public int InputSize => In;
    public int OutputSize => Out;
    public long ParameterCount => In * Out + Out;
    public string Summary => "Dense(3) + Softmax, 9 parameters";

    public int MaxBatch { get; }
    public bool Training { get; set; } = true;
    public long SamplesTrained { get; private set; }
    public Span<double> Parameters => _parameters;
    public Span<double> Gradients => _gradients;
    public Span<double> State => Span<double>.Empty;
    public IReadOnlyList<TensorInfo> Tensors => [new("Weights", TensorBuffer.Parameters, 0, [Out, In]), new("Bias", TensorBuffer.Parameters, In * Out, [Out])];
    public IReadOnlyList<LayerInfo> Layers => [];
    public ReadOnlySpan<double> Output => _output.AsSpan(0, _batch * Out);

    public ReadOnlySpan<double> Forward(ReadOnlySpan<double> input, int batch = 1)
    {
        Guard.Batch(batch, MaxBatch, nameof(HandSoftmaxRegression));
        Guard.BatchSpan(input.Length, batch, In, nameof(input));
        input.CopyTo(_input);
        for (int n = 0; n < batch; n++)
        {
            Span<double> z = _output.AsSpan(n * Out, Out);
            double max = double.NegativeInfinity;
            for (int j = 0; j < Out; j++)
            {
                double s = _parameters[In * Out + j];
                for (int i = 0; i < In; i++) s += _parameters[j * In + i] * input[n * In + i];
                z[j] = s;
                max = Math.Max(max, s);
            }
            double sum = 0;
            for (int j = 0; j < Out; j++) sum += z[j] = Math.Exp(z[j] - max);
            for (int j = 0; j < Out; j++) z[j] /= sum;
        }
        _batch = batch;
        return Output;
    }

    public double Loss(ReadOnlySpan<double> target)
    {
        Guard.ForwardDone(_batch, nameof(HandSoftmaxRegression));
        Guard.BatchSpan(target.Length, _batch, Out, nameof(target));
        double e = 0;
        for (int k = 0; k < target.Length; k++) if (target[k] != 0) e -= target[k] * Math.Log(_output[k]);
        return e / _batch;
    }

    public double Loss(ReadOnlySpan<int> labels)
    {
        Guard.ForwardDone(_batch, nameof(HandSoftmaxRegression));
        Guard.Labels(labels, _batch, Out, nameof(labels));
        double e = 0;
        for (int n = 0; n < _batch; n++) e -= Math.Log(_output[n * Out + labels[n]]);
        return e / _batch;
    }

    public void Backward(ReadOnlySpan<double> target)
    {
        Guard.BatchSpan(target.Length, _batch, Out, nameof(target));
        Span<double> dz = stackalloc double[Out];
        for (int n = 0; n < _batch; n++)
        {
            for (int j = 0; j < Out; j++) dz[j] = (_output[n * Out + j] - target[n * Out + j]) / _batch;
            Accumulate(n, dz);
        }
    }

    public void Backward(ReadOnlySpan<int> labels)
    {
        Guard.Labels(labels, _batch, Out, nameof(labels));
        Span<double> dz = stackalloc double[Out];
        for (int n = 0; n < _batch; n++)
        {
            for (int j = 0; j < Out; j++) dz[j] = (_output[n * Out + j] - (labels[n] == j ? 1 : 0)) / _batch;
            Accumulate(n, dz);
        }
    }

    public void Backward(ReadOnlySpan<double> outputGradient, Span<double> inputGradient)
    {
        Guard.BatchSpan(outputGradient.Length, _batch, Out, nameof(outputGradient));
        Span<double> dz = stackalloc double[Out];
        for (int n = 0; n < _batch; n++)
        {
            // Softmax Jacobian: ∂E/∂zⱼ = pⱼ (gⱼ − Σₖ gₖ pₖ).
            double dot = 0;
            for (int k = 0; k < Out; k++) dot += outputGradient[n * Out + k] * _output[n * Out + k];
            for (int j = 0; j < Out; j++) dz[j] = _output[n * Out + j] * (outputGradient[n * Out + j] - dot);
            Accumulate(n, dz);
            if (!inputGradient.IsEmpty)
                for (int i = 0; i < In; i++)
                {
                    double s = 0;
                    for (int j = 0; j < Out; j++) s += _parameters[j * In + i] * dz[j];
                    inputGradient[n * In + i] = s;
                }
        }
    }

    private void Accumulate(int n, ReadOnlySpan<double> dz)
    {
        for (int j = 0; j < Out; j++)
        {
            for (int i = 0; i < In; i++) _gradients[j * In + i] += dz[j] * _input[n * In + i];
            _gradients[In * Out + j] += dz[j];
        }
    }

    public void ZeroGradients() => Array.Clear(_gradients);

    public double TrainStep(ReadOnlySpan<double> input, ReadOnlySpan<double> target, IOptimizer optimizer, int batch = 1)
    {
        ZeroGradients();
        Forward(input, batch);
        double loss = Loss(target);
        Backward(target);
        optimizer.Step<double>(_parameters, _gradients);
        SamplesTrained += batch;
        return loss;
    }

    public double TrainStep(ReadOnlySpan<double> input, ReadOnlySpan<int> labels, IOptimizer optimizer, int batch = 1)
    {
        ZeroGradients();
        Forward(input, batch);
        double loss = Loss(labels);
        Backward(labels);
        optimizer.Step<double>(_parameters, _gradients);
        SamplesTrained += batch;
        return loss;
    }
}

public class TrainerTests
{
    /// <summary>Three Gaussian blobs (σ = 0.3) around points 1 apart on the unit circle: linearly separable but for a
    /// little overlap.</summary>
    private static Dataset<double> Blobs(int count, int seed)
    {
        var random = new SeededRandom(seed);
        var features = new double[count * 2];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int c = n % 3;
            double angle = 2 * Math.PI * c / 3;
            features[2 * n] = Math.Cos(angle) + 0.3 * random.NextGaussian();
            features[2 * n + 1] = Math.Sin(angle) + 0.3 * random.NextGaussian();
            labels[n] = c;
        }
        return new Dataset<double>(features, 2, labels, 3);
    }

    private static Dataset<double> OneHot(Dataset<double> set)
    {
        var targets = new double[set.Count * 3];
        for (int n = 0; n < set.Count; n++) targets[n * 3 + set.Label(n)] = 1;
        return new Dataset<double>(set.AllFeatures.ToArray(), 2, targets, 3);
    }

    [Fact]
    public void Fit_LearnsSeparableBlobs_To95PercentAccuracy()
    {
        var train = Blobs(300, seed: 1);
        var test = Blobs(150, seed: 2);
        var net = new HandSoftmaxRegression(maxBatch: 16, seed: 3);
        double before = Trainer.Evaluate(net, train).Loss;

        var history = Trainer.Fit(net, train, epochs: 20, batchSize: 16, new Sgd(0.5), seed: 4);

        Assert.Equal(20, history.Epochs);
        Assert.Equal(20, history.Loss.Count);
        Assert.Equal(20, history.Accuracy.Count);
        Assert.Empty(history.ValidationLoss);
        Assert.Equal(20 * 300, net.SamplesTrained);          // every sample once per epoch (19 steps: 18 × 16 + 12)
        Assert.True(history.Loss[^1] < history.Loss[0], $"loss fell: {history.Loss[0]} → {history.Loss[^1]}");
        Assert.True(history.Loss[^1] < 0.25, $"final loss {history.Loss[^1]}");
        Assert.True(history.Accuracy[^1] >= 0.95, $"final training accuracy {history.Accuracy[^1]}");
        var (loss, accuracy) = Trainer.Evaluate(net, test);
        Assert.True(loss < before / 3, $"test loss {loss} vs {before} before training");
        Assert.True(accuracy >= 0.95, $"test accuracy {accuracy}");
    }

    [Fact]
    public void Fit_OnOneHotTargets_LearnsToo()
    {
        var train = OneHot(Blobs(300, seed: 1));
        var net = new HandSoftmaxRegression(maxBatch: 32, seed: 3);
        var history = Trainer.Fit(net, train, epochs: 20, batchSize: 32, new Sgd(0.5), seed: 4);
        Assert.True(history.Accuracy[^1] >= 0.95, $"final accuracy {history.Accuracy[^1]}");
        // For a target set with several outputs, accuracy is argmax(output) = argmax(target): the same as with labels.
        Assert.Equal(Trainer.Evaluate(net, Blobs(300, seed: 1)).Accuracy, Trainer.Evaluate(net, train).Accuracy);
    }

    [Fact]
    public void Fit_IsDeterministicForASeed()
    {
        var train = Blobs(200, seed: 5);
        History Run(int shuffleSeed, out double[] parameters)
        {
            var net = new HandSoftmaxRegression(maxBatch: 10, seed: 6);
            var h = Trainer.Fit(net, train, epochs: 5, batchSize: 10, new Sgd(0.1), seed: shuffleSeed, validation: Blobs(30, seed: 7));
            parameters = net.Parameters.ToArray();
            return h;
        }
        var a = Run(11, out var pa);
        var b = Run(11, out var pb);
        var c = Run(12, out _);
        Assert.Equal(a.Loss, b.Loss);
        Assert.Equal(a.Accuracy, b.Accuracy);
        Assert.Equal(a.ValidationLoss, b.ValidationLoss);
        Assert.Equal(a.ValidationAccuracy, b.ValidationAccuracy);
        Assert.Equal(pa, pb);
        Assert.NotEqual(a.Loss, c.Loss);                     // the seed does drive the shuffling
    }

    [Fact]
    public void Fit_WithValidation_LogsOneKerasStyleLinePerEpoch()
    {
        var net = new HandSoftmaxRegression(maxBatch: 8, seed: 1);
        var log = new StringWriter();
        var history = Trainer.Fit(net, Blobs(60, 1), epochs: 3, batchSize: 8, new Sgd(0.3), seed: 2, log: log, validation: Blobs(30, 9));
        string[] lines = log.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        for (int e = 0; e < 3; e++)
        {
            Assert.Matches(new Regex($@"^Epoch {e + 1}/3 - \d+\.\ds - loss: \d+\.\d{{4}} - accuracy: [01]\.\d{{4}} - val_loss: \d+\.\d{{4}} - val_accuracy: [01]\.\d{{4}}$"), lines[e]);
            Assert.Contains($"loss: {history.Loss[e]:0.0000}", lines[e]);
            Assert.Contains($"val_accuracy: {history.ValidationAccuracy[e]:0.0000}", lines[e]);
        }
        Assert.Equal(3, history.ValidationLoss.Count);
        Assert.True(net.Training, "Fit leaves the network in training mode");
    }

    [Fact]
    public void Fit_WithoutValidation_LogsNoValidationColumns()
    {
        var log = new StringWriter();
        Trainer.Fit(new HandSoftmaxRegression(4), Blobs(12, 1), epochs: 1, batchSize: 4, new Sgd(0.1), log: log);
        Assert.Matches(new Regex(@"^Epoch 1/1 - \d+\.\ds - loss: \d+\.\d{4} - accuracy: [01]\.\d{4}\r?\n$"), log.ToString());
    }

    [Fact]
    public void Fit_HugeLearningRate_ThrowsNamingEpochAndStep()
    {
        var net = new HandSoftmaxRegression(maxBatch: 10, seed: 1);
        var ex = Assert.Throws<InvalidOperationException>(() => Trainer.Fit(net, Blobs(100, 1), epochs: 5, batchSize: 10, new Sgd(1e300)));
        Assert.Matches(new Regex(@"the loss became (NaN|∞|Infinity|-∞) at epoch 1/5, step \d+/10"), ex.Message);
        Assert.Contains("Lower the learning rate", ex.Message);
    }

    [Fact]
    public void Fit_BatchLargerThanMaxBatch_IsRejected()
    {
        var net = new HandSoftmaxRegression(maxBatch: 8);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(net, Blobs(50, 1), epochs: 1, batchSize: 32, new Sgd(0.1)));
        Assert.Equal("batchSize", ex.ParamName);
        Assert.Contains("Batch size 32 is out of range", ex.Message);
        Assert.Contains("batches of 1 to 8 samples", ex.Message);
        Assert.Contains("maxBatch: 32", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(net, Blobs(50, 1), epochs: 1, batchSize: 0, new Sgd(0.1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(net, Blobs(50, 1), epochs: 0, batchSize: 4, new Sgd(0.1)));
    }

    [Fact]
    public void Fit_DataThatDoesNotFitTheNetwork_IsRejected()
    {
        var net = new HandSoftmaxRegression(maxBatch: 4);
        var wide = new Dataset<double>(new double[12], 3, [0, 1, 2, 0], 3);
        var ex = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, wide, 1, 4, new Sgd(0.1)));
        Assert.Contains("The training set has 3 features per sample, but HandSoftmaxRegression takes 2 inputs per sample", ex.Message);

        var fiveClasses = new Dataset<double>(new double[8], 2, [0, 1, 2, 4], 5);
        var classes = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, fiveClasses, 1, 4, new Sgd(0.1)));
        Assert.Contains("has 5 classes but HandSoftmaxRegression has 3 outputs", classes.Message);

        var otherValidation = new Dataset<double>(new double[6], 2, new double[6], 2);
        var validation = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, Blobs(8, 1), 1, 4, new Sgd(0.1), validation: otherValidation));
        Assert.Contains("does not match the training set", validation.Message);
        Assert.True(net.Training, "a rejected call leaves the training mode as it was");
        Assert.Equal(0, net.SamplesTrained);
    }

    [Fact]
    public void Evaluate_MatchesAHandCountAndRestoresTrainingMode()
    {
        var data = Blobs(45, 3);
        var net = new HandSoftmaxRegression(maxBatch: 7, seed: 2);
        Trainer.Fit(net, data, epochs: 2, batchSize: 7, new Sgd(0.2));
        double lossSum = 0;
        int correct = 0;
        for (int n = 0; n < data.Count; n++)
        {
            var p = net.Forward(data.Features(n)).ToArray();
            lossSum += -Math.Log(p[data.Label(n)]);
            if (Array.IndexOf(p, p.Max()) == data.Label(n)) correct++;
        }
        net.Training = true;
        var (loss, accuracy) = Trainer.Evaluate(net, data);       // batch 0 → MaxBatch (7): 6 full batches and one of 3
        Assert.Equal(lossSum / data.Count, loss, 12);
        Assert.Equal((double)correct / data.Count, accuracy);
        Assert.True(net.Training);
        Assert.Equal(accuracy, Trainer.Evaluate(net, data, batchSize: 1).Accuracy);
    }

    [Fact]
    public void Evaluate_OneOutput_ThresholdsAtOneHalf()
    {
        var net = new HandIdentity(maxBatch: 4);
        double[] x = [0.2, 0.7, 0.6, 0.1];
        // Targets: (o ≥ ½) = (t ≥ ½) holds for samples 0 and 1 only.
        var (loss, accuracy) = Trainer.Evaluate(net, new Dataset<double>(x, 1, [0.0, 1.0, 0.0, 1.0], 1));
        Assert.Equal(0.5, accuracy);
        Assert.Equal((0.04 + 0.09 + 0.36 + 0.81) / 4, loss, 12);
        // Labels of a two-class set: output ≥ ½ reads as class 1.
        Assert.Equal(0.75, Trainer.Evaluate(net, new Dataset<double>(x, 1, [0, 1, 1, 1], 2), batchSize: 3).Accuracy);
    }
}

/// <summary>y = x on one value, with squared error: the smallest network with one output.</summary>
internal sealed class HandIdentity(int maxBatch) : INetwork<double>
{
    private readonly double[] _output = new double[maxBatch];
    private int _batch;

    public int InputSize => 1;
    public int OutputSize => 1;
    public long ParameterCount => 0;
    public string Summary => "Identity";
    public int MaxBatch => maxBatch;
    public bool Training { get; set; } = true;
    public Span<double> Parameters => [];
    public Span<double> Gradients => [];
    public Span<double> State => Span<double>.Empty;
    public IReadOnlyList<TensorInfo> Tensors => [];
    public IReadOnlyList<LayerInfo> Layers => [];
    public ReadOnlySpan<double> Output => _output.AsSpan(0, _batch);

    public ReadOnlySpan<double> Forward(ReadOnlySpan<double> input, int batch = 1)
    {
        Guard.Batch(batch, MaxBatch, nameof(HandIdentity));
        Guard.BatchSpan(input.Length, batch, 1, nameof(input));
        input.CopyTo(_output);
        _batch = batch;
        return Output;
    }

    public double Loss(ReadOnlySpan<double> target)
    {
        double e = 0;
        for (int n = 0; n < _batch; n++) e += (_output[n] - target[n]) * (_output[n] - target[n]);
        return e / _batch;
    }

    public double Loss(ReadOnlySpan<int> labels)
    {
        double e = 0;
        for (int n = 0; n < _batch; n++) e += (_output[n] - labels[n]) * (_output[n] - labels[n]);
        return e / _batch;
    }

    public void Backward(ReadOnlySpan<double> target) { }
    public void Backward(ReadOnlySpan<int> labels) { }
    public void Backward(ReadOnlySpan<double> outputGradient, Span<double> inputGradient) => outputGradient.CopyTo(inputGradient);
    public void ZeroGradients() { }
    public double TrainStep(ReadOnlySpan<double> input, ReadOnlySpan<double> target, IOptimizer optimizer, int batch = 1) { Forward(input, batch); return Loss(target); }
    public double TrainStep(ReadOnlySpan<double> input, ReadOnlySpan<int> labels, IOptimizer optimizer, int batch = 1) { Forward(input, batch); return Loss(labels); }
}
