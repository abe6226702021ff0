using Reweighting.Torch.Native;

namespace Reweighting.Torch;

public static partial class Torch
{
    /// <summary>CUDA queries (torch.cuda).</summary>
    public static class Cuda
    {
        private static readonly Lazy<bool> Compiled = new(() => NativeMethods.rwt_cuda_compiled() == 1);
        private static readonly Lazy<bool> Available = new(() => Compiled.Value && NativeMethods.rwt_cuda_is_available() == 1);
        private static readonly Lazy<int> Count = new(() => Available.Value ? NativeMethods.rwt_cuda_device_count() : 0);

        /// <summary>Whether the loaded native library was built against a CUDA libtorch.</summary>
        public static bool IsCompiled => Compiled.Value;

        /// <summary>Whether a CUDA device can be used (torch.cuda.is_available()).</summary>
        public static bool IsAvailable => Available.Value;

        public static int DeviceCount => Count.Value;

        /// <summary>Bytes held by tensors on the device (torch.cuda.memory_allocated).</summary>
        public static long MemoryAllocated(int device = 0) => Memory(device, 0);

        /// <summary>Bytes reserved by the caching allocator (torch.cuda.memory_reserved).</summary>
        public static long MemoryReserved(int device = 0) => Memory(device, 1);

        /// <summary>Waits for all work queued on the device.</summary>
        public static void Synchronize(int device = 0)
        {
            Device.Cuda(device).EnsureUsable();
            Errors.Check(NativeMethods.rwt_cuda_synchronize(device), "cuda synchronize");
        }

        private static long Memory(int device, int which)
        {
            Device.Cuda(device).EnsureUsable();
            Errors.Check(NativeMethods.rwt_cuda_memory(device, which, out var bytes), "cuda memory");
            return bytes;
        }
    }
}
