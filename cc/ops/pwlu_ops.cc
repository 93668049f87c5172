// Op definitions for PWLU (the inference-table form, used for training too).
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cc/ops/shape_helpers.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tf_learnact {
namespace {

using tensorflow::shape_inference::DimensionHandle;
using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

// x, left_bound, right_bound, slopes, offsets start at input x_index.
absl::Status CheckPwluInputs(InferenceContext* c, int x_index) {
  ShapeHandle x = c->input(x_index), left = c->input(x_index + 1), right = c->input(x_index + 2);
  ShapeHandle slopes = c->input(x_index + 3), offsets = c->input(x_index + 4);
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(slopes, 1, &slopes));
  TF_RETURN_IF_ERROR(c->WithRankAtMost(slopes, 2, &slopes));
  TF_RETURN_IF_ERROR(c->Merge(slopes, offsets, &slopes));
  // Graph optimisation passes re-run this with unknown ranks: nothing more to check
  // (Compute checks everything again).
  if (!c->RankKnown(slopes)) return absl::OkStatus();
  const int r = c->Rank(slopes);
  TF_RETURN_IF_ERROR(c->WithRank(left, r - 1, &left));
  TF_RETURN_IF_ERROR(c->Merge(left, right, &left));
  DimensionHandle rows = c->Dim(slopes, r - 1);
  if (c->ValueKnown(rows) && c->Value(rows) < 3)
    return absl::InvalidArgumentError(absl::StrCat(
        "slopes/offsets need N + 2 table rows with N >= 1 intervals, got ", c->Value(rows)));
  if (r == 2) {
    DimensionHandle channels;
    TF_RETURN_IF_ERROR(c->Merge(c->Dim(slopes, 0), c->Dim(left, 0), &channels));
    TF_RETURN_IF_ERROR(MergeChannelAxis(c, x, channels));
  }
  return absl::OkStatus();
}

// left_bound, right_bound, heights, left_slope, right_slope from input `first`: heights
// [N+1] or [C, N+1], the others [] or [C]. Sets *table to heights' shape with N+2 rows.
absl::Status PwluParameterShapes(InferenceContext* c, int first, ShapeHandle* table) {
  ShapeHandle heights = c->input(first + 2);
  TF_RETURN_IF_ERROR(c->WithRankAtLeast(heights, 1, &heights));
  TF_RETURN_IF_ERROR(c->WithRankAtMost(heights, 2, &heights));
  if (!c->RankKnown(heights)) {
    *table = c->UnknownShape();
    return absl::OkStatus();
  }
  const int r = c->Rank(heights);
  ShapeHandle lead;
  TF_RETURN_IF_ERROR(c->Subshape(heights, 0, r - 1, &lead));
  for (int i : {0, 1, 3, 4}) TF_RETURN_IF_ERROR(c->Merge(lead, c->input(first + i), &lead));
  DimensionHandle knots = c->Dim(heights, r - 1), rows;
  if (c->ValueKnown(knots) && c->Value(knots) < 2)
    return absl::InvalidArgumentError(
        absl::StrCat("heights need N + 1 values with N >= 1 intervals, got ", c->Value(knots)));
  TF_RETURN_IF_ERROR(c->Add(knots, 1, &rows));
  return c->Concatenate(lead, c->Vector(rows), table);
}

}  // namespace

REGISTER_OP("TfLearnact>PwluTable")
    .Input("left_bound: P")
    .Input("right_bound: P")
    .Input("heights: P")
    .Input("left_slope: P")
    .Input("right_slope: P")
    .Output("slopes: P")
    .Output("offsets: P")
    .Attr("P: {float, double}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle table;
      TF_RETURN_IF_ERROR(PwluParameterShapes(c, 0, &table));
      c->set_output(0, table);
      c->set_output(1, table);
      return absl::OkStatus();
    })
    .Doc(R"doc(
The inference table (slopes, offsets: N+2 rows) of a PWLU with N uniform intervals on
[left_bound, right_bound], heights at the N+1 knots and the outer slopes, per layer
(scalars, [N+1] heights) or per channel ([C], [C, N+1]); the input of TfLearnact>Pwlu.
)doc");

REGISTER_OP("TfLearnact>PwluTableGrad")
    .Input("d_slopes: P")
    .Input("d_offsets: P")
    .Input("left_bound: P")
    .Input("right_bound: P")
    .Input("heights: P")
    .Input("left_slope: P")
    .Input("right_slope: P")
    .Output("d_left_bound: P")
    .Output("d_right_bound: P")
    .Output("d_heights: P")
    .Output("d_left_slope: P")
    .Output("d_right_slope: P")
    .Attr("P: {float, double}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle table;
      TF_RETURN_IF_ERROR(PwluParameterShapes(c, 2, &table));
      TF_RETURN_IF_ERROR(c->Merge(table, c->input(0), &table));
      TF_RETURN_IF_ERROR(c->Merge(table, c->input(1), &table));
      for (int i = 0; i < 5; ++i) c->set_output(i, c->input(2 + i));
      return absl::OkStatus();
    });

REGISTER_OP("TfLearnact>Pwlu")
    .Input("x: T")
    .Input("left_bound: P")
    .Input("right_bound: P")
    .Input("slopes: P")
    .Input("offsets: P")
    .Output("y: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("P: {float, double}")
    .Attr("axis: int = -1")
    .SetShapeFn([](InferenceContext* c) {
      TF_RETURN_IF_ERROR(CheckPwluInputs(c, 0));
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Piecewise linear unit as its inference table: y = x * slopes[k] + offsets[k] with
k = clip(floor((x - left_bound) * N / (right_bound - left_bound)), -1, N) + 1, per layer
(scalar bounds, [N+2] table) or per channel along `axis` ([C] bounds, [C, N+2] table).
)doc");

REGISTER_OP("TfLearnact>PwluGrad")
    .Input("dy: T")
    .Input("x: T")
    .Input("left_bound: P")
    .Input("right_bound: P")
    .Input("slopes: P")
    .Input("offsets: P")
    .Output("dx: T")
    .Output("d_slopes: P")
    .Output("d_offsets: P")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("P: {float, double}")
    .Attr("axis: int = -1")
    .SetShapeFn([](InferenceContext* c) {
      TF_RETURN_IF_ERROR(CheckPwluInputs(c, 1));
      return GradientShapes(c, {4, 5});  // d_slopes, d_offsets
    });

}  // namespace tf_learnact
