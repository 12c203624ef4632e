using ScottPlot;

namespace NetGen.Plots;

/// <summary>
/// Training curves as PNG images (ScottPlot 5, rendered with SkiaSharp; runs headless). Epochs are numbered from 1
/// on the x axis. Files are written atomically: to a temporary file in the same directory, then moved over the path.
/// </summary>
public static class Plots
{
    /// <summary>
    /// Saves the loss and accuracy curves of <paramref name="history"/> side by side, training (solid) and validation
    /// (dashed) when present: the left panel "loss"/"val_loss", the right "accuracy"/"val_accuracy". A history
    /// without accuracy gets the loss panel only.
    /// </summary>
    /// <param name="history">The history returned by <see cref="Trainer.Fit"/>.</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="title">A title above the panels; null for none.</param>
    public static void SaveHistory(History history, string path, int width = 1000, int height = 400, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        CheckArguments(path, width, height);
        if (history.Epochs == 0 || !history.Contains("loss"))
            throw new ArgumentException("The history has no epochs with a loss to plot: train at least one epoch first.", nameof(history));

        var multiplot = new Multiplot();
        bool accuracy = history.Contains("accuracy");
        multiplot.AddPlots(accuracy ? 2 : 1);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Panel(multiplot.GetPlot(0), history, "loss", title is null ? "Loss" : $"{title}: loss");
        if (accuracy) Panel(multiplot.GetPlot(1), history, "accuracy", title is null ? "Accuracy" : $"{title}: accuracy");
        WriteAtomically(path, multiplot.Render(width, height));
    }

    /// <summary>
    /// Saves one metric of several runs on one chart, one colour per run; each run's validation curve (dashed) is
    /// drawn too when <paramref name="metric"/> is a training metric whose "val_" counterpart was logged. Use it to
    /// compare optimisers, learning rates or batch sizes.
    /// </summary>
    /// <param name="runs">Run name → history.</param>
    /// <param name="metric">The logged name to compare, e.g. "loss", "val_accuracy".</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static void SaveComparison(IReadOnlyDictionary<string, History> runs, string metric, string path, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentException.ThrowIfNullOrWhiteSpace(metric);
        CheckArguments(path, width, height);
        if (runs.Count == 0) throw new ArgumentException("Give at least one run to plot.", nameof(runs));
        foreach (var (name, run) in runs)
        {
            ArgumentNullException.ThrowIfNull(run, nameof(runs));
            if (!run.Contains(metric))
                throw new ArgumentException($"Run '{name}' has no '{metric}'; it logged: {string.Join(", ", run.Keys)}.", nameof(metric));
        }

        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var (name, run) in runs)
        {
            var color = palette.GetColor(i++);
            AddLine(plot, run[metric], name, color, dashed: false);
            string validation = "val_" + metric;
            if (!metric.StartsWith("val_", StringComparison.Ordinal) && run.Contains(validation))
                AddLine(plot, run[validation], name + " (validation)", color, dashed: true);
        }
        Decorate(plot, metric, $"{metric} by epoch");
        WriteAtomically(path, plot.GetImage(width, height));
    }

    /// <summary>
    /// Saves several named series (x, y) on one chart, one colour each; with <paramref name="logY"/> the y axis is
    /// logarithmic (values are plotted as log₁₀ with decade ticks labelled 10ⁿ; values ≤ 0 are left out). Use it for
    /// quantities that span decades, such as ‖∂E/∂h_t‖ through time.
    /// </summary>
    /// <param name="series">Series name → x and y values of equal length.</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="title">The chart title.</param>
    /// <param name="xLabel">The x axis label.</param>
    /// <param name="yLabel">The y axis label.</param>
    /// <param name="logY">A logarithmic y axis.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static void SaveSeries(IReadOnlyDictionary<string, (double[] X, double[] Y)> series, string path, string title, string xLabel, string yLabel,
        bool logY = false, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(series);
        CheckArguments(path, width, height);
        if (series.Count == 0) throw new ArgumentException("Give at least one series to plot.", nameof(series));
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var (name, (xs, ys)) in series)
        {
            if (xs.Length != ys.Length) throw new ArgumentException($"Series '{name}' has {xs.Length} x values and {ys.Length} y values: give one y per x.", nameof(series));
            var keep = Enumerable.Range(0, xs.Length).Where(k => !logY || ys[k] > 0).ToArray();
            var scatter = plot.Add.Scatter(keep.Select(k => xs[k]).ToArray(), keep.Select(k => logY ? Math.Log10(ys[k]) : ys[k]).ToArray(), palette.GetColor(i++));
            scatter.LegendText = name;
            scatter.LineWidth = 2;
            scatter.MarkerSize = keep.Length <= 60 ? 5 : 0;
        }
        if (logY)
        {
            var ticks = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = y => Math.Abs(y - Math.Round(y)) < 1e-9 ? $"1e{Math.Round(y):0}" : "",
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
            };
            plot.Axes.Left.TickGenerator = ticks;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        plot.Axes.AutoScale();
        WriteAtomically(path, plot.GetImage(width, height));
    }

    private static void Panel(Plot plot, History history, string metric, string title)
    {
        AddLine(plot, history[metric], "training", Colors.C0, dashed: false);
        if (history.Contains("val_" + metric)) AddLine(plot, history["val_" + metric], "validation", Colors.C1, dashed: true);
        Decorate(plot, metric, title);
    }

    private static void AddLine(Plot plot, IReadOnlyList<double> values, string label, Color color, bool dashed)
    {
        double[] xs = Enumerable.Range(1, values.Count).Select(e => (double)e).ToArray();
        double[] ys = values.ToArray();
        var scatter = plot.Add.Scatter(xs, ys, color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = values.Count <= 30 ? 5 : 0;
        if (dashed) scatter.LinePattern = LinePattern.Dashed;
    }

    private static void Decorate(Plot plot, string metric, string title)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(metric);
        // Losses fall and accuracies rise: keep the legend in the corner the curves leave free.
        string name = metric.ToLowerInvariant();
        bool rising = name.Contains("acc") || name.Contains("precision") || name.Contains("recall") || name.Contains("f1");
        plot.ShowLegend(rising ? Alignment.LowerRight : Alignment.UpperRight);
        plot.Axes.AutoScale();
    }

    private static void CheckArguments(string path, int width, int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (width < 100 || height < 100 || width > 10_000 || height > 10_000)
            throw new ArgumentOutOfRangeException(nameof(width), $"{width}×{height}", "An image is 100 to 10000 pixels wide and high, e.g. 800×500.");
    }

    private static void WriteAtomically(string path, Image image)
    {
        byte[] png;
        using (image) png = image.GetImageBytes(ImageFormat.Png);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(png);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
