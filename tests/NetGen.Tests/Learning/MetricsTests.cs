namespace NetGen.Tests.Learning;

/// <summary>Metrics against numbers computed by hand.</summary>
public sealed class MetricsTests
{
    // Ten samples of three classes: (actual, predicted, second choice). The confusion matrix, actual down:
    //   [2 1 1]    row sums 4 2 4, column sums 3 4 3, diagonal 2 2 2 → accuracy 0.6
    //   [0 2 0]    precision 2/3, 1/2, 2/3 → macro 11/18;  recall 1/2, 1, 1/2 → macro 2/3
    //   [1 1 2]    F1 4/7, 2/3, 4/7 → macro 38/63;  top-2 hits: samples 2 and 8 too → 0.8
    private static readonly (int Actual, int Predicted, int Second)[] Samples =
    [
        (0, 0, 1), (0, 0, 2), (0, 1, 0), (0, 2, 1), (1, 1, 0),
        (1, 1, 2), (2, 1, 0), (2, 2, 1), (2, 0, 2), (2, 2, 0),
    ];

    private static (double[] Outputs, int[] Labels) Batch()
    {
        var outputs = new double[Samples.Length * 3];
        var labels = new int[Samples.Length];
        for (int n = 0; n < Samples.Length; n++)
        {
            var (actual, predicted, second) = Samples[n];
            for (int j = 0; j < 3; j++) outputs[n * 3 + j] = j == predicted ? 0.6 : j == second ? 0.3 : 0.1;
            labels[n] = actual;
        }
        return (outputs, labels);
    }

    private static double Run(IMetric metric, int split = 4)
    {
        var (outputs, labels) = Batch();
        metric.Reset();
        // Two batches: the metric accumulates.
        metric.Update<double>(outputs.AsSpan(0, split * 3), 3, labels.AsSpan(0, split));
        metric.Update<double>(outputs.AsSpan(split * 3), 3, labels.AsSpan(split));
        return metric.Result;
    }

    [Fact]
    public void ConfusionMatrix_CountsAndRatios_MatchTheHandComputation()
    {
        var (outputs, labels) = Batch();
        var m = new ConfusionMatrix(3, ["cat", "dog", "bird"]);
        m.Add<double>(outputs, 3, labels);
        long[,] expected = { { 2, 1, 1 }, { 0, 2, 0 }, { 1, 1, 2 } };
        for (int a = 0; a < 3; a++)
            for (int p = 0; p < 3; p++) Assert.Equal(expected[a, p], m[a, p]);
        Assert.Equal(10, m.Total);
        Assert.Equal(0.6, m.Accuracy, 15);
        Assert.Equal([2.0 / 3, 0.5, 2.0 / 3], Enumerable.Range(0, 3).Select(m.Precision));
        Assert.Equal([0.5, 1.0, 0.5], Enumerable.Range(0, 3).Select(m.Recall));
        Assert.Equal(4.0 / 7, m.F1(0), 14);
        Assert.Equal(2.0 / 3, m.F1(1), 15);
        Assert.Equal(11.0 / 18, m.MacroPrecision, 15);
        Assert.Equal(2.0 / 3, m.MacroRecall, 15);
        Assert.Equal(38.0 / 63, m.MacroF1, 14);
        Assert.Equal(4, m.Support(0));
        Assert.Equal(4, m.Predicted(1));
    }

    [Fact]
    public void ConfusionMatrix_PrintsAnAlignedTableWithClassLabels()
    {
        var (outputs, labels) = Batch();
        var m = new ConfusionMatrix(3, ["cat", "dog", "bird"]);
        m.Add<double>(outputs, 3, labels);
        for (int k = 0; k < 9; k++) m.Add(1, 1);       // 11 dog→dog: a two-digit count widens its column
        string nl = Environment.NewLine;
        Assert.Equal(
            "actual \\ predicted  cat  dog  bird" + nl +
            "cat                   2    1     1" + nl +
            "dog                   0   11     0" + nl +
            "bird                  1    1     2" + nl,
            m.ToString());

        string report = m.Report();
        Assert.Contains("          precision    recall        f1  support", report);
        Assert.Contains("cat          0.6667    0.5000    0.5714        4", report);
        Assert.Contains("accuracy                         0.7895       19", report);   // 15/19
    }

    [Fact]
    public void ConfusionMatrix_ZeroDenominators_AreZero()
    {
        var m = new ConfusionMatrix(3);
        m.Add(0, 0);
        m.Add(1, 0);
        Assert.Equal(0, m.Precision(2));      // never predicted
        Assert.Equal(0, m.Recall(2));         // no samples
        Assert.Equal(0, m.F1(1));             // P = R = 0
        Assert.Equal(0.5, m.Precision(0));
        Assert.Equal("0", m.ClassNames[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Add(3, 0));
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(3, ["a", "b"]));
    }

    [Fact]
    public void StreamingMetrics_AccumulateOverBatches()
    {
        Assert.Equal(0.6, Run(Metrics.Accuracy()), 15);
        Assert.Equal(0.8, Run(Metrics.TopKAccuracy(2)), 15);
        Assert.Equal(1.0, Run(Metrics.TopKAccuracy(3)), 15);
        Assert.Equal(0.6, Run(Metrics.TopKAccuracy(1)), 15);
        Assert.Equal(11.0 / 18, Run(Metrics.Precision()), 15);
        Assert.Equal(2.0 / 3, Run(Metrics.Recall()), 15);
        Assert.Equal(38.0 / 63, Run(Metrics.F1Score()), 14);
        Assert.Equal(0.5, Run(Metrics.Precision(1)), 15);
        Assert.Equal(1.0, Run(Metrics.Recall(1), split: 7), 15);
        Assert.Equal(4.0 / 7, Run(Metrics.F1Score(2)), 14);
        Assert.Equal(["accuracy", "top_2_accuracy", "precision", "recall_1", "f1"],
            new[] { Metrics.Accuracy(), Metrics.TopKAccuracy(2), Metrics.Precision(), Metrics.Recall(1), Metrics.F1Score() }.Select(m => m.Name));
        var reset = Metrics.Precision();
        Run(reset);
        reset.Reset();
        Assert.Equal(0, reset.Result);
    }

    [Fact]
    public void TopK_CountsTiesAtTheBoundaryAsHits()
    {
        var top1 = Metrics.TopKAccuracy(1);
        top1.Update<double>([0.5, 0.5, 0.0], 3, [1]);
        Assert.Equal(1, top1.Result);
    }

    [Fact]
    public void SingleOutput_ThresholdsAtOneHalf_AsTwoClasses()
    {
        double[] outputs = [0.7, 0.2, 0.5, 0.4];
        int[] labels = [1, 0, 0, 1];            // predicted 1, 0, 1, 0
        var accuracy = Metrics.Accuracy();
        accuracy.Update<double>(outputs, 1, labels);
        Assert.Equal(0.5, accuracy.Result);
        var precision = Metrics.Precision(1);
        precision.Update<double>(outputs, 1, labels);
        Assert.Equal(0.5, precision.Result);
        Assert.Equal(1, Metrics.PredictedClass<float>([0.5f]));
        Assert.Equal(0, Metrics.PredictedClass<float>([0.49f]));
    }

    [Fact]
    public void ConfusionMatrix_Compute_RunsTheNetworkInInferenceMode()
    {
        var net = new HandSoftmaxRegression(maxBatch: 4, seed: 3);
        var data = new Dataset<double>([1, 0, 0, 1, -1, -1, 0.5, 0.5, -1, 0], 2, [0, 1, 2, 0, 1], 3);
        var m = ConfusionMatrix.Compute(net, data, batchSize: 2);
        Assert.Equal(5, m.Total);
        Assert.True(net.Training);
        int correct = 0;
        for (int n = 0; n < data.Count; n++)
            if (Metrics.PredictedClass(net.Forward(data.Features(n))) == data.Label(n)) correct++;
        Assert.Equal(correct / 5.0, m.Accuracy);
        var evaluated = Trainer.Evaluate(net, data, [Metrics.F1Score(), Metrics.Precision()]);
        Assert.Equal(m.MacroF1, evaluated["f1"], 15);
        Assert.Equal(m.MacroPrecision, evaluated["precision"], 15);
        Assert.Equal(m.Accuracy, evaluated["accuracy"], 15);
        Assert.Equal(Trainer.Evaluate(net, data).Loss, evaluated["loss"], 15);
    }
}
