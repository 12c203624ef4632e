using System.CommandLine;
using Module6.Generative;

// Module 6: generative models. `dotnet run --project samples/Module6.Generative` runs the tour; a subcommand runs one
// part at full length.
var root = new RootCommand("NetGen course, module 6: autoencoders, a variational autoencoder and a DCGAN on MNIST. Without a subcommand: a short tour (fewer epochs).");
var output = new Option<DirectoryInfo>("--output") { Description = "Where to write the PNGs.", DefaultValueFactory = _ => new DirectoryInfo("module6-images") };
var seed = new Option<int>("--seed") { Description = "Seeds the weights, the shuffling and the noise.", DefaultValueFactory = _ => 1 };

var aeEpochs = new Option<int>("--epochs") { Description = $"Training epochs (default {Autoencoders.DefaultEpochs}).", DefaultValueFactory = _ => Autoencoders.DefaultEpochs };
var denoise = new Option<bool>("--denoise") { Description = "Train on inputs with Gaussian noise (σ = 0.5, clipped to [0, 1]) against the clean images." };
var convolutional = new Option<bool>("--conv") { Description = "Only the convolutional autoencoder (default: the dense one, then the convolutional one)." };
var autoencoder = new Command("autoencoder", "Dense (784-128-32-128-784) and convolutional autoencoders: test reconstruction loss and a PNG of originals over reconstructions.")
{
    aeEpochs, denoise, convolutional, output, seed,
};
autoencoder.SetAction(r => Autoencoders.Run(Console.Out, r.GetValue(aeEpochs), r.GetValue(denoise), r.GetValue(convolutional), r.GetValue(output)!.FullName, r.GetValue(seed)));

var latent = new Option<int>("--latent") { Description = "Latent size L: 2 or 16.", DefaultValueFactory = _ => 2 };
latent.AcceptOnlyFromAmong("2", "16");
var vaeEpochs = new Option<int>("--epochs") { Description = $"Training epochs (default {Vae.DefaultEpochs}).", DefaultValueFactory = _ => Vae.DefaultEpochs };
var vae = new Command("vae", "A variational autoencoder: test -ELBO split into reconstruction and KL; for L = 2 the latent scatter and the 20×20 manifold.")
{
    latent, vaeEpochs, output, seed,
};
vae.SetAction(r => Vae.Run(Console.Out, r.GetValue(latent), r.GetValue(vaeEpochs), r.GetValue(output)!.FullName, r.GetValue(seed)));

var ganEpochs = new Option<int>("--epochs") { Description = $"Training epochs (default {Gan.DefaultEpochs}).", DefaultValueFactory = _ => Gan.DefaultEpochs };
var gan = new Command("gan", "A DCGAN: a 64-sample grid per epoch, both losses, and the judgement of a LeNet trained on the same digits (mean top probability, class shares, Fréchet distance).")
{
    ganEpochs, output, seed,
};
gan.SetAction(r => Gan.Run(Console.Out, r.GetValue(ganEpochs), r.GetValue(output)!.FullName, r.GetValue(seed)));

root.Subcommands.Add(autoencoder);
root.Subcommands.Add(vae);
root.Subcommands.Add(gan);
root.Options.Add(output);
root.SetAction(r => Tour.Run(Console.Out, r.GetValue(output)!.FullName));
return root.Parse(args).Invoke();
