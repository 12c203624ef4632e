using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NetGen.Sweeps;

/// <summary>
/// A study's results as JSON lines: a header line naming the study and the fingerprint of its search space, seed,
/// trial count and objective, then one line per finished trial, appended and flushed to disk as each arrives. A sweep
/// killed at any moment loses at most the line being written: on opening, a torn last line is cut off, and the
/// sweep runs only the trials the file does not hold. A file written by a different sweep is refused (its
/// fingerprint differs). Each trial number is written at most once; a second result for it is ignored (that is what
/// makes a result recorded exactly once when a worker thought dead finishes anyway). Thread-safe within a process;
/// one process writes a study file at a time.
/// </summary>
public sealed class StudyFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly Dictionary<int, TrialRecord> _records = [];
    private readonly Lock _lock = new();

    private StudyFile(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The trials recorded so far, by number.</summary>
    public IReadOnlyCollection<TrialRecord> Records
    {
        get { lock (_lock) return _records.Values.OrderBy(r => r.Number).ToList(); }
    }

    /// <summary>Whether trial <paramref name="number"/> is recorded.</summary>
    public bool Contains(int number)
    {
        lock (_lock) return _records.ContainsKey(number);
    }

    /// <summary>
    /// Opens (or creates) the study file at <paramref name="path"/> for the sweep described by
    /// <paramref name="study"/> and <paramref name="fingerprint"/>, reading the trials it already holds; their
    /// values are recomputed by <paramref name="parameters"/> from their numbers (the file's copy is for people).
    /// </summary>
    /// <exception cref="InvalidDataException">The file belongs to another sweep, or a line other than the last is not
    /// a valid record.</exception>
    public static StudyFile Open(string path, string study, string fingerprint, Func<int, IReadOnlyDictionary<string, object>> parameters)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (directory is not null) Directory.CreateDirectory(directory);
        FileStream stream;
        try { stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read); }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"Cannot open the study file {full} ({e.Message}); is the same sweep already running in another process? One process writes a study at a time.", e);
        }
        var file = new StudyFile(full, stream);
        try
        {
            file.Load(study, fingerprint, parameters);
            return file;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends <paramref name="record"/> and flushes it to disk. Returns false (and writes nothing) when the
    /// trial is already recorded.</summary>
    public bool Append(TrialRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            if (_records.ContainsKey(record.Number)) return false;
            WriteLine(TrialLine(record));
            _records.Add(record.Number, record);
            return true;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private void Load(string study, string fingerprint, Func<int, IReadOnlyDictionary<string, object>> parameters)
    {
        byte[] bytes = new byte[_stream.Length];
        _stream.ReadExactly(bytes);
        int end = bytes.Length;
        // A line without its newline was being written when the process died: drop it.
        int lastNewline = Array.LastIndexOf(bytes, (byte)'\n');
        int complete = lastNewline + 1;
        if (complete < end)
        {
            _stream.SetLength(complete);
            end = complete;
        }
        _stream.Seek(end, SeekOrigin.Begin);
        if (end == 0)
        {
            WriteLine(HeaderLine(study, fingerprint));
            return;
        }

        var lines = Encoding.UTF8.GetString(bytes, 0, end).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < lines.Length; i++)
        {
            JsonElement root;
            try { root = JsonDocument.Parse(lines[i]).RootElement; }
            catch (JsonException e)
            {
                throw new InvalidDataException($"Study file {Path}, line {i + 1}, is not JSON ({e.Message}). The file is damaged; move it away to start the study afresh.", e);
            }
            if (i == 0)
            {
                string? name = root.TryGetProperty("study", out var s) ? s.GetString() : null;
                string? print = root.TryGetProperty("fingerprint", out var f) ? f.GetString() : null;
                if (print != fingerprint)
                    throw new InvalidDataException(
                        $"Study file {Path} holds study '{name}' with fingerprint {print}, but this sweep ('{study}') has fingerprint {fingerprint}: " +
                        "its search space, seed, trial count or objective differ. Use another file (or study name), or delete this one to start again.");
                continue;
            }
            var record = ReadTrial(root, parameters, i + 1);
            _records.TryAdd(record.Number, record);
        }
    }

    private TrialRecord ReadTrial(JsonElement root, Func<int, IReadOnlyDictionary<string, object>> parameters, int line)
    {
        try
        {
            int number = root.GetProperty("trial").GetInt32();
            var state = Enum.Parse<TrialState>(root.GetProperty("state").GetString()!, ignoreCase: true);
            var curve = new List<IReadOnlyDictionary<string, double>>();
            foreach (var epoch in root.GetProperty("curve").EnumerateArray())
            {
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var m in epoch.EnumerateObject()) metrics[m.Name] = Number(m.Value);
                curve.Add(metrics);
            }
            return new TrialRecord
            {
                Number = number,
                State = state,
                Parameters = parameters(number),
                Value = Number(root.GetProperty("value")),
                Curve = curve,
                Seconds = root.TryGetProperty("seconds", out var s) ? s.GetDouble() : 0,
                Worker = root.TryGetProperty("worker", out var w) ? w.GetString() ?? "" : "",
                Error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null,
            };
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"Study file {Path}, line {line}, is not a trial record ({e.Message}). Move the file away to start the study afresh.", e);
        }
    }

    // JSON has no NaN or infinity: they are written as strings.
    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? double.Parse(e.GetString()!, CultureInfo.InvariantCulture)
        : e.GetDouble();

    private static void WriteNumber(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
    }

    private static byte[] HeaderLine(string study, string fingerprint) => Json(w =>
    {
        w.WriteString("study", study);
        w.WriteString("fingerprint", fingerprint);
        w.WriteString("format", "netgen-sweep-1");
    });

    private static byte[] TrialLine(TrialRecord r) => Json(w =>
    {
        w.WriteNumber("trial", r.Number);
        w.WriteString("state", r.State.ToString().ToLowerInvariant());
        WriteNumber(w, "value", r.Value);
        w.WriteNumber("epochs", r.Epochs);
        w.WriteNumber("seconds", Math.Round(r.Seconds, 4));
        w.WriteString("worker", r.Worker);
        w.WriteStartObject("params");
        foreach (var (name, value) in r.Parameters)
        {
            switch (value)
            {
                case string s: w.WriteString(name, s); break;
                case bool b: w.WriteBoolean(name, b); break;
                case int i: w.WriteNumber(name, i); break;
                case long l: w.WriteNumber(name, l); break;
                case double d: WriteNumber(w, name, d); break;
                default: w.WriteString(name, SearchSpace.Format(value)); break;
            }
        }
        w.WriteEndObject();
        w.WriteStartArray("curve");
        foreach (var epoch in r.Curve)
        {
            w.WriteStartObject();
            foreach (var (name, value) in epoch) WriteNumber(w, name, value);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (r.Error is not null) w.WriteString("error", r.Error);
    });

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private void WriteLine(byte[] line)
    {
        _stream.Write(line);
        _stream.Flush(flushToDisk: true);
    }
}
