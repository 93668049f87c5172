// Op definitions for PAU: attributes and shapes are validated here, before any kernel runs.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/ops/shape_helpers.h"
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tf_learnact {
namespace {

using tensorflow::shape_inference::DimensionHandle;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

constexpr int kMaxDegree = 16;

// Checks x, numerator, denominator and the attributes shared by Pau and PauGrad.
// x_index is the input position of x (0 for Pau, 1 for PauGrad).
absl::Status CheckPauInputs(InferenceContext* c, int x_index) {
  tensorflow::DataType t, p;
  TF_RETURN_IF_ERROR(c->GetAttr("T", &t));
  TF_RETURN_IF_ERROR(c->GetAttr("P", &p));
  if ((t == tensorflow::DT_DOUBLE) != (p == tensorflow::DT_DOUBLE))
    return absl::InvalidArgumentError(
        "numerator/denominator must be float64 exactly when x is float64, float32 otherwise");
  float noise;
  TF_RETURN_IF_ERROR(c->GetAttr("noise", &noise));
  if (!(noise >= 0.0f && noise < 1.0f))
    return absl::InvalidArgumentError(absl::StrCat("noise must be in [0, 1), got ", noise));
  std::string version;
  TF_RETURN_IF_ERROR(c->GetAttr("version", &version));
  const int den_extra = version == "C" ? 1 : 0;

  ShapeHandle x = c->input(x_index), num = c->input(x_index + 1), den = c->input(x_index + 2);
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(num, 1, &num));
  TF_RETURN_IF_ERROR(c->WithRankAtMost(num, 2, &num));
  // Graph optimisation passes re-run this with unknown ranks (Rank() == -1 would make
  // WithRank/Dim throw): nothing more to check; Compute checks everything again.
  if (!c->RankKnown(num)) return absl::OkStatus();
  TF_RETURN_IF_ERROR(c->WithRank(den, c->Rank(num), &den));
  ShapeHandle unused;
  if (!c->WithRank(c->input(x_index + 3), 0, &unused).ok())
    return absl::InvalidArgumentError("seed must be a scalar int64");
  const int r = c->Rank(num);
  DimensionHandle m1 = c->Dim(num, r - 1), nd = c->Dim(den, r - 1);
  if (c->ValueKnown(m1) && (c->Value(m1) < 1 || c->Value(m1) > kMaxDegree + 1))
    return absl::InvalidArgumentError(
        absl::StrCat("numerator must hold m+1 coefficients with 0 <= m <= ", kMaxDegree, ", got ",
                     c->Value(m1)));
  if (c->ValueKnown(nd) && (c->Value(nd) < den_extra || c->Value(nd) > kMaxDegree + den_extra))
    return absl::InvalidArgumentError(absl::StrCat(
        "denominator must hold ", den_extra ? "n+1" : "n", " coefficients with 0 <= n <= ",
        kMaxDegree, " for version ", version, ", got ", c->Value(nd)));
  if (r == 2) {
    DimensionHandle merged;
    TF_RETURN_IF_ERROR(c->Merge(c->Dim(num, 0), c->Dim(den, 0), &merged));
    TF_RETURN_IF_ERROR(MergeChannelAxis(c, x, merged));
  }
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("TfLearnact>Pau")
    .Input("x: T")
    .Input("numerator: P")
    .Input("denominator: P")
    .Input("seed: int64")
    .Output("y: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("P: {float, double}")
    .Attr("version: {'A', 'B', 'C', 'N'} = 'B'")
    .Attr("axis: int = -1")
    .Attr("noise: float = 0.0")
    .SetShapeFn([](InferenceContext* c) {
      TF_RETURN_IF_ERROR(CheckPauInputs(c, 0));
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Padé activation unit y = P(x) / Q(x), with coefficients per layer (rank-1 numerator and
denominator) or per channel along `axis` (rank 2, one row per channel). With noise > 0
every coefficient c of every element is replaced by c * (1 + u), u ~ U(-noise, noise),
drawn from a counter-based generator keyed by `seed` (RPAU).
)doc");

REGISTER_OP("TfLearnact>PauGrad")
    .Input("dy: T")
    .Input("x: T")
    .Input("numerator: P")
    .Input("denominator: P")
    .Input("seed: int64")
    .Output("dx: T")
    .Output("d_numerator: P")
    .Output("d_denominator: P")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("P: {float, double}")
    .Attr("version: {'A', 'B', 'C', 'N'} = 'B'")
    .Attr("axis: int = -1")
    .Attr("noise: float = 0.0")
    .SetShapeFn([](InferenceContext* c) {
      TF_RETURN_IF_ERROR(CheckPauInputs(c, 1));
      return GradientShapes(c, {2, 3});  // d_numerator, d_denominator
    });

}  // namespace tf_learnact
