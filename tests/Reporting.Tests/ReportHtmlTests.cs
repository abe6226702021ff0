using System.Text.RegularExpressions;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Testing.Postgres;
using Xunit;

namespace Reweighting.Reporting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ReportHtmlTests(PostgresCluster cluster)
{
    private static int Count(string html, string pattern) => Regex.Matches(html, pattern).Count;

    private async Task<(ReportData Data, ReportTestData Rows, string Html)> RenderAsync(ReportOptions? options = null)
    {
        var db = await cluster.CreateDatabaseAsync();
        var rows = await ReportTestData.FillAsync(db);
        var data = await ReportData.LoadAsync(db, options ?? new ReportOptions(), CancellationToken.None);
        return (data, rows, ReportRenderer.RenderPage(data, "test report"));
    }

    [Fact]
    public async Task Every_document_is_one_point_of_its_latest_label()
    {
        var (data, rows, html) = await RenderAsync();

        data.TotalDocuments.Should().Be(ReportTestData.Documents);
        foreach (var label in new[] { SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy })
            Count(html, $"<circle class=\"point label-{label.ToWire()}\"").Should().Be(rows.Count(label), label.ToWire());
        // easy-000 was once scored noisy by an older proxy; only its latest verdict is drawn.
        Count(html, "data-id=\"easy-000\" data-label=\"easy\"").Should().Be(1);
        html.Should().Contain("All 60 documents.");
    }

    [Fact]
    public async Task The_newest_gmm_is_drawn_as_one_ellipse_per_component_around_its_mapped_back_means()
    {
        var (data, rows, html) = await RenderAsync();

        Count(html, "<path class=\"gmm-ellipse ").Should().Be(3);
        Count(html, "<path class=\"gmm-ellipse [^\"]*\"[^>]*data-version=\"2\"").Should().Be(3);
        data.Gmm!.Model.Version.Should().Be(2);
        data.Gmm.StoredVersions.Should().Be(2);
        // Each component's centre, mapped back to raw coordinates, sits among its label's documents: the easy one near
        // mean 2, the noisy one near mean 7, and every variance positive (the GMM works on ln variance).
        foreach (var e in data.Gmm.Ellipses)
        {
            var own = rows.Points.Where(p => p.Label == e.Label).ToList();
            e.Centre.LossMean.Should().BeApproximately(own.Average(p => p.LossMean), 1e-9);
            e.Centre.LossVariance.Should().BeApproximately(Math.Exp(own.Average(p => Math.Log(p.LossVariance))), 1e-9);
            e.Outline.Should().OnlyContain(q => q.LossVariance > 0);
        }
    }

    [Fact]
    public async Task Loss_charts_have_one_line_per_run_with_its_strategy_in_the_legend()
    {
        var (_, _, html) = await RenderAsync();

        Count(html, "<path class=\"line run-line\"[^>]*data-metric=\"loss\"").Should().Be(3);
        Count(html, "<path class=\"line run-line\"[^>]*data-metric=\"valid_loss\"").Should().Be(3);
        Count(html, "data-run=\"run-uniform\" data-strategy=\"uniform\" data-metric=\"loss\"").Should().Be(1);
        Count(html, "<path class=\"line run-line\"[^>]*data-metric=\"meta_predicted_improvement\"").Should().Be(1, "meta-em's U_t");
        html.Should().Contain("id=\"chart-meta-improvement\"");
        html.Should().Contain("run-meta (meta-em)").And.Contain("run-linupper (linupper)").And.Contain("run-uniform (uniform)");
        // The uniform run is the dashed reference.
        Regex.Match(html, "<path class=\"line run-line\"[^>]*data-series=\"run-uniform\"").Value.Should().Contain("stroke-dasharray");
    }

    [Fact]
    public async Task A_run_filter_keeps_only_those_runs_and_an_unknown_run_is_refused()
    {
        var (data, _, html) = await RenderAsync(new ReportOptions { RunIds = [ReportTestData.MetaRun] });

        data.Runs.Select(r => r.RunId).Should().Equal(ReportTestData.MetaRun);
        Count(html, "<path class=\"line run-line\"").Should().Be(3); // loss, valid_loss and U_t

        var db = await cluster.CreateDatabaseAsync();
        var load = () => ReportData.LoadAsync(db, new ReportOptions { RunIds = ["no-such-run"] }, CancellationToken.None);
        (await load.Should().ThrowAsync<ArgumentException>()).WithMessage("*no-such-run*");
    }

    [Fact]
    public async Task A_capped_sample_says_its_size_and_the_same_seed_draws_the_same_documents()
    {
        var (data, _, html) = await RenderAsync(new ReportOptions { MaxScatterPoints = 20, Seed = 3 });

        data.Sample.Should().HaveCount(20);
        Count(html, "<circle class=\"point ").Should().Be(20);
        Count(html, "<span class=\"sample-size\">20 of 60 documents").Should().BeGreaterThanOrEqualTo(3); // scatter and both histograms
        html.Should().Contain("All 60 documents in 4 domains."); // the label mix counts everything

        var db = await cluster.CreateDatabaseAsync();
        await ReportTestData.FillAsync(db);
        var again = await ReportData.LoadAsync(db, new ReportOptions { MaxScatterPoints = 20, Seed = 3 }, CancellationToken.None);
        var other = await ReportData.LoadAsync(db, new ReportOptions { MaxScatterPoints = 20, Seed = 4 }, CancellationToken.None);
        again.Sample.Select(p => p.DocumentId).Should().Equal(data.Sample.Select(p => p.DocumentId));
        other.Sample.Select(p => p.DocumentId).Should().NotEqual(data.Sample.Select(p => p.DocumentId));
    }

    [Fact]
    public async Task Label_mix_bars_carry_the_exact_counts_per_domain()
    {
        var (_, _, html) = await RenderAsync();

        var bars = Regex.Matches(html, "<rect class=\"bar mix-bar label-(\\w+)\"[^>]*data-domain=\"([^\"]*)\" data-label=\"\\w+\" data-count=\"(\\d+)\"")
            .ToDictionary(m => (m.Groups[2].Value, m.Groups[1].Value), m => int.Parse(m.Groups[3].Value));
        bars.Should().BeEquivalentTo(new Dictionary<(string, string), int>
        {
            [("wiki", "easy")] = 20, [("wiki", "hard")] = 8, [("code", "easy")] = 10,
            [("web", "hard")] = 12, [("web", "noisy")] = 6, [("(none)", "noisy")] = 4,
        });
    }

    [Fact]
    public async Task Histograms_count_every_sampled_document_once_per_feature()
    {
        var (_, rows, html) = await RenderAsync();

        foreach (var feature in new[] { "loss-mean", "loss-variance" })
            foreach (var label in new[] { SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy })
                Regex.Matches(html, $"<rect class=\"bar hist-bin label-{label.ToWire()}\"[^>]*data-feature=\"{feature}\"[^>]*data-count=\"(\\d+)\"")
                    .Sum(m => int.Parse(m.Groups[1].Value)).Should().Be(rows.Count(label), $"{feature} {label.ToWire()}");
    }

    [Fact]
    public async Task Meta_em_weights_are_u_of_s_under_the_runs_latest_phi_in_the_matched_gmm_feature_space()
    {
        var (data, rows, html) = await RenderAsync();

        var weights = data.Weights.Should().ContainSingle().Subject;
        weights.RunId.Should().Be(ReportTestData.MetaRun);
        weights.PhiStep.Should().Be(ReportTestData.PhiSteps[^1]);
        weights.FeatureMap.Should().Contain("GMM version 2");
        // Reference: u(s) = sum_k gamma_k exp(-lambda_k ||f(s) - c_k||^2), gamma_k = pi_k e_k / sum_j pi_j e_j, written out here.
        var p = rows.Newest.Parameters;
        for (var i = 0; i < data.Sample.Count; i++)
        {
            var s = data.Sample[i];
            double[] f = [(s.LossMean - p.StandardizeMean![0]) / p.StandardizeStd![0], (Math.Log(s.LossVariance) - p.StandardizeMean[1]) / p.StandardizeStd[1]];
            var e = rows.LatestCentres.Select((c, k) => Math.Exp(-rows.LatestLambdas[k] * (Math.Pow(f[0] - c[0], 2) + Math.Pow(f[1] - c[1], 2)))).ToArray();
            var z = e.Select((v, k) => rows.LatestPis[k] * v).Sum();
            var u = e.Select((v, k) => rows.LatestPis[k] * v / z * v).Sum();
            weights.Weights[i].Weight.Should().BeApproximately(u, 1e-9 * Math.Max(u, 1e-300), s.DocumentId);
            weights.Weights[i].Label.Should().Be(s.Label);
        }
        Regex.Matches(html, "<rect class=\"bar hist-bin label-\\w+\"[^>]*data-feature=\"weight\"[^>]*data-count=\"(\\d+)\"[^>]*data-run=\"run-meta\"")
            .Sum(m => int.Parse(m.Groups[1].Value)).Should().Be(ReportTestData.Documents);
        html.Should().Contain("Meta-EM weight u(s)");
        Regex.Match(html, "<li data-run=\"run-uniform\">[^<]*").Value.Should().Contain("uniform weights");
        Regex.Match(html, "<li data-run=\"run-linupper\">[^<]*").Value.Should().Contain("not stored");
    }

    [Fact]
    public async Task Phi_trajectories_have_one_line_per_component_and_parameter()
    {
        var (_, _, html) = await RenderAsync();

        Count(html, "<path class=\"line phi-line\"[^>]*data-run=\"run-meta\" data-param=\"lambda\"").Should().Be(3);
        Count(html, "<path class=\"line phi-line\"[^>]*data-run=\"run-meta\" data-param=\"pi\"").Should().Be(3);
        Count(html, "<path class=\"line phi-line\"[^>]*data-points=\"4\"").Should().Be(6);
        Count(html, "<table class=\"phi-centres\" data-run=\"run-meta\"").Should().Be(1);
    }

    [Fact]
    public async Task The_page_is_self_contained()
    {
        var (_, _, html) = await RenderAsync();

        html.Should().StartWith("<!DOCTYPE html>");
        Regex.IsMatch(html, "(src|href)\\s*=\\s*[\"']?[^\"'>]*(http|//)", RegexOptions.IgnoreCase).Should().BeFalse("no external resource may be referenced");
        html.Should().NotContain("<script").And.NotContain("@import").And.NotContain("url(http").And.NotContain("<link");
    }

    [Fact]
    public async Task An_empty_database_renders_notes_instead_of_charts()
    {
        var db = await cluster.CreateDatabaseAsync();
        var data = await ReportData.LoadAsync(db, new ReportOptions(), CancellationToken.None);
        var html = ReportRenderer.RenderPage(data, "empty");

        data.TotalDocuments.Should().Be(0);
        data.Gmm.Should().BeNull();
        html.Should().Contain("No scored documents yet").And.Contain("No training runs recorded yet");
        Count(html, "<circle class=\"point ").Should().Be(0);
        Count(html, "class=\"line ").Should().Be(0);
        html.Should().EndWith("</html>\n");
    }

    [Fact]
    public async Task Runs_without_phi_get_a_note_instead_of_a_weight_chart()
    {
        var (_, _, html) = await RenderAsync(new ReportOptions { RunIds = [ReportTestData.UniformRun] });

        html.Should().Contain("No run has meta-learned cluster parameters (phi)");
        Count(html, "data-feature=\"weight\"").Should().Be(0);
        html.Should().Contain("No run has recorded cluster parameters (phi)");
    }
}
