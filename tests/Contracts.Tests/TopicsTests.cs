using FluentAssertions;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Control;
using Xunit;

namespace Reweighting.Contracts.Tests;

public class TopicsTests
{
    [Fact]
    public void Topic_and_header_names_are_the_documented_ones()
    {
        // Producers outside this codebase (kcat, Python, Spark) use these literals; renaming one breaks them.
        Topics.Documents.Should().Be("documents");
        Topics.DocumentsDeadLetter.Should().Be("documents.dlq");
        Topics.ScoredBatches.Should().Be("scored-batches");
        Topics.ScoredBatchesDeadLetter.Should().Be("scored-batches.dlq");
        Topics.Headers.ContentType.Should().Be("content-type");
        Topics.Headers.SchemaVersion.Should().Be("schema-version");
        Topics.Headers.DeadLetterReason.Should().Be("dlq-reason");
        ScoredBatchCodec.SchemaVersion.Should().Be("1.3");
    }

    [Fact]
    public void Control_events_are_values_stamped_with_their_time()
    {
        var at = DateTimeOffset.UnixEpoch;

        new GmmRefitted(3, "m", 3, 1000, -1.5) { OccurredAt = at }.Should().Be(new GmmRefitted(3, "m", 3, 1000, -1.5) { OccurredAt = at });
        new TrainerStopped("run", 7, "completed").OccurredAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        new ScorerStopped("scorer-0", 12, "shutdown").Should().BeAssignableTo<ControlEvent>();
    }
}
