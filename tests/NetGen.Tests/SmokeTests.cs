namespace NetGen.Tests;

public class SmokeTests
{
    [Fact]
    public void SeededRandomIsDeterministic()
    {
        var a = new SeededRandom(7); var b = new SeededRandom(7);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
    }
}
