namespace NetGen;

/// <summary>Which flat buffer of a network a named tensor lives in.</summary>
public enum TensorBuffer
{
    /// <summary><see cref="INetwork{T}.Parameters"/>.</summary>
    Parameters,

    /// <summary><see cref="INetwork{T}.State"/> (non-trainable, e.g. batch-norm running statistics).</summary>
    State,
}

/// <summary>A named tensor inside a network's flat buffers, e.g. "Dense1Weights" [10, 64] at offset 0 of
/// Parameters. Names are those of the generated views; checkpoints and exporters use them.</summary>
/// <param name="Name">The view's name, e.g. "Conv2D1Weights".</param>
/// <param name="Buffer">The buffer it lives in.</param>
/// <param name="Offset">Its first element in that buffer.</param>
/// <param name="Shape">Its shape, row-major (PyTorch's layouts: Linear [out, in], Conv2d [F, C, kh, kw]).</param>
public sealed record TensorInfo(string Name, TensorBuffer Buffer, int Offset, int[] Shape)
{
    /// <summary>Number of elements.</summary>
    public int Length
    {
        get
        {
            int n = 1;
            foreach (int d in Shape) n *= d;
            return n;
        }
    }
}
