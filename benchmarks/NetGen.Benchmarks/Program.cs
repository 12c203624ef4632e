using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using NetGen;
using NetGen.Benchmarks;

// NetGen's speed suite. See docs/benchmarks.md.
//   --quick        the whole suite in under 3 minutes (Stopwatch medians, same policy as the PyTorch peer)
//   (no option)    the reference: BenchmarkDotNet (MemoryDiagnoser) for every NetGen workload, then the peer with the
//                  full policy; ratios use BenchmarkDotNet's medians
//   --threads 1,2  thread counts (default 1 and 2)     --no-torch   skip the peers    --build-time   workload 6's builds
//   --no-ort       skip ONNX Runtime (the inference peer; its models are exported with PyTorch, so --no-torch skips it too)
//   --only NAME    one workload (repeatable)            --bdn ARGS   pass the rest to BenchmarkDotNet (full mode only)
//   --profile      where the GEMM layer's, the MLP's and LeNet-5's time goes (per pass and per layer); with --only
//                  lstm-infer-b1 that workload's pieces instead (NETGEN_PROFILE_LOOP=SECONDS then loops it, for perf);
//                  with --only dcgan the DCGAN step's (per network pass and per layer)
//   --smoke        CI's check that the suite starts and its workloads give the same results at 1 and 2 threads
//   --guard        the single-thread guard's cost on the worked example's step (BenchmarkDotNet, guarded vs unguarded)
//   --loop NAME S  runs workload NAME's step for S seconds at the first --threads count (for perf record and the like)
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick"), noTorch = args.Contains("--no-torch"), noOrt = args.Contains("--no-ort"), buildTime = args.Contains("--build-time");
int[] threadCounts = [1, 2];
var only = new List<string>();
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--threads") threadCounts = args[i + 1].Split(',').Select(int.Parse).ToArray();
    if (args[i] == "--only") only.Add(args[i + 1]);
}
var policy = quick ? Policy.Quick : Policy.Full;
int epochSamples = quick ? 1 : 3;
var total = Stopwatch.StartNew();
if (args.Contains("--profile")) { foreach (int t in threadCounts) Profile.Run(t, only); return 0; }
if (args.Contains("--smoke")) return Smoke();
int loopAt = Array.IndexOf(args, "--loop");
if (loopAt >= 0 && loopAt + 2 < args.Length)
{
    Parallelism.MaxThreads = threadCounts[0];
    var looped = Workloads.Create(args[loopAt + 1]);
    double seconds = double.Parse(args[loopAt + 2], CultureInfo.InvariantCulture);
    long steps = 0;
    var clock = Stopwatch.StartNew();
    bool counters = args.Contains("--counters");
    if (counters) { looped.Step(); SplitCounters.Reset(); SplitCounters.Enabled = true; }
    while (clock.Elapsed.TotalSeconds < seconds) { looped.Step(); steps++; }
    Console.WriteLine($"loop {looped.Name} {threadCounts[0]}t: {steps} steps, {Harness.Time(clock.Elapsed.TotalSeconds / steps)} per step, load average {LoadAverage()}");
    if (counters) PrintSplitCounters(steps);
    return 0;
}
if (args.Contains("--guard"))
{
    // The single-thread guard's cost on the worked example's step (docs/threading.md), under BenchmarkDotNet.
    GuardBenchmarks.Run(args);
    return 0;
}
string[] stepNames = only.Count > 0 ? Workloads.StepNames.Where(only.Contains).ToArray() : Workloads.StepNames;
bool epoch = only.Count == 0 || only.Contains(Workloads.EpochName);

Console.WriteLine($"NetGen benchmarks ({(quick ? "quick" : "full")}): {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, " +
                  $".NET {Environment.Version}, Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}, " +
                  $"Vector256 {(Vector256.IsHardwareAccelerated ? "accelerated" : "not accelerated")}, load average {LoadAverage()}");

var (python, torchReason) = noTorch ? (null, "--no-torch given") : TorchPeer.Find();
if (python is null) Console.WriteLine($"skip pytorch: {torchReason}; NetGen is measured alone and no ratio is printed");
var (ortPeer, ortReason) = noOrt ? (null, "--no-ort given") : OrtPeer.Create(python, stepNames);
if (ortPeer is null) Console.WriteLine($"skip onnxruntime: {ortReason}");
else Console.WriteLine($"peer onnxruntime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version}: models exported by PyTorch's exporter from NetGen's weights; ORT_ENABLE_ALL, IOBinding over pinned buffers; 1t = 1 intra-op thread, 2t = ONNX Runtime's default threads");

// ---- Peak ------------------------------------------------------------------------------------------------------
var peaks = new Dictionary<int, double>();
foreach (int t in threadCounts)
{
    var (gflops, width) = Peak.Measure(t, quick ? 0.6 : 3);
    peaks[t] = gflops;
    Console.WriteLine($"peak fp32-fma {t}t = {gflops:F1} GFLOP/s ({width}, register-resident loop, best of repeated runs)");
}

// ---- NetGen and PyTorch, thread count by thread count ------------------------------------------------------------
var netgen = new Dictionary<(string, int), Measurement>();
var torch = new Dictionary<(string, int), double>();
var ort = new Dictionary<(string, int), Measurement>();
var (epochData, epochSource) = epoch ? Workloads.EpochData() : (null, "");
Dictionary<(string, int), double>? bdnMedians = quick ? null : BdnSuite.Run(stepNames, threadCounts, args);
foreach (int t in threadCounts)
{
    NetGen.Parallelism.MaxThreads = t;
    foreach (var name in stepNames)
    {
        var workload = Workloads.Create(name);
        var m = Harness.Measure(workload.Step, policy);
        if (bdnMedians is not null && bdnMedians.TryGetValue((name, t), out double median)) m = m with { MedianSeconds = median };
        else if (bdnMedians is not null)
            Console.WriteLine($"note {name} {t}t: BenchmarkDotNet reported no result for this case (its build or run failed: see its log above); the NetGen median below is the Stopwatch harness's, not BenchmarkDotNet's");
        netgen[(name, t)] = m;
        Console.WriteLine($"time {name} {t}t netgen = {Harness.Time(m.MedianSeconds)} (min {Harness.Time(m.MinSeconds)}, thread cpu {Harness.Time(m.CpuSeconds)}, {m.CallsPerSample} calls/sample)");
        if (ortPeer is not null && OrtPeer.IsInference(name))
        {
            // Interleaved: ONNX Runtime right after NetGen on the same workload, so both meet the same moment's load.
            using var session = ortPeer.Open(name, t == 1 ? 1 : t == 2 ? 0 : t);
            var o = Harness.Measure(session.Step, policy);
            ort[(name, t)] = o;
            Console.WriteLine($"time {name} {t}t ort = {Harness.Time(o.MedianSeconds)} (min {Harness.Time(o.MinSeconds)}, thread cpu {Harness.Time(o.CpuSeconds)}, {o.AllocatedBytesPerCall} B/call)");
            if (t == threadCounts[0])
                Console.WriteLine($"check {name} ort vs netgen: max |difference| of the outputs = {OrtPeer.MaxDifference(name, session.Output):G3}");
        }
    }
    if (epoch && quick && t > 1)
        Console.WriteLine($"skip {Workloads.EpochName} {t}t: quick mode times the epoch at 1 thread only (both sides); the full run times every thread count");
    else if (epoch)
    {
        var workload = Workloads.Create(Workloads.EpochName);
        var warmupNet = new LeNet(64);
        var warmupData = epochData!.Subset(Enumerable.Range(0, 2048).ToArray());
        var m = Harness.MeasureOnce(() => Trainer.Fit(warmupNet, warmupData, 1, 64, new Sgd(0.01), verbose: 0), workload.Step, epochSamples);
        netgen[(Workloads.EpochName, t)] = m;
        Console.WriteLine($"time {Workloads.EpochName} {t}t netgen = {Harness.Time(m.MedianSeconds)} ({epochSource}, {epochData.Count} samples)");
    }
    if (python is not null)
    {
        var names = stepNames.Concat(epoch && !(quick && t > 1) ? [Workloads.EpochName] : []).ToArray();
        string? dir = epochSource == "fashion-mnist" ? NetGen.Data.Datasets.DebianFashionMnistDirectory : null;
        var (results, info) = TorchPeer.Run(python, t, policy, epochSamples, names, dir);
        Console.WriteLine($"peer {t}t: {info}");
        foreach (var (name, (med, _)) in results)
        {
            torch[(name, t)] = med;
            Console.WriteLine($"time {name} {t}t pytorch = {Harness.Time(med)}");
        }
    }
}

// ---- 2-thread scaling: 1 and 2 threads interleaved in one window ---------------------------------------------------
// The phases above time each thread count minutes apart (every workload and the peers run in between), so on a shared
// machine their ratio compares two different loads. The scaling target is timed on one network with 1- and 2-thread
// samples alternating (Harness.MeasureInterleaved), and is the ratio of the two medians.
string[] scalingNames = ["lenet-train-b64", "gemm1024-fwdbwd-b256"];
var scaling = new Dictionary<string, (Measurement One, Measurement Two)>();
var workerSlower = new Dictionary<string, double>();
double windowPeakShare = threadCounts.Contains(1) && threadCounts.Contains(2) ? peaks[2] / peaks[1] : double.NaN;
if (threadCounts.Contains(1) && threadCounts.Contains(2) && scalingNames.Any(stepNames.Contains))
{
    // Whether the second core is free now, in the scaling window (the peaks above were measured minutes ago).
    var (w1, _) = Peak.Measure(1, quick ? 0.3 : 1);
    var (w2, _) = Peak.Measure(2, quick ? 0.3 : 1);
    windowPeakShare = w2 / w1;
    Console.WriteLine($"peak fp32-fma in the scaling window: 1t = {w1:F1}, 2t = {w2:F1} GFLOP/s ({windowPeakShare:F2}×)");
}
if (threadCounts.Contains(1) && threadCounts.Contains(2))
    foreach (var name in scalingNames.Where(stepNames.Contains))
    {
        var workload = Workloads.Create(name);
        var (one, two) = Harness.MeasureInterleaved(workload.Step, () => Parallelism.MaxThreads = 1, () => Parallelism.MaxThreads = 2, policy);
        Parallelism.MaxThreads = threadCounts[^1];
        scaling[name] = (one, two);
        Console.WriteLine($"scaling {name} interleaved: 1t = {Harness.Time(one.MedianSeconds)} (min {Harness.Time(one.MinSeconds)}), 2t = {Harness.Time(two.MedianSeconds)} (min {Harness.Time(two.MinSeconds)}), " +
                          $"{one.CallsPerSample}/{two.CallsPerSample} calls/sample, load average {LoadAverage()}");
        if (WorkerChunkRatio(workload, quick ? 0.5 : 2) is { } slower)
        {
            workerSlower[name] = slower;
            Console.WriteLine($"threads {name}: the worker thread's sample chunks took {slower:F2}× the calling thread's (split counters, 2 threads, right after the scaling samples)");
        }
    }

// ---- Report ------------------------------------------------------------------------------------------------------
Console.WriteLine();
foreach (int t in threadCounts)
    foreach (var name in stepNames.Concat(epoch ? [Workloads.EpochName] : []))
    {
        if (!netgen.TryGetValue((name, t), out var m)) continue;
        if (torch.TryGetValue((name, t), out double p))
            Console.WriteLine($"ratio {name} {t}t pytorch/netgen = {p / m.MedianSeconds:F2}   (netgen {Harness.Time(m.MedianSeconds)}, pytorch {Harness.Time(p)})");
        else
            Console.WriteLine($"skip ratio {name} {t}t: PyTorch not measured ({torchReason})");
        if (ort.TryGetValue((name, t), out var o))
            Console.WriteLine($"ratio {name} {t}t ort/netgen = {o.MedianSeconds / m.MedianSeconds:F2}   (netgen {Harness.Time(m.MedianSeconds)}, ort {Harness.Time(o.MedianSeconds)}{(t == 1 ? ", 1 thread" : ", default threads")})");
    }
foreach (int t in threadCounts)
{
    if (!netgen.TryGetValue(("gemm1024-fwdbwd-b256", t), out var g)) continue;
    double gf = Workloads.GemmFlops / g.MedianSeconds / 1e9;
    string peer = torch.TryGetValue(("gemm1024-fwdbwd-b256", t), out double p) ? $"{Workloads.GemmFlops / p / 1e9:F1}" : "not measured";
    Console.WriteLine($"gflops gemm1024-fwdbwd-b256 {t}t netgen = {gf:F1} ({100 * gf / peaks[t]:F0}% of the {t}-core peak {peaks[t]:F1}) pytorch = {peer}");
}
foreach (int t in threadCounts)
    foreach (var name in stepNames.Concat(epoch ? [Workloads.EpochName] : []))
        if (netgen.TryGetValue((name, t), out var a))
            Console.WriteLine($"alloc {name} {t}t netgen = {a.AllocatedBytesPerCall} B/call{(name == Workloads.EpochName ? " (the epoch: Trainer.Fit's per-epoch bookkeeping, not the steps)" : "")}");
ortPeer?.Dispose();

// ---- Targets (issue 6), from the 1-thread medians ---------------------------------------------------------------------
void Target(string name, double minimum, string what)
{
    if (netgen.TryGetValue((name, 1), out var m) && torch.TryGetValue((name, 1), out double p))
        Console.WriteLine($"target {what}: {p / m.MedianSeconds:F2} (≥ {minimum}) {(p / m.MedianSeconds >= minimum ? "met" : "NOT met")}");
}
Target("worked-example-train-b1", 100, "worked-example step");
Target("mlp-train-b1", 20, "MLP training at batch 1");
Target("mlp-infer-b1", 5, "MLP inference at batch 1");
Target("lenet-infer-b1", 5, "LeNet inference at batch 1");
Target("mlp-train-b32", 2, "MLP training at batch 32");
Target("mlp-train-b128", 1.3, "MLP training at batch 128");
Target("lenet-train-b64", 3, "LeNet training at batch 64");
// Issue 13: recurrent networks (MNIST row by row, 128 units, T = 28).
Target("lstm-train-b64", 2, "LSTM training at batch 64");
Target("gru-train-b64", 2, "GRU training at batch 64");
Target("rnn-train-b64", 2, "SimpleRNN training at batch 64");
Target("lstm-infer-b1", 10, "LSTM inference at batch 1");
// Issue 15: the Module 4 YOLO network with its custom loss, and NMS against torchvision (no target set for NMS).
Target("yolo-train-b32", 2, "YOLO training at batch 32 (YoloLoss)");
Target("yolo-infer-b1", 2, "YOLO inference at batch 1");
// Issue 17: inference against ONNX Runtime, 1 thread against 1 thread, and NetGen's 2 threads against ORT's default.
foreach (int t in new[] { 1, 2 })
    foreach (var name in stepNames.Where(OrtPeer.IsInference))
        if (netgen.TryGetValue((name, t), out var m) && ort.TryGetValue((name, t), out var o))
        {
            double r = o.MedianSeconds / m.MedianSeconds;
            Console.WriteLine($"target {name} {(t == 1 ? "vs ONNX Runtime at 1 thread" : "at 2 threads vs ONNX Runtime's default threads")}: {r:F2} (≥ 1) {(r >= 1 ? "met" : "NOT met")}");
        }
if (netgen.TryGetValue(("gemm1024-fwdbwd-b256", 1), out var gemm1))
{
    double share = Workloads.GemmFlops / gemm1.MedianSeconds / 1e9 / peaks[1];
    Console.WriteLine($"target GEMM layer ≥ 60% of the 1-core peak: {100 * share:F0}% {(share >= 0.6 ? "met" : "NOT met")}");
}
if (netgen.Where(kv => kv.Key.Item1 != Workloads.EpochName).All(kv => kv.Value.AllocatedBytesPerCall == 0))
    Console.WriteLine("target 0 bytes allocated per training and inference step: met");
else Console.WriteLine("target 0 bytes allocated per training and inference step: NOT met (see the alloc lines)");
foreach (var name in scalingNames)
    if (scaling.TryGetValue(name, out var pair))
    {
        double ratio = pair.One.MedianSeconds / pair.Two.MedianSeconds;
        Console.WriteLine($"target 2 threads ≥ 1.6× 1-thread throughput on {name}: {ratio:F2} {(ratio >= 1.6 ? "met" : "NOT met")}" +
                          (windowPeakShare < 1.6 ? $" (this run's 2-core FMA peak is only {windowPeakShare:F2}× the 1-core peak: the second core is busy)"
                           : ratio < 1.6 && workerSlower.TryGetValue(name, out double slower) && slower >= 1.15
                               ? $" (the worker thread ran the same sample chunks {slower:F2}× slower than the calling thread: the two cores were not equally fast in this window)" : ""));
    }

// ---- Workload 6: the generator ---------------------------------------------------------------------------------------
if (only.Count == 0 || only.Contains("generator"))
{
    foreach (var (name, source) in GeneratorTiming.Declarations)
    {
        var (seconds, chars) = GeneratorTiming.Measure(source, quick ? 3 : 15);
        Console.WriteLine($"generator {name} = {Harness.Time(seconds)} ({chars} characters generated)");
    }
    if (buildTime)
    {
        string root = FindRoot();
        var times = GeneratorTiming.BuildTimes(root, "samples/Module3.Cnn/Module3.Cnn.csproj");
        Console.WriteLine(times is { } b
            ? $"build samples/Module3.Cnn cold (no compiler server, generator runs) = {b.Cold:F1} s, cached (up to date) = {b.Cached:F1} s"
            : "skip build-time: samples/Module3.Cnn not found");
    }
    else Console.WriteLine("skip build-time: not asked for (--build-time builds samples/Module3.Cnn twice, about a minute)");
}
Console.WriteLine($"done in {total.Elapsed.TotalSeconds:F0} s, load average {LoadAverage()}");
return 0;

// `--smoke` (for CI, seconds): every step workload runs twice at 1 and at 2 threads and must give the same, finite
// result (bit-identical for the MLPs, the GEMM layer, inference and NMS, whose kernels split outputs; to 1e-4 for LeNet
// and YOLO training, whose convolution weight gradients are summed per thread); the generator runs on each declaration. Exit code 1 on any failure.
static int Smoke()
{
    int failures = 0;
    // Which kernels ran: the generated kernels hand over to their Vector512 twins where it is accelerated (a test runs
    // --smoke again with AVX-512 disabled and compares the two paths).
    Console.WriteLine($"smoke vector512 {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}");
    foreach (var name in Workloads.StepNames)
    {
        double[] results = new double[2];
        for (int t = 1; t <= 2; t++)
        {
            Parallelism.MaxThreads = t;
            var w = Workloads.Create(name);
            w.Step();
            w.Step();
            results[t - 1] = w.Check();
        }
        Parallelism.MaxThreads = 1;
        bool exact = !name.StartsWith("lenet", StringComparison.Ordinal) && !name.StartsWith("vae", StringComparison.Ordinal) && !name.StartsWith("dcgan", StringComparison.Ordinal) && !name.StartsWith("yolo-train", StringComparison.Ordinal);
        bool ok = double.IsFinite(results[0]) && (exact ? results[0] == results[1] : Math.Abs(results[0] - results[1]) <= 1e-4 * Math.Max(1, Math.Abs(results[0])));
        if (!ok) failures++;
        Console.WriteLine($"smoke {name}: 1t {results[0]:R}, 2t {results[1]:R} {(ok ? "ok" : "FAILED")}");
    }
    foreach (var (name, source) in GeneratorTiming.Declarations)
        Console.WriteLine($"smoke generator {name}: {GeneratorTiming.RunOnce(source)} characters ok");
    Console.WriteLine(failures == 0 ? "smoke passed" : $"smoke FAILED: {failures} workload(s)");
    return failures == 0 ? 0 : 1;
}

static string LoadAverage()
{
    try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
    catch (IOException) { return "unknown"; }
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "NetGen.sln"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}

// `--loop NAME S --counters`: per operation of the pool, per step: splits, each slot's parts and time in them, the
// caller's wait for the workers' last parts, and the share of parts that ran on another thread than last time.
// How much slower the worker thread runs the same sample chunks than the calling thread, at 2 threads: the split
// counters' time per part of every split into sample chunks (equal parts), the worker's parts against the caller's
// time per part of the same operation. Null when the workload has no such split or the worker ran none.
static double? WorkerChunkRatio(Workload workload, double seconds)
{
    if (Parallelism.MaxSampleParts < 2) return null;
    int before = Parallelism.MaxThreads;
    Parallelism.MaxThreads = 2;
    try
    {
        workload.Step();
        SplitCounters.Reset();
        SplitCounters.Enabled = true;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds) workload.Step();
        SplitCounters.Enabled = false;
        int slots = Parallelism.MaxSampleParts;
        double workerTicks = 0, atCallerSpeed = 0;
        for (int op = 0; op < SplitCounters.Ops; op++)
        {
            long splits = SplitCounters.Splits[op], caller = SplitCounters.PartsRun[op * slots], worker = SplitCounters.PartsRun[op * slots + 1];
            if (splits == 0 || caller == 0 || worker == 0 || caller + worker < 4 * splits) continue;   // sample chunks: 4 or more equal parts a split
            workerTicks += SplitCounters.PartTicks[op * slots + 1];
            atCallerSpeed += worker * (SplitCounters.PartTicks[op * slots] / (double)caller);
        }
        return atCallerSpeed > 0 ? workerTicks / atCallerSpeed : null;
    }
    finally
    {
        SplitCounters.Enabled = false;
        SplitCounters.Reset();
        Parallelism.MaxThreads = before;
    }
}

static void PrintSplitCounters(long steps)
{
    SplitCounters.Enabled = false;
    int slots = Parallelism.MaxSampleParts;
    double us = 1e6 / Stopwatch.Frequency;
    double work = 0, wait = 0;
    for (int op = 0; op < SplitCounters.Ops; op++)
    {
        long pooled = SplitCounters.Splits[op], splits = pooled + SplitCounters.InlineSplits[op];
        if (splits == 0) continue;
        var perSlot = Enumerable.Range(0, slots).Select(s =>
            $"slot {s}: {(double)SplitCounters.PartsRun[op * slots + s] / splits:F2} parts {SplitCounters.PartTicks[op * slots + s] * us / steps:F1} µs");
        long parts = Enumerable.Range(0, slots).Sum(s => SplitCounters.PartsRun[op * slots + s]);
        work += Enumerable.Range(0, slots).Sum(s => SplitCounters.PartTicks[op * slots + s]) * us / steps;
        wait += SplitCounters.WaitTicks[op] * us / steps;
        Console.WriteLine($"counters op {op}: {(double)splits / steps:F2} splits/step ({100.0 * pooled / splits:F0}% on the pool), {string.Join(", ", perSlot)}, caller wait {SplitCounters.WaitTicks[op] * us / steps:F1} µs/step, " +
                          $"moved vs same op {100.0 * SplitCounters.MovedSinceSameOp[op] / parts:F0}%, vs previous split {100.0 * SplitCounters.MovedSincePrevious[op] / parts:F0}%");
    }
    Console.WriteLine($"counters total per step: {work:F1} µs in parts (all threads), {wait:F1} µs caller wait");
}
