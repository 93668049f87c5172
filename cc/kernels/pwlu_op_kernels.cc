// TensorFlow CPU kernels for TfLearnact>Pwlu and TfLearnact>PwluGrad: the plain-C++ math
// of pwlu_kernels.h on TensorFlow's thread pool.
#include "cc/kernels/pwlu_op_kernels.h"

#include "tensorflow/core/framework/register_types.h"

namespace tf_learnact {
namespace {

struct PwluCpu {
  static constexpr bool kWritesInPlace = kCpuWritesInPlace;
  template <typename TfT>
  static absl::Status Forward(OpKernelContext* ctx, const Layout& layout, int intervals,
                              const Tensor& x, const Tensor& left, const Tensor& right,
                              const Tensor& slopes, const Tensor& offsets, Tensor* y) {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    TF_RETURN_IF_ERROR(CheckPwluBoundValues<P>(left, right));
    PwluForward(layout, intervals, StoragePtr<TfT>(x), left.flat<P>().data(),
                right.flat<P>().data(), slopes.flat<P>().data(), offsets.flat<P>().data(),
                StoragePtr<TfT>(y), CpuParallelFor(ctx));
    return absl::OkStatus();
  }

  template <typename TfT>
  static absl::Status Backward(OpKernelContext* ctx, const Layout& layout, int intervals,
                               const Tensor& dy, const Tensor& x, const Tensor& left,
                               const Tensor& right, const Tensor& slopes, const Tensor& offsets,
                               Tensor* dx, Tensor* d_slopes, Tensor* d_offsets) {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    TF_RETURN_IF_ERROR(CheckPwluBoundValues<P>(left, right));
    PwluBackward(layout, intervals, StoragePtr<TfT>(dy), StoragePtr<TfT>(x), left.flat<P>().data(),
                 right.flat<P>().data(), slopes.flat<P>().data(), offsets.flat<P>().data(),
                 StoragePtr<TfT>(dx), d_slopes->flat<P>().data(), d_offsets->flat<P>().data(),
                 CpuParallelFor(ctx));
    return absl::OkStatus();
  }
};

template <typename TfT>
using PwluCpuOp = PwluOp<TfT, PwluCpu>;
template <typename TfT>
using PwluGradCpuOp = PwluGradOp<TfT, PwluCpu>;

TLA_REGISTER_CPU_KERNELS("TfLearnact>Pwlu", PwluCpuOp);
TLA_REGISTER_CPU_KERNELS("TfLearnact>PwluGrad", PwluGradCpuOp);

}  // namespace
}  // namespace tf_learnact
