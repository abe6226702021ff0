namespace Reweighting.Contracts;

/// <summary>A corpus document as the store keeps it: identity, provenance and a preview, optionally the full text.</summary>
/// <param name="Id">Producer-assigned document id (the Kafka key of the <c>documents</c> topic).</param>
/// <param name="Domain">Optional domain tag (e.g. web, code, books).</param>
/// <param name="Source">Optional origin (file, crawl, dataset).</param>
/// <param name="ContentHash">SHA-256 of the UTF-8 text, so re-ingested copies can be recognised.</param>
/// <param name="Length">Length of the text in characters.</param>
/// <param name="Snippet">The first characters of the text, for people reading query results.</param>
/// <param name="Text">The full text, stored only when configured to.</param>
public sealed record Document(
    string Id,
    string? Domain,
    string? Source,
    byte[] ContentHash,
    int Length,
    string Snippet,
    string? Text = null);
