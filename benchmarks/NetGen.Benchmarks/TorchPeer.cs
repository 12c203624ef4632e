using System.Diagnostics;
using System.Globalization;

namespace NetGen.Benchmarks;

/// <summary>Starts pytorch_peer.py with Debian's interpreter (python3-torch, OpenBLAS) at a thread count and reads its
/// medians. <see cref="Find"/> says why it cannot run when it cannot.</summary>
public static class TorchPeer
{
    public static string Script => Path.Combine(AppContext.BaseDirectory, "pytorch_peer.py");

    /// <summary>The interpreter with torch: NETGEN_BENCH_PYTHON, else /usr/bin/python3 (Debian's, where python3-torch
    /// installs), else python3 on PATH. Null with a reason when none imports torch.</summary>
    public static (string? Python, string Reason) Find()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("NETGEN_BENCH_PYTHON") is { Length: > 0 } configured) candidates.Add(configured);
        candidates.Add("/usr/bin/python3");
        candidates.Add("python3");
        foreach (var python in candidates)
        {
            try
            {
                var info = new ProcessStartInfo(python, "-c \"import torch\"") { RedirectStandardError = true, RedirectStandardOutput = true };
                using var process = Process.Start(info)!;
                process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode == 0) return (python, "");
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return (null, $"no Python with torch (tried {string.Join(", ", candidates)}); on Debian: apt-get install python3-torch libopenblas0-pthread");
    }

    /// <summary>Runs the workloads at <paramref name="threads"/> threads; returns name → (median, min) seconds, and the
    /// peer's info line.</summary>
    public static (Dictionary<string, (double Median, double Min)> Results, string Info) Run(string python, int threads, Policy policy,
        int epochSamples, IEnumerable<string> workloads, string? dataDirectory)
    {
        var args = new List<string>
        {
            Script, "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--warmup-seconds", policy.WarmupSeconds.ToString(CultureInfo.InvariantCulture),
            "--sample-seconds", policy.SampleSeconds.ToString(CultureInfo.InvariantCulture),
            "--samples", policy.Samples.ToString(CultureInfo.InvariantCulture),
            "--epoch-samples", epochSamples.ToString(CultureInfo.InvariantCulture),
        };
        if (dataDirectory is not null) { args.Add("--data"); args.Add(dataDirectory); }
        args.AddRange(workloads);
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        // The same thread count for every pool PyTorch may use: ATen's OpenMP, OpenBLAS's pthreads, MKL if present.
        foreach (var variable in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
            info.Environment[variable] = threads.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var results = new Dictionary<string, (double, double)>();
        string peerInfo = "";
        while (process.StandardOutput.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            if (parts[0] == "result")
                results[parts[1]] = (double.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture));
            else if (parts[0] == "info") peerInfo = line[5..];
        }
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"pytorch_peer.py failed ({process.ExitCode}): {stderr.Result}");
        return (results, peerInfo);
    }
}
