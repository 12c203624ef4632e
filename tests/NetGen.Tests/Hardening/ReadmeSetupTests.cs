using System.Reflection;
using System.Text.RegularExpressions;
using NetGen.Tests.Analyzers;
using NetGen.Tests.Networks;
using Xunit.Abstractions;

namespace NetGen.Tests.Hardening;

/// <summary>
/// Whatever a user sets up from the README shows NG errors at build time: the README's project-reference snippet,
/// copied into a fresh project outside the repository (its "../" pointing at the repository), fails the build of an
/// invalid network with the NG error. (With the generator alone, as the README once said, the same project built and
/// threw only when the network was constructed.) And the README names every view a generated network has.
/// </summary>
public sealed partial class ReadmeSetupTests(ITestOutputHelper log)
{
    private static string Readme() => File.ReadAllText(Path.Combine(DiagnosticTests.RepoRoot(), "README.md"));

    [GeneratedRegex(@"```xml\n(?<xml>.*?)```", RegexOptions.Singleline)]
    private static partial Regex XmlBlock();

    [Fact]
    public void ReadmeProjectReferences_ReportAnInvalidNetworkAtBuildTime()
    {
        string root = DiagnosticTests.RepoRoot();
        string snippet = XmlBlock().Match(Readme()).Groups["xml"].Value;
        Assert.Contains("NetGen.Analyzers.csproj", snippet);
        string dir = Directory.CreateTempSubdirectory("netgen-readme-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "ReadmeApp.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                {snippet.Replace("\"../", "\"" + root + "/")}
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(dir, "Program.cs"), """
                using NetGen;
                Console.WriteLine(Broken.InputSize);

                [Network]
                [Input(2, 12, 12)]
                [Dense(4)]
                public partial class Broken;
                """);
            // The referenced projects were built with this test assembly; building them again here would race with
            // other tests that build them.
            var (code, output) = Dotnet.Run(dir, "build -p:BuildProjectReferences=false -v q", timeoutSeconds: 300);
            log.WriteLine(output);
            Assert.NotEqual(0, code);
            Assert.Contains("error NG0010", output);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void Readme_NamesEveryGeneratedView()
    {
        string readme = Readme();
        string[] kinds = ["Conv2D", "BatchNorm", "Dense", "MaxPool", "AvgPool", "Flatten", "Dropout", "LeakyReLU", "ReLU", "Sigmoid", "Tanh", "Softmax", "Step", "Identity"];
        var seen = new SortedSet<string>();
        foreach (var type in new[] { typeof(MiniVggNet), typeof(LeNet), typeof(DigitsMlp), typeof(WorkedExample), typeof(XorNet), typeof(Perceptron) })
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!property.PropertyType.IsGenericType || property.PropertyType.Name is not ("Span`1" or "ReadOnlySpan`1")) continue;
                if (property.Name is "Parameters" or "Gradients" or "State" or "Output") continue;
                string kind = kinds.First(k => property.Name.StartsWith(k, StringComparison.Ordinal));
                var match = Regex.Match(property.Name[kind.Length..], @"^\d+(?<suffix>\w+)$");
                Assert.True(match.Success, property.Name);
                seen.Add(property.Name);
                Assert.True(readme.Contains($"`<Layer>{match.Groups["suffix"].Value}`"), $"README does not name the view suffix of {type.Name}.{property.Name}");
                Assert.True(readme.Contains($"`{kind}1`"), $"README does not name the layer kind of {type.Name}.{property.Name}");
            }
        Assert.Contains("BatchNorm1RunningVariance", seen);
        Assert.Contains("Conv2D1Weights", seen);
        Assert.Contains("ReLU1Output", seen);
    }
}
