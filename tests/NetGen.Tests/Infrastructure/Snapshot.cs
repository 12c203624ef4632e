using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Sdk;

namespace NetGen.Tests.Infrastructure;

/// <summary>
/// A minimal approval-test helper. <see cref="Match"/> compares text with <c>Snapshots/{name}.approved.cs</c> next to
/// this project's sources. On a mismatch it writes <c>{name}.received.cs</c> beside the approved file (git-ignored) and
/// fails; running the tests with <c>NETGEN_APPROVE=1</c> accepts the received text instead.
/// </summary>
internal static class Snapshot
{
    /// <summary>Environment variable that turns every mismatch into an approval.</summary>
    public const string ApproveVariable = "NETGEN_APPROVE";

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>The folder holding the approved files: tests/NetGen.Tests/Snapshots in the source tree.</summary>
    public static string Folder => LazyFolder.Value;

    private static readonly Lazy<string> LazyFolder = new(FindFolder);

    public static bool Approving => Environment.GetEnvironmentVariable(ApproveVariable) is "1" or "true" or "True";

    /// <summary>Asserts that <paramref name="actual"/> equals the approved snapshot <paramref name="name"/>, ignoring
    /// line-ending style and a leading byte-order mark.</summary>
    public static void Match(string actual, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains(".."))
            throw new ArgumentException($"'{name}' is not a valid snapshot name: use letters, digits, '.', '-' or '_'.", nameof(name));

        string approvedPath = Path.Combine(Folder, name + ".approved.cs");
        string receivedPath = Path.Combine(Folder, name + ".received.cs");
        string received = Normalize(actual);
        string? approved = File.Exists(approvedPath) ? Normalize(File.ReadAllText(approvedPath)) : null;

        if (approved == received)
        {
            File.Delete(receivedPath);   // a stale one from an earlier failing run
            return;
        }

        if (Approving)
        {
            File.WriteAllText(approvedPath, received, Utf8NoBom);
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, received, Utf8NoBom);
        var message = new StringBuilder();
        if (approved is null)
        {
            message.Append("Snapshot '").Append(name).Append("' has no approved file yet: ").Append(approvedPath).Append('\n');
        }
        else
        {
            message.Append("Snapshot '").Append(name).Append("' does not match ").Append(approvedPath).Append('\n');
            AppendFirstDifference(message, approved, received);
        }
        message.Append("The received text was written to ").Append(receivedPath).Append('\n');
        message.Append("Review it (e.g. diff the two files); to accept it, run the tests with ").Append(ApproveVariable)
               .Append("=1, e.g.\n  ").Append(ApproveVariable).Append("=1 dotnet test tests/NetGen.Tests --filter FullyQualifiedName~Snapshot\n")
               .Append("which overwrites the approved file with the received text; then commit the approved file.");
        throw new XunitException(message.ToString());
    }

    /// <summary>LF line endings and no leading BOM, so a checkout with CRLF or an editor that adds a BOM still matches.</summary>
    public static string Normalize(string text)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
        return text.Replace("\r\n", "\n").Replace('\r', '\n');
    }

    private static void AppendFirstDifference(StringBuilder message, string approved, string received)
    {
        string[] a = approved.Split('\n'), r = received.Split('\n');
        int n = Math.Min(a.Length, r.Length), line = 0;
        while (line < n && a[line] == r[line]) line++;
        message.Append("First difference at line ").Append(line + 1)
               .Append(" (approved has ").Append(a.Length).Append(" lines, received ").Append(r.Length).Append("):\n");
        message.Append("  approved: ").Append(line < a.Length ? Show(a[line]) : "<end of file>").Append('\n');
        message.Append("  received: ").Append(line < r.Length ? Show(r[line]) : "<end of file>").Append('\n');
    }

    private static string Show(string line) => line.Length <= 200 ? line : line.Substring(0, 200) + " …";

    /// <summary>The snapshot folder, found from this file's compile-time path so it works from any working directory.
    /// If the path was mapped at build time (e.g. /_/ under ContinuousIntegrationBuild), falls back to walking up
    /// from the test assembly's folder to the project folder.</summary>
    private static string FindFolder()
    {
        string? infrastructure = Path.GetDirectoryName(ThisFile());
        if (infrastructure is not null)
        {
            string project = Path.GetDirectoryName(infrastructure) ?? infrastructure;
            if (File.Exists(Path.Combine(project, "NetGen.Tests.csproj")))
                return EnsureExists(Path.Combine(project, "Snapshots"));
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NetGen.Tests.csproj")))
                return EnsureExists(Path.Combine(dir.FullName, "Snapshots"));
            string nested = Path.Combine(dir.FullName, "tests", "NetGen.Tests");
            if (File.Exists(Path.Combine(nested, "NetGen.Tests.csproj")))
                return EnsureExists(Path.Combine(nested, "Snapshots"));
        }
        throw new InvalidOperationException(
            $"Cannot find the NetGen.Tests project folder from '{ThisFile()}' or '{AppContext.BaseDirectory}'; snapshots live in tests/NetGen.Tests/Snapshots.");
    }

    private static string EnsureExists(string directory)
    {
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
