// PWLU's inference table from its parameters (the paper's Sec. 4.3), the same float
// operations in the same order as the composite `pwlu_table` (tf_learnact/ops/pwlu.py),
// so the fused op and the twin build bit-identical tables. One op in place of the
// twin's ~20 small TensorFlow ops per layer and call: that per-op cost, not the
// elements, dominates small batches.
#include "cc/kernels/pwlu_kernels.h"

// TensorFlow's ops round every product before the sum that follows it. This file has no
// FMA clone, but the build's -ffp-contract=fast would contract its multiply-adds wherever
// the target has FMA (a -march=native build), rounding once and missing the twin's bits.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace tf_learnact {

template <typename P>
void PwluBuildTable(int64_t channels, int intervals, const P* left, const P* right,
                    const P* heights, const P* left_slope, const P* right_slope, P* slopes,
                    P* offsets) {
  const int64_t n = intervals, rows = n + 2;
  for (int64_t c = 0; c < channels; ++c) {
    const P l = left[c], r = right[c], kl = left_slope[c], kr = right_slope[c];
    const P* h = heights + c * (n + 1);
    P* s = slopes + c * rows;
    P* o = offsets + c * rows;
    const P width = (r - l) / static_cast<P>(n);
    s[0] = kl;
    o[0] = h[0] - l * kl;
    for (int64_t i = 0; i < n; ++i) {
      const P knot = l + width * static_cast<P>(i);  // B_i
      const P inner = (h[i + 1] - h[i]) / width;     // K_i
      s[i + 1] = inner;
      o[i + 1] = h[i] - knot * inner;
    }
    s[n + 1] = kr;
    o[n + 1] = h[n] - r * kr;
  }
}

template void PwluBuildTable<float>(int64_t, int, const float*, const float*, const float*,
                                    const float*, const float*, float*, float*);
template void PwluBuildTable<double>(int64_t, int, const double*, const double*, const double*,
                                     const double*, const double*, double*, double*);

}  // namespace tf_learnact
