using FluentAssertions;
using Reweighting.Evaluation;
using Xunit;

namespace Reweighting.Tests;

public sealed class DetectionMetricsTests
{
    [Fact]
    public void Roc_auc_counts_correctly_ordered_pairs_with_ties_as_halves()
    {
        // Positives 0.8 and 0.4; negatives 0.4 and 0.1: pairs (0.8>0.4), (0.8>0.1), (0.4=0.4: ½), (0.4>0.1) → 3.5/4.
        DetectionMetrics.RocAuc([0.8, 0.4, 0.4, 0.1], [true, true, false, false]).Should().BeApproximately(0.875, 1e-12);
        DetectionMetrics.RocAuc([3, 2, 1], [true, false, false]).Should().Be(1);
        DetectionMetrics.RocAuc([1, 2, 3], [true, false, false]).Should().Be(0);
        double.IsNaN(DetectionMetrics.RocAuc([1, 2], [true, true])).Should().BeTrue();
    }

    [Fact]
    public void Average_precision_matches_the_step_sum_definition()
    {
        // Descending: 0.9 (+), 0.8 (−), 0.7 (+), 0.1 (−): AP = ½·1 + ½·(2/3).
        DetectionMetrics.AveragePrecision([0.1, 0.9, 0.7, 0.8], [false, true, true, false]).Should().BeApproximately(0.5 + 1.0 / 3, 1e-12);
        // A tie between a positive and a negative at the top counts as one threshold with precision ½.
        DetectionMetrics.AveragePrecision([1, 1, 0], [true, false, false]).Should().BeApproximately(0.5, 1e-12);
        DetectionMetrics.PrecisionRecall([true, true, false, false], [true, false, true, false]).Should().Be((0.5, 0.5));
        Assert.Throws<ArgumentException>(() => DetectionMetrics.RocAuc([double.NaN], [true]));
    }
}
