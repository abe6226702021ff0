namespace Reweighting.Text.Corpus;

/// <summary>How plain-text files are split into documents.</summary>
public enum PlainTextLayout
{
    /// <summary>Every non-blank line is a document (streams files of any size).</summary>
    DocumentPerLine,

    /// <summary>Each file is one document.</summary>
    DocumentPerFile,
}

/// <summary>Field names and layout for reading a corpus.</summary>
/// <param name="TextField">JSONL field or Parquet column holding the document text.</param>
/// <param name="IdField">JSONL field or Parquet column holding the document id (string or number); optional in each
/// record, ids are derived from the file and line (Parquet: row) where it is missing.</param>
/// <param name="DomainField">JSONL field or Parquet column holding the document's domain; optional in each record.</param>
/// <param name="PlainText">Whether .txt files hold one document per line or per file.</param>
/// <param name="ExtraFields">Further scalar fields to carry in <see cref="CorpusRecord.Fields"/> (e.g. an evaluation's
/// <c>label</c>), from JSONL and Parquet alike.</param>
/// <param name="KeepJson">Keep each JSONL record's whole object in <see cref="CorpusRecord.Json"/> (costs its memory).</param>
public sealed record CorpusReaderOptions(
    string TextField = "text",
    string IdField = "id",
    string DomainField = "domain",
    PlainTextLayout PlainText = PlainTextLayout.DocumentPerLine,
    bool KeepJson = false,
    IReadOnlyList<string>? ExtraFields = null)
{
    /// <summary>The defaults: "text", "id", "domain", one document per line.</summary>
    public static CorpusReaderOptions Default { get; } = new();
}
