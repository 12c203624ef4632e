using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NetGen.Sweeps;

/// <summary>How a hyper-parameter's values are chosen.</summary>
public enum ParameterKind
{
    /// <summary>Every value in turn: trials cycle through the product of all grid parameters (Optuna's GridSampler).</summary>
    Grid,
    /// <summary>One of a few values, drawn uniformly at random.</summary>
    Choice,
    /// <summary>A real number drawn uniformly from [low, high).</summary>
    Uniform,
    /// <summary>A real number whose logarithm is drawn uniformly: learning rates, weight decays.</summary>
    LogUniform,
    /// <summary>An integer drawn uniformly from [low, high], both included.</summary>
    IntUniform,
}

/// <summary>One hyper-parameter of a <see cref="SearchSpace"/>: its name, kind and range or values.</summary>
public sealed class Parameter
{
    internal Parameter(string name, ParameterKind kind, IReadOnlyList<object> values, double low, double high)
    {
        Name = name;
        Kind = kind;
        Values = values;
        Low = low;
        High = high;
    }

    /// <summary>The name a trial reads the value by.</summary>
    public string Name { get; }

    /// <summary>How values are chosen.</summary>
    public ParameterKind Kind { get; }

    /// <summary>The values of a grid or choice parameter (strings, integers, reals or booleans); empty for ranges.</summary>
    public IReadOnlyList<object> Values { get; }

    /// <summary>The lower bound of a range (inclusive).</summary>
    public double Low { get; }

    /// <summary>The upper bound of a range (exclusive for reals, inclusive for integers).</summary>
    public double High { get; }

    /// <summary>Whether the parameter is a set of values (grid or choice) rather than a range.</summary>
    public bool IsCategorical => Kind is ParameterKind.Grid or ParameterKind.Choice;

    /// <summary>The value for a uniform draw <paramref name="u"/> in [0, 1).</summary>
    internal object FromUniform(double u) => Kind switch
    {
        ParameterKind.Choice => Values[Math.Min(Values.Count - 1, (int)(u * Values.Count))],
        ParameterKind.Uniform => Low + (High - Low) * u,
        ParameterKind.LogUniform => Math.Exp(Math.Log(Low) + (Math.Log(High) - Math.Log(Low)) * u),
        ParameterKind.IntUniform => (int)Math.Min(High, Math.Floor(Low + (High - Low + 1) * u)),
        _ => throw new InvalidOperationException($"A {Kind} parameter is not drawn at random."),
    };

    /// <summary>A canonical description (kind, bounds or values), part of the sweep's fingerprint.</summary>
    public override string ToString() => IsCategorical
        ? $"{Name}: {Kind.ToString().ToLowerInvariant()} [{string.Join(", ", Values.Select(SearchSpace.Format))}]"
        : string.Create(CultureInfo.InvariantCulture, $"{Name}: {Kind.ToString().ToLowerInvariant()} [{Low:R}, {High:R}]");
}

/// <summary>
/// The hyper-parameters a sweep searches and the seeded sampler that turns a trial number into values. Trial
/// <c>n</c>'s values are a pure function of (seed, n, the space): grid parameters take combination n mod (grid size)
/// of the product of their values (the first parameter varying slowest), every other parameter is drawn from a
/// counter-based generator keyed by the seed, the trial number and the parameter's position. Nothing depends on hash
/// order, thread timing or the machine, so every process of a cluster computes the same trial from its number.
/// </summary>
public sealed class SearchSpace
{
    private readonly List<Parameter> _parameters = [];

    /// <summary>The parameters, in the order they were added.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The number of combinations of the grid parameters (1 without any).</summary>
    public int GridSize => _parameters.Where(p => p.Kind == ParameterKind.Grid).Aggregate(1, (n, p) => checked(n * p.Values.Count));

    /// <summary>Adds a parameter every value of which is tried in turn.</summary>
    public SearchSpace Grid<TValue>(string name, params TValue[] values) where TValue : notnull => AddValues(name, ParameterKind.Grid, values);

    /// <summary>Adds a parameter drawn uniformly from a few values.</summary>
    public SearchSpace Choice<TValue>(string name, params TValue[] values) where TValue : notnull => AddValues(name, ParameterKind.Choice, values);

    /// <summary>Adds a real parameter drawn uniformly from [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public SearchSpace Uniform(string name, double low, double high)
    {
        CheckRange(name, low, high, log: false);
        return Add(new Parameter(name, ParameterKind.Uniform, [], low, high));
    }

    /// <summary>Adds a real parameter whose logarithm is uniform in [log <paramref name="low"/>, log <paramref name="high"/>).</summary>
    public SearchSpace LogUniform(string name, double low, double high)
    {
        CheckRange(name, low, high, log: true);
        return Add(new Parameter(name, ParameterKind.LogUniform, [], low, high));
    }

    /// <summary>Adds an integer parameter drawn uniformly from [<paramref name="low"/>, <paramref name="high"/>], both included.</summary>
    public SearchSpace IntUniform(string name, int low, int high)
    {
        if (low > high)
            throw new ArgumentException($"Parameter '{name}': the range [{low}, {high}] is empty; give low ≤ high.", nameof(low));
        return Add(new Parameter(name, ParameterKind.IntUniform, [], low, high));
    }

    /// <summary>The values of trial <paramref name="number"/> (0-based) under <paramref name="seed"/>, by name, in the
    /// order the parameters were added.</summary>
    public IReadOnlyDictionary<string, object> Sample(long seed, int number)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        if (_parameters.Count == 0)
            throw new InvalidOperationException("The search space is empty: add parameters with Grid, Choice, Uniform, LogUniform or IntUniform.");
        var values = new OrderedValues();
        // Mixed radix over the grid parameters in declaration order, the last varying fastest.
        int combination = number % GridSize;
        var grid = _parameters.Where(p => p.Kind == ParameterKind.Grid).ToList();
        var gridValues = new Dictionary<string, object>(StringComparer.Ordinal);
        for (int g = grid.Count - 1; g >= 0; g--)
        {
            int count = grid[g].Values.Count;
            gridValues[grid[g].Name] = grid[g].Values[combination % count];
            combination /= count;
        }
        ulong key = CounterRandom.Bits((ulong)seed, (ulong)number);
        for (int i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            if (p.Kind == ParameterKind.Grid) { values.Add(p.Name, gridValues[p.Name]); continue; }
            double u = (CounterRandom.Bits(key, (ulong)i) >> 11) * (1.0 / (1UL << 53));
            values.Add(p.Name, p.FromUniform(u));
        }
        return values;
    }

    /// <summary>A short hash of the space's description, the seed and the trial count: a study file written by another
    /// sweep is recognised and refused instead of being mixed in.</summary>
    public string Fingerprint(long seed, int trials, string objective)
    {
        var text = new StringBuilder();
        foreach (var p in _parameters) text.Append(p).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"seed {seed}\ntrials {trials}\nobjective {objective}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>A value as printed in tables and the study file: reals with 3 significant digits (full precision in
    /// the file's JSON numbers), the rest as they are.</summary>
    public static string Format(object value) => value switch
    {
        double d => d.ToString("G3", CultureInfo.InvariantCulture),
        float f => f.ToString("G3", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>"name=value name=value …" in the space's order.</summary>
    public static string Describe(IReadOnlyDictionary<string, object> values) =>
        string.Join(" ", values.Select(kv => $"{kv.Key}={Format(kv.Value)}"));

    private SearchSpace AddValues<TValue>(string name, ParameterKind kind, TValue[] values) where TValue : notnull
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0)
            throw new ArgumentException($"Parameter '{name}' has no values: give at least one, e.g. .{kind}(\"{name}\", 16, 32, 64).", nameof(values));
        var boxed = new List<object>(values.Length);
        foreach (var v in values)
        {
            object o = v;
            if (o is not (string or int or long or double or float or bool))
                throw new ArgumentException($"Parameter '{name}': {o.GetType().Name} values are not supported; use strings, integers, reals or booleans (map them to objects inside the trial).", nameof(values));
            if (boxed.Any(b => Equals(b, o)))
                throw new ArgumentException($"Parameter '{name}' lists {Format(o)} twice; give each value once.", nameof(values));
            boxed.Add(o is float f ? (double)f : o);
        }
        return Add(new Parameter(name, kind, boxed, 0, 0));
    }

    private SearchSpace Add(Parameter parameter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(parameter.Name);
        if (_parameters.Any(p => p.Name == parameter.Name))
            throw new ArgumentException($"The search space already has a parameter '{parameter.Name}'; give each parameter a different name.");
        _parameters.Add(parameter);
        return this;
    }

    private static void CheckRange(string name, double low, double high, bool log)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || !(low < high))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Parameter '{name}': the range [{low}, {high}) is empty or not finite; give finite low < high."), nameof(low));
        if (log && low <= 0)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Parameter '{name}': a log-uniform range needs low > 0 (got {low}); e.g. LogUniform(\"{name}\", 1e-4, 1)."), nameof(low));
    }
}

/// <summary>A read-only dictionary that enumerates in insertion order (a trial's values, as declared).</summary>
internal sealed class OrderedValues : IReadOnlyDictionary<string, object>
{
    private readonly List<KeyValuePair<string, object>> _items = [];

    public void Add(string key, object value) => _items.Add(new(key, value));

    public object this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);
    public IEnumerable<string> Keys => _items.Select(i => i.Key);
    public IEnumerable<object> Values => _items.Select(i => i.Value);
    public int Count => _items.Count;
    public bool ContainsKey(string key) => _items.Any(i => i.Key == key);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out object value)
    {
        foreach (var (k, v) in _items)
            if (k == key) { value = v; return true; }
        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => _items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
