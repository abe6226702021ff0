using FluentAssertions;
using Xunit;

namespace Reweighting.Dashboard.Tests;

/// <summary>The strict parser the /metrics tests rely on must reject what Prometheus (or its stricter reading) would.</summary>
public sealed class PrometheusTextParserTests
{
    private const string Good = "# HELP a_total Things.\n# TYPE a_total counter\na_total 3\n" +
                                "# HELP b Latency.\n# TYPE b summary\nb{quantile=\"0.5\"} 0.25\nb_sum 1.5\nb_count 4\n" +
                                "# HELP c Lag.\n# TYPE c gauge\nc{topic=\"d\\\"q\\\\\",partition=\"0\"} +Inf\nc{topic=\"d\",partition=\"1\"} -1.5e-3\n";

    [Fact]
    public void Well_formed_text_parses_into_families_with_labels_and_values()
    {
        var families = PrometheusTextParser.Parse(Good);
        families.Keys.Should().BeEquivalentTo("a_total", "b", "c");
        families["b"].Samples.Select(s => s.Name).Should().Equal("b", "b_sum", "b_count");
        families["c"].Samples[0].Labels["topic"].Should().Be("d\"q\\");
        families["c"].Samples[0].Value.Should().Be(double.PositiveInfinity);
        families["c"].Samples[1].Value.Should().Be(-1.5e-3);
    }

    [Theory]
    [InlineData("a_total 3\n", "no TYPE")]
    [InlineData("# TYPE a gauge\na 1\n", "no HELP")]
    [InlineData("# HELP a x\n# TYPE a gauge\na 1", "no final newline")]
    [InlineData("# HELP a x\n# TYPE a gauge\na one\n", "not a float")]
    [InlineData("# HELP a x\n# TYPE a gauge\na 1,5\n", "comma decimal")]
    [InlineData("# HELP a x\n# TYPE a gauge\na{l=x} 1\n", "unquoted label")]
    [InlineData("# HELP a x\n# TYPE a gauge\na{1l=\"x\"} 1\n", "bad label name")]
    [InlineData("# HELP a x\n# TYPE a gauge\na{l=\"x\",l=\"y\"} 1\n", "label twice")]
    [InlineData("# HELP a x\n# TYPE a gauge\na 1\na 2\n", "duplicate sample")]
    [InlineData("# HELP a x\n# TYPE a gauge\na 1\n# TYPE a gauge\n", "TYPE after samples")]
    [InlineData("# HELP a x\n# TYPE a gauge\n# HELP b y\n# TYPE b gauge\na 1\n", "sample outside its block")]
    [InlineData("# HELP a x\n# TYPE a meter\na 1\n", "unknown type")]
    [InlineData("# HELP a x\n# TYPE a counter\na -1\n", "negative counter")]
    [InlineData("# HELP a x\n# TYPE a summary\na 1\n", "summary sample without quantile")]
    [InlineData("# HELP a x\n# TYPE a gauge\na_sum 1\n", "a gauge has no _sum")]
    [InlineData("# HELP 9a x\n# TYPE 9a gauge\n9a 1\n", "bad metric name")]
    [InlineData("# HELP a x\n# TYPE a gauge\na  1\n", "two spaces")]
    public void Malformed_text_is_rejected(string text, string why)
    {
        var parse = () => PrometheusTextParser.Parse(text);
        parse.Should().Throw<FormatException>(why);
    }
}
