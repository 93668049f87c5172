// ABU forward/backward on the CPU, on the shared lane walk (lane_walker.h) with the
// vectorised elementary functions of vec_math.h. Every basis function is written to
// stay finite for large |x| (exp only of non-positive arguments, tanh saturating).
// Included once per dtype by abu_kernels_<dtype>.cc, so the (large) template
// instantiations compile in parallel and the kernel harness builds only the dtypes it
// times.
#ifndef TF_LEARNACT_KERNELS_ABU_KERNELS_IMPL_H_
#define TF_LEARNACT_KERNELS_ABU_KERNELS_IMPL_H_

#include <algorithm>
#include <iterator>
#include <type_traits>
#include <vector>

#include "cc/kernels/abu_kernels.h"
#include "cc/kernels/common/lane_walker.h"
#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/macros.h"
#include "cc/kernels/common/vec_math.h"

namespace tf_learnact {
namespace {

constexpr int kMaxBasis = kNumBasisFunctions;

// The paper's basis, the layer's default: with unit swish beta it gets an evaluator
// compiled for it (see AbuEvaluator's kPaperBasisT).
constexpr Basis kPaperBasis[] = {Basis::kTanh, Basis::kElu, Basis::kRelu, Basis::kIdentity,
                                 Basis::kSwish};
constexpr int kPaperBasisSize = static_cast<int>(std::size(kPaperBasis));

// f(x), f'(x) and, for swish, df/dbeta, on lanes.
template <typename V>
struct BasisLanes {
  V f, df, dbeta;
};

// ax holds exp(-|x|) and expm1(-|x|), computed once per chunk: tanh, elu, selu, sigmoid,
// softplus and swish with beta = 1 all derive from them (one exponential for the default
// basis instead of three).
template <typename Acc, typename V>
TLA_ALWAYS_INLINE BasisLanes<V> EvaluateLanes(Basis b, V x, V beta, const NegExpResult<V>& ax,
                                              bool unit_beta) {
  constexpr Acc kSeluScale = Acc(1.0507009873554805), kSeluAlpha = Acc(1.6732632423543772);
  constexpr Acc kGeluC = Acc(0.7978845608028654), kGeluA = Acc(0.044715);
  const V zero = {}, one = zero + Acc(1);
  const auto pos = x > 0;  // false for NaN: the negative branches propagate it
  switch (b) {
    case Basis::kTanh: {
      const TanhResult<V> t = TanhFromNegExp(x, ax);
      return {t.t, t.dt, zero};
    }
    case Basis::kElu:  // for x <= 0, exp(x) = exp(-|x|)
      return {pos ? x : ax.expm1, pos ? one : ax.exp, zero};
    case Basis::kRelu:  // NaN -> NaN, as tf.nn.relu
      return {x <= 0 ? zero : x, pos ? one : zero, zero};
    case Basis::kIdentity:
      return {x, one, zero};
    case Basis::kSwish: {
      const V bx = beta * x;
      const ValueAndSlope<V> s = unit_beta ? SigmoidFromNegExp(x, ax.exp) : SigmoidVec<Acc>(bx);
      // x (x s'), not x^2 s': x^2 overflows from |x| = 1.8e19 in float, where s' = 0,
      // and made d beta NaN.
      return {x * s.f, s.f + bx * s.df, x * (x * s.df)};
    }
    case Basis::kSigmoid: {
      const ValueAndSlope<V> s = SigmoidFromNegExp(x, ax.exp);
      return {s.f, s.df, zero};
    }
    case Basis::kSelu:
      return {pos ? kSeluScale * x : (kSeluScale * kSeluAlpha) * ax.expm1,
              pos ? zero + kSeluScale : (kSeluScale * kSeluAlpha) * ax.exp, zero};
    case Basis::kLeakyRelu:
      return {pos ? x : Acc(0.01) * x, pos ? one : zero + Acc(0.01), zero};
    case Basis::kSoftplus:  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
      return {(pos ? x : zero) + Log1pUnitVec<Acc>(ax.exp), SigmoidFromNegExp(x, ax.exp).f, zero};
    case Basis::kGelu: {
      // tanh form; beyond |x| = 10 it equals relu to float precision, and x^3 could
      // overflow half/float inputs scaled up, so it is taken as relu there.
      const auto far = AbsVec(x) > Acc(10);
      const V xc = far ? zero : x;
      const V u = kGeluC * (xc + kGeluA * xc * xc * xc);
      const TanhResult<V> t = TanhVec<Acc>(u);
      const V du = kGeluC * (one + Acc(3) * kGeluA * xc * xc);
      const V f = Acc(0.5) * xc * t.one_plus_t;
      const V df = Acc(0.5) * t.one_plus_t + Acc(0.5) * xc * t.dt * du;
      return {far ? (pos ? x : zero) : f, far ? (pos ? one : zero) : df, zero};
    }
  }
  return {zero, zero, zero};
}

// The ABU evaluator of the lane walk. A channel's coefficients are its m blend weights,
// then the swish beta; the gradient slots match. kPaperBasisT: the basis is kPaperBasis
// and every swish beta is 1, known at compile time, so the sum is straight-line code (no
// jump per function and chunk) that the compiler schedules as one (1M float32
// cache-resident, one core, per layer / per channel: forward 1.10 / 1.15 -> 0.95 / 0.98
// ms, backward 1.55 / 1.70 -> 1.32 / 1.48 ms), since regrouped (PaperBasisForward).
// kWideT (the paper basis on floats, on CPUs with AVX-512): chunk pairs go through as
// 16-float vectors, half the instructions (see PaperBasisForwardWide).
template <typename Acc, bool kGradT, bool kPaperBasisT, bool kWideT = false>
struct AbuEvaluator {
  static_assert(!kWideT || (kPaperBasisT && std::is_same_v<Acc, float>),
                "the wide form is the paper basis's, on floats");
  using V = typename LaneVec<Acc>::type;
  static constexpr bool kGrad = kGradT;
  static constexpr int kMaxCoefs = kMaxBasis + 1;
  static constexpr int kChunks = kWideT && kGradT ? 8 : 4, kRowChunks = 2;
  // Two rows at a time in row mode (LaneWalker::StackedRows): 16M float32 per channel
  // on 2 threads, backward 14.8-14.9 -> 12.5-12.8 ms, forward 7.45-7.49 -> 7.29-7.39 ms
  // (bench_kernels, four alternating runs). Four for the paper basis's regrouped sums,
  // forward: 64 channels 6.22 -> 5.60 ms, 16: 6.61 -> 5.78, 2048: 7.16 -> 6.84;
  // backward, with the rows prefetched (LaneWalker::StackedRows) and the four chunks'
  // terms added up before each partial's store: 64 channels 11.51 -> 10.23 ms, 16:
  // 12.91 -> 10.27, 2048: 12.20 -> 12.17 (16M float32, 2 threads, best of 4-10
  // alternating runs). The backward with four, unprefetched, ran slower from memory (64
  // channels 11.17 -> 11.89 ms). The general evaluator with three or four: GCC 12 stops
  // with an internal compiler error.
  static constexpr int kRowStack = kPaperBasisT ? 4 : 2;
  static constexpr bool kLanesAnyOrder = true;
  static constexpr bool kPrefetchRows = true;  // see LaneWalker::Row
  // bfloat16 rows in chunk pairs in the forward only (16M bfloat16 per channel on 2
  // threads, best of four alternating runs: forward 9.65 -> 9.12 ms, backward 13.42 ->
  // 14.10, where the stacked rows' shared sums pay more than the conversions cost).
  static constexpr bool kRowPairs = !kGrad;
  // The wide form's stacks take two columns (LaneWalker::StackedRows): each stacked
  // row's 16 channels are one 16-float vector (a pair), so a stack of four rows is four
  // pairs sharing one 16-float load of each weight and, backward, one sum per weight,
  // where stacks of one column joined two rows into a pair. 16M float32 on 2 threads,
  // best of 5-6 alternating runs, forward / backward: 64 channels 4.74 / 10.47 -> 4.43 /
  // 9.23 ms, 24: 4.93 / 12.13 -> 4.99 / 9.14, 16: 5.09 / 14.33 -> 4.82 / 9.48, 2048 (the
  // forward only, see StackedRows) 5.82 -> 5.38; 1M on one core, 64 channels, best of
  // twelve: 0.59 / 1.20 -> 0.54 / 0.95 ms (bench_kernels).
  static constexpr bool kStackColumnPairs = kWideT;
  // AVX-512 (32 registers, mask compares) where the CPU has it: cache-resident on one
  // Zen 4 core, 1M float32 per layer / per channel: forward 1.48 / 1.41 -> 1.09 / 1.17 ms,
  // backward 1.69 / 1.84 -> 1.58 / 1.77 ms.
  static constexpr Isa kIsa = kWideT ? Isa::kAvx512Only : Isa::kAvx2Avx512;
  // Non-temporal output stores measured slower (16M float32, 2 threads, forward
  // 9.0-9.7 -> 9.6-10.3 ms, backward 15.1-15.9 -> 16.7-17.1 ms): ABU is compute-bound.
  static constexpr bool kStreamOut = false;
  int m;
  Basis basis[kMaxBasis];
  bool needs_abs_exp;  // some function derives from exp(-|x|)
  bool unit_beta;      // every channel's swish beta is exactly 1

  // The chunks go through each stage together (the exponential, then each basis
  // function): one chunk is a single long dependency chain, two side by side keep the
  // core busy (16M float32, two threads: forward 36-39 -> 33 ms, backward 67 -> 45 ms).
  // Three along a run: backward per layer 1.29 -> 1.20 ms (1M float32 cache-resident,
  // one core; forward unchanged); across a row three measured slower (per channel, 64
  // channels: forward 0.92 -> 0.98-1.07, backward 1.43 -> 1.53-1.83). Four along a run
  // once adding the paper's basis in the order its terms are ready (identity, relu, elu,
  // then tanh and swish, which wait for a division each) shortened each chain from the
  // basis order's (forward 7.20 -> 6.38 ms, 16M on 2 threads): per layer, forward 0.78 ->
  // 0.75 ms (1M, one core), 6.23 -> 6.14 ms, backward 10.23 -> 9.92 ms (16M, 2 threads);
  // across a row three still gained nothing (1M, one core: 0.82 / 1.28 -> 0.82 / 1.27).
  template <int kU, bool kColumnPairs = false>
  TLA_ALWAYS_INLINE void Eval(int64_t, const V* x, const V* dy, V* out, const Acc* cf, int64_t cjs,
                              Acc* g, int64_t gjs, int64_t step) const {
    static_assert(!kColumnPairs || kWideT, "column pairs: the wide form's");
    if constexpr (kPaperBasisT && !kGrad) {
      if constexpr (kWideT && kU % 2 == 0)
        PaperBasisForwardWide<kU, kColumnPairs>(x, out, cf, cjs, step);
      else
        PaperBasisForward<kU>(x, out, cf, cjs, step);
      return;
    }
    if constexpr (kWideT && kU % 2 == 0) {
      PaperBasisBackwardWide<kU, kColumnPairs>(x, dy, out, cf, cjs, g, gjs, step);
      return;
    }
    NegExpResult<V> ax[kU] = {};
    // Unrolled so that the arrays stay in registers (a loop kept them in memory and ran
    // 50% slower than one chunk at a time).
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u)
      if (kPaperBasisT || needs_abs_exp) ax[u] = NegExp<Acc>(NegAbsVec(x[u]));
    if constexpr (kPaperBasisT)
      PaperBasisBackward<kU>(x, dy, out, ax, cf, cjs, g, gjs, step);
    else
      SumOfFunctions<kU>(x, dy, out, ax, cf, cjs, g, gjs, step);
  }

 private:
  template <int kU>
  TLA_ALWAYS_INLINE void SumOfFunctions(const V* x, const V* dy, V* out, const NegExpResult<V>* ax,
                                        const Acc* cf, int64_t cjs, Acc* g, int64_t gjs,
                                        int64_t step) const {
    V beta[kU], sum[kU] = {}, slope[kU] = {};
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) beta[u] = LoadVec<V>(cf + u * step + m * cjs);
    for (int j = 0; j < m; ++j) {
      const Basis b = basis[j];
#pragma GCC unroll 8
      for (int u = 0; u < kU; ++u) {
        const V w = LoadVec<V>(cf + u * step + j * cjs);
        const BasisLanes<V> v = EvaluateLanes<Acc>(b, x[u], beta[u], ax[u], unit_beta);
        if constexpr (!kGrad) {
          sum[u] += w * v.f;
        } else {
          slope[u] += w * v.df;
          Accumulate(g + u * step + j * gjs, dy[u] * v.f);
          if (b == Basis::kSwish) Accumulate(g + u * step + m * gjs, dy[u] * w * v.dbeta);
        }
      }
    }
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) out[u] = kGrad ? dy[u] * slope[u] : sum[u];
  }

  // The paper's basis with unit beta, regrouped: identity, relu and elu are the same
  // line for x > 0, so with s = sigmoid(x)
  //   g(x) = x (w_4 s + L) + E + w_0 tanh(x),  L = w_1 + w_2 + w_3 for x > 0, else w_3,
  //                                              E = 0 for x > 0, else w_1 expm1(x);
  //   g'(x) = L' + w_4 (s + x s') + w_0 tanh'(x),  L' = L for x > 0, else w_1 e^x + w_3,
  // and the weights' gradient terms share dy x: per chunk two multiplies or
  // multiply-adds fewer forward, about five backward (adds and blends instead, on other
  // pipes). Each chunk's sum ends with the tanh term, the last one ready, as the chain
  // bounds ABU together with its instruction count. With Expm1Reduced and four rows per
  // stack forward (kRowStack), against the sum of the functions in the order they are
  // ready, best of eight alternating runs, float32 per layer / per channel: 1M on one
  // core, forward 0.73 / 0.80 -> 0.68 / 0.70 ms, backward 1.09 / 1.31 -> 0.99 / 1.31 ms;
  // 16M on 2 threads, forward 5.87 / 6.43 -> 5.40 / 5.62 ms, backward 9.98 / 11.41 ->
  // 8.76 / 11.40 ms.
  // At x = +-Inf the regrouped forward gives g's limit where the sum of the functions
  // (and the composite twin) meets 0 * Inf: swish(-Inf) = -Inf * 0 is NaN there, while
  // x (w_4 s + L) is -Inf w_3. The gradients meet the same products in both forms. A
  // per-chunk test for infinities, to take the function-by-function sum there instead,
  // cost more than the regrouping saved (1M float32 per channel, forward 0.78 -> 0.82
  // ms).
  template <int kU>
  TLA_ALWAYS_INLINE void PaperBasisForward(const V* x, V* out, const Acc* cf, int64_t cjs,
                                           int64_t step) const {
    NegExpResult<V> ax[kU];
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u)  // x (w_4 s + L) takes a NaN x to the result
      ax[u] = NegExpClampingNan<Acc>(NegAbsVec(x[u]));
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) {
      V w[kPaperBasisSize];
      PaperWeights(cf, cjs, step, u, w);
      out[u] = PaperBasisValue(x[u], ax[u], w);
    }
  }
  // The same on chunk pairs joined into 16-float vectors, compiled for AVX-512 alone
  // (Isa::kAvx512Only). Zen 4 issues a 16-float operation as one instruction for two
  // 8-float halves, and this forward is bound by its instruction count and chains, not
  // by the FP pipes: float32 per layer, 1M on one core 0.65-0.68 -> 0.59-0.62 ms, 16M on
  // 2 threads 5.05-5.21 -> 4.49-4.78 ms (bench_kernels, alternating runs). Eight chunks
  // of 8 floats gained less (0.61 ms at 1M), and eight chunks on pairs no more than four
  // here (the backward takes eight: PaperBasisBackwardWide).
  template <int kU, bool kColumnPairs = false>
  TLA_ALWAYS_INLINE void PaperBasisForwardWide(const V* x, V* out, const Acc* cf, int64_t cjs,
                                               int64_t step) const {
    using W = typename WideVec<Acc>::type;
    constexpr int kP = kU / 2;
    W xw[kP];
    NegExpResult<W> ax[kP];
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) {
      xw[p] = JoinLanes(x[2 * p], x[2 * p + 1]);
      ax[p] = NegExpClampingNan<Acc>(NegAbsVec(xw[p]));
    }
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) {
      W w[kPaperBasisSize];
      PaperWeights<kColumnPairs>(cf, cjs, step, 2 * p, w);
      SplitLanes(PaperBasisValue(xw[p], ax[p], w), &out[2 * p], &out[2 * p + 1]);
    }
  }
  // The paper basis's weights of chunk u (8 lanes), or of chunks u and u + 1 joined (16),
  // or with kColumnPairs those of 16 channels in a row (one 16-float load: joining two
  // 8-float loads ran the per-channel backward 6% slower, 1M float32 on one core).
  template <bool kColumnPairs = false, typename VT>
  static TLA_ALWAYS_INLINE void PaperWeights(const Acc* cf, int64_t cjs, int64_t step, int u,
                                             VT (&w)[kPaperBasisSize]) {
#pragma GCC unroll 8
    for (int j = 0; j < kPaperBasisSize; ++j) {
      if constexpr (kColumnPairs)
        w[j] = LoadVec<VT>(cf + j * cjs);
      else if constexpr (sizeof(VT) == sizeof(V))
        w[j] = LoadVec<V>(cf + u * step + j * cjs);
      else
        w[j] = JoinLanes(LoadVec<V>(cf + u * step + j * cjs),
                         LoadVec<V>(cf + (u + 1) * step + j * cjs));
    }
  }
  // g(x) of the regrouped paper basis on one vector of lanes (8 or 16), w its weights.
  template <typename VT>
  static TLA_ALWAYS_INLINE VT PaperBasisValue(VT x, const NegExpResult<VT>& ax,
                                              const VT (&w)[kPaperBasisSize]) {
    // x = +0 takes the x > 0 side here: both give 0 there (not so for the slopes).
    const auto neg = SignBitSet(x);
    const VT tanh = TanhFromNegExp(x, ax).t;
    const VT sigmoid = SigmoidFromNegExp(x, ax.exp).f;
    const VT line = neg ? w[3] : w[1] + w[2] + w[3];
    const VT elu_rest = neg ? w[1] * ax.expm1 : VT{};
    return w[0] * tanh + (x * (w[4] * sigmoid + line) + elu_rest);
  }
  template <int kU>
  TLA_ALWAYS_INLINE void PaperBasisBackward(const V* x, const V* dy, V* out,
                                            const NegExpResult<V>* ax, const Acc* cf, int64_t cjs,
                                            Acc* g, int64_t gjs, int64_t step) const {
    // Every weight read before the first sum is stored (the sums may alias them, so
    // reads after a store are done again); stacked chunks share both (step 0).
    V w[kU][kPaperBasisSize];
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) PaperWeights(cf, cjs, step, u, w[u]);
    // dx formed after every sum: formed before them, the per-channel backward ran 3%
    // slower (1M float32 on one core).
    V slope[kU], term[kPaperBasisSize + 1][kU];
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) PaperBasisGrad(x[u], dy[u], ax[u], w[u], &slope[u], term, u);
    if (step == 0) {  // chunks along a run or stacked share their sums: one store each
#pragma GCC unroll 8
      for (int j = 0; j <= kPaperBasisSize; ++j) {
        V total = term[j][0];
#pragma GCC unroll 8
        for (int u = 1; u < kU; ++u) total += term[j][u];
        Accumulate(g + j * gjs, total);
      }
    } else {
#pragma GCC unroll 8
      for (int u = 0; u < kU; ++u)
#pragma GCC unroll 8
        for (int j = 0; j <= kPaperBasisSize; ++j) Accumulate(g + u * step + j * gjs, term[j][u]);
    }
#pragma GCC unroll 8
    for (int u = 0; u < kU; ++u) out[u] = dy[u] * slope[u];
  }
  // The same on chunk pairs joined into 16-float vectors (see PaperBasisForwardWide),
  // eight chunks along a run (kChunks): float32 per layer, 16M on 2 threads 9.35-9.58 ->
  // 7.29-7.79 ms, 1M on one core 1.00-1.02 -> 0.90-0.91 ms; per channel (four stacked
  // rows) 10.20-10.92 -> 9.27-10.02 ms and 1.09-1.13 -> 1.08-1.09 ms (bench_kernels,
  // alternating runs). Four chunks on pairs gained about half that, six less than eight,
  // twelve no more; eight stacked rows ran faster at 1M but slower from memory (16M
  // per channel 10.3-11.0 -> 12.8-17.2 ms).
  // With kColumnPairs every pair is 16 channels of one stacked row (see
  // LaneWalker::StackedRows): one 16-float load per weight and one 16-float sum per
  // term (added to the partials as two halves) serve them all.
  template <int kU, bool kColumnPairs = false>
  TLA_ALWAYS_INLINE void PaperBasisBackwardWide(const V* x, const V* dy, V* out, const Acc* cf,
                                                int64_t cjs, Acc* g, int64_t gjs,
                                                int64_t step) const {
    using W = typename WideVec<Acc>::type;
    constexpr int kP = kU / 2;
    W xw[kP], dyw[kP], w[kP][kPaperBasisSize];
    NegExpResult<W> ax[kP];
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) {
      xw[p] = JoinLanes(x[2 * p], x[2 * p + 1]);
      dyw[p] = JoinLanes(dy[2 * p], dy[2 * p + 1]);
      ax[p] = NegExp<Acc>(NegAbsVec(xw[p]));
      PaperWeights<kColumnPairs>(cf, cjs, step, 2 * p, w[p]);
    }
    W slope[kP], term[kPaperBasisSize + 1][kP];
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) PaperBasisGrad(xw[p], dyw[p], ax[p], w[p], &slope[p], term, p);
    V lo, hi;
    if (kColumnPairs || step == 0) {  // the pairs share their sums
#pragma GCC unroll 8
      for (int j = 0; j <= kPaperBasisSize; ++j) {
        W total = term[j][0];
#pragma GCC unroll 8
        for (int p = 1; p < kP; ++p) total += term[j][p];
        SplitLanes(total, &lo, &hi);
        // Two 8-float halves: a 16-float store and the next stack's load of it, 32 bytes
        // off a line (24 channels), stalled the forwarding (1M, one core, 1.1 -> 1.8 ms).
        if constexpr (kColumnPairs) {
          Accumulate(g + j * gjs, lo);
          Accumulate(g + j * gjs + kLanes, hi);
        } else {
          Accumulate(g + j * gjs, lo + hi);
        }
      }
    } else {
#pragma GCC unroll 8
      for (int p = 0; p < kP; ++p)
#pragma GCC unroll 8
        for (int j = 0; j <= kPaperBasisSize; ++j) {
          SplitLanes(term[j][p], &lo, &hi);
          Accumulate(g + 2 * p * step + j * gjs, lo);
          Accumulate(g + (2 * p + 1) * step + j * gjs, hi);
        }
    }
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) SplitLanes(dyw[p] * slope[p], &out[2 * p], &out[2 * p + 1]);
  }
  // g'(x) of the regrouped paper basis on one vector of lanes (8 or 16), into *slope, and
  // the weights' and beta's gradient terms, into column `col` of term.
  template <typename VT, int kCols>
  static TLA_ALWAYS_INLINE void PaperBasisGrad(VT x, VT dy, const NegExpResult<VT>& ax,
                                               const VT (&w)[kPaperBasisSize], VT* slope,
                                               VT (&term)[kPaperBasisSize + 1][kCols], int col) {
    const VT zero = {};
    const auto pos = x > 0;
    const TanhResult<VT> tanh = TanhFromNegExp(x, ax);
    const ValueAndSlope<VT> sigmoid = SigmoidFromNegExp(x, ax.exp);
    const VT dy_x = dy * x, x_ds = x * sigmoid.df;
    const VT line = pos ? w[1] + w[2] + w[3] : w[1] * ax.exp + w[3];
    *slope = (line + w[4] * (sigmoid.f + x_ds)) + w[0] * tanh.dt;
    term[0][col] = dy * tanh.t;
    term[1][col] = pos ? dy_x : dy * ax.expm1;
    term[2][col] = x <= 0 ? zero : dy_x;  // relu(NaN) = NaN
    term[3][col] = dy_x;
    term[4][col] = dy_x * sigmoid.f;
    term[5][col] = dy_x * (w[4] * x_ds);  // beta: dy w_4 x^2 s'
  }

  static TLA_ALWAYS_INLINE void Accumulate(Acc* g, V t) { StoreVec(g, LoadVec<V>(g) + t); }
};

template <typename Acc>
CoefTable<Acc> PrepareCoefs(int64_t channels, int m, const Acc* weights, const Acc* beta) {
  return CoefTable<Acc>(channels, m + 1, [&](int64_t c, Acc* row) {
    std::copy(weights + c * m, weights + (c + 1) * m, row);
    row[m] = beta[c];
  });
}

// Whether every channel's swish beta (its last coefficient) is exactly 1.
template <typename Acc>
bool UnitBeta(const CoefTable<Acc>& coefs) {
  const int nc = coefs.num_coefs;
  for (int64_t c = 0; c < coefs.channels; ++c)
    if (coefs.by_channel[c * nc + nc - 1] != Acc(1)) return false;
  return true;
}

template <typename Acc, bool kGrad, bool kPaperBasisT, bool kWide = false>
AbuEvaluator<Acc, kGrad, kPaperBasisT, kWide> MakeEvaluator(const std::vector<Basis>& basis,
                                                            bool unit_beta) {
  const int m = static_cast<int>(basis.size());
  AbuEvaluator<Acc, kGrad, kPaperBasisT, kWide> eval{m, {}, false, unit_beta};
  std::copy(basis.begin(), basis.end(), eval.basis);
  for (Basis b : basis) {
    const bool derived = b == Basis::kTanh || b == Basis::kElu || b == Basis::kSelu ||
                         b == Basis::kSigmoid || b == Basis::kSoftplus ||
                         (b == Basis::kSwish && eval.unit_beta);
    eval.needs_abs_exp |= derived;
  }
  return eval;
}

// Walks x (and dy) with the evaluator for this basis: the one compiled for the paper's
// basis where it applies (on 16-float vectors for float computation where the CPU has
// AVX-512), the general one otherwise.
template <bool kGrad, typename T, typename Acc>
void WalkAbu(const Layout& layout, const std::vector<Basis>& basis, const CoefTable<Acc>& coefs,
             const T* x, const T* dy, T* out, ParamGradPartials<Acc>* partials,
             const BlockPlan& plan, const ParallelForBlocks& parallel_for) {
  const bool unit_beta = UnitBeta(coefs);
  const bool paper = unit_beta && std::equal(basis.begin(), basis.end(), std::begin(kPaperBasis),
                                             std::end(kPaperBasis));
  if constexpr (std::is_same_v<Acc, float> && TLA_HAVE_TARGET_AVX512) {
    if (paper && CpuHasAvx512()) {
      WalkLanes<T>(layout, coefs, MakeEvaluator<Acc, kGrad, true, true>(basis, unit_beta), x, dy,
                   out, partials, plan, parallel_for);
      return;
    }
  }
  if (paper)
    WalkLanes<T>(layout, coefs, MakeEvaluator<Acc, kGrad, true>(basis, unit_beta), x, dy, out,
                 partials, plan, parallel_for);
  else
    WalkLanes<T>(layout, coefs, MakeEvaluator<Acc, kGrad, false>(basis, unit_beta), x, dy, out,
                 partials, plan, parallel_for);
}

}  // namespace

template <typename T>
void AbuForward(const Layout& layout, const std::vector<Basis>& basis, const T* x,
                const typename AccOf<T>::type* weights, const typename AccOf<T>::type* beta, T* y,
                const ParallelForBlocks& parallel_for) {
  using Acc = typename AccOf<T>::type;
  const BlockPlan plan = MakeBlockPlan(layout);
  if (plan.num_blocks == 0) return;
  const auto coefs = PrepareCoefs(layout.channels, static_cast<int>(basis.size()), weights, beta);
  WalkAbu<false>(layout, basis, coefs, x, static_cast<const T*>(nullptr), y,
                 static_cast<ParamGradPartials<Acc>*>(nullptr), plan, parallel_for);
}

template <typename T>
void AbuBackward(const Layout& layout, const std::vector<Basis>& basis, const T* dy, const T* x,
                 const typename AccOf<T>::type* weights, const typename AccOf<T>::type* beta, T* dx,
                 typename AccOf<T>::type* d_weights, typename AccOf<T>::type* d_beta,
                 const ParallelForBlocks& parallel_for) {
  using Acc = typename AccOf<T>::type;
  const int m = static_cast<int>(basis.size());
  const int64_t C = layout.channels;
  const BlockPlan plan = MakeBlockPlan(layout, ParamGradPartials<Acc>::ValuesPerBlock(m + 1, C));
  std::vector<Acc> sums(static_cast<size_t>(C * (m + 1)), Acc(0));  // [C][m + 1]
  if (plan.num_blocks > 0) {
    const auto coefs = PrepareCoefs(C, m, weights, beta);
    ParamGradPartials<Acc> partials(plan.num_blocks, m + 1, C);
    WalkAbu<true>(layout, basis, coefs, x, dy, dx, &partials, plan, parallel_for);
    partials.FoldInto(plan.num_blocks, sums.data());
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int j = 0; j < m; ++j) d_weights[c * m + j] = sums[c * (m + 1) + j];
    d_beta[c] = sums[c * (m + 1) + m];
  }
}

#define TLA_INSTANTIATE_ABU(T)                                                                    \
  template void AbuForward<T>(const Layout&, const std::vector<Basis>&, const T*,                 \
                              const AccOf<T>::type*, const AccOf<T>::type*, T*,                   \
                              const ParallelForBlocks&);                                          \
  template void AbuBackward<T>(const Layout&, const std::vector<Basis>&, const T*, const T*,      \
                               const AccOf<T>::type*, const AccOf<T>::type*, T*, AccOf<T>::type*, \
                               AccOf<T>::type*, const ParallelForBlocks&);

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_ABU_KERNELS_IMPL_H_
