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
    /// transposed to NetGen's [out, in]. Leading dimensions of size 1 are ignored (a bias stored as [1, n]). Values
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

        // Floating-point initialisers in the order the nodes first use them, with how they are used.
        var byName = graph.Initializer.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var used = new List<(P.TensorProto Tensor, bool Transposed, string Consumer)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            for (int k = 0; k < node.Input.Count; k++)
            {
                string name = node.Input[k];
                if (!byName.TryGetValue(name, out var tensor) || !seen.Add(name)) continue;
                if (tensor.DataType is not ((int)P.TensorProto.Types.DataType.Float or (int)P.TensorProto.Types.DataType.Double))
                {
                    if (tensor.DataType is (int)P.TensorProto.Types.DataType.Float16 or (int)P.TensorProto.Types.DataType.Bfloat16)
                        throw Bad(file, $"initialiser '{name}' is {(P.TensorProto.Types.DataType)tensor.DataType}; only float and double weights are read (export in float32)");
                    continue;   // shapes, indices, axes: not weights
                }
                bool transposed = k == 1 && tensor.Dims.Count == 2
                    && (node.OpType == "MatMul" || (node.OpType == "Gemm" && (node.Attribute.FirstOrDefault(a => a.Name == "transB")?.I ?? 0) == 0));
                used.Add((tensor, transposed, $"{node.OpType} '{node.Name}'"));
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
            var (onnx, transposed, consumer) = used[i];
            var target = tensors[i];
            long[] fileShape = onnx.Dims.ToArray();
            long[] shape = transposed ? [fileShape[1], fileShape[0]] : fileShape;
            long[] expected = target.Shape.Select(d => (long)d).ToArray();
            if (!Squeeze(shape).SequenceEqual(Squeeze(expected)))
                throw Bad(file, $"initialiser #{i + 1} '{onnx.Name}' (input of {consumer}) has shape {Shape(fileShape)}{(transposed ? $" (read transposed: {Shape(shape)})" : "")}, "
                    + $"but {networkName}'s tensor #{i + 1} '{target.Name}' is {Shape(expected)}: the model's architecture differs from the network's there");
            if (onnx.HasDataLocation && onnx.DataLocation == P.TensorProto.Types.DataLocation.External)
                throw Bad(file, $"initialiser '{onnx.Name}' is stored in an external file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))");
            double[] values = ReadValues(onnx, file);
            if (values.Length != target.Length)
                throw Bad(file, $"initialiser '{onnx.Name}' holds {values.Length} values, its shape {Shape(fileShape)} says {target.Length}");
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
                ? $"the first without a counterpart is the file's '{used[count].Tensor.Name}' {Shape(used[count].Tensor.Dims)} (input of {used[count].Consumer})"
                : $"the first without a counterpart is {networkName}'s '{tensors[count].Name}' {Shape(tensors[count].Shape.Select(d => (long)d))}";
            throw Bad(file, $"it has {used.Count} weight initialisers, {networkName} has {tensors.Count} tensors; {first}");
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
