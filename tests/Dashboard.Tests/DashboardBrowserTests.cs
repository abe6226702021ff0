using FluentAssertions;
using Microsoft.Playwright;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;
using Reweighting.Testing.Browser;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Dashboard.Tests;

/// <summary>The dashboard as a person sees it, in the system chromium: live figures filled in by its script, charts
/// from PostgreSQL, no console errors; screenshots land in TestResults/Dashboard.Tests.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardBrowserTests(PostgresCluster postgres, BrowserFixture browser, ITestOutputHelper output)
{
    /// <summary>TestResults/Dashboard.Tests at the repository root (or REWEIGHT_TEST_ARTIFACTS).</summary>
    private static string ArtifactDirectory()
    {
        if (Environment.GetEnvironmentVariable("REWEIGHT_TEST_ARTIFACTS") is { Length: > 0 } configured) return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Reweighting.sln"))) return Path.Combine(dir.FullName, "TestResults", "Dashboard.Tests");
        return Path.Combine(AppContext.BaseDirectory, "TestResults");
    }

    private static Task WaitForTextAsync(LoadedPage page, string selector, string text) =>
        page.Page.WaitForFunctionAsync("([s, t]) => document.querySelector(s)?.textContent.includes(t)", new object[] { selector, text },
            new PageWaitForFunctionOptions { Timeout = 30_000 });

    [Fact]
    public async Task The_scorers_page_shows_live_figures_and_charts_of_its_rows_without_console_errors()
    {
        await using var dashboard = await ScorerDashboardTests.StartScorerAsync(postgres);
        await ScorerDashboardTests.WaitUntilScoredAsync(dashboard);
        dashboard.Metrics.ConsumerStatistics(DashboardServerTests.LibrdkafkaStatistics);

        await using var page = await browser.LoadAsync(dashboard.Server.Addresses[0] + "/");
        await WaitForTextAsync(page, "#status", "running");
        await WaitForTextAsync(page, "[data-field=documents]", "20");
        await page.Page.WaitForSelectorAsync("#charts svg.plot", new PageWaitForSelectorOptions { Timeout = 30_000 });

        (await page.Page.TextContentAsync("[data-field=dead-letters]")).Should().Be("1");
        (await page.Page.TextContentAsync("[data-field=lag-total]")).Should().Be("47");
        (await page.Page.TextContentAsync("[data-field=lag-partitions]")).Should().Contain("documents[0] 40");
        (await page.Page.TextContentAsync("[data-field=latency-p50]")).Should().MatchRegex(@"^\d+(\.\d+)? m?s$");
        (await page.Page.TextContentAsync("[data-field=gmm-version]")).Should().MatchRegex(@"^\d+$");
        (await page.Page.TextContentAsync("[data-field=device]")).Should().Be("cpu");
        (await page.Page.TextContentAsync("[data-field=gpu-memory]")).Should().Be("– (CPU)");
        (await page.Page.IsVisibleAsync("[data-field=documents-per-second]")).Should().BeTrue();
        (await page.Page.IsVisibleAsync("[data-field=step]")).Should().BeFalse("a scorer's page hides the trainer's cards");
        (await page.CountAsync("#chart-scatter circle.point")).Should().Be(20);

        var screenshot = await page.ScreenshotAsync(Path.Combine(ArtifactDirectory(), "dashboard-scorer.png"));
        new FileInfo(screenshot).Length.Should().BeGreaterThan(10_000);
        output.WriteLine($"screenshot: {screenshot}");
        page.ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task The_trainers_page_shows_the_step_temperature_and_phi_table_without_console_errors()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Trainer);
        dashboard.Metrics.DeviceInUse("cuda:0", () => 3L << 30);
        await dashboard.Events.PublishAsync(new TrainerStarted("run-7", 0, "meta-em"));
        dashboard.Metrics.TrainerStep(new TrainerStepFigures(41, 100, 3.125, 5e-4, 13_000, 3.5, double.PositiveInfinity, [2.5, 0.5, 1.25], [0.5, 0.25, 0.25]));

        await using var page = await browser.LoadAsync(dashboard.Server.Addresses[0] + "/");
        await WaitForTextAsync(page, "#status", "running");
        await WaitForTextAsync(page, "[data-field=step]", "41");

        (await page.Page.TextContentAsync("[data-field=total-steps]")).Should().Be("100");
        (await page.Page.TextContentAsync("[data-field=loss]")).Should().Be("3.125");
        (await page.Page.TextContentAsync("[data-field=temperature]")).Should().Be("∞");
        (await page.Page.TextContentAsync("[data-field=gpu-memory]")).Should().Be("3,072 MiB");
        (await page.CountAsync("#phi tbody tr")).Should().Be(3);
        (await page.Page.IsVisibleAsync("#phi")).Should().BeTrue();
        (await page.Page.IsVisibleAsync("[data-field=documents-per-second]")).Should().BeFalse("a trainer's page hides the scorer's cards");
        await WaitForTextAsync(page, "#charts", "has not opened its database yet");

        var screenshot = await page.ScreenshotAsync(Path.Combine(ArtifactDirectory(), "dashboard-trainer.png"));
        output.WriteLine($"screenshot: {screenshot}");
        page.ConsoleErrors.Should().BeEmpty();
    }
}
