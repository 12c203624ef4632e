using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetGen.Detection;
using NetGen.Tests.Oracle;
using Xunit.Abstractions;

namespace NetGen.Tests.ObjectDetection;

/// <summary>
/// NetGen.Detection against torchvision 0.14 (box_iou, nms, batched_nms: ≥ 1,000 random cases with ties in score,
/// duplicate and degenerate boxes, the kept indices exactly), torch autograd of the YOLO loss formula (written again
/// in the Python script), and an independent NumPy implementation of the VOC devkit's voc_eval (AP per class, mAP at
/// IoU 0.5 … 0.95). One Python run computes every case.
/// </summary>
public class DetectionOracleTests(ITestOutputHelper output)
{
    private static readonly Lazy<(JsonObject Input, JsonDocument Torch)> Oracle = new(Run);

    private static Box RandomBox(SeededRandom rng, bool grid)
    {
        if (grid)
        {
            // Coordinates on a coarse grid: many exact ties in IoU and duplicates; one in eight degenerate (zero width or height).
            int x1 = rng.NextInt(8), y1 = rng.NextInt(8);
            int w = rng.NextInt(8) == 0 ? 0 : 1 + rng.NextInt(5), h = rng.NextInt(8) == 0 ? 0 : 1 + rng.NextInt(5);
            return new Box(x1, y1, x1 + w, y1 + h);
        }
        float x = (float)rng.NextDouble(0, 100), y = (float)rng.NextDouble(0, 100);
        return new Box(x, y, x + (float)rng.NextDouble(0, 40), y + (float)rng.NextDouble(0, 40));
    }

    internal static (Box[] Boxes, float[] Scores, int[] Classes) NmsCase(int index)
    {
        var rng = new SeededRandom(1000 + index);
        bool grid = index % 2 == 0;
        int n = index % 100 == 7 ? 1100 + rng.NextInt(200) : index % 50 == 3 ? 0 : 1 + rng.NextInt(60);   // some above torchvision's 1,000-box switch, some empty
        var boxes = new Box[n];
        var scores = new float[n];
        var classes = new int[n];
        for (int i = 0; i < n; i++)
        {
            boxes[i] = RandomBox(rng, grid);
            scores[i] = index % 3 == 0 ? rng.NextInt(5) / 4f : (float)rng.NextDouble();   // a third with many tied scores
            classes[i] = rng.NextInt(4);
        }
        return (boxes, scores, classes);
    }

    private static JsonArray Rows(IEnumerable<Box> boxes) =>
        new(boxes.Select(b => (JsonNode)new JsonArray((double)b.X1, (double)b.Y1, (double)b.X2, (double)b.Y2)).ToArray());

    private static JsonArray Numbers(IEnumerable<float> values) => new(values.Select(v => (JsonNode)JsonValue.Create((double)v)).ToArray());

    internal const int Cases = 1000;

    private static (JsonObject, JsonDocument) Run()
    {
        var input = new JsonObject();
        var iou = new JsonArray();
        for (int k = 0; k < 200; k++)
        {
            var rng = new SeededRandom(k);
            var a = Enumerable.Range(0, 1 + rng.NextInt(20)).Select(_ => RandomBox(rng, k % 2 == 0)).ToArray();
            var b = Enumerable.Range(0, 1 + rng.NextInt(20)).Select(_ => RandomBox(rng, k % 2 == 0)).ToArray();
            iou.Add(new JsonObject { ["a"] = Rows(a), ["b"] = Rows(b) });
        }
        input["iou"] = iou;
        var nms = new JsonArray();
        for (int k = 0; k < Cases; k++)
        {
            var (boxes, scores, classes) = NmsCase(k);
            double threshold = new[] { 0.3, 0.5, 0.7, 0.0, 1.0 / 3 }[k % 5];
            nms.Add(new JsonObject
            {
                ["boxes"] = Rows(boxes), ["scores"] = Numbers(scores),
                ["classes"] = new JsonArray(classes.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()), ["iou"] = threshold,
            });
        }
        input["nms"] = nms;
        var yolo = new JsonArray();
        foreach (var c in YoloCases()) yolo.Add(c.Json);
        input["yolo"] = yolo;
        var map = new JsonArray();
        foreach (var c in MapCases()) map.Add(c.Json);
        input["map"] = map;

        string dir = Path.Combine(Path.GetTempPath(), "netgen-detection-oracle-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string inputPath = Path.Combine(dir, "input.json"), resultPath = Path.Combine(dir, "output.json");
        File.WriteAllText(inputPath, input.ToJsonString());
        string script = Path.Combine(AppContext.BaseDirectory, "Detection", "detection_oracle.py");
        var (exitCode, stdout, stderr, timedOut) = TorchOracle.Run(TorchOracle.Python!, [script, inputPath, resultPath], TimeSpan.FromSeconds(300));
        if (timedOut) throw new TimeoutException("detection_oracle.py did not finish within 300 s");
        if (exitCode != 0) throw new InvalidOperationException($"detection_oracle.py exited with {exitCode}:\n{stderr}\n{stdout}");
        return (input, JsonDocument.Parse(File.ReadAllText(resultPath)));
    }

    internal sealed record YoloCase(YoloLoss Loss, float[] Output, float[] Target, int Batch, JsonObject Json);

    internal static List<YoloCase> YoloCases()
    {
        var cases = new List<YoloCase>();
        for (int k = 0; k < 4; k++)
        {
            var rng = new SeededRandom(500 + k);
            int grid = 3 + k % 2, boxes = 1 + k % 2, classes = 3, maxObjects = 3, batch = 2;
            var loss = new YoloLoss(grid, boxes, classes, maxObjects, anchors: boxes == 1 ? [(0.3f, 0.4f)] : [(0.2f, 0.3f), (0.4f, 0.35f)]);
            var output = new float[batch * loss.OutputSize];
            for (int i = 0; i < output.Length; i++) output[i] = (float)rng.NextDouble(-2, 2);
            var target = new float[batch * maxObjects * 5];
            for (int n = 0; n < batch; n++)
            {
                var objects = new List<DetectedBox>();
                int count = 1 + rng.NextInt(maxObjects);
                for (int o = 0; o < count; o++)
                {
                    float w = (float)rng.NextDouble(0.1, 0.5), h = (float)rng.NextDouble(0.1, 0.5);
                    float x = (float)rng.NextDouble(0, 1 - w), y = (float)rng.NextDouble(0, 1 - h);
                    if (k == 3 && o == 1) { var first = objects[0].Box; x = first.X1 + 0.01f; y = first.Y1 + 0.01f; }   // two objects in one cell
                    objects.Add(new DetectedBox(new Box(x, y, x + w, y + h), rng.NextInt(classes), 1));
                }
                DetectionTargets.Write(objects, target.AsSpan(n * maxObjects * 5, maxObjects * 5));
            }
            var json = new JsonObject
            {
                ["grid"] = grid, ["boxes"] = boxes, ["classes"] = classes, ["maxObjects"] = maxObjects, ["batch"] = batch,
                ["lambdaCoord"] = loss.LambdaCoord, ["lambdaNoObject"] = loss.LambdaNoObject,
                ["anchors"] = new JsonArray(loss.Anchors.Select(a => (JsonNode)new JsonArray((double)a.W, (double)a.H)).ToArray()),
                ["output"] = Numbers(output), ["target"] = Numbers(target),
            };
            cases.Add(new YoloCase(loss, output, target, batch, json));
        }
        return cases;
    }

    internal sealed record MapCase(List<(List<DetectedBox> Detections, List<DetectedBox> Truth)> Images, int Classes, JsonObject Json);

    internal static List<MapCase> MapCases()
    {
        var cases = new List<MapCase>();
        for (int k = 0; k < 30; k++)
        {
            var rng = new SeededRandom(900 + k);
            int classes = 1 + rng.NextInt(4);
            var images = new List<(List<DetectedBox>, List<DetectedBox>)>();
            var json = new JsonArray();
            for (int i = 0; i < 1 + rng.NextInt(12); i++)
            {
                var truth = new List<DetectedBox>();
                for (int g = 0; g < rng.NextInt(4); g++) truth.Add(new DetectedBox(RandomBox(rng, false), rng.NextInt(classes), 1));
                var detections = new List<DetectedBox>();
                foreach (var g in truth)
                    for (int d = 0; d < rng.NextInt(3); d++)   // jittered copies of the truth: true positives and duplicates
                    {
                        var b = g.Box;
                        float j = (float)rng.NextDouble(0, 12);
                        detections.Add(new DetectedBox(new Box(b.X1 + j, b.Y1 - j / 2, b.X2 + j / 3, b.Y2), rng.NextInt(8) == 0 ? rng.NextInt(classes) : g.Class,
                            k % 2 == 0 ? rng.NextInt(4) / 4f + 0.25f : (float)rng.NextDouble()));
                    }
                for (int d = 0; d < rng.NextInt(4); d++) detections.Add(new DetectedBox(RandomBox(rng, false), rng.NextInt(classes), (float)rng.NextDouble()));
                images.Add((detections, truth));
                json.Add(new JsonObject
                {
                    ["truth"] = new JsonArray(truth.Select(g => (JsonNode)new JsonArray((double)g.Class, (double)g.Box.X1, (double)g.Box.Y1, (double)g.Box.X2, (double)g.Box.Y2)).ToArray()),
                    ["detections"] = new JsonArray(detections.Select(d => (JsonNode)new JsonArray((double)d.Class, (double)d.Score, (double)d.Box.X1, (double)d.Box.Y1, (double)d.Box.X2, (double)d.Box.Y2)).ToArray()),
                });
            }
            cases.Add(new MapCase(images, classes, new JsonObject { ["classes"] = classes, ["images"] = json }));
        }
        return cases;
    }

    [TorchFact]
    public void IouEqualsTorchvisionBoxIou()
    {
        var (input, torch) = Oracle.Value;
        var results = torch.RootElement.GetProperty("iou");
        int cases = 0, values = 0, nan = 0;
        float maxDiff = 0;
        foreach (var (c, k) in input["iou"]!.AsArray().Select((c, k) => (c!, k)))
        {
            var a = ReadBoxes(c["a"]!.AsArray());
            var b = ReadBoxes(c["b"]!.AsArray());
            var mine = new float[a.Length * b.Length];
            BoxOps.Iou(a, b, mine);
            var theirs = results[k].EnumerateArray().ToArray();
            Assert.Equal(theirs.Length, mine.Length);
            for (int i = 0; i < mine.Length; i++)
            {
                values++;
                if (theirs[i].ValueKind == JsonValueKind.Null) { Assert.True(float.IsNaN(mine[i]), $"case {k} entry {i}: torchvision NaN, NetGen {mine[i]}"); nan++; continue; }
                maxDiff = Math.Max(maxDiff, Math.Abs(mine[i] - (float)theirs[i].GetDouble()));
            }
            cases++;
        }
        output.WriteLine($"box_iou: {cases} cases, {values} IoUs ({nan} NaN from degenerate pairs), max |difference| {maxDiff:E2}");
        Assert.Equal(0f, maxDiff);
    }

    [TorchFact]
    public void NmsAndBatchedNmsKeepExactlyTorchvisionsIndices()
    {
        var (input, torch) = Oracle.Value;
        var results = torch.RootElement.GetProperty("nms").EnumerateArray().ToArray();
        int kept = 0, large = 0;
        for (int k = 0; k < Cases; k++)
        {
            var (boxes, scores, classes) = NmsCase(k);
            double threshold = input["nms"]![k]!["iou"]!.GetValue<double>();
            var expected = results[k].GetProperty("nms").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var expectedBatched = results[k].GetProperty("batched").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(Nms.Apply(boxes, scores, threshold)), $"nms case {k} ({boxes.Length} boxes, IoU {threshold}): torchvision [{string.Join(",", expected)}], NetGen [{string.Join(",", Nms.Apply(boxes, scores, threshold))}]");
            var batched = Nms.Batched(boxes, scores, classes, threshold);
            if (boxes.Length > 1000)
            {
                // Above 1,000 boxes torchvision orders the kept boxes with an unstable torch.sort, so tied scores may come
                // in any order: the kept set must be equal, and NetGen's order is by descending score, ties by index.
                Assert.True(expectedBatched.Order().SequenceEqual(batched.Order()), $"batched_nms case {k}: the kept sets differ");
                for (int i = 1; i < batched.Length; i++)
                    Assert.True(scores[batched[i - 1]] > scores[batched[i]] || (scores[batched[i - 1]] == scores[batched[i]] && batched[i - 1] < batched[i]));
            }
            else Assert.True(expectedBatched.SequenceEqual(batched), $"batched_nms case {k}: torchvision [{string.Join(",", expectedBatched)}], NetGen [{string.Join(",", batched)}]");
            kept += expected.Length;
            if (boxes.Length > 1000) large++;
        }
        output.WriteLine($"nms and batched_nms: {Cases} cases ({large} above 1,000 boxes), {kept} kept indices, identical to torchvision (batched above 1,000 boxes: the same set) {torch.RootElement.GetProperty("torchvision").GetString()}");
    }

    [TorchFact]
    public void YoloLossAndGradientEqualTorchAutograd()
    {
        var (_, torch) = Oracle.Value;
        var results = torch.RootElement.GetProperty("yolo").EnumerateArray().ToArray();
        var cases = YoloCases();
        double maxRel = 0;
        for (int k = 0; k < cases.Count; k++)
        {
            var c = cases[k];
            var gradient = new float[c.Output.Length];
            float loss = c.Loss.ValueAndGradient(c.Output, c.Target, c.Batch, gradient);
            double expected = results[k].GetProperty("loss").GetDouble();
            Assert.Equal(expected, loss, Math.Max(1e-5 * Math.Abs(expected), 1e-5));
            var g = results[k].GetProperty("gradient").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int i = 0; i < g.Length; i++)
            {
                double diff = Math.Abs(gradient[i] - g[i]);
                Assert.True(diff <= 1e-5 + 1e-4 * Math.Abs(g[i]), $"YOLO case {k}, output {i}: NetGen {gradient[i]}, torch {g[i]}");
                maxRel = Math.Max(maxRel, diff / Math.Max(1e-3, Math.Abs(g[i])));
            }
        }
        output.WriteLine($"YOLO loss: {cases.Count} cases, loss and every gradient entry equal torch autograd (float64) within float rounding, max relative difference {maxRel:E2}");
    }

    [TorchFact]
    public void MeanAveragePrecisionEqualsTheNumPyVocDevkit()
    {
        var (_, torch) = Oracle.Value;
        var results = torch.RootElement.GetProperty("map").EnumerateArray().ToArray();
        var cases = MapCases();
        double maxDiff = 0;
        for (int k = 0; k < cases.Count; k++)
        {
            var evaluator = new DetectionEvaluator(cases[k].Classes);
            foreach (var (d, t) in cases[k].Images) evaluator.Add(d, t);
            for (int t = 0; t < 10; t++)
            {
                double threshold = 0.5 + 0.05 * t;
                double expected = results[k].GetProperty(threshold.ToString("0.00", CultureInfo.InvariantCulture)).GetDouble();
                double mine = evaluator.MeanAveragePrecision(threshold);
                maxDiff = Math.Max(maxDiff, Math.Abs(mine - expected));
                Assert.True(Math.Abs(mine - expected) < 1e-12, $"mAP case {k} at IoU {threshold}: NumPy {expected}, NetGen {mine}");
            }
            var ap = results[k].GetProperty("ap50").EnumerateArray().ToArray();
            for (int c = 0; c < cases[k].Classes; c++)
                if (ap[c].ValueKind == JsonValueKind.Null) Assert.True(double.IsNaN(evaluator.AveragePrecision(c)));
                else Assert.Equal(ap[c].GetDouble(), evaluator.AveragePrecision(c), 12);
        }
        output.WriteLine($"VOC AP/mAP: {cases.Count} cases × 10 IoU thresholds equal the NumPy voc_eval, max |difference| {maxDiff:E2}");
    }

    private static Box[] ReadBoxes(JsonArray rows) =>
        rows.Select(r => new Box((float)r![0]!.GetValue<double>(), (float)r[1]!.GetValue<double>(), (float)r[2]!.GetValue<double>(), (float)r[3]!.GetValue<double>())).ToArray();
}
