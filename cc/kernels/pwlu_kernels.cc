// PWLU forward/backward on the CPU. One table lookup and one multiply-add per element;
// backward scatters dy * x and dy into per-block, per-row bins (deterministic: fixed
// blocks, each summed in element order, folded in block order).
#include "cc/kernels/pwlu_kernels.h"

#include <algorithm>
#include <vector>

#include "cc/kernels/common/macros.h"

namespace tf_learnact {
namespace {

// Table row of x: k = clip(floor((x - B_L) * inv_width), -1, N) + 1. Comparisons are
// written so that NaN lands on row 0 (the output stays NaN: NaN * S + O), and +-Inf
// on the outer rows: never an out-of-range read.
template <typename Acc>
TLA_ALWAYS_INLINE int TableRow(Acc x, Acc left, Acc inv_width, int intervals) {
  Acc u = (x - left) * inv_width + Acc(1);  // >= 0 below, so truncation is floor
  u = u >= Acc(0) ? u : Acc(0);
  u = u <= Acc(intervals + 1) ? u : Acc(intervals + 1);
  return static_cast<int>(u);
}

template <typename Acc>
struct Channel {
  Acc left, inv_width;
  const Acc* slopes;
  const Acc* offsets;
};

template <typename Acc>
std::vector<Channel<Acc>> MakeChannels(int64_t channels, int intervals, const Acc* left,
                                       const Acc* right, const Acc* slopes, const Acc* offsets) {
  std::vector<Channel<Acc>> out(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    // The same expression as the twin's, so both pick the same row on knots.
    out[c] = {left[c], Acc(intervals) / (right[c] - left[c]), slopes + c * (intervals + 2),
              offsets + c * (intervals + 2)};
  }
  return out;
}

template <typename T>
TLA_TARGET_CLONES void ForwardBlock(const Layout& lay, const BlockPlan& plan, int64_t b,
                                    int intervals,
                                    const std::vector<Channel<typename AccOf<T>::type>>& ch,
                                    const T* x, T* y) {
  ForEachElementInBlock(lay, plan, b, [&](int64_t i, int64_t c) {
    const auto& p = ch[c];
    const auto xi = ToAcc(x[i]);
    const int k = TableRow(xi, p.left, p.inv_width, intervals);
    y[i] = FromAcc<T>(xi * p.slopes[k] + p.offsets[k]);
  });
}

template <typename T>
TLA_TARGET_CLONES void BackwardBlock(const Layout& lay, const BlockPlan& plan, int64_t b,
                                     int intervals,
                                     const std::vector<Channel<typename AccOf<T>::type>>& ch,
                                     const T* dy, const T* x, T* dx,
                                     typename AccOf<T>::type* part) {
  const int rows = intervals + 2;
  const int64_t C = lay.channels;
  // part is [2 * rows][C]: sum(dy * x) in rows 0..rows-1, sum(dy) after them.
  ForEachElementInBlock(lay, plan, b, [&](int64_t i, int64_t c) {
    const auto& p = ch[c];
    const auto xi = ToAcc(x[i]), g = ToAcc(dy[i]);
    const int k = TableRow(xi, p.left, p.inv_width, intervals);
    dx[i] = FromAcc<T>(g * p.slopes[k]);
    part[k * C + c] += g * xi;
    part[(rows + k) * C + c] += g;
  });
}

}  // namespace

template <typename T>
void PwluForward(const Layout& layout, int intervals, const T* x,
                 const typename AccOf<T>::type* left, const typename AccOf<T>::type* right,
                 const typename AccOf<T>::type* slopes, const typename AccOf<T>::type* offsets,
                 T* y, const ParallelForBlocks& parallel_for) {
  const BlockPlan plan = MakeBlockPlan(layout);
  if (plan.num_blocks == 0) return;
  const auto ch = MakeChannels(layout.channels, intervals, left, right, slopes, offsets);
  parallel_for(plan.num_blocks, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) ForwardBlock<T>(layout, plan, b, intervals, ch, x, y);
  });
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
    const auto ch = MakeChannels(C, intervals, left, right, slopes, offsets);
    ParamGradPartials<Acc> partials(plan.num_blocks, 2 * rows, C);
    parallel_for(plan.num_blocks, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b)
        BackwardBlock<T>(layout, plan, b, intervals, ch, dy, x, dx, partials.block(b));
    });
    partials.FoldInto(plan.num_blocks, sums.data());  // [C][2 * rows]
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int k = 0; k < rows; ++k) {
      d_slopes[c * rows + k] = sums[c * 2 * rows + k];
      d_offsets[c * rows + k] = sums[c * 2 * rows + rows + k];
    }
  }
}

#define TLA_INSTANTIATE_PWLU(T)                                                              \
  template void PwluForward<T>(const Layout&, int, const T*, const AccOf<T>::type*,          \
                               const AccOf<T>::type*, const AccOf<T>::type*,                 \
                               const AccOf<T>::type*, T*, const ParallelForBlocks&);         \
  template void PwluBackward<T>(const Layout&, int, const T*, const T*, const AccOf<T>::type*, \
                                const AccOf<T>::type*, const AccOf<T>::type*,                \
                                const AccOf<T>::type*, T*, AccOf<T>::type*, AccOf<T>::type*,  \
                                const ParallelForBlocks&);
TLA_INSTANTIATE_PWLU(float)
TLA_INSTANTIATE_PWLU(double)
TLA_INSTANTIATE_PWLU(Half16)
TLA_INSTANTIATE_PWLU(BFloat16)
#undef TLA_INSTANTIATE_PWLU

}  // namespace tf_learnact
