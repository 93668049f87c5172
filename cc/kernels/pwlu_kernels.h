// PWLU math on the CPU over the [outer, C, inner] layout: the inference table of the
// paper's Sec. 4.3, y = x * S[k] + O[k], k = clip(floor((x - B_L) / d), -1, N) + 1,
// shared by training and inference. Plain C++ (no TensorFlow header).
#ifndef TF_LEARNACT_KERNELS_PWLU_KERNELS_H_
#define TF_LEARNACT_KERNELS_PWLU_KERNELS_H_

#include <cstdint>

#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/numeric.h"
#include "cc/kernels/common/param_grad.h"

namespace tf_learnact {

// Per channel c: bounds left[c] < right[c], table rows slopes/offsets[c][0..N+1]
// (row 0: x < B_L, rows 1..N: the intervals, row N+1: x >= B_R).
template <typename T>
void PwluForward(const Layout& layout, int intervals, const T* x,
                 const typename AccOf<T>::type* left, const typename AccOf<T>::type* right,
                 const typename AccOf<T>::type* slopes, const typename AccOf<T>::type* offsets,
                 T* y, const ParallelForBlocks& parallel_for);

// dx = dy * S[k]; d_slopes[c][k] = sum of dy * x and d_offsets[c][k] = sum of dy over
// the elements of channel c in table row k (k treated as a constant, as in Table 1).
template <typename T>
void PwluBackward(const Layout& layout, int intervals, const T* dy, const T* x,
                  const typename AccOf<T>::type* left, const typename AccOf<T>::type* right,
                  const typename AccOf<T>::type* slopes, const typename AccOf<T>::type* offsets,
                  T* dx, typename AccOf<T>::type* d_slopes, typename AccOf<T>::type* d_offsets,
                  const ParallelForBlocks& parallel_for);

// The table from the parameters, per channel c (one channel per layer): bounds left[c] <
// right[c], heights[c][0..N], outer slopes; writes slopes/offsets[c][0..N+1] in the
// rows above (pwlu_table_kernels.cc).
template <typename P>
void PwluBuildTable(int64_t channels, int intervals, const P* left, const P* right,
                    const P* heights, const P* left_slope, const P* right_slope, P* slopes,
                    P* offsets);

// The parameters' gradients (d_left .. d_right_slope, shaped as the parameters) from the
// table's (d_slopes, d_offsets), by the chain rule through PwluBuildTable.
template <typename P>
void PwluBuildTableGrad(int64_t channels, int intervals, const P* d_slopes, const P* d_offsets,
                        const P* left, const P* right, const P* heights, const P* left_slope,
                        const P* right_slope, P* d_left, P* d_right, P* d_heights, P* d_left_slope,
                        P* d_right_slope);

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_PWLU_KERNELS_H_
