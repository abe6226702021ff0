using System.Runtime.InteropServices;

namespace Reweighting.Torch.Native;

// The C ABI of librwtorch (native/src/*.cpp). Tensor-making exports return IntPtr.Zero on failure; the
// others return a status (0 ok, -1 failed). Either way the message is then taken with Errors.TakeMessage
// (rwt_last_error, then rwt_clear_error).
internal static partial class NativeMethods
{
    internal const string Library = "rwtorch";

    [LibraryImport(Library)] internal static partial IntPtr rwt_last_error();
    [LibraryImport(Library)] internal static partial void rwt_clear_error();
    [LibraryImport(Library)] internal static partial void rwt_tensor_free(IntPtr t);
    [LibraryImport(Library)] internal static partial long rwt_live_tensors();
    [LibraryImport(Library)] internal static partial int rwt_noop(int x);
    [LibraryImport(Library)] internal static partial IntPtr rwt_torch_version();

    // properties
    [LibraryImport(Library)] internal static partial int rwt_tensor_info(TensorHandle t, out long ndim, out int dtype, out int deviceType, out int deviceIndex, out int requiresGrad);
    [LibraryImport(Library)] internal static unsafe partial int rwt_tensor_shape(TensorHandle t, long* shape, long capacity);
    [LibraryImport(Library)] internal static partial long rwt_tensor_numel(TensorHandle t);
    [LibraryImport(Library)] internal static partial int rwt_tensor_is_contiguous(TensorHandle t);
    [LibraryImport(Library)] internal static partial int rwt_tensor_item_double(TensorHandle t, out double value);
    [LibraryImport(Library)] internal static partial int rwt_tensor_item_long(TensorHandle t, out long value);
    [LibraryImport(Library)] internal static unsafe partial long rwt_tensor_to_string(TensorHandle t, byte* buffer, long capacity);

    // creation and data
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_tensor_from_data(void* data, long nbytes, long* shape, long ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static unsafe partial int rwt_tensor_copy_to(TensorHandle t, void* data, long nbytes);
    [LibraryImport(Library)] internal static unsafe partial int rwt_tensor_copy_from(TensorHandle t, void* data, long nbytes);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_empty(long* shape, long ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_zeros(long* shape, long ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_ones(long* shape, long ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_full(long* shape, long ndim, double value, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr rwt_arange(double start, double end, double step, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr rwt_scalar_tensor(double value, int dtype, int deviceType, int deviceIndex);

    // random
    [LibraryImport(Library)] internal static partial int rwt_manual_seed(ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr rwt_generator_new(ulong seed, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial void rwt_generator_free(IntPtr g);
    [LibraryImport(Library)] internal static partial int rwt_generator_seed(GeneratorHandle g, ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr rwt_generator_get_state(GeneratorHandle g);
    [LibraryImport(Library)] internal static partial int rwt_generator_set_state(GeneratorHandle g, TensorHandle state);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_randn(long* shape, long ndim, GeneratorHandle g, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_rand(long* shape, long ndim, GeneratorHandle g, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_randint(long low, long high, long* shape, long ndim, GeneratorHandle g, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial int rwt_normal_(TensorHandle t, double mean, double std, GeneratorHandle g);
    [LibraryImport(Library)] internal static partial int rwt_uniform_(TensorHandle t, double from, double to, GeneratorHandle g);

    // element-wise
    [LibraryImport(Library)] internal static partial IntPtr rwt_unary(int op, TensorHandle a);
    [LibraryImport(Library)] internal static partial IntPtr rwt_binary(int op, TensorHandle a, TensorHandle b);
    [LibraryImport(Library)] internal static partial IntPtr rwt_binary_scalar(int op, TensorHandle a, double s);
    [LibraryImport(Library)] internal static partial int rwt_binary_(int op, TensorHandle a, TensorHandle b);
    [LibraryImport(Library)] internal static partial int rwt_binary_scalar_(int op, TensorHandle a, double s);
    [LibraryImport(Library)] internal static partial int rwt_copy_(TensorHandle dst, TensorHandle src);
    [LibraryImport(Library)] internal static partial int rwt_fill_(TensorHandle dst, double value);
    [LibraryImport(Library)] internal static partial int rwt_zero_(TensorHandle dst);
    [LibraryImport(Library)] internal static partial int rwt_set_data(TensorHandle dst, TensorHandle src);
    [LibraryImport(Library)] internal static partial IntPtr rwt_add_scaled(TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(Library)] internal static partial IntPtr rwt_addmm(TensorHandle input, TensorHandle m1, TensorHandle m2, double beta, double alpha);
    [LibraryImport(Library)] internal static partial IntPtr rwt_clamp(TensorHandle a, double min, double max, int hasMin, int hasMax);
    [LibraryImport(Library)] internal static partial IntPtr rwt_where(TensorHandle cond, TensorHandle a, TensorHandle b);
    [LibraryImport(Library)] internal static partial IntPtr rwt_masked_fill(TensorHandle a, TensorHandle mask, double value);

    // reductions
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_reduce(int op, TensorHandle a, long* dims, long ndims, int keepdim);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_var(TensorHandle a, long* dims, long ndims, long correction, int keepdim);
    [LibraryImport(Library)] internal static partial int rwt_max_min_dim(int isMin, TensorHandle a, long dim, int keepdim, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial IntPtr rwt_argmax(TensorHandle a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial int rwt_topk(TensorHandle a, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial int rwt_sort(TensorHandle a, long dim, int descending, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial IntPtr rwt_cumsum(TensorHandle a, long dim);

    // shape
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_cat(IntPtr* xs, long n, long dim);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_stack(IntPtr* xs, long n, long dim);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_view(TensorHandle a, long* shape, long ndim);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_reshape(TensorHandle a, long* shape, long ndim);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_expand(TensorHandle a, long* shape, long ndim);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_permute(TensorHandle a, long* order, long ndim);
    [LibraryImport(Library)] internal static partial IntPtr rwt_transpose(TensorHandle a, long d0, long d1);
    [LibraryImport(Library)] internal static partial IntPtr rwt_narrow(TensorHandle a, long dim, long start, long length);
    [LibraryImport(Library)] internal static partial IntPtr rwt_select(TensorHandle a, long dim, long index);
    [LibraryImport(Library)] internal static partial IntPtr rwt_squeeze(TensorHandle a, long dim, int hasDim);
    [LibraryImport(Library)] internal static partial IntPtr rwt_unsqueeze(TensorHandle a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr rwt_flatten(TensorHandle a, long start, long end);
    [LibraryImport(Library)] internal static partial IntPtr rwt_index_select(TensorHandle a, long dim, TensorHandle index);
    [LibraryImport(Library)] internal static partial IntPtr rwt_gather(TensorHandle a, long dim, TensorHandle index);
    [LibraryImport(Library)] internal static partial IntPtr rwt_scatter(TensorHandle a, long dim, TensorHandle index, TensorHandle src, int accumulate);
    [LibraryImport(Library)] internal static partial IntPtr rwt_masked_select(TensorHandle a, TensorHandle mask);
    [LibraryImport(Library)] internal static partial IntPtr rwt_tril(TensorHandle a, long diagonal);
    [LibraryImport(Library)] internal static partial IntPtr rwt_triu(TensorHandle a, long diagonal);
    [LibraryImport(Library)] internal static partial IntPtr rwt_to(TensorHandle a, int dtype, int deviceType, int deviceIndex, int nonBlocking);
    [LibraryImport(Library)] internal static partial IntPtr rwt_pin_memory(TensorHandle a);

    // nn
    [LibraryImport(Library)] internal static partial IntPtr rwt_embedding(TensorHandle weight, TensorHandle indices);
    [LibraryImport(Library)] internal static partial IntPtr rwt_linear(TensorHandle x, TensorHandle w, TensorHandle b);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_layer_norm(TensorHandle x, long* shape, long ndim, TensorHandle w, TensorHandle b, double eps);
    [LibraryImport(Library)] internal static partial IntPtr rwt_softmax(TensorHandle x, long dim, int dtype);
    [LibraryImport(Library)] internal static partial IntPtr rwt_log_softmax(TensorHandle x, long dim, int dtype);
    [LibraryImport(Library)] internal static partial IntPtr rwt_cross_entropy(TensorHandle logits, TensorHandle target, TensorHandle weight, int reduction, long ignoreIndex, double labelSmoothing);
    [LibraryImport(Library)] internal static partial IntPtr rwt_dropout(TensorHandle x, double p, int train, GeneratorHandle g);
    [LibraryImport(Library)] internal static partial IntPtr rwt_attention(TensorHandle q, TensorHandle k, TensorHandle v, TensorHandle mask, double dropoutP, int causal, int forceExplicit, GeneratorHandle g);
    [LibraryImport(Library)] internal static partial int rwt_has_fused_attention();

    // autograd
    [LibraryImport(Library)] internal static partial int rwt_set_grad_enabled(int enabled);
    [LibraryImport(Library)] internal static partial int rwt_is_grad_enabled();
    [LibraryImport(Library)] internal static partial int rwt_set_requires_grad(TensorHandle t, int requires);
    [LibraryImport(Library)] internal static partial int rwt_is_leaf(TensorHandle t);
    [LibraryImport(Library)] internal static partial int rwt_backward(TensorHandle t, TensorHandle grad, int retainGraph, int createGraph);
    [LibraryImport(Library)] internal static partial int rwt_grad(TensorHandle t, out IntPtr grad);
    [LibraryImport(Library)] internal static partial int rwt_set_grad(TensorHandle t, TensorHandle grad);
    [LibraryImport(Library)] internal static unsafe partial int rwt_zero_grad(IntPtr* ts, long n, int setToNone);
    [LibraryImport(Library)] internal static unsafe partial int rwt_autograd_grad(IntPtr* outputs, long nOut, IntPtr* inputs, long nIn, IntPtr* gradOutputs, int retainGraph, int createGraph, int allowUnused, IntPtr* results);
    [LibraryImport(Library)] internal static partial int rwt_enter_dual_level(out long level);
    [LibraryImport(Library)] internal static partial int rwt_exit_dual_level(long level);
    [LibraryImport(Library)] internal static partial int rwt_set_forward_grad(TensorHandle t, TensorHandle tangent, long level);
    [LibraryImport(Library)] internal static partial int rwt_forward_grad(TensorHandle t, long level, out IntPtr tangent);

    // optim
    [LibraryImport(Library)] internal static unsafe partial int rwt_adamw_step(IntPtr* parameters, IntPtr* expAvg, IntPtr* expAvgSq, long n, long step, double lr, double beta1, double beta2, double eps, double weightDecay);
    [LibraryImport(Library)] internal static unsafe partial int rwt_adamw_step_using(IntPtr* parameters, IntPtr* expAvg, IntPtr* expAvgSq, long n, long step, double lr, double beta1, double beta2, double eps, double weightDecay, int allowed, out int used);
    [LibraryImport(Library)] internal static partial int rwt_has_fused_adamw(int deviceType);
    [LibraryImport(Library)] internal static unsafe partial IntPtr rwt_clip_grad_norm_deferred(IntPtr* parameters, long n, double maxNorm);

    // device, threads, autocast
    [LibraryImport(Library)] internal static partial int rwt_cuda_compiled();
    [LibraryImport(Library)] internal static partial int rwt_cuda_is_available();
    [LibraryImport(Library)] internal static partial int rwt_cuda_device_count();
    [LibraryImport(Library)] internal static partial int rwt_cuda_memory(int deviceIndex, int which, out long bytes);
    [LibraryImport(Library)] internal static partial int rwt_cuda_synchronize(int deviceIndex);
    [LibraryImport(Library)] internal static partial int rwt_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int rwt_get_num_threads();
    [LibraryImport(Library)] internal static partial int rwt_set_flush_denormal(int on);
    [LibraryImport(Library)] internal static partial int rwt_autocast_enter(int deviceType, int dtype);
    [LibraryImport(Library)] internal static partial int rwt_autocast_exit(int deviceType, int previous);
    [LibraryImport(Library)] internal static partial int rwt_autocast_is_enabled(int deviceType);
    [LibraryImport(Library)] internal static partial double rwt_bench_native_add(TensorHandle a, TensorHandle b, long n);
}
