// Elementary functions on lane vectors (exp, expm1, tanh, sigmoid, log1p), so kernels
// that need them stay vectorised: glibc's scalar expf/tanhf were measured at over a
// third of the ABU kernel's time.
//
// Only what stable activations need is provided: exponentials of non-positive
// arguments (every caller reduces to exp(-|v|)), which never overflow. Accuracy is a
// few ulp of the lane type (on |r| <= ln2/2, float: six fitted terms of expm1(r) / r,
// double: Taylor's thirteen; float over [-88, 0] through the op: exp 1.04 ulp, expm1
// 1.01, from 1.26 and 1.77 before Expm1Reduced added r last); NaN propagates, -Inf
// gives exp 0.
#ifndef TF_LEARNACT_KERNELS_COMMON_VEC_MATH_H_
#define TF_LEARNACT_KERNELS_COMMON_VEC_MATH_H_

#include <cstdint>
#include <type_traits>

#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/macros.h"

namespace tf_learnact {

// Constants of the exponential's range reduction per lane type.
template <typename Acc>
struct ExpConstants;
template <>
struct ExpConstants<float> {
  using Bits = int32_t;
  // expm1(r) / r ~ c_0 + c_1 r + ... + c_5 r^5 on |r| <= ln2/2: c_0 = 1 and c_1 = 1/2
  // exact (so expm1 keeps its relative accuracy near 0), c_2..c_5 fitted for the least
  // maximum error with those fixed, 1.4e-8 (Taylor's seven terms: 1.5e-8). One term
  // fewer than Taylor's and no r^4, so two multiply-adds fewer at the same depth: ABU
  // per layer, forward 0.78 -> 0.72 ms (1M on one core), 6.05 -> 5.73 ms (16M on 2
  // threads). See Expm1Reduced for how they are evaluated.
  static constexpr int kTerms = 6, kTaylorTerms = 0;  // 0: the terms are kFitted's
  static constexpr float kFitted[kTerms] = {1.0f,         0.5f,         0.16666545f,
                                            0.041666403f, 0.008366423f, 0.0013940508f};
  static constexpr int kMantissaBits = 23, kExponentBias = 127;
  // The arguments are clamped here, where n = round(-126.96) = -127 (see NegExp).
  static constexpr float kClampArg = -88.0f;
  static constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to integer
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // Cody-Waite split
};
template <>
struct ExpConstants<double> {
  using Bits = int64_t;
  // Taylor's 1/(k+1)! for k < 13, padded with zeros to 16 terms so that Estrin's levels
  // pair up (see Expm1OverR).
  static constexpr int kTerms = 16, kTaylorTerms = 13;
  static constexpr int kMantissaBits = 52, kExponentBias = 1023;
  static constexpr double kClampArg = -709.0;                // n = round(-1022.87) = -1023
  static constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLog2e = 1.4426950408889634074;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
};

template <typename Acc>
constexpr Acc InvFactorial(int k) {
  Acc f = Acc(1);
  for (int i = 2; i <= k; ++i) f *= Acc(i);
  return Acc(1) / f;
}

// expm1(r) / r from Taylor's terms (ExpConstants' kTaylorTerms) in Estrin's form: pairs
// c_k + c_{k+1} r, then pairs of pairs with r^2, r^4, ...: log2 of the terms dependent
// steps instead of Horner's one per term (ABU backward 6.56 -> 6.05 ns/element
// cache-resident, when float took this path too).
template <typename Acc, typename V>
TLA_ALWAYS_INLINE V Expm1OverR(V r) {
  using K = ExpConstants<Acc>;
  constexpr int kPairs = K::kTerms / 2;
  static_assert(kPairs * 2 == K::kTerms && (kPairs & (kPairs - 1)) == 0, "Estrin's levels pair up");
  V q[kPairs];
  for (int k = 0; k < K::kTerms; k += 2) {
    // The terms computed here, not read from a table in ExpConstants: that form made
    // GCC 12 fail with an internal error on the double kernels.
    const Acc lo = k < K::kTaylorTerms ? InvFactorial<Acc>(k + 1) : Acc(0);
    const Acc hi = k + 1 < K::kTaylorTerms ? InvFactorial<Acc>(k + 2) : Acc(0);
    q[k / 2] = hi == Acc(0) ? V{} + lo : hi * r + lo;
  }
  V power = r * r;
  for (int n = kPairs; n > 1; n /= 2) {
    for (int k = 0; k < n; k += 2) q[k / 2] = q[k + 1] * power + q[k];
    if (n > 2) power = power * power;
  }
  return q[0];
}

// expm1(r) on |r| <= ln2/2. Float: its fitted terms as r + r^2 ((c_1 + c_2 r) + r^2
// ((c_3 + c_4 r) + r^2 c_5)), six operations in four dependent steps from r, where r
// times expm1(r) / r in Estrin's form took seven at the same depth (ABU per layer, 1M
// float32 on one core: forward 0.73 -> 0.71 ms, backward 1.11 -> 1.07 ms); adding r
// last also put expm1 at 1.01 ulp (was 1.77). Horner's form, one step per term,
// measured slower (forward 0.77 -> 0.79 ms). Double keeps r times Estrin over Taylor's
// terms: other forms made GCC 12 fail with an internal error on the double kernels.
template <typename Acc, typename V>
TLA_ALWAYS_INLINE V Expm1Reduced(V r) {
  using K = ExpConstants<Acc>;
  if constexpr (K::kTaylorTerms == 0) {
    static_assert(K::kTerms == 6, "the form below takes six terms");
    const V r2 = r * r;
    const V lo = K::kFitted[2] * r + K::kFitted[1], hi = K::kFitted[4] * r + K::kFitted[3];
    return ((K::kFitted[5] * r2 + hi) * r2 + lo) * r2 + r;
  } else {
    return r * Expm1OverR<Acc>(r);
  }
}

// exp(v) and expm1(v) of one non-positive argument, both to a few ulp (expm1 keeps its
// relative accuracy near 0, exp near its underflow).
template <typename V>
struct NegExpResult {
  V exp, expm1;
};

// NegExp's work once v is clamped to [kClampArg, 0] (or NaN).
template <typename Acc, typename V>
TLA_ALWAYS_INLINE NegExpResult<V> NegExpOfClamped(V vc) {
  using K = ExpConstants<Acc>;
  using UBits = std::make_unsigned_t<typename K::Bits>;
  typedef UBits UBitsV __attribute__((vector_size(sizeof(V))));
  // v = n ln2 + r with n integer and |r| <= ln2 / 2; the magic constant rounds to nearest.
  const V shifted = vc * K::kLog2e + K::kRoundMagic;  // n in its low mantissa bits
  const V n = shifted - K::kRoundMagic;
  const V r = (vc - n * K::kLn2Hi) - n * K::kLn2Lo;  // NaN stays NaN, so q does
  // 2^n from its exponent bits, taken from `shifted`'s bits, whose integer value is the
  // magic constant's plus n: adding the bias and shifting n into the exponent field
  // shifts the magic constant's bits out (no float-to-int conversion, so no NaN guard
  // for it; a NaN scale meets q = NaN). At the clamp n = -1 - bias, whose exponent field
  // is 0: the bits read as +0, so exp = 0 and expm1 = -1 come out exactly with no blend
  // to zero them (where n = -1 - bias, exp(v) is subnormal: 0 was taken below -87.6
  // before, and TensorFlow's threads flush subnormals to zero; the op's results on a
  // grid over [-90, -82] and [-712, -704] were bit for bit the same).
  const UBitsV bits = __builtin_bit_cast(UBitsV, shifted);
  const V scale = __builtin_bit_cast(V, (bits + UBits(K::kExponentBias)) << K::kMantissaBits);
  // With rq = expm1(r): exp = 2^n (1 + rq), expm1 = 2^n rq + (2^n - 1), exact to rounding
  // in both forms. 2^n rq is formed inside the multiply-adds: near the underflow 2^n r
  // alone is subnormal and TensorFlow's threads flush subnormals to zero (formed first,
  // it put exp off by up to 40% on [-87.7, -86.3]; its exact form, 2^(n+24) r times
  // 2^-24 expm1(r) / r, ran the per-channel backward 4-7% slower, 16M float32 on 2
  // threads).
  const V rq = Expm1Reduced<Acc>(r);
  return {scale * rq + scale, scale * rq + (scale - Acc(1))};
}

template <typename Acc, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE NegExpResult<V> NegExp(V v) {
  using K = ExpConstants<Acc>;
  // A NaN compares false and goes through as NaN.
  return NegExpOfClamped<Acc>(v < K::kClampArg ? V{} + K::kClampArg : v);
}

// NegExp of v = -|x| (its sign bit set) for callers whose results take a NaN x through
// another path: the clamp is one integer min of the bits (as integers, floats with
// the sign bit set order the other way), where the compare and blend took two; a NaN
// is clamped too, to exp = 0 and expm1 = -1.
template <typename Acc, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE NegExpResult<V> NegExpClampingNan(V v) {
  using K = ExpConstants<Acc>;
  using Bits = decltype(v < v);
  const Bits vb = __builtin_bit_cast(Bits, v), cb = __builtin_bit_cast(Bits, V{} + K::kClampArg);
  return NegExpOfClamped<Acc>(__builtin_bit_cast(V, vb < cb ? vb : cb));
}

// A function value and its derivative.
template <typename V>
struct ValueAndSlope {
  V f, df;
};

// tanh(v), tanh'(v) and 1 + tanh(v) from ax = NegExp(-|v|), each without cancellation.
// With e = exp(-|v|) and d = e^-2|v| - 1 = em1 (em1 + 2): tanh|v| = -d / (2 + d) keeps
// the relative accuracy of small |v|; tanh' = 4 e^2 / (2 + d)^2 (not 1 - tanh^2) and
// 1 + tanh(v) = 2 e^2 / (2 + d) for v < 0 (else 2 / (2 + d)) keep theirs for large |v|.
// Saturates to +-1 without overflow.
template <typename V>
struct TanhResult {
  V t, dt, one_plus_t;
};

template <typename V>
TLA_ALWAYS_INLINE TanhResult<V> TanhFromNegExp(V v, const NegExpResult<V>& ax) {
  const V d = ax.expm1 * (ax.expm1 + 2);
  const V inv = 1 / (d + 2);
  const V t = -d * inv, e2 = ax.exp * ax.exp;
  const V one = V{} + 1;
  const auto neg = SignBitSet(v);  // tanh(-0) = -0
  return {neg ? -t : t, 4 * e2 * (inv * inv), 2 * (neg ? e2 : one) * inv};
}

template <typename Acc, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE TanhResult<V> TanhVec(V v) {
  return TanhFromNegExp(v, NegExp<Acc>(NegAbsVec(v)));
}

// sigmoid(v) and sigmoid'(v) from e = exp(-|v|): s' = e / (1 + e)^2 rather than s (1 - s),
// which cancels for large v.
template <typename V>
TLA_ALWAYS_INLINE ValueAndSlope<V> SigmoidFromNegExp(V v, V e) {
  const V inv = 1 / (e + 1);
  return {SignBitSet(v) ? e * inv : inv, e * (inv * inv)};  // at NaN both are NaN
}

template <typename Acc, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE ValueAndSlope<V> SigmoidVec(V v) {
  return SigmoidFromNegExp(v, NegExp<Acc>(NegAbsVec(v)).exp);
}

// log1p(e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3], by its odd
// series sum s^(2k+1) / (2k+1) (terms shrink by 1/9; 8 of them reach float precision,
// 17 double precision).
template <typename Acc, typename V = typename LaneVec<Acc>::type>
TLA_ALWAYS_INLINE V Log1pUnitVec(V e) {
  constexpr int kTerms = sizeof(Acc) == 4 ? 8 : 17;
  const V s = e / (e + Acc(2)), s2 = s * s;
  V sum = {};
  sum += Acc(1) / Acc(2 * kTerms - 1);
  for (int k = kTerms - 2; k >= 0; --k) sum = sum * s2 + Acc(1) / Acc(2 * k + 1);
  return Acc(2) * s * sum;
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_VEC_MATH_H_
