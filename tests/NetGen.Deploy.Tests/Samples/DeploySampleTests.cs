using System.Diagnostics;
using System.Text.RegularExpressions;
using NetGen.Imaging;
using Xunit.Abstractions;

namespace NetGen.Deploy.Tests.Samples;

/// <summary>
/// The command-line classifier (samples/Deploy, built here as a framework-dependent program; the NativeAOT publish of
/// the same code is measured in docs/deploy.md): its exact output line, its reading of digits as MNIST's or drawn
/// dark on light paper at another size, and exit code 2 with one line for a missing file or one that is not an image.
/// </summary>
public sealed partial class DeploySampleTests(ITestOutputHelper log)
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "digits.dll");

    [GeneratedRegex(@"^digit: (\d) \(p = ([01]\.\d\d)\)\n$")]
    private static partial Regex AnswerLine();

    private (int Code, string Stdout, string Stderr) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Program);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000)) { process.Kill(true); throw new TimeoutException("digits did not finish in 60 s"); }
        process.WaitForExit();
        log.WriteLine($"digits {string.Join(' ', arguments)} -> {process.ExitCode}\n{stdout.Result}{stderr.Result}");
        return (process.ExitCode, stdout.Result.Replace("\r\n", "\n"), stderr.Result.Replace("\r\n", "\n"));
    }

    [Fact]
    public void PrintsTheDigitAndItsProbabilityExactly()
    {
        var all = NetGen.Data.Datasets.MnistSample<float>();
        string dir = Directory.CreateTempSubdirectory("netgen-digits-cli-").FullName;
        try
        {
            int right = 0;
            const int first = 8000, count = 6;   // test digits (not trained on)
            for (int i = first; i < first + count; i++)
            {
                string png = Path.Combine(dir, $"{i}.png");
                Image.FromTensor(all.Features(i), 1, 28, 28).SavePng(png);
                var (code, stdout, stderr) = Run(png);
                Assert.Equal(0, code);
                Assert.Equal("", stderr);
                var match = AnswerLine().Match(stdout);
                Assert.True(match.Success, $"not the answer line: '{stdout}'");
                if (int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) == all.Label(i)) right++;
            }
            Assert.True(right >= count - 1, $"{right}/{count} test digits read right");

            // The same digit drawn dark on light paper, RGB, 4× larger: inverted, boxed and centred as MNIST's.
            int index = first;
            var digit = Image.FromTensor(all.Features(index).ToArray().Select(v => 1 - v).ToArray(), 1, 28, 28).ToRgb().Resize(112, 112);
            string big = Path.Combine(dir, "big.png");
            digit.SavePng(big);
            var (bigCode, bigOut, _) = Run(big);
            Assert.Equal(0, bigCode);
            Assert.Equal($"digit: {all.Label(index)}", bigOut.Split(' ')[0] + " " + bigOut.Split(' ')[1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AMissingFileOrOneThatIsNotAnImageExitsWith2AndOneLine()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-digits-cli-").FullName;
        try
        {
            var missing = Run(Path.Combine(dir, "nothing-here.png"));
            Assert.Equal(2, missing.Code);
            Assert.Equal("", missing.Stdout);
            Assert.Matches(@"^digits: no such file: .*nothing-here\.png\n$", missing.Stderr);

            string text = Path.Combine(dir, "notes.png");
            File.WriteAllText(text, "not a picture\n");
            var bad = Run(text);
            Assert.Equal(2, bad.Code);
            Assert.Equal("", bad.Stdout);
            Assert.Single(bad.Stderr.TrimEnd('\n').Split('\n'));
            Assert.Contains("is not a readable image", bad.Stderr);

            var usage = Run();
            Assert.Equal(2, usage.Code);
            Assert.StartsWith("usage: digits <file.png>", usage.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
