using System.Globalization;

namespace NetGen;

/// <summary>Number formatting for generated <c>Explain</c> methods: the lecture's style, up to nine decimals.</summary>
public static class Explanation
{
    /// <summary>Formats a value with up to nine decimals, trailing zeros dropped (0.75136507, 0.3775).</summary>
    public static string F(double value) => value.ToString("0.#########", CultureInfo.InvariantCulture);

    /// <summary>As <see cref="F"/>, parenthesised when negative so products read unambiguously: 0.5·(−0.25).</summary>
    public static string P(double value) => value < 0 ? "(" + F(value) + ")" : F(value);
}
