using System.Runtime.Intrinsics;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>100 → 70 (one strip of 48, one of 16, 6 units in dot blocks; K = 100 ends in an overlapping transpose) → 10.</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(100)]
[Dense(70), ReLU]
[Dense(10), Softmax]
public partial class PanelCacheNet;

/// <summary>
/// In inference mode, with Vector512 and 48 samples or more, a Dense layer packs its weights' transposed panels once
/// and reuses them while the weights' version is unchanged. Every way the weights are written must be seen by the next
/// Forward: each case writes, runs Forward, and compares with a fresh network holding the same weights (whose first
/// pass packs anew) — the same bits, since kept and fresh panels are the same numbers. Without AVX-512 nothing is kept
/// and the cases still hold.
/// </summary>
public sealed class PanelCacheTests(ITestOutputHelper output)
{
    private const int Batch = 64;

    private static readonly float[] Input = Enumerable.Range(0, Batch * 100).Select(i => MathF.Sin(i * 0.013f) * 2).ToArray();

    private static readonly int[] Labels = Enumerable.Range(0, Batch).Select(i => i % 10).ToArray();

    private static float[] Fresh(INetwork<float> net)
    {
        var fresh = new PanelCacheNet(Batch, seed: 99) { Training = false };
        net.Parameters.CopyTo(fresh.Parameters);
        return fresh.Forward(Input, Batch).ToArray();
    }

    private static void SeenByNextForward(PanelCacheNet net, float[] before, string what)
    {
        float[] after = net.Forward(Input, Batch).ToArray();
        Assert.False(before.AsSpan().SequenceEqual(after), $"{what}: the write did not change the outputs");
        Assert.Equal(Fresh(net), after);   // exactly as freshly packed weights give them
    }

    [Fact]
    public void EveryWriteToTheWeights_IsSeenByTheNextInferencePass()
    {
        output.WriteLine($"Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated: the panels are kept" : "not accelerated: nothing is kept")}");
        var net = new PanelCacheNet(Batch, seed: 5) { Training = false };
        float[] y = net.Forward(Input, Batch).ToArray();
        Assert.Equal(y, net.Forward(Input, Batch).ToArray());   // kept panels: the same outputs
        Assert.Equal(Fresh(net), y);

        net.Parameters[3] += 0.5f;   // Dense1 w[0, 3], through the flat buffer
        SeenByNextForward(net, y, "Parameters");
        y = net.Forward(Input, Batch).ToArray();

        net.Dense1Weights[69 * 100 + 99] -= 0.75f;   // the last unit (a dot-block column) and the last input
        net.Dense1Weights[50 * 100 + 7] += 0.75f;    // a unit of the 16-wide strip
        SeenByNextForward(net, y, "Dense1Weights");
        y = net.Forward(Input, Batch).ToArray();

        net.TrainStep(Input, Labels, new Sgd(0.5), Batch);   // fused plain SGD, in inference mode
        SeenByNextForward(net, y, "TrainStep (fused SGD)");
        y = net.Forward(Input, Batch).ToArray();

        net.TrainStep(Input, Labels, new Adam(0.01), Batch);   // unfused: optimizer.Step on the buffers
        SeenByNextForward(net, y, "TrainStep (Adam)");
        y = net.Forward(Input, Batch).ToArray();

        var group = new ParameterGroup<float>(net);
        net.Training = true;
        net.Forward(Input, Batch);
        net.Backward(Labels);
        group.Step(new Adam(0.01));
        net.Training = false;
        SeenByNextForward(net, y, "ParameterGroup.Step");
    }

    [Fact]
    public void AReplica_SeesWritesToTheSharedWeights()
    {
        var net = new PanelCacheNet(Batch, seed: 6);
        var replica = net.CreateInferenceReplica(Batch);
        float[] y = replica.Forward(Input, Batch).ToArray();
        Assert.Equal(Fresh(net), y);
        net.Parameters[100 * 60 + 1] *= -2f;   // Dense1 w[60, 1], written through the source
        float[] after = replica.Forward(Input, Batch).ToArray();
        Assert.NotEqual(y, after);
        Assert.Equal(Fresh(net), after);
    }

    [Fact]
    public void SmallBatches_AndTrainingPasses_GiveTheSameOutputsAsBefore()
    {
        // Below 48 samples the forward runs dot blocks (nothing packed); a training-mode pass packs into scratch. Both
        // leave the kept panels alone: an inference pass at 64 afterwards still matches a fresh network.
        var net = new PanelCacheNet(Batch, seed: 7) { Training = false };
        float[] y = net.Forward(Input, Batch).ToArray();
        net.Forward(Input.AsSpan(0, 10 * 100), 10);
        net.Training = true;
        net.Forward(Input, Batch);
        net.Training = false;
        Assert.Equal(y, net.Forward(Input, Batch).ToArray());
        Assert.Equal(Fresh(net), y);
    }
}
