using System.Numerics;
using NetGen.Tests.Networks;

namespace NetGen.Tests.Networks
{
    /// <summary>As <see cref="PanelCacheNet"/> with an L2 penalty: TrainStep cannot fuse the update into the backward
    /// pass, so it calls optimizer.Step on the buffers, which must mark the kept panels stale as the fused step does.</summary>
    [Network(Loss = LossFunction.CrossEntropy)]
    [Input(100)]
    [Dense(70, L2 = 1e-3), ReLU]
    [Dense(10), Softmax]
    public partial class PanelCachePenaltyNet;
}

namespace NetGen.Tests
{
    /// <summary>
    /// In inference mode a recurrent layer keeps W_hh packed (batch 1 and 2: the dot form), or W_hhᵀ and W_ihᵀ (larger
    /// batches: the broadcast form), between passes, made again when the network's weights version moves (the
    /// Parameters getter, the weight views, TrainStep, a checkpoint's Load through Parameters). Every case writes the
    /// weights one way, runs the next pass, and compares it with a fresh network given the same weights, whose first
    /// pass makes its copies anew: the same bits, since kept and fresh copies are the same numbers. LSTM, GRU and
    /// SimpleRNN, stacked, bidirectional, float and double; batch 1, 2 (dot form) and 5 (broadcast form).
    /// </summary>
    [Collection(nameof(ThreadsCollection))]
    public sealed class RecurrentKeptWeightsTests
    {
        private const int Batch = 5;

        private static T[] Inputs<T>(int count, int seed) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var random = new SeededRandom(seed);
            return Enumerable.Range(0, count).Select(_ => T.CreateTruncating(random.NextDouble(-1, 1))).ToArray();
        }

        /// <summary>Outputs at batch 1, 2 and 5, one after another (each a pass of its own).</summary>
        private static T[][] Passes<T>(INetwork<T> net, T[] x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int n = net.InputSize;
            return [net.Forward(x.AsSpan(0, n), 1).ToArray(), net.Forward(x.AsSpan(0, 2 * n), 2).ToArray(), net.Forward(x, Batch).ToArray()];
        }

        private static void SameAsFresh<T>(INetwork<T> net, Func<INetwork<T>> fresh, T[] x, T[][] before, string what) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var after = Passes(net, x);
            Assert.False(before[0].AsSpan().SequenceEqual(after[0]), $"{what}: the write did not change the batch-1 outputs");
            var other = fresh();
            other.Training = false;
            net.Parameters.CopyTo(other.Parameters);
            var expected = Passes(other, x);
            for (int i = 0; i < 3; i++) Assert.True(expected[i].AsSpan().SequenceEqual(after[i]), $"{what}: pass {i} differs from a fresh network with the same weights");
        }

        private static void EveryWrite<T>(INetwork<T> net, Func<INetwork<T>> fresh, Func<INetwork<T>, Span<T>> view, int[] labels)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            net.Training = false;
            T[] x = Inputs<T>(Batch * net.InputSize, 11);
            var y = Passes(net, x);
            var again = Passes(net, x);   // the kept copies: the same outputs
            for (int i = 0; i < 3; i++) Assert.True(y[i].AsSpan().SequenceEqual(again[i]));
            var first = fresh();
            first.Training = false;
            net.Parameters.CopyTo(first.Parameters);
            var expected = Passes(first, x);
            for (int i = 0; i < 3; i++) Assert.True(expected[i].AsSpan().SequenceEqual(y[i]));

            net.Parameters[net.Parameters.Length / 3] += T.CreateTruncating(0.75);   // through the flat buffer (W_hh of the first layer or beyond)
            SameAsFresh(net, fresh, x, y, "Parameters");
            y = Passes(net, x);

            var w = view(net);   // a weight view: W_hh of the first recurrent layer
            w[0] -= T.CreateTruncating(0.75); w[^1] += T.CreateTruncating(0.5);
            SameAsFresh(net, fresh, x, y, "weight view");
            y = Passes(net, x);

            net.TrainStep(x, labels, new Sgd(0.5), Batch);   // in inference mode: the step writes the weights
            SameAsFresh(net, fresh, x, y, "TrainStep (Sgd)");
            y = Passes(net, x);

            net.TrainStep(x, labels, new Adam(0.05), Batch);
            SameAsFresh(net, fresh, x, y, "TrainStep (Adam)");
            y = Passes(net, x);

            var group = new ParameterGroup<T>(net);
            net.Training = true;
            net.Forward(x, Batch);
            net.Backward(labels);
            group.Step(new Adam(0.05));
            net.Training = false;
            SameAsFresh(net, fresh, x, y, "ParameterGroup.Step");
            y = Passes(net, x);

            // A checkpoint of other weights loaded into the network.
            var source = fresh();
            string path = Path.Combine(Path.GetTempPath(), $"netgen-kept-{Guid.NewGuid():N}.ngw");
            try
            {
                Checkpoint.Save(source, path);
                Checkpoint.Load(net, path);
            }
            finally { File.Delete(path); }
            SameAsFresh(net, fresh, x, y, "Checkpoint.Load");
        }

        [Fact]
        public void Lstm_KeptCopiesFollowEveryWriteToTheWeights() =>
            EveryWrite<float>(new WideLstm(Batch, 3), () => new WideLstm(Batch, 9), n => ((WideLstm)n).LSTM1WeightHh, [0, 2, 1, 1, 0]);

        [Fact]
        public void StackedGruAndSimpleRnn_KeptCopiesFollowEveryWriteToTheWeights() =>
            EveryWrite<float>(new WideGruRnn(Batch, 3), () => new WideGruRnn(Batch, 9), n => ((WideGruRnn)n).GRU1WeightHh, [0, 2, 1, 1, 0]);

        [Fact]
        public void BidirectionalDouble_KeptCopiesFollowEveryWriteToTheWeights()
        {
            // Mean squared error: the labels are not used by this network's TrainStep overload; a target is.
            var net = new WideBiLstmDouble(Batch, 3) { Training = false };
            double[] x = Inputs<double>(Batch * WideBiLstmDouble.InputSize, 11), target = Inputs<double>(Batch * WideBiLstmDouble.OutputSize, 12);
            var y = Passes<double>(net, x);
            net.LSTM1WeightHh[5] += 0.5;
            SameAsFresh<double>(net, () => new WideBiLstmDouble(Batch, 9), x, y, "weight view (double)");
            y = Passes<double>(net, x);
            net.Parameters[8064 + 144 * 18 + 3] -= 0.5;   // the reverse direction's W_hh (after the forward direction's 8,064 values and its W_ih)
            SameAsFresh<double>(net, () => new WideBiLstmDouble(Batch, 9), x, y, "Parameters (double)");
            y = Passes<double>(net, x);
            net.TrainStep(x, target, new Adam(0.05), Batch);
            SameAsFresh<double>(net, () => new WideBiLstmDouble(Batch, 9), x, y, "TrainStep (double)");
        }

        /// <summary>Kept copies (inference mode) and copies made in the pass (training mode, no version) give the same
        /// bits, at batch 1, 2 and 5, with the stateful Step too.</summary>
        [Fact]
        public void KeptAndPerPassCopies_GiveTheSameBits()
        {
            var net = new WideGruRnn(Batch, 4);
            float[] x = Inputs<float>(Batch * WideGruRnn.InputSize, 5);
            net.Training = true;
            var perPass = Passes(net, x);
            net.Training = false;
            Passes(net, x);
            var kept = Passes(net, x);   // the second inference pass reads the kept copies
            for (int i = 0; i < 3; i++) Assert.True(perPass[i].AsSpan().SequenceEqual(kept[i]), $"pass {i}");

            // Step by step (a Step is an inference pass): the first Step makes the kept copy of W_hh, the later ones
            // read it; the whole sequence in training mode makes its copy in the pass. The last step's outputs agree.
            var stepping = new WideLstm(1, 4);
            var whole = new WideLstm(1, 4) { Training = true };
            float[] seq = Inputs<float>(WideLstm.InputSize, 6);
            const int f = WideLstm.InputSize / 6;
            float[] last = [];
            stepping.ResetState();
            for (int t = 0; t < 6; t++) last = stepping.Step(seq.AsSpan(t * f, f)).ToArray();
            Assert.Equal(whole.Forward(seq).ToArray(), last);
        }

        /// <summary>The contract of RecurrentLayer.Forward's weightsVersion: while the version stays, the copies are
        /// kept (a write the caller did not count is not seen: the layer really keeps them), and a new version, or other
        /// parameters' memory, makes them again.</summary>
        [Theory]
        [InlineData(RecurrentCell.Lstm, 1)]
        [InlineData(RecurrentCell.Gru, 2)]
        [InlineData(RecurrentCell.SimpleTanh, 5)]
        public void TheLayer_KeepsItsCopiesWhileTheVersionStays(RecurrentCell cell, int batch)
        {
            var layer = new RecurrentLayer<float>(cell, inputSize: 20, units: 40, steps: 6, bidirectional: true, returnSequences: false, maxBatch: 5);
            var p = new float[layer.ParameterCount];
            layer.Initialize(p, new SeededRandom(3));
            float[] x = Inputs<float>(batch * 6 * 20, 4), y0 = new float[batch * layer.OutputSize], y1 = new float[y0.Length], y2 = new float[y0.Length], fresh = new float[y0.Length];
            layer.Forward(p, x, y0, batch, 6, carry: false, weightsVersion: 7);
            int hh = (cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 }) * 40 * 20;   // W_hh's first value
            for (int i = 0; i < 40; i++) p[hh + i] += 0.5f;   // the first gate row of W_hh, not counted
            layer.Forward(p, x, y1, batch, 6, carry: false, weightsVersion: 7);
            Assert.Equal(y0, y1);   // the kept copies: the write is not seen
            layer.Forward(p, x, y2, batch, 6, carry: false, weightsVersion: 8);
            new RecurrentLayer<float>(cell, 20, 40, 6, true, false, 5).Forward(p, x, fresh, batch, 6, carry: false);
            Assert.NotEqual(y0, y2);
            Assert.Equal(fresh, y2);   // a new version: made again
            var copy = p.ToArray();
            copy[hh] -= 1f;
            layer.Forward(copy, x, y1, batch, 6, carry: false, weightsVersion: 8);   // the same version, other memory
            new RecurrentLayer<float>(cell, 20, 40, 6, true, false, 5).Forward(copy, x, fresh, batch, 6, carry: false);
            Assert.Equal(fresh, y1);
        }

        [Fact]
        public void AReplica_SeesWritesToTheSharedWeights()
        {
            var net = new WideLstm(2, 6);
            var replica = net.CreateInferenceReplica(2);
            float[] x = Inputs<float>(2 * WideLstm.InputSize, 8);
            float[] y = replica.Forward(x, 2).ToArray();
            net.LSTM1WeightHh[100] *= -3f;   // written through the source
            float[] after = replica.Forward(x, 2).ToArray();
            Assert.NotEqual(y, after);
            var fresh = new WideLstm(2, 1) { Training = false };
            net.Parameters.CopyTo(fresh.Parameters);
            Assert.Equal(fresh.Forward(x, 2).ToArray(), after);
        }

        /// <summary>A Dense layer's kept panels after TrainStep in a network that cannot fuse the update (an L2 penalty):
        /// optimizer.Step writes the weights, and the next inference pass at 64 samples must see them.</summary>
        [Fact]
        public void DensePanels_FollowAnUnfusedTrainStep()
        {
            const int batch = 64;
            var net = new PanelCachePenaltyNet(batch, 5) { Training = false };
            float[] x = Enumerable.Range(0, batch * 100).Select(i => MathF.Sin(i * 0.013f) * 2).ToArray();
            int[] labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
            float[] y = net.Forward(x, batch).ToArray();
            net.TrainStep(x, labels, new Adam(0.01), batch);
            float[] after = net.Forward(x, batch).ToArray();
            Assert.NotEqual(y, after);
            var fresh = new PanelCachePenaltyNet(batch, 9) { Training = false };
            net.Parameters.CopyTo(fresh.Parameters);
            Assert.Equal(fresh.Forward(x, batch).ToArray(), after);
        }
    }
}
