using System.Net;
using System.Text;
using System.Text.Json;
using DigitsWeb;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using NetGen.Imaging;
using NetGen.Samples.Digits;
using Xunit.Abstractions;

namespace NetGen.Deploy.Tests.Web;

/// <summary>A [Fact] skipped, with the reason, when Debian's chromium is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = $"{Path} is not installed: apt-get install chromium";
    }
}

/// <summary>The web sample on a loopback port, and (when installed) Debian's chromium driven by Playwright.</summary>
public sealed class WebFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;

    public string Url { get; private set; } = "";

    public HttpClient Http { get; private set; } = null!;

    public IPlaywright? Playwright { get; private set; }

    public IBrowser? Browser { get; private set; }

    public async Task InitializeAsync()
    {
        App = DigitsServer.Build(["--urls", "http://127.0.0.1:0"]);
        await App.StartAsync();
        Url = App.Urls.First();
        Http = new HttpClient { BaseAddress = new Uri(Url) };
        if (File.Exists(ChromiumFactAttribute.Path))
        {
            Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
            Browser = await Playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = ChromiumFactAttribute.Path,
                Headless = true,
                Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        Playwright?.Dispose();
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>
/// The page in a real browser: MNIST test digits uploaded through the file picker are read as their labels, a thick
/// "1" drawn with the mouse is read as 1, and the chart has ten bars; and the API answers bad requests with 400.
/// </summary>
public sealed class DigitsWebTests(WebFixture web, ITestOutputHelper log) : IClassFixture<WebFixture>
{
    private async Task<IPage> OpenAsync()
    {
        var page = await web.Browser!.NewPageAsync();
        page.Console += (_, m) => log.WriteLine("browser console: " + m.Text);
        await page.GotoAsync(web.Url);
        return page;
    }

    /// <summary>Waits for the page's next answer (the body's data-answered stamp changes) and returns the digit shown.</summary>
    private static async Task<string> AnswerAfterAsync(IPage page, Func<Task> action)
    {
        string before = await page.EvaluateAsync<string>("() => document.body.dataset.answered || ''");
        await action();
        await page.WaitForFunctionAsync("prev => (document.body.dataset.answered || '') !== prev", before, new() { Timeout = 15000 });
        return (await page.TextContentAsync("#digit"))!;
    }

    [ChromiumFact]
    public async Task UploadedMnistTestDigitsAreReadAsTheirLabels()
    {
        // Test digits (the last 2,000 of the embedded sample were not trained on), one of each class, that the
        // network reads confidently from their raw pixels: the page must not spoil them.
        var all = NetGen.Data.Datasets.MnistSample<float>();
        var net = DigitReader.LoadEmbedded();
        var chosen = new Dictionary<int, int>();
        for (int i = 8000; i < all.Count && chosen.Count < 10; i++)
        {
            var (digit, p) = DigitReader.Classify(net, all.Features(i));
            if (digit == all.Label(i) && p > 0.95 && !chosen.ContainsKey(digit)) chosen[digit] = i;
        }
        Assert.Equal(10, chosen.Count);
        string dir = Directory.CreateTempSubdirectory("netgen-digits-web-").FullName;
        var page = await OpenAsync();
        try
        {
            foreach (var (label, index) in chosen.OrderBy(x => x.Key))
            {
                string png = Path.Combine(dir, $"mnist-{index}-label-{label}.png");
                Image.FromTensor(all.Features(index), 1, 28, 28).SavePng(png);
                string answer = await AnswerAfterAsync(page, () => page.SetInputFilesAsync("#file", png));
                log.WriteLine($"{Path.GetFileName(png)} -> {answer}");
                Assert.Equal(label.ToString(System.Globalization.CultureInfo.InvariantCulture), answer);
            }
        }
        finally
        {
            await page.CloseAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    [ChromiumFact]
    public async Task AThickOneDrawnWithTheMouseIsReadAsOne()
    {
        var page = await OpenAsync();
        try
        {
            var box = (await page.Locator("#pad").BoundingBoxAsync())!;
            float x = box.X + box.Width * 0.5f, top = box.Y + box.Height * 0.18f, bottom = box.Y + box.Height * 0.82f;
            string answer = await AnswerAfterAsync(page, async () =>
            {
                await page.Mouse.MoveAsync(x + 6, top);
                await page.Mouse.DownAsync();
                await page.Mouse.MoveAsync(x, bottom, new() { Steps = 25 });
                await page.Mouse.UpAsync();
            });
            log.WriteLine($"drawn stroke -> {answer}, {await page.TextContentAsync("#probability")}");
            Assert.Equal("1", answer);

            // The chart: ten bars, the highest marked, heights the probabilities (summing to 100 %).
            var bars = page.Locator("#chart .bar");
            Assert.Equal(10, await bars.CountAsync());
            Assert.Equal("1", await page.Locator("#chart .bar.best").GetAttributeAsync("data-digit"));
            double total = 0;
            for (int d = 0; d < 10; d++)
            {
                string style = (await bars.Nth(d).Locator(".fill").GetAttributeAsync("style"))!;
                total += double.Parse(style.Split(':')[1].Trim().TrimEnd(';').TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
            }
            Assert.InRange(total, 99.0, 101.0);

            // Clear resets the answer and the bars.
            await page.ClickAsync("#clear");
            Assert.Equal("?", await page.TextContentAsync("#digit"));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task TheApiAnswersAGoodRequestWithTenProbabilities()
    {
        var all = NetGen.Data.Datasets.MnistSample<float>(1);
        var response = await web.Http.PostAsync("/api/classify", Json(JsonSerializer.Serialize(new { pixels = all.Features(0).ToArray() })));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        var p = json.RootElement.GetProperty("probabilities").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(10, p.Length);
        Assert.InRange(p.Sum(), 0.999, 1.001);
        Assert.Equal(all.Label(0), json.RootElement.GetProperty("digit").GetInt32());
    }

    public static TheoryData<string, string, string> BadBodies => new()
    {
        { "wrong size", "{\"pixels\":[0,0.5,1]}", "has 3 values; a 28 × 28 digit has 784" },
        { "non-numeric", "{\"pixels\":[" + string.Join(",", Enumerable.Repeat("0", 783)) + ",\"x\"]}", "pixel 783 is the string \"x\"" },
        { "out of range", "{\"pixels\":[" + string.Join(",", Enumerable.Repeat("0", 783)) + ",255]}", "pixel 783 is 255" },
        { "not JSON", "pixels=0,0,0", "not valid JSON" },
        { "not an object", "[1,2,3]", "expected a JSON object" },
        { "pixels not an array", "{\"pixels\":\"abc\"}", "\"pixels\" is string" },
        { "empty", "", "the body is empty" },
        { "deep nesting", "{\"pixels\":[[[[[[0]]]]]]}", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task ABadRequestGets400WithAMessage(string what, string body, string expected)
    {
        var response = await web.Http.PostAsync("/api/classify", Json(body));
        string text = await response.Content.ReadAsStringAsync();
        log.WriteLine($"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AnOversizedBodyGets400WithAMessageWithOrWithoutALength()
    {
        string huge = "{\"pixels\":[" + string.Join(",", Enumerable.Repeat("0.123456789", 20_000)) + "]}";
        var declared = await web.Http.PostAsync("/api/classify", Json(huge));
        Assert.Equal(HttpStatusCode.BadRequest, declared.StatusCode);
        Assert.Contains("at most 65536", await declared.Content.ReadAsStringAsync());

        // Chunked (no Content-Length): read up to the limit, then refused.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
        chunked.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/classify") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var response = await web.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("larger than 65536", await response.Content.ReadAsStringAsync());
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
