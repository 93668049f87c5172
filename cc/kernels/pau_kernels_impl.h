// PAU forward/backward on the CPU. Included once per dtype by pau_kernels_<dtype>.cc,
// so the (large) template instantiations compile in parallel.
//
// Every element's work is done on lane arrays of kLanes values, innermost loop over
// lanes, so gcc -O3 vectorises the Horner steps and the parameter-gradient sums
// without -ffast-math, and the order of every sum is fixed by the code (deterministic).
// Lanes run across elements (per-layer coefficients, or per-channel with inner > 1)
// or across channels (channels-last per-channel coefficients), see BlockPlan.
#ifndef TF_LEARNACT_KERNELS_PAU_KERNELS_IMPL_H_
#define TF_LEARNACT_KERNELS_PAU_KERNELS_IMPL_H_

#include "cc/kernels/pau_kernels.h"

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cc/kernels/common/counter_rng.h"
#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/macros.h"

namespace tf_learnact {
namespace {

constexpr int kMaxCoefs = 2 * kPauMaxDegree + 2;

template <typename Acc>
TLA_ALWAYS_INLINE Acc SignOf(Acc v) {
  return static_cast<Acc>((v > Acc(0)) - (v < Acc(0)));
}

// Coefficients of one call, laid out for both walking modes. For version A the
// denominator is stored as |b_k| (the form only ever uses magnitudes); the sign is
// applied to its gradient once, after the reduction.
template <typename Acc>
struct PreparedCoefs {
  int m = 0, n = 0, num_coefs = 0;
  int koff = 1;  // lowest power of the denominator polynomial: 0 for version C
  int64_t channels = 1;
  std::vector<Acc> by_channel;  // [C][num_coefs]
  std::vector<Acc> by_coef;     // [num_coefs][C] (row mode)

  PreparedCoefs(const PauConfig& cfg, int64_t c, const Acc* num, const Acc* den)
      : m(cfg.m),
        n(cfg.n),
        num_coefs(cfg.num_coefs()),
        koff(cfg.version == PauVersion::kC ? 0 : 1),
        channels(c),
        by_channel(static_cast<size_t>(c * cfg.num_coefs())),
        by_coef(by_channel.size()) {
    const int nd = cfg.num_denominator();
    const bool magnitudes = cfg.version == PauVersion::kA;
    for (int64_t ch = 0; ch < c; ++ch) {
      Acc* row = by_channel.data() + ch * num_coefs;
      for (int j = 0; j <= m; ++j) row[j] = num[ch * (m + 1) + j];
      for (int k = 0; k < nd; ++k) {
        const Acc b = den[ch * nd + k];
        row[m + 1 + k] = magnitudes ? std::abs(b) : b;
      }
      for (int j = 0; j < num_coefs; ++j) by_coef[j * c + ch] = row[j];
    }
  }
};

// The lane kernel. Coefficient j of lane l is cf[j * cjs + (kLaneCoef ? l : 0)].
// Returns y, or with kGrad returns dx while g[j * gjs + l] accumulates d loss / d coef_j
// (times the noise factor fac[j * kLanes + l] when kNoise).
template <typename Acc, PauVersion Ver, bool kGrad, bool kLaneCoef, bool kNoise,
          typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE V EvalLanes(V x, V dy, const Acc* cf, int64_t cjs, const Acc* fac, int m, int n,
                              int koff, Acc* g, int64_t gjs) {
  const V zero = {};
  auto coef = [&](int j) -> V {
    if (kLaneCoef) return LoadVec<V>(cf + j * cjs);
    return zero + cf[j * cjs];
  };
  auto accumulate = [&](int j, V t) {
    if (kNoise) t *= LoadVec<V>(fac + j * kLanes);
    StoreVec(g + j * gjs, LoadVec<V>(g + j * gjs) + t);
  };
  constexpr bool kAbsDenominator = Ver == PauVersion::kB || Ver == PauVersion::kC;

  V p = coef(m), dp = zero;
  for (int j = m - 1; j >= 0; --j) {
    if (kGrad) dp = dp * x + p;
    p = p * x + coef(j);
  }
  // Denominator polynomial E(z) = sum_{k=koff}^{n} e_k z^k, z = |x| for version A.
  const V z = Ver == PauVersion::kA ? AbsVec(x) : x;
  V d = n >= koff ? coef(m + 1 + n - koff) : zero, dd = zero;
  for (int k = n - 1; k >= koff; --k) {
    if (kGrad) dd = dd * z + d;
    d = d * z + coef(m + 1 + k - koff);
  }
  if (koff == 1 && n >= 1) {  // the zero constant term of versions A, B, N
    if (kGrad) dd = dd * z + d;
    d = d * z;
  }
  const V q = (Ver == PauVersion::kC ? Acc(0.1) : Acc(1)) + (kAbsDenominator ? AbsVec(d) : d);
  const V y = p / q;
  if (!kGrad) return y;

  const V s = kAbsDenominator ? SignVec(d) : zero + 1;
  const V dq = Ver == PauVersion::kA ? SignVec(x) * dd : s * dd;
  const V inv_q = 1 / q;
  const V dx = dy * (dp - dq * y) * inv_q;
  const V ta = dy * inv_q;   // d loss / d a_j = ta * x^j
  const V tb = -ta * y * s;  // d loss / d e_k = tb * z^k
  V pw = zero + 1;
  for (int j = 0; j <= m; ++j) {
    accumulate(j, ta * pw);
    pw *= x;
  }
  pw = koff == 1 ? z : zero + 1;
  for (int k = koff; k <= n; ++k) {
    accumulate(m + 1 + k - koff, tb * pw);
    pw *= z;
  }
  return dx;
}

// Noisy per-lane coefficients c * (1 + alpha * u) for the elements first..first+7.
// base(j, l) gives the clean coefficient.
template <typename Acc, typename Base>
TLA_ALWAYS_INLINE void DrawNoisyCoefs(uint32_t key, int64_t first, int num_coefs, float alpha,
                           Base base, Acc* noisy, Acc* fac) {
  uint32_t state[kLanes];
  for (int l = 0; l < kLanes; ++l) state[l] = NoiseElement(key, first + l);
  for (int j = 0; j < num_coefs; ++j) {
    for (int l = 0; l < kLanes; ++l) {
      const Acc f = Acc(1) + static_cast<Acc>(alpha * NoiseUniform(state[l], j));
      fac[j * kLanes + l] = f;
      noisy[j * kLanes + l] = base(j, l) * f;
    }
  }
}

// Walks one block of elements. Loads/stores convert T <-> Acc; tails are padded with
// x = dy = 0, which contribute exactly zero to every gradient.
template <typename T, PauVersion V, bool kGrad, bool kNoise>
struct BlockWalker {
  using Acc = typename AccOf<T>::type;
  const Layout& layout;
  const PauConfig& cfg;
  const PreparedCoefs<Acc>& pc;
  const T* x;
  const T* dy;  // kGrad only
  T* out;       // y, or dx with kGrad
  uint32_t key;

  using Vec = typename LaneVec<Acc>::type;

  // kFull: all kLanes lanes are real elements (compile-time); otherwise lanes >= len
  // are padded with 0, which contributes exactly zero to every gradient (dy = 0).
  // Full float/double chunks move whole vectors; half types convert lane by lane.
  template <bool kFull>
  TLA_ALWAYS_INLINE Vec LoadLanes(const T* src, int64_t i, int len) const {
    if constexpr (kFull && std::is_same_v<T, Acc>) return LoadVec<Vec>(src + i);
    alignas(sizeof(Vec)) Acc lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) lanes[l] = kFull || l < len ? ToAcc(src[i + l]) : Acc(0);
    return LoadVec<Vec>(lanes);
  }
  template <bool kFull>
  TLA_ALWAYS_INLINE void StoreLanes(int64_t i, int len, Vec v) const {
    if constexpr (kFull && std::is_same_v<T, Acc>) {
      StoreVec(out + i, v);
    } else {
      alignas(sizeof(Vec)) Acc lanes[kLanes];
      StoreVec(lanes, v);
      for (int l = 0; l < (kFull ? kLanes : len); ++l) out[i + l] = FromAcc<T>(lanes[l]);
    }
  }
  template <bool kFull>
  TLA_ALWAYS_INLINE Vec LoadDy(int64_t i, int len) const {
    return kGrad ? LoadLanes<kFull>(dy, i, len) : Vec{};
  }

  // Elements [i, i + len) (len <= kLanes), coefficient j of lane l at
  // cf[j * cjs + (kLaneCoef ? l : 0)], gradients accumulated at g[j * gjs + l].
  template <bool kFull, bool kLaneCoef>
  TLA_ALWAYS_INLINE void Chunk(int64_t i, int len, const Acc* cf, int64_t cjs, Acc* g,
                               int64_t gjs) const {
    const Vec xv = LoadLanes<kFull>(x, i, len), dyv = LoadDy<kFull>(i, len);
    Vec res;
    if constexpr (kNoise) {
      Acc noisy[kMaxCoefs * kLanes], fac[kMaxCoefs * kLanes];
      DrawNoisyCoefs(
          key, i, pc.num_coefs, cfg.noise,
          [&](int j, int l) { return kLaneCoef ? cf[j * cjs + l] : cf[j * cjs]; }, noisy, fac);
      res = EvalLanes<Acc, V, kGrad, true, true>(xv, dyv, noisy, kLanes, fac, pc.m, pc.n, pc.koff,
                                                 g, gjs);
    } else {
      res = EvalLanes<Acc, V, kGrad, kLaneCoef, false>(xv, dyv, cf, cjs, nullptr, pc.m, pc.n,
                                                       pc.koff, g, gjs);
    }
    StoreLanes<kFull>(i, len, res);
  }

  // Lanes across elements of one channel's run [i, end) with coefficients `row`.
  TLA_ALWAYS_INLINE void Run(int64_t i, int64_t end, const Acc* row, Acc* part_c,
                             int64_t part_cjs) const {
    Acc g[kMaxCoefs * kLanes] = {};
    for (; i + kLanes <= end; i += kLanes) Chunk<true, false>(i, kLanes, row, 1, g, kLanes);
    if (i < end) Chunk<false, false>(i, static_cast<int>(end - i), row, 1, g, kLanes);
    if (kGrad) {
      for (int j = 0; j < pc.num_coefs; ++j) {
        Acc s = Acc(0);
        for (int l = 0; l < kLanes; ++l) s += g[j * kLanes + l];
        part_c[j * part_cjs] += s;
      }
    }
  }

  // Lanes across the channels of one row starting at element `base` (channels-last):
  // coefficients and gradient partials are read and accumulated as [coef][channel].
  TLA_ALWAYS_INLINE void Row(int64_t base, Acc* part) const {
    const int64_t C = pc.channels;
    const Acc* by_coef = pc.by_coef.data();
    int64_t c0 = 0;
    for (; c0 + kLanes <= C; c0 += kLanes)
      Chunk<true, true>(base + c0, kLanes, by_coef + c0, C, part + c0, C);
    if (c0 < C) {  // channel tail: padded local coefficients and partials
      const int len = static_cast<int>(C - c0);
      Acc cf[kMaxCoefs * kLanes], g[kMaxCoefs * kLanes] = {};
      for (int j = 0; j < pc.num_coefs; ++j)
        for (int l = 0; l < kLanes; ++l)
          cf[j * kLanes + l] = l < len ? by_coef[j * C + c0 + l] : Acc(0);
      Chunk<false, true>(base + c0, len, cf, kLanes, g, kLanes);
      if (kGrad)
        for (int j = 0; j < pc.num_coefs; ++j)
          for (int l = 0; l < len; ++l) part[j * C + c0 + l] += g[j * kLanes + l];
    }
  }
};

// One block: the clone attribute compiles it (and everything inlined into it) for
// AVX2+FMA and for baseline x86-64, picked at load time.
template <typename T, PauVersion V, bool kGrad, bool kNoise>
TLA_TARGET_CLONES void WalkBlock(const BlockWalker<T, V, kGrad, kNoise>& w,
                                 const BlockPlan& plan, int64_t b,
                                 typename AccOf<T>::type* part) {
  const int64_t u0 = plan.begin_unit(b), u1 = plan.end_unit(b);
  if (plan.row_mode) {
    for (int64_t r = u0; r < u1; ++r) w.Row(r * plan.unit, part);
    return;
  }
  const Layout& lay = w.layout;
  const int64_t C = w.pc.channels;
  for (int64_t i = u0; i < u1;) {
    const int64_t run = i / lay.inner;
    const int64_t c = run % lay.channels;
    const int64_t end = std::min(u1, (run + 1) * lay.inner);
    const auto* row = w.pc.by_channel.data() + c * w.pc.num_coefs;
    w.Run(i, end, row, kGrad ? part + c : nullptr, C);
    i = end;
  }
}

template <typename T, PauVersion V, bool kGrad, bool kNoise>
void WalkAll(const Layout& layout, const PauConfig& cfg, const PreparedCoefs<typename AccOf<T>::type>& pc,
             const T* x, const T* dy, T* out, ParamGradPartials<typename AccOf<T>::type>* partials,
             const BlockPlan& plan, const ParallelForBlocks& parallel_for) {
  const BlockWalker<T, V, kGrad, kNoise> w{layout, cfg, pc, x, dy, out, NoiseKey(cfg.seed)};
  parallel_for(plan.num_blocks, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      WalkBlock<T, V, kGrad, kNoise>(w, plan, b, kGrad ? partials->block(b) : nullptr);
  });
}

// Turns the runtime (version, noise) into template arguments.
template <typename T, bool kGrad>
void Dispatch(const Layout& layout, const PauConfig& cfg,
              const PreparedCoefs<typename AccOf<T>::type>& pc, const T* x, const T* dy, T* out,
              ParamGradPartials<typename AccOf<T>::type>* partials, const BlockPlan& plan,
              const ParallelForBlocks& pf) {
  const bool noise = cfg.noise != 0.0f;
#define TLA_PAU_CASE(V)                                                                    \
  case V:                                                                                  \
    if (noise)                                                                             \
      WalkAll<T, V, kGrad, true>(layout, cfg, pc, x, dy, out, partials, plan, pf);         \
    else                                                                                   \
      WalkAll<T, V, kGrad, false>(layout, cfg, pc, x, dy, out, partials, plan, pf);        \
    break;
  switch (cfg.version) {
    TLA_PAU_CASE(PauVersion::kA)
    TLA_PAU_CASE(PauVersion::kB)
    TLA_PAU_CASE(PauVersion::kC)
    TLA_PAU_CASE(PauVersion::kN)
  }
#undef TLA_PAU_CASE
}

}  // namespace

template <typename T>
void PauForward(const Layout& layout, const PauConfig& cfg, const T* x,
                const typename AccOf<T>::type* numerator,
                const typename AccOf<T>::type* denominator, T* y,
                const ParallelForBlocks& parallel_for) {
  const BlockPlan plan = MakeBlockPlan(layout);
  if (plan.num_blocks == 0) return;
  const PreparedCoefs<typename AccOf<T>::type> pc(cfg, layout.channels, numerator, denominator);
  Dispatch<T, false>(layout, cfg, pc, x, nullptr, y, nullptr, plan, parallel_for);
}

template <typename T>
void PauBackward(const Layout& layout, const PauConfig& cfg, const T* dy, const T* x,
                 const typename AccOf<T>::type* numerator,
                 const typename AccOf<T>::type* denominator, T* dx,
                 typename AccOf<T>::type* d_numerator, typename AccOf<T>::type* d_denominator,
                 const ParallelForBlocks& parallel_for) {
  using Acc = typename AccOf<T>::type;
  const int64_t C = layout.channels;
  const int nc = cfg.num_coefs(), nd = cfg.num_denominator();
  const BlockPlan plan = MakeBlockPlan(layout);
  std::vector<Acc> grads(static_cast<size_t>(C * nc), Acc(0));
  if (plan.num_blocks > 0) {
    const PreparedCoefs<Acc> pc(cfg, C, numerator, denominator);
    ParamGradPartials<Acc> partials(plan.num_blocks, nc, C);
    Dispatch<T, true>(layout, cfg, pc, x, dy, dx, &partials, plan, parallel_for);
    partials.FoldInto(plan.num_blocks, grads.data());
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int j = 0; j <= cfg.m; ++j) d_numerator[c * (cfg.m + 1) + j] = grads[c * nc + j];
    for (int k = 0; k < nd; ++k) {
      Acc g = grads[c * nc + cfg.m + 1 + k];
      // Version A used |b_k|: chain rule through the magnitude, sign(0) = 0.
      if (cfg.version == PauVersion::kA) g *= SignOf(denominator[c * nd + k]);
      d_denominator[c * nd + k] = g;
    }
  }
}

#define TLA_INSTANTIATE_PAU(T)                                                             \
  template void PauForward<T>(const Layout&, const PauConfig&, const T*,                   \
                              const AccOf<T>::type*, const AccOf<T>::type*, T*,            \
                              const ParallelForBlocks&);                                   \
  template void PauBackward<T>(const Layout&, const PauConfig&, const T*, const T*,        \
                               const AccOf<T>::type*, const AccOf<T>::type*, T*,           \
                               AccOf<T>::type*, AccOf<T>::type*, const ParallelForBlocks&);

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_PAU_KERNELS_IMPL_H_
