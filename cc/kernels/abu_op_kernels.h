// TfLearnact>Abu and TfLearnact>AbuGrad as TensorFlow OpKernels, for any device: the
// basis attribute, the checks of every input and the outputs live here once; `Device`
// supplies the math (CPU: abu_op_kernels.cc; GPU: gpu/gpu_op_kernels.cc):
//   template <typename TfT> static absl::Status Forward(ctx, layout, basis, x, w, beta, y);
//   template <typename TfT> static absl::Status Backward(ctx, layout, basis, dy, x, w, beta,
//                                                        dx, d_w, d_beta);
#ifndef TF_LEARNACT_KERNELS_ABU_OP_KERNELS_H_
#define TF_LEARNACT_KERNELS_ABU_OP_KERNELS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/kernels/abu_kernels.h"
#include "cc/kernels/common/tf_adapter.h"
#include "tensorflow/core/framework/op_kernel.h"

namespace tf_learnact {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

inline absl::Status ReadBasis(OpKernelConstruction* ctx, std::vector<Basis>* basis, int* axis) {
  std::vector<std::string> names;
  TF_RETURN_IF_ERROR(ctx->GetAttr("basis", &names));
  const std::string error = ParseBasisList(names, basis);
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return ctx->GetAttr("axis", axis);
}

inline absl::Status CheckAbuTensors(const Tensor& x, const Tensor& w, const Tensor& beta, size_t m,
                                    int axis, Layout* layout) {
  TF_RETURN_IF_ERROR(CheckParamDtypes(x, {&w, &beta}));
  if (w.dims() < 1 || w.dims() > 2 || w.dim_size(w.dims() - 1) != static_cast<int64_t>(m))
    return absl::InvalidArgumentError(absl::StrCat("weights must have shape [", m, "] or [C, ", m,
                                                   "] for ", m, " basis functions, got ",
                                                   w.shape().DebugString()));
  const bool beta_ok =
      w.dims() == 1 ? beta.dims() == 0 : beta.dims() == 1 && beta.dim_size(0) == w.dim_size(0);
  if (!beta_ok)
    return absl::InvalidArgumentError(
        absl::StrCat("beta must be a scalar (per layer) or have one value per weights row, got ",
                     beta.shape().DebugString()));
  return LayoutFor(x.shape(), axis, w.shape(), "weights", layout);
}

template <typename TfT, typename Device>
class AbuOp : public OpKernel {
 public:
  explicit AbuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadBasis(ctx, &basis_, &axis_));
  }
  void Compute(OpKernelContext* ctx) override {
    const Tensor &x = ctx->input(0), &w = ctx->input(1), &beta = ctx->input(2);
    Layout layout;
    OP_REQUIRES_OK(ctx, CheckAbuTensors(x, w, beta, basis_.size(), axis_, &layout));
    Tensor* y = nullptr;
    OP_REQUIRES_OK(ctx, AllocateElementwiseOutput<Device>(ctx, {0}, 0, x.shape(), &y));
    OP_REQUIRES_OK(ctx, Device::template Forward<TfT>(ctx, layout, basis_, x, w, beta, y));
  }

 private:
  std::vector<Basis> basis_;
  int axis_ = -1;
};

template <typename TfT, typename Device>
class AbuGradOp : public OpKernel {
 public:
  explicit AbuGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadBasis(ctx, &basis_, &axis_));
  }
  void Compute(OpKernelContext* ctx) override {
    const Tensor &dy = ctx->input(0), &x = ctx->input(1), &w = ctx->input(2), &beta = ctx->input(3);
    OP_REQUIRES_OK(ctx, CheckGradientShape(dy, x));
    Layout layout;
    OP_REQUIRES_OK(ctx, CheckAbuTensors(x, w, beta, basis_.size(), axis_, &layout));
    Tensor *dx = nullptr, *dw = nullptr, *dbeta = nullptr;
    OP_REQUIRES_OK(ctx, AllocateElementwiseOutput<Device>(ctx, {0, 1}, 0, x.shape(), &dx));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, w.shape(), &dw));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, beta.shape(), &dbeta));
    OP_REQUIRES_OK(
        ctx, Device::template Backward<TfT>(ctx, layout, basis_, dy, x, w, beta, dx, dw, dbeta));
  }

 private:
  std::vector<Basis> basis_;
  int axis_ = -1;
};

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_ABU_OP_KERNELS_H_
