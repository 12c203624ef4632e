using System.Numerics;

namespace NetGen;

/// <summary>
/// Several networks' parameters trained as one (PyTorch's parameter list handed to one optimiser): a VAE split into an
/// encoder and a decoder, or any composition of networks whose gradients come from one loss. One
/// <see cref="Optimizer"/> steps them all with <see cref="Step"/>: its state (Adam's moments) spans the concatenated
/// parameters, its step count advances once per group step, and clipping by norm uses the norm of every gradient in
/// the group together. Networks keep their own buffers; nothing is copied for the elementwise built-in optimisers.
/// </summary>
/// <example>
/// <code>
/// var vae = new ParameterGroup&lt;float&gt;(encoder, decoder);
/// var adam = new Adam(1e-3);
/// vae.ZeroGradients();
/// … forward and backward through both …
/// vae.Step(adam);
/// </code>
/// </example>
public sealed class ParameterGroup<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _scratch;

    /// <summary>Groups <paramref name="networks"/> (at least one, each once), in the order their parameters are
    /// concatenated.</summary>
    public ParameterGroup(params INetwork<T>[] networks)
    {
        ArgumentNullException.ThrowIfNull(networks);
        if (networks.Length == 0) throw new ArgumentException("A parameter group needs at least one network.", nameof(networks));
        for (int i = 0; i < networks.Length; i++)
        {
            if (networks[i] is null) throw new ArgumentException($"Network {i} of the group is null.", nameof(networks));
            for (int k = 0; k < i; k++)
                if (ReferenceEquals(networks[k], networks[i]))
                    throw new ArgumentException($"Network {i} ({networks[i].GetType().Name}) is already in the group at position {k}: each network's parameters would be stepped twice.", nameof(networks));
        }
        All = networks.ToArray();
        Networks = All;
        long total = Networks.Sum(n => (long)n.Parameters.Length);
        if (total > Array.MaxLength) throw new ArgumentException($"The group holds {total} parameters, more than one optimiser state vector can hold.", nameof(networks));
        ParameterCount = (int)total;
    }

    /// <summary>The networks, in parameter order.</summary>
    public IReadOnlyList<INetwork<T>> Networks { get; }

    /// <summary>The same as an array: a foreach over it allocates no enumerator (a step allocates nothing).</summary>
    internal INetwork<T>[] All { get; }

    /// <summary>The total number of parameters.</summary>
    public int ParameterCount { get; }

    /// <summary>Zeros every network's gradients.</summary>
    public void ZeroGradients()
    {
        foreach (var net in All) net.ZeroGradients();
    }

    /// <summary>The Euclidean norm of all the group's gradients together (what <see cref="Optimizer.ClipNorm"/> compares).</summary>
    public double GradientNorm()
    {
        double sum = 0;
        foreach (var net in All)
        {
            double n = double.CreateChecked(System.Numerics.Tensors.TensorPrimitives.Norm<T>(net.Gradients));
            sum += n * n;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>One update of every network: <see cref="Optimizer.StepGroup{T}(ParameterGroup{T})"/> for the built-in
    /// optimisers; any other <see cref="IOptimizer"/> gets the concatenated parameters and gradients in one call
    /// (gathered into a buffer of the group and scattered back).</summary>
    public void Step(IOptimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer is Optimizer builtIn)
        {
            builtIn.StepGroup(this);
            return;
        }
        Span<T> all = Scratch(2), p = all[..ParameterCount], g = all.Slice(ParameterCount, ParameterCount);
        int at = 0;
        foreach (var net in All)
        {
            net.Parameters.CopyTo(p[at..]);
            net.Gradients.CopyTo(g[at..]);
            at += net.Parameters.Length;
        }
        optimizer.Step<T>(p, g);
        at = 0;
        foreach (var net in All)
        {
            p.Slice(at, net.Parameters.Length).CopyTo(net.Parameters);
            at += net.Parameters.Length;
        }
    }

    /// <summary><paramref name="vectors"/> × ParameterCount values of scratch, allocated once.</summary>
    internal Span<T> Scratch(int vectors) => (_scratch ??= new T[(long)ParameterCount * 2 <= Array.MaxLength ? ParameterCount * 2 : throw new InvalidOperationException("The group is too large to gather.")]).AsSpan(0, vectors * ParameterCount);
}
