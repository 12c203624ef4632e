using System.Globalization;
using ScottPlot;

namespace NetGen.Sweeps;

/// <summary>
/// A finished sweep: every trial's record, the ranking of the complete ones by the objective, the epochs pruning
/// saved, a table and a plot.
/// </summary>
public sealed class SweepResults
{
    /// <summary>Creates the results of <paramref name="sweep"/> from its records.</summary>
    public SweepResults(Sweep sweep, IEnumerable<TrialRecord> trials, TimeSpan elapsed)
    {
        Sweep = sweep ?? throw new ArgumentNullException(nameof(sweep));
        ArgumentNullException.ThrowIfNull(trials);
        Trials = trials.OrderBy(t => t.Number).ToArray();
        Ranked = Trials.Where(t => t.State == TrialState.Complete && !double.IsNaN(t.Value))
            .Order(Comparer<TrialRecord>.Create((a, b) => Better(a, b, sweep.Goal) ? -1 : Better(b, a, sweep.Goal) ? 1 : 0))
            .ToArray();
        Elapsed = elapsed;
    }

    /// <summary>The sweep's definition.</summary>
    public Sweep Sweep { get; }

    /// <summary>Every recorded trial, by number.</summary>
    public IReadOnlyList<TrialRecord> Trials { get; }

    /// <summary>The complete trials, best first (ties: lower trial number first). Pruned and failed trials are not ranked:
    /// their values were measured after fewer epochs.</summary>
    public IReadOnlyList<TrialRecord> Ranked { get; }

    /// <summary>The best complete trial, or null when none completed.</summary>
    public TrialRecord? Best => Ranked.Count > 0 ? Ranked[0] : null;

    /// <summary>Wall-clock time of the run that produced these results.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Trials that ran their budget.</summary>
    public int Complete => Trials.Count(t => t.State == TrialState.Complete);

    /// <summary>Trials stopped by the pruner.</summary>
    public int Pruned => Trials.Count(t => t.State == TrialState.Pruned);

    /// <summary>Trials that failed.</summary>
    public int Failed => Trials.Count(t => t.State == TrialState.Failed);

    /// <summary>Epochs actually trained, over all trials.</summary>
    public int EpochsRun => Trials.Sum(t => t.Epochs);

    /// <summary>Epochs a run of every trial to its budget would train.</summary>
    public int EpochsWithoutPruning => Trials.Count * Sweep.EpochBudget;

    /// <summary>
    /// Writes the ranking: a comment line (starting with '#') with the counts, then one line per complete trial,
    /// best first, reading exactly <c>top &lt;rank&gt; &lt;objective value&gt; &lt;hyper-parameters&gt;</c>, e.g.
    /// <c>top 1 0.0861 optimizer=adam lr=0.00412 batch=32</c>.
    /// </summary>
    /// <param name="writer">Where it goes.</param>
    /// <param name="top">How many trials to list.</param>
    public void Table(TextWriter writer, int top = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# {Sweep.Name}: {Trials.Count} trials ({Complete} complete, {Pruned} pruned, {Failed} failed), ranked by {Sweep.ObjectiveMetric} ({Sweep.Goal.ToString().ToLowerInvariant()})"));
        for (int i = 0; i < Math.Min(top, Ranked.Count); i++)
            writer.WriteLine($"top {i + 1} {FormatValue(Ranked[i].Value)} {Ranked[i].Describe()}");
    }

    /// <summary>
    /// Saves a PNG: one panel per hyper-parameter (the objective of every complete trial against its value; pruned
    /// trials in grey at the value they stopped with; log scale for log-uniform parameters, one column per value for
    /// grid and choice parameters), and a panel of learning curves: the objective by epoch of the
    /// <paramref name="topCurves"/> best trials, over the pruned trials' curves in grey.
    /// </summary>
    public void Plot(string path, int topCurves = 5, int panelWidth = 420, int height = 420)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Trials.Count == 0) throw new InvalidOperationException("The sweep recorded no trial: nothing to plot.");
        var parameters = Sweep.Space.Parameters;
        var multiplot = new Multiplot();
        multiplot.AddPlots(parameters.Count + 1);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var (yLow, yHigh) = YRange();
        for (int p = 0; p < parameters.Count; p++)
            ParameterPanel(multiplot.GetPlot(p), parameters[p], yLow, yHigh);
        CurvesPanel(multiplot.GetPlot(parameters.Count), topCurves, yLow, yHigh);
        byte[] png;
        using (var image = multiplot.Render(panelWidth * (parameters.Count + 1), height)) png = image.GetImageBytes(ImageFormat.Png);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, png);
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>A value as the table prints it: 4 decimals, or 4 significant digits outside [0.001, 10000).</summary>
    public static string FormatValue(double value)
    {
        double a = Math.Abs(value);
        return a is >= 1e-3 and < 1e4 || a == 0
            ? value.ToString("0.0000", CultureInfo.InvariantCulture)
            : value.ToString("G4", CultureInfo.InvariantCulture);
    }

    /// <summary>Whether <paramref name="a"/> ranks before <paramref name="b"/>: better value, then lower number.</summary>
    internal static bool Better(TrialRecord a, TrialRecord b, Goal goal)
    {
        if (a.Value != b.Value) return goal == Goal.Minimize ? a.Value < b.Value : a.Value > b.Value;
        return a.Number < b.Number;
    }

    // The y range of the complete trials' values, without the worst tenth (a diverged learning rate would squash the rest).
    private (double Low, double High) YRange()
    {
        var values = Trials.Where(t => t.State != TrialState.Failed).Select(t => t.Value).Where(double.IsFinite).Order().ToArray();
        if (values.Length == 0) return (0, 1);
        double low, high;
        if (Sweep.Goal == Goal.Minimize) { low = values[0]; high = values[(int)Math.Floor((values.Length - 1) * 0.9)]; }
        else { low = values[(int)Math.Ceiling((values.Length - 1) * 0.1)]; high = values[^1]; }
        double margin = Math.Max(1e-9, (high - low) * 0.08);
        return (low - margin, high + margin);
    }

    private void ParameterPanel(ScottPlot.Plot plot, Parameter parameter, double yLow, double yHigh)
    {
        double X(object value, int number)
        {
            if (parameter.IsCategorical)
            {
                int index = parameter.Values.Select((v, i) => (v, i)).First(x => Equals(x.v, value)).i;
                return index + ((number * 0.618034) % 1 - 0.5) * 0.35;   // spread a column's points, deterministically
            }
            double v = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            return parameter.Kind == ParameterKind.LogUniform ? Math.Log10(v) : v;
        }

        foreach (var (state, color, label) in new[] { (TrialState.Pruned, Colors.Gray.WithAlpha(0.6), "pruned (value when stopped)"), (TrialState.Complete, Colors.C0, "complete") })
        {
            var trials = Trials.Where(t => t.State == state && double.IsFinite(t.Value)).ToArray();
            if (trials.Length == 0) continue;
            var scatter = plot.Add.ScatterPoints(trials.Select(t => X(t.Parameters[parameter.Name], t.Number)).ToArray(), trials.Select(t => t.Value).ToArray(), color);
            scatter.MarkerSize = state == TrialState.Complete ? 7 : 5;
            scatter.LegendText = label;
        }
        if (Best is { } best)
        {
            var mark = plot.Add.ScatterPoints(new[] { X(best.Parameters[parameter.Name], best.Number) }, new[] { best.Value }, Colors.C3);
            mark.MarkerSize = 12;
            mark.MarkerShape = MarkerShape.OpenCircle;
            mark.LegendText = "best";
        }
        if (parameter.IsCategorical)
            plot.Axes.Bottom.SetTicks(Enumerable.Range(0, parameter.Values.Count).Select(i => (double)i).ToArray(),
                parameter.Values.Select(SearchSpace.Format).ToArray());
        else if (parameter.Kind == ParameterKind.LogUniform)
        {
            int from = (int)Math.Floor(Math.Log10(parameter.Low)), to = (int)Math.Ceiling(Math.Log10(parameter.High));
            var ticks = Enumerable.Range(from, to - from + 1).Select(e => (double)e).ToArray();
            plot.Axes.Bottom.SetTicks(ticks, ticks.Select(e => "1e" + e.ToString(CultureInfo.InvariantCulture)).ToArray());
        }
        plot.Title($"{Sweep.ObjectiveMetric} vs {parameter.Name}");
        plot.XLabel(parameter.Kind == ParameterKind.LogUniform ? $"{parameter.Name} (log scale)" : parameter.Name);
        plot.YLabel(Sweep.ObjectiveMetric);
        plot.ShowLegend(Sweep.Goal == Goal.Minimize ? Alignment.UpperRight : Alignment.LowerRight);
        plot.Axes.AutoScaleX();
        plot.Axes.SetLimitsY(yLow, yHigh);
    }

    private void CurvesPanel(ScottPlot.Plot plot, int top, double yLow, double yHigh)
    {
        string metric = Sweep.ObjectiveMetric;
        bool prunedLabelled = false;
        foreach (var t in Trials.Where(t => t.State == TrialState.Pruned && t.Epochs > 0))
        {
            var line = AddCurve(plot, t.Series(metric), Colors.Gray.WithAlpha(0.5), 1);
            if (!prunedLabelled) { line.LegendText = "pruned trials"; prunedLabelled = true; }
        }
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < Math.Min(top, Ranked.Count); i++)
        {
            var t = Ranked[i];
            var line = AddCurve(plot, t.Series(metric), palette.GetColor(i), 2);
            line.LegendText = $"top {i + 1}: {t.Describe()}";
        }
        plot.Title($"learning curves: {metric} of the top {Math.Min(top, Ranked.Count)}");
        plot.XLabel("epoch");
        plot.YLabel(metric);
        plot.ShowLegend(Sweep.Goal == Goal.Minimize ? Alignment.UpperRight : Alignment.LowerRight);
        plot.Axes.SetLimitsX(0.5, Sweep.EpochBudget + 0.5);
        plot.Axes.SetLimitsY(yLow, yHigh);
    }

    private static ScottPlot.Plottables.Scatter AddCurve(ScottPlot.Plot plot, IReadOnlyList<double> values, Color color, float width)
    {
        var line = plot.Add.Scatter(Enumerable.Range(1, values.Count).Select(e => (double)e).ToArray(), values.ToArray(), color);
        line.LineWidth = width;
        line.MarkerSize = 0;
        return line;
    }
}
