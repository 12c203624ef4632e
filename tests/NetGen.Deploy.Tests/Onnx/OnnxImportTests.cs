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
