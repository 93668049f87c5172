// The [outer, channels, inner] view every family's kernel works on.
#ifndef TF_LEARNACT_KERNELS_COMMON_LAYOUT_H_
#define TF_LEARNACT_KERNELS_COMMON_LAYOUT_H_

#include <cstdint>

namespace tf_learnact {

// x is viewed as [outer, channels, inner]; parameters have one row per channel.
// Per-layer parameters are channels == 1, inner == number of elements.
struct Layout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
  int64_t size() const { return outer * channels * inner; }
  // Channel of flat element i.
  int64_t channel_of(int64_t i) const { return (i / inner) % channels; }
};

// dims: the tensor's shape; axis in [0, rank) or -1 for a per-layer parameter set.
inline Layout MakeLayout(const int64_t* dims, int rank, int axis) {
  Layout l;
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= dims[d];
  if (axis < 0) {
    l.inner = total;
    return l;
  }
  for (int d = 0; d < axis; ++d) l.outer *= dims[d];
  l.channels = dims[axis];
  for (int d = axis + 1; d < rank; ++d) l.inner *= dims[d];
  return l;
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_LAYOUT_H_
