using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// What the GPU variant of a sequence network adds to the common emitter (GpuNetworkEmitter): which layers over a
/// sequence have kernels, the host-side check of an Embedding's token ids and the per-step labels. The per-step loss
/// (every step a row of the loss, as the CPU's <c>Losses</c> count rows: batch × T) is GpuLossEmitter's, printed from
/// the same formulas as every other network's.
/// </summary>
internal static class GpuSequenceEmitter
{
    /// <summary>Whether a layer that reads a sequence has GPU kernels: the recurrent layers, a Dense or Softmax at every
    /// step, and the layers that work value by value (activations, Dropout, Flatten).</summary>
    public static bool Runs(LayerPlan layer) =>
        layer.IsRecurrent || layer.IsActivation
        || layer.Kind is LayerKind.Dense or LayerKind.Softmax or LayerKind.Dropout or LayerKind.Flatten or LayerKind.Embedding;

    /// <summary>The Gpu class's members for sequences: the id check of an Embedding (before the upload, with the CPU
    /// network's message) and the labels per sample of a per-step loss.</summary>
    public static void Members(CodeWriter w, EmitContext c)
    {
        var plan = c.Plan;
        string t = c.T;
        var embedding = plan.Layers.FirstOrDefault(l => l.Kind == LayerKind.Embedding);
        if (embedding is not null)
        {
            var o = embedding.Options<EmbeddingOptions>();
            int steps = embedding.InputSize;
            w.Line($"/// <summary>{embedding.PascalName} reads token ids: each input value must be an exact integer 0 … {o.Vocabulary - 1} (checked here, on the host, as the CPU network checks it).</summary>");
            w.Open($"protected override void CheckInput(global::System.ReadOnlySpan<{t}> input, int batch)");
            w.Line($"for (int r = 0; r < batch * {steps}; r++) global::NetGen.SequenceLayers.TokenId(input[r], {o.Vocabulary}, r, {steps}, \"{plan.Spec.ClassName}\");");
            w.Close();
        }
        if (plan.LossRowsPerSample > 1)
        {
            w.Line($"/// <inheritdoc/>");
            w.Line($"protected override int LabelsPerSample => {plan.LossRowsPerSample};   // one class label per step");
        }
    }
}
