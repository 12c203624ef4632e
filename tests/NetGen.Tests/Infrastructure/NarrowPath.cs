using System.Runtime.Intrinsics;
using Xunit.Abstractions;

namespace NetGen.Tests.Infrastructure;

/// <summary>
/// The 256-bit path of the generated kernels, on a machine where they would take their Vector512 twins: this test
/// assembly's own entry point (<see cref="DirectConvCases.Main"/>) run in a child process with AVX-512 disabled
/// (<c>DOTNET_EnableAVX512=0</c>; .NET 8 and 9 read <c>DOTNET_EnableAVX512F</c>). The width tests compare what it writes
/// with the same cases run in the test process.
/// </summary>
internal static class NarrowPath
{
    /// <summary>The environment that turns AVX-512 off in a child .NET process.</summary>
    public static Dictionary<string, string> Avx512Off() => new() { ["DOTNET_EnableAVX512"] = "0", ["DOTNET_EnableAVX512F"] = "0" };

    /// <summary>Runs the entry point's <paramref name="mode"/> (it writes one line per array: case|array|values) on the
    /// 256-bit path and returns the lines split at '|'; null, after saying why, when Vector512 is not accelerated here
    /// (both runs would take the 256-bit path, so there is nothing to compare).</summary>
    public static string[][]? Run(string mode, ITestOutputHelper output)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            output.WriteLine("skip: Vector512 is not accelerated on this machine, so both runs would take the 256-bit path");
            return null;
        }
        string tests = Path.Combine(AppContext.BaseDirectory, "NetGen.Tests.dll");
        string file = Path.Combine(Path.GetTempPath(), $"netgen-{mode}-{Environment.ProcessId}.txt");
        try
        {
            var (exitCode, stdout, stderr) = DotnetProcess.Run(tests, [mode, file], TimeSpan.FromSeconds(180), Avx512Off());
            Assert.True(exitCode == 0, $"exit code {exitCode}\n{stdout}\n{stderr}");
            Assert.Contains("vector512 not accelerated", stdout, StringComparison.Ordinal);
            return File.ReadAllLines(file).Select(line => line.Split('|')).ToArray();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
