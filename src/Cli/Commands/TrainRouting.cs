namespace Reweighting.Cli.Commands;

/// <summary>`reweight train` is both trainers: with <c>--corpus</c> it pretrains on a corpus file (the corpus trainer),
/// without it it is the trainer service consuming <c>scored-batches</c> (<c>reweight train-stream</c>, its full name).</summary>
internal static class TrainRouting
{
    /// <summary>The arguments with a corpus-less <c>train</c> routed to <c>train-stream</c>; others unchanged. Help
    /// (<c>train --help</c>) stays with the corpus trainer, whose description names the service form.</summary>
    public static string[] Route(string[] args)
    {
        if (args.Length == 0 || args[0] != "train") return args;
        var rest = args.Skip(1).ToList();
        if (rest.Any(a => a is "--corpus" || a.StartsWith("--corpus=", StringComparison.Ordinal) || a is "-h" or "--help" or "-?")) return args;
        return ["train-stream", .. rest];
    }
}
