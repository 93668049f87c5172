// TensorFlow CPU kernels for TfLearnact>Pwlu and TfLearnact>PwluGrad.
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/kernels/common/tf_adapter.h"
#include "cc/kernels/pwlu_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/register_types.h"

namespace tf_learnact {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// Checks the parameter tensors (shapes may be unknown at graph time; eager skips the
// shape function) and every channel's bounds; fills N and the layout.
template <typename P>
absl::Status CheckPwluTensors(const Tensor& x, const Tensor& left, const Tensor& right,
                              const Tensor& slopes, const Tensor& offsets, int axis,
                              int* intervals, Layout* layout) {
  TF_RETURN_IF_ERROR(CheckParamDtypes(x, {&left, &right, &slopes, &offsets}));
  if (slopes.dims() < 1 || slopes.dims() > 2 || slopes.shape() != offsets.shape())
    return absl::InvalidArgumentError(absl::StrCat(
        "slopes and offsets must share a shape [N+2] or [C, N+2], got ",
        slopes.shape().DebugString(), " and ", offsets.shape().DebugString()));
  const int64_t rows = slopes.dim_size(slopes.dims() - 1);
  if (rows < 3)
    return absl::InvalidArgumentError(
        absl::StrCat("intervals must be >= 1 (table of N+2 rows), got ", rows - 2));
  const int64_t channels = slopes.dims() == 2 ? slopes.dim_size(0) : 1;
  for (const auto& [t, name] : {std::pair{&left, "left_bound"}, std::pair{&right, "right_bound"}}) {
    const bool ok = slopes.dims() == 2 ? t->dims() == 1 && t->dim_size(0) == channels
                                       : t->dims() == 0;
    if (!ok)
      return absl::InvalidArgumentError(absl::StrCat(
          name, " must have shape ", slopes.dims() == 2 ? absl::StrCat("[", channels, "]") : "[]",
          ", got ", t->shape().DebugString()));
  }
  const P* l = left.flat<P>().data();
  const P* r = right.flat<P>().data();
  for (int64_t c = 0; c < channels; ++c) {
    if (!std::isfinite(l[c]) || !std::isfinite(r[c]))
      return absl::InvalidArgumentError(absl::StrCat(
          "left_bound and right_bound must be finite, channel ", c, " has [", l[c], ", ", r[c], "]"));
    if (!(l[c] < r[c]))
      return absl::InvalidArgumentError(absl::StrCat(
          "left_bound must be < right_bound, channel ", c, " has [", l[c], ", ", r[c], "]"));
  }
  *intervals = static_cast<int>(rows - 2);
  return LayoutFor(x.shape(), axis, slopes.shape(), "slopes", layout);
}

template <typename TfT>
class PwluOp : public OpKernel {
 public:
  explicit PwluOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("axis", &axis_));
  }
  void Compute(OpKernelContext* ctx) override {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    const Tensor &x = ctx->input(0), &left = ctx->input(1), &right = ctx->input(2);
    const Tensor &slopes = ctx->input(3), &offsets = ctx->input(4);
    int intervals = 0;
    Layout layout;
    OP_REQUIRES_OK(ctx, CheckPwluTensors<P>(x, left, right, slopes, offsets, axis_, &intervals,
                                            &layout));
    Tensor* y = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &y));
    PwluForward(layout, intervals, StoragePtr<TfT>(x), left.flat<P>().data(),
                right.flat<P>().data(), slopes.flat<P>().data(), offsets.flat<P>().data(),
                StoragePtr<TfT>(y), CpuParallelFor(ctx));
  }

 private:
  int axis_ = -1;
};

template <typename TfT>
class PwluGradOp : public OpKernel {
 public:
  explicit PwluGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("axis", &axis_));
  }
  void Compute(OpKernelContext* ctx) override {
    using P = typename AccOf<typename StorageOf<TfT>::type>::type;
    const Tensor &dy = ctx->input(0), &x = ctx->input(1), &left = ctx->input(2);
    const Tensor &right = ctx->input(3), &slopes = ctx->input(4), &offsets = ctx->input(5);
    OP_REQUIRES(ctx, dy.shape() == x.shape(),
                absl::InvalidArgumentError(absl::StrCat("dy must have the shape of x: ",
                                                        dy.shape().DebugString(), " vs ",
                                                        x.shape().DebugString())));
    int intervals = 0;
    Layout layout;
    OP_REQUIRES_OK(ctx, CheckPwluTensors<P>(x, left, right, slopes, offsets, axis_, &intervals,
                                            &layout));
    Tensor *dx = nullptr, *ds = nullptr, *dof = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &dx));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, slopes.shape(), &ds));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, offsets.shape(), &dof));
    PwluBackward(layout, intervals, StoragePtr<TfT>(dy), StoragePtr<TfT>(x),
                 left.flat<P>().data(), right.flat<P>().data(), slopes.flat<P>().data(),
                 offsets.flat<P>().data(), StoragePtr<TfT>(dx), ds->flat<P>().data(),
                 dof->flat<P>().data(), CpuParallelFor(ctx));
  }

 private:
  int axis_ = -1;
};

TLA_REGISTER_CPU_KERNELS("TfLearnact>Pwlu", PwluOp);
TLA_REGISTER_CPU_KERNELS("TfLearnact>PwluGrad", PwluGradOp);

}  // namespace
}  // namespace tf_learnact
