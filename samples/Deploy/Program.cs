using System.Globalization;
using NetGen;
using NetGen.Data;
using NetGen.Imaging;
using NetGen.Samples.Digits;

// digits <file.png>             prints "digit: <d> (p = 0.xx)"; exit code 2 (one line on stderr) when the file is
//                               missing or not an image, 0 otherwise.
// digits train [--out FILE]     trains the LeNet whose weights the app embeds (samples/Shared/lenet-mnist.safetensors).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length >= 1 && args[0] == "train")
    return Train(args.Length >= 3 && args[1] == "--out" ? args[2] : Path.Combine("samples", "Shared", DigitReader.WeightsResource));
if (args.Length != 1 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: digits <file.png>   (prints \"digit: <d> (p = 0.xx)\"; or: digits train [--out FILE])");
    return 2;
}

string path = args[0];
Image image;
try
{
    image = Image.Load(path);
}
catch (FileNotFoundException)
{
    Console.Error.WriteLine($"digits: no such file: {path}");
    return 2;
}
catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"digits: {path} is not a readable image ({Image.SupportedFormats}): {e.Message.Split('\n')[0]}");
    return 2;
}

var net = DigitReader.LoadEmbedded();
var (digit, p) = DigitReader.Classify(net, DigitReader.FromImage(image));
Console.WriteLine($"digit: {digit} (p = {p:0.00})");
return 0;

// Trains LeNet on the embedded MNIST sample (first 8,000 digits; the last 2,000 test), as Module 3 does, and saves it.
static int Train(string output)
{
    var all = Datasets.MnistSample<float>();
    var train = all.Subset(Enumerable.Range(0, 8000).ToArray());
    var test = all.Subset(Enumerable.Range(8000, 2000).ToArray());
    var net = new DigitsLeNet(maxBatch: 32, seed: 7);
    Console.WriteLine(DigitsLeNet.Summary);
    Trainer.Fit(net, train, epochs: 12, batchSize: 32, new Sgd(0.1), seed: 7, log: Console.Out, verbose: 2);
    net.Training = false;
    var (loss, accuracy) = Trainer.Evaluate(net, test);
    Console.WriteLine($"test accuracy: {accuracy:0.000} (loss {loss:0.0000}) on the last 2,000 digits of the embedded MNIST sample");
    Checkpoint.Save(net, output, new Dictionary<string, string>
    {
        ["network"] = "DigitsLeNet",
        ["data"] = "embedded MNIST sample: first 8000 digits, 12 epochs, batch 32, SGD 0.1, seed 7",
        ["test_accuracy"] = accuracy.ToString("0.0000", CultureInfo.InvariantCulture),
    });
    Console.WriteLine($"saved {output}");
    return 0;
}
