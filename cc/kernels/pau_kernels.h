// PAU math on the CPU: forward and backward over the [outer, C, inner] layout.
// Plain C++ (no TensorFlow header) so the TF adapter and any standalone harness share it.
#ifndef TF_LEARNACT_KERNELS_PAU_KERNELS_H_
#define TF_LEARNACT_KERNELS_PAU_KERNELS_H_

#include <cstdint>

#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/numeric.h"
#include "cc/kernels/common/param_grad.h"

namespace tf_learnact {

// Denominator forms; see tf_learnact/ops/pau.py for the user-facing description.
enum class PauVersion : int {
  kA = 0,  // Q = 1 + sum_k |b_k| |x|^k
  kB = 1,  // Q = 1 + |sum_k b_k x^k|        (paper Eq. 2, "safe PAU")
  kC = 2,  // Q = 0.1 + |b_0 + sum_k b_k x^k|
  kN = 3,  // Q = 1 + sum_k b_k x^k           (unsafe: may have poles)
};

constexpr int kPauMaxDegree = 16;

struct PauConfig {
  PauVersion version = PauVersion::kB;
  int m = 5;           // numerator degree: m + 1 coefficients a_0..a_m
  int n = 4;           // denominator degree: b_1..b_n (b_0..b_n for version C)
  float noise = 0.0f;  // RPAU alpha: c * (1 + u), u ~ U(-alpha, alpha); 0 disables
  int64_t seed = 0;
  int num_denominator() const { return version == PauVersion::kC ? n + 1 : n; }
  int num_coefs() const { return m + 1 + num_denominator(); }
};

// numerator: [C, m+1], denominator: [C, num_denominator()], C = layout.channels.
template <typename T>
void PauForward(const Layout& layout, const PauConfig& config, const T* x,
                const typename AccOf<T>::type* numerator,
                const typename AccOf<T>::type* denominator, T* y,
                const ParallelForBlocks& parallel_for);

// Writes dx and the parameter gradients d_numerator, d_denominator (shapes as above).
template <typename T>
void PauBackward(const Layout& layout, const PauConfig& config, const T* dy, const T* x,
                 const typename AccOf<T>::type* numerator,
                 const typename AccOf<T>::type* denominator, T* dx,
                 typename AccOf<T>::type* d_numerator, typename AccOf<T>::type* d_denominator,
                 const ParallelForBlocks& parallel_for);

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_PAU_KERNELS_H_
