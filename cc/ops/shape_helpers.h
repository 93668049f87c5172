// Shape-function checks shared by every family's op definition.
#ifndef TF_LEARNACT_OPS_SHAPE_HELPERS_H_
#define TF_LEARNACT_OPS_SHAPE_HELPERS_H_

#include <initializer_list>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tf_learnact {

// Per-channel parameters: checks the "axis" attribute against x's rank and merges
// `channels` (the parameters' leading dimension) with x's size along it.
inline absl::Status MergeChannelAxis(tensorflow::shape_inference::InferenceContext* c,
                                     tensorflow::shape_inference::ShapeHandle x,
                                     tensorflow::shape_inference::DimensionHandle channels) {
  if (!c->RankKnown(x)) return absl::OkStatus();
  int axis;
  TF_RETURN_IF_ERROR(c->GetAttr("axis", &axis));
  const int rank = c->Rank(x);
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for x of rank ", rank));
  return c->Merge(c->Dim(x, a), channels, &channels);
}

// The gradient ops' shapes: inputs (dy, x, ...), outputs (dx, d_param...) with dx shaped
// like dy merged with x, and output 1 + k shaped like input param_inputs[k].
inline absl::Status GradientShapes(tensorflow::shape_inference::InferenceContext* c,
                                   std::initializer_list<int> param_inputs) {
  tensorflow::shape_inference::ShapeHandle dy;
  TF_RETURN_IF_ERROR(c->Merge(c->input(0), c->input(1), &dy));
  c->set_output(0, dy);
  int k = 1;
  for (int input : param_inputs) c->set_output(k++, c->input(input));
  return absl::OkStatus();
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_OPS_SHAPE_HELPERS_H_
