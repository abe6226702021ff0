namespace Reweighting.Text.Corpus;

/// <summary>One document read from a corpus.</summary>
/// <param name="Id">The record's own id, or one derived from its file (relative to the corpus root) and line, or for
/// Parquet its row counted from 0: "shard.parquet:17".</param>
/// <param name="Text">The document text, never empty.</param>
/// <param name="Domain">The record's domain field, when it has one.</param>
/// <param name="Source">Where it came from: "file:line" (Parquet: "file:row", from 0), or the file for one-document-per-file
/// text.</param>
public sealed record CorpusRecord(string Id, string Text, string? Domain, string Source)
{
    /// <summary>The whole JSON object the record was read from, when <see cref="CorpusReaderOptions.KeepJson"/> asked for
    /// it (null otherwise, and for plain text): lets a tool rewrite a record with every field it had.</summary>
    public string? Json { get; init; }

    /// <summary>The values of <see cref="CorpusReaderOptions.ExtraFields"/> the record has (null when it has none).</summary>
    public IReadOnlyDictionary<string, string>? Fields { get; init; }
}

/// <summary>A record that was skipped, and why.</summary>
/// <param name="Source">"file:line", "file row N" (Parquet) or the file of the skipped record.</param>
/// <param name="Reason">What was wrong with it.</param>
public sealed record CorpusProblem(string Source, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Source}: {Reason}";
}
