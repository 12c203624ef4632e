using System.Globalization;
using System.Text;

namespace NetGen.Generators.Emit;

/// <summary>An indenting text writer for generated C#.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    public CodeWriter Line(string text = "")
    {
        if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
        _sb.Append('\n');
        return this;
    }

    public CodeWriter Open(string header)
    {
        if (header.Length > 0) Line(header);
        Line("{");
        _indent++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        return this;
    }

    public override string ToString() => _sb.ToString();

    /// <summary>A C# literal of the element type.</summary>
    public static string Literal(double value, bool isDouble)
    {
        // Shape inference rejects non-finite options; should one reach here, it still prints as C# that compiles
        // (never as "Infinityf" or "NaN").
        string type = isDouble ? "double" : "float";
        double v = isDouble ? value : (float)value;
        if (double.IsNaN(v)) return type + ".NaN";
        if (double.IsPositiveInfinity(v)) return type + ".PositiveInfinity";
        if (double.IsNegativeInfinity(v)) return type + ".NegativeInfinity";
        if (isDouble)
        {
            string s = value.ToString("R", CultureInfo.InvariantCulture);
            return s.IndexOfAny(new[] { '.', 'E', 'N', 'I' }) >= 0 ? s : s + ".0";
        }
        return ((float)value).ToString("R", CultureInfo.InvariantCulture) + "f";
    }

    /// <summary>A verbatim C# string literal.</summary>
    public static string StringLiteral(string value) => "@\"" + value.Replace("\"", "\"\"") + "\"";

    public static string XmlEscape(string value) => value.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
