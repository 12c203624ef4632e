using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;
using P = global::Onnx;

namespace NetGen;

public static partial class Onnx
{
    /// <summary>Files larger than this are rejected before being read (protobuf's own limit is 2 GiB).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>
    /// Fills <paramref name="network"/>'s parameters and state from the ONNX model at <paramref name="path"/>, which
    /// must have the same architecture (e.g. the same LeNet defined in PyTorch and exported with
    /// <c>torch.onnx.export</c>, or a file <see cref="Export{T}(INetwork{T}, string, string?)"/> wrote).
    /// <para>
    /// The model's floating-point initialisers are taken in graph order — the order in which the graph's nodes first
    /// use them — and matched one to one, by position and shape, to the network's <see cref="INetwork{T}.Tensors"/>
    /// (PyTorch's <c>parameters()</c> order: weight then bias per layer; a batch norm's scale, bias, running mean and
    /// running variance). A weight used by MatMul, or by Gemm without <c>transB</c>, is stored [in, out] and is
    /// transposed to NetGen's [out, in]. An RNN, GRU or LSTM operator's W, R and B (both directions in one tensor,
    /// ONNX's gate order) become NetGen's WeightIh, WeightHh, BiasIh, BiasHh per direction, in PyTorch's gate order
    /// (a GRU must have <c>linear_before_reset = 1</c>, PyTorch's and NetGen's cell). Leading dimensions of size 1 are ignored (a bias stored as [1, n]). Values
    /// of the other precision are converted (double → float rounds to nearest). Everything is checked and converted
    /// before the network is changed: on any error the network keeps its weights.
    /// </para>
    /// <para>What is not checked: the operators between the weights (an activation or a pooling that differs is not
    /// detected); a PyTorch export in eval mode may fold a batch norm into the convolution before it, and such a file
    /// then has fewer initialisers than the network and is rejected.</para>
    /// </summary>
    /// <returns>The model's producer, operator set and metadata.</returns>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, or does not match the network; the
    /// message names the first initialiser and tensor that differ.</exception>
    public static OnnxModelInfo LoadWeights<T>(INetwork<T> network, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string file = Path.GetFileName(path);
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes) throw Bad(file, $"it is {length} bytes, more than the {MaxFileBytes} this reader accepts");
        P.ModelProto model;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            model = P.ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Bad(file, $"it is not an ONNX model (protobuf: {e.Message})");
        }
        return LoadWeights(network, model, file);
    }

    private static OnnxModelInfo LoadWeights<T>(INetwork<T> network, P.ModelProto model, string file) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (model.Graph is null || (model.Graph.Node.Count == 0 && model.Graph.Initializer.Count == 0))
            throw Bad(file, "it has no graph (not an ONNX model, or an empty one)");
        var graph = model.Graph;
        string networkName = network.GetType().Name;

        // The per-sample input size, where the file states it.
        var initializerNames = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var input = graph.Input.FirstOrDefault(i => !initializerNames.Contains(i.Name));
        var dims = input?.Type?.TensorType?.Shape?.Dim;
        if (dims is { Count: > 1 } && dims.Skip(1).All(d => d.HasDimValue))
        {
            long perSample = dims.Skip(1).Aggregate(1L, (a, d) => a * d.DimValue);
            if (perSample != network.InputSize)
                throw Bad(file, $"its input '{input!.Name}' has {perSample} values per sample ({string.Join("×", dims.Skip(1).Select(d => d.DimValue))}), {networkName} takes {network.InputSize}");
        }

        // Floating-point initialisers in the order the nodes first use them, with how they are used. A recurrent
        // operator's W, R and B are split into NetGen's per-direction tensors, gates back in NetGen's order.
        var byName = graph.Initializer.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var used = new List<Piece>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType is "RNN" or "GRU" or "LSTM")
            {
                used.AddRange(RecurrentPieces(node, byName, seen, file));
                continue;
            }
            for (int k = 0; k < node.Input.Count; k++)
            {
                string name = node.Input[k];
                if (!byName.TryGetValue(name, out var tensor) || !seen.Add(name)) continue;
                if (!IsWeight(tensor, file)) continue;   // shapes, indices, axes: not weights
                bool transposed = k == 1 && tensor.Dims.Count == 2
                    && (node.OpType == "MatMul" || (node.OpType == "Gemm" && (node.Attribute.FirstOrDefault(a => a.Name == "transB")?.I ?? 0) == 0));
                used.Add(new Piece(tensor, tensor.Name, [.. tensor.Dims], transposed, $"{node.OpType} '{node.Name}'", () => ReadValues(tensor, file)));
            }
        }

        var tensors = network.Tensors;
        string Shape(IEnumerable<long> s) => "[" + string.Join(", ", s) + "]";
        int count = Math.Min(used.Count, tensors.Count);
        var parameters = network.Parameters.ToArray();
        var state = network.State.ToArray();
        bool converted = false;
        for (int i = 0; i < count; i++)
        {
            var piece = used[i];
            var (onnx, transposed, consumer) = (piece.Tensor, piece.Transposed, piece.Consumer);
            var target = tensors[i];
            long[] fileShape = piece.Shape;
            long[] shape = transposed ? [fileShape[1], fileShape[0]] : fileShape;
            long[] expected = target.Shape.Select(d => (long)d).ToArray();
            if (!Squeeze(shape).SequenceEqual(Squeeze(expected)))
                throw Bad(file, $"initialiser #{i + 1} '{piece.Name}' (input of {consumer}) has shape {Shape(fileShape)}{(transposed ? $" (read transposed: {Shape(shape)})" : "")}, "
                    + $"but {networkName}'s tensor #{i + 1} '{target.Name}' is {Shape(expected)}: the model's architecture differs from the network's there");
            if (onnx.HasDataLocation && onnx.DataLocation == P.TensorProto.Types.DataLocation.External)
                throw Bad(file, $"initialiser '{onnx.Name}' is stored in an external file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))");
            double[] values = piece.Values();
            if (values.Length != target.Length)
                throw Bad(file, $"initialiser '{piece.Name}' holds {values.Length} values, its shape {Shape(fileShape)} says {target.Length}");
            converted |= onnx.DataType != (typeof(T) == typeof(double) ? (int)P.TensorProto.Types.DataType.Double : (int)P.TensorProto.Types.DataType.Float);
            Span<T> destination = (target.Buffer == TensorBuffer.Parameters ? parameters.AsSpan() : state.AsSpan()).Slice(target.Offset, target.Length);
            if (transposed)
            {
                int rows = (int)fileShape[0], columns = (int)fileShape[1];   // file [in, out] → network [out, in]
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < columns; q++)
                        destination[q * rows + r] = T.CreateChecked(values[r * columns + q]);
            }
            else
            {
                for (int j = 0; j < values.Length; j++) destination[j] = T.CreateChecked(values[j]);
            }
        }
        if (used.Count != tensors.Count)
        {
            string first = used.Count > tensors.Count
                ? $"the first without a counterpart is the file's '{used[count].Name}' {Shape(used[count].Shape)} (input of {used[count].Consumer})"
                : $"the first without a counterpart is {networkName}'s '{tensors[count].Name}' {Shape(tensors[count].Shape.Select(d => (long)d))}";
            throw Bad(file, $"it has {used.Count} weights, {networkName} has {tensors.Count} tensors; {first}");
        }

        CheckWindows(network, graph, file, networkName);

        parameters.CopyTo(network.Parameters);
        state.CopyTo(network.State);
        long opset = model.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        var metadata = model.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        return new OnnxModelInfo(model.ProducerName ?? "", model.ProducerVersion ?? "", opset, metadata, used.Count, converted);
    }

    /// <summary>The file's Conv, MaxPool and AveragePool nodes, in order, against the network's Conv2D and pooling
    /// layers: same kernel, stride and padding, and an output of the same size — PyTorch's <c>ceil_mode=True</c> keeps a
    /// partial window at the border where NetGen's <c>RoundDown</c> drops it, so it is accepted only where the windows
    /// tile the input (both then give the same size).</summary>
    private static void CheckWindows<T>(INetwork<T> network, P.GraphProto graph, string file, string networkName) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = network.Layers.Where(l => l.Kind is "Conv2D" or "MaxPool" or "AvgPool").ToList();
        var nodes = graph.Node.Where(n => n.OpType is "Conv" or "MaxPool" or "AveragePool").ToList();
        for (int i = 0; i < Math.Min(layers.Count, nodes.Count); i++)
        {
            var (layer, node) = (layers[i], nodes[i]);
            string expectedOp = layer.Kind switch { "Conv2D" => "Conv", "MaxPool" => "MaxPool", _ => "AveragePool" };
            string where = $"node {node.OpType} '{node.Name}' (window operator #{i + 1})";
            if (node.OpType != expectedOp)
                throw Bad(file, $"{where} stands where {networkName} has {layer.Name} ({layer.Kind}, ONNX {expectedOp})");
            long[] Ints(string name, params long[] fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray() is { Length: > 0 } v ? v : fallback;
            long Int(string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;
            string autoPad = node.Attribute.FirstOrDefault(a => a.Name == "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
            int kh = (int)layer.Option("KernelHeight"), kw = (int)layer.Option("KernelWidth"), s = (int)layer.Option("Stride");
            int ph = (int)layer.Option("PadHeight"), pw = (int)layer.Option("PadWidth");
            if (s <= 0) s = kh;
            long[] kernel = Ints("kernel_shape", kh, kw), strides = Ints("strides", 1, 1), pads = Ints("pads", 0, 0, 0, 0);
            if (autoPad is not ("NOTSET" or "" or "VALID"))
                throw Bad(file, $"{where} uses auto_pad={autoPad}; {networkName}'s {layer.Name} has explicit padding {ph}×{pw}");
            if (kernel.Length != 2 || kernel[0] != kh || kernel[1] != kw)
                throw Bad(file, $"{where} has kernel [{string.Join(", ", kernel)}], {networkName}'s {layer.Name} has {kh}×{kw}");
            if (strides.Length != 2 || strides[0] != s || strides[1] != s)
                throw Bad(file, $"{where} has strides [{string.Join(", ", strides)}], {networkName}'s {layer.Name} has stride {s}");
            if (pads.Length != 4 || pads[0] != ph || pads[2] != ph || pads[1] != pw || pads[3] != pw)
                throw Bad(file, $"{where} has pads [{string.Join(", ", pads)}], {networkName}'s {layer.Name} pads {ph} rows and {pw} columns on each side");
            if (Int("ceil_mode", 0) != 0)
            {
                int h = layer.InputShape[1] + 2 * ph - kh, w = layer.InputShape[2] + 2 * pw - kw;
                if (h % s != 0 || w % s != 0)
                    throw Bad(file, $"{where} has ceil_mode=1 and its windows do not tile the {layer.InputShape[1]}×{layer.InputShape[2]} input: it keeps a partial window that "
                        + $"{networkName}'s {layer.Name} (RoundDown) drops; export with ceil_mode=False");
            }
        }
        if (layers.Count != nodes.Count)
            throw Bad(file, $"it has {nodes.Count} convolution and pooling operators, {networkName} has {layers.Count} ({string.Join(", ", layers.Select(l => l.Name))})");
    }

    /// <summary>One weight as the network takes it: a whole initialiser, or a part of one (a recurrent operator's
    /// W [D, G·H, F] holds both directions' input weights); <see cref="Values"/> reads it, gates in NetGen's order.</summary>
    private sealed record Piece(P.TensorProto Tensor, string Name, long[] Shape, bool Transposed, string Consumer, Func<double[]> Values);

    /// <summary>Whether an initialiser holds floating-point weights (float or double); 16-bit floats are refused.</summary>
    private static bool IsWeight(P.TensorProto tensor, string file)
    {
        if (tensor.DataType is (int)P.TensorProto.Types.DataType.Float or (int)P.TensorProto.Types.DataType.Double) return true;
        if (tensor.DataType is (int)P.TensorProto.Types.DataType.Float16 or (int)P.TensorProto.Types.DataType.Bfloat16)
            throw Bad(file, $"initialiser '{tensor.Name}' is {(P.TensorProto.Types.DataType)tensor.DataType}; only float and double weights are read (export in float32)");
        return false;
    }

    /// <summary>
    /// An ONNX RNN, GRU or LSTM node's weights as NetGen's tensors: per direction WeightIh [G·H, F] from W, WeightHh
    /// [G·H, H] from R, BiasIh and BiasHh [G·H] from the two halves of B — the forward direction's four, then the
    /// reverse's (PyTorch's <c>parameters()</c> order, NetGen's). ONNX orders the gates LSTM i, o, f, c and GRU z, r, h;
    /// NetGen (PyTorch) LSTM i, f, g, o and GRU r, z, n, so the blocks are put back. A GRU must have
    /// <c>linear_before_reset = 1</c> (PyTorch's form, NetGen's); a node without B has no counterpart for NetGen's
    /// biases and is refused.
    /// </summary>
    private static IEnumerable<Piece> RecurrentPieces(P.NodeProto node, Dictionary<string, P.TensorProto> byName, HashSet<string> seen, string file)
    {
        string consumer = $"{node.OpType} '{node.Name}'";
        int gates = node.OpType switch { "LSTM" => 4, "GRU" => 3, _ => 1 };
        // NetGen's gate block j comes from ONNX's block netGenFromOnnx[j].
        int[] netGenFromOnnx = node.OpType switch { "LSTM" => [0, 2, 3, 1], "GRU" => [1, 0, 2], _ => [0] };
        if (node.OpType == "GRU" && (node.Attribute.FirstOrDefault(a => a.Name == "linear_before_reset")?.I ?? 0) != 1)
            throw Bad(file, $"{consumer} has linear_before_reset = 0 (the reset gate applied before the recurrent product); NetGen's GRU is PyTorch's, linear_before_reset = 1");
        if (node.Attribute.Any(a => a.Name == "layout" && a.I != 0))
            throw Bad(file, $"{consumer} has layout = 1; export it with the time-major layout (PyTorch's exporter does)");
        P.TensorProto Input(int k, string what)
        {
            if (node.Input.Count <= k || !byName.TryGetValue(node.Input[k], out var t))
                throw Bad(file, $"{consumer} has no {what} initialiser (input {k}); NetGen's {node.OpType} has {(k == 3 ? "input and recurrent biases" : "this weight")}");
            seen.Add(t.Name);
            if (!IsWeight(t, file)) throw Bad(file, $"{consumer}'s {what} '{t.Name}' is not a float or double tensor");
            return t;
        }
        var (w, r, b) = (Input(1, "W"), Input(2, "R"), Input(3, "B"));
        if (w.Dims.Count != 3 || r.Dims.Count != 3 || b.Dims.Count != 2 || w.Dims[1] % gates != 0)
            throw Bad(file, $"{consumer} has W {string.Join("×", w.Dims)}, R {string.Join("×", r.Dims)}, B {string.Join("×", b.Dims)}; ONNX's are [D, {gates}·H, F], [D, {gates}·H, H], [D, {2 * gates}·H]");
        int directions = (int)w.Dims[0], units = (int)w.Dims[1] / gates, features = (int)w.Dims[2];
        var (wValues, rValues, bValues) = (new Lazy<double[]>(() => ReadValues(w, file)), new Lazy<double[]>(() => ReadValues(r, file)), new Lazy<double[]>(() => ReadValues(b, file)));

        // Direction d's gate blocks of `columns` values per row, starting at `offset` in `all`, in NetGen's order.
        double[] Reordered(double[] all, int offset, int columns)
        {
            int block = units * columns;
            if (all.Length < offset + gates * block) throw Bad(file, $"{consumer}'s weights hold {all.Length} values, fewer than their shapes say");
            var result = new double[gates * block];
            for (int j = 0; j < gates; j++) Array.Copy(all, offset + netGenFromOnnx[j] * block, result, j * block, block);
            return result;
        }

        for (int d = 0; d < directions; d++)
        {
            int dd = d;
            string direction = d == 1 ? " (reverse)" : "";
            yield return new Piece(w, $"{w.Name}[{d}]{direction}", [gates * units, features], false, consumer, () => Reordered(wValues.Value, dd * gates * units * features, features));
            yield return new Piece(r, $"{r.Name}[{d}]{direction}", [gates * units, units], false, consumer, () => Reordered(rValues.Value, dd * gates * units * units, units));
            yield return new Piece(b, $"{b.Name}[{d}] input bias{direction}", [gates * units], false, consumer, () => Reordered(bValues.Value, dd * 2 * gates * units, 1));
            yield return new Piece(b, $"{b.Name}[{d}] recurrent bias{direction}", [gates * units], false, consumer, () => Reordered(bValues.Value, (dd * 2 + 1) * gates * units, 1));
        }
    }

    private static IEnumerable<long> Squeeze(long[] shape) => shape.SkipWhile(d => d == 1).DefaultIfEmpty(1);

    private static double[] ReadValues(P.TensorProto tensor, string file)
    {
        bool isDouble = tensor.DataType == (int)P.TensorProto.Types.DataType.Double;
        if (tensor.HasRawData && tensor.RawData.Length > 0)
        {
            ReadOnlySpan<byte> raw = tensor.RawData.Span;
            int size = isDouble ? 8 : 4;
            if (raw.Length % size != 0) throw Bad(file, $"initialiser '{tensor.Name}' has {raw.Length} bytes of raw data, not a whole number of {size}-byte values");
            var values = new double[raw.Length / size];
            for (int i = 0; i < values.Length; i++)
                values[i] = isDouble ? BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(8 * i)) : BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(4 * i));
            return values;
        }
        return isDouble ? tensor.DoubleData.ToArray() : tensor.FloatData.Select(f => (double)f).ToArray();
    }

    private static InvalidDataException Bad(string file, string problem) => new($"ONNX model '{file}' cannot be loaded: {problem}.");
}
