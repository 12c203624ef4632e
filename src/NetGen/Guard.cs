namespace NetGen;

/// <summary>Argument checks shared by the runtime and generated code; each message names the problem and the fix.</summary>
public static class Guard
{
    /// <summary>Throws unless <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    public static void SameLength(int expected, int actual, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"'{name}' has {actual} values but {expected} are needed: pass a span of exactly {expected} values.", name);
    }

    /// <summary>Checks a batch size against the capacity and a span against batch × per-sample size.</summary>
    public static void Batch(int batch, int maxBatch, string networkName)
    {
        if (batch < 1 || batch > maxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch,
                $"{networkName} was constructed for batches of 1 to {maxBatch} samples, so batch {batch} is out of range: " +
                $"construct it with maxBatch: {Math.Max(batch, 1)} or larger, or pass a smaller batch.");
    }

    /// <summary>Checks that a span holds batch × <paramref name="perSample"/> values.</summary>
    public static void BatchSpan(int length, int batch, int perSample, string name)
    {
        if (length != batch * perSample)
            throw new ArgumentException(
                $"'{name}' has {length} values but batch {batch} × {perSample} per sample = {batch * perSample} are needed: " +
                $"pass exactly batch × {perSample} values, row-major (sample by sample).", name);
    }

    /// <summary>Checks class labels against the number of classes.</summary>
    public static void Labels(ReadOnlySpan<int> labels, int batch, int classes, string name)
    {
        if (labels.Length != batch)
            throw new ArgumentException($"'{name}' has {labels.Length} labels but the batch has {batch} samples: pass one class index per sample.", name);
        // A single output is a binary classifier: labels 0 and 1 are its targets (as in Keras).
        int count = classes == 1 ? 2 : classes;
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)count)
                throw new ArgumentOutOfRangeException(name, labels[i], $"Label {labels[i]} at sample {i} is not a class index in 0..{count - 1}" +
                    (classes == 1 ? " (a network with one output takes binary labels 0 and 1)." : "."));
    }

    /// <summary>Checks class labels of a per-step loss (a sequence output): one label per step of every sample.</summary>
    public static void Labels(ReadOnlySpan<int> labels, int batch, int steps, int classes, string name)
    {
        if (labels.Length != batch * steps)
            throw new ArgumentException(
                $"'{name}' has {labels.Length} labels but the output is a sequence, {batch} samples × {steps} steps: pass one class index per step " +
                $"({batch * steps} labels, sample by sample). For one label per sample the last recurrent layer must return only its last step (ReturnSequences = false).", name);
        Labels(labels, batch * steps, classes, name);
    }

    /// <summary>Throws when no forward pass has run yet.</summary>
    public static void ForwardDone(int batch, string networkName)
    {
        if (batch == 0)
            throw new InvalidOperationException($"{networkName}: call Forward before Loss or Backward; they use the last forward pass.");
    }

    /// <summary>Throws when no whole-sequence forward pass has run since construction or the last stateful <c>Step</c>.</summary>
    public static void ForwardDone(int batch, string networkName, bool afterStep)
    {
        if (batch == 0 && afterStep)
            throw new InvalidOperationException(
                $"{networkName}: the last pass was a stateful Step (one time step, inference only, for generation); Loss and Backward need a whole-sequence " +
                "forward pass. Call Forward (or TrainStep) on whole sequences before Loss or Backward; Step leaves the carried state for the next Step.");
        ForwardDone(batch, networkName);
    }
}
