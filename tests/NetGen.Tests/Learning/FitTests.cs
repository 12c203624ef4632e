using System.Text.RegularExpressions;

namespace NetGen.Tests.Learning;

/// <summary>Trainer.Fit with Keras' semantics: validation split, history by name, callbacks, verbosity, metrics.</summary>
public sealed class FitTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("netgen-fit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Three Gaussian blobs (σ = 0.3) around points on the unit circle, as in TrainerTests.</summary>
    internal static Dataset<double> Blobs(int count, int seed)
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

    internal static TrainingContext Context(INetwork<double> network, IOptimizer optimizer, TextWriter? log = null, int epochs = 10, int steps = 3) =>
        new TrainingContext<double>(network, optimizer, epochs, steps, batchSize: 1, trainingSamples: steps, validationSamples: 0, new History(), log);

    private static Dictionary<string, double> Logs(double valLoss) => new() { ["loss"] = 1, ["val_loss"] = valLoss };

    [Fact]
    public void ValidationSplit_HoldsOutTheEndOfTheTrainingSet_BeforeShuffling()
    {
        var data = Blobs(10, 3);
        var net = new HandSoftmaxRegression(maxBatch: 4, seed: 1);
        var history = Trainer.Fit(net, data, epochs: 1, batchSize: 4, new Sgd(0.1), validationSplit: 0.3);
        Assert.Equal(7, net.SamplesTrained);                                   // ⌊10 · 0.7⌋ train
        var lastThree = data.Subset([7, 8, 9]);
        Assert.Equal(Trainer.Evaluate(net, lastThree).Loss, history.ValidationLoss[0], 12);
        Assert.Equal(Trainer.Evaluate(net, lastThree).Accuracy, history["val_accuracy"][0]);

        Assert.Throws<ArgumentException>(() => Trainer.Fit(net, data, 1, 4, new Sgd(0.1), validation: lastThree, validationSplit: 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(net, data, 1, 4, new Sgd(0.1), validationSplit: 1));
        Assert.Contains("both need at least one", Assert.Throws<ArgumentException>(() => Trainer.Fit(net, data, 1, 4, new Sgd(0.1), validationSplit: 0.95)).Message);
    }

    [Fact]
    public void History_IsReadByName_LikeKeras()
    {
        var net = new HandSoftmaxRegression(maxBatch: 8, seed: 1);
        var history = Trainer.Fit(net, Blobs(60, 1), epochs: 3, batchSize: 8, new Adam(0.05), validation: Blobs(30, 2),
            metrics: [Metrics.Precision(), Metrics.Accuracy(), Metrics.TopKAccuracy(2)]);
        Assert.Equal(["loss", "accuracy", "precision", "top_2_accuracy", "val_loss", "val_accuracy", "val_precision", "val_top_2_accuracy", "learning_rate"], history.Keys);
        Assert.Equal(history.ValidationLoss, history["val_loss"]);
        Assert.Equal(history.Accuracy, history["accuracy"]);
        Assert.All(history.Keys, k => Assert.Equal(3, history[k].Count));
        Assert.All(history["val_top_2_accuracy"], v => Assert.InRange(v, 0.0, 1.0));
        var missing = Assert.Throws<KeyNotFoundException>(() => history["val_f1"]);
        Assert.Contains("has no 'val_f1'; it has: loss, accuracy", missing.Message);
        // The validation metrics are the network's on the validation set after the last epoch.
        var evaluated = Trainer.Evaluate(net, Blobs(30, 2), [Metrics.Precision()]);
        Assert.Equal(evaluated["precision"], history["val_precision"][^1], 12);
        Assert.Equal(evaluated["loss"], history["val_loss"][^1], 12);

        var manual = new History();
        manual.Append(new Dictionary<string, double> { ["loss"] = 1 });
        manual.Append(new Dictionary<string, double> { ["loss"] = 0.5, ["val_loss"] = 0.7 });
        Assert.Equal(2, manual.Epochs);
        Assert.True(double.IsNaN(manual["val_loss"][0]));
        Assert.Equal(0.7, manual.ValidationLoss[1]);
    }

    private sealed class Recorder : ICallback
    {
        public readonly List<string> Events = [];
        public readonly List<double> BatchLosses = [];
        public int StopAtBatch = -1, StopInEpoch = -1;

        public void OnTrainBegin(TrainingContext context) => Events.Add($"train-begin {context.Epochs}x{context.StepsPerEpoch}");
        public void OnTrainEnd(TrainingContext context, IReadOnlyDictionary<string, double> logs) => Events.Add($"train-end {logs.Count}");
        public void OnEpochBegin(TrainingContext context, int epoch) => Events.Add($"epoch-begin {epoch}");
        public void OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs)
        {
            Events.Add($"epoch-end {epoch} {string.Join(",", logs.Keys)}");
            Assert.Equal(epoch + 1, context.History.Epochs);          // the history already holds this epoch
        }
        public void OnBatchBegin(TrainingContext context, int batch) => Events.Add($"batch-begin {batch}");
        public void OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs)
        {
            Events.Add($"batch-end {batch}");
            BatchLosses.Add(logs["loss"]);
            if (context.Epoch == StopInEpoch && batch == StopAtBatch) context.StopTraining = true;
        }
    }

    [Fact]
    public void Callbacks_AreCalledInKerasOrder_WithRunningBatchLogs()
    {
        var recorder = new Recorder();
        var history = Trainer.Fit(new HandSoftmaxRegression(maxBatch: 4), Blobs(10, 1), epochs: 2, batchSize: 4, new Sgd(0.1),
            validation: Blobs(6, 2), callbacks: [recorder]);
        string keys = "loss,accuracy,val_loss,val_accuracy,learning_rate";
        Assert.Equal(
            [
                "train-begin 2x3",
                "epoch-begin 0", "batch-begin 0", "batch-end 0", "batch-begin 1", "batch-end 1", "batch-begin 2", "batch-end 2", $"epoch-end 0 {keys}",
                "epoch-begin 1", "batch-begin 0", "batch-end 0", "batch-begin 1", "batch-end 1", "batch-begin 2", "batch-end 2", $"epoch-end 1 {keys}",
                "train-end 5",
            ],
            recorder.Events);
        // A batch's "loss" is the running mean over the epoch, so the last batch's is the epoch's.
        Assert.Equal(history.Loss[0], recorder.BatchLosses[2], 15);
        Assert.Equal(history.Loss[1], recorder.BatchLosses[5], 15);
    }

    [Fact]
    public void StopTraining_EndsAfterTheCurrentBatch_StillFinishingTheEpoch()
    {
        var recorder = new Recorder { StopInEpoch = 1, StopAtBatch = 0 };
        var net = new HandSoftmaxRegression(maxBatch: 4);
        var history = Trainer.Fit(net, Blobs(12, 1), epochs: 5, batchSize: 4, new Sgd(0.1), validation: Blobs(6, 2), callbacks: [recorder]);
        Assert.Equal(2, history.Epochs);
        Assert.Equal(12 + 4, net.SamplesTrained);
        Assert.Contains(recorder.Events, e => e.StartsWith("epoch-end 1", StringComparison.Ordinal));
        Assert.Equal("train-end 5", recorder.Events[^1]);
        Assert.True(net.Training);
    }

    [Fact]
    public void BatchSizes_GiveFullBatchStochasticAndMiniBatchDescent()
    {
        foreach (var (batch, steps) in new[] { (30, 1), (1, 30), (7, 5) })
        {
            var recorder = new Recorder();
            var net = new HandSoftmaxRegression(maxBatch: 30);
            Trainer.Fit(net, Blobs(30, 1), epochs: 2, batchSize: batch, new Sgd(0.1), callbacks: [recorder]);
            Assert.Equal($"train-begin 2x{steps}", recorder.Events[0]);
            Assert.Equal(2 * steps, recorder.Events.Count(e => e.StartsWith("batch-end", StringComparison.Ordinal)));
            Assert.Equal(60, net.SamplesTrained);
        }
    }

    [Fact]
    public void Shuffle_False_VisitsInOrder_WhateverTheSeed()
    {
        double[] Run(bool shuffle, int seed)
        {
            var net = new HandSoftmaxRegression(maxBatch: 5, seed: 1);
            Trainer.Fit(net, Blobs(20, 1), epochs: 2, batchSize: 5, new Sgd(0.3), seed: seed, shuffle: shuffle);
            return net.Parameters.ToArray();
        }
        Assert.Equal(Run(false, 1), Run(false, 2));
        Assert.NotEqual(Run(true, 1), Run(true, 2));
    }

    [Fact]
    public void EarlyStopping_FollowsKerasRules_OnAHandTrace()
    {
        var net = new HandSoftmaxRegression();
        var context = Context(net, new Sgd(0.1));
        var stopping = new EarlyStopping(patience: 2, minDelta: 0.01, restoreBestWeights: true);
        ICallback callback = stopping;
        callback.OnTrainBegin(context);
        // e0 1.0 best; e1 0.9 best (beats 1.0 by more than 0.01); e2 0.95 wait 1; e3 0.895 is within minDelta of 0.9:
        // wait 2 = patience → stop at epoch 3. The weights of epoch 1 are restored at the end.
        double[] values = [1.0, 0.9, 0.95, 0.895];
        double[]? bestWeights = null;
        for (int e = 0; e < values.Length && !context.StopTraining; e++)
        {
            net.Parameters.Fill(e);                                   // each "epoch" leaves different weights
            if (e == 1) bestWeights = net.Parameters.ToArray();
            callback.OnEpochEnd(context, e, Logs(values[e]));
        }
        Assert.True(context.StopTraining);
        Assert.Equal(3, stopping.StoppedEpoch);
        Assert.Equal(0.9, stopping.Best);
        Assert.Equal(1, stopping.BestEpoch);
        callback.OnTrainEnd(context, Logs(0.895));
        Assert.Equal(bestWeights, net.Parameters.ToArray());
    }

    [Fact]
    public void EarlyStopping_Baseline_StartFromEpoch_AndMaxMode()
    {
        var context = Context(new HandSoftmaxRegression(), new Sgd(0.1));
        // Baseline 0.5: improvements that do not beat it do not reset the patience.
        var baseline = new EarlyStopping(patience: 2, baseline: 0.5);
        ICallback callback = baseline;
        callback.OnTrainBegin(context);
        callback.OnEpochEnd(context, 0, Logs(1.0));
        callback.OnEpochEnd(context, 1, Logs(0.9));
        Assert.False(context.StopTraining);
        callback.OnEpochEnd(context, 2, Logs(0.95));
        Assert.True(context.StopTraining);
        Assert.Equal(2, baseline.StoppedEpoch);

        context = Context(new HandSoftmaxRegression(), new Sgd(0.1));
        var late = new EarlyStopping(patience: 0, startFromEpoch: 2);
        callback = late;
        callback.OnTrainBegin(context);
        callback.OnEpochEnd(context, 0, Logs(1.0));
        callback.OnEpochEnd(context, 1, Logs(2.0));                  // ignored: warm-up
        Assert.Null(late.Best);
        callback.OnEpochEnd(context, 2, Logs(3.0));
        Assert.False(context.StopTraining);
        callback.OnEpochEnd(context, 3, Logs(3.0));
        Assert.True(context.StopTraining);

        var accuracy = new EarlyStopping("val_accuracy");
        Assert.Equal(MonitorMode.Max, accuracy.Mode);
        context = Context(new HandSoftmaxRegression(), new Sgd(0.1));
        callback = accuracy;
        callback.OnTrainBegin(context);
        callback.OnEpochEnd(context, 0, new Dictionary<string, double> { ["val_accuracy"] = 0.5 });
        callback.OnEpochEnd(context, 1, new Dictionary<string, double> { ["val_accuracy"] = 0.6 });
        Assert.False(context.StopTraining);
        callback.OnEpochEnd(context, 2, new Dictionary<string, double> { ["val_accuracy"] = 0.55 });
        Assert.True(context.StopTraining);
    }

    [Fact]
    public void EarlyStopping_InFit_StopsAndRestoresTheBestEpoch()
    {
        var validation = Blobs(30, 8);
        var net = new HandSoftmaxRegression(maxBatch: 5, seed: 2);
        var stopping = new EarlyStopping(patience: 2, minDelta: 1e-3, restoreBestWeights: true, verbose: true);
        var log = new StringWriter();
        var history = Trainer.Fit(net, Blobs(60, 7), epochs: 200, batchSize: 5, new Sgd(2.0), validation: validation,
            callbacks: [stopping], log: log, verbose: 0);
        Assert.True(history.Epochs < 200, "training stopped early");
        Assert.Equal(stopping.StoppedEpoch + 1, history.Epochs);
        // The best epoch is the last that improved by more than minDelta (Keras' rule), within minDelta of the minimum.
        double best = history.ValidationLoss[stopping.BestEpoch];
        Assert.Equal(best, stopping.Best);
        Assert.InRange(best - history.ValidationLoss.Min(), 0, 1e-3);
        Assert.Equal(best, Trainer.Evaluate(net, validation).Loss, 12);
        Assert.Contains($"Epoch {history.Epochs}: early stopping", log.ToString());
        Assert.Contains($"Restoring model weights from the end of the best epoch: {stopping.BestEpoch + 1}.", log.ToString());
    }

    [Fact]
    public void ModelCheckpoint_EveryEpoch_FillsThePlaceholders()
    {
        string template = Path.Combine(_directory, "every", "net-{epoch:00}-{val_loss:0.000}.safetensors");
        var checkpoint = new ModelCheckpoint(template);
        var net = new HandSoftmaxRegression(maxBatch: 5, seed: 1);
        var history = Trainer.Fit(net, Blobs(20, 1), epochs: 3, batchSize: 5, new Sgd(0.5), validation: Blobs(9, 2), callbacks: [checkpoint]);
        Assert.Equal(3, checkpoint.Saved.Count);
        string expected = Path.Combine(_directory, "every", $"net-03-{history.ValidationLoss[2].ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)}.safetensors");
        Assert.Equal(expected, checkpoint.Saved[2]);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_directory, "every")).Length);
        var loaded = new HandSoftmaxRegression();
        var info = Checkpoint.Load(loaded, checkpoint.Saved[2]);
        Assert.Equal(net.Parameters.ToArray(), loaded.Parameters.ToArray());
        Assert.Equal("3", info.Metadata["epoch"]);
        Assert.Equal(history.ValidationLoss[2], double.Parse(info.Metadata["val_loss"], System.Globalization.CultureInfo.InvariantCulture));

        var unknown = Assert.Throws<ArgumentException>(() => ModelCheckpoint.FormatPath("x-{val_f1}.safetensors", 0, new Dictionary<string, double> { ["loss"] = 1 }));
        Assert.Contains("uses {val_f1}, which is not logged; use {epoch} or one of: loss", unknown.Message);
    }

    [Fact]
    public void ModelCheckpoint_SaveBestOnly_KeepsTheBestEpoch()
    {
        string path = Path.Combine(_directory, "best.safetensors");
        var checkpoint = new ModelCheckpoint(path, monitor: "val_loss", saveBestOnly: true);
        var validation = Blobs(30, 8);
        var net = new HandSoftmaxRegression(maxBatch: 5, seed: 2);
        var history = Trainer.Fit(net, Blobs(60, 7), epochs: 12, batchSize: 5, new Sgd(2.0), validation: validation, callbacks: [checkpoint]);
        double best = history.ValidationLoss.Min();
        var loaded = new HandSoftmaxRegression();
        var info = Checkpoint.Load(loaded, path);
        Assert.Equal(best, Trainer.Evaluate(loaded, validation).Loss, 12);
        Assert.Equal((history.ValidationLoss.ToList().IndexOf(best) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), info.Metadata["epoch"]);
        Assert.InRange(checkpoint.Saved.Count, 1, 12);
        Assert.Equal(best, checkpoint.Best);

        var noValidation = Assert.Throws<InvalidOperationException>(() =>
            Trainer.Fit(new HandSoftmaxRegression(maxBatch: 5), Blobs(10, 1), 1, 5, new Sgd(0.1), callbacks: [new ModelCheckpoint(path, saveBestOnly: true)]));
        Assert.Contains("ModelCheckpoint monitors 'val_loss', which this run does not log", noValidation.Message);
    }

    [Fact]
    public void Divergence_ThrowsNamingEpochAndStep_AndKeepsTheCheckpointsAlreadySaved()
    {
        string template = Path.Combine(_directory, "diverge-{epoch}.safetensors");
        var net = new HandSoftmaxRegression(maxBatch: 10, seed: 1);
        var ex = Assert.Throws<InvalidOperationException>(() => Trainer.Fit(net, Blobs(100, 1), epochs: 5, batchSize: 10, new Sgd(0.1),
            callbacks: [new LearningRateScheduler((epoch, lr) => epoch < 2 ? 0.1 : 1e300), new ModelCheckpoint(template)]));
        Assert.Matches(new Regex(@"the loss became (NaN|∞|Infinity|-∞) at epoch 3/5, step \d+/10"), ex.Message);
        Assert.Contains("Lower the learning rate", ex.Message);
        foreach (int epoch in new[] { 1, 2 })
        {
            var loaded = new HandSoftmaxRegression();
            Checkpoint.Load(loaded, Path.Combine(_directory, $"diverge-{epoch}.safetensors"));
            Assert.All(loaded.Parameters.ToArray(), v => Assert.True(double.IsFinite(v)));
        }
        Assert.False(File.Exists(Path.Combine(_directory, "diverge-3.safetensors")));
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public void TerminateOnNaN_StopsInsteadOfThrowing()
    {
        var terminate = new TerminateOnNaN();
        var log = new StringWriter();
        var history = Trainer.Fit(new HandSoftmaxRegression(maxBatch: 10), Blobs(100, 1), epochs: 5, batchSize: 10, new Sgd(1e300),
            callbacks: [terminate], log: log, verbose: 0);
        Assert.Equal(1, history.Epochs);
        Assert.False(double.IsFinite(history.Loss[0]));
        Assert.NotNull(terminate.TerminatedAt);
        Assert.Equal(0, terminate.TerminatedAt!.Value.Epoch);
        Assert.Matches(new Regex(@"^Batch \d+: Invalid loss, terminating training"), log.ToString());
    }

    [Fact]
    public void Verbose_ChoosesTheDisplay()
    {
        var net = new HandSoftmaxRegression(maxBatch: 8);
        var quiet = new StringWriter();
        Trainer.Fit(net, Blobs(16, 1), epochs: 2, batchSize: 8, new Sgd(0.1), log: quiet, verbose: 0);
        Assert.Equal("", quiet.ToString());

        // A StringWriter is not a console: verbose 1 falls back to one line per epoch, as 2 does.
        foreach (int verbose in new[] { 1, 2 })
        {
            var lines = new StringWriter();
            Trainer.Fit(net, Blobs(16, 1), epochs: 2, batchSize: 8, new Sgd(0.1), log: lines, verbose: verbose, metrics: [Metrics.F1Score()]);
            string[] split = lines.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, split.Length);
            Assert.Matches(new Regex(@"^Epoch 2/2 - \d+\.\ds - loss: \d\.\d{4} - accuracy: [01]\.\d{4} - f1: [01]\.\d{4}$"), split[1]);
            Assert.DoesNotContain('\r', lines.ToString());
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(net, Blobs(16, 1), 1, 8, new Sgd(0.1), verbose: 3));
    }

    [Fact]
    public void ProgressBar_DrawsInPlace_LikeKeras()
    {
        var times = new Queue<double>([0, 1, 1.01, 3, 3, 3]);
        var writer = new StringWriter();
        ICallback progress = new ProgressLogger(writer, 1, interactive: true, clock: () => TimeSpan.FromSeconds(times.Dequeue()));
        var context = Context(new HandSoftmaxRegression(), new Sgd(0.1), epochs: 2, steps: 3);
        progress.OnTrainBegin(context);
        progress.OnEpochBegin(context, 0);                                                          // t = 0
        progress.OnBatchEnd(context, 0, new Dictionary<string, double> { ["loss"] = 0.5, ["accuracy"] = 0.25 });   // t = 1
        progress.OnBatchEnd(context, 1, new Dictionary<string, double> { ["loss"] = 0.45, ["accuracy"] = 0.3 });   // t = 1.01: throttled
        progress.OnBatchEnd(context, 2, new Dictionary<string, double> { ["loss"] = 0.4, ["accuracy"] = 0.5 });    // t = 3: last step
        progress.OnEpochEnd(context, 0, new Dictionary<string, double>
        {
            ["loss"] = 0.4, ["accuracy"] = 0.5, ["val_loss"] = 0.0004, ["val_accuracy"] = 0.75, ["learning_rate"] = 0.1,
        });
        string nl = Environment.NewLine, full = new('=', 30);
        Assert.Equal(
            "Epoch 1/2" + nl +
            "\r1/3 [=========>....................] - ETA: 2s - loss: 0.5000 - accuracy: 0.2500" +
            $"\r3/3 [{full}] - 3s 1s/step - loss: 0.4000 - accuracy: 0.5000" +
            $"\r3/3 [{full}] - 3s 1s/step - loss: 0.4000 - accuracy: 0.5000 - val_loss: 4.0000e-04 - val_accuracy: 0.7500" + nl,
            writer.ToString());
    }

    [Fact]
    public void ProgressBar_ErasesALongerPreviousLine_AndFormatsTimesLikeKeras()
    {
        var times = new Queue<double>([0, 1, 2, 2]);
        var writer = new StringWriter();
        ICallback progress = new ProgressLogger(writer, 1, interactive: true, clock: () => TimeSpan.FromSeconds(times.Dequeue()));
        var context = Context(new HandSoftmaxRegression(), new Sgd(0.1), epochs: 1, steps: 10);
        progress.OnTrainBegin(context);
        progress.OnEpochBegin(context, 0);
        progress.OnBatchEnd(context, 0, new Dictionary<string, double> { ["loss"] = 0.5, ["a_long_metric_name"] = 0.5 });
        progress.OnBatchEnd(context, 1, new Dictionary<string, double> { ["loss"] = 0.5 });
        string[] draws = writer.ToString().Split('\r');
        Assert.Equal(draws[1].Length, draws[2].Length);                  // padded with spaces over the longer line
        Assert.EndsWith("loss: 0.5000" + new string(' ', draws[1].Length - draws[2].TrimEnd().Length), draws[2]);
        Assert.StartsWith(" 2/10 [=====>........................] - ETA: 8s", draws[2]);

        Assert.Equal("45s", ProgressLogger.FormatEta(45.7));
        Assert.Equal("1:05", ProgressLogger.FormatEta(65));
        Assert.Equal("1:01:05", ProgressLogger.FormatEta(3665));
        Assert.Equal("12ms/step", ProgressLogger.FormatPerStep(0.012));
        Assert.Equal("300us/step", ProgressLogger.FormatPerStep(0.0003));
        Assert.Equal("2s/step", ProgressLogger.FormatPerStep(2.2));
        Assert.False(ProgressLogger.IsInteractive(new StringWriter()));
        Assert.False(new ProgressLogger(new StringWriter(), 1).Interactive);
    }

    [Fact]
    public void Fit_AllocatesNothingPerStep()
    {
        // Ten times the steps must not cost more than the larger per-run arrays (the shuffle order).
        long Allocated(int count)
        {
            var net = new HandSoftmaxRegression(maxBatch: 1, seed: 1);
            var data = Blobs(count, 1);
            var sgd = new Sgd(0.01, momentum: 0.9);
            Trainer.Fit(net, data, 1, 1, sgd, metrics: [Metrics.F1Score()]);                 // warm up
            long before = GC.GetAllocatedBytesForCurrentThread();
            Trainer.Fit(net, data, 2, 1, sgd, metrics: [Metrics.F1Score()], callbacks: [new TerminateOnNaN()]);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long small = Allocated(100), large = Allocated(1000);
        Assert.True(large - small < 900 * 4 + 1024, $"100 samples: {small} bytes; 1000 samples: {large} bytes");
    }
}
