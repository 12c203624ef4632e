using NetGen.Tests.CnnLecture;

namespace NetGen.Tests.CnnLecture
{
    // The lecture's CNN hand examples (Module 3), compiled by the generator like any user's networks, in double so
    // the printed integers come out exactly.

    /// <summary>One 3×3 filter over a 6×6 grey image, no bias: the lecture's edge detector (output 4×4).</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(1, 6, 6)]
    [Conv2D(1, Kernel = 3, Bias = false)]
    public partial class EdgeDetector;

    /// <summary>One 3×3 filter over a 5×5 image, no bias: cross-correlation versus true convolution.</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(1, 5, 5)]
    [Conv2D(1, Kernel = 3, Bias = false)]
    public partial class CorrelationProbe;

    /// <summary>2×2 max pooling, stride 2, of a 4×4 input.</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(1, 4, 4)]
    [MaxPool(2)]
    public partial class LectureMaxPool;

    /// <summary>2×2 average pooling, stride 2, of a 4×4 input.</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(1, 4, 4)]
    [AvgPool(2)]
    public partial class LectureAvgPool;

    /// <summary>Overlapping 3×3 max pooling, stride 2, of a 5×5 input: the windows share the centre row and column.</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(1, 5, 5)]
    [MaxPool(3, Stride = 2)]
    public partial class OverlappingMaxPool;

    /// <summary>32 filters of 3×3 over an RGB image: 32·(3·3·3) + 32 = 896 parameters.</summary>
    [Network(Precision = Precision.Double)]
    [Input(3, 32, 32)]
    [Conv2D(32, Kernel = 3)]
    public partial class ThirtyTwoFilters;

    /// <summary>The Dense net 4-5-5-3: (4·5 + 5) + (5·5 + 5) + (5·3 + 3) = 73 parameters.</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(4)]
    [Dense(5), Sigmoid]
    [Dense(5), Sigmoid]
    [Dense(3), Sigmoid]
    public partial class Dense4553;

    /// <summary>The Dense net 3-4-2: (3·4 + 4) + (4·2 + 2) = 26 parameters.</summary>
    [Network(Loss = LossFunction.HalfSquaredError, Precision = Precision.Double)]
    [Input(3)]
    [Dense(4), Sigmoid]
    [Dense(2), Sigmoid]
    public partial class Dense342;

    /// <summary>The lecture's geometry exercise: 39×39×3 → 37×37×10 → 17×17×20 → 7×7×40 → 1960.</summary>
    [Network(Precision = Precision.Double)]
    [Input(3, 39, 39)]
    [Conv2D(10, Kernel = 3)]
    [Conv2D(20, Kernel = 5, Stride = 2)]
    [Conv2D(40, Kernel = 5, Stride = 2)]
    [Flatten]
    public partial class ConvGeometry;
}

namespace NetGen.Tests
{
    /// <summary>The lecture's CNN hand examples, reproduced exactly by generated networks.</summary>
    public class CnnLectureTests
    {
        private static double[] Image(int height, int width, Func<int, int, double> pixel)
        {
            var image = new double[height * width];
            for (int r = 0; r < height; r++)
                for (int c = 0; c < width; c++)
                    image[r * width + c] = pixel(r, c);
            return image;
        }

        private static double[][] Rows(ReadOnlySpan<double> values, int width)
        {
            var rows = new double[values.Length / width][];
            for (int r = 0; r < rows.Length; r++) rows[r] = values.Slice(r * width, width).ToArray();
            return rows;
        }

        private static readonly double[] VerticalEdge = [1, 0, -1, 1, 0, -1, 1, 0, -1];
        private static readonly double[] HorizontalEdge = [1, 1, 1, 0, 0, 0, -1, -1, -1];

        [Fact]
        public void EdgeDetectorHasNineWeightsAndNoBias()
        {
            Assert.Equal(9, EdgeDetector.ParameterCount);
            Assert.Equal(36, EdgeDetector.InputSize);
            Assert.Equal(16, EdgeDetector.OutputSize);
            Assert.Equal(9, new EdgeDetector().Conv2D1Weights.Length);
        }

        [Fact]
        public void VerticalEdgeKernelFindsTheEdgeBetweenBrightAndDark()
        {
            var net = new EdgeDetector();
            VerticalEdge.CopyTo(net.Conv2D1Weights);
            // Left half 10 (bright), right half 0 (dark).
            var output = net.Forward(Image(6, 6, (r, c) => c < 3 ? 10 : 0));
            Assert.Equal(Enumerable.Repeat(new double[] { 0, 30, 30, 0 }, 4), Rows(output, 4));
        }

        [Fact]
        public void VerticalEdgeKernelOnTheMirroredImageGivesNegativeValues()
        {
            var net = new EdgeDetector();
            VerticalEdge.CopyTo(net.Conv2D1Weights);
            // Left half 0 (dark), right half 10 (bright): the edge has the other polarity.
            var output = net.Forward(Image(6, 6, (r, c) => c < 3 ? 0 : 10));
            Assert.Equal(Enumerable.Repeat(new double[] { 0, -30, -30, 0 }, 4), Rows(output, 4));
        }

        [Fact]
        public void HorizontalEdgeKernelOnTheFourQuadrantImage()
        {
            var net = new EdgeDetector();
            HorizontalEdge.CopyTo(net.Conv2D1Weights);
            // Top-left and bottom-right quadrants 10, top-right and bottom-left 0 (as the task states; this assignment
            // is the one that yields the rows below — swapping it negates every value).
            var output = net.Forward(Image(6, 6, (r, c) => (r < 3) == (c < 3) ? 10 : 0));
            Assert.Equal(new[]
            {
                new double[] { 0, 0, 0, 0 },
                new double[] { 30, 10, -10, -30 },
                new double[] { 30, 10, -10, -30 },
                new double[] { 0, 0, 0, 0 },
            }, Rows(output, 4));
        }

        [Fact]
        public void MaxPoolingTwoByTwoStrideTwo()
        {
            var net = new LectureMaxPool();
            double[] input = [1, 3, 2, 1, 2, 9, 1, 1, 1, 3, 2, 3, 5, 6, 1, 2];
            Assert.Equal(new[] { new double[] { 9, 2 }, new double[] { 6, 3 } }, Rows(net.Forward(input), 2));
            Assert.Equal(0, LectureMaxPool.ParameterCount);
        }

        [Fact]
        public void AveragePoolingTwoByTwoStrideTwo()
        {
            var net = new LectureAvgPool();
            double[] input = [1, 3, 2, 1, 2, 9, 1, 1, 1, 4, 2, 3, 5, 6, 1, 2];
            Assert.Equal(new[] { new double[] { 3.75, 1.25 }, new double[] { 4, 2 } }, Rows(net.Forward(input), 2));
        }

        /// <summary>The max gate routes the gradient: each window's ∂E/∂y goes to its arg-max, every other input gets 0.</summary>
        [Fact]
        public void MaxPoolingRoutesTheGradientToTheArgMaxOnly()
        {
            var net = new LectureMaxPool();
            double[] input = [1, 3, 2, 1, 2, 9, 1, 1, 1, 3, 2, 3, 5, 6, 1, 2];
            net.Forward(input);
            double[] outputGradient = [0.5, -1.25, 2, 3.5];
            var inputGradient = new double[16];
            net.Backward(outputGradient, inputGradient);
            // Arg-maxes: 9 at (1, 1), 2 at (0, 2), 6 at (3, 1), 3 at (2, 3).
            double[] expected =
            [
                0, 0, -1.25, 0,
                0, 0.5, 0, 0,
                0, 0, 0, 3.5,
                0, 2, 0, 0,
            ];
            Assert.Equal(expected, inputGradient);
        }

        /// <summary>Overlapping windows (3×3, stride 2) that share their maximum add their gradients there.</summary>
        [Fact]
        public void OverlappingMaxPoolingAddsTheGradientsOfWindowsSharingAnArgMax()
        {
            var net = new OverlappingMaxPool();
            Assert.Equal(4, OverlappingMaxPool.OutputSize);
            // Distinct values, the largest at the centre (2, 2), which all four windows contain; the second largest at
            // (0, 4), which only the top-right window contains but is smaller than the centre.
            var input = Image(5, 5, (r, c) => r * 5 + c);
            input[2 * 5 + 2] = 100;
            net.Forward(input);
            Assert.Equal(new double[] { 100, 100, 100, 100 }, net.Output.ToArray());
            double[] outputGradient = [0.25, -1, 2.5, 4];
            var inputGradient = new double[25];
            net.Backward(outputGradient, inputGradient);
            var expected = new double[25];
            expected[12] = 0.25 - 1 + 2.5 + 4;
            Assert.Equal(expected, inputGradient);

            // Without the shared maximum each window routes to its own bottom-right corner (values grow along rows).
            input = Image(5, 5, (r, c) => r * 5 + c);
            net.Forward(input);
            Assert.Equal(new double[] { 12, 14, 22, 24 }, net.Output.ToArray());
            net.Backward(outputGradient, inputGradient);
            expected = new double[25];
            expected[12] = 0.25;
            expected[14] = -1;
            expected[22] = 2.5;
            expected[24] = 4;
            Assert.Equal(expected, inputGradient);
        }

        /// <summary>Average pooling shares each window's gradient equally: ∂E/∂x = ∂E/∂y / 4 over the window.</summary>
        [Fact]
        public void AveragePoolingSharesTheGradientEqually()
        {
            var net = new LectureAvgPool();
            net.Forward([1, 3, 2, 1, 2, 9, 1, 1, 1, 4, 2, 3, 5, 6, 1, 2]);
            double[] outputGradient = [1, -2, 4, 0.5];
            var inputGradient = new double[16];
            net.Backward(outputGradient, inputGradient);
            double[] expected =
            [
                0.25, 0.25, -0.5, -0.5,
                0.25, 0.25, -0.5, -0.5,
                1, 1, 0.125, 0.125,
                1, 1, 0.125, 0.125,
            ];
            Assert.Equal(expected, inputGradient);
        }

        [Fact]
        public void ParameterCounts()
        {
            Assert.Equal(896, ThirtyTwoFilters.ParameterCount);   // 32 · (3 · 3 · 3) + 32
            Assert.Equal(896, new ThirtyTwoFilters().Parameters.Length);
            Assert.Equal(32 * 3 * 3 * 3, new ThirtyTwoFilters().Conv2D1Weights.Length);
            Assert.Equal(32, new ThirtyTwoFilters().Conv2D1Bias.Length);
            Assert.Contains("Total params: 896", ThirtyTwoFilters.Summary);
            Assert.Equal(73, Dense4553.ParameterCount);
            Assert.Equal(73, new Dense4553().Parameters.Length);
            Assert.Equal(26, Dense342.ParameterCount);
            Assert.Equal(26, new Dense342().Parameters.Length);
        }

        /// <summary>39×39×3 → Conv 3×3 (10) → 37×37×10 → Conv 5×5 /2 (20) → 17×17×20 → Conv 5×5 /2 (40) → 7×7×40 → 1960:
        /// (n + 2p − f)/s + 1 on each axis.</summary>
        [Fact]
        public void ConvolutionGeometry()
        {
            string[] rows = ConvGeometry.Summary.Split('\n')
                .Where(l => l.StartsWith(" conv2d", StringComparison.Ordinal) || l.StartsWith(" flatten", StringComparison.Ordinal) || l.StartsWith(" input", StringComparison.Ordinal))
                .ToArray();
            Assert.Equal(5, rows.Length);
            string[] shapes = ["(None, 3, 39, 39)", "(None, 10, 37, 37)", "(None, 20, 17, 17)", "(None, 40, 7, 7)", "(None, 1960)"];
            for (int i = 0; i < shapes.Length; i++)
                Assert.True(rows[i].Contains(shapes[i], StringComparison.Ordinal), $"summary row {i} '{rows[i].Trim()}' should show {shapes[i]}:\n{ConvGeometry.Summary}");
            Assert.Equal(3 * 39 * 39, ConvGeometry.InputSize);
            Assert.Equal(1960, ConvGeometry.OutputSize);
            Assert.Equal(10 * 3 * 9 + 10 + 20 * 10 * 25 + 20 + 40 * 20 * 25 + 40, ConvGeometry.ParameterCount);

            var net = new ConvGeometry();
            var output = net.Forward(new double[ConvGeometry.InputSize]);
            Assert.Equal(1960, output.Length);
            Assert.Equal(10 * 37 * 37, net.Conv2D1Output.Length);
            Assert.Equal(20 * 17 * 17, net.Conv2D2Output.Length);
            Assert.Equal(40 * 7 * 7, net.Conv2D3Output.Length);
        }

        /// <summary>Conv2D computes the cross-correlation y[i, j] = Σ w[u, v]·x[i + u, j + v]. A true convolution flips the
        /// kernel, y[i, j] = Σ w[u, v]·x[i + 2 − u, j + 2 − v]: for an asymmetric kernel the two differ, and the true
        /// convolution is exactly the cross-correlation with the flipped kernel w[2 − u, 2 − v].</summary>
        [Fact]
        public void CrossCorrelationVersusTrueConvolution()
        {
            double[] kernel = [1, 2, 0, 0, -1, 3, 4, 0, -2];   // no symmetry under a 180° turn
            double[] flipped = kernel.Reverse().ToArray();      // w[2 − u, 2 − v] (row-major reversal)
            Assert.NotEqual(kernel, flipped);
            var x = Image(5, 5, (r, c) => (r * 7 + c * 3) % 11 - 5);

            var correlation = new double[9];
            var convolution = new double[9];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    for (int u = 0; u < 3; u++)
                        for (int v = 0; v < 3; v++)
                        {
                            correlation[i * 3 + j] += kernel[u * 3 + v] * x[(i + u) * 5 + j + v];
                            convolution[i * 3 + j] += kernel[u * 3 + v] * x[(i + 2 - u) * 5 + j + 2 - v];
                        }
            Assert.NotEqual(correlation, convolution);

            var net = new CorrelationProbe();
            kernel.CopyTo(net.Conv2D1Weights);
            Assert.Equal(correlation, net.Forward(x).ToArray());

            flipped.CopyTo(net.Conv2D1Weights);
            Assert.Equal(convolution, net.Forward(x).ToArray());
        }
    }
}
