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
#include <vector>

#include "cc/kernels/common/counter_rng.h"
#include "cc/kernels/common/macros.h"

namespace tf_learnact {
namespace {

constexpr int kLanes = 8;
constexpr int kMaxCoefs = 2 * kPauMaxDegree + 2;

template <typename Acc>
inline Acc SignOf(Acc v) {
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
// With kGrad, out receives dx and g[j * gjs + l] accumulates d loss / d coef_j
// (times the noise factor fac[j * kLanes + l] when kNoise); otherwise out receives y.
template <typename Acc, PauVersion V, bool kGrad, bool kLaneCoef, bool kNoise>
TLA_ALWAYS_INLINE void EvalLanes(const Acc* x, const Acc* dy, Acc* out, const Acc* cf, int64_t cjs,
                      const Acc* fac, int m, int n, int koff, Acc* g, int64_t gjs) {
  auto coef = [&](int j, int l) { return kLaneCoef ? cf[j * cjs + l] : cf[j * cjs]; };
  constexpr bool kAbsDenominator = V == PauVersion::kB || V == PauVersion::kC;

  Acc p[kLanes], dp[kLanes], d[kLanes], dd[kLanes], z[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    p[l] = coef(m, l);
    dp[l] = Acc(0);
  }
  for (int j = m - 1; j >= 0; --j) {
    for (int l = 0; l < kLanes; ++l) {
      if (kGrad) dp[l] = dp[l] * x[l] + p[l];
      p[l] = p[l] * x[l] + coef(j, l);
    }
  }
  // Denominator polynomial E(z) = sum_{k=koff}^{n} e_k z^k, z = |x| for version A.
  const int top = m + 1 + n - koff;  // index of e_n
  for (int l = 0; l < kLanes; ++l) {
    z[l] = V == PauVersion::kA ? std::abs(x[l]) : x[l];
    d[l] = n >= koff ? coef(top, l) : Acc(0);
    dd[l] = Acc(0);
  }
  for (int k = n - 1; k >= koff; --k) {
    for (int l = 0; l < kLanes; ++l) {
      if (kGrad) dd[l] = dd[l] * z[l] + d[l];
      d[l] = d[l] * z[l] + coef(m + 1 + k - koff, l);
    }
  }
  if (koff == 1 && n >= 1) {  // the zero constant term of versions A, B, N
    for (int l = 0; l < kLanes; ++l) {
      if (kGrad) dd[l] = dd[l] * z[l] + d[l];
      d[l] = d[l] * z[l];
    }
  }

  Acc q[kLanes], y[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const Acc base = V == PauVersion::kC ? Acc(0.1) : Acc(1);
    q[l] = base + (kAbsDenominator ? std::abs(d[l]) : d[l]);
    y[l] = p[l] / q[l];
  }
  if (!kGrad) {
    for (int l = 0; l < kLanes; ++l) out[l] = y[l];
    return;
  }

  Acc ta[kLanes], tb[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const Acc s = kAbsDenominator ? SignOf(d[l]) : Acc(1);
    const Acc dq = V == PauVersion::kA ? SignOf(x[l]) * dd[l] : s * dd[l];
    const Acc inv_q = Acc(1) / q[l];
    out[l] = dy[l] * (dp[l] - dq * y[l]) * inv_q;
    ta[l] = dy[l] * inv_q;       // d loss / d a_j = ta * x^j
    tb[l] = -ta[l] * y[l] * s;   // d loss / d e_k = tb * z^k
  }
  Acc pw[kLanes];
  for (int l = 0; l < kLanes; ++l) pw[l] = Acc(1);
  for (int j = 0; j <= m; ++j) {
    for (int l = 0; l < kLanes; ++l) {
      const Acc t = ta[l] * pw[l];
      g[j * gjs + l] += kNoise ? t * fac[j * kLanes + l] : t;
      pw[l] *= x[l];
    }
  }
  for (int l = 0; l < kLanes; ++l) pw[l] = koff == 1 ? z[l] : Acc(1);
  for (int k = koff; k <= n; ++k) {
    const int j = m + 1 + k - koff;
    for (int l = 0; l < kLanes; ++l) {
      const Acc t = tb[l] * pw[l];
      g[j * gjs + l] += kNoise ? t * fac[j * kLanes + l] : t;
      pw[l] *= z[l];
    }
  }
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

  TLA_ALWAYS_INLINE void Load(int64_t i, int len, Acc* xs, Acc* dys) const {
    for (int l = 0; l < kLanes; ++l) {
      xs[l] = l < len ? ToAcc(x[i + l]) : Acc(0);
      if (kGrad) dys[l] = l < len ? ToAcc(dy[i + l]) : Acc(0);
    }
  }
  TLA_ALWAYS_INLINE void Store(int64_t i, int len, const Acc* vals) const {
    for (int l = 0; l < len; ++l) out[i + l] = FromAcc<T>(vals[l]);
  }

  // Lanes across elements of one channel's run [i, end).
  TLA_ALWAYS_INLINE void Run(int64_t i, int64_t end, const Acc* row, Acc* part_c, int64_t part_cjs) const {
    const int nc = pc.num_coefs;
    Acc g[kMaxCoefs * kLanes] = {};
    Acc xs[kLanes], dys[kLanes], res[kLanes];
    Acc noisy[kMaxCoefs * kLanes], fac[kMaxCoefs * kLanes];
    for (; i < end; i += kLanes) {
      const int len = static_cast<int>(end - i < kLanes ? end - i : kLanes);
      if (len == kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          xs[l] = ToAcc(x[i + l]);
          if (kGrad) dys[l] = ToAcc(dy[i + l]);
        }
      } else {
        Load(i, len, xs, dys);
      }
      if (kNoise) {
        DrawNoisyCoefs(key, i, nc, cfg.noise, [&](int j, int) { return row[j]; }, noisy, fac);
        EvalLanes<Acc, V, kGrad, true, true>(xs, dys, res, noisy, kLanes, fac, pc.m, pc.n,
                                             pc.koff, g, kLanes);
      } else {
        EvalLanes<Acc, V, kGrad, false, false>(xs, dys, res, row, 1, nullptr, pc.m, pc.n,
                                               pc.koff, g, kLanes);
      }
      Store(i, len, res);
    }
    if (kGrad) {
      for (int j = 0; j < nc; ++j) {
        Acc s = Acc(0);
        for (int l = 0; l < kLanes; ++l) s += g[j * kLanes + l];
        part_c[j * part_cjs] += s;
      }
    }
  }

  // Lanes across the channels of one row starting at element `base` (channels-last).
  TLA_ALWAYS_INLINE void Row(int64_t base, Acc* part) const {
    const int64_t C = pc.channels;
    const int nc = pc.num_coefs;
    Acc xs[kLanes], dys[kLanes], res[kLanes];
    Acc noisy[kMaxCoefs * kLanes], fac[kMaxCoefs * kLanes];
    int64_t c0 = 0;
    for (; c0 + kLanes <= C; c0 += kLanes) {
      const int64_t i = base + c0;
      for (int l = 0; l < kLanes; ++l) {
        xs[l] = ToAcc(x[i + l]);
        if (kGrad) dys[l] = ToAcc(dy[i + l]);
      }
      const Acc* cf = pc.by_coef.data() + c0;
      if (kNoise) {
        DrawNoisyCoefs(key, i, nc, cfg.noise, [&](int j, int l) { return cf[j * C + l]; },
                       noisy, fac);
        EvalLanes<Acc, V, kGrad, true, true>(xs, dys, res, noisy, kLanes, fac, pc.m, pc.n,
                                             pc.koff, part + c0, C);
      } else {
        EvalLanes<Acc, V, kGrad, true, false>(xs, dys, res, cf, C, nullptr, pc.m, pc.n,
                                              pc.koff, part + c0, C);
      }
      Store(i, kLanes, res);
    }
    if (c0 < C) {  // channel tail: padded local lanes
      const int len = static_cast<int>(C - c0);
      const int64_t i = base + c0;
      Load(i, len, xs, dys);
      Acc cf[kMaxCoefs * kLanes];
      for (int j = 0; j < nc; ++j)
        for (int l = 0; l < kLanes; ++l)
          cf[j * kLanes + l] = l < len ? pc.by_coef[j * C + c0 + l] : Acc(0);
      Acc g[kMaxCoefs * kLanes] = {};
      if (kNoise) {
        DrawNoisyCoefs(key, i, nc, cfg.noise, [&](int j, int l) { return cf[j * kLanes + l]; },
                       noisy, fac);
        EvalLanes<Acc, V, kGrad, true, true>(xs, dys, res, noisy, kLanes, fac, pc.m, pc.n,
                                             pc.koff, g, kLanes);
      } else {
        EvalLanes<Acc, V, kGrad, true, false>(xs, dys, res, cf, kLanes, nullptr, pc.m, pc.n,
                                              pc.koff, g, kLanes);
      }
      Store(i, len, res);
      if (kGrad)
        for (int j = 0; j < nc; ++j)
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
