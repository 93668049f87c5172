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

// The parameters of TfLearnact>PwluTable and PwluTableGrad (inputs first .. first + 4:
// left_bound, right_bound, heights, left_slope, right_slope), checked as the kernels that
// read the table would check it; fills the table's shape, channels and N.
template <typename P>
absl::Status CheckPwluParameters(OpKernelContext* ctx, int first,
                                 tensorflow::TensorShape* table_shape, int64_t* channels,
                                 int* intervals) {
  const Tensor &left = ctx->input(first), &right = ctx->input(first + 1);
  const Tensor& heights = ctx->input(first + 2);
  if (heights.dims() < 1 || heights.dims() > 2 || heights.dim_size(heights.dims() - 1) < 2)
    return absl::InvalidArgumentError(
        absl::StrCat("heights must have shape [N+1] or [C, N+1] with N >= 1 intervals, got ",
                     heights.shape().DebugString()));
  const int64_t knots = heights.dim_size(heights.dims() - 1);
  *channels = heights.dims() == 2 ? heights.dim_size(0) : 1;
  TF_RETURN_IF_ERROR(CheckPwluTableSize(*channels, knots + 1, "heights", heights.shape()));
  tensorflow::TensorShape lead = heights.shape();
  lead.RemoveLastDims(1);
  const char* names[] = {"left_bound", "right_bound", "heights", "left_slope", "right_slope"};
  for (int i : {0, 1, 3, 4}) {
    const Tensor& t = ctx->input(first + i);
    if (t.shape() != lead)
      return absl::InvalidArgumentError(
          absl::StrCat(names[i], " must have shape ", lead.DebugString(), " (heights ",
                       heights.shape().DebugString(), "), got ", t.shape().DebugString()));
  }
  TF_RETURN_IF_ERROR(CheckPwluBoundValues<P>(left, right));
  *table_shape = lead;
  table_shape->AddDim(knots + 1);
  *intervals = static_cast<int>(knots - 1);
  return absl::OkStatus();
}

// (slopes, offsets) from the parameters.
template <typename P>
class PwluTableCpuOp : public OpKernel {
 public:
  explicit PwluTableCpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}
  void Compute(OpKernelContext* ctx) override {
    tensorflow::TensorShape table_shape;
    int64_t channels = 0;
    int intervals = 0;
    OP_REQUIRES_OK(ctx, CheckPwluParameters<P>(ctx, 0, &table_shape, &channels, &intervals));
    Tensor *slopes = nullptr, *offsets = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, table_shape, &slopes));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, table_shape, &offsets));
    PwluBuildTable<P>(channels, intervals, ctx->input(0).flat<P>().data(),
                      ctx->input(1).flat<P>().data(), ctx->input(2).flat<P>().data(),
                      ctx->input(3).flat<P>().data(), ctx->input(4).flat<P>().data(),
                      slopes->flat<P>().data(), offsets->flat<P>().data());
  }
};

// The parameters' gradients from the table's (d_slopes, d_offsets, then the parameters).
template <typename P>
class PwluTableGradCpuOp : public OpKernel {
 public:
  explicit PwluTableGradCpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}
  void Compute(OpKernelContext* ctx) override {
    tensorflow::TensorShape table_shape;
    int64_t channels = 0;
    int intervals = 0;
    OP_REQUIRES_OK(ctx, CheckPwluParameters<P>(ctx, 2, &table_shape, &channels, &intervals));
    const Tensor &d_slopes = ctx->input(0), &d_offsets = ctx->input(1);
    OP_REQUIRES(
        ctx, d_slopes.shape() == table_shape && d_offsets.shape() == table_shape,
        absl::InvalidArgumentError(absl::StrCat(
            "d_slopes and d_offsets must have the table's shape ", table_shape.DebugString(),
            ", got ", d_slopes.shape().DebugString(), " and ", d_offsets.shape().DebugString())));
    P* grads[5];
    for (int i = 0; i < 5; ++i) {
      Tensor* g = nullptr;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(i, ctx->input(2 + i).shape(), &g));
      grads[i] = g->flat<P>().data();
    }
    PwluBuildTableGrad<P>(channels, intervals, d_slopes.flat<P>().data(),
                          d_offsets.flat<P>().data(), ctx->input(2).flat<P>().data(),
                          ctx->input(3).flat<P>().data(), ctx->input(4).flat<P>().data(),
                          ctx->input(5).flat<P>().data(), ctx->input(6).flat<P>().data(), grads[0],
                          grads[1], grads[2], grads[3], grads[4]);
  }
};

#define TLA_REGISTER_TABLE_KERNELS(P)                                                         \
  REGISTER_KERNEL_BUILDER(                                                                    \
      Name("TfLearnact>PwluTable").Device(tensorflow::DEVICE_CPU).TypeConstraint<P>("P"),     \
      PwluTableCpuOp<P>);                                                                     \
  REGISTER_KERNEL_BUILDER(                                                                    \
      Name("TfLearnact>PwluTableGrad").Device(tensorflow::DEVICE_CPU).TypeConstraint<P>("P"), \
      PwluTableGradCpuOp<P>)
TLA_REGISTER_TABLE_KERNELS(float);
TLA_REGISTER_TABLE_KERNELS(double);
TLA_REGISTER_CPU_KERNELS("TfLearnact>Pwlu", PwluCpuOp);
TLA_REGISTER_CPU_KERNELS("TfLearnact>PwluGrad", PwluGradCpuOp);

}  // namespace
}  // namespace tf_learnact
