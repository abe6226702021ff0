using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reweighting.Cli.Demo;
using Reweighting.Cli.Hosting;
using Reweighting.Gmm;
using Reweighting.Scorer;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>One set of labelling defaults: the scorer service (as bound from an empty configuration), the demo and the
/// evaluation's command line all start from <see cref="LabellingDefaults.Settings"/>.</summary>
public sealed class LabellingDefaultsTests
{
    [Fact]
    public void The_scorer_service_binds_the_shared_defaults()
    {
        using var services = new ServiceCollection()
            .AddScorer(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Scorer:ModelDirectory"] = "proxy" }).Build())
            .BuildServiceProvider();

        var bound = services.GetRequiredService<IOptions<ScorerOptions>>().Value.Labelling;

        bound.ToSettings().Should().Be(LabellingDefaults.Settings);
        bound.ReferencePath.Should().BeNull("a reference is the user's clean sample, never a default");
    }

    [Fact]
    public void The_scorer_service_reads_a_reference_and_labelling_settings_from_configuration()
    {
        var reference = Path.GetTempFileName();
        try
        {
            using var services = new ServiceCollection()
                .AddScorer(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Scorer:ModelDirectory"] = "proxy", ["Scorer:Labelling:ReferencePath"] = reference,
                    ["Scorer:Labelling:MaxComponents"] = "5",
                }).Build())
                .BuildServiceProvider();

            var bound = services.GetRequiredService<IOptions<ScorerOptions>>().Value.Labelling;

            bound.ReferencePath.Should().Be(reference);
            bound.ToSettings().Should().Be(LabellingDefaults.Settings with { MaxComponents = 5 });
        }
        finally
        {
            File.Delete(reference);
        }
    }

    [Fact]
    public void The_demo_uses_the_shared_defaults()
    {
        new DemoSettings().Labelling.Should().Be(LabellingDefaults.Settings);
    }

    [Fact]
    public void The_demo_command_line_defaults_are_the_shared_defaults()
    {
        var help = CliRunner.Run("demo", "--help");

        help.ExitCode.Should().Be(0);
        help.Stdout.Should().MatchRegex($@"--components[^\n]*\[default: {LabellingDefaults.Settings.Components}\]");
        help.Stdout.Should().MatchRegex($@"--label-rule[^\n]*\n?[^\n]*\[default: {LabellingDefaults.Settings.LabelRule}\]");
        help.Stdout.Should().MatchRegex($@"--gmm-features[^\n]*\[default: {LabellingDefaults.Settings.FeatureSetting}\]");
    }

    [Fact]
    public void The_demo_and_proxy_train_share_the_measured_proxy_budget()
    {
        new DemoSettings().ProxySteps.Should().Be(Commands.ProxyDefaults.Steps);
        new DemoSettings().BatchSize.Should().Be(Commands.ProxyDefaults.BatchSize);
        var help = CliRunner.Run("proxy", "train", "--help");

        help.ExitCode.Should().Be(0);
        help.Stdout.Should().MatchRegex($@"--steps[^\n]*\n?[^\n]*\[default: {Commands.ProxyDefaults.Steps}\]");
        help.Stdout.Should().MatchRegex($@"--batch[^\n]*\[default: {Commands.ProxyDefaults.BatchSize}\]");
        help.Stdout.Should().MatchRegex($@"--lr[^\n]*\[default: 0[.,]0006\]");
        // The demo trains its proxy's folds with the same count (ProxyFolds.DefaultCount) in process.
        help.Stdout.Should().MatchRegex($@"(?s)--folds.*?\[default: {Commands.ProxyFolds.DefaultCount}\]");
    }

    [Fact]
    public void Labelling_settings_round_trip_through_the_scorer_options()
    {
        var custom = new LabellingSettings("raw-std", "mean-loss", "atypical-upper", 4, 3, 7, 0.4);

        new Scorer.Labelling.LabellingOptions { WarmUpDocuments = 9 }.With(custom).ToSettings().Should().Be(custom);
    }
}
