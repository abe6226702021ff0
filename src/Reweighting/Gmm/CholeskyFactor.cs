namespace Reweighting.Gmm;

/// <summary>The lower-triangular L with A = L Lᵀ of a symmetric positive-definite matrix, and what it is used for:
/// log-determinants and Mahalanobis distances without forming an inverse.</summary>
public sealed class CholeskyFactor
{
    private readonly double[] _lower; // (D, D) row-major, zeros above the diagonal

    /// <summary>Matrix size D.</summary>
    public int Size { get; }

    /// <summary>log det A = 2 sum_i log L_ii.</summary>
    public double LogDeterminant { get; }

    private CholeskyFactor(double[] lower, int size)
    {
        _lower = lower;
        Size = size;
        var logDet = 0.0;
        for (var i = 0; i < size; i++) logDet += Math.Log(lower[i * size + i]);
        LogDeterminant = 2 * logDet;
    }

    /// <summary>Factorises <paramref name="matrix"/> (D rows of D); throws when it is not symmetric positive-definite.</summary>
    public static CholeskyFactor Decompose(double[][] matrix)
    {
        var d = matrix.Length;
        if (d == 0 || matrix.Any(row => row.Length != d))
            throw new ArgumentException("a covariance must be a non-empty square matrix");
        for (var i = 0; i < d; i++)
            for (var j = 0; j < i; j++)
                if (Math.Abs(matrix[i][j] - matrix[j][i]) > 1e-9 * (1 + Math.Abs(matrix[i][j])))
                    throw new ArgumentException("a covariance must be symmetric");

        var l = new double[d * d];
        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = matrix[i][j];
                for (var k = 0; k < j; k++) sum -= l[i * d + k] * l[j * d + k];
                if (i == j)
                {
                    if (!(sum > 0) || !double.IsFinite(sum))
                        throw new ArgumentException("a covariance must be positive-definite");
                    l[i * d + i] = Math.Sqrt(sum);
                }
                else
                {
                    l[i * d + j] = sum / l[j * d + j];
                }
            }
        }
        return new CholeskyFactor(l, d);
    }

    /// <summary>(x - mu)ᵀ A⁻¹ (x - mu), by solving L z = x - mu and returning |z|².</summary>
    public double SquaredMahalanobis(ReadOnlySpan<double> x, ReadOnlySpan<double> mu)
    {
        var d = Size;
        Span<double> z = d <= 16 ? stackalloc double[d] : new double[d];
        var squared = 0.0;
        for (var i = 0; i < d; i++)
        {
            var sum = x[i] - mu[i];
            for (var k = 0; k < i; k++) sum -= _lower[i * d + k] * z[k];
            z[i] = sum / _lower[i * d + i];
            squared += z[i] * z[i];
        }
        return squared;
    }
}
