using MathNet.Numerics.LinearAlgebra;

namespace NetGen.Statistics;

/// <summary>
/// The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (mean μ, covariance Σ):
/// d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2·(Σ₁Σ₂)^½). With the features of a trained classifier's last hidden layer this is
/// the FID recipe (Heusel et al., 2017), which uses Inception-v3; the Module 6 sample uses LeNet's 84 units.
/// <para>
/// tr((Σ₁Σ₂)^½) is computed without forming the non-symmetric product's square root: with S = Σ₁^½ (the symmetric
/// square root, from MathNet.Numerics' symmetric eigendecomposition), Σ₁Σ₂ is similar to the symmetric positive
/// semi-definite S·Σ₂·S, whose eigenvalues λᵢ ≥ 0 give tr((Σ₁Σ₂)^½) = Σᵢ √λᵢ. Eigenvalues that rounding makes
/// slightly negative are taken as 0. Covariances are unbiased (divided by n − 1), as numpy.cov.
/// </para>
/// </summary>
public static class FrechetDistance
{
    /// <summary>The Fréchet distance d² between the feature sets <paramref name="a"/> and <paramref name="b"/>, each
    /// row-major: <c>count × dimension</c> values.</summary>
    /// <exception cref="ArgumentException">A set is not a whole number of rows, has fewer than two rows, or holds a
    /// non-finite value.</exception>
    public static double Compute(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int dimension)
    {
        var (meanA, covA) = Moments(a, dimension, nameof(a));
        var (meanB, covB) = Moments(b, dimension, nameof(b));
        return Compute(meanA, covA, meanB, covB);
    }

    /// <summary>As the other overload, for double features.</summary>
    public static double Compute(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int dimension)
    {
        var (meanA, covA) = Moments(a, dimension, nameof(a));
        var (meanB, covB) = Moments(b, dimension, nameof(b));
        return Compute(meanA, covA, meanB, covB);
    }

    /// <summary>d² from the two Gaussians' means and covariances.</summary>
    public static double Compute(Vector<double> meanA, Matrix<double> covarianceA, Vector<double> meanB, Matrix<double> covarianceB)
    {
        ArgumentNullException.ThrowIfNull(meanA);
        ArgumentNullException.ThrowIfNull(covarianceA);
        ArgumentNullException.ThrowIfNull(meanB);
        ArgumentNullException.ThrowIfNull(covarianceB);
        int d = meanA.Count;
        if (meanB.Count != d || covarianceA.RowCount != d || covarianceA.ColumnCount != d || covarianceB.RowCount != d || covarianceB.ColumnCount != d)
            throw new ArgumentException($"The means and covariances must all have dimension {d}.");
        double meanTerm = (meanA - meanB).DotProduct(meanA - meanB);
        var sqrtA = SymmetricSquareRoot(covarianceA);
        var product = sqrtA * covarianceB * sqrtA;
        product = (product + product.Transpose()) * 0.5;   // symmetric up to rounding: make it exactly so for the symmetric solver
        var eigen = product.Evd(Symmetricity.Symmetric);
        double traceSqrt = 0;
        foreach (var lambda in eigen.EigenValues) traceSqrt += Math.Sqrt(Math.Max(lambda.Real, 0));
        return meanTerm + covarianceA.Trace() + covarianceB.Trace() - 2 * traceSqrt;
    }

    /// <summary>The symmetric positive semi-definite square root of a covariance matrix (V·diag(√max(λ, 0))·Vᵀ).</summary>
    public static Matrix<double> SymmetricSquareRoot(Matrix<double> covariance)
    {
        var symmetric = (covariance + covariance.Transpose()) * 0.5;
        var eigen = symmetric.Evd(Symmetricity.Symmetric);
        var roots = Vector<double>.Build.Dense(eigen.EigenValues.Count, i => Math.Sqrt(Math.Max(eigen.EigenValues[i].Real, 0)));
        var v = eigen.EigenVectors;
        return v * Matrix<double>.Build.DenseOfDiagonalVector(roots) * v.Transpose();
    }

    /// <summary>Mean and unbiased covariance of <c>count × dimension</c> row-major features.</summary>
    public static (Vector<double> Mean, Matrix<double> Covariance) Moments<T>(ReadOnlySpan<T> features, int dimension, string name = "features")
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The feature dimension must be at least 1.");
        if (features.Length % dimension != 0)
            throw new ArgumentException($"{features.Length} values are not a whole number of {dimension}-value feature vectors.", name);
        int n = features.Length / dimension;
        if (n < 2) throw new ArgumentException($"A covariance needs at least 2 feature vectors; {name} has {n}.", name);
        var x = Matrix<double>.Build.Dense(n, dimension);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dimension; j++)
            {
                double v = double.CreateChecked(features[i * dimension + j]);
                if (!double.IsFinite(v)) throw new ArgumentException($"{name}[{i}, {j}] is {v}: features must be finite.", name);
                x[i, j] = v;
            }
        var mean = x.ColumnSums() / n;
        var centred = x - Matrix<double>.Build.Dense(n, dimension, (_, j) => mean[j]);
        var covariance = centred.TransposeThisAndMultiply(centred) / (n - 1);
        return (mean, covariance);
    }
}
