Console.WriteLine(Module6.Generative.DcganGenerator.Summary); Console.WriteLine(Module6.Generative.ConvAutoencoder.Summary); Console.WriteLine(Module6.Generative.VaeEncoder2.Summary);
