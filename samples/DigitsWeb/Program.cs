using DigitsWeb;

// dotnet run --project samples/DigitsWeb                     serves the page on http://localhost:5000 (--urls to change)
// dotnet run --project samples/DigitsWeb -- --train           trains the LeNet at start-up instead of loading the checkpoint
// dotnet run -c Release --project samples/DigitsWeb -- loadtest [--clients 64] [--seconds 30]
//                                                             starts the server on a loopback port and loads it
if (args.Length > 0 && args[0] == "loadtest")
    return await LoadTest.RunAsync(args[1..], Console.Out);

bool train = args.Contains("--train");
string[] rest = [.. args.Where(a => a != "--train")];
if (!rest.Any(a => a.StartsWith("--urls", StringComparison.Ordinal)) && Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is null)
    rest = [.. rest, "--urls", "http://localhost:5000"];
var app = DigitsServer.Build(rest, train, Console.Out);
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"DigitsWeb: {string.Join(", ", app.Urls)} (Ctrl+C stops)"));
await app.RunAsync();
return 0;
