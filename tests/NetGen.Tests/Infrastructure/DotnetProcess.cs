using System.Diagnostics;

namespace NetGen.Tests.Infrastructure;

/// <summary>Runs a built .NET program (a sample, the speed suite) as a child process, as a user would.</summary>
internal static class DotnetProcess
{
    /// <summary>Runs <c>dotnet <paramref name="assembly"/> <paramref name="arguments"/></c> with the host that runs the
    /// tests, without the environment variables named in <paramref name="unset"/>, and returns its exit code and output.
    /// A run longer than <paramref name="timeout"/> is killed and reported with what it printed.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string assembly, IEnumerable<string> arguments, TimeSpan timeout, params string[] unset) =>
        Run(assembly, arguments, timeout, new Dictionary<string, string>(), unset);

    /// <summary>As <see cref="Run(string, IEnumerable{string}, TimeSpan, string[])"/>, with the variables in
    /// <paramref name="environment"/> set (e.g. <c>DOTNET_EnableAVX512=0</c>).</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string assembly, IEnumerable<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string> environment, params string[] unset)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        foreach (string variable in unset) start.Environment.Remove(variable);
        foreach (var (variable, value) in environment) start.Environment[variable] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{assembly} {string.Join(' ', arguments)} did not finish in {timeout.TotalSeconds:0} s:\n{stdout.Result}\n{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
