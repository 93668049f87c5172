// ABU math on the CPU: g(x) = sum_j w_j f_j(x) over a basis of named functions, fused:
// backward computes f_j(x) and f_j'(x) on the fly, never materialising the m basis
// outputs. Plain C++ (no TensorFlow header).
#ifndef TF_LEARNACT_KERNELS_ABU_KERNELS_H_
#define TF_LEARNACT_KERNELS_ABU_KERNELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/numeric.h"
#include "cc/kernels/common/param_grad.h"

namespace tf_learnact {

enum class Basis : int {
  kTanh,
  kElu,
  kRelu,
  kIdentity,
  kSwish,
  kSigmoid,
  kSelu,
  kLeakyRelu,
  kSoftplus,
  kGelu
};
// A basis holds each function at most once, so at most this many.
constexpr int kNumBasisFunctions = 10;

// Parses the basis attribute: known names, at least one, no duplicates. Returns an
// error message naming the problem, or "" (used by the shape function and the kernels).
std::string ParseBasisList(const std::vector<std::string>& names, std::vector<Basis>* basis);

// weights: [C, m]; beta: [C] (the swish beta, used by kSwish only).
template <typename T>
void AbuForward(const Layout& layout, const std::vector<Basis>& basis, const T* x,
                const typename AccOf<T>::type* weights, const typename AccOf<T>::type* beta, T* y,
                const ParallelForBlocks& parallel_for);

// dx, d_weights [C, m] = sum dy * f_j(x), d_beta [C] = sum dy * w_swish * df_swish/dbeta.
template <typename T>
void AbuBackward(const Layout& layout, const std::vector<Basis>& basis, const T* dy, const T* x,
                 const typename AccOf<T>::type* weights, const typename AccOf<T>::type* beta, T* dx,
                 typename AccOf<T>::type* d_weights, typename AccOf<T>::type* d_beta,
                 const ParallelForBlocks& parallel_for);

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_ABU_KERNELS_H_
