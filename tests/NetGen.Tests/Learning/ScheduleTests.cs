namespace NetGen.Tests.Learning;

/// <summary>Learning-rate schedules against their closed forms, and reduce-on-plateau against a hand trace.</summary>
public sealed class ScheduleTests
{
    [Fact]
    public void StepDecay_MultipliesByGammaEveryStepSizeEpochs()
    {
        var schedule = new StepDecay(stepSize: 3, gamma: 0.5);
        double[] expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025];
        for (int e = 0; e < expected.Length; e++) Assert.Equal(expected[e], schedule.LearningRate(e, 0.1), 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepDecay(0));
    }

    [Fact]
    public void ExponentialDecay_IsGammaToTheEpoch()
    {
        var schedule = new ExponentialDecay(0.9);
        for (int e = 0; e < 10; e++) Assert.Equal(0.1 * Math.Pow(0.9, e), schedule.LearningRate(e, 0.1), 15);
        Assert.Equal(0.1 * 0.9 * 0.9 * 0.9, schedule.LearningRate(3, 0.1), 15);
    }

    [Fact]
    public void CosineAnnealing_FollowsHalfACosineFromEtaToEtaMin()
    {
        var schedule = new CosineAnnealing(tMax: 10, etaMin: 0.001);
        Assert.Equal(0.1, schedule.LearningRate(0, 0.1), 15);
        Assert.Equal(0.001 + 0.099 / 2, schedule.LearningRate(5, 0.1), 15);
        Assert.Equal(0.001, schedule.LearningRate(10, 0.1), 15);
        Assert.Equal(0.001 + 0.099 * (1 + Math.Cos(Math.PI * 0.3)) / 2, schedule.LearningRate(3, 0.1), 15);
        Assert.Equal(schedule.LearningRate(5, 0.1), schedule.LearningRate(15, 0.1), 15);   // PyTorch's closed form rises again
        Assert.Equal(0, new CosineAnnealing(4).LearningRate(4, 0.5), 15);
    }

    [Fact]
    public void ReduceOnPlateau_FollowsTheHandTrace()
    {
        // factor ½, patience 2, min Δ 0.1, cooldown 1, floor 0.02 (Keras' rules; see the class remarks):
        //  e  value  best  cooldown→  wait  lr
        //  0  1.00   1.00             0     0.1     improvement
        //  1  0.95                    1     0.1     not below 1.00 − 0.1
        //  2  0.92                    2→0   0.05    patience reached: reduce, cooldown 1
        //  3  0.50   0.50  1→0        0     0.05    cooldown clears wait; improvement
        //  4  0.45                    1     0.05    not below 0.40
        //  5  0.46                    2→0   0.025   reduce
        //  6  0.47         1→0        0→1   0.025   cooldown ends this epoch, which counts
        //  7  0.48                    2→0   0.02    reduce to max(0.0125, floor)
        //  8  0.49         1→0        1     0.02
        //  9  0.50                    2     0.02    at the floor: no reduction, wait keeps counting
        // 10  0.50                    3     0.02
        var plateau = new ReduceOnPlateau("val_loss", factor: 0.5, patience: 2, minDelta: 0.1, cooldown: 1, minLearningRate: 0.02);
        double[] values = [1.0, 0.95, 0.92, 0.5, 0.45, 0.46, 0.47, 0.48, 0.49, 0.5, 0.5];
        double[] rates = [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02];
        int[] waits = [0, 1, 0, 0, 1, 0, 1, 0, 1, 2, 3];
        double lr = 0.1;
        for (int e = 0; e < values.Length; e++)
        {
            lr = plateau.Update(values[e], lr);
            Assert.Equal(rates[e], lr, 15);
            Assert.Equal(waits[e], plateau.Wait);
        }
        Assert.Equal(3, plateau.Reductions);
        Assert.Equal(0.5, plateau.Best);
        Assert.Equal(MonitorMode.Min, plateau.Mode);
    }

    [Fact]
    public void ReduceOnPlateau_MaxMode_AndAutoMode()
    {
        var plateau = new ReduceOnPlateau("val_accuracy", factor: 0.1, patience: 1, minDelta: 0);
        Assert.Equal(MonitorMode.Max, plateau.Mode);
        Assert.Equal(1.0, plateau.Update(0.5, 1.0));
        Assert.Equal(1.0, plateau.Update(0.6, 1.0));
        Assert.Equal(0.1, plateau.Update(0.6, 1.0), 15);    // equal is no improvement
        var ex = Assert.Throws<ArgumentException>(() => new ReduceOnPlateau("perplexity_thing"));
        Assert.Contains("cannot tell whether 'perplexity_thing' should be minimised or maximised", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceOnPlateau(factor: 1));
    }

    [Fact]
    public void LearningRateScheduler_InFit_SetsTheRateEachEpoch_AndTheHistoryRecordsIt()
    {
        var sgd = new Sgd(0.1);
        var history = Trainer.Fit(new HandSoftmaxRegression(maxBatch: 10), FitTests.Blobs(30, 1), epochs: 5, batchSize: 10, sgd,
            callbacks: [new LearningRateScheduler(new StepDecay(2, 0.5))]);
        Assert.Equal([0.1, 0.1, 0.05, 0.05, 0.025], history.LearningRate);
        Assert.Equal(0.025, sgd.LearningRate);

        var adam = new Adam(0.01);
        var log = new StringWriter();
        history = Trainer.Fit(new HandSoftmaxRegression(maxBatch: 10), FitTests.Blobs(30, 1), epochs: 3, batchSize: 10, adam, log: log, verbose: 2,
            callbacks: [new LearningRateScheduler((epoch, lr) => epoch == 0 ? lr : lr * 0.5, verbose: true)]);
        Assert.Equal([0.01, 0.005, 0.0025], history["learning_rate"]);
        Assert.Contains("Epoch 2: LearningRateScheduler setting learning rate to 0.005.", log.ToString());

        var cosine = Trainer.Fit(new HandSoftmaxRegression(maxBatch: 10), FitTests.Blobs(30, 1), epochs: 4, batchSize: 10, new Sgd(0.2),
            callbacks: [new LearningRateScheduler(new CosineAnnealing(tMax: 3))]);
        Assert.Equal([0.2, 0.15, 0.05, 0], cosine.LearningRate.Select(v => Math.Round(v, 12)));
    }

    [Fact]
    public void ReduceLROnPlateau_Callback_ReducesTheOptimisersRate()
    {
        var sgd = new Sgd(0.1);
        var log = new StringWriter();
        var context = FitTests.Context(new HandSoftmaxRegression(), sgd, log);
        ICallback callback = new ReduceLROnPlateau("val_loss", factor: 0.5, patience: 1, verbose: true);
        callback.OnTrainBegin(context);
        double[] losses = [1.0, 1.0, 0.5, 0.6];
        double[] expected = [0.1, 0.05, 0.05, 0.025];
        for (int e = 0; e < losses.Length; e++)
        {
            callback.OnEpochEnd(context, e, new Dictionary<string, double> { ["loss"] = 0, ["val_loss"] = losses[e] });
            Assert.Equal(expected[e], sgd.LearningRate, 15);
        }
        Assert.Contains("Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05.", log.ToString());
        var missing = Assert.Throws<InvalidOperationException>(() => callback.OnEpochEnd(context, 4, new Dictionary<string, double> { ["loss"] = 1 }));
        Assert.Contains("monitors 'val_loss', which this run does not log; it logs: loss", missing.Message);
        Assert.Contains("validationSplit", missing.Message);
    }
}
