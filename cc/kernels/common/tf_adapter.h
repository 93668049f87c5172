// What every family's TensorFlow OpKernel shares: storage-type mapping, the
// [outer, C, inner] layout of a tensor, and the thread pool as a ParallelForBlocks.
#ifndef TF_LEARNACT_KERNELS_COMMON_TF_ADAPTER_H_
#define TF_LEARNACT_KERNELS_COMMON_TF_ADAPTER_H_

#include <initializer_list>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/numeric.h"
#include "cc/kernels/common/param_grad.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace tf_learnact {

// TensorFlow element type -> the kernels' storage type (same size and layout).
template <typename TfT>
struct StorageOf {
  using type = TfT;
};
template <>
struct StorageOf<Eigen::half> {
  using type = Half16;
};
template <>
struct StorageOf<Eigen::bfloat16> {
  using type = BFloat16;
};

template <typename TfT>
const typename StorageOf<TfT>::type* StoragePtr(const tensorflow::Tensor& t) {
  return reinterpret_cast<const typename StorageOf<TfT>::type*>(t.flat<TfT>().data());
}
template <typename TfT>
typename StorageOf<TfT>::type* StoragePtr(tensorflow::Tensor* t) {
  return reinterpret_cast<typename StorageOf<TfT>::type*>(t->flat<TfT>().data());
}

// Layout of x for parameters of rank `param_rank` (1: per layer, 2: per channel along
// axis). Checks axis and the channel count; `param_name` names the offending input.
inline absl::Status LayoutFor(const tensorflow::TensorShape& x_shape, int axis,
                              const tensorflow::TensorShape& param_shape, const char* param_name,
                              Layout* layout) {
  std::vector<int64_t> dims(x_shape.dims());
  for (int d = 0; d < x_shape.dims(); ++d) dims[d] = x_shape.dim_size(d);
  if (param_shape.dims() == 1) {
    *layout = MakeLayout(dims.data(), x_shape.dims(), -1);
    return absl::OkStatus();
  }
  const int rank = x_shape.dims();
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for x of rank ", rank));
  if (param_shape.dim_size(0) != x_shape.dim_size(a))
    return absl::InvalidArgumentError(absl::StrCat(param_name, " has ", param_shape.dim_size(0),
                                                   " channel rows but x has ", x_shape.dim_size(a),
                                                   " channels along axis ", axis));
  *layout = MakeLayout(dims.data(), rank, a);
  return absl::OkStatus();
}

// Parameters are float64 exactly when x is, float32 otherwise. Checked in Compute too:
// eager execution skips the shape function.
inline absl::Status CheckParamDtypes(const tensorflow::Tensor& x,
                                     std::initializer_list<const tensorflow::Tensor*> params) {
  const tensorflow::DataType want =
      x.dtype() == tensorflow::DT_DOUBLE ? tensorflow::DT_DOUBLE : tensorflow::DT_FLOAT;
  for (const tensorflow::Tensor* t : params)
    if (t->dtype() != want)
      return absl::InvalidArgumentError(absl::StrCat(
          "parameters must be ", tensorflow::DataTypeString(want), " for x of type ",
          tensorflow::DataTypeString(x.dtype()), " (float64 exactly when x is float64), got ",
          tensorflow::DataTypeString(t->dtype())));
  return absl::OkStatus();
}

// A gradient op's incoming dy has the shape of x.
inline absl::Status CheckGradientShape(const tensorflow::Tensor& dy, const tensorflow::Tensor& x) {
  if (dy.shape() == x.shape()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "dy must have the shape of x: ", dy.shape().DebugString(), " vs ", x.shape().DebugString()));
}

// Every CPU walk (lane_walker.h, PWLU's element walk) reads an element, x and dy, before
// it writes that element's result, so a CPU kernel's output may take over an input's
// buffer: the CPU devices' kWritesInPlace.
inline constexpr bool kCpuWritesInPlace = true;

// Allocates output `index` with x's shape, over the buffer of the first of `inputs`
// that TensorFlow may hand over (no other op still reads it: an activation's input at
// inference, the incoming gradient or x in the backward), where the device's kernels
// allow it (Device::kWritesInPlace: each element is read before its result is written),
// else in a new buffer, as TensorFlow's own element-wise ops do. It saves the output's
// memory (the time measured the same).
template <typename Device>
absl::Status AllocateElementwiseOutput(tensorflow::OpKernelContext* ctx,
                                       std::initializer_list<int> inputs, int index,
                                       const tensorflow::TensorShape& shape,
                                       tensorflow::Tensor** out) {
  if constexpr (Device::kWritesInPlace)
    return ctx->forward_input_or_allocate_output(inputs, index, shape, out);
  return ctx->allocate_output(index, shape, out);
}

// The op's CPU thread pool over block ranges of about num_blocks / (kTasksPerThread *
// threads) blocks: contiguous ranges keep each thread's stream going across block edges
// and schedule fewer closures (one block per task, 1024 tasks at 16M elements, was 1-3.5%
// slower fwd+bwd over 5 alternating runs). ParallelFor also uses the calling thread.
constexpr int64_t kTasksPerThread = 32;

inline ParallelForBlocks CpuParallelFor(tensorflow::OpKernelContext* ctx) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  return [pool](int64_t num_blocks, const BlockRange& fn) {
    if (num_blocks <= 1) {
      if (num_blocks == 1) fn(0, 1);
      return;
    }
    const int64_t tasks = kTasksPerThread * pool->NumThreads();
    const int64_t blocks_per_task = (num_blocks + tasks - 1) / tasks;
    pool->ParallelFor(num_blocks, tsl::thread::ThreadPool::SchedulingParams::Fixed(blocks_per_task),
                      [&fn](int64_t begin, int64_t end) { fn(begin, end); });
  };
}

}  // namespace tf_learnact

// Registers CPU kernel template `Kernel<T>` of op `NAME` for the four input dtypes.
#define TLA_REGISTER_CPU_KERNEL_FOR(NAME, Kernel, TfT)                                        \
  REGISTER_KERNEL_BUILDER(Name(NAME).Device(tensorflow::DEVICE_CPU).TypeConstraint<TfT>("T"), \
                          Kernel<TfT>)
#define TLA_REGISTER_CPU_KERNELS(NAME, Kernel)                \
  TLA_REGISTER_CPU_KERNEL_FOR(NAME, Kernel, Eigen::half);     \
  TLA_REGISTER_CPU_KERNEL_FOR(NAME, Kernel, Eigen::bfloat16); \
  TLA_REGISTER_CPU_KERNEL_FOR(NAME, Kernel, float);           \
  TLA_REGISTER_CPU_KERNEL_FOR(NAME, Kernel, double)

#endif  // TF_LEARNACT_KERNELS_COMMON_TF_ADAPTER_H_
