// TensorFlow GPU kernels of the six ops: the op classes of *_op_kernels.h (the same
// attribute and input checks as on the CPU) with the CUDA launchers of cc/kernels/cuda/
// on the op's stream. Plain C++ compiled against TensorFlow's headers (no CUDA header),
// linked with the nvcc-compiled kernels and the static CUDA runtime into the separate
// GPU library, which the package loads only where TensorFlow is a CUDA build and sees a
// GPU (tf_learnact/ops/library.py).
#include <algorithm>
#include <vector>

#include "cc/kernels/abu_op_kernels.h"
#include "cc/kernels/cuda/cuda_launch.h"
#include "cc/kernels/pau_op_kernels.h"
#include "cc/kernels/pwlu_op_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/types.h"
#include "xla/stream_executor/device_description.h"
#include "xla/stream_executor/stream.h"
#include "xla/stream_executor/stream_executor.h"

namespace tf_learnact {
namespace {

template <typename TfT>
constexpr cuda::DType kDTypeOf = cuda::DType::kFloat;
template <>
constexpr cuda::DType kDTypeOf<Eigen::half> = cuda::DType::kHalf;
template <>
constexpr cuda::DType kDTypeOf<Eigen::bfloat16> = cuda::DType::kBFloat16;
template <>
constexpr cuda::DType kDTypeOf<double> = cuda::DType::kDouble;

// The CUDA kernels take inputs and outputs as __restrict__ pointers (x through the
// read-only cache): outputs get buffers of their own (see AllocateElementwiseOutput).
constexpr bool kCudaWritesInPlace = false;

// The op's CUDA stream (as the launchers take it) and its device's SM count.
struct GpuStream {
  void* stream = nullptr;
  int sm_count = 1;
};

absl::Status StreamOf(OpKernelContext* ctx, GpuStream* out) {
  const tensorflow::DeviceContext* dc = ctx->op_device_context();
  stream_executor::Stream* stream = dc == nullptr ? nullptr : dc->stream();
  if (stream == nullptr)
    return absl::InternalError("tf_learnact GPU kernel: the op has no GPU stream");
  out->stream = stream->platform_specific_handle().stream;
  if (out->stream == nullptr)
    return absl::InternalError("tf_learnact GPU kernel: the op's stream is not a CUDA stream");
  out->sm_count = std::max(1, stream->parent()->GetDeviceDescription().core_count());
  return absl::OkStatus();
}

absl::Status CudaStatus(int code, const char* what) {
  if (code == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("tf_learnact ", what, ": CUDA error ", code, " (",
                                          cuda::ErrorString(code), ")"));
}

// Scratch for the per-slice parameter-gradient partials, in the op's device memory.
absl::Status Workspace(OpKernelContext* ctx, size_t bytes, Tensor* scratch, void** data) {
  const int64_t n = static_cast<int64_t>(std::max<size_t>(bytes, 1));
  TF_RETURN_IF_ERROR(
      ctx->allocate_temp(tensorflow::DT_UINT8, tensorflow::TensorShape({n}), scratch));
  *data = scratch->flat<uint8_t>().data();
  return absl::OkStatus();
}

// Device addresses of a tensor's buffer (never dereferenced here).
const void* In(const Tensor& t) { return t.tensor_data().data(); }
void* Out(Tensor* t) { return const_cast<char*>(t->tensor_data().data()); }

struct PauGpu {
  static constexpr bool kWritesInPlace = kCudaWritesInPlace;
  template <typename TfT>
  static absl::Status Forward(OpKernelContext* ctx, const Layout& layout, const PauConfig& cfg,
                              const Tensor& x, const Tensor& num, const Tensor& den, Tensor* y) {
    GpuStream g;
    TF_RETURN_IF_ERROR(StreamOf(ctx, &g));
    return CudaStatus(cuda::PauForwardCuda(kDTypeOf<TfT>, layout, cfg, In(x), In(num), In(den),
                                           Out(y), g.sm_count, g.stream),
                      "PAU forward");
  }

  template <typename TfT>
  static absl::Status Backward(OpKernelContext* ctx, const Layout& layout, const PauConfig& cfg,
                               const Tensor& dy, const Tensor& x, const Tensor& num,
                               const Tensor& den, Tensor* dx, Tensor* dnum, Tensor* dden) {
    GpuStream g;
    TF_RETURN_IF_ERROR(StreamOf(ctx, &g));
    Tensor scratch;
    void* workspace = nullptr;
    TF_RETURN_IF_ERROR(
        Workspace(ctx, cuda::PauBackwardWorkspaceBytes(kDTypeOf<TfT>, layout, cfg, g.sm_count),
                  &scratch, &workspace));
    return CudaStatus(
        cuda::PauBackwardCuda(kDTypeOf<TfT>, layout, cfg, In(dy), In(x), In(num), In(den), Out(dx),
                              Out(dnum), Out(dden), workspace, g.sm_count, g.stream),
        "PAU backward");
  }
};

// The bounds stay in device memory (reading them here would cost a device-to-host copy
// per call): the kernels give NaN for a channel whose bounds are invalid.
struct PwluGpu {
  static constexpr bool kWritesInPlace = kCudaWritesInPlace;
  template <typename TfT>
  static absl::Status Forward(OpKernelContext* ctx, const Layout& layout, int intervals,
                              const Tensor& x, const Tensor& left, const Tensor& right,
                              const Tensor& slopes, const Tensor& offsets, Tensor* y) {
    GpuStream g;
    TF_RETURN_IF_ERROR(StreamOf(ctx, &g));
    return CudaStatus(
        cuda::PwluForwardCuda(kDTypeOf<TfT>, layout, intervals, In(x), In(left), In(right),
                              In(slopes), In(offsets), Out(y), g.sm_count, g.stream),
        "PWLU forward");
  }

  template <typename TfT>
  static absl::Status Backward(OpKernelContext* ctx, const Layout& layout, int intervals,
                               const Tensor& dy, const Tensor& x, const Tensor& left,
                               const Tensor& right, const Tensor& slopes, const Tensor& offsets,
                               Tensor* dx, Tensor* d_slopes, Tensor* d_offsets) {
    const int max_intervals = cuda::PwluMaxIntervalsCuda(kDTypeOf<TfT>);
    if (intervals > max_intervals)
      return absl::InvalidArgumentError(absl::StrCat(
          "slopes: the GPU kernel supports at most ", max_intervals, " intervals for x of type ",
          tensorflow::DataTypeString(tensorflow::DataTypeToEnum<TfT>::value),
          " on this device (its per-thread bins live in shared memory), got ", intervals));
    GpuStream g;
    TF_RETURN_IF_ERROR(StreamOf(ctx, &g));
    Tensor scratch;
    void* workspace = nullptr;
    TF_RETURN_IF_ERROR(Workspace(
        ctx, cuda::PwluBackwardWorkspaceBytes(kDTypeOf<TfT>, layout, intervals, g.sm_count),
        &scratch, &workspace));
    return CudaStatus(
        cuda::PwluBackwardCuda(kDTypeOf<TfT>, layout, intervals, In(dy), In(x), In(left), In(right),
                               In(slopes), In(offsets), Out(dx), Out(d_slopes), Out(d_offsets),
                               workspace, g.sm_count, g.stream),
        "PWLU backward");
  }
};

struct AbuGpu {
  static constexpr bool kWritesInPlace = kCudaWritesInPlace;
  template <typename TfT>
  static absl::Status Forward(OpKernelContext* ctx, const Layout& layout,
                              const std::vector<Basis>& basis, const Tensor& x, const Tensor& w,
                              const Tensor& beta, Tensor* y) {
    GpuStream g;
    TF_RETURN_IF_ERROR(StreamOf(ctx, &g));
    return CudaStatus(
        cuda::AbuForwardCuda(kDTypeOf<TfT>, layout, basis.data(), static_cast<int>(basis.size()),
                             In(x), In(w), In(beta), Out(y), g.sm_count, g.stream),
        "ABU forward");
  }

  template <typename TfT>
  static absl::Status Backward(OpKernelContext* ctx, const Layout& layout,
                               const std::vector<Basis>& basis, const Tensor& dy, const Tensor& x,
                               const Tensor& w, const Tensor& beta, Tensor* dx, Tensor* dw,
                               Tensor* dbeta) {
    GpuStream g;
    TF_RETURN_IF_ERROR(StreamOf(ctx, &g));
    const int m = static_cast<int>(basis.size());
    Tensor scratch;
    void* workspace = nullptr;
    TF_RETURN_IF_ERROR(
        Workspace(ctx, cuda::AbuBackwardWorkspaceBytes(kDTypeOf<TfT>, layout, m, g.sm_count),
                  &scratch, &workspace));
    return CudaStatus(cuda::AbuBackwardCuda(kDTypeOf<TfT>, layout, basis.data(), m, In(dy), In(x),
                                            In(w), In(beta), Out(dx), Out(dw), Out(dbeta),
                                            workspace, g.sm_count, g.stream),
                      "ABU backward");
  }
};

template <typename TfT>
using PauGpuOp = PauOp<TfT, PauGpu>;
template <typename TfT>
using PauGradGpuOp = PauGradOp<TfT, PauGpu>;
template <typename TfT>
using PwluGpuOp = PwluOp<TfT, PwluGpu>;
template <typename TfT>
using PwluGradGpuOp = PwluGradOp<TfT, PwluGpu>;
template <typename TfT>
using AbuGpuOp = AbuOp<TfT, AbuGpu>;
template <typename TfT>
using AbuGradGpuOp = AbuGradOp<TfT, AbuGpu>;

// The RPAU seed is read on the host (it keys the noise generator passed to the kernel).
#define TLA_REGISTER_GPU_KERNELS_FOR(TfT)                                                  \
  REGISTER_KERNEL_BUILDER(Name("TfLearnact>Pau")                                           \
                              .Device(tensorflow::DEVICE_GPU)                              \
                              .TypeConstraint<TfT>("T")                                    \
                              .HostMemory("seed"),                                         \
                          PauGpuOp<TfT>);                                                  \
  REGISTER_KERNEL_BUILDER(Name("TfLearnact>PauGrad")                                       \
                              .Device(tensorflow::DEVICE_GPU)                              \
                              .TypeConstraint<TfT>("T")                                    \
                              .HostMemory("seed"),                                         \
                          PauGradGpuOp<TfT>);                                              \
  REGISTER_KERNEL_BUILDER(                                                                 \
      Name("TfLearnact>Pwlu").Device(tensorflow::DEVICE_GPU).TypeConstraint<TfT>("T"),     \
      PwluGpuOp<TfT>);                                                                     \
  REGISTER_KERNEL_BUILDER(                                                                 \
      Name("TfLearnact>PwluGrad").Device(tensorflow::DEVICE_GPU).TypeConstraint<TfT>("T"), \
      PwluGradGpuOp<TfT>);                                                                 \
  REGISTER_KERNEL_BUILDER(                                                                 \
      Name("TfLearnact>Abu").Device(tensorflow::DEVICE_GPU).TypeConstraint<TfT>("T"),      \
      AbuGpuOp<TfT>);                                                                      \
  REGISTER_KERNEL_BUILDER(                                                                 \
      Name("TfLearnact>AbuGrad").Device(tensorflow::DEVICE_GPU).TypeConstraint<TfT>("T"),  \
      AbuGradGpuOp<TfT>)

TLA_REGISTER_GPU_KERNELS_FOR(Eigen::half);
TLA_REGISTER_GPU_KERNELS_FOR(Eigen::bfloat16);
TLA_REGISTER_GPU_KERNELS_FOR(float);
TLA_REGISTER_GPU_KERNELS_FOR(double);
#undef TLA_REGISTER_GPU_KERNELS_FOR

}  // namespace
}  // namespace tf_learnact
