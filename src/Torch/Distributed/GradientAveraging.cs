using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Distributed;

/// <summary>Averages tensors over the ranks of a group, in buckets, as data-parallel training averages gradients: the
/// tensors of a bucket are flattened into one buffer, all-reduced once, divided by the world size and copied back, so
/// a model of many small parameters costs a few collectives, not one per parameter.</summary>
public static class GradientAveraging
{
    /// <summary>Elements per bucket: 25 MB of float32, the bucket size PyTorch's DistributedDataParallel starts with.</summary>
    public const long DefaultBucketElements = 25L * 1024 * 1024 / 4;

    /// <summary>Replaces every tensor with its mean over the ranks; returns how many all-reduces that took. Every rank
    /// must pass tensors of the same shapes, dtypes and order.</summary>
    /// <param name="group">The process group.</param>
    /// <param name="tensors">Tensors to average in place (a bucket holds tensors of one dtype and device).</param>
    /// <param name="bucketElements">Most elements per bucket; a larger tensor is a bucket of its own.</param>
    public static int AllReduceMean(this ProcessGroup group, IReadOnlyList<Tensor> tensors, long bucketElements = DefaultBucketElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        var collectives = 0;
        for (var start = 0; start < tensors.Count;)
        {
            var end = start + 1;
            var elements = tensors[start].NumberOfElements;
            while (end < tensors.Count && elements + tensors[end].NumberOfElements <= bucketElements
                   && tensors[end].DType == tensors[start].DType && tensors[end].Device == tensors[start].Device)
                elements += tensors[end++].NumberOfElements;
            using (DisposeScope.Open())
            {
                var bucket = tensors.Skip(start).Take(end - start).ToList();
                var flat = Cat(bucket.Select(t => t.Flatten()).ToList());
                group.AllReduce(flat);
                flat.DivInPlace(group.WorldSize);
                long offset = 0;
                foreach (var tensor in bucket)
                {
                    tensor.CopyInPlace(flat.Narrow(0, offset, tensor.NumberOfElements).Reshape(tensor.Shape));
                    offset += tensor.NumberOfElements;
                }
            }
            collectives++;
            start = end;
        }
        return collectives;
    }
}
