// TensorFlow CPU kernels for TfLearnact>Pwlu and TfLearnact>PwluGrad (the plain-C++ math
// of pwlu_kernels.h on TensorFlow's thread pool) and TfLearnact>PwluTable (CPU only: on a
// GPU the layers build the table with the twin's ops on the device, see ops/pwlu.py).
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

// The table from the parameters; every input is checked here, as the kernels that read
// the table would check it.
template <typename P>
class PwluTableCpuOp : public OpKernel {
 public:
  explicit PwluTableCpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}
  void Compute(OpKernelContext* ctx) override {
    const Tensor &left = ctx->input(0), &right = ctx->input(1), &heights = ctx->input(2);
    const Tensor &left_slope = ctx->input(3), &right_slope = ctx->input(4);
    OP_REQUIRES(
        ctx,
        heights.dims() >= 1 && heights.dims() <= 2 && heights.dim_size(heights.dims() - 1) >= 2,
        absl::InvalidArgumentError(
            absl::StrCat("heights must have shape [N+1] or [C, N+1] with N >= 1 intervals, got ",
                         heights.shape().DebugString())));
    const int64_t knots = heights.dim_size(heights.dims() - 1);
    const int64_t channels = heights.dims() == 2 ? heights.dim_size(0) : 1;
    // The bounds of CheckPwluTensors on the table this builds.
    OP_REQUIRES(ctx,
                knots + 1 <= (int64_t{1} << 24) && channels * (knots + 1) <= int64_t{INT32_MAX},
                absl::InvalidArgumentError(absl::StrCat(
                    "heights of shape ", heights.shape().DebugString(),
                    " are too large: at most 2^24 table rows (N + 2) and 2^31 - 1 entries are "
                    "supported")));
    tensorflow::TensorShape lead = heights.shape();
    lead.RemoveLastDims(1);
    for (const auto& [t, name] :
         {std::pair{&left, "left_bound"}, std::pair{&right, "right_bound"},
          std::pair{&left_slope, "left_slope"}, std::pair{&right_slope, "right_slope"}})
      OP_REQUIRES(ctx, t->shape() == lead,
                  absl::InvalidArgumentError(absl::StrCat(
                      name, " must have shape ", lead.DebugString(), " (heights ",
                      heights.shape().DebugString(), "), got ", t->shape().DebugString())));
    OP_REQUIRES_OK(ctx, CheckPwluBoundValues<P>(left, right));
    tensorflow::TensorShape table_shape = lead;
    table_shape.AddDim(knots + 1);
    Tensor *slopes = nullptr, *offsets = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, table_shape, &slopes));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, table_shape, &offsets));
    PwluBuildTable<P>(channels, static_cast<int>(knots - 1), left.flat<P>().data(),
                      right.flat<P>().data(), heights.flat<P>().data(), left_slope.flat<P>().data(),
                      right_slope.flat<P>().data(), slopes->flat<P>().data(),
                      offsets->flat<P>().data());
  }
};

REGISTER_KERNEL_BUILDER(
    Name("TfLearnact>PwluTable").Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("P"),
    PwluTableCpuOp<float>);
REGISTER_KERNEL_BUILDER(
    Name("TfLearnact>PwluTable").Device(tensorflow::DEVICE_CPU).TypeConstraint<double>("P"),
    PwluTableCpuOp<double>);
TLA_REGISTER_CPU_KERNELS("TfLearnact>Pwlu", PwluCpuOp);
TLA_REGISTER_CPU_KERNELS("TfLearnact>PwluGrad", PwluGradCpuOp);

}  // namespace
}  // namespace tf_learnact
