using System.Numerics;
using System.Numerics.Tensors;

namespace NetGen;

/// <summary>
/// Loss values and their gradients on flat batches (n samples × m outputs, row-major). Generated networks call
/// these; they are public so hand-written glue (a VAE's KL term, a GAN's two losses) can use them too.
/// Each gradient method <em>writes</em> ∂E/∂output (it does not accumulate). Reductions match PyTorch's defaults.
/// </summary>
public static class Losses
{
    /// <summary>E = (1/n) Σ_samples Σⱼ ½(tⱼ − oⱼ)² — the lecture's E_total, averaged over the batch.</summary>
    public static T HalfSquaredError<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch) where T : unmanaged, IFloatingPointIeee754<T>
        => SumSquaredError(output, target) / T.CreateChecked(2 * batch);

    /// <summary>∂E/∂oⱼ = −(tⱼ − oⱼ) / n.</summary>
    public static void HalfSquaredErrorGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
        => ScaledDifference(output, target, T.One / T.CreateChecked(batch), gradient);

    /// <summary>E = mean over all n·m values of (t − o)² (PyTorch <c>MSELoss()</c>).</summary>
    public static T MeanSquaredError<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target) where T : unmanaged, IFloatingPointIeee754<T>
        => SumSquaredError(output, target) / T.CreateChecked(output.Length);

    /// <summary>∂E/∂o = 2(o − t) / (n·m).</summary>
    public static void MeanSquaredErrorGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
        => ScaledDifference(output, target, T.CreateChecked(2) / T.CreateChecked(output.Length), gradient);

    /// <summary>E = mean over all n·m values of |t − o| (PyTorch <c>L1Loss()</c>).</summary>
    public static T MeanAbsoluteError<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target) where T : unmanaged, IFloatingPointIeee754<T>
        => SumAbsoluteError(output, target) / T.CreateChecked(output.Length);

    /// <summary>∂E/∂o = sign(o − t) / (n·m), with sign(0) = 0 as in PyTorch.</summary>
    public static void MeanAbsoluteErrorGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
        => ScaledSign(output, target, T.One / T.CreateChecked(output.Length), gradient);

    /// <summary>E = mean over all n·m values of −[t log p + (1 − t) log(1 − p)], each log clamped at −100
    /// (PyTorch <c>BCELoss()</c>), so p = 0 or 1 gives a large finite loss rather than infinity.</summary>
    public static T BinaryCrossEntropy<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T floor = T.CreateChecked(-100), sum = T.Zero;
        for (int i = 0; i < output.Length; i++)
        {
            T p = output[i], t = target[i];
            sum -= t * T.Max(T.Log(p), floor) + (T.One - t) * T.Max(T.Log(T.One - p), floor);
        }
        return sum / T.CreateChecked(output.Length);
    }

    /// <summary>∂E/∂p = (p − t) / max(p(1 − p), 1e−12) / (n·m), PyTorch's formula.</summary>
    public static void BinaryCrossEntropyGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T eps = T.CreateChecked(1e-12), scale = T.One / T.CreateChecked(output.Length);
        for (int i = 0; i < output.Length; i++)
        {
            T p = output[i];
            gradient[i] = (p - target[i]) / T.Max(p * (T.One - p), eps) * scale;
        }
    }

    /// <summary>E = Σ over all values of −[t log p + (1 − t) log(1 − p)], divided by the batch size (each log clamped at
    /// −100): binary cross-entropy summed over each sample's outputs, averaged over the batch (a VAE's reconstruction
    /// term in nats per sample).</summary>
    public static T BinaryCrossEntropySummed<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch) where T : unmanaged, IFloatingPointIeee754<T>
        => BinaryCrossEntropy(output, target) * T.CreateChecked(output.Length) / T.CreateChecked(batch);

    /// <summary>∂E/∂p = (p − t) / max(p(1 − p), 1e−12) / n.</summary>
    public static void BinaryCrossEntropySummedGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, int batch, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T eps = T.CreateChecked(1e-12), scale = T.One / T.CreateChecked(batch);
        for (int i = 0; i < output.Length; i++)
        {
            T p = output[i];
            gradient[i] = (p - target[i]) / T.Max(p * (T.One - p), eps) * scale;
        }
    }

    /// <summary>Binary cross-entropy of σ(z) against t from the logits z, Σ over all values divided by
    /// <paramref name="divisor"/> (the value count for a mean, the batch size for a per-sample sum): each term is
    /// max(z, 0) − t·z + log(1 + e^−|z|), which never overflows and never takes the log of 0 (PyTorch
    /// <c>BCEWithLogitsLoss()</c>).</summary>
    public static T BinaryCrossEntropyWithLogits<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> target, int divisor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.SameLength(logits.Length, target.Length, nameof(target));
        // Vectorised in chunks that stay in L1 (TensorPrimitives: Vector512 where accelerated): Σ max(z, 0) − Σ t·z
        // + Σ log(1 + e^(−|z|)) per chunk. A NaN or infinite logit makes the sum NaN or infinite, as element by element.
        Span<T> work = stackalloc T[LossChunk];
        T sum = T.Zero;
        for (int i = 0; i < logits.Length; i += LossChunk)
        {
            int n = Math.Min(LossChunk, logits.Length - i);
            ReadOnlySpan<T> z = logits.Slice(i, n);
            Span<T> w = work[..n];
            TensorPrimitives.Abs(z, w);
            TensorPrimitives.Negate<T>(w, w);
            TensorPrimitives.Exp<T>(w, w);
            TensorPrimitives.Add<T>(w, T.One, w);
            TensorPrimitives.Log<T>(w, w);
            T softplus = TensorPrimitives.Sum<T>(w), linear = TensorPrimitives.Dot(target.Slice(i, n), z);
            TensorPrimitives.Max(z, T.Zero, w);
            sum += TensorPrimitives.Sum<T>(w) - linear + softplus;
        }
        return sum / T.CreateChecked(divisor);
    }

    /// <summary>Values per chunk of the vectorised elementwise losses: a few chunk-sized buffers stay in L1.</summary>
    private const int LossChunk = 1024;

    /// <summary>∂E/∂z = (σ(z) − t) / divisor (σ never NaN for a finite logit: e^(−z) overflowing gives σ = 0).</summary>
    public static void BinaryCrossEntropyWithLogitsGradient<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> target, int divisor, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.One / T.CreateChecked(divisor);
        // σ(z) = 1 / (1 + e^(−z)) (TensorPrimitives.Sigmoid, vectorised): e^(−z) overflowing to ∞ gives 0, never NaN.
        for (int i = 0; i < logits.Length; i += LossChunk)
        {
            int n = Math.Min(LossChunk, logits.Length - i);
            Span<T> g = gradient.Slice(i, n);
            TensorPrimitives.Sigmoid(logits.Slice(i, n), g);
            TensorPrimitives.Subtract(g, target.Slice(i, n), g);
            TensorPrimitives.Multiply(g, scale, g);
        }
    }

    /// <summary>The VAE's KL term for a batch of (μ, log σ²) rows (2·L values per sample: μ first, then log σ²):
    /// KL(N(μ, σ²) ‖ N(0, 1)) = −½ Σⱼ (1 + log σ²ⱼ − μⱼ² − σ²ⱼ), summed over the L latent values, averaged over the
    /// batch.</summary>
    public static T GaussianKL<T>(ReadOnlySpan<T> meanLogVariance, int batch, int latent) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.SameLength(meanLogVariance.Length, batch * 2 * latent, nameof(meanLogVariance));
        T sum = T.Zero;
        for (int n = 0; n < batch; n++)
        {
            var row = meanLogVariance.Slice(n * 2 * latent, 2 * latent);
            for (int j = 0; j < latent; j++)
            {
                T mu = row[j], logVar = row[latent + j];
                sum += T.One + logVar - mu * mu - T.Exp(logVar);
            }
        }
        return -sum / T.CreateChecked(2 * batch);
    }

    /// <summary>Adds β times the gradient of <see cref="GaussianKL{T}"/> into <paramref name="gradient"/>:
    /// ∂/∂μ = β·μ/n, ∂/∂log σ² = β·½(σ² − 1)/n.</summary>
    public static void AddGaussianKLGradient<T>(ReadOnlySpan<T> meanLogVariance, int batch, int latent, T beta, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.SameLength(meanLogVariance.Length, batch * 2 * latent, nameof(meanLogVariance));
        T scale = beta / T.CreateChecked(batch), half = T.CreateChecked(0.5);
        for (int n = 0; n < batch; n++)
        {
            int at = n * 2 * latent;
            for (int j = 0; j < latent; j++)
            {
                gradient[at + j] += scale * meanLogVariance[at + j];
                gradient[at + latent + j] += scale * half * (T.Exp(meanLogVariance[at + latent + j]) - T.One);
            }
        }
    }

    /// <summary>Cross-entropy of softmax(z) against targets t, from the logits z, averaged over the batch:
    /// E = (1/n) Σ_samples −Σⱼ tⱼ log softmax(z)ⱼ, computed stably as Σⱼ tⱼ (logsumexp(z) − zⱼ)
    /// (PyTorch <c>CrossEntropyLoss()</c>, which also takes logits).</summary>
    public static T CrossEntropyWithLogits<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> target, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int classes = logits.Length / batch;
        T sum = T.Zero;
        for (int n = 0; n < batch; n++)
        {
            var z = logits.Slice(n * classes, classes);
            var t = target.Slice(n * classes, classes);
            T lse = LogSumExp(z);
            for (int j = 0; j < classes; j++) sum += t[j] * (lse - z[j]);
        }
        return sum / T.CreateChecked(batch);
    }

    /// <summary>∂E/∂zⱼ = (softmax(z)ⱼ · Σₖtₖ − tⱼ) / n, i.e. (p − t)/n for one-hot targets.</summary>
    public static void CrossEntropyWithLogitsGradient<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> target, int batch, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int classes = logits.Length / batch;
        T scale = T.One / T.CreateChecked(batch);
        for (int n = 0; n < batch; n++)
        {
            var z = logits.Slice(n * classes, classes);
            var t = target.Slice(n * classes, classes);
            var g = gradient.Slice(n * classes, classes);
            T lse = LogSumExp(z), mass = T.Zero;
            for (int j = 0; j < classes; j++) mass += t[j];
            for (int j = 0; j < classes; j++) g[j] = (T.Exp(z[j] - lse) * mass - t[j]) * scale;
        }
    }

    /// <summary>Cross-entropy of given probabilities p (each row a distribution, e.g. a softmax's output) against targets
    /// t, averaged over the batch: E = (1/n) Σ_samples −Σⱼ tⱼ ln pⱼ, each log clamped at −100 as in
    /// <see cref="BinaryCrossEntropy{T}"/>, so p = 0 gives a large finite loss rather than infinity (Keras
    /// <c>categorical_crossentropy</c> on probabilities; PyTorch <c>NLLLoss</c> of <c>log p</c>). Natural logarithms: for
    /// one-hot t it is −ln p_class. From scores use <see cref="CrossEntropyWithLogits{T}"/>, which never takes the log of a
    /// probability rounded to 0.</summary>
    public static T CrossEntropy<T>(ReadOnlySpan<T> probabilities, ReadOnlySpan<T> target, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(probabilities.Length, target.Length, batch, nameof(probabilities));
        T floor = T.CreateChecked(-100), sum = T.Zero;
        for (int i = 0; i < probabilities.Length; i++) sum -= target[i] * T.Max(T.Log(probabilities[i]), floor);
        return sum / T.CreateChecked(batch);
    }

    /// <summary>∂E/∂pⱼ = −tⱼ / (max(pⱼ, 1e−12) · n), the gradient of <see cref="CrossEntropy{T}"/>.</summary>
    public static void CrossEntropyGradient<T>(ReadOnlySpan<T> probabilities, ReadOnlySpan<T> target, int batch, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(probabilities.Length, target.Length, batch, nameof(probabilities));
        if (gradient.Length < probabilities.Length)
            throw new ArgumentException($"gradient has {gradient.Length} values but the probabilities have {probabilities.Length}: pass a span at least as long.", nameof(gradient));
        T eps = T.CreateChecked(1e-12), scale = T.One / T.CreateChecked(batch);
        for (int i = 0; i < probabilities.Length; i++) gradient[i] = -target[i] / T.Max(probabilities[i], eps) * scale;
    }

    /// <summary>Throws unless there are as many targets as values and the batch divides them into rows.</summary>
    private static void CheckRows(int values, int targets, int batch, string name)
    {
        if (batch < 1 || values % batch != 0 || values == 0)
            throw new ArgumentException($"{name} has {values} values, which is not {batch} (batch) rows of at least one class: pass batch × classes values and the batch they hold.", name);
        if (targets != values)
            throw new ArgumentException($"target has {targets} values but {name} has {values}: pass one target per value (one-hot rows for class labels, see OneHot).", "target");
    }

    /// <summary>log Σ e^zⱼ, shifted by max z so no exponential overflows.</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = z[0];
        for (int j = 1; j < z.Length; j++) max = T.Max(max, z[j]);
        T sum = T.Zero;
        for (int j = 0; j < z.Length; j++) sum += T.Exp(z[j] - max);
        return max + T.Log(sum);
    }

    /// <summary>E = Σ over all values of (t − o)².</summary>
    public static T SumSquaredError<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int i = 0; i < output.Length; i++) { T e = target[i] - output[i]; sum += e * e; }
        return sum;
    }

    /// <summary>∂E/∂o = 2(o − t).</summary>
    public static void SumSquaredErrorGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
        => ScaledDifference(output, target, T.CreateChecked(2), gradient);

    /// <summary>E = Σ over all values of |t − o|.</summary>
    public static T SumAbsoluteError<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int i = 0; i < output.Length; i++) sum += T.Abs(target[i] - output[i]);
        return sum;
    }

    /// <summary>∂E/∂o = sign(o − t).</summary>
    public static void SumAbsoluteErrorGradient<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
        => ScaledSign(output, target, T.One, gradient);

    /// <summary>gradient = (o − t)·scale: every squared-error gradient, differing only in its reduction's scale.</summary>
    private static void ScaledDifference<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, T scale, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < output.Length; i++) gradient[i] = (output[i] - target[i]) * scale;
    }

    /// <summary>gradient = sign(o − t)·scale (sign(0) = 0, as PyTorch): every absolute-error gradient.</summary>
    private static void ScaledSign<T>(ReadOnlySpan<T> output, ReadOnlySpan<T> target, T scale, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < output.Length; i++) gradient[i] = T.CreateChecked(T.Sign(output[i] - target[i])) * scale;
    }

    /// <summary>The multiclass SVM loss, averaged over the batch: (1/n) Σ_samples Σ_{j≠y} max(0, s_j − s_y + 1)^p with
    /// p = 1 (hinge) or 2 (squared hinge); y is each target row's largest entry (the class of a one-hot row).</summary>
    public static T MulticlassHinge<T>(ReadOnlySpan<T> scores, ReadOnlySpan<T> target, int batch, bool squared = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int classes = scores.Length / batch;
        T sum = T.Zero;
        for (int n = 0; n < batch; n++)
        {
            var s = scores.Slice(n * classes, classes);
            int y = ArgMax(target.Slice(n * classes, classes));
            for (int j = 0; j < classes; j++)
            {
                if (j == y) continue;
                T margin = s[j] - s[y] + T.One;
                if (margin > T.Zero) sum += squared ? margin * margin : margin;
            }
        }
        return sum / T.CreateChecked(batch);
    }

    /// <summary>∂E/∂s_j = m_j/n and ∂E/∂s_y = −Σ_{j≠y} m_j/n over the violated margins, with m_j = 1 (hinge) or
    /// 2·margin_j (squared hinge).</summary>
    public static void MulticlassHingeGradient<T>(ReadOnlySpan<T> scores, ReadOnlySpan<T> target, int batch, Span<T> gradient, bool squared = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int classes = scores.Length / batch;
        T scale = T.One / T.CreateChecked(batch), two = T.CreateChecked(2);
        for (int n = 0; n < batch; n++)
        {
            var s = scores.Slice(n * classes, classes);
            var g = gradient.Slice(n * classes, classes);
            int y = ArgMax(target.Slice(n * classes, classes));
            g.Clear();
            for (int j = 0; j < classes; j++)
            {
                if (j == y) continue;
                T margin = s[j] - s[y] + T.One;
                if (margin <= T.Zero) continue;
                T d = (squared ? two * margin : T.One) * scale;
                g[j] += d;
                g[y] -= d;
            }
        }
    }

    /// <summary>Index of the largest value (the first on ties).</summary>
    public static int ArgMax<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int best = 0;
        for (int j = 1; j < values.Length; j++) if (values[j] > values[best]) best = j;
        return best;
    }

    /// <summary>Writes one-hot rows for <paramref name="labels"/> into <paramref name="target"/> (n × classes).</summary>
    /// <remarks>With one class (a single sigmoid output) the label itself, 0 or 1, is the target.</remarks>
    public static void OneHot<T>(ReadOnlySpan<int> labels, int classes, Span<T> target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (classes == 1)
        {
            for (int n = 0; n < labels.Length; n++) target[n] = T.CreateChecked(labels[n]);
            return;
        }
        target.Slice(0, labels.Length * classes).Clear();
        for (int n = 0; n < labels.Length; n++) target[n * classes + labels[n]] = T.One;
    }
}
