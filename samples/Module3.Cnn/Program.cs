using System.CommandLine;
using System.Globalization;
using Module3.Cnn;
using NetGen.Samples;

// Module 3: convolutional neural networks. `dotnet run --project samples/Module3.Cnn` runs the tour;
// a subcommand runs one part. `--device gpu` (or ilgpu-cpu) trains on a GPU (or ILGPU's CPU emulator).
var root = new RootCommand("NetGen course, module 3: convolution and pooling, ShallowNet, LeNet-5 and MiniVGGNet on MNIST. Without a subcommand: a short tour.");

var convolve = new Command("convolve", "The lecture's hand computations (edge kernels, max/average pooling, cross-correlation vs convolution, parameter counts), computed by generated networks.");
convolve.SetAction(_ => Convolutions.Run(Console.Out));

var model = new Option<string>("--model", "-m") { Description = "The network to train.", DefaultValueFactory = _ => CnnModel.LeNet.Name };
model.AcceptOnlyFromAmong([.. CnnModel.All.Select(m => m.Name)]);
var epochs = new Option<int?>("--epochs") { Description = $"Training epochs (default: {Defaults(m => m.Epochs.ToString())}; with --device ilgpu-cpu {Defaults(m => m.Emulator.Epochs.ToString())})." };
var data = new Option<DirectoryInfo?>("--data") { Description = $"A directory of MNIST-format IDX files (full MNIST or Fashion-MNIST, e.g. {NetGen.Data.Datasets.DebianFashionMnistDirectory}); default: the embedded 10,000-digit MNIST sample." };
var batch = new Option<int?>("--batch") { Description = $"Mini-batch size (default: {Defaults(m => m.BatchSize.ToString())})." };
var lr = new Option<double?>("--lr") { Description = $"SGD learning rate (default: {Defaults(m => m.LearningRate.ToString(CultureInfo.InvariantCulture))})." };
var trainSamples = new Option<int?>("--train-samples") { Description = $"Train on only the first N training samples (default: {Defaults(m => m.TrainSamples?.ToString() ?? "all")}; with --device ilgpu-cpu {Defaults(m => m.Emulator.TrainSamples.ToString())})." };
var testSamples = new Option<int?>("--test-samples") { Description = "Test on only the first N test samples (default: all; with --device ilgpu-cpu " +
    string.Join(", ", CnnModel.All.Select(m => $"{m.Name} {m.Emulator.TestSamples}")) + ")." };
var device = SampleDevice.CreateOption();
var output = new Option<DirectoryInfo>("--output") { Description = "Where to write the filter and feature-map PNGs.", DefaultValueFactory = _ => new DirectoryInfo("module3-images") };
var seed = new Option<int>("--seed") { Description = "Seeds the weights and the shuffling.", DefaultValueFactory = _ => 1 };
var train = new Command("train", "Trains a CNN, prints one line per epoch and the test accuracy, and draws the first layer's filters and feature maps.")
{
    model, epochs, data, batch, lr, trainSamples, testSamples, device, output, seed,
};
train.SetAction(r => SampleDevice.Run(r.GetValue(device)!, gpu => Train(new TrainOptions
{
    Model = r.GetValue(model)!,
    Epochs = r.GetValue(epochs),
    DataDirectory = r.GetValue(data)?.FullName,
    BatchSize = r.GetValue(batch),
    LearningRate = r.GetValue(lr),
    TrainSamples = r.GetValue(trainSamples),
    TestSamples = r.GetValue(testSamples),
    Device = gpu,
    OutputDirectory = r.GetValue(output)!.FullName,
    Seed = r.GetValue(seed),
})));

root.Subcommands.Add(convolve);
root.Subcommands.Add(train);
root.Options.Add(device);
root.SetAction(r => SampleDevice.Run(r.GetValue(device)!, gpu => { Tour.Run(Console.Out, device: gpu); return 0; }));
return root.Parse(args).Invoke();

static string Defaults(Func<CnnModel, string> setting) =>
    CnnModel.All.Select(setting).Distinct().Count() == 1
        ? setting(CnnModel.All[0])
        : string.Join(", ", CnnModel.All.Select(m => $"{m.Name} {setting(m)}"));

static int Train(TrainOptions options)
{
    try
    {
        Training.Run(Console.Out, options);
        return 0;
    }
    catch (Exception e) when (e is FileNotFoundException or InvalidDataException or ArgumentException or InvalidOperationException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
}
