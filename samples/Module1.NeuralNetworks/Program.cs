using System.CommandLine;
using Module1.NeuralNetworks;
using NetGen.Samples;

// Module 1: neural network basics. `dotnet run --project samples/Module1.NeuralNetworks` runs the whole tour;
// a subcommand runs one part. `--device gpu` (or ilgpu-cpu) trains the XOR and digits MLPs on a GPU (or ILGPU's CPU emulator).
var root = new RootCommand("NetGen course, module 1: perceptron, backpropagation, MLPs, image basics. Without a subcommand: the whole tour.");

var perceptron = new Command("perceptron", "Rosenblatt's perceptron learns AND and OR, and fails on XOR.");
perceptron.SetAction(_ => Tour.Perceptrons(Console.Out));

var backprop = new Command("backprop", "The lecture's 2-2-2 worked example: forward pass, error, one backprop step, printed by Explain.");
backprop.SetAction(_ => Tour.Backprop(Console.Out));

var device = SampleDevice.CreateOption();
var graph = new Command("graph", "Backpropagation on cs231n's computational graphs: (x + y)·z in plain C#, then the sigmoid neuron as a generated network, printed by Explain.");
graph.SetAction(_ => { Tour.Graph(Console.Out); });

var xor = new Command("xor", "A 2-4-1 sigmoid MLP learns XOR.") { device };
xor.SetAction(r => SampleDevice.Run(r.GetValue(device)!, gpu => Tour.Xor(Console.Out, device: gpu) ? 0 : 1));

var epochs = new Option<int?>("--epochs") { Description = $"Training epochs (default: {Tour.DigitsEpochs}; {Tour.DigitsEmulatorEpochs} with --device ilgpu-cpu)." };
var digits = new Command("digits", "An MLP on the embedded UCI 8×8 digits; ends with the held-out test accuracy.") { epochs, device };
digits.SetAction(r => SampleDevice.Run(r.GetValue(device)!, gpu => { Tour.Digits(Console.Out, r.GetValue(epochs), device: gpu); return 0; }));

var file = new Argument<FileInfo?>("file") { Description = "A PNG/JPEG/BMP image; without one the sample draws its own.", Arity = ArgumentArity.ZeroOrOne };
var output = new Option<DirectoryInfo>("--output") { Description = "Where to write the PNG results.", DefaultValueFactory = _ => new DirectoryInfo("module1-images") };
var image = new Command("image", "Image fundamentals: size, pixels, resizing, centre-crop, conversion to a network input.") { file, output };
image.SetAction(r => RunImage(r.GetValue(file), r.GetValue(output)!));

root.Subcommands.Add(perceptron);
root.Subcommands.Add(backprop);
root.Subcommands.Add(graph);
root.Subcommands.Add(xor);
root.Subcommands.Add(digits);
root.Subcommands.Add(image);
root.Options.Add(device);
root.SetAction(r => SampleDevice.Run(r.GetValue(device)!, gpu =>
{
    Tour.Perceptrons(Console.Out);
    Tour.Backprop(Console.Out, explain: false);
    Tour.Graph(Console.Out);
    Tour.Xor(Console.Out, device: gpu);
    Tour.Digits(Console.Out, device: gpu);
    return RunImage(null, new DirectoryInfo("module1-images"));
}));
return root.Parse(args).Invoke();

static int RunImage(FileInfo? file, DirectoryInfo output)
{
    try
    {
        output.Create();
        Console.WriteLine("== Image fundamentals");
        ImageBasics.Run(file?.FullName, output.FullName, Console.Out);
        return 0;
    }
    catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
}
