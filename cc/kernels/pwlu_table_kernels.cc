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

template <typename P>
void PwluBuildTableGrad(int64_t channels, int intervals, const P* d_slopes, const P* d_offsets,
                        const P* left, const P* right, const P* heights, const P* left_slope,
                        const P* right_slope, P* d_left, P* d_right, P* d_heights, P* d_left_slope,
                        P* d_right_slope) {
  const int64_t n = intervals, rows = n + 2;
  for (int64_t c = 0; c < channels; ++c) {
    const P l = left[c], r = right[c], kl = left_slope[c], kr = right_slope[c];
    const P* h = heights + c * (n + 1);
    const P* ds = d_slopes + c * rows;
    const P* dof = d_offsets + c * rows;
    P* dh = d_heights + c * (n + 1);
    const P width = (r - l) / static_cast<P>(n);
    // Rows 0 and N+1: s = K, o = Y - B K.
    d_left_slope[c] = ds[0] - l * dof[0];
    d_right_slope[c] = ds[n + 1] - r * dof[n + 1];
    P dl = -kl * dof[0], dr = -kr * dof[n + 1], d_width = 0;
    for (int64_t i = 0; i <= n; ++i) dh[i] = 0;
    dh[0] += dof[0];
    dh[n] += dof[n + 1];
    // Row i+1: s = K_i = (Y_i+1 - Y_i) / width, o = Y_i - B_i K_i, B_i = B_L + width i.
    for (int64_t i = 0; i < n; ++i) {
      const P knot = l + width * static_cast<P>(i);
      const P inner = (h[i + 1] - h[i]) / width;
      const P d_inner = ds[i + 1] - knot * dof[i + 1];
      const P d_knot = -inner * dof[i + 1];
      const P q = d_inner / width;
      dh[i] += dof[i + 1] - q;
      dh[i + 1] += q;
      d_width += d_knot * static_cast<P>(i) - q * inner;
      dl += d_knot;
    }
    // width = (B_R - B_L) / N.
    d_left[c] = dl - d_width / static_cast<P>(n);
    d_right[c] = dr + d_width / static_cast<P>(n);
  }
}

template void PwluBuildTable<float>(int64_t, int, const float*, const float*, const float*,
                                    const float*, const float*, float*, float*);
template void PwluBuildTable<double>(int64_t, int, const double*, const double*, const double*,
                                     const double*, const double*, double*, double*);
template void PwluBuildTableGrad<float>(int64_t, int, const float*, const float*, const float*,
                                        const float*, const float*, const float*, const float*,
                                        float*, float*, float*, float*, float*);
template void PwluBuildTableGrad<double>(int64_t, int, const double*, const double*, const double*,
                                         const double*, const double*, const double*, const double*,
                                         double*, double*, double*, double*, double*);

}  // namespace tf_learnact
