using System.CommandLine;
using Reweighting.Cli.Demo;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight demo`: the main job on embedded defaults.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var defaults = new DemoSettings();
        var corpus = new Option<string?>("--corpus")
        {
            Description = "Corpus to stream (" + CorpusFieldOptions.Formats + "); records with \"label\": clean|noisy give the noise " +
                          "match. Default: the generated sample corpus",
        };
        var documents = new Option<int>("--documents") { Description = "Documents of the generated corpus", DefaultValueFactory = _ => defaults.Documents };
        var noise = new Option<double>("--noise") { Description = "Share of the generated corpus replaced by injected noise", DefaultValueFactory = _ => defaults.Noise };
        var proxy = new Option<string?>("--proxy")
        {
            Description = "Proxy checkpoint to score with (default: train one on the clean reference held out of the stream, with " +
                          "the stream's tokenizer and cross-fitted folds, as `proxy train --tokenizer ... --folds 2` does)",
        };
        var proxySteps = new Option<int>("--proxy-steps") { Description = "Steps of the proxy trained when none is given", DefaultValueFactory = _ => defaults.ProxySteps };
        var steps = new Option<int>("--steps") { Description = "Steps of each training run (uniform and weighted)", DefaultValueFactory = _ => defaults.TrainSteps };
        var strategy = new Option<string>("--strategy") { Description = "Strategy of the weighted run", DefaultValueFactory = _ => defaults.Strategy };
        strategy.AcceptOnlyFromAmong([.. Strategies.StrategyCatalogue.WeightedNames]);
        var output = new Option<string>("--out") { Description = "Directory for the corpus, proxy, validation file and checkpoints", DefaultValueFactory = _ => defaults.OutDirectory };
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string (default: a private embedded cluster in --pg-data, recreated for each run)" };
        var pgData = new Option<string>("--pg-data") { Description = "Data directory of the private cluster", DefaultValueFactory = _ => defaults.PgData };
        var seed = new Option<int>("--seed") { Description = "Seed of corpus, noise, models and data order", DefaultValueFactory = _ => defaults.Seed };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => defaults.Device };
        var verbose = new Option<bool>("--verbose") { Description = "Show the services' logs" };
        var noDashboard = new Option<bool>("--no-dashboard") { Description = "Do not serve the live dashboards (127.0.0.1:9464 while scoring, :9465 while training)" };
        var features = new Option<string>("--gmm-features")
        {
            Description = "Feature map of the scorer's GMM: " + string.Join(", ", Gmm.GmmFeatureSetting.All.Select(f => f.Name)),
            DefaultValueFactory = _ => defaults.Labelling.FeatureSetting,
        };
        var components = new Option<int>("--components")
        {
            Description = "K, components of the scorer's GMM; 0: chosen by BIC in " +
                          $"[{defaults.Labelling.MinComponents}, {defaults.Labelling.MaxComponents}]",
            DefaultValueFactory = _ => defaults.Labelling.Components,
        };
        var labelRule = new Option<string>("--label-rule")
        {
            Description = $"How the scorer's GMM components are named: {Gmm.LabellingDefaults.ReferenceRule} " +
                          "(from the clean reference held out of the stream) or a label rule: " +
                          string.Join(", ", Gmm.LabelRules.All.Select(r => r.Name)),
            DefaultValueFactory = _ => defaults.Labelling.LabelRule,
        };
        var demo = new Command("demo",
            "Run the whole pipeline in one process: corpus with injected noise, proxy, the scorer service over an in-process Kafka into a " +
            "private PostgreSQL with GMM labels, then the trainer service uniform and weighted; ends with a summary")
        {
            corpus, documents, noise, proxy, proxySteps, steps, strategy, components, features, labelRule, output, db, pgData, seed, device, verbose, noDashboard,
        };
        var fields = new CorpusFieldOptions().AddTo(demo);
        demo.SetAction(async (parse, ct) =>
        {
            var settings = new DemoSettings
            {
                Corpus = parse.GetValue(corpus), CorpusFields = fields.Reader(parse), Documents = parse.GetValue(documents),
                Noise = parse.GetValue(noise), Proxy = parse.GetValue(proxy),
                ProxySteps = parse.GetValue(proxySteps), TrainSteps = parse.GetValue(steps), Strategy = parse.GetValue(strategy)!,
                OutDirectory = parse.GetValue(output)!, Database = parse.GetValue(db), PgData = parse.GetValue(pgData)!, Seed = parse.GetValue(seed),
                Device = parse.GetValue(device)!, Verbose = parse.GetValue(verbose),
                Labelling = defaults.Labelling with
                {
                    FeatureSetting = parse.GetValue(features)!, LabelRule = parse.GetValue(labelRule)!,
                    Components = parse.GetValue(components),
                },
                Dashboard = !parse.GetValue(noDashboard),
            };
            // Ctrl-C and SIGTERM cancel ct (System.CommandLine's process termination handling).
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            try
            {
                return await new DemoRun(settings).RunAsync(cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                Console.Error.WriteLine("demo: interrupted");
                return 130;
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or IOException or TimeoutException
                                          or InvalidOperationException or Storage.Embedded.PostgresNotInstalledException or Npgsql.NpgsqlException or Torch.TorchException)
            {
                Console.Error.WriteLine($"demo: {e.Message}");
                return 1;
            }
        });
        return demo;
    }
}
