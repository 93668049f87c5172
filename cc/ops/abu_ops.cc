// Op definitions for ABU (adaptive blending units): the basis is an attribute.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/kernels/abu_kernels.h"
#include "cc/ops/shape_helpers.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tf_learnact {
namespace {

using tensorflow::shape_inference::DimensionHandle;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

absl::Status CheckAbuInputs(InferenceContext* c, int x_index) {
  std::vector<std::string> basis;
  TF_RETURN_IF_ERROR(c->GetAttr("basis", &basis));
  std::vector<Basis> parsed;
  const std::string error = ParseBasisList(basis, &parsed);
  if (!error.empty()) return absl::InvalidArgumentError(error);
  ShapeHandle x = c->input(x_index), w = c->input(x_index + 1), beta = c->input(x_index + 2);
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(w, 1, &w));
  TF_RETURN_IF_ERROR(c->WithRankAtMost(w, 2, &w));
  if (!c->RankKnown(w)) return absl::OkStatus();  // unknown in optimisation passes
  const int r = c->Rank(w);
  DimensionHandle m;
  TF_RETURN_IF_ERROR(c->WithValue(c->Dim(w, r - 1), static_cast<int64_t>(basis.size()), &m));
  TF_RETURN_IF_ERROR(c->WithRank(beta, r - 1, &beta));
  if (r == 2) {
    DimensionHandle channels;
    TF_RETURN_IF_ERROR(c->Merge(c->Dim(w, 0), c->Dim(beta, 0), &channels));
    TF_RETURN_IF_ERROR(MergeChannelAxis(c, x, channels));
  }
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("TfLearnact>Abu")
    .Input("x: T")
    .Input("weights: P")
    .Input("beta: P")
    .Output("y: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("P: {float, double}")
    .Attr("basis: list(string)")
    .Attr("axis: int = -1")
    .SetShapeFn([](InferenceContext* c) {
      TF_RETURN_IF_ERROR(CheckAbuInputs(c, 0));
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Adaptive blending unit y = sum_j weights[j] * f_j(x) over the named basis functions, per
layer ([m] weights, scalar beta) or per channel along `axis` ([C, m], [C]); beta is the
swish basis function's x * sigmoid(beta * x) parameter.
)doc");

REGISTER_OP("TfLearnact>AbuGrad")
    .Input("dy: T")
    .Input("x: T")
    .Input("weights: P")
    .Input("beta: P")
    .Output("dx: T")
    .Output("d_weights: P")
    .Output("d_beta: P")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("P: {float, double}")
    .Attr("basis: list(string)")
    .Attr("axis: int = -1")
    .SetShapeFn([](InferenceContext* c) {
      TF_RETURN_IF_ERROR(CheckAbuInputs(c, 1));
      return GradientShapes(c, {2, 3});  // d_weights, d_beta
    });

}  // namespace tf_learnact
