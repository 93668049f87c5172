// PWLU forward/backward on the CPU. One table lookup and one multiply-add per element,
// on lane vectors (the shared block walk of lane_walker.h: same blocks, run/row modes
// and 16-bit conversions as PAU and ABU): the row index is computed for kLanes elements
// at once, the table is read per lane.
//
// Backward scatters dy * x and dy into per-row bins. Along a run (per-layer, or
// per-channel with inner > 1) every lane has its own bins, so consecutive elements in
// the same row do not wait on each other's store; the lanes are summed in a fixed order
// at the end of the run (deterministic, see param_grad.h).
#include "cc/kernels/pwlu_kernels.h"

#include <algorithm>
#include <vector>

#include "cc/kernels/common/lane_walker.h"
#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/macros.h"

namespace tf_learnact {
namespace {

// Per-channel bounds as 1/width and the table, [C][rows] each.
template <typename Acc>
struct PwluTable {
  int rows = 0;
  std::vector<Acc> left, inv_width;  // [C]
  const Acc* slopes = nullptr;
  const Acc* offsets = nullptr;

  PwluTable(int64_t channels, int intervals, const Acc* l, const Acc* r, const Acc* s, const Acc* o)
      : rows(intervals + 2), left(l, l + channels), inv_width(channels), slopes(s), offsets(o) {
    // The same expression as the twin's, so both pick the same row on knots.
    for (int64_t c = 0; c < channels; ++c) inv_width[c] = Acc(intervals) / (r[c] - l[c]);
  }
};

template <typename T, bool kGradT>
struct PwluWalker {
  using Acc = typename AccOf<T>::type;
  using Vec = typename LaneVec<Acc>::type;
  typedef int32_t IVec __attribute__((vector_size(kLanes * 4)));
  static constexpr bool kGrad = kGradT;

  const Layout& layout;
  const PwluTable<Acc>& table;
  const T* x;
  const T* dy;  // kGrad only
  T* out;       // y, or dx with kGrad

  // Table row per lane: k = clip(floor((x - B_L) / d), -1, N) + 1. The comparisons send
  // NaN to row 0 (the output stays NaN: NaN * S + O) and +-Inf to the outer rows: never
  // an out-of-range read.
  TLA_ALWAYS_INLINE IVec Rows(Vec xv, Vec left, Vec inv_width) const {
    const Vec zero = {};
    Vec u = (xv - left) * inv_width + Acc(1);  // >= 0 below, so truncation is floor
    u = u >= zero ? u : zero;
    u = u <= Acc(table.rows - 1) ? u : zero + Acc(table.rows - 1);
    return __builtin_convertvector(u, IVec);
  }

  // Lane l reads row k[l] of slopes/offsets + l * lane_stride (lane_stride 0: one
  // channel for all lanes). Writes y, or dx with kGrad, when lane l's dy * x and dy go
  // to bins[k[l] * bin_stride + l] and bins[(rows + k[l]) * bin_stride + l].
  template <bool kFull>
  TLA_ALWAYS_INLINE void Chunk(int64_t i, int len, Vec left, Vec inv_width, const Acc* slopes,
                               const Acc* offsets, int64_t lane_stride, Acc* bins,
                               int64_t bin_stride) const {
    const int lanes = kFull ? kLanes : len;  // padded lanes read no table
    const Vec xv = LoadLanes<kFull>(x, i, len);
    const IVec k = Rows(xv, left, inv_width);
    alignas(sizeof(Vec)) Acc s[kLanes] = {}, o[kLanes] = {};
    for (int l = 0; l < lanes; ++l) s[l] = slopes[l * lane_stride + k[l]];
    if constexpr (!kGrad) {
      for (int l = 0; l < lanes; ++l) o[l] = offsets[l * lane_stride + k[l]];
      StoreLanes<kFull>(out, i, len, xv * LoadVec<Vec>(s) + LoadVec<Vec>(o));
    } else {
      const Vec dyv = LoadLanes<kFull>(dy, i, len);
      StoreLanes<kFull>(out, i, len, dyv * LoadVec<Vec>(s));
      alignas(sizeof(Vec)) Acc gx[kLanes], g[kLanes];
      StoreVec(gx, dyv * xv);
      StoreVec(g, dyv);
      const int64_t rows = table.rows;
      for (int l = 0; l < lanes; ++l) {
        bins[k[l] * bin_stride + l] += gx[l];
        bins[(rows + k[l]) * bin_stride + l] += g[l];
      }
    }
  }

  // Channel c's run [i, end): lanes across elements, each lane with its own bins.
  TLA_ALWAYS_INLINE void Run(int64_t i, int64_t end, int64_t c, Acc* part) const {
    const Vec left = Vec{} + table.left[c], inv_width = Vec{} + table.inv_width[c];
    const int64_t rows = table.rows;
    const Acc* slopes = table.slopes + c * rows;
    const Acc* offsets = table.offsets + c * rows;
    thread_local std::vector<Acc> lane_bins;  // [2 * rows][kLanes], reused across runs
    Acc* bins = nullptr;
    if constexpr (kGrad) {
      lane_bins.assign(static_cast<size_t>(2 * rows * kLanes), Acc(0));
      bins = lane_bins.data();
    }
    for (; i + kLanes <= end; i += kLanes)
      Chunk<true>(i, kLanes, left, inv_width, slopes, offsets, 0, bins, kLanes);
    if (i < end)
      Chunk<false>(i, static_cast<int>(end - i), left, inv_width, slopes, offsets, 0, bins, kLanes);
    if constexpr (kGrad) AddLaneSums(bins, 2 * rows, part, layout.channels, c);
  }

  // Row of channels-last elements starting at `base`: lanes across channels, lane l of
  // chunk c0 reading channel c0 + l's table row and accumulating into part directly
  // (distinct channels: no two lanes share a bin).
  TLA_ALWAYS_INLINE void Row(int64_t base, Acc* part) const {
    const int64_t C = layout.channels, rows = table.rows;
    int64_t c0 = 0;
    for (; c0 + kLanes <= C; c0 += kLanes)
      Chunk<true>(base + c0, kLanes, LoadVec<Vec>(table.left.data() + c0),
                  LoadVec<Vec>(table.inv_width.data() + c0), table.slopes + c0 * rows,
                  table.offsets + c0 * rows, rows, part + c0, C);
    if (c0 < C) {  // channel tail
      const int len = static_cast<int>(C - c0);
      alignas(sizeof(Vec)) Acc left[kLanes], inv_width[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        left[l] = l < len ? table.left[c0 + l] : Acc(0);
        inv_width[l] = l < len ? table.inv_width[c0 + l] : Acc(0);
      }
      Chunk<false>(base + c0, len, LoadVec<Vec>(left), LoadVec<Vec>(inv_width),
                   table.slopes + c0 * rows, table.offsets + c0 * rows, rows, part + c0, C);
    }
  }
};

}  // namespace

template <typename T>
void PwluForward(const Layout& layout, int intervals, const T* x,
                 const typename AccOf<T>::type* left, const typename AccOf<T>::type* right,
                 const typename AccOf<T>::type* slopes, const typename AccOf<T>::type* offsets,
                 T* y, const ParallelForBlocks& parallel_for) {
  const BlockPlan plan = MakeBlockPlan(layout);
  if (plan.num_blocks == 0) return;
  const PwluTable<typename AccOf<T>::type> table(layout.channels, intervals, left, right, slopes,
                                                 offsets);
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
  const BlockPlan plan = MakeBlockPlan(layout);
  std::vector<Acc> sums(static_cast<size_t>(C * 2 * rows), Acc(0));
  if (plan.num_blocks > 0) {
    const PwluTable<Acc> table(C, intervals, left, right, slopes, offsets);
    // part is [2 * rows][C] per block: sum(dy * x) in rows 0..rows-1, sum(dy) after them.
    ParamGradPartials<Acc> partials(plan.num_blocks, 2 * rows, C);
    WalkBlocks(PwluWalker<T, true>{layout, table, x, dy, dx}, &partials, plan, parallel_for);
    partials.FoldInto(plan.num_blocks, sums.data());  // [C][2 * rows]
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int k = 0; k < rows; ++k) {
      d_slopes[c * rows + k] = sums[c * 2 * rows + k];
      d_offsets[c * rows + k] = sums[c * 2 * rows + rows + k];
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
