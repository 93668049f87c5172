// The lane walk shared by every family's CPU kernel: blocks cut into chunks of kLanes
// elements, whole-vector storage <-> accumulation type conversions (LoadLanes,
// StoreLanes), and one block loop (WalkLaneBlock) over a family's walker.
//
// Lanes run across elements of one channel (per-layer coefficients, or per-channel with
// inner > 1: "run mode") or across the channels of one row (channels-last per-channel
// coefficients: "row mode"), see BlockPlan.
//
// LaneWalker is the walker of the families whose per-element math is a function of x and
// a few per-channel coefficients (PAU, ABU): it hands each chunk to the family's
// evaluator and reduces the evaluator's per-lane gradient sums into the block partials in
// a fixed order (deterministic, see param_grad.h). PWLU, whose table has a row count
// known only at run time, has its own walker (pwlu_kernels.cc).
//
// An evaluator E provides
//   using Acc; static constexpr bool kGrad, kStreamOut, kLanesAnyOrder, kRowPairs,
//   kStackColumnPairs, kPrefetchRows; static constexpr Isa kIsa;
//   static constexpr int kMaxCoefs, kChunks, kRowChunks, kRowStack;
//   template <int kU> void Eval(int64_t first, const V* x, const V* dy, V* out,
//                               const Acc* cf, int64_t cjs, Acc* g, int64_t gjs,
//                               int64_t step) const;
// Eval<kU> evaluates kU chunks side by side: the walker hands it E::kChunks full chunks
// at a time along a run, and in row mode E::kRowStack chunks stacked down a column (one
// per row, same channels) or else E::kRowChunks along a row, so that an evaluator whose
// chunk is one long dependency chain can interleave independent ones (ABU) or split a
// group's work into passes (PAU backward), and single chunks (kU = 1) at the ends. x[u]
// holds elements first + u * kLanes ... along a run or a row, first + u * C ... stacked;
// evaluators that use `first` (noisy PAU) take no stacks (kRowStack 1). With
// E::kLanesAnyOrder (the result of an element depends on its value and its channel's
// coefficients only) bfloat16 chunks come in pairs, chunk 2p holding the pair's even
// elements and 2p + 1 its odd ones: along a run in groups of at least two, and with
// E::kRowPairs in row mode one pair per 2 kLanes channels, the coefficients and sums in
// paired channel order (PairedSlot), without row stacking. Coefficient j of
// lane l of chunk u is cf[u * step + j * cjs + l]; with kGrad out[u] is dx and
// d loss / d coef_j of that lane is added to g[u * step + j * gjs + l], otherwise out[u]
// is y. With E::kStackColumnPairs, stacks take two columns (2 kLanes channels) at a
// time where the row has them, through Eval<2 kRowStack, true>: chunks 2p and 2p + 1 are
// the two columns of stacked row p (x[2p] at first + p * C, x[2p + 1] at
// first + p * C + kLanes), every p sharing the coefficients and sums of cf, g (column 0)
// and cf + step, g + step (column 1), step = kLanes. Padded lanes see
// x = dy = 0 and must contribute nothing to g (dy = 0 does that for sums of dy * something).
// An evaluator with kRangeChecked = true also provides bool InRange(V max_abs) and
// Acc EvalWideElement(int64_t e, Acc x, Acc dy, const Acc* coefs, Acc* grads): the walk
// keeps each block's per-lane maximum of |x|, and a block not InRange is walked again
// element by element through EvalWideElement (RedoBlockWide).
#ifndef TF_LEARNACT_KERNELS_COMMON_LANE_WALKER_H_
#define TF_LEARNACT_KERNELS_COMMON_LANE_WALKER_H_

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/macros.h"
#include "cc/kernels/common/numeric.h"
#include "cc/kernels/common/param_grad.h"

namespace tf_learnact {

// The instruction sets a walker's block loop is compiled for (see WalkLaneBlock).
enum class Isa {
  kAvx2,        // AVX2+FMA and baseline x86-64 clones, picked at load time
  kAvx2Avx512,  // those and an AVX-512 clone
  kAvx512Only,  // AVX-512 alone (16-float vectors): the caller checks CpuHasAvx512() first
};

// Whether walker or evaluator X checks its blocks' input range (X::kRangeChecked, absent
// meaning no): see LaneWalker::RedoBlockWide.
template <typename X, typename = void>
struct ChecksRange : std::false_type {};
template <typename X>
struct ChecksRange<X, std::void_t<decltype(X::kRangeChecked)>>
    : std::bool_constant<X::kRangeChecked> {};

// Per-channel coefficients of one call in both walking layouts.
template <typename Acc>
struct CoefTable {
  int num_coefs = 0;
  int64_t channels = 1;
  int64_t stride = 1;           // ChannelStride(channels), as in the block partials
  std::vector<Acc> by_channel;  // [C][num_coefs]: run mode
  std::vector<Acc> by_coef;     // [num_coefs][stride]: row mode

  // fill(c, row) writes channel c's num_coefs coefficients to row.
  template <typename Fill>
  CoefTable(int64_t c, int nc, Fill&& fill)
      : num_coefs(nc),
        channels(c),
        stride(ChannelStride<Acc>(c)),
        by_channel(static_cast<size_t>(c * nc)),
        by_coef(static_cast<size_t>(stride * nc), Acc(0)) {
    for (int64_t ch = 0; ch < c; ++ch) {
      Acc* row = by_channel.data() + ch * nc;
      fill(ch, row);
      for (int j = 0; j < nc; ++j) by_coef[j * stride + ch] = row[j];
    }
  }
  // by_coef in paired channel order (PairedSlot), for bfloat16 rows in chunk pairs.
  void PairChannels() {
    const std::vector<Acc> natural = by_coef;
    for (int j = 0; j < num_coefs; ++j)
      for (int64_t ch = 0; ch < channels; ++ch)
        by_coef[j * stride + PairedSlot(ch, channels)] = natural[j * stride + ch];
  }
};

#if defined(__x86_64__)
// Writes the kLanes floats of v (or any 32-bit lanes, bit-cast) to a 16-byte aligned p
// with non-temporal SSE stores, which every clone (baseline x86-64 included) can issue;
// write-combining gathers them into whole lines.
TLA_ALWAYS_INLINE void StreamFloatLanes(float* p, LaneVec<float>::type v) {
  typedef float F4 __attribute__((vector_size(16)));
  const F4 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3);
  const F4 hi = __builtin_shufflevector(v, v, 4, 5, 6, 7);
  _mm_stream_ps(p, __builtin_bit_cast(__m128, lo));
  _mm_stream_ps(p + 4, __builtin_bit_cast(__m128, hi));
}
#endif

// Whole-vector conversions between 16-bit storage and float lanes (the scalar ToAcc /
// FromAcc per lane were measured at over half of the bfloat16 forward): the same
// rounding as numeric.h (round to nearest even, NaN kept quiet).
struct HalfLanes {
  using Vec = LaneVec<float>::type;
  typedef uint16_t U16 __attribute__((vector_size(kLanes * 2), aligned(2), may_alias));
  typedef uint16_t U16x2 __attribute__((vector_size(kLanes * 4)));
  typedef uint32_t U32 __attribute__((vector_size(kLanes * 4)));
  typedef uint32_t U32Stored __attribute__((vector_size(kLanes * 4), aligned(2), may_alias));
  typedef _Float16 F16 __attribute__((vector_size(kLanes * 2), aligned(2), may_alias));

  // bfloat16 is the high half of a float: interleaving the 16-bit values with zeros is
  // the conversion (two unpacks and a lane permute, where a widening convert and a
  // shift took six instructions).
  static TLA_ALWAYS_INLINE Vec FromBFloat16(const BFloat16* p) {
    const U16 h = *reinterpret_cast<const U16*>(p), zero = {};
    const U16x2 wide =
        __builtin_shufflevector(zero, h, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    return __builtin_bit_cast(Vec, wide);
  }
  // v's float bits rounded to bfloat16 in the high halves (the low halves are left over);
  // NaN is detected as v != v and only made quiet.
  static TLA_ALWAYS_INLINE U32 RoundedBFloat16Bits(Vec v) {
    const U32 u = __builtin_bit_cast(U32, v);
    const U32 rounded = u + 0x7fffU + ((u >> 16) & 1U);
    return v != v ? u | 0x400000U : rounded;
  }
  // The high halves picked by a shuffle (no shift and mask before a pack).
  static TLA_ALWAYS_INLINE void ToBFloat16(BFloat16* p, Vec v) {
    const U16x2 halves = __builtin_bit_cast(U16x2, RoundedBFloat16Bits(v));
    *reinterpret_cast<U16*>(p) = __builtin_shufflevector(halves, halves, 1, 3, 5, 7, 9, 11, 13, 15);
  }

  // Two chunks of bfloat16 (2 kLanes values at p) without a shuffle: each 32-bit lane l
  // of one 32-byte load holds element 2l in its low half and 2l + 1 in its high half, so
  // the lanes shifted left by 16 are the even elements and the lanes masked the odd ones.
  // Lane l of `even` holds element 2l and of `odd` element 2l + 1: for walks whose lanes
  // may take the elements in any order (E::kLanesAnyOrder).
  static TLA_ALWAYS_INLINE void FromBFloat16Pair(const BFloat16* p, Vec* even, Vec* odd) {
    const U32 w = *reinterpret_cast<const U32Stored*>(p);
    *even = __builtin_bit_cast(Vec, w << 16);
    *odd = __builtin_bit_cast(Vec, w & 0xffff0000U);
  }
  // The inverse of FromBFloat16Pair, rounding as ToBFloat16: one shift, one mask and one
  // OR put both chunks back in element order. With `stream` and a 16-byte aligned p the
  // 32 bytes go out as non-temporal stores (see StoreFullLanes).
  static TLA_ALWAYS_INLINE void ToBFloat16Pair(BFloat16* p, Vec even, Vec odd, bool stream) {
    const U32 w = (RoundedBFloat16Bits(even) >> 16) | (RoundedBFloat16Bits(odd) & 0xffff0000U);
#if defined(__x86_64__)
    if (stream && (reinterpret_cast<uintptr_t>(p) & 15) == 0) {
      StreamFloatLanes(reinterpret_cast<float*>(p), __builtin_bit_cast(Vec, w));
      return;
    }
#endif
    *reinterpret_cast<U32Stored*>(p) = w;
  }
  static TLA_ALWAYS_INLINE Vec FromHalf(const Half16* p) {
    return __builtin_convertvector(*reinterpret_cast<const F16*>(p), Vec);
  }
  static TLA_ALWAYS_INLINE void ToHalf(Half16* p, Vec v) {
    *reinterpret_cast<F16*>(p) = __builtin_convertvector(v, F16);
  }
};

// Loads lanes i..i+kLanes-1 of src as accumulation-type lanes. kFull: all kLanes lanes
// are real elements (compile-time); otherwise lanes >= len are padded with 0. Full
// float/double chunks move whole vectors, 16-bit ones convert whole vectors.
template <bool kFull, typename T, typename Vec = typename LaneVec<typename AccOf<T>::type>::type>
TLA_ALWAYS_INLINE Vec LoadLanes(const T* src, int64_t i, int len) {
  using Acc = typename AccOf<T>::type;
  if constexpr (kFull && std::is_same_v<T, Acc>) return LoadVec<Vec>(src + i);
  if constexpr (kFull && std::is_same_v<T, BFloat16>) return HalfLanes::FromBFloat16(src + i);
  if constexpr (kFull && std::is_same_v<T, Half16>) return HalfLanes::FromHalf(src + i);
  alignas(sizeof(Vec)) Acc lanes[kLanes];
  for (int l = 0; l < kLanes; ++l) lanes[l] = kFull || l < len ? ToAcc(src[i + l]) : Acc(0);
  return LoadVec<Vec>(lanes);
}

// Stores the first kLanes (kFull) or len lanes of v to dst[i..].
template <bool kFull, typename T, typename Vec>
TLA_ALWAYS_INLINE void StoreLanes(T* dst, int64_t i, int len, Vec v) {
  using Acc = typename AccOf<T>::type;
  if constexpr (kFull && std::is_same_v<T, Acc>) {
    StoreVec(dst + i, v);
  } else if constexpr (kFull && std::is_same_v<T, BFloat16>) {
    HalfLanes::ToBFloat16(dst + i, v);
  } else if constexpr (kFull && std::is_same_v<T, Half16>) {
    HalfLanes::ToHalf(dst + i, v);
  } else {
    alignas(sizeof(Vec)) Acc lanes[kLanes];
    StoreVec(lanes, v);
    for (int l = 0; l < (kFull ? kLanes : len); ++l) dst[i + l] = FromAcc<T>(lanes[l]);
  }
}

constexpr int64_t kLineBytes = 64;  // x86-64's cache line

// Prefetches the line `bytes` past p into L1. Integer arithmetic: the address may lie
// past the array, which a prefetch may touch (it never faults) but a pointer may not.
TLA_ALWAYS_INLINE void PrefetchAhead(const void* p, int64_t bytes) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + bytes), 0, 3);
}

// Outputs of at least this many bytes are written past the caches by walkers with
// kStreamOut: larger than the last-level cache of one Zen 4 CCD (32 MiB), where they
// would not stay for the next op anyway. A constant: sysconf reports the socket's total
// L3 in this project's VMs (320 MiB).
constexpr int64_t kStreamOutBytes = int64_t{32} << 20;

// Stores a full chunk with non-temporal stores where it can (float or double at a
// 16-byte aligned address; plain stores otherwise): the output's lines are not read
// for ownership first, so the pass moves 8 bytes per float element instead of 12.
template <typename T, typename Vec>
TLA_ALWAYS_INLINE void StoreFullLanes(T* dst, int64_t i, Vec v, bool stream) {
#if defined(__x86_64__)
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (stream && (reinterpret_cast<uintptr_t>(dst + i) & 15) == 0) {
      if constexpr (std::is_same_v<T, float>) {
        StreamFloatLanes(dst + i, v);
      } else {
        typedef double D2 __attribute__((vector_size(16)));
        const D2 q[4] = {__builtin_shufflevector(v, v, 0, 1), __builtin_shufflevector(v, v, 2, 3),
                         __builtin_shufflevector(v, v, 4, 5), __builtin_shufflevector(v, v, 6, 7)};
        for (int p = 0; p < 4; ++p)
          _mm_stream_pd(dst + i + 2 * p, __builtin_bit_cast(__m128d, q[p]));
      }
      return;
    }
  }
#endif
  StoreLanes<true>(dst, i, kLanes, v);
}

// Orders a task's non-temporal stores (weakly ordered) before it reports done.
TLA_ALWAYS_INLINE void FenceStreamedStores() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

// End of a run: adds the lane sums of `count` per-lane accumulators (lanes[j][kLanes]),
// each summed in lane order, to channel c's partials part[j * stride + c].
template <typename Acc>
TLA_ALWAYS_INLINE void AddLaneSums(const Acc* lanes, int64_t count, Acc* part, int64_t stride,
                                   int64_t c) {
  for (int64_t j = 0; j < count; ++j) {
    Acc sum = Acc(0);
    for (int l = 0; l < kLanes; ++l) sum += lanes[j * kLanes + l];
    part[j * stride + c] += sum;
  }
}

// The walker of the families with a fixed number of coefficients per channel.
template <typename T, typename E>
struct LaneWalker {
  using Acc = typename AccOf<T>::type;
  using Vec = typename LaneVec<Acc>::type;
  static constexpr bool kGrad = E::kGrad;
  static constexpr int kMaxCoefs = E::kMaxCoefs;
  static constexpr int64_t kRowGroup = E::kRowChunks * kLanes;
  static constexpr Isa kIsa = E::kIsa;
  static constexpr bool kStreamOut = E::kStreamOut;
  static constexpr bool kRunModeOnly = false;
  static constexpr bool kRangeChecked = ChecksRange<E>::value;

  const Layout& layout;
  const CoefTable<Acc>& coefs;
  const E eval;  // a copy: see WalkBlocks
  const T* x;
  const T* dy;          // kGrad only
  T* out;               // y, or dx with kGrad
  bool stream = false;  // full chunks go out with non-temporal stores (set by WalkBlocks)

  // bfloat16 chunks go in pairs through HalfLanes' shuffle-free pair conversions where
  // the evaluator lets lanes take elements in any order: along a run in groups of at
  // least two chunks, in row mode as PairedRow where the evaluator asks (see the
  // performance log, benchmarks/README.md, for the timings).
  static constexpr bool kPairs = std::is_same_v<T, BFloat16> && E::kLanesAnyOrder;
  static constexpr bool kRowPairs = kPairs && E::kRowPairs;
  static constexpr int kRunChunks = kPairs ? std::max(E::kChunks, 2) : E::kChunks;
  static constexpr int64_t kGroup = kRunChunks * kLanes;  // elements per multi-chunk step

  // kU chunks, chunk u from element i + u * stride, its coefficients and sums at
  // cf + u * step and g + u * step; with !kFull, one chunk of len < kLanes real lanes.
  // kPaired: chunks 2p and 2p + 1 (contiguous, stride kLanes) hold the even and odd
  // elements of their 2 kLanes (see HalfLanes::FromBFloat16Pair); in row mode step
  // kLanes then points each at its channels' paired slots.
  // kColumnPairs: chunk u from element i + (u / 2) * stride + (u % 2) * kLanes (stacked
  // rows of two columns, see StackedRows), handed to E::Eval<kU, true>.
  template <int kU, bool kFull = true, bool kPaired = false, bool kColumnPairs = false>
  TLA_ALWAYS_INLINE void Chunks(int64_t i, int len, const Acc* cf, int64_t cjs, Acc* g, int64_t gjs,
                                int64_t step, Vec* max_abs, int64_t stride = kLanes) const {
    static_assert(kFull || kU == 1, "a partial chunk comes alone");
    static_assert(!kPaired || kPairs, "pairs are bfloat16 chunks of an any-order evaluator");
    static_assert(!kColumnPairs || (!kPaired && kU % 2 == 0), "whole column pairs, unpaired");
    constexpr int kPairedU = kPaired ? kU / 2 * 2 : 0;
    auto at = [&](int u) {
      return kColumnPairs ? i + (u / 2) * stride + (u % 2) * kLanes : i + u * stride;
    };
    Vec xv[kU], dyv[kU], ov[kU];
    if constexpr (kPaired) {
      for (int u = 0; u < kPairedU; u += 2) {
        HalfLanes::FromBFloat16Pair(x + i + u * kLanes, &xv[u], &xv[u + 1]);
        if (kGrad)
          HalfLanes::FromBFloat16Pair(dy + i + u * kLanes, &dyv[u], &dyv[u + 1]);
        else
          dyv[u] = dyv[u + 1] = Vec{};
      }
    }
    for (int u = kPairedU; u < kU; ++u) {
      xv[u] = LoadLanes<kFull>(x, at(u), len);
      dyv[u] = kGrad ? LoadLanes<kFull>(dy, at(u), len) : Vec{};
    }
    if constexpr (kRangeChecked) {
      for (int u = 0; u < kU; ++u) {
        const Vec a = AbsVec(xv[u]);
        *max_abs = a > *max_abs ? a : *max_abs;  // NaN lanes keep the maximum
      }
    }
    if constexpr (kColumnPairs)
      eval.template Eval<kU, true>(i, xv, dyv, ov, cf, cjs, g, gjs, step);
    else
      eval.template Eval<kU>(i, xv, dyv, ov, cf, cjs, g, gjs, step);
    if constexpr (kPaired)
      for (int u = 0; u < kPairedU; u += 2)
        HalfLanes::ToBFloat16Pair(out + i + u * kLanes, ov[u], ov[u + 1], kStreamOut && stream);
    for (int u = kPairedU; u < kU; ++u) {
      if constexpr (kFull)
        StoreFullLanes(out, at(u), ov[u], kStreamOut && stream);
      else
        StoreLanes<false>(out, at(u), len, ov[u]);
    }
  }

  // The inputs at element i (x, and dy with kGrad), prefetched `bytes` ahead into L1.
  TLA_ALWAYS_INLINE void PrefetchInputs(int64_t i, int64_t bytes) const {
    PrefetchAhead(x + i, bytes);
    if constexpr (kGrad) PrefetchAhead(dy + i, bytes);
  }
  // How far ahead runs and bfloat16 rows prefetch their inputs. On the Intel Xeon
  // (AVX-512, 2 MiB L2 per core) the hardware prefetchers left these streams' loads
  // waiting from memory: 16M float32 on 2 threads, the two builds in one binary, ratio
  // new/old (bench_kernels.py --against), per layer forward / backward: PAU 0.70-0.84 /
  // 0.68-0.73, ABU 0.73-0.84 / 0.97-0.99; bfloat16 rows per channel forward ABU 0.80, PAU
  // 0.86-0.90. The backward takes 512 bytes: 2 KiB ran ABU's per-layer backward 1.32x
  // slower (PAU's gained as much at either).
  static constexpr int64_t kStreamPrefetchBytes = kGrad ? 512 : 2048;

  // Rows [r0, r1) of a block in row mode: E::kRowStack rows at a time where stacks pay
  // (StackedRowsPay), then single rows.
  TLA_ALWAYS_INLINE void RowBlock(int64_t r0, int64_t r1, Acc* part, Vec* max_abs = nullptr) const {
    const int64_t C = coefs.channels;
    int64_t r = r0;
    if constexpr (kRowPairs) {
      for (; r < r1; ++r) PairedRow(r * C, part, max_abs);
      return;
    }
    if constexpr (E::kRowStack > 1)
      if (StackedRowsPay(C * int64_t{sizeof(T)}))
        for (; r + E::kRowStack <= r1; r += E::kRowStack) StackedRows(r * C, part, max_abs);
    for (; r < r1; ++r) Row(r * C, part, max_abs);
  }
  // Whether rows of `row_bytes` gain from stacking. Rows of at most 256 bytes put a stack
  // within a few lines, and rows of 4 KiB or more each in a page of its own; rows in
  // between put several streams, visited in turn, into each page, which the hardware
  // prefetchers did not follow. 16M float32 from memory on 2 threads, single rows vs
  // stacks: PAU forward C = 64 3.76 vs 3.23 ms, C = 128 3.82 vs 5.90, C = 256 3.72 vs
  // 5.34, C = 2048 5.97 vs 4.43; ABU forward C = 128 7.31 vs 9.84, backward C = 256
  // 13.94 vs 18.21. On one core with 1M elements in the caches, stacks lost at no C.
  static bool StackedRowsPay(int64_t row_bytes) { return row_bytes <= 256 || row_bytes >= 4096; }
  // E::kRowStack rows from element `base`: each column of kLanes channels goes to the
  // evaluator as that many chunks, one per row, which share coefficients and partial
  // sums (step 0, as along a run): the coefficients are read once per stack and each
  // partial once per stack instead of once per row, and the stacked chunks are
  // independent chains side by side. The lines of the stacked rows fill together, so
  // non-temporal stores still write whole lines. With E::kStackColumnPairs two columns
  // go at a time (see Chunks), where they paid.
  TLA_ALWAYS_INLINE void StackedRows(int64_t base, Acc* part, Vec* max_abs) const {
    const int64_t C = coefs.channels, S = coefs.stride;
    const Acc* by_coef = coefs.by_coef.data();
    int64_t c0 = 0;
    // The backward prefetches x and dy one stack ahead where rows are short: there the
    // stack's rows are streams interleaved within a few lines, which the hardware
    // prefetchers left waiting (ABU, 4 rows of 64 channels, 16M float32 on 2 threads:
    // 12.39 -> 10.33 ms); rows of 4 KiB or more ran slower with it (2048 channels:
    // 12.51 -> 15.15 ms). Every line of the next stack, in order, as the stack begins,
    // not each column's lines as the walk reaches them: PAU, three rows of 64 channels,
    // 16M float32 on 2 threads, backward 10.5-11.3 -> 8.2-8.8 ms; ABU, four rows, 16M on 2
    // threads, the two orders built into one binary and called alternately
    // (bench_kernels.py --against), per-run medians of the ratio 0.87-0.97 where the
    // machine was loaded (columns 15-19 ms) and 1.03-1.05 where it was calm (10-13 ms).
    // The forward prefetches x four stacks ahead: on the Intel Xeon, 64 channels, 16M
    // float32 on 2 threads, ratio new/old in one binary: PAU 0.83-0.88, ABU 0.79-0.80.
    const bool short_rows = C * int64_t{sizeof(T)} <= 256;
    if (short_rows) {
      const int64_t ahead = E::kRowStack * C * int64_t{sizeof(T)} * (kGrad ? 1 : 4);
      for (int64_t e = 0; e < E::kRowStack * C; e += kLineBytes / int64_t{sizeof(T)})
        PrefetchInputs(base + e, ahead);
    }
    // Column pairs in the backward where rows are short: with rows of 4 KiB or more
    // the backward ran slower from memory (ABU, 2048 channels, 16M float32 on 2 threads,
    // 10.8-11.6 -> 11.6-13.8 ms) though faster in the caches (1M on one core, 1.13 ->
    // 1.04 ms); the forward gained at every width.
    if constexpr (E::kStackColumnPairs) {
      if (!kGrad || short_rows) {
        for (; c0 + 2 * kLanes <= C; c0 += 2 * kLanes)
          Chunks<2 * E::kRowStack, true, false, true>(base + c0, kLanes, by_coef + c0, S, part + c0,
                                                      S, kLanes, max_abs, C);
      }
    }
    for (; c0 + kLanes <= C; c0 += kLanes)
      Chunks<E::kRowStack>(base + c0, kLanes, by_coef + c0, S, part + c0, S, 0, max_abs, C);
    if (c0 < C)
      for (int s = 0; s < E::kRowStack; ++s) RowTail(base + s * C, c0, part, max_abs);
  }

  // Lanes across elements of channel c's run [i, end); the per-lane gradient sums are
  // reduced into the block partials (part[j * C + c]) at the end of the run.
  TLA_ALWAYS_INLINE void Run(int64_t i, int64_t end, int64_t c, Acc* part,
                             Vec* max_abs = nullptr) const {
    const Acc* row = coefs.by_channel.data() + c * coefs.num_coefs;
    // The coefficients are broadcast once into a local table: read through `row`, every
    // chunk would reload and re-broadcast them, since the stores to `out` (same type)
    // may alias it.
    alignas(sizeof(Vec)) Acc cf[kMaxCoefs * kLanes];
    for (int j = 0; j < coefs.num_coefs; ++j) StoreVec(cf + j * kLanes, Vec{} + row[j]);
    Acc g[kMaxCoefs * kLanes] = {};
    for (; i + kGroup <= end; i += kGroup) {
      PrefetchInputs(i, kStreamPrefetchBytes);
      Chunks<kRunChunks, true, kPairs>(i, kLanes, cf, kLanes, g, kLanes, 0, max_abs);
    }
    for (; i + kLanes <= end; i += kLanes) Chunks<1>(i, kLanes, cf, kLanes, g, kLanes, 0, max_abs);
    if (i < end) Chunks<1, false>(i, static_cast<int>(end - i), cf, kLanes, g, kLanes, 0, max_abs);
    if (kGrad) AddLaneSums(g, coefs.num_coefs, part, coefs.stride, c);
  }

  // Lanes across the channels of one row starting at element `base` (channels-last):
  // coefficients and gradient partials are read and accumulated as [coef][channel]
  // (coefficients coefs.stride apart).
  // The float32 backward prefetches x and dy 1 KiB ahead into L1 at each group of
  // kRowGroup channels. Unstacked rows (PAU's backward at every width, ABU's at 65-1023
  // channels) left their loads waiting from memory, as stacked short rows did (16M on 2
  // threads, backward before -> after, alternating runs: PAU 64 channels 11.2-11.4 ->
  // 9.9-10.2 ms, 128: 12.2-12.3 -> 10.6-10.9, 256: 13.0-13.2 -> 10.3-11.4, 512: 14.8-15.3
  // -> 12.9-13.1, 1000: 16.3-16.4 -> 14.1-15.0, 2048: 14.9-15.3 -> 13.7; ABU 128:
  // 12.6-13.8 -> 11.1-11.3, 256: 13.4-13.5 -> 10.8-11.1, 512: 13.2 -> 11.3-11.9, 1000:
  // 12.0-12.5 -> 11.3-11.6; 2 KiB ahead gained less at 128-512 channels; 1M on one core
  // unchanged). Not bfloat16 (ABU, 256 channels: 13.1 -> 13.5-13.7 ms), nor where the
  // evaluator declines (E::kPrefetchRows: RPAU).
  static constexpr bool kPrefetchRows = kGrad && std::is_same_v<T, float> && E::kPrefetchRows;
  static constexpr int64_t kRowPrefetchBytes = 1024;
  TLA_ALWAYS_INLINE void Row(int64_t base, Acc* part, Vec* max_abs) const {
    const int64_t C = coefs.channels, S = coefs.stride;
    const Acc* by_coef = coefs.by_coef.data();
    int64_t c0 = 0;
    for (; c0 + kRowGroup <= C; c0 += kRowGroup) {
      if constexpr (kPrefetchRows) PrefetchInputs(base + c0, kRowPrefetchBytes);
      Chunks<E::kRowChunks>(base + c0, kLanes, by_coef + c0, S, part + c0, S, kLanes, max_abs);
    }
    for (; c0 + kLanes <= C; c0 += kLanes)
      Chunks<1>(base + c0, kLanes, by_coef + c0, S, part + c0, S, kLanes, max_abs);
    if (c0 < C) RowTail(base, c0, part, max_abs);
  }
  // A bfloat16 row in chunk pairs, one per whole group of 2 kLanes channels (chunk h's
  // lane l is channel c0 + 2 l + h; coefficients and sums in paired slots), then a
  // single chunk and the tail, whose slots are their channels.
  TLA_ALWAYS_INLINE void PairedRow(int64_t base, Acc* part, Vec* max_abs) const {
    const int64_t C = coefs.channels, S = coefs.stride;
    const Acc* by_coef = coefs.by_coef.data();
    int64_t c0 = 0;
    for (; c0 + 2 * kLanes <= C; c0 += 2 * kLanes) {
      PrefetchInputs(base + c0, kStreamPrefetchBytes);
      Chunks<2, true, true>(base + c0, kLanes, by_coef + c0, S, part + c0, S, kLanes, max_abs);
    }
    for (; c0 + kLanes <= C; c0 += kLanes)
      Chunks<1>(base + c0, kLanes, by_coef + c0, S, part + c0, S, kLanes, max_abs);
    if (c0 < C) RowTail(base, c0, part, max_abs);
  }
  // Channels c0.. (fewer than kLanes) of the row at `base`: padded local coefficients
  // and partials.
  TLA_ALWAYS_INLINE void RowTail(int64_t base, int64_t c0, Acc* part, Vec* max_abs) const {
    const int64_t C = coefs.channels, S = coefs.stride;
    const Acc* by_coef = coefs.by_coef.data();
    const int len = static_cast<int>(C - c0);
    Acc cf[kMaxCoefs * kLanes], g[kMaxCoefs * kLanes] = {};
    for (int j = 0; j < coefs.num_coefs; ++j)
      for (int l = 0; l < kLanes; ++l)
        cf[j * kLanes + l] = l < len ? by_coef[j * S + c0 + l] : Acc(0);
    Chunks<1, false>(base + c0, len, cf, kLanes, g, kLanes, kLanes, max_abs);
    if (kGrad)
      for (int j = 0; j < coefs.num_coefs; ++j)
        for (int l = 0; l < len; ++l) part[j * S + c0 + l] += g[j * kLanes + l];
  }

  // Elements [begin, end) of a block, again, one by one through E::EvalWideElement, the
  // block's partials zeroed first: for blocks whose largest |x| lies beyond the lane
  // kernel's range (E::InRange), which the lane walk has just computed (it found out
  // as it went: the per-lane maximum costs one AND and one MAX per chunk).
  TLA_NOINLINE void RedoBlockWide(int64_t begin, int64_t end, bool row_mode, Acc* part) const {
    const int64_t C = coefs.channels, S = coefs.stride;
    const int nc = coefs.num_coefs;
    FenceStreamedStores();  // the lane walk's non-temporal stores land before these
    if (kGrad) std::fill(part, part + nc * S, Acc(0));
    Acc grads[kMaxCoefs] = {};
    for (int64_t e = begin; e < end; ++e) {
      const int64_t c = layout.channel_of(e);
      const Acc dy_e = kGrad ? ToAcc(dy[e]) : Acc(0);
      out[e] = FromAcc<T>(
          eval.EvalWideElement(e, ToAcc(x[e]), dy_e, coefs.by_channel.data() + c * nc, grads));
      if (!kGrad) continue;
      const int64_t slot = kRowPairs && row_mode ? PairedSlot(c, C) : c;  // see PairedRow
      for (int j = 0; j < nc; ++j) part[j * S + slot] += grads[j];
    }
  }
};

// One block of a walker W, which provides RowBlock(r0, r1, part) for row mode and
// Run(i, end, c, part) for one channel's run; walkers with W::kRunModeOnly walk only
// plans without row mode (their callers check) and provide no RowBlock.
template <typename W>
TLA_ALWAYS_INLINE void WalkLaneBlockBody(const W& w, const BlockPlan& plan, int64_t b,
                                         typename W::Acc* part) {
  constexpr bool kRangeChecked = ChecksRange<W>::value;
  const int64_t u0 = plan.begin_unit(b), u1 = plan.end_unit(b);
  typename LaneVec<typename W::Acc>::type max_abs = {};  // per lane, where kRangeChecked
  if (!W::kRunModeOnly && plan.row_mode) {
    if constexpr (kRangeChecked)
      w.RowBlock(u0, u1, part, &max_abs);
    else if constexpr (!W::kRunModeOnly)
      w.RowBlock(u0, u1, part);
  } else {
    const Layout& lay = w.layout;
    for (int64_t i = u0; i < u1;) {
      const int64_t run = i / lay.inner;
      const int64_t end = std::min(u1, (run + 1) * lay.inner);
      if constexpr (kRangeChecked)
        w.Run(i, end, run % lay.channels, part, &max_abs);
      else
        w.Run(i, end, run % lay.channels, part);
      i = end;
    }
  }
  if constexpr (kRangeChecked)
    if (__builtin_expect(!w.eval.InRange(max_abs), 0))
      w.RedoBlockWide(u0 * plan.unit, u1 * plan.unit, plan.row_mode, part);
}

// The clone attribute compiles the block (and everything inlined into it) for AVX2+FMA
// and for baseline x86-64, picked at load time; walkers with Isa::kAvx2Avx512 get an
// AVX-512 clone too, and those with Isa::kAvx512Only are compiled for AVX-512 alone.
template <typename W>
TLA_TARGET_CLONES void WalkLaneBlock(const W& w, const BlockPlan& plan, int64_t b,
                                     typename W::Acc* part) {
  WalkLaneBlockBody(w, plan, b, part);
}
template <typename W>
TLA_TARGET_CLONES_AVX512 void WalkLaneBlockAvx512(const W& w, const BlockPlan& plan, int64_t b,
                                                  typename W::Acc* part) {
  WalkLaneBlockBody(w, plan, b, part);
}
template <typename W>
TLA_TARGET_AVX512 void WalkLaneBlockAvx512Only(const W& w, const BlockPlan& plan, int64_t b,
                                               typename W::Acc* part) {
  WalkLaneBlockBody(w, plan, b, part);
}

// Walks every block with walker w; with W::kGrad the per-block gradient partials go to
// `partials` (to be folded by the caller). Walkers with W::kStreamOut (a `stream` field)
// write outputs of kStreamOutBytes or more with non-temporal stores.
template <typename W>
void WalkBlocks(const W& w, ParamGradPartials<typename W::Acc>* partials, const BlockPlan& plan,
                const ParallelForBlocks& parallel_for) {
  bool stream = false;
  if constexpr (W::kStreamOut)
    stream = w.layout.size() * int64_t{sizeof(*w.out)} >= kStreamOutBytes;
  parallel_for(plan.num_blocks, [&](int64_t begin, int64_t end) {
    // Each task walks its own copy of the walker (and, in LaneWalker, of the evaluator):
    // read from the caller's stack, those fields shared cache lines with the caller's
    // spills while it walked blocks too (ABU per-layer through TensorFlow, 16M float32:
    // 4.1-4.6 -> 3.2 ns/element).
    W local = w;
    if constexpr (W::kStreamOut) local.stream = stream;
    for (int64_t b = begin; b < end; ++b) {
      typename W::Acc* part = W::kGrad ? partials->block(b) : nullptr;
      if constexpr (W::kIsa == Isa::kAvx512Only)
        WalkLaneBlockAvx512Only(local, plan, b, part);
      else if constexpr (W::kIsa == Isa::kAvx2Avx512)
        WalkLaneBlockAvx512(local, plan, b, part);
      else
        WalkLaneBlock(local, plan, b, part);
    }
    if (stream) FenceStreamedStores();
  });
}

// Walks every block of x (and dy) with evaluator `eval`, writing out.
template <typename T, typename E>
void WalkLanes(const Layout& layout, const CoefTable<typename AccOf<T>::type>& coefs, const E& eval,
               const T* x, const T* dy, T* out,
               ParamGradPartials<typename AccOf<T>::type>* partials, const BlockPlan& plan,
               const ParallelForBlocks& parallel_for) {
  using W = LaneWalker<T, E>;
  if constexpr (W::kRowPairs) {
    if (plan.row_mode) {  // PairedRow: coefficients and sums in paired channel order
      CoefTable<typename AccOf<T>::type> paired = coefs;
      paired.PairChannels();
      if (partials != nullptr) partials->UsePairedSlots();
      WalkBlocks(W{layout, paired, eval, x, dy, out}, partials, plan, parallel_for);
      return;
    }
  }
  WalkBlocks(W{layout, coefs, eval, x, dy, out}, partials, plan, parallel_for);
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_LANE_WALKER_H_
