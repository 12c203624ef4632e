using System;
using System.Collections.Generic;
using System.Linq;
using NetGen.Generators.Model;

namespace NetGen.Generators.Emit;

/// <summary>
/// What the layer emitters write the GPU variant with: host code (the launches, into <see cref="Host"/>), kernels
/// (static methods ILGPU compiles, into <see cref="Kernels"/>) and the device buffers and loaded-kernel fields the
/// network emitter declares and initialises once. A kernel is a static method whose first parameter is the thread's
/// <c>Index1D</c>; every size in it is a literal, and <c>batch</c> is passed when a kernel sums over the samples.
/// </summary>
internal sealed class GpuWriter
{
    private readonly List<(string Field, string Method, string[] ParameterTypes)> _kernels = new();
    private readonly List<(string Field, string Type, string Length, string Comment)> _buffers = new();

    public GpuWriter(EmitContext c) => C = c;

    public EmitContext C { get; }

    /// <summary>The element type keyword.</summary>
    public string T => C.T;

    /// <summary>The kernels' view type of the element type.</summary>
    public string View => $"ArrayView<{T}>";

    /// <summary>The host method being written (Forward, BackwardFrom …).</summary>
    public CodeWriter Host { get; set; } = new();

    /// <summary>Members a layer adds to the GPU class (fields, properties: Sampling's β and draw count).</summary>
    public CodeWriter Members { get; } = new();

    /// <summary>The kernels, written once each.</summary>
    public CodeWriter Kernels { get; } = new();

    public IReadOnlyList<(string Field, string Method, string[] ParameterTypes)> LoadedKernels => _kernels;

    public IReadOnlyList<(string Field, string Type, string Length, string Comment)> Buffers => _buffers;

    /// <summary>Activation buffer k on the device, as a view.</summary>
    public static string A(int k) => $"_a{k}.View";

    /// <summary>Delta buffer k (∂E/∂a{k}) on the device, as a view.</summary>
    public static string D(int k) => $"_d{k}.View";

    /// <summary>Declares an extra device buffer of <paramref name="length"/> values (an expression in which
    /// <c>maxBatch</c> is in scope) and returns its view expression.</summary>
    public string Buffer(string field, string length, string comment, string? type = null)
    {
        _buffers.Add((field, type ?? T, length, comment));
        return field + ".View";
    }

    /// <summary>Writes kernel <paramref name="method"/> (a private static method of the GPU class) and declares the
    /// field its loaded form is kept in; returns that field's name, for <see cref="Launch"/>.</summary>
    /// <param name="method">The kernel's name, e.g. Dense1Forward.</param>
    /// <param name="summary">What one thread computes (the math, in the generated comment).</param>
    /// <param name="parameters">The parameters after the index <c>i</c>: (type, name).</param>
    /// <param name="body">Writes the body; <c>i</c> is the thread's index.</param>
    public string Kernel(string method, string summary, (string Type, string Name)[] parameters, Action<CodeWriter> body)
    {
        string field = "_" + char.ToLowerInvariant(method[0]) + method.Substring(1);
        if (_kernels.Any(k => k.Field == field)) return field;
        _kernels.Add((field, method, parameters.Select(p => p.Type).ToArray()));
        var w = Kernels;
        w.Line($"/// <summary>{CodeWriter.XmlEscape(summary)}</summary>");
        w.Open($"private static void {method}(Index1D i{string.Concat(parameters.Select(p => $", {p.Type} {p.Name}"))})");
        body(w);
        w.Close();
        w.Line();
        return field;
    }

    /// <summary>Writes a launch of a loaded kernel over <paramref name="extent"/> threads into the host code.</summary>
    public void Launch(string field, string extent, params string[] arguments)
        => Host.Line($"{field}({extent}{string.Concat(arguments.Select(a => ", " + a))});");

    /// <summary>(type, name) of a view parameter.</summary>
    public (string, string) V(string name) => (View, name);

    /// <summary>The element-wise activation <paramref name="layer"/> applied to <paramref name="x"/> (an expression
    /// read once per use, so pass a local), printed from its formula.</summary>
    public string Activation(LayerPlan layer, string x) =>
        Layers.ActivationEmitter.Scalar(C, Layers.ActivationEmitter.Formula(layer).Forward, layer, x, "", "", operand: true);

    /// <summary>The element-wise activation that directly follows <paramref name="layer"/> (a Dense or Conv2D) and is
    /// fused into its forward kernel, or null.</summary>
    public static LayerPlan? FusedActivation(NetworkPlan plan, LayerPlan layer)
    {
        if (layer.Kind is not (LayerKind.Dense or LayerKind.Conv2D) || layer.Index + 1 >= plan.Layers.Length) return null;
        var next = plan.Layers[layer.Index + 1];
        return next.IsActivation && next.Kind != LayerKind.Softmax ? next : null;
    }

    /// <summary>Whether <paramref name="layer"/> is an activation whose forward pass its producer's kernel computes.</summary>
    public static bool IsFused(NetworkPlan plan, LayerPlan layer)
        => layer.Index > 0 && FusedActivation(plan, plan.Layers[layer.Index - 1]) == layer;
}
