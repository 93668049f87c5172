// How every family's CUDA launch is cut (LaunchPlan): enough blocks to fill the device
// (kBlocksPerSm per SM), each slice long enough to amortise its block sums.
#include <cuda_runtime.h>

#include <algorithm>

#include "cc/kernels/cuda/cuda_launch.h"

namespace tf_learnact {
namespace cuda {
namespace {

constexpr int kBlocksPerSm = 4;          // target occupancy of the grid
constexpr int64_t kMinRunPerThread = 4;  // run mode: elements per thread at least
constexpr int64_t kMaxGridY = 65535;

}  // namespace

LaunchPlan MakeLaunchPlan(const Layout& layout, int sm_count, int threads) {
  LaunchPlan plan;
  plan.threads = threads;
  const int64_t target_blocks = static_cast<int64_t>(std::max(sm_count, 1)) * kBlocksPerSm;
  plan.row_mode = layout.inner == 1 && layout.channels > 1;
  int64_t units = 0, max_slices = 1;
  if (plan.row_mode) {
    const int64_t row_lanes = threads / kRowLanes;
    plan.groups = (layout.channels + kRowLanes - 1) / kRowLanes;
    units = layout.outer;
    max_slices = std::max<int64_t>(1, (units + row_lanes - 1) / row_lanes);
  } else {
    plan.groups = layout.channels;
    units = layout.outer * layout.inner;
    max_slices = std::max<int64_t>(1, units / (threads * kMinRunPerThread));
  }
  plan.slices = std::clamp<int64_t>((target_blocks + plan.groups - 1) / plan.groups, 1,
                                    std::min(max_slices, kMaxGridY));
  plan.per_slice = std::max<int64_t>(1, (units + plan.slices - 1) / plan.slices);
  return plan;
}

const char* ErrorString(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

}  // namespace cuda
}  // namespace tf_learnact
