// What the CUDA kernels of every family share: storage <-> compute conversions, the
// dtype dispatch, the element walk of one block, the fixed-order block sum and the fold
// of the per-slice parameter-gradient partials. With these, a family's kernel is its
// per-element math plus where its sums go.
//
// Determinism: every parameter-gradient sum is per-thread (in element order), then a
// block sum in a fixed order, then per-slice partials folded in slice order. No atomics,
// so results are bit-identical run to run (as on the CPU, see param_grad.h).
#ifndef TF_LEARNACT_KERNELS_CUDA_CUDA_COMMON_CUH_
#define TF_LEARNACT_KERNELS_CUDA_CUDA_COMMON_CUH_

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "cc/kernels/cuda/cuda_launch.h"

namespace tf_learnact {
namespace cuda {

__device__ __forceinline__ float ToAcc(float v) { return v; }
__device__ __forceinline__ double ToAcc(double v) { return v; }
__device__ __forceinline__ float ToAcc(__half v) { return __half2float(v); }
__device__ __forceinline__ float ToAcc(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T FromAcc(float v);
template <>
__device__ __forceinline__ float FromAcc<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half FromAcc<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromAcc<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <typename T>
__device__ __forceinline__ T FromAcc(double v) {
  return static_cast<T>(v);
}

template <typename Acc>
__device__ __forceinline__ Acc Sign(Acc v) {
  return static_cast<Acc>((v > Acc(0)) - (v < Acc(0)));
}

// The storage type T and compute type Acc of a DType, for DispatchDType's callback.
template <typename TT, typename AccT>
struct TypePair {
  using T = TT;
  using Acc = AccT;
};

// Calls fn(TypePair<T, Acc>{}) for the runtime dtype: half types compute in float32.
template <typename Fn>
cudaError_t DispatchDType(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kHalf:
      return fn(TypePair<__half, float>{});
    case DType::kBFloat16:
      return fn(TypePair<__nv_bfloat16, float>{});
    case DType::kFloat:
      return fn(TypePair<float, float>{});
    case DType::kDouble:
      return fn(TypePair<double, double>{});
  }
  return cudaErrorInvalidValue;
}

inline size_t AccBytes(DType dtype) {
  return dtype == DType::kDouble ? sizeof(double) : sizeof(float);
}

// The [outer, C, inner] view, by value in kernel arguments.
struct Dims {
  int64_t outer, channels, inner;
};
inline Dims DimsOf(const Layout& layout) { return {layout.outer, layout.channels, layout.inner}; }

inline dim3 GridOf(const LaunchPlan& plan) {
  return dim3(static_cast<unsigned>(plan.groups), static_cast<unsigned>(plan.slices));
}
inline dim3 BlockOf(const LaunchPlan& plan) {
  return plan.row_mode ? dim3(kRowLanes, plan.threads / kRowLanes) : dim3(plan.threads);
}

// The elements one thread owns (see LaunchPlan): in row mode thread (x, y) of block
// (g, s) owns channel g * 32 + x in rows s * per_slice + y, + blockDim.y, ...; in run
// mode thread x of block (c, s) owns channel c's elements s * per_slice + x, + blockDim.x,
// ... (counted in that channel's outer * inner order).
class SliceWalk {
 public:
  __device__ SliceWalk(const Dims& d, bool row_mode, int64_t per_slice)
      : d_(d), row_mode_(row_mode) {
    const int64_t begin = static_cast<int64_t>(blockIdx.y) * per_slice;
    if (row_mode) {
      channel_ = static_cast<int64_t>(blockIdx.x) * kRowLanes + threadIdx.x;
      end_ = min(d.outer, begin + per_slice);
      first_ = begin + threadIdx.y;
      step_ = blockDim.y;
    } else {
      channel_ = blockIdx.x;
      end_ = min(d.outer * d.inner, begin + per_slice);
      first_ = begin + threadIdx.x;
      step_ = blockDim.x;
    }
  }

  __device__ int64_t channel() const { return channel_; }
  // Row mode: the tail block's lanes past the last channel own nothing.
  __device__ bool live() const { return channel_ < d_.channels; }

  // f(i) for each flat element index i this thread owns, in increasing order.
  template <typename F>
  __device__ __forceinline__ void ForEach(F&& f) const {
    if (!live()) return;
    for (int64_t u = first_; u < end_; u += step_) {
      int64_t i = u;  // per layer: the flat index
      if (row_mode_) {
        i = u * d_.channels + channel_;
      } else if (d_.channels > 1) {
        const int64_t o = u / d_.inner;
        i = (o * d_.channels + channel_) * d_.inner + (u - o * d_.inner);
      }
      f(i);
    }
  }

 private:
  Dims d_;
  bool row_mode_;
  int64_t channel_, end_, first_, step_;
};

// Whether this thread holds the block sums of its channel (BlockChannelSum).
__device__ __forceinline__ bool IsChannelReducer(bool row_mode) {
  return row_mode ? threadIdx.y == 0 : threadIdx.x == 0;
}

// The sum of `value` over the block's threads that share this thread's channel, in a
// fixed order: row mode adds the blockDim.y row lanes in order, run mode folds the
// blockDim.x (a power of two) threads as a binary tree. Valid where IsChannelReducer.
// scratch: blockDim.x * blockDim.y values of shared memory. Every thread must call it.
template <typename Acc>
__device__ __forceinline__ Acc BlockChannelSum(Acc value, Acc* scratch, bool row_mode) {
  const int t = threadIdx.y * blockDim.x + threadIdx.x;
  scratch[t] = value;
  __syncthreads();
  Acc sum = Acc(0);
  if (row_mode) {
    if (threadIdx.y == 0)
      for (unsigned l = 0; l < blockDim.y; ++l) sum += scratch[l * blockDim.x + threadIdx.x];
  } else {
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) scratch[threadIdx.x] += scratch[threadIdx.x + width];
      __syncthreads();
    }
    sum = scratch[0];
  }
  __syncthreads();  // scratch is reused by the next call
  return sum;
}

// Index of slot `slot` of channel c in the partials [slices][C][slots] of slice
// blockIdx.y.
__device__ __forceinline__ int64_t PartialIndex(const Dims& d, int64_t c, int slots, int slot) {
  return (static_cast<int64_t>(blockIdx.y) * d.channels + c) * slots + slot;
}

// sink(c, slot, sum over slices in slice order of partial[s][c][slot]).
template <typename Acc, typename Sink>
__global__ void FoldSlicesKernel(const Acc* __restrict__ partial, int64_t slices, int64_t channels,
                                 int slots, Sink sink) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= channels * slots) return;
  const int64_t c = t / slots;
  const int slot = static_cast<int>(t - c * slots);
  Acc sum = Acc(0);
  for (int64_t s = 0; s < slices; ++s) sum += partial[(s * channels + c) * slots + slot];
  sink(c, slot, sum);
}

template <typename Acc, typename Sink>
cudaError_t FoldSlices(const Acc* partial, const LaunchPlan& plan, int64_t channels, int slots,
                       Sink sink, cudaStream_t stream) {
  const int64_t total = channels * slots;
  const int block = 256;
  FoldSlicesKernel<Acc, Sink>
      <<<static_cast<unsigned>((total + block - 1) / block), block, 0, stream>>>(
          partial, plan.slices, channels, slots, sink);
  return cudaGetLastError();
}

// Zero-fills each (pointer, bytes) pair: the parameter gradients of an empty input.
inline cudaError_t ZeroAll(std::initializer_list<std::pair<void*, size_t>> buffers,
                           cudaStream_t stream) {
  for (const auto& [ptr, bytes] : buffers) {
    const cudaError_t err = cudaMemsetAsync(ptr, 0, bytes, stream);
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

}  // namespace cuda
}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_CUDA_CUDA_COMMON_CUH_
