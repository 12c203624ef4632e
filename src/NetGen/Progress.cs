using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NetGen;

/// <summary>
/// The training display, as Keras' progress bar (<c>ProgbarLogger</c>), kept apart from the loop: a callback that
/// <see cref="Trainer.Fit"/> adds when it has a log writer and <c>verbose</c> &gt; 0.
/// <para>
/// Verbose 1 on a console (a progress bar redrawn in place with '\r', at most every 50 ms):
/// <code>
/// Epoch 1/20
///  12/100 [==&gt;...........................] - ETA: 3s - loss: 0.1234 - accuracy: 0.9500
/// 100/100 [==============================] - 2s 12ms/step - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2345 - val_accuracy: 0.9300
/// </code>
/// Verbose 2, or verbose 1 when the output is not a console (redirected to a file or pipe, or any writer other than
/// <see cref="Console.Out"/> / <see cref="Console.Error"/>), writes one line per epoch:
/// <c>Epoch 1/20 - 2.0s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2345 - val_accuracy: 0.9300</c>.
/// Values have four decimals (scientific below 1e-3); the learning rate is logged in the history, not shown.
/// </para>
/// </summary>
public sealed class ProgressLogger : ICallback
{
    private const int Width = 30;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    private readonly TextWriter _writer;
    private readonly Func<TimeSpan> _clock;
    private readonly StringBuilder _line = new(256);
    private TimeSpan _epochStart, _lastUpdate;
    private bool _drawn;
    private int _previousWidth, _epochs, _steps, _lastStep;

    /// <summary>Creates the display.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="verbose">1 for a progress bar (on a console), 2 for one line per epoch.</param>
    /// <param name="interactive">Whether the writer is a terminal that honours '\r'; null to decide from the writer
    /// (<see cref="IsInteractive"/>).</param>
    public ProgressLogger(TextWriter writer, int verbose = 1, bool? interactive = null)
        : this(writer, verbose, interactive, null) { }

    internal ProgressLogger(TextWriter writer, int verbose, bool? interactive, Func<TimeSpan>? clock)
    {
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        if (verbose is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 1 (progress bar) or 2 (one line per epoch); 0 means no display at all.");
        Verbose = verbose;
        Interactive = verbose == 1 && (interactive ?? IsInteractive(writer));
        if (clock is null)
        {
            var stopwatch = Stopwatch.StartNew();
            clock = () => stopwatch.Elapsed;
        }
        _clock = clock;
    }

    /// <summary>1 or 2, as given.</summary>
    public int Verbose { get; }

    /// <summary>Whether the bar is drawn in place (else one line per epoch).</summary>
    public bool Interactive { get; }

    /// <summary>True for <see cref="Console.Out"/> when standard output is not redirected, or
    /// <see cref="Console.Error"/> when standard error is not.</summary>
    public static bool IsInteractive(TextWriter writer) =>
        (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected) ||
        (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected);

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        _epochs = context.Epochs;
        _steps = context.StepsPerEpoch;
    }

    void ICallback.OnEpochBegin(TrainingContext context, int epoch)
    {
        _epochStart = _clock();
        _drawn = false;
        _previousWidth = 0;
        _lastStep = 0;
        if (Interactive) _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}/{_epochs}"));
    }

    void ICallback.OnBatchEnd(TrainingContext context, int batch, IReadOnlyDictionary<string, double> logs)
    {
        _lastStep = batch + 1;
        if (!Interactive) return;
        TimeSpan now = _clock();
        if (_drawn && now - _lastUpdate < Interval && batch + 1 < _steps) return;
        _lastUpdate = now;
        _drawn = true;
        _line.Clear();
        AppendBar(_line, batch + 1, _steps);
        TimeSpan elapsed = now - _epochStart;
        double perStep = elapsed.TotalSeconds / (batch + 1);
        if (batch + 1 < _steps) _line.Append(" - ETA: ").Append(FormatEta(perStep * (_steps - batch - 1)));
        else _line.Append(" - ").Append(FormatSeconds(elapsed.TotalSeconds)).Append(' ').Append(FormatPerStep(perStep));
        CallbackText.AppendValues(_line, logs);
        Redraw(newline: false);
    }

    void ICallback.OnEpochEnd(TrainingContext context, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        TimeSpan elapsed = _clock() - _epochStart;
        _line.Clear();
        if (Interactive)
        {
            int steps = Math.Max(_lastStep, 1);
            AppendBar(_line, steps, _steps);
            _line.Append(" - ").Append(FormatSeconds(elapsed.TotalSeconds)).Append(' ').Append(FormatPerStep(elapsed.TotalSeconds / steps));
            CallbackText.AppendValues(_line, logs);
            Redraw(newline: true);
            return;
        }
        _line.Append(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}/{_epochs} - {elapsed.TotalSeconds:0.0}s");
        CallbackText.AppendValues(_line, logs);
        _writer.WriteLine(_line.ToString());
    }

    private void Redraw(bool newline)
    {
        int width = _line.Length;
        if (width < _previousWidth) _line.Append(' ', _previousWidth - width);   // erase the rest of a longer line
        _previousWidth = width;
        _writer.Write('\r');
        _writer.Write(_line);
        if (newline) _writer.WriteLine();
        _writer.Flush();
    }

    /// <summary>"  7/100 [==&gt;.....]" as Keras draws it: the count right-aligned to the total's digits, then
    /// <see cref="Width"/> cells, '=' done and '&gt;' at the head while unfinished.</summary>
    internal static void AppendBar(StringBuilder sb, int current, int total)
    {
        int digits = total.ToString(CultureInfo.InvariantCulture).Length;
        sb.Append(current.ToString(CultureInfo.InvariantCulture).PadLeft(digits)).Append('/').Append(total.ToString(CultureInfo.InvariantCulture)).Append(" [");
        int done = (int)(Width * (double)current / total);
        if (done > 0)
        {
            sb.Append('=', done - 1);
            sb.Append(current < total ? '>' : '=');
        }
        sb.Append('.', Width - done).Append(']');
    }

    /// <summary>Keras' ETA: "45s", "1:05" above a minute, "1:01:05" above an hour.</summary>
    internal static string FormatEta(double seconds)
    {
        long s = (long)seconds;
        return seconds > 3600 ? string.Create(CultureInfo.InvariantCulture, $"{s / 3600}:{s % 3600 / 60:00}:{s % 60:00}")
            : seconds > 60 ? string.Create(CultureInfo.InvariantCulture, $"{s / 60}:{s % 60:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{s}s");
    }

    internal static string FormatSeconds(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds):0}s");

    /// <summary>"2s/step", "12ms/step" or "345us/step".</summary>
    internal static string FormatPerStep(double seconds) =>
        seconds >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds):0}s/step")
        : seconds >= 1e-3 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds * 1e3):0}ms/step")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Round(seconds * 1e6):0}us/step");
}
