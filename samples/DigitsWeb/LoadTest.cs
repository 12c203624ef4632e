using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using NetGen.Data;

namespace DigitsWeb;

/// <summary>
/// A bounded load test on loopback: starts the server in this process on 127.0.0.1 (a free port), then N clients each
/// post real MNIST digits back to back for the given time. Prints requests per second, p50/p90/p99 latency, the error
/// count and the process's managed heap and working set at the start, five times during the run and at the end (to see that memory stays
/// flat). Exit code 1 when any request failed.
/// </summary>
public static class LoadTest
{
    public static async Task<int> RunAsync(string[] args, TextWriter o)
    {
        int clients = Option(args, "--clients", 64), seconds = Option(args, "--seconds", 30);
        if (clients is < 1 or > 1024 || seconds is < 1 or > 600)
        {
            o.WriteLine("loadtest: --clients 1..1024 and --seconds 1..600");
            return 2;
        }
        var app = DigitsServer.Build(["--urls", "http://127.0.0.1:0"]);
        await app.StartAsync();
        try
        {
            var url = new Uri(app.Urls.First());
            if (!IPAddress.IsLoopback(IPAddress.Parse(url.Host))) throw new InvalidOperationException("the load test only targets loopback");
            var digits = Datasets.MnistSample<float>(200);
            var bodies = Enumerable.Range(0, digits.Count).Select(i =>
                "{\"pixels\":[" + string.Join(",", digits.Features(i).ToArray().Select(v => v.ToString("0.###", CultureInfo.InvariantCulture))) + "]}").ToArray();
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
            using var http = new HttpClient(handler) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };

            // Warm-up: JIT, connections, one network per client in the pool.
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Post(http, bodies[c % bodies.Length])));
            o.WriteLine($"loadtest: {clients} clients for {seconds} s against {url} (POST /api/classify, MNIST digits)");
            var memory = new List<string> { Memory("start") };
            var latencies = new List<double>[clients];
            int errors = 0;
            var clock = Stopwatch.StartNew();
            var end = TimeSpan.FromSeconds(seconds);
            // Six samples of the live heap (after a full collection) and the working set while the load runs.
            var sampler = Task.Run(async () =>
            {
                for (int k = 1; k <= 5; k++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(seconds / 6.0));
                    lock (memory) memory.Add(Memory($"{clock.Elapsed.TotalSeconds:F0} s"));
                }
            });
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                var mine = latencies[c] = new List<double>(1 << 16);
                int k = c;
                while (clock.Elapsed < end)
                {
                    long start = Stopwatch.GetTimestamp();
                    bool ok = await Post(http, bodies[k++ % bodies.Length]);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    if (!ok) Interlocked.Increment(ref errors);
                }
            })));
            double elapsed = clock.Elapsed.TotalSeconds;
            await sampler;
            memory.Add(Memory("end"));
            var all = latencies.SelectMany(l => l).Order().ToArray();
            double P(double q) => all[Math.Min(all.Length - 1, (int)(q * all.Length))];
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"requests: {all.Length}, errors: {errors}, {all.Length / elapsed:F0} requests/s, latency p50 {P(0.50):F2} ms, p90 {P(0.90):F2} ms, p99 {P(0.99):F2} ms, max {all[^1]:F2} ms"));
            foreach (string line in memory) o.WriteLine(line);
            o.WriteLine($"machine: {Environment.ProcessorCount} logical processors; server and clients share this process");
            return errors == 0 ? 0 : 1;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<bool> Post(HttpClient http, string body)
    {
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/api/classify", content);
            string text = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.OK && text.Contains("\"digit\"", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static string Memory(string when)
    {
        using var process = Process.GetCurrentProcess();
        return string.Create(CultureInfo.InvariantCulture,
            $"memory {when,-6}: live managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1048576.0,6:F1} MiB, working set {process.WorkingSet64 / 1048576.0,6:F1} MiB, gen2 collections {GC.CollectionCount(2)}");
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }
}
