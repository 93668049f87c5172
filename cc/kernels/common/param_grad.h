// Deterministic parameter-gradient reduction shared by every family's CPU kernel.
//
// The elements are cut into blocks whose boundaries depend only on the tensor's
// layout (never on the thread count). Each block writes its own partial sums; the
// partials are then folded in block order. So the result is bit-identical across runs
// and thread counts, and no per-element atomics are needed.
#ifndef TF_LEARNACT_KERNELS_COMMON_PARAM_GRAD_H_
#define TF_LEARNACT_KERNELS_COMMON_PARAM_GRAD_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "cc/kernels/common/lanes.h"
#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/macros.h"

namespace tf_learnact {

// Runs fn(begin, end) over [0, num_blocks), possibly in parallel. Supplied by the
// framework adapter (TensorFlow's thread pool on CPU).
using BlockRange = std::function<void(int64_t, int64_t)>;
using ParallelForBlocks = std::function<void(int64_t num_blocks, const BlockRange& fn)>;

// How a kernel walks its elements.
//  * Row mode (channels-last per-channel: inner == 1, channels > 1): a unit is one row
//    of `channels` elements, and lanes run across channels.
//  * Run mode (per-layer, or per-channel with inner > 1): a unit is one element; a
//    block is cut into runs of one channel, and lanes run across elements.
struct BlockPlan {
  bool row_mode = false;
  int64_t unit = 1;             // elements per unit
  int64_t units = 0;            // total units
  int64_t units_per_block = 1;  // the last block may hold fewer
  int64_t num_blocks = 0;

  int64_t begin_unit(int64_t b) const { return b * units_per_block; }
  int64_t end_unit(int64_t b) const { return std::min(units, (b + 1) * units_per_block); }
};

// ~16K elements per block keeps partial sums in L1/L2 and gives enough blocks to
// balance threads. Per-channel partials grow with `channels`, so their block count is
// capped to keep the partial buffer small, and a block covers at least
// kElementsPerPartial elements per value of its partials: they are zeroed, written and
// folded once per block, and with many channels (or PWLU table rows) smaller blocks
// moved more partials than elements (PWLU per channel, C = 2048, 16 intervals, 16M
// float32: 128 blocks of 73728 sums each, 38 MB for a 64 MB tensor).
constexpr int64_t kTargetBlockElements = 16384;
constexpr int64_t kMaxBlocksPerChannel = 128;
constexpr int64_t kElementsPerPartial = 16;

// `partials_per_block`: the values of one block's partial sums (0 forward).
inline BlockPlan MakeBlockPlan(const Layout& layout, int64_t partials_per_block = 0) {
  BlockPlan p;
  p.row_mode = layout.inner == 1 && layout.channels > 1;
  p.unit = p.row_mode ? layout.channels : 1;
  p.units = layout.size() / std::max<int64_t>(p.unit, 1);
  if (p.units == 0) return p;
  p.units_per_block = std::max<int64_t>(1, kTargetBlockElements / p.unit);
  if (layout.channels > 1) {
    const int64_t min_upb = (p.units + kMaxBlocksPerChannel - 1) / kMaxBlocksPerChannel;
    p.units_per_block = std::max(p.units_per_block, min_upb);
  }
  const int64_t partial_elements = kElementsPerPartial * partials_per_block;
  p.units_per_block = std::max(p.units_per_block, (partial_elements + p.unit - 1) / p.unit);
  p.num_blocks = (p.units + p.units_per_block - 1) / p.units_per_block;
  return p;
}

// The distance between coefficients in tables laid out [coef][channel] (row mode's
// coefficients and every block's partials): rows of 1 KiB or more padded to an odd
// number of 64-byte lines, so that a chunk's rows of coefficients and of partials fall
// in different L1 sets. At 1024 float channels or a multiple, unpadded rows lie 4 KiB
// apart, all in one set of the 8-way L1, and evict each other at every chunk (PAU
// per-channel backward, 16M float32 on 2 threads: 11.5 ms at C = 64, 90 ms at C = 2048,
// 18 ms at C = 2056). Shorter rows keep their length: ten of them spread over enough
// sets, and 64 channels padded to 80 measured slower (ABU backward 12.3 -> 13.4-13.6 ms).
template <typename Acc>
inline int64_t ChannelStride(int64_t channels) {
  constexpr int64_t kLine = 64 / sizeof(Acc);
  if (channels * int64_t{sizeof(Acc)} < 1024) return channels;
  return ((channels + kLine - 1) / kLine | 1) * kLine;
}

// Per-block partial sums laid out [block][coef][channel] (channel fastest, so row
// mode accumulates contiguously across lanes; coefficients ChannelStride apart), folded
// into out[channel][coef].
template <typename Acc>
class ParamGradPartials {
 public:
  ParamGradPartials(int64_t num_blocks, int64_t num_coefs, int64_t channels)
      : num_coefs_(num_coefs),
        channels_(channels),
        stride_(ChannelStride<Acc>(channels)),
        data_(static_cast<size_t>(num_blocks * ValuesPerBlock(num_coefs, channels)), Acc(0)) {}

  // The values of one block's partials (MakeBlockPlan's partials_per_block).
  static int64_t ValuesPerBlock(int64_t num_coefs, int64_t channels) {
    return num_coefs * ChannelStride<Acc>(channels);
  }

  Acc* block(int64_t b) { return data_.data() + b * num_coefs_ * stride_; }

  // The walk accumulates channel c at PairedSlot(c, C) instead of c (bfloat16 rows).
  void UsePairedSlots() { paired_slots_ = true; }

  // out[c * num_coefs + j] = sum over blocks, in block order, of
  // block(b)[j * ChannelStride + slot], slot being c or, after UsePairedSlots,
  // PairedSlot(c, C).
  template <typename P>
  void FoldInto(int64_t num_blocks, P* out) const {
    std::vector<Acc> sum(static_cast<size_t>(num_coefs_ * stride_), Acc(0));
    for (int64_t b = 0; b < num_blocks; ++b) {
      const Acc* part = data_.data() + b * num_coefs_ * stride_;
      for (size_t k = 0; k < sum.size(); ++k) sum[k] += part[k];
    }
    for (int64_t c = 0; c < channels_; ++c) {
      const int64_t slot = paired_slots_ ? PairedSlot(c, channels_) : c;
      for (int64_t j = 0; j < num_coefs_; ++j)
        out[c * num_coefs_ + j] = static_cast<P>(sum[j * stride_ + slot]);
    }
  }

 private:
  int64_t num_coefs_;
  int64_t channels_;
  int64_t stride_;
  bool paired_slots_ = false;
  std::vector<Acc> data_;
};

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_PARAM_GRAD_H_
