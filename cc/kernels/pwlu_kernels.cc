// PWLU forward/backward on the CPU. One table lookup and one multiply-add per element,
// on lane vectors (the shared block walk of lane_walker.h: same blocks, run/row modes
// and 16-bit conversions as PAU and ABU): the row index is computed for kLanes elements
// at once, then each lane reads its (slope, offset) pair with one 8- or 16-byte load and
// the pairs are shuffled into a slope vector and an offset vector. Measured on the
// 2-core Zen 1 machine (cache-resident, float32, per element): separate slope and offset
// tables read lane by lane 1.39 ns, the pairs 1.04 ns; an AVX2 gather 2.48 ns and an
// in-register permute table 1.43 ns were slower. On AVX-512 a table of up to 32 rows
// fits two registers per column, one permute per 16 lookups: the forward of float
// computation along runs takes that form there (PwluRegisterTableWalker).
//
// Backward adds (dy * x, dy) into per-row bins. Along a run (per-layer, or per-channel
// with inner > 1) every lane has its own bins, so consecutive elements in the same row
// do not wait on each other's store; the lanes are summed in a fixed order at the end of
// the run (deterministic, see param_grad.h). A lane's bin there is 4 values wide, so one
// 4-value add (a load folded into the add) serves it without shuffling its pair out of
// the quarter vector that holds it: per-layer backward 2.56 -> 2.19 ns/element
// cache-resident, 25.4 -> 23.0 ms for 16M elements on 2 threads.
#include "cc/kernels/pwlu_kernels.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "cc/kernels/common/lane_walker.h"
#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/macros.h"

namespace tf_learnact {
namespace {

// Two values of the accumulation type: a table row (slope, offset) or a bin
// (sum of dy * x, sum of dy). aligned(alignof(Acc)): pairs need no wider alignment.
template <typename Acc>
struct PairOf {
  typedef Acc type __attribute__((vector_size(2 * sizeof(Acc)), aligned(alignof(Acc))));
};

// Each channel's intervals / (B_R - B_L): every walker takes the same expression as the
// twin's, so all pick the same row on knots.
template <typename Acc>
std::vector<Acc> InverseWidths(int64_t channels, int intervals, const Acc* left, const Acc* right) {
  std::vector<Acc> inv_width(channels);
  for (int64_t c = 0; c < channels; ++c) inv_width[c] = Acc(intervals) / (right[c] - left[c]);
  return inv_width;
}

// Table row per lane, for lanes of any width: k = clip(floor((x - B_L) / d), -1, N) + 1.
// The comparisons send NaN to row 0 (the output stays NaN: NaN * S + O) and +-Inf to the
// outer rows: never an out-of-range read.
template <typename IV, typename V, typename Acc = decltype(V{}[0] + 0)>
TLA_ALWAYS_INLINE IV RowIndex(V xv, V left, V inv_width, V last_row) {
  const V zero = {};
  V u = (xv - left) * inv_width + Acc(1);  // >= 0 below, so truncation is floor
  u = u >= zero ? u : zero;
  u = u <= last_row ? u : last_row;
  return __builtin_convertvector(u, IV);
}

// Per-channel bounds as 1/width and the table as (slope, offset) rows, [C][rows]. Rows
// take `stride` values: 2 in row mode, where a lane's row is an index into the pairs; 4
// in run mode, where it is the row's byte offset (k times 4 values, shifted in the
// vector before the lanes are read out), which addresses both the table row and the
// lane's gradient bin in one addressing mode each, with no per-lane address arithmetic
// (per-layer backward, 1M float32 on one core: 0.94 -> 0.86 ms; 16M through
// TensorFlow, three alternating runs, best of 40: 11.5-14.0 -> 9.8-11.1 ms).
template <typename Acc>
struct PwluTable {
  using Pair = typename PairOf<Acc>::type;
  int rows = 0, stride = 2;
  std::vector<Acc> left, inv_width;  // [C]
  std::vector<Acc> row_values;       // [C][rows][stride]; a vector of Acc, as Pair's
                                     // alignment attribute would be dropped in a
                                     // template argument

  PwluTable(int64_t channels, int intervals, const Acc* l, const Acc* r, const Acc* s, const Acc* o,
            int row_stride)
      : rows(intervals + 2),
        stride(row_stride),
        left(l, l + channels),
        inv_width(InverseWidths(channels, intervals, l, r)),
        row_values(static_cast<size_t>(stride * channels * rows), Acc(0)) {
    for (size_t i = 0; i < row_values.size() / stride; ++i) {
      row_values[stride * i] = s[i];
      row_values[stride * i + 1] = o[i];
    }
  }
  // left and inv_width in paired channel order (PairedSlot): the lanes of a bfloat16
  // chunk pair in row mode (see PwluWalker::ChunkPair).
  std::vector<Acc> paired_left, paired_inv_width;
  void PairChannels() {
    const int64_t C = static_cast<int64_t>(left.size());
    paired_left.resize(left.size());
    paired_inv_width.resize(left.size());
    for (int64_t c = 0; c < C; ++c) {
      paired_left[PairedSlot(c, C)] = left[c];
      paired_inv_width[PairedSlot(c, C)] = inv_width[c];
    }
  }
  // Channel c's rows of 4 values (run mode) and all channels' pairs (row mode).
  const char* run_rows(int64_t c) const {
    return reinterpret_cast<const char*>(row_values.data() + c * rows * stride);
  }
  const Pair* pairs() const { return reinterpret_cast<const Pair*>(row_values.data()); }
};

template <typename T, bool kGradT>
struct PwluWalker {
  using Acc = typename AccOf<T>::type;
  using Vec = typename LaneVec<Acc>::type;
  using Pair = typename PairOf<Acc>::type;
  typedef Acc Quad __attribute__((vector_size(4 * sizeof(Acc))));
  typedef Acc BinQuad __attribute__((vector_size(4 * sizeof(Acc)), aligned(alignof(Acc))));
  typedef int32_t IVec __attribute__((vector_size(kLanes * 4)));
  typedef int64_t IVec64 __attribute__((vector_size(kLanes * 4)));
  static constexpr bool kGrad = kGradT;
  // An AVX-512 clone measured slower on Zen 4 (backward 0.95 -> 1.2 ms per 1M float32,
  // cache-resident, one core).
  static constexpr Isa kIsa = Isa::kAvx2;
  static constexpr bool kRunModeOnly = false;
  // Non-temporal output stores (see lane_walker.h) measured slower per channel (16M
  // float32, 2 threads, forward 5.4-5.7 -> 6.3-7.1 ms) and no faster per layer.
  static constexpr bool kStreamOut = false;
  static_assert(kLanes == 8, "the pair shuffles below are written for 8 lanes");
  // bfloat16 chunks go in pairs (ChunkPair), along runs and across rows.
  static constexpr bool kPairs = std::is_same_v<T, BFloat16>;

  const Layout& layout;
  const PwluTable<Acc>& table;
  const T* x;
  const T* dy;  // kGrad only
  T* out;       // y, or dx with kGrad

  // Table row per lane (RowIndex) plus lane_base (each lane's table offset, or 0), times
  // 2^kShift. The op bounds the table (at most 2^24 rows, 2^31 - 1 entries), so rows and
  // offsets are exact in float and int32 lanes, and so is 32 k at most in run mode
  // (lane_base 0).
  template <int kShift>
  TLA_ALWAYS_INLINE void Rows(Vec xv, Vec left, Vec inv_width, Vec last_row, IVec lane_base,
                              int64_t (&k)[kLanes]) const {
    ReadRows<kShift>(RowVector(xv, left, inv_width, last_row, lane_base), k);
  }
  // The rows as a vector (before the shift).
  TLA_ALWAYS_INLINE IVec RowVector(Vec xv, Vec left, Vec inv_width, Vec last_row,
                                   IVec lane_base) const {
    return RowIndex<IVec>(xv, left, inv_width, last_row) + lane_base;
  }
  // The rows read out as 64-bit values, two int32 lanes at a time through 64-bit halves
  // (measured 10% faster than one extract per lane).
  template <int kShift>
  static TLA_ALWAYS_INLINE void ReadRows(IVec rows, int64_t (&k)[kLanes]) {
    if constexpr (kShift > 0) rows <<= kShift;
    const IVec64 halves = __builtin_bit_cast(IVec64, rows);
    for (int h = 0; h < kLanes / 2; ++h) {
      k[2 * h] = static_cast<uint32_t>(halves[h]);
      k[2 * h + 1] = halves[h] >> 32;
    }
  }

  // The table seen through Rows' k: run mode (k = the row's byte offset in one channel's
  // rows of 4 values) and row mode (k = the pair's index, lane offsets included).
  struct RunTable {
    static constexpr int kShift = sizeof(Acc) == 4 ? 4 : 5;  // log2 of the row's bytes
    const char* rows;
    TLA_ALWAYS_INLINE Pair At(int64_t k) const { return *reinterpret_cast<const Pair*>(rows + k); }
  };
  struct RowTable {
    static constexpr int kShift = 0;
    const Pair* pairs;
    TLA_ALWAYS_INLINE Pair At(int64_t k) const { return pairs[k]; }
  };

  // Lane l's table row At(k[l]), shuffled into slopes and offsets. Padded lanes (lanes
  // >= len) read nothing and get 0.
  template <bool kFull, typename Table>
  TLA_ALWAYS_INLINE void Lookup(const Table& table, const int64_t (&k)[kLanes], int len,
                                Vec* slopes, Vec* offsets) const {
    if constexpr (kFull) {
      Pair p[kLanes];
      for (int l = 0; l < kLanes; ++l) p[l] = table.At(k[l]);
      const Quad q01 = __builtin_shufflevector(p[0], p[1], 0, 1, 2, 3);
      const Quad q23 = __builtin_shufflevector(p[2], p[3], 0, 1, 2, 3);
      const Quad q45 = __builtin_shufflevector(p[4], p[5], 0, 1, 2, 3);
      const Quad q67 = __builtin_shufflevector(p[6], p[7], 0, 1, 2, 3);
      // [s0 o0 s1 o1 s4 o4 s5 o5] and [s2 o2 s3 o3 s6 o6 s7 o7]: one in-lane shuffle
      // each then separates slopes and offsets in lane order.
      const Vec a = __builtin_shufflevector(q01, q45, 0, 1, 2, 3, 4, 5, 6, 7);
      const Vec b = __builtin_shufflevector(q23, q67, 0, 1, 2, 3, 4, 5, 6, 7);
      *slopes = __builtin_shufflevector(a, b, 0, 2, 8, 10, 4, 6, 12, 14);
      *offsets = __builtin_shufflevector(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
    } else {
      alignas(sizeof(Vec)) Acc s[kLanes] = {}, o[kLanes] = {};
      for (int l = 0; l < len; ++l) {
        const Pair p = table.At(k[l]);
        s[l] = p[0];
        o[l] = p[1];
      }
      *slopes = LoadVec<Vec>(s);
      *offsets = LoadVec<Vec>(o);
    }
  }

  // y, or dx with kGrad, of the lanes xv (and dyv) with `len` real lanes; with kGrad lane
  // l's (dy * x, dy) is added to its bin for row k[l] (Bins: LaneBins or RowBins below,
  // NoBins forward).
  template <bool kFull, typename Table, typename Bins>
  TLA_ALWAYS_INLINE Vec Eval(Vec xv, Vec dyv, int len, Vec left, Vec inv_width, Vec last_row,
                             IVec lane_base, const Table& table, const Bins& bins) const {
    int64_t k[kLanes];
    Rows<Table::kShift>(xv, left, inv_width, last_row, lane_base, k);
    return Apply<kFull>(xv, dyv, k, len, table, bins);
  }
  // Eval once the rows k are known.
  template <bool kFull, typename Table, typename Bins>
  TLA_ALWAYS_INLINE Vec Apply(Vec xv, Vec dyv, const int64_t (&k)[kLanes], int len,
                              const Table& table, const Bins& bins) const {
    Vec slopes, offsets;
    Lookup<kFull>(table, k, len, &slopes, &offsets);
    if constexpr (!kGrad) {
      return xv * slopes + offsets;
    } else {
      // (dy * x, dy) pairs of lanes 0 1 4 5 and 2 3 6 7.
      const Vec gx = dyv * xv;
      const Vec lo = __builtin_shufflevector(gx, dyv, 0, 8, 1, 9, 4, 12, 5, 13);
      const Vec hi = __builtin_shufflevector(gx, dyv, 2, 10, 3, 11, 6, 14, 7, 15);
      bins.Add(k, lo, hi, kFull ? kLanes : len);
      return dyv * slopes;
    }
  }
  // The backward's `count` full chunks from element i, one chunk ahead: the next chunk's
  // inputs are loaded and its row vector computed (`rows_of(element, lane offsets, &xv,
  // &dyv)`, the offsets stepped by lane_step per chunk) before this chunk's rows are read
  // out, looked up and added into their bins. A chunk's chain from its loads to its bin
  // updates is some 50 cycles of latency against about 26 of issue, so the core's window
  // held two or three chunks; with the first part of each chain in the iteration before,
  // it holds more. Two builds in one binary (bench_kernels.py --against), backward, 16M
  // float32 on 2 threads: per layer 0.84-0.89x, per channel 0.91-0.96x (three runs on a
  // busy machine); 1M on one core 0.89x and 0.90x. Not for bfloat16 pairs, nor for the
  // forward, which measured no faster from memory (per channel 1.00-1.10x).
  template <typename Table, typename Bins, typename RowsOf>
  TLA_ALWAYS_INLINE void GradChunksAhead(int64_t i, int64_t count, IVec lanes, IVec lane_step,
                                         const RowsOf& rows_of, const Table& table,
                                         const Bins& bins) const {
    const auto finish = [&](int64_t at, Vec xv, Vec dyv, IVec rows) {
      int64_t k[kLanes];
      ReadRows<Table::kShift>(rows, k);
      StoreLanes<true>(out, at, kLanes, Apply<true>(xv, dyv, k, kLanes, table, bins));
    };
    Vec xv, dyv;
    IVec rows = rows_of(i, lanes, &xv, &dyv);
    for (int64_t j = 1; j < count; ++j, i += kLanes) {
      lanes += lane_step;
      Vec next_xv, next_dyv;
      const IVec next_rows = rows_of(i + kLanes, lanes, &next_xv, &next_dyv);
      finish(i, xv, dyv, rows);
      rows = next_rows;
      xv = next_xv;
      dyv = next_dyv;
    }
    finish(i, xv, dyv, rows);
  }
  // The chunk of lanes i.. (len of them real).
  template <bool kFull, typename Table, typename Bins>
  TLA_ALWAYS_INLINE void Chunk(int64_t i, int len, Vec left, Vec inv_width, Vec last_row,
                               IVec lane_base, const Table& table, const Bins& bins) const {
    const Vec xv = LoadLanes<kFull>(x, i, len);
    const Vec dyv = kGrad ? LoadLanes<kFull>(dy, i, len) : Vec{};
    StoreLanes<kFull>(out, i, len,
                      Eval<kFull>(xv, dyv, len, left, inv_width, last_row, lane_base, table, bins));
  }
  // Two bfloat16 chunks from i, their lanes holding the even and the odd elements (see
  // HalfLanes::FromBFloat16Pair), with each chunk's bounds and lane offsets: along a run
  // every lane has the run's table and its own bins, so any element may go to any lane;
  // in row mode chunk h's lane l is channel c0 + 2 l + h, its bounds from the paired
  // copies (PwluTable::PairChannels) and its table and bins from lane_base[h].
  template <typename Table, typename Bins>
  TLA_ALWAYS_INLINE void ChunkPair(int64_t i, const Vec (&left)[2], const Vec (&inv_width)[2],
                                   Vec last_row, const IVec (&lane_base)[2], const Table& table,
                                   const Bins& bins) const {
    Vec xv[2], dyv[2] = {};
    HalfLanes::FromBFloat16Pair(x + i, &xv[0], &xv[1]);
    if constexpr (kGrad) HalfLanes::FromBFloat16Pair(dy + i, &dyv[0], &dyv[1]);
    Vec ov[2];
    for (int h = 0; h < 2; ++h)
      ov[h] = Eval<true>(xv[h], dyv[h], kLanes, left[h], inv_width[h], last_row, lane_base[h],
                         table, bins);
    HalfLanes::ToBFloat16Pair(out + i, ov[0], ov[1], false);
  }

  // Run mode: [rows][kLanes] lane-private bins of 4 values, lane l's for the row at
  // table byte offset k (Rows' k) at byte 8 k + l sizeof(BinQuad). Lane l's sums are
  // values 2 (l % 2) and 2 (l % 2) + 1 of its bin; the other two collect its neighbour's
  // pair, as the whole quarter of lo/hi holding both is added, and are never read.
  struct LaneBins {
    BinQuad* bins;
    TLA_ALWAYS_INLINE void Add(const int64_t (&k)[kLanes], Vec lo, Vec hi, int count) const {
      const Quad quarters[kLanes / 2] = {
          __builtin_shufflevector(lo, lo, 0, 1, 2, 3), __builtin_shufflevector(hi, hi, 0, 1, 2, 3),
          __builtin_shufflevector(lo, lo, 4, 5, 6, 7), __builtin_shufflevector(hi, hi, 4, 5, 6, 7)};
      char* bytes = reinterpret_cast<char*>(bins);
      for (int l = 0; l < count; ++l)
        *reinterpret_cast<BinQuad*>(bytes + k[l] * 8 + l * sizeof(BinQuad)) += quarters[l / 2];
    }
    Pair Sum(int64_t row, int l) const {
      const BinQuad& b = bins[row * kLanes + l];
      return l % 2 == 0 ? Pair{b[0], b[1]} : Pair{b[2], b[3]};
    }
  };
  static_assert(sizeof(BinQuad) * kLanes == 8 << RunTable::kShift, "bins and k disagree");
  // Row mode: lane l's bin is pair k[l] of the block partials ([C][rows] pairs), k[l]
  // holding the lane's table offset as for the lookup.
  struct RowBins {
    Pair* bins;
    TLA_ALWAYS_INLINE void Add(const int64_t (&k)[kLanes], Vec lo, Vec hi, int count) const {
      const Pair g[kLanes] = {
          __builtin_shufflevector(lo, lo, 0, 1), __builtin_shufflevector(lo, lo, 2, 3),
          __builtin_shufflevector(hi, hi, 0, 1), __builtin_shufflevector(hi, hi, 2, 3),
          __builtin_shufflevector(lo, lo, 4, 5), __builtin_shufflevector(lo, lo, 6, 7),
          __builtin_shufflevector(hi, hi, 4, 5), __builtin_shufflevector(hi, hi, 6, 7)};
      for (int l = 0; l < count; ++l) bins[k[l]] += g[l];
    }
  };
  struct NoBins {};  // forward
  using RunBins = std::conditional_t<kGrad, LaneBins, NoBins>;
  using RowModeBins = std::conditional_t<kGrad, RowBins, NoBins>;

  // Channel c's run [i, end): lanes across elements, each lane with its own bins.
  TLA_ALWAYS_INLINE void Run(int64_t i, int64_t end, int64_t c, Acc* part) const {
    const Vec left = Vec{} + table.left[c], inv_width = Vec{} + table.inv_width[c];
    const int64_t rows = table.rows;
    // Passed down as a value: read from the table in every chunk, it was reloaded and
    // converted after each 16-bit store (may_alias: the store may alias the table);
    // bfloat16 forward, 16M through TensorFlow: 7.3-7.6 -> 7.0-7.2 ms.
    const Vec last_row = Vec{} + Acc(rows - 1);
    const RunTable run_table{table.run_rows(c)};
    thread_local std::vector<Acc> lane_bins;  // [rows][kLanes][4], reused across runs
    RunBins bins{};
    if constexpr (kGrad) {
      lane_bins.assign(static_cast<size_t>(4 * rows * kLanes), Acc(0));
      bins.bins = reinterpret_cast<BinQuad*>(lane_bins.data());
    }
    if constexpr (kPairs)
      for (; i + 2 * kLanes <= end; i += 2 * kLanes) {
        PrefetchInputs(i);
        ChunkPair(i, {left, left}, {inv_width, inv_width}, last_row, {IVec{}, IVec{}}, run_table,
                  bins);
      }
    if constexpr (kGrad && !kPairs) {
      const int64_t count = (end - i) / kLanes;
      if (count > 0) {
        GradChunksAhead(
            i, count, IVec{}, IVec{},
            [&](int64_t at, IVec lanes, Vec* xv, Vec* dyv) {
              PrefetchInputs(at);
              *xv = LoadLanes<true>(x, at, kLanes);
              *dyv = LoadLanes<true>(dy, at, kLanes);
              return RowVector(*xv, left, inv_width, last_row, lanes);
            },
            run_table, bins);
        i += count * kLanes;
      }
    }
    for (; i + kLanes <= end; i += kLanes)
      Chunk<true>(i, kLanes, left, inv_width, last_row, IVec{}, run_table, bins);
    if (i < end)
      Chunk<false>(i, static_cast<int>(end - i), left, inv_width, last_row, IVec{}, run_table,
                   bins);
    if constexpr (kGrad) {
      // part is [C][rows] pairs: lanes summed in lane order.
      Pair* part_pairs = reinterpret_cast<Pair*>(part) + c * rows;
      for (int64_t k = 0; k < rows; ++k) {
        Pair sum = {};
        for (int l = 0; l < kLanes; ++l) sum += bins.Sum(k, l);
        part_pairs[k] += sum;
      }
    }
  }

  // Rows [r0, r1) of a block in row mode, one after another.
  TLA_ALWAYS_INLINE void RowBlock(int64_t r0, int64_t r1, Acc* part) const {
    for (int64_t r = r0; r < r1; ++r) Row(r * layout.channels, part);
  }

  // The backward's rows load x and dy kPrefetchBytes ahead into L1 with a software
  // prefetch per chunk. The hardware prefetchers alone left those loads waiting, which
  // the table lookups and bin updates between them could not hide (16M float32 on 2
  // threads, backward: 8 channels 14.8 -> 11.0 ms, 64: 12.2-12.4 -> 10.8, 256: 14.9 ->
  // 14.6, 2048: 17.1 -> 16.5; 1 KiB ahead gained less, 4 KiB almost nothing). The
  // forward, runs and bfloat16 pairs prefetch too: on Zen 4 they had measured no gain
  // (forward, 64 channels 4.20 -> 4.38 ms; runs, per layer 9.67 -> 10.04), but on the
  // Intel Xeon (AVX-512, 2 MiB L2 per core) the hardware prefetchers left them waiting:
  // 16M on 2 threads, ratio new/old in one binary (bench_kernels.py --against), float32
  // per channel forward 0.58-0.60, per layer backward 0.75-0.79; bfloat16 per channel
  // forward 0.73-0.77. (Gathering each 16 elements' slopes and offsets with AVX-512
  // vgatherdps instead of the pair loads and shuffles gained 4% more there: not kept.)
  static constexpr int64_t kPrefetchBytes = 2048;
  TLA_ALWAYS_INLINE void PrefetchInputs(int64_t i) const {
    PrefetchAhead(x + i, kPrefetchBytes);
    if constexpr (kGrad) PrefetchAhead(dy + i, kPrefetchBytes);
  }

  // Row of channels-last elements starting at `base`: lanes across channels, lane l of
  // chunk c0 reading channel c0 + l's table row and accumulating into the block's
  // partials directly (distinct channels: no two lanes share a bin).
  TLA_ALWAYS_INLINE void Row(int64_t base, Acc* part) const {
    const int64_t C = layout.channels, rows = table.rows;
    const Vec last_row = Vec{} + Acc(rows - 1);
    // Each lane's table offset ((c0 + l) * rows, also its bin's) is added to its row
    // index in one vector add (a vector stepped per chunk): computed per lane from a
    // pointer per chunk, the offsets took eight scalar adds and spills (cache-resident,
    // one core, 1M float32, C = 64: forward 0.65 -> 0.51 ms).
    const int32_t rows32 = static_cast<int32_t>(rows);
    IVec lane_base = IVec{0, 1, 2, 3, 4, 5, 6, 7} * rows32;
    const IVec lane_step = IVec{} + kLanes * rows32;
    const RowTable row_table{table.pairs()};
    RowModeBins bins{};
    if constexpr (kGrad) bins.bins = reinterpret_cast<Pair*>(part);
    int64_t c0 = 0;
    if constexpr (kPairs) {
      const IVec even_base = IVec{0, 2, 4, 6, 8, 10, 12, 14} * rows32;
      IVec pair_base[2] = {even_base, even_base + rows32};
      const Acc* left = table.paired_left.data();
      const Acc* inv_width = table.paired_inv_width.data();
      for (; c0 + 2 * kLanes <= C; c0 += 2 * kLanes, lane_base += 2 * lane_step) {
        PrefetchInputs(base + c0);
        ChunkPair(base + c0, {LoadVec<Vec>(left + c0), LoadVec<Vec>(left + c0 + kLanes)},
                  {LoadVec<Vec>(inv_width + c0), LoadVec<Vec>(inv_width + c0 + kLanes)}, last_row,
                  pair_base, row_table, bins);
        for (IVec& b : pair_base) b += 2 * lane_step;
      }
    }
    if constexpr (kGrad && !kPairs) {
      const int64_t count = (C - c0) / kLanes;
      if (count > 0) {
        GradChunksAhead(
            base + c0, count, lane_base, lane_step,
            [&](int64_t at, IVec lanes, Vec* xv, Vec* dyv) {
              const int64_t c = at - base;
              PrefetchInputs(at);
              *xv = LoadLanes<true>(x, at, kLanes);
              *dyv = LoadLanes<true>(dy, at, kLanes);
              return RowVector(*xv, LoadVec<Vec>(table.left.data() + c),
                               LoadVec<Vec>(table.inv_width.data() + c), last_row, lanes);
            },
            row_table, bins);
        c0 += count * kLanes;
        lane_base += static_cast<int32_t>(count) * lane_step;
      }
    }
    for (; c0 + kLanes <= C; c0 += kLanes, lane_base += lane_step) {
      PrefetchInputs(base + c0);
      Chunk<true>(base + c0, kLanes, LoadVec<Vec>(table.left.data() + c0),
                  LoadVec<Vec>(table.inv_width.data() + c0), last_row, lane_base, row_table, bins);
    }
    if (c0 < C) {  // channel tail
      const int len = static_cast<int>(C - c0);
      alignas(sizeof(Vec)) Acc left[kLanes], inv_width[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        left[l] = l < len ? table.left[c0 + l] : Acc(0);
        inv_width[l] = l < len ? table.inv_width[c0 + l] : Acc(0);
      }
      Chunk<false>(base + c0, len, LoadVec<Vec>(left), LoadVec<Vec>(inv_width), last_row, lane_base,
                   row_table, bins);
    }
  }
};

// The forward of float computation along runs (per layer, or per channel with inner >
// 1) with a channel's table of at most 32 rows in four 16-float registers, on CPUs with
// AVX-512: each 16 elements' rows pick their slopes and offsets with one two-register
// permute each (vpermt2ps), where PwluWalker reads each lane's pair from memory and
// shuffles the pairs apart. The row formula, the multiply-add and the 16-bit
// conversions are PwluWalker's, so every element gets the same bits. Large float32
// outputs go out past the caches, as PAU's forward's do: bound by its lookups,
// PwluWalker's forward had not gained from that. GCC only (its variable-index
// __builtin_shuffle), as are the AVX-512 targets (TLA_HAVE_TARGET_AVX512).
#if TLA_HAVE_TARGET_AVX512
template <typename T>
struct PwluRegisterTableWalker {
  using Acc = float;
  typedef float W __attribute__((vector_size(64)));
  typedef int32_t WI __attribute__((vector_size(64)));
  static constexpr int kWide = 2 * kLanes, kTableRows = 32;
  static constexpr bool kGrad = false, kStreamOut = std::is_same_v<T, float>, kRunModeOnly = true;
  static constexpr Isa kIsa = Isa::kAvx512Only;

  // Whether the forward takes this walk: float computation, runs, a table that fits, and
  // AVX-512.
  static bool Applies(const BlockPlan& plan, int rows) {
    return std::is_same_v<typename AccOf<T>::type, float> && !plan.row_mode && rows <= kTableRows &&
           CpuHasAvx512();
  }

  // Each channel's slopes then offsets, kTableRows each (rows past the table are 0 and
  // never picked: the row index stops at the last row).
  struct Table {
    int rows;
    std::vector<float> left, inv_width, values;  // [C], [C], [C][2][kTableRows]
    Table(int64_t channels, int intervals, const float* l, const float* r, const float* s,
          const float* o)
        : rows(intervals + 2),
          left(l, l + channels),
          inv_width(InverseWidths(channels, intervals, l, r)),
          values(static_cast<size_t>(channels * 2 * kTableRows), 0.f) {
      for (int64_t c = 0; c < channels; ++c) {
        for (int k = 0; k < rows; ++k) {
          values[(2 * c) * kTableRows + k] = s[c * rows + k];
          values[(2 * c + 1) * kTableRows + k] = o[c * rows + k];
        }
      }
    }
  };

  const Layout& layout;
  const Table& table;
  const T* x;
  T* out;
  bool stream = false;  // set by WalkBlocks

  // kWide elements from p as floats, and back (LoadLanes and StoreFullLanes on each half).
  static TLA_ALWAYS_INLINE W Load(const T* p) {
    return JoinLanes(LoadLanes<true>(p, 0, kLanes), LoadLanes<true>(p, kLanes, kLanes));
  }
  TLA_ALWAYS_INLINE void Store(T* p, W y) const {
    LaneVec<float>::type lo, hi;
    SplitLanes(y, &lo, &hi);
    StoreFullLanes(p, 0, lo, kStreamOut && stream);
    StoreFullLanes(p, kLanes, hi, kStreamOut && stream);
  }

  TLA_ALWAYS_INLINE void Run(int64_t i, int64_t end, int64_t c, float*) const {
    const float* v = table.values.data() + 2 * c * kTableRows;
    const W s_lo = LoadVec<W>(v), s_hi = LoadVec<W>(v + kWide);
    const W o_lo = LoadVec<W>(v + kTableRows), o_hi = LoadVec<W>(v + kTableRows + kWide);
    const W left = W{} + table.left[c], inv_width = W{} + table.inv_width[c];
    const W last_row = W{} + float(table.rows - 1);
    auto eval = [&](W xv) TLA_ALWAYS_INLINE_LAMBDA {
      const WI k = RowIndex<WI>(xv, left, inv_width, last_row);
      return xv * __builtin_shuffle(s_lo, s_hi, k) + __builtin_shuffle(o_lo, o_hi, k);
    };
    for (; i + kWide <= end; i += kWide) {
      // As PwluWalker's (see its kPrefetchBytes): on the Intel Xeon, 16M on 2 threads,
      // ratio new/old float32 0.90, bfloat16 0.84.
      PrefetchAhead(x + i, PwluWalker<T, false>::kPrefetchBytes);
      Store(out + i, eval(Load(x + i)));
    }
    if (i < end) {  // the run's tail, padded with zeros
      const int len = static_cast<int>(end - i);
      alignas(64) float lanes[kWide] = {};
      for (int l = 0; l < len; ++l) lanes[l] = ToAcc(x[i + l]);
      StoreVec(lanes, eval(LoadVec<W>(lanes)));
      for (int l = 0; l < len; ++l) out[i + l] = FromAcc<T>(lanes[l]);
    }
  }
};
#endif  // TLA_HAVE_TARGET_AVX512

// The table for the walk's mode (row stride, and paired bounds for bfloat16 rows: see
// PwluTable).
template <typename T, typename Acc>
PwluTable<Acc> MakeTable(const BlockPlan& plan, int64_t channels, int intervals, const Acc* left,
                         const Acc* right, const Acc* slopes, const Acc* offsets) {
  PwluTable<Acc> table(channels, intervals, left, right, slopes, offsets, plan.row_mode ? 2 : 4);
  if (PwluWalker<T, false>::kPairs && plan.row_mode) table.PairChannels();
  return table;
}

}  // namespace

template <typename T>
void PwluForward(const Layout& layout, int intervals, const T* x,
                 const typename AccOf<T>::type* left, const typename AccOf<T>::type* right,
                 const typename AccOf<T>::type* slopes, const typename AccOf<T>::type* offsets,
                 T* y, const ParallelForBlocks& parallel_for) {
  const BlockPlan plan = MakeBlockPlan(layout);
  if (plan.num_blocks == 0) return;
#if TLA_HAVE_TARGET_AVX512
  if constexpr (std::is_same_v<typename AccOf<T>::type, float>) {
    using R = PwluRegisterTableWalker<T>;
    if (R::Applies(plan, intervals + 2)) {
      const typename R::Table table(layout.channels, intervals, left, right, slopes, offsets);
      WalkBlocks(R{layout, table, x, y}, nullptr, plan, parallel_for);
      return;
    }
  }
#endif
  const auto table = MakeTable<T>(plan, layout.channels, intervals, left, right, slopes, offsets);
  WalkBlocks(PwluWalker<T, false>{layout, table, x, nullptr, y}, nullptr, plan, parallel_for);
}

template <typename T>
void PwluBackward(const Layout& layout, int intervals, const T* dy, const T* x,
                  const typename AccOf<T>::type* left, const typename AccOf<T>::type* right,
                  const typename AccOf<T>::type* slopes, const typename AccOf<T>::type* offsets,
                  T* dx, typename AccOf<T>::type* d_slopes, typename AccOf<T>::type* d_offsets,
                  const ParallelForBlocks& parallel_for) {
  using Acc = typename AccOf<T>::type;
  const int rows = intervals + 2;
  const int64_t C = layout.channels;
  const BlockPlan plan =
      MakeBlockPlan(layout, ParamGradPartials<Acc>::ValuesPerBlock(2 * C * rows, 1));
  std::vector<Acc> sums(static_cast<size_t>(C * 2 * rows), Acc(0));
  if (plan.num_blocks > 0) {
    const auto table = MakeTable<T>(plan, C, intervals, left, right, slopes, offsets);
    // part is [C][rows] (sum(dy * x), sum(dy)) pairs per block, folded as they lie.
    ParamGradPartials<Acc> partials(plan.num_blocks, 2 * C * rows, 1);
    WalkBlocks(PwluWalker<T, true>{layout, table, x, dy, dx}, &partials, plan, parallel_for);
    partials.FoldInto(plan.num_blocks, sums.data());
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int k = 0; k < rows; ++k) {
      d_slopes[c * rows + k] = sums[2 * (c * rows + k)];
      d_offsets[c * rows + k] = sums[2 * (c * rows + k) + 1];
    }
  }
}

#define TLA_INSTANTIATE_PWLU(T)                                                                \
  template void PwluForward<T>(const Layout&, int, const T*, const AccOf<T>::type*,            \
                               const AccOf<T>::type*, const AccOf<T>::type*,                   \
                               const AccOf<T>::type*, T*, const ParallelForBlocks&);           \
  template void PwluBackward<T>(const Layout&, int, const T*, const T*, const AccOf<T>::type*, \
                                const AccOf<T>::type*, const AccOf<T>::type*,                  \
                                const AccOf<T>::type*, T*, AccOf<T>::type*, AccOf<T>::type*,   \
                                const ParallelForBlocks&);
TLA_INSTANTIATE_PWLU(float)
TLA_INSTANTIATE_PWLU(double)
TLA_INSTANTIATE_PWLU(Half16)
TLA_INSTANTIATE_PWLU(BFloat16)
#undef TLA_INSTANTIATE_PWLU

}  // namespace tf_learnact
