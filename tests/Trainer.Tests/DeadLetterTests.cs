using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Contracts.Control;
using Reweighting.InProcessKafka;
using Xunit;

namespace Reweighting.Trainer.Tests;

public sealed class DeadLetterTests
{
    // Offsets 0-2 good, 3 undecodable bytes, 4 a batch of another tokenizer, 5-11 good.
    private static (byte[] Garbage, ScoredBatch Foreign) ProduceStreamWithTwoBadBatches(InProcessKafkaCluster cluster)
    {
        byte[] garbage = [1, 2, 3];
        var good = ScoredStream.Batch(100);
        var foreign = good with { BatchId = ScoredStream.IdOf(100), Documents = [good.Documents[0] with
        {
            Windows = WindowedTokens.FromWindows([5, 6, ScoredStream.Vocab + 7, 8]), TokenCount = 4,
        }] };
        ScoredStream.Produce(cluster, TrainerHarness.Batches(3));
        cluster.AppendRaw(Topics.ScoredBatches, 0, Encoding.UTF8.GetBytes("not-a-batch"), garbage);
        ScoredStream.Produce(cluster, [foreign]);
        ScoredStream.Produce(cluster, TrainerHarness.Batches(10).Skip(3));
        return (garbage, foreign);
    }

    [Fact]
    public async Task A_corrupt_batch_lands_in_the_dead_letter_topic_with_its_reason_and_training_goes_on_with_the_next_batches()
    {
        var cluster = ScoredStream.Cluster();
        var (garbage, foreign) = ProduceStreamWithTwoBadBatches(cluster);
        using var producer = cluster.CreateProducer<string?, byte[]>(new ProducerConfig());
        using var h = new TrainerHarness();
        var events = new List<ControlEvent>();

        var run = await h.RunAsync(cluster, h.Options(steps: 100), events: events, deadLetters: producer);

        var letters = cluster.ReadTopic(Topics.ScoredBatchesDeadLetter);
        letters.Should().HaveCount(2);
        var undecodable = ScoredBatchDeadLetterRecord.FromUtf8Json(letters[0].Message.Value);
        undecodable.Reason.Should().Be(ScoredBatchRejection.Undecodable);
        undecodable.Message.Should().NotBeNullOrWhiteSpace();
        (undecodable.SourceTopic, undecodable.Partition, undecodable.Offset).Should().Be((Topics.ScoredBatches, 0, 3L));
        undecodable.Value.Should().Equal(garbage);
        undecodable.Key.Should().Equal(Encoding.UTF8.GetBytes("not-a-batch"));
        undecodable.RejectedBy.Should().Be(run.RunId);
        Encoding.UTF8.GetString(letters[0].Message.Headers.GetLastBytes(Topics.Headers.DeadLetterReason)).Should().Be("undecodable");
        letters[0].Message.Key.Should().Equal(Encoding.UTF8.GetBytes("not-a-batch"));

        var mismatched = ScoredBatchDeadLetterRecord.FromUtf8Json(letters[1].Message.Value);
        mismatched.Reason.Should().Be(ScoredBatchRejection.OutsideVocabulary);
        mismatched.Message.Should().Contain($"token id {ScoredStream.Vocab + 7}").And.Contain($"vocabulary of {ScoredStream.Vocab}");
        mismatched.Offset.Should().Be(4);
        mismatched.Value.Should().Equal(ScoredBatchCodec.Encode(foreign), "the batch's bytes are kept as they were consumed");
        Encoding.UTF8.GetString(letters[1].Message.Headers.GetLastBytes(Topics.Headers.DeadLetterReason)).Should().Be("outside-vocabulary");

        run.Result.CorruptSkipped.Should().Be(2);
        run.Completed.Should().NotContain(foreign.BatchId);
        run.Completed.Should().Contain(Enumerable.Range(0, 8).Select(ScoredStream.IdOf), "training goes on with the batches after the bad ones");
        events.OfType<TrainerCheckpointed>().Last().Offsets.Should().ContainSingle().Which.NextOffset.Should().Be(12, "every record is consumed, the bad ones included");
    }

    [Fact]
    public async Task A_dead_letter_kafka_will_not_take_ends_the_run_before_its_offset_moves_and_the_restart_sends_it()
    {
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { AutoCreateTopics = false });
        cluster.CreateTopic(Topics.ScoredBatches);
        ProduceStreamWithTwoBadBatches(cluster);
        using var producer = cluster.CreateProducer<string?, byte[]>(new ProducerConfig());
        using var h = new TrainerHarness();
        var options = h.Options(steps: 100) with { Training = h.Options().Training with { Steps = 100, CheckpointEvery = 1 } };

        // No dead-letter topic yet: producing the first dead letter fails, after retries, and so does the run.
        var failing = () => h.RunAsync(cluster, options, deadLetters: producer);
        await failing.Should().ThrowAsync<KafkaException>();

        cluster.CreateTopic(Topics.ScoredBatchesDeadLetter);
        var run = await h.RunAsync(cluster, options, deadLetters: producer);

        cluster.ReadTopic(Topics.ScoredBatchesDeadLetter).Select(l => ScoredBatchDeadLetterRecord.FromUtf8Json(l.Message.Value).Offset)
            .Should().Equal([3L, 4L], "the failed run's checkpoints stopped short of the record it could not dead-letter");
        run.Result.CorruptSkipped.Should().Be(2);
        run.Completed.Should().OnlyHaveUniqueItems().And.Contain(Enumerable.Range(3, 5).Select(ScoredStream.IdOf));
    }
}
