using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using NetGen.Deploy.Tests.Infrastructure;
using Xunit.Abstractions;
using P = global::Onnx;

namespace NetGen.Deploy.Tests.Onnx;

/// <summary>
/// Every exported network runs in ONNX Runtime and gives NetGen's outputs: the snapshot networks, every course
/// network and <see cref="ExportCases.RandomCount"/> random ones, each on a random batch, to 1e-5 of the largest
/// output. And ONNX's own checker accepts every file.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper log)
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> Groups => new() { "snapshot", "course", "random" };

    [Theory]
    [MemberData(nameof(Groups))]
    public void OnnxRuntimeGivesNetGensOutputs(string group)
    {
        var cases = group switch { "snapshot" => ExportCases.Snapshot(), "course" => ExportCases.Course(), _ => ExportCases.Random() };
        var failures = new List<string>();
        double worst = 0;
        int count = 0;
        foreach (var c in cases)
        {
            count++;
            try
            {
                var (diff, max, values) = c.Compare(batch: 3, seed: 7 + count);
                double relative = diff / Math.Max(max, 1e-30);
                worst = Math.Max(worst, relative);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Name,-36} {c.Precision + (c.RanAsFloat ? " (run in ORT as float32: no double kernel for one of its operators)" : ""),-6} {values,6} values  max |Δ| {diff:E2}  max |y| {max:E2}  relative {relative:E2}"));
                if (!(relative <= Tolerance)) failures.Add($"{c.Name}: max |Δ| {diff:E3} relative {relative:E3}");
            }
            catch (Exception e) when (e is OnnxRuntimeException or NotSupportedException or InvalidOperationException)
            {
                failures.Add($"{c.Name}: {e.GetType().Name}: {e.Message}");
            }
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{group}: {count} networks, largest relative difference {worst:E2}"));
        Assert.True(count >= (group == "random" ? 20 : 5), $"only {count} {group} networks");
        if (group == "random")
        {
            // The random networks cover every layer kind, activation and window option the export maps.
            foreach (string feature in new[] { "[Conv2D(", "[MaxPool(", "[AvgPool(", "[Flatten]", "[BatchNorm", "[Dropout(", "[Step]", "[Sigmoid]", "Tanh]", "[ReLU]",
                "LeakyReLU(", "Softmax]", "Identity]", "RoundDown = true", "Bias = false", "Padding.Same", "Padding = 1", "KernelHeight =", "Stride = 2", "Precision.Double",
                "[Embedding(", "[SimpleRNN(", "RecurrentActivation.ReLU", "[GRU(", "[LSTM(", "ReturnSequences = true", "Bidirectional = true",
                "[Reshape(", "[Conv2DTranspose(", "OutputPadding =", "[Upsample2D(", "UpsampleMode.Bilinear", "[Sampling]" })
                Assert.True(ExportCases.Declarations.Contains(feature, StringComparison.Ordinal), $"no random network has {feature}:\n{ExportCases.Declarations}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures) + (group == "random" ? "\n" + ExportCases.Declarations : ""));
    }

    /// <summary>Every reference network exports (every layer kind has a mapping), and what the export cannot write
    /// is refused by name with the fix, nothing written: a Sampling layer asked to sample in inference (ONNX cannot
    /// draw NetGen's ε).</summary>
    [Fact]
    public void EveryReferenceNetworkExports_AndSamplingInInferenceIsRefusedByName()
    {
        Assert.Empty(ExportCases.NotExportable());
        Assert.Contains(ExportCases.Snapshot(), c => c.Name == "snapshot/CharLstm");

        var encoder = new Module6.Generative.VaeEncoder2();
        Assert.NotEmpty(NetGen.Onnx.ToBytes(encoder));
        encoder.Sampling1SampleInInference = true;
        string dir = Directory.CreateTempSubdirectory("netgen-onnx-").FullName;
        try
        {
            string path = Path.Combine(dir, "encoder.onnx");
            var e = Assert.Throws<NotSupportedException>(() => NetGen.Onnx.Export(encoder, path));
            Assert.Contains("Sampling1", e.Message);
            Assert.Contains("SampleInInference = true", e.Message);
            Assert.Contains("set it to false", e.Message);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The recurrent gates are written in ONNX's order with the input and recurrent biases side by side:
    /// an LSTM's W is [1, 4·H, F] holding NetGen's (PyTorch's) i, f, g, o blocks as ONNX's i, o, f, c.</summary>
    [Fact]
    public void RecurrentGatesAreWrittenInOnnxOrder()
    {
        var net = new NetGen.Tests.Networks.RowLstm();
        var lstm = net.Layers.Single(l => l.Kind == "LSTM");
        var model = P.ModelProto.Parser.ParseFrom(NetGen.Onnx.ToBytes(net));
        var node = model.Graph.Node.Single(n => n.OpType == "LSTM");
        var w = model.Graph.Initializer.Single(i => i.Name == node.Input[1]);
        var weightIh = lstm.Tensors.Single(t => t.Name.EndsWith("WeightIh", StringComparison.Ordinal));
        int h = (int)lstm.Option("Units"), f = lstm.InputShape[1];
        Assert.Equal([1L, 4L * h, f], w.Dims);
        var written = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(w.RawData.Span);
        var mine = net.Parameters.Slice(weightIh.Offset, weightIh.Length);
        int[] from = [0, 3, 1, 2];   // ONNX block g holds NetGen block from[g]
        for (int g = 0; g < 4; g++)
            Assert.True(written.Slice(g * h * f, h * f).SequenceEqual(mine.Slice(from[g] * h * f, h * f)), $"ONNX gate block {g}");
        var b = model.Graph.Initializer.Single(i => i.Name == node.Input[3]);
        Assert.Equal([1L, 8L * h], b.Dims);
        Assert.Equal(h, node.Attribute.Single(a => a.Name == "hidden_size").I);
    }

    [PythonFact("onnx", "python3-onnx")]
    public void OnnxCheckerAcceptsEveryExportedModel()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-onnx-check-").FullName;
        try
        {
            int count = 0;
            foreach (var c in ExportCases.All())
            {
                File.WriteAllBytes(Path.Combine(dir, c.Name.Replace('/', '_') + ".onnx"), c.Export());
                count++;
            }
            var (code, stdout, stderr) = Python.Run(Python.With("onnx")!, [Path.Combine(AppContext.BaseDirectory, "Onnx", "onnx_check.py"), dir], TimeSpan.FromMinutes(3));
            log.WriteLine(stdout + stderr);
            Assert.Equal(0, code);
            Assert.Contains($"checked {count}, failed 0", stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ModelCarriesOpsetBatchAxisNamesAndMetadata()
    {
        var net = new NetGen.Tests.Networks.LeNet();
        var model = P.ModelProto.Parser.ParseFrom(NetGen.Onnx.ToBytes(net));
        Assert.Equal(17, Assert.Single(model.OpsetImport).Version);
        Assert.Equal(8, model.IrVersion);
        Assert.Equal("NetGen", model.ProducerName);
        var metadata = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("LeNet", metadata["netgen.network"]);
        Assert.Equal(NetGen.Onnx.NetGenVersion, metadata["netgen.version"]);
        Assert.False(string.IsNullOrEmpty(NetGen.Onnx.NetGenVersion));
        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(["batch", "1", "28", "28"], input.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(CultureInfo.InvariantCulture)));
        var output = Assert.Single(model.Graph.Output);
        Assert.Equal("output", output.Name);
        Assert.Equal(["batch", "10"], output.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"], model.Graph.Node.Select(n => n.OpType));
        // The initialisers are exactly the network's tensors, in order, named as its views.
        Assert.Equal(net.Tensors.Select(t => t.Name), model.Graph.Initializer.Select(i => i.Name));
    }

    [Fact]
    public void DropoutIsDroppedAndBatchNormUsesRunningStatistics()
    {
        var net = new NetGen.Tests.Networks.MiniVggNet();
        var model = P.ModelProto.Parser.ParseFrom(NetGen.Onnx.ToBytes(net));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Dropout");
        var bn = model.Graph.Node.Where(n => n.OpType == "BatchNormalization").ToList();
        Assert.Equal(5, bn.Count);
        string[] suffixes = ["Gamma", "Beta", "RunningMean", "RunningVariance"];
        Assert.All(bn, n => Assert.All(suffixes.Select((suffix, k) => (suffix, n.Input[k + 1])), p => Assert.EndsWith(p.suffix, p.Item2)));
    }

    [Fact]
    public void BatchSizesOtherThanTheExportedOneRun()
    {
        // The batch axis is symbolic: one file serves any batch.
        var c = ExportCases.Snapshot().Single(x => x.Name.EndsWith("/LeNet", StringComparison.Ordinal));
        foreach (int batch in new[] { 1, 4 })
        {
            var (diff, max, _) = c.Compare(batch, seed: batch);
            Assert.True(diff <= Tolerance * max, $"batch {batch}: {diff}");
        }
    }

    [Fact]
    public void ExportWritesTheFileAtomically()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-onnx-").FullName;
        try
        {
            var net = new NetGen.Tests.Networks.DigitsMlp();
            string path = Path.Combine(dir, "sub", "digits.onnx");
            NetGen.Onnx.Export(net, path);
            Assert.Equal(NetGen.Onnx.ToBytes(net), File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "sub")));   // no temporary file left
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
