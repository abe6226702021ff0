using FluentAssertions;
using Reweighting.Testing.Browser;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Reporting.Tests;

/// <summary>The report as a person sees it: written to a file, opened offline in the system chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ReportBrowserTests(PostgresCluster cluster, BrowserFixture browser, ITestOutputHelper output)
{
    /// <summary>TestResults/Reporting.Tests at the repository root (or REWEIGHT_TEST_ARTIFACTS): where screenshots go.</summary>
    private static string ArtifactDirectory()
    {
        if (Environment.GetEnvironmentVariable("REWEIGHT_TEST_ARTIFACTS") is { Length: > 0 } configured) return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Reweighting.sln"))) return Path.Combine(dir.FullName, "TestResults", "Reporting.Tests");
        return Path.Combine(AppContext.BaseDirectory, "TestResults");
    }

    private static async Task<string> WriteAsync(ReportData data, string name)
    {
        var path = Path.Combine(ArtifactDirectory(), name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, ReportRenderer.RenderPage(data, "Reweighting report (test)"));
        return path;
    }

    [Fact]
    public async Task The_report_opens_offline_without_errors_and_shows_every_data_point()
    {
        var db = await cluster.CreateDatabaseAsync();
        var rows = await ReportTestData.FillAsync(db);
        var data = await ReportData.LoadAsync(db, new ReportOptions(), CancellationToken.None);
        var file = await WriteAsync(data, "report.html");

        await using var page = await browser.LoadAsync(file, new PageLoadOptions { Offline = true });

        page.ConsoleErrors.Should().BeEmpty();
        // scatter, label mix, two histograms, two loss charts, one weight histogram, lambda and pi of the meta-em run, its U_t.
        (await page.CountAsync("svg.plot")).Should().Be(10);
        (await page.CountAsync("#chart-meta-improvement path.run-line")).Should().Be(1);
        (await page.CountAsync("#chart-scatter circle.point")).Should().Be(ReportTestData.Documents);
        (await page.CountAsync("#chart-scatter circle.point.label-noisy")).Should().Be(rows.Count(Contracts.SampleLabel.Noisy));
        (await page.CountAsync("#chart-scatter path.gmm-ellipse")).Should().Be(3);
        (await page.CountAsync("#chart-loss path.run-line")).Should().Be(3);
        (await page.CountAsync("#chart-valid-loss path.run-line")).Should().Be(3);
        (await page.CountAsync("#chart-loss li.legend-item")).Should().Be(3);
        (await page.CountAsync("rect.mix-bar")).Should().Be(6);
        (await page.CountAsync("path.phi-line")).Should().Be(6);

        // Laid out, not just present: the scatter has a real size and its points lie inside the plot.
        var box = await page.Page.Locator("#chart-scatter svg.plot").BoundingBoxAsync();
        box.Should().NotBeNull();
        box!.Width.Should().BeGreaterThan(300);
        box.Height.Should().BeGreaterThan(150);
        var inside = await page.Page.EvaluateAsync<int>("""
            () => {
              const svg = document.querySelector('#chart-scatter svg.plot').getBoundingClientRect();
              return [...document.querySelectorAll('#chart-scatter circle.point')].filter(c => {
                const r = c.getBoundingClientRect();
                return r.width > 0 && r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom;
              }).length;
            }
            """);
        inside.Should().Be(ReportTestData.Documents);

        var screenshot = await page.ScreenshotAsync(Path.Combine(ArtifactDirectory(), "report.png"));
        new FileInfo(screenshot).Length.Should().BeGreaterThan(10_000);
        output.WriteLine($"report: {file}");
        output.WriteLine($"screenshot: {screenshot}");
        Console.WriteLine($"report screenshot: {screenshot}");
    }

    [Fact]
    public async Task The_empty_database_report_opens_without_errors()
    {
        var db = await cluster.CreateDatabaseAsync();
        var data = await ReportData.LoadAsync(db, new ReportOptions(), CancellationToken.None);
        var file = await WriteAsync(data, "report-empty.html");

        await using var page = await browser.LoadAsync(file, new PageLoadOptions { Offline = true });

        page.ConsoleErrors.Should().BeEmpty();
        (await page.CountAsync("p.note")).Should().BeGreaterThan(0);
        (await page.CountAsync("circle.point")).Should().Be(0);
        (await page.Page.TextContentAsync("#chart-scatter"))!.Should().Contain("No scored documents yet");
        var screenshot = await page.ScreenshotAsync(Path.Combine(ArtifactDirectory(), "report-empty.png"));
        output.WriteLine($"screenshot: {screenshot}");
    }

    [Fact]
    public async Task Console_errors_of_a_page_are_collected()
    {
        // The fixture must be able to fail a test: a page that logs an error and throws is reported, not ignored.
        var file = Path.Combine(ArtifactDirectory(), "broken.html");
        Directory.CreateDirectory(ArtifactDirectory());
        await File.WriteAllTextAsync(file, "<!DOCTYPE html><html><body><script>console.error('boom'); null.x;</script></body></html>");

        await using var page = await browser.LoadAsync(file);

        page.ConsoleErrors.Should().Contain(e => e.Contains("boom")).And.Contain(e => e.StartsWith("page error"));
    }
}
