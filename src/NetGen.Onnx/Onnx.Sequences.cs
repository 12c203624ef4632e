using Google.Protobuf;
using P = global::Onnx;

namespace NetGen;

// The sequence layers' ONNX mappings (Module 5): Embedding, SimpleRNN, GRU, LSTM.
public static partial class Onnx
{
    /// <summary>Embedding → Gather(table, Cast(ids, int64)) on axis 0: [N, T] ids → [N, T, dimension]. NetGen's ids
    /// travel as exact float values; ONNX's Gather takes integers, so the model casts them (an id out of range is
    /// ONNX Runtime's error, as it is NetGen's).</summary>
    private static string Embedding(LayerContext c)
    {
        string table = c.RequiredTensor("Weights");
        string ids = c.Graph.Node("Cast", [c.Input], c.Output + "_ids", Attr.Int("to", (long)P.TensorProto.Types.DataType.Int64));
        return c.Graph.Node("Gather", [table, ids], c.Output, Attr.Int("axis", 0));
    }

    /// <summary>
    /// SimpleRNN / GRU / LSTM → ONNX RNN / GRU / LSTM. The equations are the same; three things differ and are converted:
    /// <list type="bullet">
    /// <item>Gate order. NetGen keeps PyTorch's: LSTM i, f, g, o; GRU r, z, n. ONNX's is LSTM i, o, f, c and GRU z, r, h,
    /// so the gate blocks of W, R and both biases are written in ONNX's order (PyTorch's exporter does the same).
    /// The GRU applies the reset gate after the recurrent product, ONNX's <c>linear_before_reset = 1</c>.</item>
    /// <item>Tensors. ONNX takes W [D, G·H, F], R [D, G·H, H] and B [D, 2·G·H] (input then recurrent bias) with D = 2
    /// for a bidirectional layer; they are written as initialisers named <c>{layer}_W</c>, <c>_R</c>, <c>_B</c>,
    /// built from the layer's WeightIh, WeightHh, BiasIh, BiasHh (and the …Reverse four).</item>
    /// <item>Layout. NetGen's sequence is [N, T, F] (<c>batch_first</c>); ONNX's operators read [T, N, F] and give
    /// Y [T, D, N, H] and Y_h [D, N, H]. Every step (ReturnSequences) is Y transposed to [N, T, D, H] and reshaped to
    /// (T, D·H): forward then reverse per step, as NetGen's. The last state is Y_h as [N, D·H]: [forward h_T,
    /// reverse h_1], as NetGen's.</item>
    /// </list>
    /// </summary>
    private static string Recurrent(LayerContext c, string op)
    {
        int units = c.Int("Units");
        bool bidirectional = c.Layer.Option("Bidirectional") != 0, sequences = c.Layer.Option("ReturnSequences") != 0;
        int steps = c.Layer.InputShape[0], features = c.Layer.InputShape[1], directions = bidirectional ? 2 : 1;
        c.ExpectShape(sequences ? [steps, directions * units] : [directions * units]);
        // ONNX's gate blocks, each as the index of NetGen's (PyTorch's) block it comes from.
        int[] onnxFromNetGen = op switch { "LSTM" => [0, 3, 1, 2], "GRU" => [1, 0, 2], _ => [0] };
        int gates = onnxFromNetGen.Length;

        ByteString Gates(string suffix, int columns)
        {
            var (tensor, raw) = c.Raw(suffix) ?? throw new InvalidOperationException(
                $"layer {c.Layer.Name} ({c.Layer.Kind}) has no tensor named *{suffix} (it has {string.Join(", ", c.Layer.Tensors.Select(t => t.Name))}).");
            int block = raw.Length / gates;   // one gate's H rows × columns values, in bytes
            if (tensor.Length != gates * units * columns || block * gates != raw.Length)
                throw new InvalidOperationException($"layer {c.Layer.Name}: {tensor.Name} holds {tensor.Length} values, not {gates} gates × {units} × {columns}.");
            var bytes = new byte[raw.Length];
            ReadOnlySpan<byte> from = raw.Span;
            for (int g = 0; g < gates; g++) from.Slice(onnxFromNetGen[g] * block, block).CopyTo(bytes.AsSpan(g * block));
            return ByteString.CopyFrom(bytes);
        }

        ByteString Directions(Func<string, ByteString> perDirection)
        {
            var parts = Enumerable.Range(0, directions).Select(d => perDirection(d == 1 ? "Reverse" : "")).ToList();
            return parts.Count == 1 ? parts[0] : ByteString.CopyFrom([.. parts[0].Span, .. parts[1].Span]);
        }

        string w = c.Output + "_W", r = c.Output + "_R", b = c.Output + "_B";
        c.Graph.Initializer(w, [directions, gates * units, features], Directions(s => Gates("WeightIh" + s, features)));
        c.Graph.Initializer(r, [directions, gates * units, units], Directions(s => Gates("WeightHh" + s, units)));
        c.Graph.Initializer(b, [directions, 2 * gates * units],
            Directions(s => ByteString.CopyFrom([.. Gates("BiasIh" + s, 1).Span, .. Gates("BiasHh" + s, 1).Span])));

        var attributes = new List<P.AttributeProto>
        {
            Attr.Int("hidden_size", units),
            Attr.String("direction", bidirectional ? "bidirectional" : "forward"),
        };
        if (op == "GRU") attributes.Add(Attr.Int("linear_before_reset", 1));
        if (op == "RNN")
        {
            string activation = c.Layer.Option("Activation") == 1 ? "Relu" : "Tanh";
            attributes.Add(Attr.Strings("activations", [.. Enumerable.Repeat(activation, directions)]));
        }

        string timeMajor = c.Graph.Node("Transpose", [c.Input], c.Output + "_time_major", Attr.Ints("perm", 1, 0, 2));
        if (sequences)
        {
            string y = c.Output + "_y";
            c.Graph.Node(op, [timeMajor, w, r, b], [y], [.. attributes]);
            string batchMajor = c.Graph.Node("Transpose", [y], c.Output + "_batch_major", Attr.Ints("perm", 2, 0, 1, 3));
            return c.Graph.Node("Reshape", [batchMajor, c.Graph.ShapeConstant(c.Output + "_shape", c.Layer.OutputShape)], c.Output);
        }
        string last = c.Output + "_y_h";
        c.Graph.Node(op, [timeMajor, w, r, b], ["", last], [.. attributes]);
        string perSample = c.Graph.Node("Transpose", [last], c.Output + "_batch_major", Attr.Ints("perm", 1, 0, 2));
        return c.Graph.Node("Reshape", [perSample, c.Graph.ShapeConstant(c.Output + "_shape", c.Layer.OutputShape)], c.Output);
    }
}
