using System.CommandLine;
using Reweighting.Cli.Commands;

var root = new RootCommand("reweight — data-aware language-model pretraining: score, label, query and reweight documents.");
foreach (var command in new[]
{
    TorchCommands.Create(), DemoCommand.Create(), BenchCommands.Create(), ProxyCommands.Create(),
    ProxyCommands.CreateWeightedTrain(), LanguageModelCommands.Create(), DbCommands.Create(), QueryCommands.Create(),
    RelabelCommand.Create(), TokenizerCommands.Create(), CorpusCommands.Create(), EvalCommands.Create(), IngestCommand.Create(),
    ExportCommand.Create(), ServiceCommands.CreateScore(), ServiceCommands.CreateTrainStream(), ReportCommand.Create(),
})
    root.Subcommands.Add(command);
return await root.Parse(TrainRouting.Route(args)).InvokeAsync();
