using System.Globalization;
using System.Text.RegularExpressions;
using Module4.ObjectDetection;

namespace NetGen.Tests.Samples;

/// <summary>The Module 4 sample's claims on its own code: the IoU arithmetic it prints, NMS before/after, and the
/// train → checkpoint → compare path on a few canvases (seconds): the lines scripts read, the PNGs, and that compare's
/// loaded detector scores exactly what train printed for it.</summary>
public class Module4SampleTests
{
    [Fact]
    public void BoxesPrintsTheIouArithmeticAndNms()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"netgen-m4-boxes-{Environment.ProcessId}");
        try
        {
            var log = new StringWriter();
            BoxesLesson.Run(log, dir);
            string s = log.ToString();
            Assert.Contains("intersection 5×5 = 25; union 100 + 100 − 25 = 175; IoU = 25/175 = 0.143", s);
            Assert.Contains("IoU = 36/100 = 0.36", s);
            Assert.Contains("IoU = 0/200 = 0", s);
            Assert.Contains("7 detections -> 3", s);
            Assert.True(File.Exists(Path.Combine(dir, "ssd-default-boxes.png")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TrainSavesACheckpointThatCompareLoadsAndScoresTheSame()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"netgen-m4-{Environment.ProcessId}");
        string images = Path.Combine(dir, "images"), checkpoints = Path.Combine(dir, "checkpoints");
        try
        {
            var log = new StringWriter();
            var (map50, map, seconds, _) = Lessons.Train(log, "yolo", 1, 64, 20, 1, images, shift: 16, checkpointDirectory: checkpoints);
            string trained = log.ToString();
            Assert.True(Regex.IsMatch(trained, @"^Epoch 1/1 - .*loss: .*val_map50: \d\.\d{4}", RegexOptions.Multiline), trained);
            var line50 = Regex.Match(trained, @"^test mAP@0\.5: (\d\.\d{3})\r?$", RegexOptions.Multiline);
            Assert.True(line50.Success, trained);
            Assert.Equal(map50.ToString("0.000", CultureInfo.InvariantCulture), line50.Groups[1].Value);
            Assert.Matches(new Regex(@"^test mAP@\[\.5:\.95\]: \d\.\d{3}\r?$", RegexOptions.Multiline), trained);
            Assert.InRange(map, 0, map50 + 1e-9);
            Assert.True(seconds > 0);
            foreach (var png in new[] { "yolo-test-detections.png", "yolo-pr-curves.png" })
                Assert.True(new FileInfo(Path.Combine(images, png)).Length > 1000, png);
            Assert.True(File.Exists(Path.Combine(checkpoints, "yolo.safetensors")));

            // compare: yolo from its checkpoint (not retrained), rcnn and ssd trained with their defaults on the same 64
            // canvases because they have none; one line per model in the format scripts read.
            var compared = new StringWriter();
            Lessons.Compare(compared, 64, 20, 1, images, checkpoints, retrain: false);
            string c = compared.ToString();
            Assert.Contains("loaded yolo from", c);
            Assert.Contains("no checkpoint of ssd", c);
            var lines = Regex.Matches(c, @"^compare (\w+) mAP@0\.5 (\d\.\d{3}) mAP@\[\.5:\.95\] (\d\.\d{3}) ms/image (\d+\.\d{2}) params (\d+)\r?$", RegexOptions.Multiline);
            Assert.Equal(["rcnn", "yolo", "ssd"], lines.Select(m => m.Groups[1].Value).ToArray());
            var yolo = lines[1];
            Assert.Equal(line50.Groups[1].Value, yolo.Groups[2].Value);   // the loaded weights are the trained ones
            Assert.Equal(YoloNet.ParameterCount.ToString(CultureInfo.InvariantCulture), yolo.Groups[5].Value);
            Assert.Equal((SsdBackbone.ParameterCount + SsdHead8.ParameterCount + SsdBranch4.ParameterCount).ToString(CultureInfo.InvariantCulture), lines[2].Groups[5].Value);
            Assert.Equal(RcnnLeNet.ParameterCount.ToString(CultureInfo.InvariantCulture), lines[0].Groups[5].Value);
            Assert.True(File.Exists(Path.Combine(checkpoints, "ssd-branch4.safetensors")) && File.Exists(Path.Combine(checkpoints, "rcnn-lenet.safetensors")));
            foreach (var what in new[] { "mAP@0.5: ", "mAP@[.5:.95]: ", "speed: ", "size: " }) Assert.Contains(what, c);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    /// <summary>A writer that fails when a line starting with <paramref name="prefix"/> is written: a run interrupted
    /// just as its second epoch ends.</summary>
    private sealed class InterruptingWriter(string prefix) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            if (value is not null && value.StartsWith(prefix, StringComparison.Ordinal)) throw new OperationCanceledException("interrupted");
            base.WriteLine(value);
        }
    }

    [Fact]
    public void TrainCheckpointsEveryEpochSoAnInterruptedRunLeavesItsLastEpoch()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"netgen-m4-cut-{Environment.ProcessId}");
        string images = Path.Combine(dir, "images"), checkpoints = Path.Combine(dir, "checkpoints");
        try
        {
            Assert.Throws<OperationCanceledException>(() =>
                Lessons.Train(new InterruptingWriter("Epoch 2/3"), "yolo", 3, 32, 8, 1, images, shift: 0, checkpointDirectory: checkpoints));
            var metadata = Checkpoint.Load(new YoloNet(), Path.Combine(checkpoints, "yolo.safetensors")).Metadata;
            Assert.Equal("1", metadata["epochs"]);
            Assert.Equal("3", metadata["planned_epochs"]);
            Assert.NotNull(Lessons.Create("yolo", 1).Load(checkpoints));   // what `compare` loads (and says is 1 of 3 epochs)
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
