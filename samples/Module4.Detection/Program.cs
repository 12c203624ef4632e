using System.CommandLine;
using Module4.ObjectDetection;

// Module 4: object detection. `dotnet run --project samples/Module4.Detection` runs the tour; a subcommand runs one part.
var root = new RootCommand("NetGen course, module 4: object detection — IoU, NMS, anchors, and R-CNN vs YOLO vs SSD on digits-on-a-canvas images. Without a subcommand: a short tour.");
var output = new Option<DirectoryInfo>("--output") { Description = "Where to write the PNGs.", DefaultValueFactory = _ => new DirectoryInfo("module4-images") };

var boxes = new Command("boxes", "IoU by hand on the lecture's examples, NMS before and after on a crowded example, and an SSD feature map's default boxes drawn on a canvas.") { output };
boxes.SetAction(r => { BoxesLesson.Run(Console.Out, r.GetValue(output)!.FullName); return 0; });

var model = new Option<string>("--model", "-m") { Description = "The detector to train.", DefaultValueFactory = _ => "yolo" };
model.AcceptOnlyFromAmong("rcnn", "yolo", "ssd");
var epochs = new Option<int?>("--epochs") { Description = "Training epochs (default: rcnn 6, yolo 10, ssd 10)." };
var trainCount = new Option<int>("--train-canvases") { Description = "Training canvases, generated from a seed.", DefaultValueFactory = _ => 10_000 };
var testCount = new Option<int>("--test-canvases") { Description = "Test canvases (from unseen digits).", DefaultValueFactory = _ => 1_000 };
var seed = new Option<int>("--seed") { Description = "Seeds the weights and the shuffling.", DefaultValueFactory = _ => 1 };
var shift = new Option<int>("--shift") { Description = "Training augmentation: shift each canvas (and its boxes) by up to this many pixels, keeping every box inside; 0 for none (yolo and ssd).", DefaultValueFactory = _ => Lessons.DefaultShift };
var checkpoints = new Option<DirectoryInfo>("--checkpoints") { Description = "Where `train` saves the trained networks and `compare` loads them from.", DefaultValueFactory = _ => new DirectoryInfo("module4-checkpoints") };
var threads = new Option<int>("--threads") { Description = "Threads the generated kernels may use (NetGen.Parallelism.MaxThreads), like torch.set_num_threads.", DefaultValueFactory = _ => Environment.ProcessorCount, Recursive = true };
var retrain = new Option<bool>("--retrain") { Description = "Train all three again instead of loading their checkpoints." };
var train = new Command("train", "Trains one detector, prints the loss and validation mAP@0.5 per epoch, the test mAP@0.5 and mAP@[.5:.95], and draws eight test canvases with detections and ground truth.")
{
    model, epochs, trainCount, testCount, seed, shift, output, checkpoints,
};
train.SetAction(r => Run(() => Lessons.Train(Console.Out, r.GetValue(model)!, r.GetValue(epochs), r.GetValue(trainCount), r.GetValue(testCount), r.GetValue(seed), r.GetValue(output)!.FullName,
    r.GetValue(shift), r.GetValue(checkpoints)!.FullName)));

var compare = new Command("compare", "Loads the three detectors `train` saved (training any that is missing, with its defaults) and prints mAP@0.5, mAP@[.5:.95], ms per image at batch 1, parameters and training seconds, and who wins what.")
{
    trainCount, testCount, seed, output, checkpoints, retrain,
};
compare.SetAction(r => Run(() => Lessons.Compare(Console.Out, r.GetValue(trainCount), r.GetValue(testCount), r.GetValue(seed), r.GetValue(output)!.FullName,
    r.GetValue(checkpoints)!.FullName, r.GetValue(retrain))));

root.Subcommands.Add(boxes);
root.Subcommands.Add(train);
root.Subcommands.Add(compare);
root.Options.Add(output);
root.Options.Add(threads);
root.SetAction(r => Run(() => Lessons.Tour(Console.Out, r.GetValue(output)!.FullName)));
return root.Parse(args).Invoke();

int Run(Action action)
{
    try
    {
        NetGen.Parallelism.MaxThreads = Math.Clamp(root.Parse(args).GetValue(threads), 1, 256);
        action();
        return 0;
    }
    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
}
