namespace NetGen.Generators.Emit;

/// <summary>
/// The single-thread rule and parallel inference (docs/threading.md). A network instance is single-threaded: every
/// public pass opens with the guard of <c>NetGen.SingleThreaded</c> (one interlocked compare-exchange; a nested call on
/// the same thread, TrainStep → Forward, one plain read) and releases it in a finally block, so a second thread gets a
/// clear InvalidOperationException instead of silently wrong outputs. <c>CreateInferenceReplica</c> gives parallel
/// inference a supported way: an instance that shares the parameter and state buffers (read-only) and has its own
/// activations and scratch; a replica refuses every training pass.
/// </summary>
internal static class ThreadingEmitter
{
    public static void Fields(CodeWriter w)
    {
        w.Line("private int _owner;   // the managed thread id inside a public pass, 0 when none (NetGen.SingleThreaded: an instance is single-threaded)");
        w.Line("private readonly bool _replica;   // an inference replica (CreateInferenceReplica): shares _p and _s with its source, never trains");
    }

    /// <summary>Opens the guarded body of a public pass: <c>bool entered = …; try {</c>.</summary>
    public static void Enter(CodeWriter w, EmitContext c, string method, bool training = false)
    {
        string name = c.Plan.Spec.ClassName;
        w.Line(training
            ? $"bool entered = global::NetGen.SingleThreaded.EnterTraining(ref _owner, _replica, \"{name}\", \"{method}\");"
            : $"bool entered = global::NetGen.SingleThreaded.Enter(ref _owner, \"{name}\", \"{method}\");");
        w.Open("try");
    }

    /// <summary>Closes what <see cref="Enter"/> opened: <c>} finally { release }</c>.</summary>
    public static void Exit(CodeWriter w)
    {
        w.Close();
        w.Open("finally");
        w.Line("if (entered) global::NetGen.SingleThreaded.Exit(ref _owner);");
        w.Close();
    }

    /// <summary>Forward on a replica of a network whose forward pass depends on <c>Training</c> (BatchNorm updates its
    /// running statistics in the shared state, Dropout draws masks): refused with Training = true.</summary>
    public static void RefuseTrainingForward(CodeWriter w, EmitContext c, string method)
    {
        if (c.Plan.HasTrainingMode)
            w.Line($"if (Training) global::NetGen.SingleThreaded.RefuseTraining(_replica, \"{c.Plan.Spec.ClassName}\", \"{method} with Training = true\");");
    }

    /// <summary><c>CreateInferenceReplica</c> and the constructor behind it.</summary>
    public static void Replica(CodeWriter w, EmitContext c)
    {
        var plan = c.Plan;
        string t = c.T, id = NetworkParser.Escape(plan.Spec.ClassName);
        w.Line("/// <summary>A network for parallel inference that shares this network's <see cref=\"Parameters\"/> and <see cref=\"State\"/>");
        w.Line("/// (the same arrays, not copies) and has its own activations and scratch, for batches of up to <paramref name=\"maxBatch\"/>");
        w.Line("/// samples: one replica per thread (a pool of them in a web server) runs <c>Forward</c> concurrently with the others and gives");
        w.Line("/// bit-identical outputs to this network. A replica is in inference mode (<c>Training = false</c>) and refuses every training");
        w.Line("/// pass (Backward, TrainStep, ZeroGradients, Explain) with an InvalidOperationException; its <see cref=\"Gradients\"/> is empty.");
        w.Line("/// It sees every change to the shared parameters: do not train or load weights into this network while replicas run.</summary>");
        w.Open($"public {id} CreateInferenceReplica(int maxBatch = 1)");
        w.Line($"return new {id}(this, maxBatch);");
        w.Close();
        w.Line();
        w.Line("/// <summary>The constructor of an inference replica: buffers for <paramref name=\"maxBatch\"/> samples, then the source's");
        w.Line("/// parameters and state in place of its own (the weights the chained constructor initialised are dropped).</summary>");
        w.Open($"private {id}({id} source, int maxBatch) : this(maxBatch, 0)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(source);");
        w.Line("_p = source._p;");
        w.Line("_s = source._s;");
        if (c.CachesPanels) w.Line("_weightsVersion = source._weightsVersion;   // a write to the shared parameters repacks every replica's kept panels");
        w.Line($"_g = global::System.Array.Empty<{t}>();   // a replica never trains");
        w.Line("_replica = true;");
        w.Line("Training = false;");
        w.Close();
        w.Line();
    }
}
