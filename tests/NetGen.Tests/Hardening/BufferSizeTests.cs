namespace NetGen.Tests.Hardening;

/// <summary>A layer of a million units: maxBatch 4,097 × 1,048,576 wrapped the generated int sizes.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(16)]
[Dense(1048576), Sigmoid]
public partial class MillionWide;

/// <summary>The documented limit of values per sample, in one Dense layer.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1)]
[Dense(67108864)]
public partial class LimitWide;

/// <summary>
/// Constructors check every buffer size in checked arithmetic before the kernels can use it (issue 18 item 9): a
/// maxBatch whose buffers would wrap an int (and let the unchecked kernels write past them) is a clear error naming
/// the largest maxBatch; a layer too wide for the kernels' working memory is a clear error, not an OverflowException.
/// </summary>
public sealed class BufferSizeTests
{
    [Fact]
    public void MaxBatchTooLargeForTheBuffers_IsAClearError_NamingTheLargestMaxBatch()
    {
        // Before: maxBatch 4,097 wrapped maxBatch × 1,048,576 and the kernels wrote past the buffer (then a segfault).
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new MillionWide(maxBatch: 4097));
        Assert.Contains("maxBatch 4,097 × 1,048,576 values per sample (Dense1's output) = 4,296,015,872 values exceeds the 2,147,483,591 one array can hold", ex.Message);
        Assert.Contains("the largest maxBatch for MillionWide is 2,047", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MillionWide(maxBatch: int.MaxValue));
        Assert.Contains("the largest maxBatch for LimitWide is 31", Assert.Throws<ArgumentOutOfRangeException>(() => new LimitWide(maxBatch: 257)).Message);
    }

    [Fact]
    public void ALayerTooWideForTheKernelsWorkingMemory_IsAClearError()
    {
        // Before: a bare OverflowException (or a wrapped, too small, scratch buffer).
        var ex = Assert.Throws<InvalidOperationException>(() => new LimitWide(maxBatch: 1));
        Assert.Contains("LimitWide's kernels need more working memory", ex.Message);
        Assert.Contains("Use a smaller maxBatch, or make the widest layer smaller", ex.Message);
    }
}
