// TfLearnact>Pau and TfLearnact>PauGrad as TensorFlow OpKernels, for any device: the
// attributes, the checks of every input and the outputs live here once; `Device`
// supplies the math (CPU: pau_op_kernels.cc; GPU: gpu/gpu_op_kernels.cc):
//   template <typename TfT> static absl::Status Forward(ctx, layout, cfg, x, num, den, y);
//   template <typename TfT> static absl::Status Backward(ctx, layout, cfg, dy, x, num, den,
//                                                        dx, d_num, d_den);
#ifndef TF_LEARNACT_KERNELS_PAU_OP_KERNELS_H_
#define TF_LEARNACT_KERNELS_PAU_OP_KERNELS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/kernels/common/tf_adapter.h"
#include "cc/kernels/pau_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace tf_learnact {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// Attributes shared by the forward and backward ops.
inline absl::Status ReadPauAttrs(OpKernelConstruction* ctx, PauConfig* cfg, int* axis) {
  std::string version;
  TF_RETURN_IF_ERROR(ctx->GetAttr("version", &version));
  if (version == "A")
    cfg->version = PauVersion::kA;
  else if (version == "B")
    cfg->version = PauVersion::kB;
  else if (version == "C")
    cfg->version = PauVersion::kC;
  else if (version == "N")
    cfg->version = PauVersion::kN;
  else
    return absl::InvalidArgumentError(absl::StrCat("unknown version '", version, "'"));
  TF_RETURN_IF_ERROR(ctx->GetAttr("noise", &cfg->noise));
  if (!(cfg->noise >= 0.0f && cfg->noise < 1.0f))
    return absl::InvalidArgumentError(absl::StrCat("noise must be in [0, 1), got ", cfg->noise));
  return ctx->GetAttr("axis", axis);
}

// Checks the tensors (shapes may be unknown when the graph was built) and fills the
// degrees, seed and layout.
inline absl::Status CheckPauTensors(const Tensor& x, const Tensor& num, const Tensor& den,
                                    const Tensor& seed, int axis, PauConfig* cfg, Layout* layout) {
  TF_RETURN_IF_ERROR(CheckParamDtypes(x, {&num, &den}));
  if (num.dims() < 1 || num.dims() > 2)
    return absl::InvalidArgumentError(
        absl::StrCat("numerator must have rank 1 (per layer) or 2 (per channel), got shape ",
                     num.shape().DebugString()));
  if (den.dims() != num.dims())
    return absl::InvalidArgumentError(absl::StrCat("denominator must have the rank of numerator (",
                                                   num.dims(), "), got shape ",
                                                   den.shape().DebugString()));
  if (num.dims() == 2 && den.dim_size(0) != num.dim_size(0))
    return absl::InvalidArgumentError(absl::StrCat(
        "denominator has ", den.dim_size(0), " channel rows but numerator has ", num.dim_size(0)));
  const int extra = cfg->version == PauVersion::kC ? 1 : 0;
  const int64_t m1 = num.dim_size(num.dims() - 1), nd = den.dim_size(den.dims() - 1);
  if (m1 < 1 || m1 > kPauMaxDegree + 1)
    return absl::InvalidArgumentError(absl::StrCat(
        "numerator must hold m+1 coefficients with 0 <= m <= ", kPauMaxDegree, ", got ", m1));
  if (nd < extra || nd > kPauMaxDegree + extra)
    return absl::InvalidArgumentError(absl::StrCat("denominator must hold ", extra ? "n+1" : "n",
                                                   " coefficients with 0 <= n <= ", kPauMaxDegree,
                                                   ", got ", nd));
  if (!tensorflow::TensorShapeUtils::IsScalar(seed.shape()))
    return absl::InvalidArgumentError("seed must be a scalar int64");
  cfg->m = static_cast<int>(m1 - 1);
  cfg->n = static_cast<int>(nd - extra);
  cfg->seed = seed.scalar<int64_t>()();
  return LayoutFor(x.shape(), axis, num.shape(), "numerator", layout);
}

template <typename TfT, typename Device>
class PauOp : public OpKernel {
 public:
  explicit PauOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadPauAttrs(ctx, &cfg_, &axis_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& num = ctx->input(1);
    const Tensor& den = ctx->input(2);
    PauConfig cfg = cfg_;
    Layout layout;
    OP_REQUIRES_OK(ctx, CheckPauTensors(x, num, den, ctx->input(3), axis_, &cfg, &layout));
    Tensor* y = nullptr;
    OP_REQUIRES_OK(ctx, AllocateElementwiseOutput<Device>(ctx, {0}, 0, x.shape(), &y));
    OP_REQUIRES_OK(ctx, Device::template Forward<TfT>(ctx, layout, cfg, x, num, den, y));
  }

 private:
  PauConfig cfg_;
  int axis_ = -1;
};

template <typename TfT, typename Device>
class PauGradOp : public OpKernel {
 public:
  explicit PauGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadPauAttrs(ctx, &cfg_, &axis_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& dy = ctx->input(0);
    const Tensor& x = ctx->input(1);
    const Tensor& num = ctx->input(2);
    const Tensor& den = ctx->input(3);
    OP_REQUIRES_OK(ctx, CheckGradientShape(dy, x));
    PauConfig cfg = cfg_;
    Layout layout;
    OP_REQUIRES_OK(ctx, CheckPauTensors(x, num, den, ctx->input(4), axis_, &cfg, &layout));
    Tensor *dx = nullptr, *dnum = nullptr, *dden = nullptr;
    OP_REQUIRES_OK(ctx, AllocateElementwiseOutput<Device>(ctx, {0, 1}, 0, x.shape(), &dx));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, num.shape(), &dnum));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, den.shape(), &dden));
    OP_REQUIRES_OK(
        ctx, Device::template Backward<TfT>(ctx, layout, cfg, dy, x, num, den, dx, dnum, dden));
  }

 private:
  PauConfig cfg_;
  int axis_ = -1;
};

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_PAU_OP_KERNELS_H_
