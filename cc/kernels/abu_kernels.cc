// ABU forward/backward on the CPU. Every basis function is written to stay finite for
// large |x| (exp only of non-positive arguments, tanh saturating) in float32 compute.
#include "cc/kernels/abu_kernels.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "cc/kernels/common/macros.h"

namespace tf_learnact {
namespace {

template <typename Acc>
TLA_ALWAYS_INLINE Acc Sigmoid(Acc x) {  // exp of -|x| only: no overflow
  const Acc e = std::exp(-std::abs(x));
  return x >= Acc(0) ? Acc(1) / (Acc(1) + e) : e / (Acc(1) + e);
}

// f(x), f'(x) and, for swish, df/dbeta.
template <typename Acc>
struct BasisValue {
  Acc f, df, dbeta;
};

template <typename Acc>
TLA_ALWAYS_INLINE BasisValue<Acc> Evaluate(Basis b, Acc x, Acc beta) {
  constexpr Acc kSeluScale = Acc(1.0507009873554805), kSeluAlpha = Acc(1.6732632423543772);
  constexpr Acc kGeluC = Acc(0.7978845608028654), kGeluA = Acc(0.044715);
  switch (b) {
    case Basis::kTanh: {
      const Acc t = std::tanh(x);
      return {t, Acc(1) - t * t, Acc(0)};
    }
    case Basis::kElu:
      return x > Acc(0) ? BasisValue<Acc>{x, Acc(1), Acc(0)}
                        : BasisValue<Acc>{std::expm1(x), std::exp(x), Acc(0)};
    case Basis::kRelu:
      return {x > Acc(0) ? x : Acc(0), x > Acc(0) ? Acc(1) : Acc(0), Acc(0)};
    case Basis::kIdentity:
      return {x, Acc(1), Acc(0)};
    case Basis::kSwish: {
      const Acc s = Sigmoid(beta * x), ds = s * (Acc(1) - s);
      return {x * s, s + beta * x * ds, x * x * ds};
    }
    case Basis::kSigmoid: {
      const Acc s = Sigmoid(x);
      return {s, s * (Acc(1) - s), Acc(0)};
    }
    case Basis::kSelu:
      return x > Acc(0)
                 ? BasisValue<Acc>{kSeluScale * x, kSeluScale, Acc(0)}
                 : BasisValue<Acc>{kSeluScale * kSeluAlpha * std::expm1(x),
                                   kSeluScale * kSeluAlpha * std::exp(x), Acc(0)};
    case Basis::kLeakyRelu:
      return x > Acc(0) ? BasisValue<Acc>{x, Acc(1), Acc(0)}
                        : BasisValue<Acc>{Acc(0.01) * x, Acc(0.01), Acc(0)};
    case Basis::kSoftplus:  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
      return {(x > Acc(0) ? x : Acc(0)) + std::log1p(std::exp(-std::abs(x))), Sigmoid(x), Acc(0)};
    case Basis::kGelu: {
      // tanh form; beyond |x| = 10 it equals relu to float precision, and x^3 could
      // overflow half/float inputs scaled up, so it is taken as relu there.
      if (std::abs(x) > Acc(10))
        return {x > Acc(0) ? x : Acc(0), x > Acc(0) ? Acc(1) : Acc(0), Acc(0)};
      const Acc u = kGeluC * (x + kGeluA * x * x * x);
      const Acc t = std::tanh(u);
      const Acc du = kGeluC * (Acc(1) + Acc(3) * kGeluA * x * x);
      return {Acc(0.5) * x * (Acc(1) + t), Acc(0.5) * (Acc(1) + t) + Acc(0.5) * x * (Acc(1) - t * t) * du,
              Acc(0)};
    }
  }
  return {Acc(0), Acc(0), Acc(0)};
}

template <typename T>
TLA_TARGET_CLONES void ForwardBlock(const Layout& lay, const BlockPlan& plan, int64_t b,
                                    const std::vector<Basis>& basis, const T* x,
                                    const typename AccOf<T>::type* w,
                                    const typename AccOf<T>::type* beta, T* y) {
  using Acc = typename AccOf<T>::type;
  const int m = static_cast<int>(basis.size());
  ForEachElementInBlock(lay, plan, b, [&](int64_t i, int64_t c) {
    const Acc xi = ToAcc(x[i]);
    Acc sum = Acc(0);
    for (int j = 0; j < m; ++j) sum += w[c * m + j] * Evaluate(basis[j], xi, beta[c]).f;
    y[i] = FromAcc<T>(sum);
  });
}

template <typename T>
TLA_TARGET_CLONES void BackwardBlock(const Layout& lay, const BlockPlan& plan, int64_t b,
                                     const std::vector<Basis>& basis, const T* dy, const T* x,
                                     const typename AccOf<T>::type* w,
                                     const typename AccOf<T>::type* beta, T* dx,
                                     typename AccOf<T>::type* part) {
  using Acc = typename AccOf<T>::type;
  const int m = static_cast<int>(basis.size());
  const int64_t C = lay.channels;
  // part is [m + 1][C]: the m weights, then beta.
  ForEachElementInBlock(lay, plan, b, [&](int64_t i, int64_t c) {
    const Acc xi = ToAcc(x[i]), g = ToAcc(dy[i]);
    Acc slope = Acc(0);
    for (int j = 0; j < m; ++j) {
      const BasisValue<Acc> v = Evaluate(basis[j], xi, beta[c]);
      slope += w[c * m + j] * v.df;
      part[j * C + c] += g * v.f;
      if (basis[j] == Basis::kSwish) part[m * C + c] += g * w[c * m + j] * v.dbeta;
    }
    dx[i] = FromAcc<T>(g * slope);
  });
}

}  // namespace

std::string ParseBasisList(const std::vector<std::string>& names, std::vector<Basis>* basis) {
  static const std::pair<const char*, Basis> kNames[] = {
      {"tanh", Basis::kTanh},         {"elu", Basis::kElu},       {"relu", Basis::kRelu},
      {"identity", Basis::kIdentity}, {"swish", Basis::kSwish},   {"sigmoid", Basis::kSigmoid},
      {"selu", Basis::kSelu},         {"leaky_relu", Basis::kLeakyRelu},
      {"softplus", Basis::kSoftplus}, {"gelu", Basis::kGelu}};
  if (names.empty()) return "basis must name at least one function";
  basis->clear();
  for (const auto& name : names) {
    const auto* found = std::find_if(std::begin(kNames), std::end(kNames),
                                     [&](const auto& entry) { return name == entry.first; });
    if (found == std::end(kNames)) return "basis: unknown function '" + name + "'";
    if (std::find(basis->begin(), basis->end(), found->second) != basis->end())
      return "basis: '" + name + "' appears twice";
    basis->push_back(found->second);
  }
  return "";
}

template <typename T>
void AbuForward(const Layout& layout, const std::vector<Basis>& basis, const T* x,
                const typename AccOf<T>::type* weights, const typename AccOf<T>::type* beta,
                T* y, const ParallelForBlocks& parallel_for) {
  const BlockPlan plan = MakeBlockPlan(layout);
  parallel_for(plan.num_blocks, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      ForwardBlock<T>(layout, plan, b, basis, x, weights, beta, y);
  });
}

template <typename T>
void AbuBackward(const Layout& layout, const std::vector<Basis>& basis, const T* dy, const T* x,
                 const typename AccOf<T>::type* weights, const typename AccOf<T>::type* beta,
                 T* dx, typename AccOf<T>::type* d_weights, typename AccOf<T>::type* d_beta,
                 const ParallelForBlocks& parallel_for) {
  using Acc = typename AccOf<T>::type;
  const int m = static_cast<int>(basis.size());
  const int64_t C = layout.channels;
  const BlockPlan plan = MakeBlockPlan(layout);
  std::vector<Acc> sums(static_cast<size_t>(C * (m + 1)), Acc(0));
  if (plan.num_blocks > 0) {
    ParamGradPartials<Acc> partials(plan.num_blocks, m + 1, C);
    parallel_for(plan.num_blocks, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b)
        BackwardBlock<T>(layout, plan, b, basis, dy, x, weights, beta, dx, partials.block(b));
    });
    partials.FoldInto(plan.num_blocks, sums.data());  // [C][m + 1]
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int j = 0; j < m; ++j) d_weights[c * m + j] = sums[c * (m + 1) + j];
    d_beta[c] = sums[c * (m + 1) + m];
  }
}

#define TLA_INSTANTIATE_ABU(T)                                                                 \
  template void AbuForward<T>(const Layout&, const std::vector<Basis>&, const T*,             \
                              const AccOf<T>::type*, const AccOf<T>::type*, T*,               \
                              const ParallelForBlocks&);                                      \
  template void AbuBackward<T>(const Layout&, const std::vector<Basis>&, const T*, const T*,  \
                               const AccOf<T>::type*, const AccOf<T>::type*, T*,              \
                               AccOf<T>::type*, AccOf<T>::type*, const ParallelForBlocks&);
TLA_INSTANTIATE_ABU(float)
TLA_INSTANTIATE_ABU(double)
TLA_INSTANTIATE_ABU(Half16)
TLA_INSTANTIATE_ABU(BFloat16)
#undef TLA_INSTANTIATE_ABU

}  // namespace tf_learnact
