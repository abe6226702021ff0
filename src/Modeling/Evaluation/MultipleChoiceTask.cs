using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reweighting.Modeling.Evaluation;

/// <summary>One multiple-choice question: a context, the candidate continuations and the index of the right one.
/// Task files are JSONL with one such object per line: <c>{"context": "...", "choices": ["...", "..."], "gold": 0}</c>.</summary>
public sealed record MultipleChoiceItem(
    [property: JsonPropertyName("context")] string Context,
    [property: JsonPropertyName("choices")] IReadOnlyList<string> Choices,
    [property: JsonPropertyName("gold")] int Gold)
{
    /// <summary>Reads a task file; a malformed line fails with its file and line number.</summary>
    public static IReadOnlyList<MultipleChoiceItem> ReadJsonl(string path)
    {
        var items = new List<MultipleChoiceItem>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            MultipleChoiceItem? item;
            try
            {
                item = JsonSerializer.Deserialize<MultipleChoiceItem>(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: not a task item ({e.Message})", e);
            }
            if (item?.Context is null || item.Choices is null || item.Choices.Count < 2)
                throw new InvalidDataException($"{path}:{lineNumber}: a task item needs \"context\" and at least two \"choices\"");
            if (item.Gold < 0 || item.Gold >= item.Choices.Count)
                throw new InvalidDataException($"{path}:{lineNumber}: \"gold\" {item.Gold} is not the index of a choice");
            items.Add(item);
        }
        if (items.Count == 0) throw new InvalidDataException($"{path} holds no task items");
        return items;
    }
}

/// <summary>Accuracy of one task: <c>acc</c> picks the choice with the highest summed log-likelihood,
/// <c>acc_norm</c> the highest log-likelihood per character of the choice (the LM Evaluation Harness's rules).</summary>
public sealed record TaskResult(string Task, int Items, int Shots, double Accuracy, double NormalizedAccuracy);
