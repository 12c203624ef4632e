using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using Google.Protobuf;
using P = global::Onnx;

namespace NetGen;

/// <summary>What <see cref="Onnx.LoadWeights{T}(INetwork{T}, string)"/> read besides the weights.</summary>
/// <param name="ProducerName">The model's producer (e.g. "pytorch", "NetGen"); empty when the file does not say.</param>
/// <param name="ProducerVersion">The producer's version; empty when the file does not say.</param>
/// <param name="OpsetVersion">The default-domain operator set the model imports (0 when it imports none).</param>
/// <param name="Metadata">The model's <c>metadata_props</c>.</param>
/// <param name="Initializers">How many weights were matched to the network's tensors, in graph order: one per
/// initialiser, and four per direction of a recurrent operator's W, R and B.</param>
/// <param name="Converted">True when the file's element type differs from the network's and values were converted.</param>
public sealed record OnnxModelInfo(string ProducerName, string ProducerVersion, long OpsetVersion,
    IReadOnlyDictionary<string, string> Metadata, int Initializers, bool Converted);

/// <summary>
/// ONNX interchange for generated networks. <see cref="Export{T}(INetwork{T}, string, string?)"/> writes the network in
/// inference mode as an ONNX model (IR version 8, operator set 17, a dynamic batch axis, the input named "input" and
/// the output "output", the network's name and the NetGen version in the metadata) that ONNX Runtime, PyTorch's
/// <c>onnx2torch</c>, OpenCV's DNN module … run. <see cref="LoadWeights{T}(INetwork{T}, string)"/> goes the other way:
/// it fills a network from an ONNX model of the same architecture (e.g. exported by <c>torch.onnx.export</c>).
/// <para>
/// The export reads the network's constant layer description (<see cref="INetwork{T}.Layers"/>): one mapping per layer
/// kind in <see cref="Mappings"/> — Dense → Gemm, Conv2D → Conv, MaxPool/AvgPool → MaxPool/AveragePool (NetGen's
/// windows never overhang, and <c>RoundDown</c> drops the border as ONNX's default <c>ceil_mode = 0</c> does, so no
/// pads), Flatten → Flatten, BatchNorm → BatchNormalization with the running statistics, Dropout → nothing (inference),
/// Step → GreaterOrEqual + Cast, Sigmoid, Tanh, ReLU → Relu, LeakyReLU, ELU → Elu, SiLU → Mul(x, Sigmoid(x)), Softmax (over all of a sample's
/// values, as NetGen's; per step after a sequence), Identity; Reshape → Reshape, Upsample2D → Resize, Conv2DTranspose →
/// ConvTranspose, Sampling → Slice (z = μ), Embedding → Cast + Gather, SimpleRNN/GRU/LSTM → RNN/GRU/LSTM (gates in ONNX's
/// order, time-major between Transposes), a Dense at every step → MatMul + Add. A layer kind without a mapping is
/// reported by name, never skipped.
/// </para>
/// <para>The protobuf messages are ONNX's own <c>onnx.proto</c> compiled at build time (Google.Protobuf).</para>
/// </summary>
public static partial class Onnx
{
    /// <summary>The operator set the export targets (ONNX 1.12, ONNX Runtime 1.12 and later).</summary>
    public const int OpsetVersion = 17;

    /// <summary>The ONNX IR version written (8: ONNX 1.10 – 1.12).</summary>
    public const long IrVersion = 8;

    /// <summary>The graph input's name.</summary>
    public const string InputName = "input";

    /// <summary>The graph output's name.</summary>
    public const string OutputName = "output";

    /// <summary>The symbolic name of the first (batch) dimension of the input and output.</summary>
    public const string BatchDimension = "batch";

    /// <summary>The NetGen version written into <c>producer_version</c> and the metadata.</summary>
    public static string NetGenVersion { get; } =
        typeof(INetwork<>).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(INetwork<>).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    /// <summary>The layer kinds <see cref="Export{T}(INetwork{T}, string, string?)"/> knows.</summary>
    public static IReadOnlyCollection<string> SupportedKinds => [.. Mappings.Keys];

    // ---- Export ----------------------------------------------------------------------------------------------------

    /// <summary>Writes <paramref name="network"/> as an ONNX model to <paramref name="path"/>, atomically (a temporary
    /// file in the same directory, moved over <paramref name="path"/>).</summary>
    /// <param name="network">The network; its parameters and state are read, nothing is changed.</param>
    /// <param name="path">The file to write (replaced if it exists), by convention "*.onnx".</param>
    /// <param name="name">The graph's name and the "netgen.network" metadata; default the network's class name.</param>
    /// <exception cref="NotSupportedException">A layer kind has no ONNX mapping (the message names the layer).</exception>
    public static void Export<T>(INetwork<T> network, string path, string? name = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes = ToBytes(network, name);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The ONNX model of <paramref name="network"/> as bytes (what <see cref="Export{T}(INetwork{T}, string, string?)"/> writes).</summary>
    public static byte[] ToBytes<T>(INetwork<T> network, string? name = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        return BuildModel(network, name ?? network.GetType().Name).ToByteArray();
    }

    private static P.ModelProto BuildModel<T>(INetwork<T> network, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = network.Layers;
        var g = new GraphBuilder(ElementType<T>(), name);
        int[] inputShape = layers.Count > 0 ? layers[0].InputShape : [network.InputSize];
        g.Graph.Input.Add(g.Value(InputName, inputShape));
        string current = InputName;
        foreach (var layer in layers)
        {
            if (!Mappings.TryGetValue(layer.Kind, out var map))
                throw new NotSupportedException(
                    $"{name}: layer {layer.Name} ({layer.Kind}) has no ONNX mapping yet; the export knows {string.Join(", ", Mappings.Keys)}.");
            var context = new LayerContext(g, layer, current, (tensor) => Values(network, tensor), network);
            current = map(context);
        }
        int[] outputShape = layers.Count > 0 ? layers[^1].OutputShape : inputShape;
        // The last value takes the output's name: rename what the last node produced, or add an Identity when the
        // input reaches the output unchanged (no layers, or only dropped ones).
        var last = g.Graph.Node.LastOrDefault();
        if (current != InputName && last is not null && last.Output.Count == 1 && last.Output[0] == current)
            last.Output[0] = OutputName;
        else
            g.Node("Identity", [current], OutputName);
        g.Graph.Output.Add(g.Value(OutputName, outputShape));

        var model = new P.ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "NetGen",
            ProducerVersion = NetGenVersion,
            ModelVersion = 1,
            DocString = network.Summary,
            Graph = g.Graph,
        };
        model.OpsetImport.Add(new P.OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        model.MetadataProps.Add(new P.StringStringEntryProto { Key = "netgen.network", Value = name });
        model.MetadataProps.Add(new P.StringStringEntryProto { Key = "netgen.version", Value = NetGenVersion });
        model.MetadataProps.Add(new P.StringStringEntryProto { Key = "netgen.precision", Value = typeof(T) == typeof(double) ? "double" : "float" });
        return model;
    }

    private static ByteString Values<T>(INetwork<T> network, TensorInfo tensor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> values = (tensor.Buffer == TensorBuffer.Parameters ? network.Parameters : network.State).Slice(tensor.Offset, tensor.Length);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is not.");
        return ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
    }

    private static P.TensorProto.Types.DataType ElementType<T>() =>
        typeof(T) == typeof(float) ? P.TensorProto.Types.DataType.Float
        : typeof(T) == typeof(double) ? P.TensorProto.Types.DataType.Double
        : throw new NotSupportedException($"ONNX export supports float and double networks, not {typeof(T).Name}.");

    /// <summary>What a layer's mapping gets: the graph so far, the layer, the name of the value coming in, and the
    /// values of the layer's tensors (raw little-endian bytes of the network's element type).</summary>
    internal sealed class LayerContext(GraphBuilder graph, LayerInfo layer, string input, Func<TensorInfo, ByteString> values, object network)
    {
        /// <summary>The network being exported (for a generated per-layer property such as <c>Sampling1SampleInInference</c>).</summary>
        public object Network { get; } = network;

        public GraphBuilder Graph { get; } = graph;

        public LayerInfo Layer { get; } = layer;

        public string Input { get; } = input;

        /// <summary>The name of this layer's output value (its own name; renamed "output" if it is the last).</summary>
        public string Output => Layer.Name;

        /// <summary>Adds the layer's tensor whose name ends in <paramref name="suffix"/> as an initialiser named as the
        /// tensor, and returns that name; null when the layer has no such tensor (e.g. no bias).</summary>
        public string? Tensor(string suffix)
        {
            var tensor = Layer.Tensors.FirstOrDefault(t => t.Name.EndsWith(suffix, StringComparison.Ordinal));
            if (tensor is null) return null;
            Graph.Initializer(tensor.Name, tensor.Shape, values(tensor));
            return tensor.Name;
        }

        /// <summary>The layer's tensor whose name ends in <paramref name="suffix"/> and its raw values, without adding an
        /// initialiser (for a mapping that rearranges values, e.g. the recurrent gates); null when there is none.</summary>
        public (TensorInfo Tensor, ByteString Raw)? Raw(string suffix)
        {
            var tensor = Layer.Tensors.FirstOrDefault(t => t.Name.EndsWith(suffix, StringComparison.Ordinal));
            return tensor is null ? null : (tensor, values(tensor));
        }

        public string RequiredTensor(string suffix) => Tensor(suffix)
            ?? throw new InvalidOperationException($"layer {Layer.Name} ({Layer.Kind}) has no tensor named *{suffix} (it has {string.Join(", ", Layer.Tensors.Select(t => t.Name))}).");

        public int Int(params string[] names)
        {
            foreach (string name in names)
                if (Layer.Options.TryGetValue(name, out double v)) return checked((int)v);
            throw new InvalidOperationException($"layer {Layer.Name} ({Layer.Kind}) has none of the options {string.Join(", ", names)}.");
        }

        /// <summary>Checks that ONNX's output shape for this layer is NetGen's, so a mapping can never silently differ.</summary>
        public void ExpectShape(int[] onnxShape)
        {
            if (!onnxShape.SequenceEqual(Layer.OutputShape))
                throw new InvalidOperationException(
                    $"layer {Layer.Name} ({Layer.Kind}): the ONNX operator would give ({string.Join(", ", onnxShape)}) per sample, NetGen gives ({string.Join(", ", Layer.OutputShape)}).");
        }
    }

    /// <summary>One layer kind's ONNX mapping: adds its nodes and initialisers and returns the name of its output value.</summary>
    internal delegate string LayerMapping(LayerContext c);

    /// <summary>The mapping of every layer kind, one entry each (the generative kinds are in Onnx.Generative.cs, the
    /// sequence kinds in Onnx.Sequences.cs). A new kind is one more entry here.</summary>
    internal static readonly IReadOnlyDictionary<string, LayerMapping> Mappings = new Dictionary<string, LayerMapping>(StringComparer.Ordinal)
    {
        ["Dense"] = Dense,
        ["Conv2D"] = Conv2D,
        ["MaxPool"] = c => Pool(c, "MaxPool"),
        ["AvgPool"] = c => Pool(c, "AveragePool"),
        ["Flatten"] = c => c.Graph.Node("Flatten", [c.Input], c.Output, Attr.Int("axis", 1)),
        ["BatchNorm"] = BatchNorm,
        ["Dropout"] = c => c.Input,   // inference: the identity
        ["Step"] = Step,
        ["Sigmoid"] = c => c.Graph.Node("Sigmoid", [c.Input], c.Output),
        ["Tanh"] = c => c.Graph.Node("Tanh", [c.Input], c.Output),
        ["ReLU"] = c => c.Graph.Node("Relu", [c.Input], c.Output),
        ["LeakyReLU"] = c => c.Graph.Node("LeakyRelu", [c.Input], c.Output, Attr.Float("alpha", c.Layer.Option("Alpha", 0.01))),
        ["ELU"] = c => c.Graph.Node("Elu", [c.Input], c.Output, Attr.Float("alpha", c.Layer.Option("Alpha", 1.0))),
        ["SiLU"] = c => c.Graph.Node("Mul", [c.Input, c.Graph.Node("Sigmoid", [c.Input], c.Output + "_sigmoid")], c.Output),   // x·σ(x): opset 17 has no SiLU
        ["Softmax"] = Softmax,
        ["Identity"] = c => c.Graph.Node("Identity", [c.Input], c.Output),
        ["Reshape"] = Reshape,
        ["Upsample2D"] = Upsample2D,
        ["Conv2DTranspose"] = Conv2DTranspose,
        ["Sampling"] = Sampling,
        ["Embedding"] = Embedding,
        ["SimpleRNN"] = c => Recurrent(c, "RNN"),
        ["GRU"] = c => Recurrent(c, "GRU"),
        ["LSTM"] = c => Recurrent(c, "LSTM"),
    };

    /// <summary>Dense → Gemm(x, W, b, transB = 1): W is [out, in] as PyTorch's Linear. A Dense after a sequence runs at
    /// every step (T, F) → (T, n): MatMul(x, Transpose(W)) + b over the last axis, as PyTorch exports a Linear on [N, T, F].</summary>
    private static string Dense(LayerContext c)
    {
        string weights = c.RequiredTensor("Weights");
        string? bias = c.Tensor("Bias");
        if (c.Layer.InputShape.Length == 1)
            return c.Graph.Node("Gemm", bias is null ? [c.Input, weights] : [c.Input, weights, bias], c.Output, Attr.Int("transB", 1));
        if (c.Layer.InputShape.Length != 2)
            throw new NotSupportedException($"layer {c.Layer.Name} (Dense) on a ({string.Join(", ", c.Layer.InputShape)}) input has no ONNX mapping (NetGen applies Dense to a vector or to every step of a sequence).");
        string transposed = c.Graph.Node("Transpose", [weights], c.Output + "_weights_t", Attr.Ints("perm", 1, 0));
        if (bias is null) return c.Graph.Node("MatMul", [c.Input, transposed], c.Output);
        string product = c.Graph.Node("MatMul", [c.Input, transposed], c.Output + "_matmul");
        return c.Graph.Node("Add", [product, bias], c.Output);
    }

    /// <summary>Conv2D → Conv (cross-correlation, NCHW, W [F, C, kh, kw]); symmetric padding; a RoundDown layer's
    /// dropped border is ONNX's floor in the output size.</summary>
    private static string Conv2D(LayerContext c)
    {
        int kh = c.Int("KernelHeight", "Kernel"), kw = c.Int("KernelWidth", "Kernel"), s = c.Int("Stride");
        int ph = c.Int("PadHeight", "Padding"), pw = c.Int("PadWidth", "Padding");
        int[] x = c.Layer.InputShape;
        c.ExpectShape([c.Int("Filters"), (x[1] + 2 * ph - kh) / s + 1, (x[2] + 2 * pw - kw) / s + 1]);
        string weights = c.RequiredTensor("Weights");
        string? bias = c.Tensor("Bias");
        return c.Graph.Node("Conv", bias is null ? [c.Input, weights] : [c.Input, weights, bias], c.Output,
            Attr.Ints("kernel_shape", kh, kw), Attr.Ints("strides", s, s), Attr.Ints("pads", ph, pw, ph, pw), Attr.Ints("dilations", 1, 1), Attr.Int("group", 1));
    }

    /// <summary>MaxPool/AvgPool → MaxPool/AveragePool, no padding, ceil_mode 0: a window that does not tile the input
    /// is only accepted by NetGen with RoundDown, which drops the border rows and columns exactly as the floor does.</summary>
    private static string Pool(LayerContext c, string op)
    {
        int kh = c.Int("KernelHeight", "Size", "Kernel"), kw = c.Int("KernelWidth", "Size", "Kernel");
        int s = (int)c.Layer.Option("Stride", 0);
        if (s <= 0) s = kh;
        int[] x = c.Layer.InputShape;
        c.ExpectShape([x[0], (x[1] - kh) / s + 1, (x[2] - kw) / s + 1]);
        return c.Graph.Node(op, [c.Input], c.Output,
            Attr.Ints("kernel_shape", kh, kw), Attr.Ints("strides", s, s), Attr.Ints("pads", 0, 0, 0, 0), Attr.Int("ceil_mode", 0));
    }

    /// <summary>BatchNorm → BatchNormalization with the running statistics (inference), per channel of (C, H, W) or
    /// per feature of (F); ONNX's momentum is 1 − NetGen's (PyTorch's convention, which NetGen follows).</summary>
    private static string BatchNorm(LayerContext c)
    {
        string gamma = c.RequiredTensor("Gamma"), beta = c.RequiredTensor("Beta");
        string mean = c.RequiredTensor("RunningMean"), variance = c.RequiredTensor("RunningVariance");
        return c.Graph.Node("BatchNormalization", [c.Input, gamma, beta, mean, variance], c.Output,
            Attr.Float("epsilon", c.Layer.Option("Epsilon", 1e-5)), Attr.Float("momentum", 1 - c.Layer.Option("Momentum", 0.1)));
    }

    /// <summary>Step: y = x ≥ 0 ? 1 : 0 → Cast(GreaterOrEqual(x, 0)).</summary>
    private static string Step(LayerContext c)
    {
        string zero = c.Graph.Constant(c.Output + "_zero", c.Graph.ScalarZero());
        string mask = c.Graph.Node("GreaterOrEqual", [c.Input, zero], c.Output + "_mask");
        return c.Graph.Node("Cast", [mask], c.Output, Attr.Int("to", (long)c.Graph.ElementType));
    }

    /// <summary>Softmax over every value of a sample (NetGen's): one ONNX Softmax on [N, F]; a (C, H, W) sample is
    /// flattened first and reshaped back after. After a sequence (T, F) NetGen normalises each step: Softmax on the
    /// last axis of [N, T, F].</summary>
    private static string Softmax(LayerContext c)
    {
        if (c.Layer.InputShape.Length == 1) return c.Graph.Node("Softmax", [c.Input], c.Output, Attr.Int("axis", 1));
        if (c.Layer.InputShape.Length == 2) return c.Graph.Node("Softmax", [c.Input], c.Output, Attr.Int("axis", 2));
        string flat = c.Graph.Node("Flatten", [c.Input], c.Output + "_flat", Attr.Int("axis", 1));
        string soft = c.Graph.Node("Softmax", [flat], c.Output + "_softmax", Attr.Int("axis", 1));
        return c.Graph.Node("Reshape", [soft, c.Graph.ShapeConstant(c.Output + "_shape", c.Layer.OutputShape)], c.Output);
    }

    /// <summary>Attribute helpers.</summary>
    internal static class Attr
    {
        public static P.AttributeProto Int(string name, long value) =>
            new() { Name = name, Type = P.AttributeProto.Types.AttributeType.Int, I = value };

        public static P.AttributeProto Float(string name, double value) =>
            new() { Name = name, Type = P.AttributeProto.Types.AttributeType.Float, F = (float)value };

        public static P.AttributeProto String(string name, string value) =>
            new() { Name = name, Type = P.AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

        public static P.AttributeProto Strings(string name, params string[] values)
        {
            var a = new P.AttributeProto { Name = name, Type = P.AttributeProto.Types.AttributeType.Strings };
            a.Strings.Add(values.Select(ByteString.CopyFromUtf8));
            return a;
        }

        public static P.AttributeProto Ints(string name, params long[] values)
        {
            var a = new P.AttributeProto { Name = name, Type = P.AttributeProto.Types.AttributeType.Ints };
            a.Ints.Add(values);
            return a;
        }
    }

    /// <summary>Builds the graph: nodes in order, initialisers (the parameters only), constants as Constant nodes.</summary>
    internal sealed class GraphBuilder(P.TensorProto.Types.DataType elementType, string name)
    {
        public P.GraphProto Graph { get; } = new() { Name = name };

        public P.TensorProto.Types.DataType ElementType { get; } = elementType;

        public P.ValueInfoProto Value(string valueName, int[] perSample)
        {
            var shape = new P.TensorShapeProto();
            shape.Dim.Add(new P.TensorShapeProto.Types.Dimension { DimParam = BatchDimension });
            foreach (int d in perSample) shape.Dim.Add(new P.TensorShapeProto.Types.Dimension { DimValue = d });
            return new P.ValueInfoProto
            {
                Name = valueName,
                Type = new P.TypeProto { TensorType = new P.TypeProto.Types.Tensor { ElemType = (int)ElementType, Shape = shape } },
            };
        }

        public string Node(string op, string[] inputs, string output, params P.AttributeProto[] attributes)
        {
            var node = new P.NodeProto { OpType = op, Name = output + "/" + op };
            node.Input.Add(inputs);
            node.Output.Add(output);
            node.Attribute.Add(attributes);
            Graph.Node.Add(node);
            return output;
        }

        /// <summary>A node with several outputs; an empty name leaves that optional output out (ONNX's convention).</summary>
        public void Node(string op, string[] inputs, string[] outputs, params P.AttributeProto[] attributes)
        {
            var node = new P.NodeProto { OpType = op, Name = outputs.First(o => o.Length > 0) + "/" + op };
            node.Input.Add(inputs);
            node.Output.Add(outputs);
            node.Attribute.Add(attributes);
            Graph.Node.Add(node);
        }

        public void Initializer(string tensorName, int[] shape, ByteString raw)
        {
            var tensor = new P.TensorProto { Name = tensorName, DataType = (int)ElementType, RawData = raw };
            tensor.Dims.Add(shape.Select(d => (long)d));
            Graph.Initializer.Add(tensor);
        }

        /// <summary>A Constant node (not an initialiser, so the initialisers are exactly the network's tensors).</summary>
        public string Constant(string valueName, P.TensorProto value)
        {
            var node = new P.NodeProto { OpType = "Constant", Name = valueName + "/Constant" };
            node.Output.Add(valueName);
            node.Attribute.Add(new P.AttributeProto { Name = "value", Type = P.AttributeProto.Types.AttributeType.Tensor, T = value });
            Graph.Node.Add(node);
            return valueName;
        }

        public P.TensorProto ScalarZero()
        {
            var t = new P.TensorProto { DataType = (int)ElementType };
            if (ElementType == P.TensorProto.Types.DataType.Double) t.DoubleData.Add(0.0);
            else t.FloatData.Add(0f);
            return t;
        }

        public static P.TensorProto FloatTensor(float[] values)
        {
            var t = new P.TensorProto { DataType = (int)P.TensorProto.Types.DataType.Float };
            t.Dims.Add(values.Length);
            t.FloatData.Add(values);
            return t;
        }

        /// <summary>A Constant [N, …shape] reshape target with a free batch axis (−1).</summary>
        public string ShapeConstant(string valueName, IEnumerable<int> perSample) =>
            Constant(valueName, Int64Tensor([-1, .. perSample.Select(d => (long)d)]));

        public static P.TensorProto Int64Tensor(long[] values)
        {
            var t = new P.TensorProto { DataType = (int)P.TensorProto.Types.DataType.Int64 };
            t.Dims.Add(values.Length);
            t.Int64Data.Add(values);
            return t;
        }
    }
}
