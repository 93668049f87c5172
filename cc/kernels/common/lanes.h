// Lane vectors: kLanes values of the accumulation type in one GCC vector, so the
// kernels' elementwise math is vectorised by construction (one AVX2 register for
// float), plus the few operations the families need on them.
#ifndef TF_LEARNACT_KERNELS_COMMON_LANES_H_
#define TF_LEARNACT_KERNELS_COMMON_LANES_H_

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cc/kernels/common/macros.h"

namespace tf_learnact {

// 8 floats = one ymm. 16 was measured 5x slower: GCC lowers 64-byte vectors on AVX2
// through memory.
constexpr int kLanes = 8;  // JoinLanes and SplitLanes spell out its indices

// Paired channel order, for bfloat16 rows read as chunk pairs (see
// HalfLanes::FromBFloat16Pair in lane_walker.h): in each whole group of 2 kLanes channels
// the even channels come first, then the odd ones, as the pair's two chunks hold them;
// channels after the last whole group keep their places. The slot of channel c:
inline int64_t PairedSlot(int64_t c, int64_t channels) {
  const int64_t group = 2 * kLanes, first = c / group * group, r = c - first;
  return first + group > channels ? c : first + r % 2 * kLanes + r / 2;
}

template <typename Acc>
struct LaneVec;
template <>
struct LaneVec<float> {
  typedef float type __attribute__((vector_size(kLanes * sizeof(float))));
};
template <>
struct LaneVec<double> {
  typedef double type __attribute__((vector_size(kLanes * sizeof(double))));
};

// Two chunks' lanes in one vector, for code compiled for AVX-512 only (TLA_TARGET_AVX512):
// on Zen 4 a 16-float operation issues as one instruction for two 8-float halves, so a
// chunk pair takes half the instructions of two chunks.
template <typename Acc>
struct WideVec {
  typedef Acc type __attribute__((vector_size(2 * kLanes * sizeof(Acc))));
};
template <typename V>
TLA_ALWAYS_INLINE auto JoinLanes(V lo, V hi) {
  static_assert(sizeof(V) == kLanes * sizeof(lo[0]), "two lane vectors");
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
template <typename V, typename W>
TLA_ALWAYS_INLINE void SplitLanes(W w, V* lo, V* hi) {
  *lo = __builtin_shufflevector(w, w, 0, 1, 2, 3, 4, 5, 6, 7);
  *hi = __builtin_shufflevector(w, w, 8, 9, 10, 11, 12, 13, 14, 15);
}

// Unaligned vector access through a typed pointer: unlike memcpy (a char access that
// may alias anything, forcing reloads of every field after each store), it keeps
// type-based alias analysis. aligned(alignof(Acc)) is GCC's documented unaligned form.
template <typename V, typename Acc>
TLA_ALWAYS_INLINE V LoadVec(const Acc* p) {
  if constexpr (std::is_arithmetic_v<V>) {  // one lane (a kernel's scalar wide path)
    return V(*p);
  } else {
    typedef Acc U __attribute__((vector_size(sizeof(V)), aligned(alignof(Acc))));
    return *reinterpret_cast<const U*>(p);
  }
}
template <typename V, typename Acc>
TLA_ALWAYS_INLINE void StoreVec(Acc* p, V v) {
  if constexpr (std::is_arithmetic_v<V>) {
    *p = Acc(v);
  } else {
    typedef Acc U __attribute__((vector_size(sizeof(V)), aligned(alignof(Acc))));
    *reinterpret_cast<U*>(p) = v;
  }
}
// |v| by clearing the sign bit: one AND, where v < 0 ? -v : v took a compare, a negation
// and a blend (the kernels run at about one vector instruction per cycle on the
// project's machine, so instructions are time). |-0| = +0; NaN stays NaN.
template <typename V>
TLA_ALWAYS_INLINE V AbsVec(V v) {
  if constexpr (std::is_arithmetic_v<V>) {
    return std::fabs(v);
  } else {
    using Bits = decltype(v < v);  // the signed integer vector of the same shape
    const Bits sign = __builtin_bit_cast(Bits, -V{});
    return __builtin_bit_cast(V, __builtin_bit_cast(Bits, v) & ~sign);
  }
}
// -|v| by setting the sign bit: one OR (GCC keeps -AbsVec(v) as an AND and an XOR).
template <typename V>
TLA_ALWAYS_INLINE V NegAbsVec(V v) {
  using Bits = decltype(v < v);
  const Bits sign = __builtin_bit_cast(Bits, -V{});
  return __builtin_bit_cast(V, __builtin_bit_cast(Bits, v) | sign);
}
// The lanes whose sign bit is set (x < 0, -0 and negative NaNs), as a blend mask: a
// blend on it needs no compare, as AVX2's blend reads the mask's sign bits (x < 0 took
// a compare against zero first). Where -0 and +0 may go different ways, or NaN must
// take a given side, compare instead.
template <typename V>
TLA_ALWAYS_INLINE auto SignBitSet(V v) {
  using Bits = decltype(v < v);
  return __builtin_bit_cast(Bits, v) < 0;
}
template <typename V>
TLA_ALWAYS_INLINE V SignVec(V v) {  // sign(0) = 0, sign(NaN) = 0
  const V zero = {}, one = zero + 1;
  return (v > 0 ? one : zero) - (v < 0 ? one : zero);
}
// Whether any lane of a compare's mask is set: the mask's halves ORed down to two 64-bit
// words (in registers: a bit cast to a struct or array went through memory). Word is a
// parameter so that the typedefs below depend on it: GCC drops vector_size from a
// template's non-dependent typedef.
template <typename Mask, typename Word = uint64_t>
TLA_ALWAYS_INLINE bool AnyLane(Mask mask) {
  typedef Word Words __attribute__((vector_size(sizeof(Mask))));
  typedef Word Pair __attribute__((vector_size(2 * sizeof(Word))));
  const Words w = __builtin_bit_cast(Words, mask);
  Pair p;
  if constexpr (sizeof(Mask) == 16) {
    p = w;
  } else if constexpr (sizeof(Mask) == 32) {
    p = __builtin_shufflevector(w, w, 0, 1) | __builtin_shufflevector(w, w, 2, 3);
  } else {
    static_assert(sizeof(Mask) == 64, "masks of 2, 4 or 8 words");
    p = __builtin_shufflevector(w, w, 0, 1) | __builtin_shufflevector(w, w, 2, 3) |
        __builtin_shufflevector(w, w, 4, 5) | __builtin_shufflevector(w, w, 6, 7);
  }
  return (p[0] | p[1]) != 0;
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_LANES_H_
