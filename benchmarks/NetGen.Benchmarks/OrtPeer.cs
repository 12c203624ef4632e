using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace NetGen.Benchmarks;

/// <summary>
/// ONNX Runtime as the inference peer: every inference workload (<c>mlp-infer-b…</c>, <c>lenet-infer-b…</c>) runs the
/// same network with the same weights in ONNX Runtime's CPU provider. The NetGen network's parameters are written to a
/// file, loaded into the same PyTorch modules and exported with PyTorch's ONNX exporter (onnx_export.py); the session
/// runs with ORT_ENABLE_ALL and sequential execution, through an IOBinding over pinned input and output buffers (no
/// allocation per call), and is timed with the suite's policy (Harness.Measure). One thread: IntraOpNumThreads = 1;
/// the 2-thread line: ONNX Runtime's default thread count (IntraOpNumThreads = 0).
/// </summary>
public sealed class OrtPeer : IDisposable
{
    private readonly string _directory;
    private readonly Dictionary<string, string> _models = new();

    private OrtPeer(string directory) => _directory = directory;

    public static bool IsInference(string workload) => workload.StartsWith("mlp-infer-b", StringComparison.Ordinal) || workload.StartsWith("lenet-infer-b", StringComparison.Ordinal);

    /// <summary>Exports the models of the named inference workloads; null with the reason when that is not possible.</summary>
    public static (OrtPeer? Peer, string Reason) Create(string? python, IEnumerable<string> workloads)
    {
        var names = workloads.Where(IsInference).ToList();
        if (names.Count == 0) return (null, "no inference workload selected");
        if (python is null) return (null, "no Python with torch to export the ONNX models (see the pytorch line)");
        try { OrtEnv.Instance(); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or OnnxRuntimeException)
        {
            return (null, "ONNX Runtime's native library did not load: " + e.Message);
        }
        string dir = Path.Combine(Path.GetTempPath(), $"netgen-bench-onnx-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var peer = new OrtPeer(dir);
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "onnx_export.py"));
        info.ArgumentList.Add(dir);
        foreach (var name in names)
        {
            var (network, batch) = Parse(name);
            string parameters = Path.Combine(dir, $"{network}.params");
            if (!File.Exists(parameters)) File.WriteAllBytes(parameters, MemoryMarshal.AsBytes(Parameters(network)).ToArray());
            info.ArgumentList.Add($"{network}:{batch}:{parameters}");
            peer._models[name] = Path.Combine(dir, $"{network}-b{batch}.onnx");
        }
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || peer._models.Values.Any(m => !File.Exists(m)))
        {
            peer.Dispose();
            return (null, $"onnx_export.py failed ({process.ExitCode}): {stderr.Result.Trim()}");
        }
        return (peer, "");
    }

    private static (string Network, int Batch) Parse(string workload)
    {
        int b = workload.LastIndexOf("-b", StringComparison.Ordinal);
        return (workload[..workload.IndexOf('-', StringComparison.Ordinal)], int.Parse(workload[(b + 2)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The parameters of the workloads' networks (the default seed, as Workloads.Create builds them).</summary>
    private static float[] Parameters(string network) => network == "mlp" ? new Mlp(1).Parameters.ToArray() : new LeNet(1).Parameters.ToArray();

    /// <summary>One ONNX Runtime session of a workload, bound to its pinned input and output.</summary>
    public sealed class Session : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly OrtIoBinding _binding;
        private readonly RunOptions _run = new();
        private readonly OrtValue _input, _output;
        private readonly float[] _y;

        internal Session(string model, int threads, float[] x, long[] inputShape, int outputs, int batch)
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = threads,   // 0: ONNX Runtime's default (one per physical core)
                InterOpNumThreads = 1,
            };
            _session = new InferenceSession(model, options);
            float[] input = GC.AllocateArray<float>(x.Length, pinned: true);
            x.CopyTo(input, 0);
            _y = GC.AllocateArray<float>(batch * outputs, pinned: true);
            _input = OrtValue.CreateTensorValueFromMemory(input, inputShape);
            _output = OrtValue.CreateTensorValueFromMemory(_y, [batch, outputs]);
            _binding = _session.CreateIoBinding();
            _binding.BindInput("input", _input);
            _binding.BindOutput("output", _output);
            _binding.SynchronizeBoundInputs();
        }

        public void Step() => _session.RunWithBinding(_run, _binding);

        public ReadOnlySpan<float> Output => _y;

        public void Dispose()
        {
            _binding.Dispose();
            _input.Dispose();
            _output.Dispose();
            _run.Dispose();
            _session.Dispose();
        }
    }

    /// <summary>A session for the workload at a thread count (0: ONNX Runtime's default), on the workload's input.</summary>
    public Session Open(string workload, int threads)
    {
        var (network, batch) = Parse(workload);
        float[] x = Workloads.Data(batch * 784, 1);
        long[] shape = network == "mlp" ? [batch, 784] : [batch, 1, 28, 28];
        return new Session(_models[workload], threads, x, shape, 10, batch);
    }

    /// <summary>The largest |NetGen − ONNX Runtime| over the workload's outputs (the same input; probabilities).</summary>
    public static double MaxDifference(string workload, ReadOnlySpan<float> ortOutput)
    {
        var (network, batch) = Parse(workload);
        float[] x = Workloads.Data(batch * 784, 1);
        INetwork<float> net = network == "mlp" ? new Mlp(batch) : new LeNet(batch);
        net.Training = false;
        var y = net.Forward(x, batch);
        double max = 0;
        for (int i = 0; i < y.Length; i++) max = Math.Max(max, Math.Abs(y[i] - ortOutput[i]));
        return y.Length == ortOutput.Length ? max : double.NaN;
    }

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }
}
