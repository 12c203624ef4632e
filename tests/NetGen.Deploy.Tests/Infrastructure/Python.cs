using System.ComponentModel;
using System.Diagnostics;

namespace NetGen.Deploy.Tests.Infrastructure;

/// <summary>Debian's python3 with a module importable, or null; and a runner with a timeout.</summary>
internal static class Python
{
    private static readonly string[] Candidates = ["/usr/bin/python3", "python3"];
    private static readonly Dictionary<string, string?> Found = [];

    /// <summary>An interpreter that can import <paramref name="module"/>, or null.</summary>
    public static string? With(string module)
    {
        lock (Found)
        {
            if (Found.TryGetValue(module, out var known)) return known;
            string? hit = null;
            foreach (string candidate in Candidates)
            {
                try
                {
                    if (Run(candidate, ["-c", "import " + module], TimeSpan.FromSeconds(120)).ExitCode == 0) { hit = candidate; break; }
                }
                catch (Win32Exception)
                {
                    // not at that path
                }
            }
            return Found[module] = hit;
        }
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{fileName} {string.Join(" ", arguments)} did not finish in {timeout.TotalSeconds} s:\n{stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A [Fact] reported as skipped, with the reason, when python3 cannot import the module.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute(string module, string package)
    {
        if (Python.With(module) is null) Skip = $"python3 cannot import {module}: apt-get install {package}";
    }
}
