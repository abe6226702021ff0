using System.CommandLine;
using Reweighting.Text.Corpus;

namespace Reweighting.Cli.Commands;

/// <summary>--text-field, --id-field and --domain-field: how every command that reads a corpus maps its fields (JSONL
/// keys or Parquet columns).</summary>
internal sealed class CorpusFieldOptions
{
    /// <summary>What a corpus path may be, for the commands' descriptions.</summary>
    public const string Formats = "JSONL (.jsonl, .gz, .zst), Parquet, text; a file, a directory of shards or a glob";

    public Option<string> Text { get; } = new("--text-field")
    {
        Description = "Field (JSONL key or Parquet column) holding the text", DefaultValueFactory = _ => "text",
    };

    public Option<string> Id { get; } = new("--id-field")
    {
        Description = "Field holding the document id; where a record has none, the id is FILE:LINE (Parquet: FILE:ROW, from 0)",
        DefaultValueFactory = _ => "id",
    };

    public Option<string> Domain { get; } = new("--domain-field")
    {
        Description = "Field holding the document's domain (optional in each record)", DefaultValueFactory = _ => "domain",
    };

    /// <summary>Adds the three options to a command.</summary>
    public CorpusFieldOptions AddTo(Command command)
    {
        command.Options.Add(Text);
        command.Options.Add(Id);
        command.Options.Add(Domain);
        return this;
    }

    /// <summary>The reader options the command line asked for.</summary>
    public CorpusReaderOptions Reader(ParseResult parse) =>
        new(TextField: parse.GetValue(Text)!, IdField: parse.GetValue(Id)!, DomainField: parse.GetValue(Domain)!);
}
