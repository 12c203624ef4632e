using NetGen.Gpu;

namespace Module3.Cnn;

/// <summary>The module in a few minutes: the hand computations, then ShallowNet and LeNet briefly.</summary>
public static class Tour
{
    /// <summary>Epochs of each network in the tour (the <c>train</c> subcommand's defaults train longer).</summary>
    public const int Epochs = 2;

    /// <summary>Runs <c>convolve</c>, then trains ShallowNet and LeNet for <see cref="Epochs"/> epochs each on the
    /// embedded sample, writing their filters and feature maps to <paramref name="outputDirectory"/>. Given a device,
    /// they train there (on ILGPU's CPU emulator with each model's short emulator defaults instead).</summary>
    public static void Run(TextWriter o, string outputDirectory = "module3-images", GpuDevice? device = null)
    {
        Convolutions.Run(o);
        bool emulator = device is { IsEmulator: true };
        o.WriteLine(emulator
            ? "== Training, briefly, on ILGPU's CPU emulator: each model's emulator defaults (a few hundred samples)"
            : $"== Training, briefly: {Epochs} epochs each (`train --model lenet` trains for {CnnModel.LeNet.Epochs})");
        o.WriteLine();
        foreach (var model in new[] { CnnModel.ShallowNet, CnnModel.LeNet })
            Training.Run(o, new TrainOptions { Model = model.Name, Epochs = emulator ? null : Epochs, Device = device, OutputDirectory = outputDirectory });
    }
}
