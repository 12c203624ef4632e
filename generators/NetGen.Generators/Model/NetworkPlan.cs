using System.Collections.Immutable;
using System.Linq;

namespace NetGen.Generators.Model;

/// <summary>A layer after shape inference: its layouts, its window, and its parameter slots placed in the buffers.</summary>
internal sealed class LayerPlan
{
    public LayerPlan(LayerSpec spec, int index, int kindIndex, Layout input, Layout output)
    {
        Spec = spec;
        Index = index;
        KindIndex = kindIndex;
        InputLayout = input;
        OutputLayout = output;
        InputSize = input.Size;
        OutputSize = output.Size;
    }

    public LayerSpec Spec { get; }

    public LayerKind Kind => Spec.Kind;

    /// <summary>The kind's catalog entry.</summary>
    public LayerDefinition Definition => LayerCatalog.Of(Spec.Kind);

    /// <summary>The kind's options (<see cref="DenseOptions"/> …).</summary>
    public T Options<T>() where T : LayerOptions => (T)Spec.Options;

    /// <summary>Position among the network's layers (Input excluded), 0-based. Layer i reads buffer a{i}, writes a{i+1}.</summary>
    public int Index { get; }

    /// <summary>1-based count among layers of the same kind: Dense1, Dense2 …</summary>
    public int KindIndex { get; }

    public Layout InputLayout { get; }

    public Layout OutputLayout { get; }

    public ImmutableArray<int> InputShape => InputLayout.Shape;

    public ImmutableArray<int> OutputShape => OutputLayout.Shape;

    public int InputSize { get; }

    public int OutputSize { get; }

    /// <summary>The layer's tensors in Parameters (slot order), placed.</summary>
    public ImmutableArray<PlacedSlot> Parameters { get; set; } = ImmutableArray<PlacedSlot>.Empty;

    /// <summary>The layer's tensors in State, placed.</summary>
    public ImmutableArray<PlacedSlot> States { get; set; } = ImmutableArray<PlacedSlot>.Empty;

    /// <summary>The first parameter slot (Dense/Conv2D weights, BatchNorm γ): offset and length.</summary>
    public int WeightOffset => Parameters.Length > 0 ? Parameters[0].Offset : 0;

    public int WeightCount => Parameters.Length > 0 ? Parameters[0].Count : 0;

    /// <summary>The second parameter slot (a bias, BatchNorm β); with none, count 0 just after the weights.</summary>
    public int BiasOffset => Parameters.Length > 1 ? Parameters[1].Offset : WeightOffset + WeightCount;

    public int BiasCount => Parameters.Length > 1 ? Parameters[1].Count : 0;

    /// <summary>Whether the bias (second slot) is learned; false when it is held (TrainBias = false).</summary>
    public bool TrainBias => Parameters.Length < 2 || Parameters[1].Slot.Trainable;

    /// <summary>L1/L2 penalties on the weights.</summary>
    public double L1 => Spec.L1;

    public double L2 => Spec.L2;

    /// <summary>An activation's α (LeakyReLU), else 0.</summary>
    public double Alpha => Spec.Options is AlphaOptions a ? a.Alpha : 0;

    /// <summary>Kernel or pooling window (height, width), stride and resolved padding, for Conv2D and pooling.</summary>
    public int KernelH { get; set; }

    public int KernelW { get; set; }

    public int Stride { get; set; }

    public int PadH { get; set; }

    public int PadW { get; set; }

    /// <summary>Input (C, H, W) and output (C, H, W) of a spatial layer; for a vector (BatchNorm after Dense), (F, 1, 1).</summary>
    public int InC => InputLayout.IsImage ? InputLayout.Channels : InputSize;

    public int InH => InputLayout.IsImage ? InputLayout.Height : 1;

    public int InW => InputLayout.IsImage ? InputLayout.Width : 1;

    public int OutC => OutputLayout.IsImage ? OutputLayout.Channels : OutputSize;

    public int OutH => OutputLayout.IsImage ? OutputLayout.Height : 1;

    public int OutW => OutputLayout.IsImage ? OutputLayout.Width : 1;

    /// <summary>Offset and length of this layer's non-trainable state (BatchNorm: running mean then running variance).</summary>
    public int StateOffset => States.Length > 0 ? States[0].Offset : 0;

    public int StateCount => States.Sum(s => s.Count);

    public int ParameterCount => Parameters.Sum(s => s.Count);

    public int TrainableCount => Parameters.Where(s => s.Slot.Trainable).Sum(s => s.Count);

    /// <summary>Multiply-adds per sample in the forward pass (what decides unrolling for Dense).</summary>
    public long MultiplyAdds => Kind switch
    {
        LayerKind.Conv2D => (long)WeightCount * OutH * OutW,
        LayerKind.Conv2DTranspose => (long)WeightCount * InH * InW,
        _ => WeightCount,
    };

    /// <summary>The name used in <c>Summary</c> and for parameter views, e.g. "dense_1" / "Dense1".</summary>
    public string SnakeName => Definition.SnakeName + "_" + KindIndex;

    public string PascalName => Kind + (KindIndex).ToString();

    public bool IsActivation => Definition.IsActivation;

    /// <summary>Whether the layer reads a sequence (T, F) and works step by step (a recurrent layer, or a Dense or
    /// Softmax applied at every step).</summary>
    public bool IsSequence => InputShape.Length == 2;

    /// <summary>Whether the layer outputs a sequence (T, F).</summary>
    public bool OutputsSequence => OutputShape.Length == 2;

    /// <summary>The last dimension of the output: the features of each step of a sequence, else the output size.</summary>
    public int OutputFeatures => OutputShape.Length == 2 ? OutputShape[1] : OutputSize;

    /// <summary>Whether the layer is SimpleRNN, GRU or LSTM.</summary>
    public bool IsRecurrent => Kind is LayerKind.SimpleRNN or LayerKind.GRU or LayerKind.LSTM;
}

/// <summary>A whole network after shape inference: everything the emitters need, computed once.</summary>
internal sealed class NetworkPlan
{
    public NetworkPlan(NetworkSpec spec, ImmutableArray<int> inputShape, ImmutableArray<LayerPlan> layers)
    {
        Spec = spec;
        InputShape = inputShape;
        Layers = layers;
    }

    public NetworkSpec Spec { get; }

    public ImmutableArray<int> InputShape { get; }

    /// <summary>Every layer after Input.</summary>
    public ImmutableArray<LayerPlan> Layers { get; }

    public int InputSize => Shapes.Size(InputShape);

    public int OutputSize => Layers.Length == 0 ? InputSize : Layers[Layers.Length - 1].OutputSize;

    public ImmutableArray<int> OutputShape => Layers.Length == 0 ? InputShape : Layers[Layers.Length - 1].OutputShape;

    public long ParameterCount { get; set; }

    public long TrainableCount { get; set; }

    /// <summary>Length of the non-trainable state buffer (BatchNorm running statistics).</summary>
    public int StateCount { get; set; }

    /// <summary>Whether any layer behaves differently in training and inference.</summary>
    public bool HasTrainingMode => Layers.Any(l => l.Kind is LayerKind.BatchNorm or LayerKind.Dropout or LayerKind.Sampling);

    /// <summary>Cross-entropy after a final Softmax: the loss takes the softmax's input (the logits) and its gradient
    /// with respect to them is p − t, so the Softmax layer's own backward is skipped.</summary>
    public bool FusedSoftmaxCrossEntropy => Spec.Loss == LossKind.CrossEntropy && Layers.Length > 0 && Layers[Layers.Length - 1].Kind == LayerKind.Softmax;

    /// <summary>Binary cross-entropy (mean or summed) after a final Sigmoid: the loss takes the sigmoid's input z and is
    /// computed as max(z, 0) − t·z + log(1 + e^−|z|) (nn.BCEWithLogitsLoss), its gradient σ(z) − t; Sigmoid's own
    /// backward is skipped, on the CPU and on the GPU (LossFormula.BinaryCrossEntropyWithLogits).</summary>
    public bool FusedSigmoidBinaryCrossEntropy => Shapes.IsBinaryCrossEntropy(Spec.Loss) && Layers.Length > 0 && Layers[Layers.Length - 1].Kind == LayerKind.Sigmoid;

    /// <summary>The buffer the loss reads: a{L} normally, a{L−1} (the logits) when fused.</summary>
    public int LossInputBuffer => FusedSoftmaxCrossEntropy || FusedSigmoidBinaryCrossEntropy ? Layers.Length - 1 : Layers.Length;

    /// <summary>The buffer the GPU variant's loss reads: the same as the CPU's (both fusions are written there too).</summary>
    public int GpuLossInputBuffer => LossInputBuffer;

    /// <summary>Small enough that every layer is unrolled and <c>Explain</c> fits its size bound: <c>Explain</c> is emitted
    /// (decided by <see cref="CodeBudget"/>).</summary>
    public bool Explainable { get; set; }

    /// <summary>Per layer: whether it is emitted as straight-line code (a Dense layer within UnrollThreshold and
    /// within the network's <see cref="CodeBudget"/>).</summary>
    public ImmutableArray<bool> Unrolled { get; set; } = ImmutableArray<bool>.Empty;

    public string ElementType => Spec.IsDouble ? "double" : "float";

    /// <summary>Steps of the sequence layers (recurrent, Embedding, per-step Dense), 0 when there are none.</summary>
    public int SequenceSteps => Layers.Where(l => l.IsSequence || l.Kind == LayerKind.Embedding).Select(l => l.Kind == LayerKind.Embedding ? l.InputSize : l.InputShape[0]).FirstOrDefault();

    /// <summary>Whether the network has a recurrent or Embedding layer (and so the step API and the per-step buffers).</summary>
    public bool HasSequenceLayers => Layers.Any(l => l.IsRecurrent || l.Kind == LayerKind.Embedding);

    /// <summary>Rows the loss sees per sample: the steps of a sequence output (every step is a sample of the loss, as
    /// Keras and PyTorch's losses over (N·T, C) count them), else 1.</summary>
    public int LossRowsPerSample => OutputShape.Length == 2 ? OutputShape[0] : 1;

    /// <summary>Values per loss row: the classes of a step of a sequence output, else the output size.</summary>
    public int LossRowSize => OutputShape.Length == 2 ? OutputShape[1] : OutputSize;
}
