using System.CommandLine;
using Module2.Optimization;

// Module 2: learning. `dotnet run --project samples/Module2.Optimization` runs the whole tour; a subcommand runs one part.
var root = new RootCommand("NetGen course, module 2: the linear classifier, optimisers, learning rates, regularisation. Without a subcommand: the whole tour.");

var linear = new Command("linear", "The four components (data, score function f(x; W, b) = Wx + b, loss, weights) by hand on a 4-pixel image; then a linear SVM (hinge loss) and a softmax classifier (cross-entropy) on the 8×8 digits.");
linear.SetAction(_ =>
{
    LinearClassifier.HandExample(Console.Out);
    LinearClassifier.Digits(Console.Out);
});

var optimizersOutput = OutputOption();
var optimizers = new Command("optimizers", $"One network trained with SGD, momentum, Nesterov, RMSProp and Adam; prints the final losses and writes {OptimizerComparison.ImageName}.") { optimizersOutput };
optimizers.SetAction(r => WithOutput(r.GetValue(optimizersOutput)!, dir => OptimizerComparison.Run(Console.Out, dir)));

var rateOutput = OutputOption();
var learningRate = new Command("learning-rate", $"Too large a learning rate diverges, a tiny one crawls, a good one converges; per-epoch losses printed, {LearningRates.ImageName} written.") { rateOutput };
learningRate.SetAction(r => WithOutput(r.GetValue(rateOutput)!, dir => LearningRates.Run(Console.Out, dir)));

var regularizationOutput = OutputOption();
var regularization = new Command("regularization", "A wide MLP over-fits a few hundred digits; trained again with L2, dropout and early stopping. Gaps printed, regularization-*.png written.") { regularizationOutput };
regularization.SetAction(r => WithOutput(r.GetValue(regularizationOutput)!, dir => Regularization.Run(Console.Out, dir)));

var tourOutput = OutputOption();
root.Options.Add(tourOutput);
root.Subcommands.Add(linear);
root.Subcommands.Add(optimizers);
root.Subcommands.Add(learningRate);
root.Subcommands.Add(regularization);
root.Subcommands.Add(HyperparameterSweep.Command());
root.SetAction(r => WithOutput(r.GetValue(tourOutput)!, dir => Tour.Run(Console.Out, dir)));
return root.Parse(args).Invoke();

static Option<DirectoryInfo> OutputOption() =>
    new("--output") { Description = "Where to write the PNG plots.", DefaultValueFactory = _ => new DirectoryInfo("module2-images") };

static int WithOutput(DirectoryInfo output, Action<string> run)
{
    try
    {
        output.Create();
        run(output.FullName);
        return 0;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"Cannot write the plots to {output.FullName}: {e.Message}");
        return 2;
    }
}
