using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Detection;
using NetGen.Imaging;

namespace Module4.ObjectDetection;

/// <summary>Training, testing, comparing and the tour.</summary>
internal static class Lessons
{
    public static Detector Create(string model, int seed) => model switch
    {
        "yolo" => new YoloDetector(seed),
        "ssd" => new SsdDetector(seed),
        "rcnn" => new RcnnDetector(),
        _ => throw new ArgumentException($"Unknown model '{model}': use rcnn, yolo or ssd."),
    };

    public static (Dataset<float> Train, Dataset<float> Validation, Dataset<float> Test) Data(int trainCount, int testCount)
    {
        if (trainCount < 1 || testCount < 1) throw new ArgumentException("Generate at least one training and one test canvas.");
        return (DigitCanvases.Generate(trainCount, train: true), DigitCanvases.Generate(Math.Min(500, trainCount), train: true, seed: 3),
            DigitCanvases.Generate(testCount, train: false));
    }

    private static string F3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>The default largest canvas shift (pixels) of the training augmentation.</summary>
    public const int DefaultShift = 16;

    public static (double Map50, double Map, double TrainSeconds, Detector Detector) Train(TextWriter log, string model, int? epochs, int trainCount, int testCount, int seed, string outputDirectory,
        int shift = DefaultShift, string? checkpointDirectory = null)
    {
        var (train, validation, test) = Data(trainCount, testCount);
        var detector = Create(model, seed);
        int e = epochs ?? detector.DefaultEpochs;
        if (e < 1) throw new ArgumentException($"Train for at least 1 epoch; {e} were asked for.");
        if (shift < 0 || shift >= DigitCanvases.Size) throw new ArgumentException($"--shift is a number of pixels from 0 to {DigitCanvases.Size - 1}; {shift} was given.");
        string augmentation = model == "rcnn" ? "" : shift > 0 ? $"; canvas shifts up to ±{shift} px" : "; no augmentation";
        log.WriteLine($"{model}: {detector.Parameters:N0} parameters; {train.Count:N0} training canvases, {validation.Count} validation, {test.Count:N0} test; {e} epochs{augmentation}");
        var watch = Stopwatch.StartNew();
        // A checkpoint after every epoch (each file written atomically), so a run cut short leaves its last finished
        // epoch; the metadata says how many epochs of how many the weights have seen.
        List<string>? files = null;
        Action<int>? save = checkpointDirectory is null ? null : done => files = detector.Save(checkpointDirectory, new Dictionary<string, string>
        {
            ["model"] = model, ["epochs"] = done.ToString(CultureInfo.InvariantCulture), ["planned_epochs"] = e.ToString(CultureInfo.InvariantCulture),
            ["train_canvases"] = trainCount.ToString(CultureInfo.InvariantCulture),
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture), ["shift"] = shift.ToString(CultureInfo.InvariantCulture),
            ["training_seconds"] = watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture),
        });
        detector.Train(train, validation, e, seed, shift, log, save);
        double seconds = watch.Elapsed.TotalSeconds;
        if (files is not null)
            log.WriteLine($"saved {string.Join(", ", files.Select(Path.GetFileName))} to {checkpointDirectory} after each epoch (`compare` loads them)");
        var (map50, map) = Report(log, model, detector, test, outputDirectory);
        return (map50, map, seconds, detector);
    }

    /// <summary>Test mAP lines and the two PNGs of a trained detector.</summary>
    private static (double Map50, double Map) Report(TextWriter log, string model, Detector detector, Dataset<float> test, string outputDirectory)
    {
        var evaluator = detector.Evaluate(test);
        double map50 = evaluator.MeanAveragePrecision(), map = evaluator.CocoMeanAveragePrecision();
        log.WriteLine($"test mAP@0.75: {F3(evaluator.MeanAveragePrecision(0.75))}");
        log.WriteLine($"test mAP@0.5: {F3(map50)}");
        log.WriteLine($"test mAP@[.5:.95]: {F3(map)}");
        Directory.CreateDirectory(outputDirectory);
        string detections = Path.Combine(outputDirectory, $"{model}-test-detections.png");
        DrawTestCanvases(detector, test, detections);
        string pr = Path.Combine(outputDirectory, $"{model}-pr-curves.png");
        Drawing.PrecisionRecallCurve(evaluator).SavePng(pr);
        log.WriteLine($"wrote {detections} (8 test canvases: detections in colour with class and score, ground truth dashed white) and {pr}");
        return (map50, map);
    }

    public static void DrawTestCanvases(Detector detector, Dataset<float> test, string path)
    {
        var detections = detector.Detect(test, 0, Math.Min(8, test.Count));
        var images = new List<Image>();
        for (int k = 0; k < detections.Count; k++)
        {
            var image = Drawing.FromGrayscale(test.Features(k), DigitCanvases.Size, DigitCanvases.Size, scale: 4);
            Drawing.DrawDetections(image, detections[k].Where(d => d.Score >= 0.3f), DigitCanvases.Truth(test, k));
            images.Add(image);
        }
        Drawing.Mosaic(images, 4).SavePng(path);
    }

    /// <summary>Loads each detector from <paramref name="checkpointDirectory"/> (as `train` saved it), or trains it with
    /// its defaults and saves it when its files are missing or <paramref name="retrain"/> is set; then evaluates all
    /// three on the same test canvases.</summary>
    public static void Compare(TextWriter log, int trainCount, int testCount, int seed, string outputDirectory, string checkpointDirectory, bool retrain)
    {
        var (_, _, test) = Data(1, testCount);
        var rows = new List<(string Model, double Map50, double Map, double Ms, long Params, double Seconds)>();
        foreach (string model in new[] { "rcnn", "yolo", "ssd" })
        {
            log.WriteLine($"--- {model} ---");
            var detector = Create(model, seed);
            var metadata = retrain ? null : detector.Load(checkpointDirectory);
            double map50, map, seconds;
            if (metadata is null)
            {
                log.WriteLine(retrain ? "training (--retrain)" : $"no checkpoint of {model} in {checkpointDirectory}: training it with the defaults");
                (map50, map, seconds, detector) = Train(log, model, null, trainCount, testCount, seed, outputDirectory, checkpointDirectory: checkpointDirectory);
            }
            else
            {
                seconds = double.Parse(metadata.GetValueOrDefault("training_seconds", "NaN"), CultureInfo.InvariantCulture);
                string epochs = metadata.GetValueOrDefault("epochs", "?"), planned = metadata.GetValueOrDefault("planned_epochs", epochs);
                if (planned != epochs) epochs += $" of {planned} (the training run stopped early; `train --model {model}` again for the rest)";
                log.WriteLine($"loaded {model} from {checkpointDirectory}: {epochs} epochs on {metadata.GetValueOrDefault("train_canvases", "?")} canvases, " +
                    $"shift {metadata.GetValueOrDefault("shift", "?")}, seed {metadata.GetValueOrDefault("seed", "?")}, {metadata.GetValueOrDefault("training_seconds", "?")} s of training");
                (map50, map) = Report(log, model, detector, test, outputDirectory);
            }
            rows.Add((model, map50, map, detector.MillisecondsPerImage(test), detector.Parameters, seconds));
        }
        log.WriteLine();
        log.WriteLine("model  mAP@0.5  mAP@[.5:.95]  ms/image (batch 1)  parameters  training s");
        foreach (var r in rows)
            log.WriteLine(FormattableString.Invariant($"{r.Model,-5}  {r.Map50,7:0.000}  {r.Map,12:0.000}  {r.Ms,18:0.00}  {r.Params,10:N0}  {r.Seconds,10:0}"));
        foreach (var r in rows)
            log.WriteLine(FormattableString.Invariant($"compare {r.Model} mAP@0.5 {r.Map50:0.000} mAP@[.5:.95] {r.Map:0.000} ms/image {r.Ms:0.00} params {r.Params}"));
        var best50 = rows.MaxBy(r => r.Map50);
        var bestMap = rows.MaxBy(r => r.Map);
        var fastest = rows.MinBy(r => r.Ms);
        var smallest = rows.MinBy(r => r.Params);
        log.WriteLine($"mAP@0.5: {best50.Model} wins — " + Why(best50.Model, "map50"));
        log.WriteLine($"mAP@[.5:.95]: {bestMap.Model} wins — " + Why(bestMap.Model, "map"));
        log.WriteLine($"speed: {fastest.Model} wins — " + Why(fastest.Model, "speed"));
        log.WriteLine($"size: {smallest.Model} wins — " + Why(smallest.Model, "size"));
    }

    private static string Why(string model, string what) => (model, what) switch
    {
        ("rcnn", "size") => "its only network is a 28×28 LeNet; the work is in running it on every proposal, not in parameters.",
        ("rcnn", "speed") => "unusually few proposals survived the ink filter on these sparse canvases.",
        ("rcnn", _) => "a classifier that sees each digit centred and scaled in its own crop is hard to beat on the class, and the windows are dense.",
        (_, "speed") => "one forward pass of the whole canvas at batch 1, against hundreds of LeNet passes for R-CNN's proposals.",
        (_, "size") => "its convolutional backbone and head are the smallest that reach the target.",
        ("yolo", "map") => "its box offsets are regressed from every grid cell with the anchor nearest in shape, so boxes are tight at high IoU thresholds.",
        ("ssd", "map") => "default boxes on two scales with variance-scaled offsets regress tight boxes, and hard-negative mining keeps the background from swamping the classes.",
        ("yolo", _) => "one box per anchor slot of the cell holding the centre, trained with a strong box term (λ_coord = 5), finds almost every digit with a confident class.",
        _ => "default boxes on two scales match every digit to several anchors, so recall is high at IoU 0.5.",
    };

    public static void Tour(TextWriter log, string outputDirectory)
    {
        BoxesLesson.Run(log, outputDirectory);
        log.WriteLine();
        log.WriteLine("A short YOLO run (2,000 canvases, 4 epochs; `train --model yolo` trains on 10,000 for 15 epochs):");
        Train(log, "yolo", 4, 2000, 200, 1, outputDirectory);
    }
}
