// The plain-C++ face of the CUDA kernels: launchers taking raw device pointers, the
// [outer, C, inner] layout and a stream (as void*, so this header needs no CUDA header).
// Used by the TensorFlow GPU adapter and by the standalone harness (cc/cuda_harness/).
// Every launcher returns a cudaError_t value (0 = success).
#ifndef TF_LEARNACT_KERNELS_CUDA_CUDA_LAUNCH_H_
#define TF_LEARNACT_KERNELS_CUDA_CUDA_LAUNCH_H_

#include <cstddef>
#include <cstdint>

#include "cc/kernels/common/layout.h"
#include "cc/kernels/pau_kernels.h"

namespace tf_learnact {
namespace cuda {

// Storage type of x, y, dy, dx. Parameters are float32 (double for kDouble), and the
// half types compute in float32, as on the CPU.
enum class DType : int { kHalf = 0, kBFloat16 = 1, kFloat = 2, kDouble = 3 };

// How a launch is cut: derived from the device's SM count, never a fixed block count.
struct LaunchPlan {
  bool row_mode = false;  // channels-last per-channel: lanes across channels
  int64_t slices = 1;     // independent element slices per channel group (grid.y)
  int64_t groups = 1;     // channel chunks (row mode) or channels (run mode) (grid.x)
};
LaunchPlan MakeLaunchPlan(const Layout& layout, int sm_count);

// Bytes of scratch PauBackwardCuda needs for its deterministic parameter-gradient
// reduction (per-slice partial sums, folded in slice order by a second kernel).
size_t PauBackwardWorkspaceBytes(DType dtype, const Layout& layout, const PauConfig& config,
                                 int sm_count);

int PauForwardCuda(DType dtype, const Layout& layout, const PauConfig& config, const void* x,
                   const void* numerator, const void* denominator, void* y, int sm_count,
                   void* stream);

int PauBackwardCuda(DType dtype, const Layout& layout, const PauConfig& config, const void* dy,
                    const void* x, const void* numerator, const void* denominator, void* dx,
                    void* d_numerator, void* d_denominator, void* workspace, int sm_count,
                    void* stream);

}  // namespace cuda
}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_CUDA_CUDA_LAUNCH_H_
