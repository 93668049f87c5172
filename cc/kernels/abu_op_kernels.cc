// TensorFlow CPU kernels for TfLearnact>Abu and TfLearnact>AbuGrad: the plain-C++ math of
// abu_kernels.h on TensorFlow's thread pool.
#include "cc/kernels/abu_op_kernels.h"

#include "tensorflow/core/framework/register_types.h"

namespace tf_learnact {
namespace {

struct AbuCpu {
  static constexpr bool kWritesInPlace = kCpuWritesInPlace;
  template <typename TfT>
  static absl::Status Forward(OpKernelContext* ctx, const Layout& layout,
                              const std::vector<Basis>& basis, const Tensor& x, const Tensor& w,
                              const Tensor& beta, Tensor* y) {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    AbuForward(layout, basis, StoragePtr<TfT>(x), w.flat<P>().data(), beta.flat<P>().data(),
               StoragePtr<TfT>(y), CpuParallelFor(ctx));
    return absl::OkStatus();
  }

  template <typename TfT>
  static absl::Status Backward(OpKernelContext* ctx, const Layout& layout,
                               const std::vector<Basis>& basis, const Tensor& dy, const Tensor& x,
                               const Tensor& w, const Tensor& beta, Tensor* dx, Tensor* dw,
                               Tensor* dbeta) {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    AbuBackward(layout, basis, StoragePtr<TfT>(dy), StoragePtr<TfT>(x), w.flat<P>().data(),
                beta.flat<P>().data(), StoragePtr<TfT>(dx), dw->flat<P>().data(),
                dbeta->flat<P>().data(), CpuParallelFor(ctx));
    return absl::OkStatus();
  }
};

template <typename TfT>
using AbuCpuOp = AbuOp<TfT, AbuCpu>;
template <typename TfT>
using AbuGradCpuOp = AbuGradOp<TfT, AbuCpu>;

TLA_REGISTER_CPU_KERNELS("TfLearnact>Abu", AbuCpuOp);
TLA_REGISTER_CPU_KERNELS("TfLearnact>AbuGrad", AbuGradCpuOp);

}  // namespace
}  // namespace tf_learnact
