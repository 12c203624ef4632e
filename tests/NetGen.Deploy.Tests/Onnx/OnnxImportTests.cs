using System.Globalization;
using System.Text.Json;
using NetGen.Deploy.Tests.Infrastructure;
using Google.Protobuf;
using Xunit.Abstractions;
using P = global::Onnx;
using LeNet = NetGen.Tests.Networks.LeNet;

namespace NetGen.Deploy.Tests.Onnx;

/// <summary>Onnx.LoadWeights: NetGen's own files round-trip, PyTorch's LeNet runs in NetGen, and a file of another
/// architecture is rejected by name with the network untouched.</summary>
public sealed class OnnxImportTests(ITestOutputHelper log)
{
    [Fact]
    public void ExportedWeightsAndStateLoadBackExactly()
    {
        foreach (var c in new ExportCase[] { ExportCases.Snapshot().Single(x => x.Name == "snapshot/MiniVggNet"), ExportCases.Snapshot().Single(x => x.Name == "snapshot/LeNet") })
        {
            var source = ((ExportCase<float>)c).Network(seed: 3);
            string path = Temp(c.Name.Replace('/', '_') + ".onnx");
            NetGen.Onnx.Export(source, path);
            var target = (INetwork<float>)Activator.CreateInstance(source.GetType(), 1, 99)!;
            Assert.NotEqual(source.Parameters.ToArray(), target.Parameters.ToArray());
            var info = NetGen.Onnx.LoadWeights(target, path);
            Assert.Equal(source.Parameters.ToArray(), target.Parameters.ToArray());
            Assert.Equal(source.State.ToArray(), target.State.ToArray());
            Assert.Equal("NetGen", info.ProducerName);
            Assert.Equal(17, info.OpsetVersion);
            Assert.Equal(source.Tensors.Count, info.Initializers);
            Assert.False(info.Converted);
            Assert.Equal(source.GetType().Name, info.Metadata["netgen.network"]);
        }
    }

    /// <summary>The recurrent layers round-trip too: the export writes W, R, B in ONNX's gate order, the import splits
    /// them back into NetGen's per-direction tensors in NetGen's order (a GRU feeding a bidirectional ReLU RNN in
    /// float; an Embedding and a bidirectional LSTM in double).</summary>
    [Fact]
    public void RecurrentWeightsLoadBackExactly()
    {
        RoundTrip((ExportCase<float>)ExportCases.Snapshot().Single(x => x.Name == "snapshot/StackedBiRnn"));
        RoundTrip((ExportCase<double>)ExportCases.Snapshot().Single(x => x.Name == "snapshot/CharLstm"));

        static void RoundTrip<T>(ExportCase<T> c) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var source = c.Network(seed: 5);
            string path = Temp(c.Name.Replace('/', '_') + ".onnx");
            NetGen.Onnx.Export(source, path);
            var target = (INetwork<T>)Activator.CreateInstance(source.GetType(), 1, 99)!;
            Assert.NotEqual(source.Parameters.ToArray(), target.Parameters.ToArray());
            var info = NetGen.Onnx.LoadWeights(target, path);
            Assert.Equal(source.Parameters.ToArray(), target.Parameters.ToArray());
            Assert.Equal(source.Tensors.Count, info.Initializers);
            Assert.False(info.Converted);
        }
    }

    /// <summary>A GRU whose file applies the reset gate before the recurrent product (ONNX's default,
    /// linear_before_reset = 0) is another cell than NetGen's: refused by name, the weights untouched.</summary>
    [Fact]
    public void AGruWithTheResetGateBeforeTheProductIsRejected()
    {
        var net = new NetGen.Tests.Networks.StackedBiRnn();
        var model = P.ModelProto.Parser.ParseFrom(NetGen.Onnx.ToBytes(net));
        model.Graph.Node.Single(n => n.OpType == "GRU").Attribute.Single(a => a.Name == "linear_before_reset").I = 0;
        string path = Temp("gru-reset-before.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var target = new NetGen.Tests.Networks.StackedBiRnn(1, 99);
        var before = target.Parameters.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => NetGen.Onnx.LoadWeights(target, path));
        Assert.Contains("linear_before_reset = 0", e.Message);
        Assert.Equal(before, target.Parameters.ToArray());
    }

    [Fact]
    public void AnotherArchitectureIsRejectedByNameAndTheWeightsAreUntouched()
    {
        string path = Temp("shallow.onnx");
        NetGen.Onnx.Export(new NetGen.Tests.Networks.ShallowNet(), path);
        var net = new LeNet();
        float[] before = net.Parameters.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => NetGen.Onnx.LoadWeights(net, path));
        log.WriteLine(e.Message);
        Assert.Contains("initialiser #1 'Conv2D1Weights'", e.Message);
        Assert.Contains("[32, 1, 3, 3]", e.Message);
        Assert.Contains("LeNet's tensor #1 'Conv2D1Weights' is [6, 1, 5, 5]", e.Message);
        Assert.Equal(before, net.Parameters.ToArray());

        // A late mismatch: everything up to the last layer matches, then the file has fewer classes.
        string mlp = Temp("digits.onnx");
        NetGen.Onnx.Export(new NetGen.Tests.Networks.DigitsMlp(), mlp);
        var lenet = new LeNet();
        var other = Assert.Throws<InvalidDataException>(() => NetGen.Onnx.LoadWeights(lenet, mlp));
        Assert.Contains("its input 'input' has 64 values per sample", other.Message);
    }

    [Fact]
    public void PoolingWindowsAreCheckedAndCeilModeIsAcceptedOnlyWhereTheWindowsTile()
    {
        var source = new LeNet();
        var model = P.ModelProto.Parser.ParseFrom(NetGen.Onnx.ToBytes(source));
        var pool = model.Graph.Node.First(n => n.OpType == "MaxPool");
        // LeNet's pools tile their inputs (28 -> 14, 10 -> 5): ceil_mode = 1 (PyTorch's ceil_mode=True) gives the same.
        pool.Attribute.Single(a => a.Name == "ceil_mode").I = 1;
        string tiled = Temp("ceil.onnx");
        File.WriteAllBytes(tiled, P.ModelProto.Parser.ParseFrom(model.ToByteArray()).ToByteArray());
        NetGen.Onnx.LoadWeights(new LeNet(), tiled);

        pool.Attribute.Single(a => a.Name == "kernel_shape").Ints[0] = 3;
        string other = Temp("kernel3.onnx");
        File.WriteAllBytes(other, model.ToByteArray());
        var net = new LeNet(seed: 5);
        float[] before = net.Parameters.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => NetGen.Onnx.LoadWeights(net, other));
        log.WriteLine(e.Message);
        Assert.Contains("has kernel [3, 2], LeNet's MaxPool1 has 2×2", e.Message);
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void AFileThatIsNotOnnxIsRejected()
    {
        string path = Temp("not.onnx");
        File.WriteAllText(path, "this is not a protobuf message, just text\n");
        var net = new LeNet();
        float[] before = net.Parameters.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => NetGen.Onnx.LoadWeights(net, path));
        log.WriteLine(e.Message);
        Assert.Contains("'not.onnx' cannot be loaded", e.Message);
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [PythonFact("torch", "python3-torch python3-onnx")]
    public void LeNetTrainedInPyTorchPredictsTheSameInNetGen()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-torch-lenet-").FullName;
        try
        {
            var all = NetGen.Data.Datasets.MnistSample<float>();
            const int trainCount = 2000, testStart = 8000, testCount = 500;
            WriteFloats(Path.Combine(dir, "train_x.f32"), all.AllFeatures[..(trainCount * 784)]);
            using (var labels = new BinaryWriter(File.Create(Path.Combine(dir, "train_y.i32"))))
                for (int i = 0; i < trainCount; i++) labels.Write(all.Label(i));
            WriteFloats(Path.Combine(dir, "test_x.f32"), all.AllFeatures.Slice(testStart * 784, testCount * 784));

            var (code, stdout, stderr) = Python.Run(Python.With("torch")!, [Path.Combine(AppContext.BaseDirectory, "Onnx", "torch_lenet.py"), dir], TimeSpan.FromMinutes(4));
            log.WriteLine(stdout + stderr);
            Assert.True(code == 0, stdout + stderr);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "torch.json")));
            int[] torchPredictions = [.. json.RootElement.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32())];
            double[] torchProbabilities = [.. json.RootElement.GetProperty("probabilities").EnumerateArray().Select(e => e.GetDouble())];

            var net = new LeNet(maxBatch: 100);
            var info = NetGen.Onnx.LoadWeights(net, Path.Combine(dir, "lenet.onnx"));
            Assert.Equal("pytorch", info.ProducerName);
            Assert.Equal(10, info.Initializers);
            net.Training = false;
            int agree = 0, correct = 0;
            double maxDiff = 0;
            for (int start = 0; start < testCount; start += 100)
            {
                var output = net.Forward(all.AllFeatures.Slice((testStart + start) * 784, 100 * 784), 100);
                for (int i = 0; i < 100; i++)
                {
                    int best = 0;
                    for (int k = 1; k < 10; k++) if (output[i * 10 + k] > output[i * 10 + best]) best = k;
                    if (best == torchPredictions[start + i]) agree++;
                    if (best == all.Label(testStart + start + i)) correct++;
                    for (int k = 0; k < 10; k++) maxDiff = Math.Max(maxDiff, Math.Abs(output[i * 10 + k] - torchProbabilities[(start + i) * 10 + k]));
                }
            }
            string report = string.Create(CultureInfo.InvariantCulture,
                $"PyTorch LeNet (1 epoch on {trainCount} digits, {info.ProducerName} {info.ProducerVersion}, opset {info.OpsetVersion}) in NetGen: {agree}/{testCount} predictions agree, max |Δp| {maxDiff:E2}, accuracy {correct / (double)testCount:0.000}");
            log.WriteLine(report);
            Console.WriteLine(report);
            Assert.Equal(testCount, agree);
            Assert.True(maxDiff < 1e-4, report);
            Assert.True(correct > 0.8 * testCount, report);   // it did learn: the agreement is not that of two constant nets
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>PyTorch's own exporter writes an LSTM, a GRU and a bidirectional ReLU RNN (its gate order converted to
    /// ONNX's, time-major); NetGen loads each file into the same architecture and gives PyTorch's outputs.</summary>
    [PythonFact("torch", "python3-torch python3-onnx")]
    public void RecurrentModelsExportedByPyTorchRunTheSameInNetGen()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-torch-recurrent-").FullName;
        try
        {
            const int batch = 5;
            var random = new SeededRandom(11);
            float[] Inputs(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(2 * random.NextDouble() - 1))];
            float[] rowX = Inputs(batch * 28 * 28), stackedX = Inputs(batch * 6 * 3);
            WriteFloats(Path.Combine(dir, "row_lstm_x.f32"), rowX);
            WriteFloats(Path.Combine(dir, "stacked_bi_rnn_x.f32"), stackedX);
            var (code, stdout, stderr) = Python.Run(Python.With("torch")!, [Path.Combine(AppContext.BaseDirectory, "Onnx", "torch_recurrent.py"), dir], TimeSpan.FromMinutes(3));
            log.WriteLine(stdout + stderr);
            Assert.True(code == 0, stdout + stderr);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "torch.json")));

            void Check(INetwork<float> net, string name, float[] x)
            {
                double[] expected = [.. json.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetDouble())];
                var info = NetGen.Onnx.LoadWeights(net, Path.Combine(dir, name + ".onnx"));
                Assert.Equal("pytorch", info.ProducerName);
                Assert.Equal(net.Tensors.Count, info.Initializers);
                net.Training = false;
                var output = net.Forward(x, batch).ToArray();
                Assert.Equal(expected.Length, output.Length);
                double maxDiff = expected.Select((v, i) => Math.Abs(v - output[i])).Max(), largest = expected.Max(Math.Abs);
                string report = string.Create(CultureInfo.InvariantCulture, $"{name} (PyTorch {json.RootElement.GetProperty("torch").GetString()}) in NetGen: {output.Length} outputs, max |Δ| {maxDiff:E2}, max |y| {largest:E2}");
                log.WriteLine(report);
                Assert.True(maxDiff <= 1e-5 * Math.Max(1, largest), report);
            }
            Check(new NetGen.Tests.Networks.RowLstm(batch, 1), "row_lstm", rowX);
            Check(new NetGen.Tests.Networks.StackedBiRnn(batch, 1), "stacked_bi_rnn", stackedX);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void WriteFloats(string path, ReadOnlySpan<float> values)
    {
        using var stream = File.Create(path);
        stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
    }

    private static string Temp(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "netgen-onnx-import-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
