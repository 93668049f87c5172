// The plain-C++ face of the CUDA kernels: launchers taking raw device pointers, the
// [outer, C, inner] layout and a stream (as void*, so this header needs no CUDA header).
// Used by the TensorFlow GPU adapter and by the standalone harness (cc/cuda_harness/).
// Every launcher returns a cudaError_t value (0 = success). Parameters are float32
// (float64 when x is), as on the CPU; the half types compute in float32.
#ifndef TF_LEARNACT_KERNELS_CUDA_CUDA_LAUNCH_H_
#define TF_LEARNACT_KERNELS_CUDA_CUDA_LAUNCH_H_

#include <cstddef>
#include <cstdint>

#include "cc/kernels/abu_kernels.h"
#include "cc/kernels/common/layout.h"
#include "cc/kernels/pau_kernels.h"

namespace tf_learnact {
namespace cuda {

// Storage type of x, y, dy, dx.
enum class DType : int { kHalf = 0, kBFloat16 = 1, kFloat = 2, kDouble = 3 };

constexpr int kRowLanes = 32;       // channels per block in row mode (one warp, coalesced)
constexpr int kBlockThreads = 256;  // threads per block unless shared memory asks for fewer

// How a launch is cut: derived from the device's SM count, never a fixed block count.
//  * row mode (channels-last per-channel, inner == 1): a block is 32 channels x
//    threads / 32 row lanes over a slice of rows; grid = (channel chunks, slices);
//  * run mode (per-layer, or per-channel with inner > 1): a block walks a slice of one
//    channel's elements; grid = (channels, slices).
struct LaunchPlan {
  bool row_mode = false;
  int threads = kBlockThreads;  // per block
  int64_t groups = 1;           // channel chunks (row mode) or channels (grid.x)
  int64_t slices = 1;           // slices per channel group (grid.y)
  int64_t per_slice = 1;        // rows (row mode) or elements (run mode) per slice
};
LaunchPlan MakeLaunchPlan(const Layout& layout, int sm_count, int threads = kBlockThreads);

// cudaGetErrorString of a launcher's result, for callers without CUDA headers.
const char* ErrorString(int code);

// ---- PAU ----
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

// ---- PWLU ---- (left, right: [C]; slopes, offsets, d_slopes, d_offsets: [C, N + 2])
// A channel whose bounds are not finite with left < right gets NaN outputs and
// gradients (the CPU op rejects such bounds; checking here would cost a device-to-host
// copy per call).
size_t PwluBackwardWorkspaceBytes(DType dtype, const Layout& layout, int intervals, int sm_count);

// The most intervals PwluBackwardCuda supports on the current device (its per-thread
// bins live in shared memory).
int PwluMaxIntervalsCuda(DType dtype);

int PwluForwardCuda(DType dtype, const Layout& layout, int intervals, const void* x,
                    const void* left, const void* right, const void* slopes, const void* offsets,
                    void* y, int sm_count, void* stream);

int PwluBackwardCuda(DType dtype, const Layout& layout, int intervals, const void* dy,
                     const void* x, const void* left, const void* right, const void* slopes,
                     const void* offsets, void* dx, void* d_slopes, void* d_offsets,
                     void* workspace, int sm_count, void* stream);

// ---- ABU ---- (basis: m known functions, at most one of each; weights: [C, m]; beta: [C])
size_t AbuBackwardWorkspaceBytes(DType dtype, const Layout& layout, int m, int sm_count);

int AbuForwardCuda(DType dtype, const Layout& layout, const Basis* basis, int m, const void* x,
                   const void* weights, const void* beta, void* y, int sm_count, void* stream);

int AbuBackwardCuda(DType dtype, const Layout& layout, const Basis* basis, int m, const void* dy,
                    const void* x, const void* weights, const void* beta, void* dx, void* d_weights,
                    void* d_beta, void* workspace, int sm_count, void* stream);

}  // namespace cuda
}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_CUDA_CUDA_LAUNCH_H_
