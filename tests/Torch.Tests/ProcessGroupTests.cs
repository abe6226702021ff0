using FluentAssertions;
using Reweighting.Torch.Distributed;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>c10d process groups over Gloo: two ranks (threads of this process, as two processes would be) join through a
/// TCP store and run every collective the data-parallel trainer needs.</summary>
public sealed class ProcessGroupTests
{
    /// <summary>Runs <paramref name="body"/> as every rank of a fresh group, each on its own thread.</summary>
    private static T[] OnRanks<T>(int world, Func<ProcessGroup, T> body) => LocalRanks.Run(world, body, TimeSpan.FromSeconds(60));

    [Fact]
    public void This_build_has_gloo_and_names_what_it_lacks()
    {
        ProcessGroup.IsAvailable("gloo").Should().BeTrue("the shim is built with Gloo's headers (libgloo-dev)");
        ProcessGroup.IsAvailable("nccl").Should().BeFalse("a CPU libtorch has no NCCL");
        var join = () => ProcessGroup.Join(new ProcessGroupOptions(0, 1, "127.0.0.1", 29500, Backend: "nccl"));
        join.Should().Throw<TorchException>().WithMessage("*unsupported process group backend 'nccl'*");
    }

    [Fact]
    public void All_reduce_sums_and_takes_the_maximum_over_the_ranks_in_place()
    {
        var results = OnRanks(2, group =>
        {
            using var sum = FromArray(new[] { group.Rank + 1f, 10f * (group.Rank + 1) }, 2);
            group.AllReduce(sum);
            using var max = FromArray(new[] { group.Rank == 0 ? 5f : -1f, group.Rank == 0 ? -3f : 7f }, 2);
            group.AllReduce(max, ReduceOp.Max);
            return (Sum: sum.ToArray<float>(), Max: max.ToArray<float>());
        });
        results.Should().AllSatisfy(r =>
        {
            r.Sum.Should().Equal(3f, 30f);
            r.Max.Should().Equal(5f, 7f);
        });
    }

    [Fact]
    public void All_gather_stacks_every_ranks_tensor_in_rank_order_and_broadcast_copies_the_roots()
    {
        var results = OnRanks(3, group =>
        {
            using var mine = FromArray(new long[] { group.Rank, group.Rank * 100 }, 2);
            using var gathered = group.AllGather(mine);
            using var shared = FromArray(new[] { (double)group.Rank, -group.Rank }, 2);
            group.Broadcast(shared, root: 2);
            group.Barrier();
            return (Shape: gathered.Shape.ToArray(), Gathered: gathered.ToArray<long>(), Shared: shared.ToArray<double>());
        });
        results.Should().AllSatisfy(r =>
        {
            r.Shape.Should().Equal(3, 2);
            r.Gathered.Should().Equal(0, 0, 1, 100, 2, 200);
            r.Shared.Should().Equal(2.0, -2.0);
        });
    }

    [Theory]
    [InlineData(8, 3)]
    [InlineData(GradientAveraging.DefaultBucketElements, 1)]
    public void Gradients_are_averaged_over_the_ranks_in_buckets(long bucketElements, int collectives)
    {
        var results = OnRanks(2, group =>
        {
            var r = group.Rank;
            using var a = FromArray(Enumerable.Range(0, 6).Select(i => (float)(i + 10 * r)).ToArray(), 2, 3);
            using var b = FromArray(Enumerable.Range(0, 5).Select(i => r == 0 ? 1f : 3f).ToArray(), 5);
            using var c = FromArray(new[] { -2f * r, 4f, 0f, 8f * r }, 4);
            var used = group.AllReduceMean([a, b, c], bucketElements);
            return (Used: used, A: a.ToArray<float>(), AShape: a.Shape, B: b.ToArray<float>(), C: c.ToArray<float>());
        });
        results.Should().AllSatisfy(x =>
        {
            x.Used.Should().Be(collectives, "tensors of 6, 5 and 4 elements fill one bucket each at 8, one in all by default");
            x.A.Should().Equal(5f, 6f, 7f, 8f, 9f, 10f);
            x.AShape.Should().Equal(2, 3);
            x.B.Should().AllBeEquivalentTo(2f);
            x.C.Should().Equal(-1f, 4f, 0f, 4f);
        });
    }

    [Fact]
    public void Bytes_broadcast_from_the_root_whatever_the_others_hold()
    {
        var payload = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray();
        var results = OnRanks(3, group => (Big: group.BroadcastBytes(group.Rank == 1 ? payload : [9, 9], root: 1),
            Empty: group.BroadcastBytes(group.Rank == 0 ? [] : [1, 2, 3])));
        results.Should().AllSatisfy(r =>
        {
            r.Big.Should().Equal(payload);
            r.Empty.Should().BeEmpty();
        });
    }

    [Fact]
    public void A_rank_on_cuda_takes_the_gpu_of_its_local_rank()
    {
        Func<string, string?> Environment(params (string Name, string Value)[] set) =>
            name => set.FirstOrDefault(v => v.Name == name).Value;
        ProcessGroup.RankDevice("cuda", Environment(("WORLD_SIZE", "4"), ("RANK", "3"), ("LOCAL_RANK", "1"))).Should().Be("cuda:1");
        ProcessGroup.RankDevice("cuda", Environment(("WORLD_SIZE", "2"), ("RANK", "1")))
            .Should().Be("cuda:1", "RANK when LOCAL_RANK is unset");
        ProcessGroup.RankDevice("cuda:3", Environment(("WORLD_SIZE", "2"), ("RANK", "1"))).Should().Be("cuda:3", "a named GPU is kept");
        ProcessGroup.RankDevice("cpu", Environment(("WORLD_SIZE", "2"), ("RANK", "1"))).Should().Be("cpu");
        ProcessGroup.RankDevice("cuda", Environment()).Should().Be("cuda", "not a rank");
        var bad = () => ProcessGroup.RankDevice("cuda", Environment(("WORLD_SIZE", "2"), ("LOCAL_RANK", "x")));
        bad.Should().Throw<ArgumentException>().WithMessage("LOCAL_RANK must be a non-negative integer, not 'x'");
    }

    [Fact]
    public void Settings_come_from_torchruns_environment_and_bad_ones_are_named()
    {
        var environment = new Dictionary<string, string>
            { ["RANK"] = "1", ["WORLD_SIZE"] = "4", ["MASTER_ADDR"] = "10.0.0.5", ["MASTER_PORT"] = "29600" };
        var options = ProcessGroupOptions.FromEnvironment(name => environment.GetValueOrDefault(name));
        options.Should().Be(new ProcessGroupOptions(1, 4, "10.0.0.5", 29600));
        ProcessGroupOptions.FromEnvironment(name => name == "RANK" ? "0" : name == "WORLD_SIZE" ? "1" : null)
            .Should().Be(new ProcessGroupOptions(0, 1, "127.0.0.1", 29500), "MASTER_ADDR and MASTER_PORT have torchrun's defaults");

        var missing = () => ProcessGroupOptions.FromEnvironment(name => name == "RANK" ? "0" : null);
        missing.Should().Throw<ArgumentException>().WithMessage("WORLD_SIZE is not set*");
        var notNumber = () => ProcessGroupOptions.FromEnvironment(name => name == "RANK" ? "first" : "2");
        notNumber.Should().Throw<ArgumentException>().WithMessage("RANK must be an integer, not 'first'");
        var outside = () => ProcessGroupOptions.FromEnvironment(name => name == "RANK" ? "2" : name == "WORLD_SIZE" ? "2" : null);
        outside.Should().Throw<ArgumentException>().WithMessage("RANK 2 is not in a world of 2");
        ProcessGroupOptions.FromEnvironment(name => name switch
            {
                "RANK" => "0", "WORLD_SIZE" => "2", "RWT_DIST_TIMEOUT_S" => "30", _ => null,
            }).Timeout.Should().Be(TimeSpan.FromSeconds(30));
        var badTimeout = () => ProcessGroupOptions.FromEnvironment(name => name switch
        {
            "RANK" => "0", "WORLD_SIZE" => "2", "RWT_DIST_TIMEOUT_S" => "soon", _ => null,
        });
        badTimeout.Should().Throw<ArgumentException>().WithMessage("RWT_DIST_TIMEOUT_S must be a positive number of seconds, not 'soon'");
    }
}
