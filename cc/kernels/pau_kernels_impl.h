// PAU forward/backward on the CPU. Included once per dtype by pau_kernels_<dtype>.cc,
// so the (large) template instantiations compile in parallel.
//
// Every element's work is done on lane vectors of kLanes values (the shared lane walk,
// lane_walker.h), so the Horner steps and the parameter-gradient sums are vectorised
// without -ffast-math, and the order of every sum is fixed by the code (deterministic).
#ifndef TF_LEARNACT_KERNELS_PAU_KERNELS_IMPL_H_
#define TF_LEARNACT_KERNELS_PAU_KERNELS_IMPL_H_

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cc/kernels/common/counter_rng.h"
#include "cc/kernels/common/lane_walker.h"
#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/macros.h"
#include "cc/kernels/pau_kernels.h"

namespace tf_learnact {
namespace {

constexpr int kPauMaxCoefs = 2 * kPauMaxDegree + 2;

template <typename Acc>
TLA_ALWAYS_INLINE Acc SignOf(Acc v) {
  return static_cast<Acc>((v > Acc(0)) - (v < Acc(0)));
}

// Coefficients of one call: [a_0..a_m, e_koff..e_n] per channel. For version A the
// denominator is stored as |b_k| (the form only ever uses magnitudes); the sign is
// applied to its gradient once, after the reduction.
template <typename Acc>
CoefTable<Acc> PrepareCoefs(const PauConfig& cfg, int64_t channels, const Acc* num,
                            const Acc* den) {
  const int m = cfg.m, nd = cfg.num_denominator();
  const bool magnitudes = cfg.version == PauVersion::kA;
  return CoefTable<Acc>(channels, cfg.num_coefs(), [&](int64_t ch, Acc* row) {
    for (int j = 0; j <= m; ++j) row[j] = num[ch * (m + 1) + j];
    for (int k = 0; k < nd; ++k) {
      const Acc b = den[ch * nd + k];
      row[m + 1 + k] = magnitudes ? std::abs(b) : b;
    }
  });
}

// The largest |x| at which the lane kernel (EvalLanes, AddCoefGrads) cannot overflow Acc
// for this call's coefficients, noise included: there every power x^j (j <= d =
// max(m, n)) stays below max / (4 (d + 1)^2 c) and so every Horner sum and derivative
// below max / 4, with c the largest coefficient magnitude (at least 1). Inputs beyond it
// go to the wide path (PauEvaluator::EvalWideElement). Default (5, 4) coefficients: about
// 1.4e7 in float32 and 1.2e61 in float64; degree 16, coefficients up to 1: about 160
// in float32.
template <typename Acc>
Acc InRangeBound(const CoefTable<Acc>& coefs, const PauConfig& cfg) {
  Acc largest = 1;
  for (const Acc c : coefs.by_channel) largest = std::max(largest, std::abs(c));  // NaN: skipped
  // Infinite coefficients give non-finite results at every x: no wide path.
  if (!std::isfinite(largest)) return std::numeric_limits<Acc>::infinity();
  const long double d = std::max({cfg.m, cfg.n, 1});
  const long double room = static_cast<long double>(std::numeric_limits<Acc>::max()) /
                           (4 * (d + 1) * (d + 1) * largest * (1.0L + cfg.noise));
  return static_cast<Acc>(std::pow(room, 1 / d));
}

// The lane kernel. Coefficient j of lane l is cf[j * cjs + l]. Returns y, or with kGrad
// returns dx and sets the factors of the coefficient gradients of each lane:
// d loss / d a_j = ta * x^j and d loss / d e_k = tb * z^k (AddCoefGrads sums them).
template <typename Acc, PauVersion Ver, bool kGrad, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE V EvalLanes(V x, V dy, const Acc* cf, int64_t cjs, int m, int n, int koff, V* ta,
                              V* tb) {
  const V zero = {};
  auto coef = [&](int j) { return LoadVec<V>(cf + j * cjs); };
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
  if (!kGrad) return p / q;

  // One division: y only feeds the gradients here, where p * (1/q) is as good as p / q.
  // With ta = dy / q and the signed y: d loss / d x = ta (p' - E' y sign(E)) (version A:
  // sign(x) for sign(E)), d / d e_k = -ta y sign(E) z^k; each product formed once.
  const V inv_q = 1 / q;
  const V y = p * inv_q;
  const V ys = kAbsDenominator ? y * SignVec(d) : y;
  *ta = dy * inv_q;
  *tb = -*ta * ys;
  return *ta * (dp - dd * (Ver == PauVersion::kA ? SignVec(x) * y : ys));
}

// Adds one chunk's coefficient gradients ta * x^j and tb * z^k (EvalLanes) to
// g[j * gjs + l], each times the noise factor fac[j * kLanes + l] when kNoise.
template <typename Acc, PauVersion Ver, bool kNoise, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE void AddCoefGrads(V x, V ta, V tb, const Acc* fac, int m, int n, int koff, Acc* g,
                                    int64_t gjs) {
  auto accumulate = [&](int j, V t) {
    if (kNoise) t *= LoadVec<V>(fac + j * kLanes);
    StoreVec(g + j * gjs, LoadVec<V>(g + j * gjs) + t);
  };
  // Powers x^0..x^max(m, n), shared by both sums: z^k is x^k, or |x^k| for version A
  // (a mask, where a multiply chain would compete with the FMAs).
  V pw[kPauMaxDegree + 1];
  pw[0] = V{} + 1;
  for (int j = 1; j <= (m > n ? m : n); ++j) pw[j] = pw[j - 1] * x;
  for (int j = 0; j <= m; ++j) accumulate(j, ta * pw[j]);
  for (int k = koff; k <= n; ++k)
    accumulate(m + 1 + k - koff, tb * (Ver == PauVersion::kA ? AbsVec(pw[k]) : pw[k]));
}

// The coefficient gradients of kU chunks whose lanes are the same channels (stacked
// rows), added to the same sums g[j * gjs + l]: the chunks' terms are added in chunk
// order in registers, then each sum is loaded and stored once, not once per chunk.
template <int kU, typename Acc, PauVersion Ver, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE void AddStackedCoefGrads(const V* x, const V* ta, const V* tb, int m, int n,
                                           int koff, Acc* g, int64_t gjs) {
  auto add = [&](int j, V t) { StoreVec(g + j * gjs, LoadVec<V>(g + j * gjs) + t); };
  V pw[kU];
  for (int u = 0; u < kU; ++u) pw[u] = V{} + 1;
  for (int j = 0; j <= (m > n ? m : n); ++j) {
    if (j > 0)
      for (int u = 0; u < kU; ++u) pw[u] *= x[u];
    if (j <= m) {
      V t = ta[0] * pw[0];
      for (int u = 1; u < kU; ++u) t += ta[u] * pw[u];
      add(j, t);
    }
    if (j >= koff && j <= n) {  // z^k: x^k, or |x^k| for version A
      auto z = [&](int u) { return Ver == PauVersion::kA ? AbsVec(pw[u]) : pw[u]; };
      V t = tb[0] * z(0);
      for (int u = 1; u < kU; ++u) t += tb[u] * z(u);
      add(m + 1 + j - koff, t);
    }
  }
}

// Noisy per-lane coefficients c * (1 + alpha * u) of kU chunks of consecutive elements
// from `first` (counter_rng.h's NoiseUniform, on 8 lanes at once), chunk u's coefficient
// j at noisy[(u * kPauMaxCoefs + j) * kLanes + l] and its factor 1 + alpha * u at the same
// place in fac. base(u, j) points at chunk u's clean coefficient j (kLanes of them).
// Pair by pair across the chunks, so that the chunks' hash chains lie side by side.
template <int kU, typename Acc, typename Base>
TLA_ALWAYS_INLINE void DrawNoisyCoefs(uint32_t key, int64_t first, int num_coefs, float alpha,
                                      Base base, Acc* noisy, Acc* fac) {
  typedef uint32_t U __attribute__((vector_size(kLanes * 4)));
  typedef int32_t I __attribute__((vector_size(kLanes * 4)));
  using F = LaneVec<float>::type;
  using V = typename LaneVec<Acc>::type;
  constexpr uint32_t kN = kU * kLanes;
  const U lane = {0, 1, 2, 3, 4, 5, 6, 7};
  U state[kU];
  const uint32_t first_low = static_cast<uint32_t>(first);
  if (first_low <= ~uint32_t{0} - (kN - 1)) {  // the chunks share their high half
    const uint32_t high = NoiseElementHigh(key, first);
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u)
      state[u] = NoiseElementLow(key, lane + (first_low + u * kLanes)) ^ high;
  } else {
    for (int u = 0; u < kU; ++u)
      for (int l = 0; l < kLanes; ++l) state[u][l] = NoiseElement(key, first + u * kLanes + l);
  }
  for (int j = 0; j < num_coefs; j += 2) {
    U hash[kU];
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) hash[u] = NoisePairHash(state[u], static_cast<uint32_t>(j >> 1));
    for (int h = 0; h < 2 && j + h < num_coefs; ++h) {
#pragma GCC unroll 8
      for (int u = 0; u < kU; ++u) {
        const U bits = NoiseBitsOfHash(hash[u], static_cast<uint32_t>(j + h));
        const F uniform = __builtin_convertvector(__builtin_bit_cast(I, bits), F) * kNoiseBitsScale;
        const V f = Acc(1) + __builtin_convertvector(alpha * uniform, V);
        const int at = (u * kPauMaxCoefs + j + h) * kLanes;
        StoreVec(fac + at, f);
        StoreVec(noisy + at, LoadVec<V>(base(u, j + h)) * f);
      }
    }
  }
}

// The PAU evaluator of the lane walk (see lane_walker.h); with kNoise each lane's
// coefficients are redrawn from the element's counter-based noise. kM, kN >= 0 fix the
// degrees at compile time (the default (5, 4)): the Horner and gradient loops then unroll
// into straight-line code (perf showed the runtime-degree loops' branches per chunk);
// with the once-per-run coefficient broadcast of the lane walk, the 16M float32 backward
// went 75.8 -> 43.6 ms in bench_kernels. Every other order uses the runtime loops (-1).
template <typename Acc, PauVersion Ver, bool kGradT, bool kNoise, int kM = -1, int kN = -1>
struct PauEvaluator {
  using V = typename LaneVec<Acc>::type;
  static constexpr bool kGrad = kGradT;
  static constexpr int kMaxCoefs = kPauMaxCoefs;
  // Along a run the noise-free backward takes kGradGroup chunks at a time in two passes:
  // dx and the gradient factors of every chunk, then the coefficient sums (same sums,
  // same order). One pass per chunk kept the ten sums live beside the Horner chains and
  // spilled six of them each chunk: 16M float32 on 2 threads 29.2 -> 25.5 ms (groups
  // of 4: 26.1, of 8: 30.4). In row mode, where the sums live in the block partials
  // anyway, groups were no faster (2) or slower (4: 28.6 -> 36 ms): one chunk there.
  static constexpr int kGradGroup = 2;
  // Noisy coefficients are drawn for four chunks at a time, along a run and along a row,
  // their hash chains side by side: with the pair hashes (counter_rng.h), 1M float32 on
  // one core, per layer, forward 4.5-4.8 -> 2.4-3.0 ms, backward 5.8-6.2 -> 3.4-4.3 ms
  // (two chunks 3.0 / 4.4 ms, eight as four); the hashes bound the noisy kernels.
  static constexpr int kNoiseChunks = 4;
  static constexpr int kChunks = kNoise ? kNoiseChunks : kGrad ? kGradGroup : 1;
  static constexpr int kRowChunks = kNoise ? kNoiseChunks : 1;
  // In row mode the forward takes four rows at a time (see LaneWalker::StackedRows):
  // 16M float32 per channel on 2 threads 3.73 -> 3.15 ms (bench_kernels, five
  // alternating runs), 1M on one core 0.46 -> 0.29 ms. The backward takes three, their
  // sums added up before each partial's store (AddStackedCoefGrads) and the next stack
  // prefetched whole (LaneWalker::StackedRows): see kStackedSums for the timings. Noisy
  // coefficients go kNoiseChunks along the row instead: one.
  static constexpr int kRowStack = kNoise ? 1 : kGrad ? 3 : 4;
  // Three chunks come only as stacked rows (along a run kChunks, along a row
  // kRowChunks): those share the block partials, where one load and store per sum pays;
  // along a run the sums are the run's registers, where adding the chunks' terms first
  // measured slower (per layer, 1M float32 on one core, 0.97-1.05 -> 1.08-1.14 ms).
  // Stacks of three against single rows, backward, 16M float32 on 2 threads
  // (bench_kernels, alternating runs): 64 channels 9.6-10.4 -> 8.3-9.1 ms, 16: 10.7-12.1
  // -> 7.5-9.5, 2048: 13.2-13.7 -> 10.5-11.3; 1M on one core 1.20-1.22 -> 0.95-0.97 ms.
  // Stacks of two gained as much at 64 channels (8.5-9.3 ms) but not at 2048 (13.1-15.0),
  // stacks of four lost (64 channels 10.1-10.9 ms).
  static constexpr bool kStackedSums = kGrad && !kNoise;
  static_assert(!kStackedSums || (kRowStack != kChunks && kRowStack != kRowChunks),
                "stacked rows are told apart by their chunk count");
  // Noise is drawn per element index, so a noisy lane must hold the element it names.
  static constexpr bool kLanesAnyOrder = !kNoise;
  // The backward's unstacked rows prefetch their inputs (LaneWalker::Row), but not with
  // noise, which the hashes bound: 16M float32 per channel through TensorFlow, 64
  // channels, forward+backward 42.5-43.3 -> 49.5-49.6 ms with it (alternating runs).
  static constexpr bool kPrefetchRows = !kNoise;
  // bfloat16 rows in chunk pairs, both passes (16M bfloat16 per channel on 2 threads,
  // best of four alternating runs: backward 11.47 -> 10.34 ms, forward 3.81 -> 3.88, the
  // forward 1M on one core 0.48 -> 0.45 ms).
  static constexpr bool kRowPairs = true;
  static constexpr bool kStackColumnPairs = false;
  // An AVX-512 clone (32 registers, mask compares): on the Intel Xeon, 16M float32 on 2
  // threads, ratio new/old in one binary, backward per layer 0.85, per channel 0.95
  // (1M on one core in the caches 0.91 / 0.98); RPAU 0.93-0.95 both passes. On Zen 4 it
  // had measured no faster (backward 1.0-1.1 ms per 1M float32 either way).
  static constexpr Isa kIsa = Isa::kAvx2Avx512;
  // The forward writes large outputs past the caches (see kStreamOutBytes): 16M float32
  // on 2 threads, per layer / per channel, 3.5-4.1 -> 2.8-3.0 / 4.3-5.1 -> 3.7-4.3 ms
  // (bench_kernels, alternating runs). The backward showed no gain (10.1-10.5 ms either way).
  static constexpr bool kStreamOut = !kGrad;
  int m, n;  // runtime degrees, used where kM, kN < 0
  float noise;
  uint32_t key;
  // The walk checks each block's largest |x| against InRangeBound (LaneWalker's range
  // check) and walks a block beyond it again element by element through EvalWideElement.
  static constexpr bool kRangeChecked = true;
  Acc in_range;  // InRangeBound

  // Whether a block whose largest |x| per lane is max_abs stays in the lane kernel's range.
  TLA_ALWAYS_INLINE bool InRange(V max_abs) const { return !AnyLane(max_abs > in_range); }

  // One element e (its channel's coefficients `row`) in long double, whose exponent (to
  // 1e4932) holds every power and product of the lane kernel for float32 inputs at any
  // degree and for float64 inputs to about 1e548 at (5, 4) or 1e154 at degree 16: the
  // same formulas (EvalLanes, AddCoefGrads on one lane). Returns y, or with kGrad dx and
  // sets the element's coefficient gradients grads[j].
  TLA_NOINLINE Acc EvalWideElement(int64_t e, Acc x, Acc dy, const Acc* row, Acc* grads) const {
    using W = long double;
    const int m = kM >= 0 ? kM : this->m, n = kN >= 0 ? kN : this->n;
    constexpr int kKoff = Ver == PauVersion::kC ? 0 : 1;
    const int nc = m + 1 + n + 1 - kKoff;
    W c[kMaxCoefs], fac[kMaxCoefs], ta = 0, tb = 0;
    if constexpr (kNoise) {  // lane 0 of a chunk from element e (DrawNoisyCoefs)
      alignas(sizeof(V)) Acc clean[kMaxCoefs * kLanes], noisy[kMaxCoefs * kLanes],
          factors[kMaxCoefs * kLanes];
      for (int j = 0; j < nc; ++j) StoreVec(clean + j * kLanes, V{} + row[j]);
      DrawNoisyCoefs<1>(
          key, e, nc, noise, [&](int, int j) { return clean + j * kLanes; }, noisy, factors);
      for (int j = 0; j < nc; ++j) c[j] = noisy[j * kLanes], fac[j] = factors[j * kLanes];
    } else {
      for (int j = 0; j < nc; ++j) c[j] = row[j], fac[j] = 1;
    }
    const W out = EvalLanes<W, Ver, kGrad, W>(x, dy, c, 1, m, n, kKoff, &ta, &tb);
    if (kGrad) {
      W sums[kMaxCoefs] = {};
      AddCoefGrads<W, Ver, false, W>(x, ta, tb, nullptr, m, n, kKoff, sums, 1);
      for (int j = 0; j < nc; ++j) grads[j] = static_cast<Acc>(sums[j] * fac[j]);
    }
    return static_cast<Acc>(out);
  }

  template <int kU>
  TLA_ALWAYS_INLINE void Eval(int64_t first, const V* x, const V* dy, V* out, const Acc* cf,
                              int64_t cjs, Acc* g, int64_t gjs, int64_t step) const {
    const int m = kM >= 0 ? kM : this->m, n = kN >= 0 ? kN : this->n;
    constexpr int kKoff = Ver == PauVersion::kC ? 0 : 1;
    V ta[kU], tb[kU];
    if constexpr (kNoise) {
      // Chunk u holds elements first + u * kLanes ...: kRowStack is 1 (no stacked rows).
      alignas(sizeof(V)) Acc noisy[kU * kMaxCoefs * kLanes], fac[kU * kMaxCoefs * kLanes];
      DrawNoisyCoefs<kU>(
          key, first, m + 1 + n + 1 - kKoff, noise,
          [&](int u, int j) { return cf + u * step + j * cjs; }, noisy, fac);
#pragma GCC unroll 8
      for (int u = 0; u < kU; ++u)
        out[u] = EvalLanes<Acc, Ver, kGrad>(x[u], dy[u], noisy + u * kMaxCoefs * kLanes, kLanes, m,
                                            n, kKoff, ta + u, tb + u);
      if (kGrad)
#pragma GCC unroll 8
        for (int u = 0; u < kU; ++u)
          AddCoefGrads<Acc, Ver, true>(x[u], ta[u], tb[u], fac + u * kMaxCoefs * kLanes, m, n,
                                       kKoff, g + u * step, gjs);
    } else {
      for (int u = 0; u < kU; ++u)
        out[u] = EvalLanes<Acc, Ver, kGrad>(x[u], dy[u], cf + u * step, cjs, m, n, kKoff, ta + u,
                                            tb + u);
      if (kStackedSums && kU == kRowStack)
        AddStackedCoefGrads<kU, Acc, Ver>(x, ta, tb, m, n, kKoff, g, gjs);
      else if (kGrad)
        for (int u = 0; u < kU; ++u)
          AddCoefGrads<Acc, Ver, false>(x[u], ta[u], tb[u], nullptr, m, n, kKoff, g + u * step,
                                        gjs);
    }
  }
};

template <typename T, PauVersion V, bool kGrad, bool kNoise, int kM, int kN>
void WalkAll(const Layout& layout, const PauConfig& cfg,
             const CoefTable<typename AccOf<T>::type>& coefs, const T* x, const T* dy, T* out,
             ParamGradPartials<typename AccOf<T>::type>* partials, const BlockPlan& plan,
             const ParallelForBlocks& parallel_for) {
  const PauEvaluator<typename AccOf<T>::type, V, kGrad, kNoise, kM, kN> eval{
      cfg.m, cfg.n, cfg.noise, NoiseKey(cfg.seed), InRangeBound(coefs, cfg)};
  WalkLanes(layout, coefs, eval, x, dy, out, partials, plan, parallel_for);
}

// Turns the runtime (version, noise) into template arguments.
template <typename T, bool kGrad>
void Dispatch(const Layout& layout, const PauConfig& cfg,
              const CoefTable<typename AccOf<T>::type>& pc, const T* x, const T* dy, T* out,
              ParamGradPartials<typename AccOf<T>::type>* partials, const BlockPlan& plan,
              const ParallelForBlocks& pf) {
  const bool noise = cfg.noise != 0.0f;
  const bool default_degrees = cfg.m == 5 && cfg.n == 4;
#define TLA_PAU_WALK(V, kNoise, kM, kN) \
  WalkAll<T, V, kGrad, kNoise, kM, kN>(layout, cfg, pc, x, dy, out, partials, plan, pf)
#define TLA_PAU_CASE(V)               \
  case V:                             \
    if (default_degrees && noise)     \
      TLA_PAU_WALK(V, true, 5, 4);    \
    else if (default_degrees)         \
      TLA_PAU_WALK(V, false, 5, 4);   \
    else if (noise)                   \
      TLA_PAU_WALK(V, true, -1, -1);  \
    else                              \
      TLA_PAU_WALK(V, false, -1, -1); \
    break;
  switch (cfg.version) {
    TLA_PAU_CASE(PauVersion::kA)
    TLA_PAU_CASE(PauVersion::kB)
    TLA_PAU_CASE(PauVersion::kC)
    TLA_PAU_CASE(PauVersion::kN)
  }
#undef TLA_PAU_CASE
#undef TLA_PAU_WALK
}

}  // namespace

template <typename T>
void PauForward(const Layout& layout, const PauConfig& cfg, const T* x,
                const typename AccOf<T>::type* numerator,
                const typename AccOf<T>::type* denominator, T* y,
                const ParallelForBlocks& parallel_for) {
  const BlockPlan plan = MakeBlockPlan(layout);
  if (plan.num_blocks == 0) return;
  const auto pc = PrepareCoefs(cfg, layout.channels, numerator, denominator);
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
  const BlockPlan plan = MakeBlockPlan(layout, ParamGradPartials<Acc>::ValuesPerBlock(nc, C));
  std::vector<Acc> grads(static_cast<size_t>(C * nc), Acc(0));
  if (plan.num_blocks > 0) {
    const auto pc = PrepareCoefs(cfg, C, numerator, denominator);
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

#define TLA_INSTANTIATE_PAU(T)                                                                    \
  template void PauForward<T>(const Layout&, const PauConfig&, const T*, const AccOf<T>::type*,   \
                              const AccOf<T>::type*, T*, const ParallelForBlocks&);               \
  template void PauBackward<T>(const Layout&, const PauConfig&, const T*, const T*,               \
                               const AccOf<T>::type*, const AccOf<T>::type*, T*, AccOf<T>::type*, \
                               AccOf<T>::type*, const ParallelForBlocks&);

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_PAU_KERNELS_IMPL_H_
