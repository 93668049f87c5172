// TfLearnact>Pwlu and TfLearnact>PwluGrad as TensorFlow OpKernels, for any device: the
// checks of every input and the outputs live here once; `Device` supplies the math
// (CPU: pwlu_op_kernels.cc; GPU: gpu/gpu_op_kernels.cc):
//   template <typename TfT> static absl::Status Forward(ctx, layout, intervals, x, left,
//                                                       right, slopes, offsets, y);
//   template <typename TfT> static absl::Status Backward(ctx, layout, intervals, dy, x, left,
//                                                        right, slopes, offsets, dx, d_slopes,
//                                                        d_offsets);
#ifndef TF_LEARNACT_KERNELS_PWLU_OP_KERNELS_H_
#define TF_LEARNACT_KERNELS_PWLU_OP_KERNELS_H_

#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/kernels/common/tf_adapter.h"
#include "cc/kernels/pwlu_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace tf_learnact {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// Row indices are computed in float lanes and table offsets (channel * rows + row) in
// int32 lanes: both exact for at most 2^24 rows and 2^31 - 1 entries. `what` (of `shape`)
// names the tensor that sets the table's size.
inline absl::Status CheckPwluTableSize(int64_t channels, int64_t rows, const char* what,
                                       const tensorflow::TensorShape& shape) {
  if (rows <= (int64_t{1} << 24) && channels * rows <= int64_t{INT32_MAX}) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      what, " of shape ", shape.DebugString(),
      " are too large: at most 2^24 table rows (N + 2) and 2^31 - 1 entries are supported"));
}

// Checks the parameter tensors' dtypes and shapes (shapes may be unknown at graph time;
// eager skips the shape function); fills N and the layout. The bound values are checked
// by the device (CheckPwluBoundValues where they are host memory).
inline absl::Status CheckPwluTensors(const Tensor& x, const Tensor& left, const Tensor& right,
                                     const Tensor& slopes, const Tensor& offsets, int axis,
                                     int* intervals, Layout* layout) {
  TF_RETURN_IF_ERROR(CheckParamDtypes(x, {&left, &right, &slopes, &offsets}));
  if (slopes.dims() < 1 || slopes.dims() > 2 || slopes.shape() != offsets.shape())
    return absl::InvalidArgumentError(
        absl::StrCat("slopes and offsets must share a shape [N+2] or [C, N+2], got ",
                     slopes.shape().DebugString(), " and ", offsets.shape().DebugString()));
  const int64_t rows = slopes.dim_size(slopes.dims() - 1);
  if (rows < 3)
    return absl::InvalidArgumentError(
        absl::StrCat("intervals must be >= 1 (table of N+2 rows), got ", rows - 2));
  const int64_t channels = slopes.dims() == 2 ? slopes.dim_size(0) : 1;
  TF_RETURN_IF_ERROR(CheckPwluTableSize(channels, rows, "slopes/offsets", slopes.shape()));
  for (const auto& [t, name] : {std::pair{&left, "left_bound"}, std::pair{&right, "right_bound"}}) {
    const bool ok =
        slopes.dims() == 2 ? t->dims() == 1 && t->dim_size(0) == channels : t->dims() == 0;
    if (!ok)
      return absl::InvalidArgumentError(absl::StrCat(
          name, " must have shape ", slopes.dims() == 2 ? absl::StrCat("[", channels, "]") : "[]",
          ", got ", t->shape().DebugString()));
  }
  *intervals = static_cast<int>(rows - 2);
  return LayoutFor(x.shape(), axis, slopes.shape(), "slopes", layout);
}

template <typename TfT, typename Device>
class PwluOp : public OpKernel {
 public:
  explicit PwluOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("axis", &axis_));
  }
  void Compute(OpKernelContext* ctx) override {
    const Tensor &x = ctx->input(0), &left = ctx->input(1), &right = ctx->input(2);
    const Tensor &slopes = ctx->input(3), &offsets = ctx->input(4);
    int intervals = 0;
    Layout layout;
    OP_REQUIRES_OK(ctx,
                   CheckPwluTensors(x, left, right, slopes, offsets, axis_, &intervals, &layout));
    Tensor* y = nullptr;
    OP_REQUIRES_OK(ctx, AllocateElementwiseOutput<Device>(ctx, {0}, 0, x.shape(), &y));
    OP_REQUIRES_OK(ctx, Device::template Forward<TfT>(ctx, layout, intervals, x, left, right,
                                                      slopes, offsets, y));
  }

 private:
  int axis_ = -1;
};

template <typename TfT, typename Device>
class PwluGradOp : public OpKernel {
 public:
  explicit PwluGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("axis", &axis_));
  }
  void Compute(OpKernelContext* ctx) override {
    const Tensor &dy = ctx->input(0), &x = ctx->input(1), &left = ctx->input(2);
    const Tensor &right = ctx->input(3), &slopes = ctx->input(4), &offsets = ctx->input(5);
    OP_REQUIRES_OK(ctx, CheckGradientShape(dy, x));
    int intervals = 0;
    Layout layout;
    OP_REQUIRES_OK(ctx,
                   CheckPwluTensors(x, left, right, slopes, offsets, axis_, &intervals, &layout));
    Tensor *dx = nullptr, *ds = nullptr, *dof = nullptr;
    OP_REQUIRES_OK(ctx, AllocateElementwiseOutput<Device>(ctx, {0, 1}, 0, x.shape(), &dx));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, slopes.shape(), &ds));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, offsets.shape(), &dof));
    OP_REQUIRES_OK(ctx, Device::template Backward<TfT>(ctx, layout, intervals, dy, x, left, right,
                                                       slopes, offsets, dx, ds, dof));
  }

 private:
  int axis_ = -1;
};

// Every channel's bounds finite with left < right (bounds in host memory).
template <typename P>
absl::Status CheckPwluBoundValues(const Tensor& left, const Tensor& right) {
  const P* l = left.flat<P>().data();
  const P* r = right.flat<P>().data();
  for (int64_t c = 0; c < left.NumElements(); ++c) {
    if (!std::isfinite(l[c]) || !std::isfinite(r[c]))
      return absl::InvalidArgumentError(
          absl::StrCat("left_bound and right_bound must be finite, channel ", c, " has [", l[c],
                       ", ", r[c], "]"));
    if (!(l[c] < r[c]))
      return absl::InvalidArgumentError(absl::StrCat("left_bound must be < right_bound, channel ",
                                                     c, " has [", l[c], ", ", r[c], "]"));
  }
  return absl::OkStatus();
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_PWLU_OP_KERNELS_H_
