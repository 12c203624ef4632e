namespace Module6.Generative;

/// <summary>The tour: each part with fewer epochs than its subcommand (stated as it runs).</summary>
public static class Tour
{
    /// <summary>The tour's epochs: a few minutes on a quiet two-core machine (the subcommands' defaults take much longer).</summary>
    public const int AutoencoderEpochs = 2, VaeEpochs = 5, GanEpochs = 3;

    /// <summary>The judge trains as long as in the subcommand: LeNet's 12 epochs take seconds, and a weaker judge
    /// blurs what it is there to measure.</summary>
    public const int JudgeEpochs = Gan.DefaultJudgeEpochs;

    public static void Run(TextWriter log, string output)
    {
        log.WriteLine($"Module 6 tour: autoencoder {AutoencoderEpochs} epochs (subcommand: {Autoencoders.DefaultEpochs}), VAE L = 2 {VaeEpochs} epochs (subcommand: {Vae.DefaultEpochs}), DCGAN {GanEpochs} epochs (subcommand: {Gan.DefaultEpochs}) judged by the course's LeNet ({JudgeEpochs} epochs). The subcommands run the full lengths.");
        log.WriteLine();
        Autoencoders.Run(log, AutoencoderEpochs, denoise: false, convolutionalOnly: false, output);
        log.WriteLine();
        Vae.Run(log, 2, VaeEpochs, output);
        log.WriteLine();
        Gan.Run(log, GanEpochs, output, judgeEpochs: JudgeEpochs);
    }
}
