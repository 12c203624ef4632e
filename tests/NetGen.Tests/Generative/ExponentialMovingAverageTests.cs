using static NetGen.Tests.Generative.GenerativeTestSupport;

namespace NetGen.Tests.Generative;

/// <summary>
/// <see cref="ExponentialMovingAverage{T}"/> as a callback of <see cref="Trainer.FitWith{T}"/> over a GanStep: after K
/// steps the average equals the closed form d^K·θ₀ + (1 − d)·Σₖ d^(K−k)·θₖ over the generator's parameters and its
/// batch-norm running statistics (θ₀ the weights when training began, θₖ after step k), and the errors name the fix.
/// </summary>
public sealed class ExponentialMovingAverageTests
{
    private const int Batch = 4, Samples = 10;   // 3 steps per epoch (4, 4, 2)

    private sealed class Recorder(INetwork<double> network, List<double[]> parameters, List<double[]> state) : ICallback
    {
        public void OnTrainBegin(TrainingContext context) => Record();
        public void OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs) => Record();

        private void Record()
        {
            parameters.Add(network.Parameters.ToArray());
            state.Add(network.State.ToArray());
        }
    }

    private static (GenGanGenerator Generator, GanStep<double> Step, Dataset<double> Data) Gan()
    {
        var random = new SeededRandom(91);
        var generator = new GenGanGenerator(Batch, 1);
        var discriminator = new GenGanDiscriminator(Batch, 2);
        Randomize(generator, random);
        Randomize(discriminator, random);
        var data = new Dataset<double>(Uniform(random, Samples * 16, 0, 1), 16, new int[Samples], 1);
        var step = new GanStep<double>(generator, discriminator, new Adam(0.05, beta1: 0.5), new Adam(0.05, beta1: 0.5), seed: 3);
        return (generator, step, data);
    }

    [Fact]
    public void The_average_after_fit_is_the_closed_form_over_every_step_parameters_and_state()
    {
        const double Decay = 0.7;
        var (generator, step, data) = Gan();
        var average = new GenGanGenerator(Batch, 9);
        var ema = new ExponentialMovingAverage<double>(generator, average, Decay);
        List<double[]> parameters = [], state = [];
        Trainer.FitWith(step, data, epochs: 2, Batch, seed: 4, verbose: 0, callbacks: [ema, new Recorder(generator, parameters, state)]);

        int k = parameters.Count - 1;
        Assert.Equal(6, k);
        Assert.Equal(6, ema.Updates);
        AssertClosedForm(parameters, average.Parameters.ToArray(), Decay);
        AssertClosedForm(state, average.State.ToArray(), Decay);
        // The average is not the last weights (the generator moved) and not the first.
        Assert.True(MaxDifference(average.Parameters.ToArray(), parameters[k]) > 1e-3);
        Assert.True(MaxDifference(average.Parameters.ToArray(), parameters[0]) > 1e-3);
        Assert.True(MaxDifference(average.State.ToArray(), state[k]) > 1e-6);
    }

    [Fact]
    public void Decay_zero_copies_the_network_and_a_second_fit_restarts_the_average()
    {
        var (generator, step, data) = Gan();
        var average = new GenGanGenerator(Batch, 9);
        var ema = new ExponentialMovingAverage<double>(generator, average, decay: 0);
        Trainer.FitWith(step, data, epochs: 1, Batch, seed: 4, verbose: 0, callbacks: [ema]);
        Assert.Equal(generator.Parameters.ToArray(), average.Parameters.ToArray());
        Assert.Equal(generator.State.ToArray(), average.State.ToArray());

        var slow = new ExponentialMovingAverage<double>(generator, average, decay: 0.9);
        Trainer.FitWith(step, data, epochs: 1, Batch, seed: 5, verbose: 0, callbacks: [slow]);
        Assert.Equal(3, slow.Updates);   // reset when the second training began, then one update per step
    }

    [Fact]
    public void Bad_arguments_name_the_fix()
    {
        var generator = new GenGanGenerator(Batch, 1);
        var other = new GenGanDiscriminator(Batch, 2);
        var self = Assert.Throws<ArgumentException>(() => new ExponentialMovingAverage<double>(generator, generator));
        Assert.Contains("second network of the same class", self.Message);
        var sizes = Assert.Throws<ArgumentException>(() => new ExponentialMovingAverage<double>(generator, other));
        Assert.Contains("another instance of the same network class", sizes.Message);
        var decay = Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialMovingAverage<double>(generator, new GenGanGenerator(Batch, 3), 1.0));
        Assert.Contains("[0, 1)", decay.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialMovingAverage<double>(generator, new GenGanGenerator(Batch, 3), double.NaN));
    }

    private static void AssertClosedForm(List<double[]> history, double[] actual, double decay)
    {
        int k = history.Count - 1;
        var expected = new double[actual.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            double sum = Math.Pow(decay, k) * history[0][i];
            for (int s = 1; s <= k; s++) sum += (1 - decay) * Math.Pow(decay, k - s) * history[s][i];
            expected[i] = sum;
        }
        Assert.True(MaxDifference(expected, actual) < 1e-12, $"max difference {MaxDifference(expected, actual):E2}");
    }

    private static double MaxDifference(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
