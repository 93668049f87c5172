// TensorFlow CPU kernels for TfLearnact>Pau and TfLearnact>PauGrad: the plain-C++ math of
// pau_kernels.h on TensorFlow's thread pool.
#include "cc/kernels/pau_op_kernels.h"

#include "tensorflow/core/framework/register_types.h"

namespace tf_learnact {
namespace {

struct PauCpu {
  static constexpr bool kWritesInPlace = kCpuWritesInPlace;
  template <typename TfT>
  static absl::Status Forward(OpKernelContext* ctx, const Layout& layout, const PauConfig& cfg,
                              const Tensor& x, const Tensor& num, const Tensor& den, Tensor* y) {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    PauForward(layout, cfg, StoragePtr<TfT>(x), num.flat<P>().data(), den.flat<P>().data(),
               StoragePtr<TfT>(y), CpuParallelFor(ctx));
    return absl::OkStatus();
  }

  template <typename TfT>
  static absl::Status Backward(OpKernelContext* ctx, const Layout& layout, const PauConfig& cfg,
                               const Tensor& dy, const Tensor& x, const Tensor& num,
                               const Tensor& den, Tensor* dx, Tensor* dnum, Tensor* dden) {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    PauBackward(layout, cfg, StoragePtr<TfT>(dy), StoragePtr<TfT>(x), num.flat<P>().data(),
                den.flat<P>().data(), StoragePtr<TfT>(dx), dnum->flat<P>().data(),
                dden->flat<P>().data(), CpuParallelFor(ctx));
    return absl::OkStatus();
  }
};

template <typename TfT>
using PauCpuOp = PauOp<TfT, PauCpu>;
template <typename TfT>
using PauGradCpuOp = PauGradOp<TfT, PauCpu>;

TLA_REGISTER_CPU_KERNELS("TfLearnact>Pau", PauCpuOp);
TLA_REGISTER_CPU_KERNELS("TfLearnact>PauGrad", PauGradCpuOp);

}  // namespace
}  // namespace tf_learnact
