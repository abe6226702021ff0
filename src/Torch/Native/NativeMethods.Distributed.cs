using System.Runtime.InteropServices;

namespace Reweighting.Torch.Native;

// c10d process groups (native/src/distributed.cpp).
internal static partial class NativeMethods
{
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial int rwt_dist_has_backend(string name);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr rwt_dist_init(string backend, string host, int port, int rank, int world, long timeoutMs);

    [LibraryImport(Library)] internal static partial void rwt_dist_free(IntPtr group);
    [LibraryImport(Library)] internal static partial int rwt_dist_all_reduce(IntPtr group, TensorHandle tensor, int op);
    [LibraryImport(Library)] internal static partial IntPtr rwt_dist_all_gather(IntPtr group, TensorHandle tensor);
    [LibraryImport(Library)] internal static partial int rwt_dist_broadcast(IntPtr group, TensorHandle tensor, int root);
    [LibraryImport(Library)] internal static partial int rwt_dist_barrier(IntPtr group);
}
