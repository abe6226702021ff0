using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reweighting.Cli.Hosting;
using Reweighting.Scorer;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The demo hands the services options built in code: they replace what the service binds from
/// configuration, and the service's own validation still refuses a bad value.</summary>
public sealed class FixedOptionsTests
{
    private static ServiceProvider Scorer(ScorerOptions options, Dictionary<string, string?>? configuration = null) =>
        new ServiceCollection().AddScorer(new ConfigurationBuilder().AddInMemoryCollection(configuration ?? []).Build()).UseOptions(options)
            .BuildServiceProvider();

    [Fact]
    public void Options_built_in_code_replace_the_bound_ones_for_every_options_interface()
    {
        var given = new ScorerOptions { ModelDirectory = "proxy", TokenBudget = 123, Labelling = new() { WarmUpDocuments = 77 } };
        using var services = Scorer(given, new() { ["Scorer:TokenBudget"] = "999", ["Scorer:ModelDirectory"] = "other" });

        services.GetRequiredService<IOptions<ScorerOptions>>().Value.Should().BeSameAs(given);
        services.GetRequiredService<IOptionsMonitor<ScorerOptions>>().CurrentValue.Should().BeSameAs(given);
    }

    [Fact]
    public void Options_built_in_code_are_still_validated_by_the_service()
    {
        using var services = Scorer(new ScorerOptions { ModelDirectory = "", TokenBudget = 0 });

        FluentActions.Invoking(() => services.GetRequiredService<IOptions<ScorerOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*TokenBudget*");
    }
}
