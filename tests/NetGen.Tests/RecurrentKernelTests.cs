using NetGen.Tests.Networks;

namespace NetGen.Tests.Networks
{
    /// <summary>Wide enough for every vector path of the recurrent products (40 units: whole 512-bit vectors and a
    /// remainder, 4·40 = 160 gate columns; 20 input features: a whole vector and an overlapping one).</summary>
    [Network(Loss = LossFunction.CrossEntropy)]
    [Input(6, 20)]
    [LSTM(40)]
    [Dense(3), Softmax]
    public partial class WideLstm;

    /// <summary>As <see cref="WideLstm"/> with a GRU over every step feeding a SimpleRNN.</summary>
    [Network(Loss = LossFunction.CrossEntropy)]
    [Input(6, 20)]
    [GRU(40, ReturnSequences = true)]
    [SimpleRNN(24)]
    [Dense(3), Softmax]
    public partial class WideGruRnn;

    /// <summary>A bidirectional LSTM in double, for comparing batch 1 (dot products) with larger batches (broadcast products).</summary>
    [Network(Loss = LossFunction.MeanSquaredError, Precision = Precision.Double)]
    [Input(5, 18)]
    [LSTM(36, Bidirectional = true, ReturnSequences = true)]
    [GRU(20)]
    [Dense(2)]
    public partial class WideBiLstmDouble;
}

namespace NetGen.Tests
{
    /// <summary>
    /// The recurrent layers' products at sizes the oracle's small networks do not reach: whole vectors and remainders,
    /// the dot-product path of batch 1 and 2 (the weights read in place) against the broadcast path of larger batches
    /// (the weights transposed on every pass), the weights after a training step, and one thread against two.
    /// </summary>
    [Collection(nameof(ThreadsCollection))]
    public class RecurrentKernelTests
    {
        private static float[] Inputs(int count, int seed)
        {
            var random = new SeededRandom(seed);
            return Enumerable.Range(0, count).Select(_ => (float)random.NextDouble(-1, 1)).ToArray();
        }

        /// <summary>A training step changes the weights; the next forward pass (at batch 1 and at a larger batch) must
        /// use them: it equals, bit for bit, a new network given the same parameters. A transposed copy of the weights
        /// kept from before the step would fail this.</summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void ForwardAfterATrainingStepEqualsANewNetworkWithTheSameWeights(bool gru)
        {
            const int batch = 5;
            INetwork<float> trained = gru ? new WideGruRnn(batch, 3) : new WideLstm(batch, 3);
            INetwork<float> fresh = gru ? new WideGruRnn(batch, 4) : new WideLstm(batch, 4);
            float[] x = Inputs(batch * trained.InputSize, 7);
            int[] labels = [0, 2, 1, 1, 0];
            var sgd = new Sgd(0.5);
            trained.Forward(x, batch);
            trained.Forward(x.AsSpan(0, trained.InputSize), 1);
            for (int step = 0; step < 2; step++) trained.TrainStep(x, labels, sgd, batch);
            var adam = new Adam(0.01);
            trained.TrainStep(x, labels, adam, batch);
            trained.Parameters.CopyTo(fresh.Parameters);
            Assert.Equal(fresh.Forward(x, batch).ToArray(), trained.Forward(x, batch).ToArray());
            Assert.Equal(fresh.Forward(x.AsSpan(0, trained.InputSize), 1).ToArray(), trained.Forward(x.AsSpan(0, trained.InputSize), 1).ToArray());
            // Written through Parameters directly: the next pass follows too.
            trained.Parameters[1] += 0.25f;
            trained.Parameters.CopyTo(fresh.Parameters);
            Assert.Equal(fresh.Forward(x.AsSpan(0, 2 * trained.InputSize), 2).ToArray(), trained.Forward(x.AsSpan(0, 2 * trained.InputSize), 2).ToArray());
            Assert.Equal(fresh.Forward(x, batch).ToArray(), trained.Forward(x, batch).ToArray());
        }

        /// <summary>Batch 1 and 2 take the dot-product path, larger batches the broadcast path: the same network gives
        /// each sample the same outputs and gradients either way, up to summation order (double).</summary>
        [Fact]
        public void BatchOneAndLargerBatchesAgree()
        {
            const int batch = 6;
            INetwork<double> net = new WideBiLstmDouble(batch, 9);
            var random = new SeededRandom(11);
            double[] x = Enumerable.Range(0, batch * net.InputSize).Select(_ => random.NextDouble(-1, 1)).ToArray();
            double[] dy = Enumerable.Range(0, batch * net.OutputSize).Select(_ => random.NextDouble(-1, 1)).ToArray();
            double[] all = net.Forward(x, batch).ToArray();
            double[] dxAll = new double[x.Length];
            net.Backward(dy, dxAll);
            double[] gradientsAll = net.Gradients.ToArray();
            net.ZeroGradients();
            for (int n = 0; n < batch; n++)
            {
                double[] one = net.Forward(x.AsSpan(n * net.InputSize, net.InputSize), 1).ToArray();
                for (int k = 0; k < one.Length; k++) Assert.Equal(all[n * net.OutputSize + k], one[k], 12);
                double[] dx = new double[net.InputSize];
                net.Backward(dy.AsSpan(n * net.OutputSize, net.OutputSize), dx);
                for (int k = 0; k < dx.Length; k++) Assert.Equal(dxAll[n * net.InputSize + k], dx[k], 12);
            }
            double[] gradientsSum = net.Gradients.ToArray();   // each Backward added its sample's gradients
            Assert.Contains(gradientsSum, g => Math.Abs(g) > 1e-3);
            for (int k = 0; k < gradientsAll.Length; k++) Assert.Equal(gradientsAll[k], gradientsSum[k], 10);
        }

        /// <summary>Training on one thread and on two gives the same bits (every product splits rows or columns, each
        /// value summed by one thread in one order).</summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void OneAndTwoThreadsGiveTheSameBits(bool gru)
        {
            (float[] Parameters, float[] Losses, float[] Output) Train(int threads)
            {
                int saved = Parallelism.MaxThreads;
                try
                {
                    Parallelism.MaxThreads = threads;
                    const int batch = 64;
                    INetwork<float> net = gru ? new WideGruRnn(batch, 3) : new WideLstm(batch, 3);
                    float[] x = Inputs(batch * net.InputSize, 13);
                    int[] labels = Enumerable.Range(0, batch).Select(n => n % 3).ToArray();
                    var adam = new Adam(0.01);
                    var losses = new float[3];
                    for (int s = 0; s < losses.Length; s++) losses[s] = net.TrainStep(x, labels, adam, batch);
                    return (net.Parameters.ToArray(), losses, net.Forward(x.AsSpan(0, net.InputSize), 1).ToArray());
                }
                finally
                {
                    Parallelism.MaxThreads = saved;
                }
            }
            var one = Train(1);
            var two = Train(2);
            Assert.Equal(one.Losses, two.Losses);
            Assert.Equal(one.Parameters, two.Parameters);
            Assert.Equal(one.Output, two.Output);
        }
    }
}
