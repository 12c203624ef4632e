using System.CommandLine;
using Module5.Sequences;

// Module 5: recurrent networks. `dotnet run --project samples/Module5.Sequences` runs the tour; a subcommand runs one part.
var root = new RootCommand("NetGen course, module 5: recurrent networks — vanishing gradients, the adding problem, MNIST row by row, a character-level language model. Without a subcommand: a short tour.");
var images = new Option<DirectoryInfo>("--output") { Description = "Where to write the PNG plots.", DefaultValueFactory = _ => new DirectoryInfo("module5-images") };
var seed = new Option<int>("--seed") { Description = "Seeds the weights, the data and the shuffling.", DefaultValueFactory = _ => 1 };

var vanishing = new Command("vanishing", "‖∂E/∂h_t‖ through 50 steps at initialisation for SimpleRNN, GRU and LSTM (table and log-scale plot), and the unrolled 3-step RNN in numbers.") { images, seed };
vanishing.SetAction(r =>
{
    Vanishing.Unrolled(Console.Out);
    Vanishing.Run(Console.Out, r.GetValue(images)!.FullName, r.GetValue(seed));
});

var models = new Option<string[]>("--models") { Description = "Which cells to train.", DefaultValueFactory = _ => ["SimpleRNN", "GRU", "LSTM"], AllowMultipleArgumentsPerToken = true };
models.AcceptOnlyFromAmong("SimpleRNN", "GRU", "LSTM");
var steps = new Option<int>("--steps") { Description = "Training steps per model.", DefaultValueFactory = _ => Adding.DefaultSteps };
var addingLr = new Option<double>("--lr") { Description = "Adam's learning rate.", DefaultValueFactory = _ => Adding.DefaultLearningRate };
var adding = new Command("adding", "The adding problem at T = 50: SimpleRNN, GRU and LSTM (32 units, Adam, clipping), test MSE every 500 steps and a table.") { models, steps, addingLr, seed };
adding.SetAction(r => { Adding.Run(Console.Out, r.GetValue(steps), 64, r.GetValue(addingLr), r.GetValue(models)!, r.GetValue(seed)); });

var epochs = new Option<int>("--epochs") { Description = "Training epochs per model.", DefaultValueFactory = _ => RowMnist.DefaultEpochs };
var data = new Option<DirectoryInfo?>("--data") { Description = $"A directory of MNIST-format IDX files (e.g. Fashion-MNIST in {NetGen.Data.Datasets.DebianFashionMnistDirectory}): its first 8,000 training and 2,000 test images; default: the embedded 10,000-digit MNIST sample (first 8,000 / last 2,000)." };
var mnist = new Command("mnist", "MNIST read row by row (28 steps × 28 pixels): SimpleRNN vs GRU vs LSTM, 128 units, Adam 1e-3, batch 64.") { models, epochs, data, seed };
mnist.SetAction(r => { RowMnist.Run(Console.Out, r.GetValue(models)!, r.GetValue(epochs), r.GetValue(data)?.FullName, seed: r.GetValue(seed)); });

var cell = new Option<string>("--cell") { Description = "The recurrent cell.", DefaultValueFactory = _ => "lstm" };
cell.AcceptOnlyFromAmong("lstm", "gru");
var wordEpochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 3 };
var words = new Command("words", "A character-level language model on English words: bits per character against n-gram baselines, and words sampled step by step.") { cell, wordEpochs, seed };
words.SetAction(r => { Words.Run(Console.Out, r.GetValue(cell)!, r.GetValue(wordEpochs), r.GetValue(seed)); });

root.Subcommands.Add(vanishing);
root.Subcommands.Add(adding);
root.Subcommands.Add(mnist);
root.Subcommands.Add(words);
root.Options.Add(images);
root.SetAction(r => Tour.Run(Console.Out, r.GetValue(images)!.FullName));
return root.Parse(args).Invoke();
