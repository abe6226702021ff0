using Reweighting.Modeling.Training;
using Reweighting.Torch;

namespace Reweighting.Objectives;

/// <summary>Each training sequence of a <see cref="TokenStream"/> weighed by the scorer's statistics of the documents its
/// targets come from, combined by their token counts (<see cref="SampleStats.Combine"/>), as the streaming trainer's
/// packer combines the statistics that scored batches carry. A corpus run thereby weighs what the streaming trainer
/// weighs: whole-document statistics, not those of a 64-token window.</summary>
/// <remarks>A sequence is found by its position in the stream (<see cref="FirstSequence"/>).
/// A document without statistics (no scored token) counts for nothing; a sequence made only of such documents gets the
/// documents' overall token-weighted statistics.</remarks>
public sealed class DocumentSequenceStatistics : ISampleStatisticsSource
{
    private readonly TokenStream _data;
    private readonly (double Mean, double Variance)?[] _documents;
    private readonly int _batchSize;
    private readonly int _gradientAccumulation;
    private readonly (double Mean, double Variance) _overall;

    /// <param name="data">The training stream, built from the documents in the order of <paramref name="documents"/>.</param>
    /// <param name="documents">Each document's (loss mean, loss variance), or null when it has none.</param>
    /// <param name="batchSize">Sequences per micro-batch.</param>
    /// <param name="gradientAccumulation">Micro-batches per optimiser step.</param>
    public DocumentSequenceStatistics(TokenStream data, IReadOnlyList<(double Mean, double Variance)?> documents, int batchSize, int gradientAccumulation)
    {
        if (batchSize < 1 || gradientAccumulation < 1) throw new ArgumentException("a step needs at least one micro-batch of one sequence");
        _data = data;
        _documents = [.. documents.Select(d => d is { } s && double.IsFinite(s.Mean) && double.IsFinite(s.Variance) ? d : null)];
        if (_documents.All(d => d is null)) throw new ArgumentException("no document has statistics");
        _batchSize = batchSize;
        _gradientAccumulation = gradientAccumulation;
        _overall = SampleStats.Combine([.. _documents.Where(d => d is not null).Select(d => (1, d!.Value.Mean, d.Value.Variance))]);
    }

    /// <summary>The statistics of the stream's sequence <paramref name="index"/>.</summary>
    public (double Mean, double Variance) Of(long index)
    {
        var parts = _data.Composition(index)
            .Where(p => p.Document < _documents.Length && _documents[p.Document] is not null)
            .Select(p => (p.Tokens, _documents[p.Document]!.Value.Mean, _documents[p.Document]!.Value.Variance))
            .ToList();
        return parts.Count == 0 ? _overall : SampleStats.Combine(parts);
    }

    /// <summary>The stream position of a micro-batch's first sequence on one process: micro-batch j of step t starts at
    /// sequence t·B·A + j·B (<paramref name="batchSize"/> B sequences per micro-batch, A micro-batches per step), as
    /// <see cref="GptTrainer"/> reads it. Throws when the micro-batch does not hold B sequences.</summary>
    public static long FirstSequence(MicroBatch batch, int batchSize, int gradientAccumulation)
    {
        var rows = (int)batch.Ids.Size(0);
        if (rows != batchSize) throw new ArgumentException($"a micro-batch of {rows} sequences where {batchSize} were set up");
        return batch.Step * batchSize * (long)gradientAccumulation + (long)batch.Index * batchSize;
    }

    public SampleStats Compute(MicroBatch batch)
    {
        var rows = _batchSize;
        var first = FirstSequence(batch, _batchSize, _gradientAccumulation);
        var means = new double[rows];
        var variances = new double[rows];
        for (var i = 0; i < rows; i++) (means[i], variances[i]) = Of(first + i);
        return new SampleStats(means, variances);
    }

    public SampleStats Compute(Tensor ids, Tensor targets) =>
        throw new InvalidOperationException("document statistics are found by a sequence's position in the stream: pass the micro-batch");
}
