using System.Collections.Immutable;
using System.Linq;

namespace NetGen.Generators.Model;

/// <summary>What the values of one sample mean: shape rules are written against the layout, not the rank.</summary>
internal enum LayoutKind
{
    /// <summary>(F): F features.</summary>
    Vector,

    /// <summary>(C, H, W): C channels of H × W (NCHW, PyTorch's layout).</summary>
    Image,

    /// <summary>(T, F): T steps of F features each, step-major (<c>[Input(T, F)]</c>).</summary>
    Sequence,

    /// <summary>Any other rank (an <c>[Input]</c> of four or more dimensions): only layers that read values one by one
    /// (activations, Dropout) or Flatten accept it.</summary>
    Tensor,
}

/// <summary>The layout of the tensor between two layers, per sample.</summary>
internal readonly struct Layout
{
    private Layout(LayoutKind kind, ImmutableArray<int> shape)
    {
        Kind = kind;
        Shape = shape;
    }

    public LayoutKind Kind { get; }

    /// <summary>The dimensions, in the layout's order: (F), (C, H, W), (T, F).</summary>
    public ImmutableArray<int> Shape { get; }

    public static Layout Vector(int features) => new(LayoutKind.Vector, ImmutableArray.Create(features));

    public static Layout Image(int channels, int height, int width) => new(LayoutKind.Image, ImmutableArray.Create(channels, height, width));

    public static Layout Sequence(int steps, int features) => new(LayoutKind.Sequence, ImmutableArray.Create(steps, features));

    /// <summary>The layout an <c>[Input(...)]</c> of these dimensions declares: one is a vector, two a sequence (T, F),
    /// three an image (C, H, W); more are a plain tensor.</summary>
    public static Layout Declared(ImmutableArray<int> shape) => shape.Length switch
    {
        1 => new(LayoutKind.Vector, shape),
        2 => new(LayoutKind.Sequence, shape),
        3 => new(LayoutKind.Image, shape),
        _ => new(LayoutKind.Tensor, shape),
    };

    public bool IsVector => Kind == LayoutKind.Vector;

    public bool IsImage => Kind == LayoutKind.Image;

    public bool IsSequence => Kind == LayoutKind.Sequence;

    /// <summary>Values per sample.</summary>
    public int Size => Shapes.Size(Shape);

    /// <summary>Image: C, H, W.</summary>
    public int Channels => IsImage ? Shape[0] : 0;

    public int Height => IsImage ? Shape[1] : 0;

    public int Width => IsImage ? Shape[2] : 0;

    /// <summary>Sequence: T and F.</summary>
    public int Steps => IsSequence ? Shape[0] : 0;

    /// <summary>Features of a vector, of each step of a sequence.</summary>
    public int Features => Kind switch
    {
        LayoutKind.Vector => Shape[0],
        LayoutKind.Sequence => Shape[1],
        _ => 0,
    };

    /// <summary>The same layout and dimensions (element-wise layers).</summary>
    public Layout Same() => this;

    public override string ToString() => Kind + "(" + string.Join(", ", Shape.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")";
}
