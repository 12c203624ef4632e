using System.Text.RegularExpressions;
using Module2.Optimization;
using NetGen.Sweeps;

namespace NetGen.Sweeps.Tests;

/// <summary>The Module 2 sample's `sweep`, cut to a few trials and epochs: the lines scripts read, locally and through
/// the sample's own two in-process silos.</summary>
public sealed class SampleSweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netgen-sample-sweep-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task LocalAndClusterPrintTheSameTopTable()
    {
        var localOutput = new StringWriter();
        var local = await HyperparameterSweep.Run(localOutput, _dir, cluster: false, fresh: true, trials: 6, epochs: 4);
        var clusterOutput = new StringWriter();
        var cluster = await HyperparameterSweep.Run(clusterOutput, _dir, cluster: true, fresh: true, trials: 6, epochs: 4);

        var top = new Regex(@"^top (\d+) (\d+\.\d{4}) (optimizer=(sgd|momentum|adam) lr=[0-9.e-]+ batch=(16|32|64))\r?$", RegexOptions.Multiline);
        var localRows = top.Matches(localOutput.ToString()).Select(m => m.Value.TrimEnd('\r')).ToList();
        var clusterRows = top.Matches(clusterOutput.ToString()).Select(m => m.Value.TrimEnd('\r')).ToList();
        Assert.Equal(Math.Min(5, local.Complete), localRows.Count);
        Assert.Equal("top 1 " + SweepResults.FormatValue(local.Best!.Value) + " " + local.Best.Describe(), localRows[0]);
        // Every trial runs single-threaded from the same seed: the complete trials' values are the same wherever they ran.
        foreach (var t in cluster.Trials.Where(t => t.State == TrialState.Complete))
            if (local.Trials[t.Number].State == TrialState.Complete) Assert.Equal(local.Trials[t.Number].Value, t.Value);
        Assert.Contains("epochs run: ", localOutput.ToString());
        Assert.Contains("for a full run of every trial", clusterOutput.ToString());
        Assert.Contains("2-silo Orleans cluster", clusterOutput.ToString());
        Assert.NotEmpty(clusterRows);
        Assert.True(new FileInfo(Path.Combine(_dir, HyperparameterSweep.ImageName)).Length > 10_000);
        Assert.Equal(7, File.ReadAllLines(Path.Combine(_dir, "sweep-cluster.jsonl")).Length);
    }
}
