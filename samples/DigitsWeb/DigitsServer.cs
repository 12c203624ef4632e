using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using NetGen;
using NetGen.Data;
using NetGen.Samples.Digits;

namespace DigitsWeb;

/// <summary>The answer to a good request: the most probable digit and the ten probabilities.</summary>
public sealed record Prediction(int Digit, float[] Probabilities);

/// <summary>The answer to a bad request (HTTP 400).</summary>
public sealed record Problem(string Error);

/// <summary>
/// The web app: <c>GET /</c> serves the page (a drawing canvas and a file picker; the page downscales to 28 × 28 and
/// posts), <c>POST /api/classify</c> takes <c>{"pixels": [784 numbers in 0..1]}</c> (row-major, light digit on black,
/// as MNIST) and answers <see cref="Prediction"/>. Every malformed request — wrong count, a value that is not a number
/// in [0, 1], not JSON, a body over <see cref="MaxBodyBytes"/> — gets 400 with a <see cref="Problem"/> naming it.
/// </summary>
public static class DigitsServer
{
    /// <summary>The largest body accepted: 784 numbers written with full float precision take about 16 kB.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public const int Pixels = 28 * 28;

    /// <summary>Builds the app; <paramref name="train"/> trains a LeNet at start-up instead of loading the embedded
    /// checkpoint (a few seconds).</summary>
    public static WebApplication Build(string[] args, bool train = false, TextWriter? log = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Bodies are read by the handler up to MaxBodyBytes + 1; Kestrel's own limit (which answers 413) sits above.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1 << 20);
        var app = builder.Build();
        var model = new DigitModel(train, log ?? TextWriter.Null);
        string page = ReadResource("index.html");

        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapGet("/favicon.ico", () => Results.NoContent());
        app.MapGet("/api/info", () => Results.Json(new Dictionary<string, string> { ["network"] = nameof(DigitsLeNet), ["weights"] = model.Source }));
        // A handler, not a RequestDelegate: the IResult it returns is what is written.
        app.MapPost("/api/classify", (Delegate)((HttpContext context) => Classify(context, model)));
        return app;
    }

    private static async Task<IResult> Classify(HttpContext context, DigitModel model)
    {
        var request = context.Request;
        if (request.ContentLength is long declared && declared > MaxBodyBytes)
            return Bad($"the body is {declared} bytes; at most {MaxBodyBytes} are accepted (784 pixels take about 16 kB)");
        var buffer = new byte[MaxBodyBytes + 1];
        int read = 0;
        try
        {
            while (read < buffer.Length)
            {
                int n = await request.Body.ReadAsync(buffer.AsMemory(read), context.RequestAborted);
                if (n == 0) break;
                read += n;
            }
        }
        catch (BadHttpRequestException e)
        {
            return Bad("the body could not be read: " + e.Message);
        }
        if (read > MaxBodyBytes) return Bad($"the body is larger than {MaxBodyBytes} bytes (784 pixels take about 16 kB)");
        if (read == 0) return Bad("the body is empty; send {\"pixels\": [784 numbers from 0 to 1]}");

        float[] pixels;
        try
        {
            using var document = JsonDocument.Parse(buffer.AsMemory(0, read), new JsonDocumentOptions { MaxDepth = 4 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("pixels", out var array))
                return Bad("expected a JSON object {\"pixels\": [784 numbers from 0 to 1]}");
            if (array.ValueKind != JsonValueKind.Array) return Bad($"\"pixels\" is {array.ValueKind.ToString().ToLowerInvariant()}, not an array of 784 numbers");
            int count = array.GetArrayLength();
            if (count != Pixels) return Bad($"\"pixels\" has {count} values; a 28 × 28 digit has {Pixels}");
            pixels = new float[Pixels];
            int i = 0;
            foreach (var value in array.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double v) || !double.IsFinite(v))
                    return Bad($"pixel {i} is {Describe(value)}; every pixel is a number from 0 (black) to 1 (white)");
                if (v is < 0 or > 1) return Bad(string.Create(CultureInfo.InvariantCulture, $"pixel {i} is {v}; every pixel is a number from 0 (black) to 1 (white)"));
                pixels[i++] = (float)v;
            }
        }
        catch (JsonException e)
        {
            return Bad("the body is not valid JSON: " + e.Message.Split('.')[0]);
        }
        return Results.Json(model.Predict(pixels));
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "the string " + value.GetRawText(),
        JsonValueKind.Number => value.GetRawText() + " (out of range)",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    private static IResult Bad(string message) => Results.Json(new Problem(message), statusCode: StatusCodes.Status400BadRequest);

    private static string ReadResource(string name)
    {
        using var stream = typeof(DigitsServer).Assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException("missing resource " + name);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The trained LeNet, one instance per concurrent request (a generated network owns its buffers, so an
/// instance serves one request at a time); instances are pooled, so memory stays flat under load.</summary>
public sealed class DigitModel
{
    private readonly DigitsLeNet _prototype;
    private readonly ConcurrentBag<DigitsLeNet> _pool = [];

    public DigitModel(bool train, TextWriter log)
    {
        bool embedded = typeof(DigitReader).Assembly.GetManifestResourceInfo(DigitReader.WeightsResource) is not null;
        if (!train && embedded)
        {
            _prototype = DigitReader.LoadEmbedded();
            Source = "embedded checkpoint " + DigitReader.WeightsResource;
            return;
        }
        // Trains at start-up: 3 epochs over 8,000 embedded MNIST digits (a few seconds).
        var all = Datasets.MnistSample<float>();
        var trainSet = all.Subset(Enumerable.Range(0, 8000).ToArray());
        var test = all.Subset(Enumerable.Range(8000, 2000).ToArray());
        _prototype = new DigitsLeNet(maxBatch: 32, seed: 7);
        Trainer.Fit(_prototype, trainSet, epochs: 3, batchSize: 32, new Sgd(0.1), seed: 7, log: log, verbose: 2);
        _prototype.Training = false;
        var (_, accuracy) = Trainer.Evaluate(_prototype, test);
        Source = string.Create(CultureInfo.InvariantCulture, $"trained at start-up (3 epochs, test accuracy {accuracy:0.000})");
        log.WriteLine(Source);
    }

    /// <summary>Where the weights came from.</summary>
    public string Source { get; }

    public Prediction Predict(float[] pixels)
    {
        // One inference replica per concurrent request: it shares the prototype's parameters (no copy) and has its own
        // buffers, so requests run Forward in parallel without a lock (docs/threading.md).
        if (!_pool.TryTake(out var net)) net = _prototype.CreateInferenceReplica();
        try
        {
            float[] p = net.Forward(pixels).ToArray();
            int best = 0;
            for (int k = 1; k < p.Length; k++) if (p[k] > p[best]) best = k;
            return new Prediction(best, p);
        }
        finally
        {
            _pool.Add(net);
        }
    }
}
