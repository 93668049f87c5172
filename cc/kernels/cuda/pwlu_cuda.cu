// PWLU forward/backward on CUDA: the inference table of the paper's Sec. 4.3, the same
// row index as the CPU kernel (pwlu_kernels.cc) and the twin,
//   k = clip(floor((x - B_L) * N / (B_R - B_L)), -1, N) + 1,  y = x * S[k] + O[k],
// and in backward dx = dy * S[k] with the per-row sums of dy * x and dy.
//
// The row of each element is data-dependent, so backward cannot keep its sums in
// registers: every thread has its own 2 (N + 2) bins in shared memory ([bin][thread],
// so a warp's accesses never share a bank), summed in element order; then each bin is
// summed over the channel's threads in a fixed order and written as the slice's partial
// (cuda_common.cuh). No atomics: bit-identical run to run.
#include <algorithm>
#include <cmath>

#include "cc/kernels/cuda/cuda_common.cuh"

namespace tf_learnact {
namespace cuda {
namespace {

constexpr int kMinThreads = 64;  // fewer threads than this per block is not worth running

struct PwluArgs {
  Dims d;
  int rows;  // N + 2
};

// Channel c's row-index parameters; `poison` is NaN where the bounds are not finite with
// left < right, and is added to every output of the channel.
template <typename Acc>
struct ChannelBounds {
  Acc left = Acc(0), inv_width = Acc(0), poison = Acc(0);

  __device__ ChannelBounds(const Acc* l, const Acc* r, int64_t c, int rows) {
    left = l[c];
    const Acc right = r[c];
    // The CPU kernel's expression, so both pick the same row on knots.
    inv_width = Acc(rows - 2) / (right - left);
    const bool ok = isfinite(left) && isfinite(right) && left < right;
    poison = ok ? Acc(0) : static_cast<Acc>(NAN);
  }

  // The comparisons send NaN to row 0 (the output stays NaN) and +-Inf to the outer
  // rows: never an out-of-range read.
  __device__ __forceinline__ int Row(Acc x, int rows) const {
    Acc u = (x - left) * inv_width + Acc(1);  // >= 0 below, so truncation is floor
    u = u >= Acc(0) ? u : Acc(0);
    u = u <= Acc(rows - 1) ? u : Acc(rows - 1);
    return static_cast<int>(u);
  }
};

template <typename T, typename Acc>
__global__ void __launch_bounds__(kBlockThreads)
    PwluForwardKernel(PwluArgs p, bool row_mode, int64_t per_slice, const T* __restrict__ x,
                      const Acc* __restrict__ left, const Acc* __restrict__ right,
                      const Acc* __restrict__ slopes, const Acc* __restrict__ offsets,
                      T* __restrict__ y) {
  const SliceWalk walk(p.d, row_mode, per_slice);
  if (!walk.live()) return;
  const int64_t c = walk.channel();
  const ChannelBounds<Acc> b(left, right, c, p.rows);
  const Acc* s = slopes + c * p.rows;
  const Acc* o = offsets + c * p.rows;
  walk.ForEach([&](int64_t i) {
    const Acc xv = ToAcc(x[i]);
    const int k = b.Row(xv, p.rows);
    y[i] = FromAcc<T>(xv * s[k] + o[k] + b.poison);
  });
}

// bins: dynamic shared memory [2 * rows][threads]; partial: [slices][C][2 * rows], the
// sums of dy * x in slots 0..rows-1 and of dy after them.
template <typename T, typename Acc>
__global__ void __launch_bounds__(kBlockThreads)
    PwluBackwardKernel(PwluArgs p, bool row_mode, int64_t per_slice, const T* __restrict__ dy,
                       const T* __restrict__ x, const Acc* __restrict__ left,
                       const Acc* __restrict__ right, const Acc* __restrict__ slopes,
                       T* __restrict__ dx, Acc* __restrict__ partial) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];  // bins of float or double
  Acc* bins = reinterpret_cast<Acc*>(shared_bytes);
  const int threads = blockDim.x * blockDim.y;
  const int t = threadIdx.y * blockDim.x + threadIdx.x;
  const int slots = 2 * p.rows;
  for (int k = 0; k < slots; ++k) bins[k * threads + t] = Acc(0);

  const SliceWalk walk(p.d, row_mode, per_slice);
  const int64_t c = walk.channel();
  if (walk.live()) {
    const ChannelBounds<Acc> b(left, right, c, p.rows);
    const Acc* s = slopes + c * p.rows;
    Acc* gx = bins + t;                    // bin k at gx[k * threads]
    Acc* g = bins + p.rows * threads + t;  // bin k at g[k * threads]
    walk.ForEach([&](int64_t i) {
      const Acc xv = ToAcc(x[i]), dyv = ToAcc(dy[i]);
      const int k = b.Row(xv, p.rows);
      dx[i] = FromAcc<T>(dyv * s[k] + b.poison);
      gx[k * threads] += dyv * xv;
      g[k * threads] += dyv;
    });
  }
  __syncthreads();
  // Each bin summed over the threads of its channel, in thread order.
  if (row_mode) {
    // Row lane y of channel lane x sums bins y, y + blockDim.y, ... over the row lanes.
    if (!walk.live()) return;
    for (int k = threadIdx.y; k < slots; k += blockDim.y) {
      Acc sum = Acc(0);
      for (unsigned l = 0; l < blockDim.y; ++l)
        sum += bins[k * threads + l * blockDim.x + threadIdx.x];
      partial[PartialIndex(p.d, c, slots, k)] = sum;
    }
  } else {
    for (int k = t; k < slots; k += threads) {
      Acc sum = Acc(0);
      for (int l = 0; l < threads; ++l) sum += bins[k * threads + l];
      partial[PartialIndex(p.d, c, slots, k)] = sum;
    }
  }
}

template <typename Acc>
struct PwluSink {
  int rows;
  const Acc* left;
  const Acc* right;
  Acc* d_slopes;
  Acc* d_offsets;
  __device__ void operator()(int64_t c, int slot, Acc sum) const {
    const Acc poison = ChannelBounds<Acc>(left, right, c, rows).poison;
    if (slot < rows) {
      d_slopes[c * rows + slot] = sum + poison;
    } else {
      d_offsets[c * rows + slot - rows] = sum + poison;
    }
  }
};

int MaxSharedBytes() {
  int device = 0, bytes = 48 << 10;
  if (cudaGetDevice(&device) == cudaSuccess)
    cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  return bytes;
}

// Threads per backward block: the most (a power of two, <= kBlockThreads) whose bins
// fit in shared memory; 0 when not even kMinThreads fit.
int BackwardThreads(size_t acc_bytes, int rows) {
  const size_t per_thread = 2 * static_cast<size_t>(rows) * acc_bytes;
  const size_t limit = static_cast<size_t>(MaxSharedBytes());
  int threads = kBlockThreads;
  while (threads >= kMinThreads && per_thread * threads > limit) threads /= 2;
  return threads >= kMinThreads ? threads : 0;
}

}  // namespace

int PwluMaxIntervalsCuda(DType dtype) {
  const size_t per_row = 2 * AccBytes(dtype) * kMinThreads;
  return static_cast<int>(static_cast<size_t>(MaxSharedBytes()) / per_row) - 2;
}

size_t PwluBackwardWorkspaceBytes(DType dtype, const Layout& layout, int intervals, int sm_count) {
  const int rows = intervals + 2;
  const int threads = std::max(BackwardThreads(AccBytes(dtype), rows), kMinThreads);
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count, threads);
  return static_cast<size_t>(plan.slices * layout.channels * 2 * rows) * AccBytes(dtype);
}

int PwluForwardCuda(DType dtype, const Layout& layout, int intervals, const void* x,
                    const void* left, const void* right, const void* slopes, const void* offsets,
                    void* y, int sm_count, void* stream) {
  if (layout.size() == 0) return cudaSuccess;
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  const PwluArgs args{DimsOf(layout), intervals + 2};
  return DispatchDType(dtype, [&](auto types) {
    using T = typename decltype(types)::T;
    using Acc = typename decltype(types)::Acc;
    PwluForwardKernel<T, Acc>
        <<<GridOf(plan), BlockOf(plan), 0, static_cast<cudaStream_t>(stream)>>>(
            args, plan.row_mode, plan.per_slice, static_cast<const T*>(x),
            static_cast<const Acc*>(left), static_cast<const Acc*>(right),
            static_cast<const Acc*>(slopes), static_cast<const Acc*>(offsets), static_cast<T*>(y));
    return cudaGetLastError();
  });
}

int PwluBackwardCuda(DType dtype, const Layout& layout, int intervals, const void* dy,
                     const void* x, const void* left, const void* right, const void* slopes,
                     const void* offsets, void* dx, void* d_slopes, void* d_offsets,
                     void* workspace, int sm_count, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  const int rows = intervals + 2;
  if (layout.size() == 0) {
    const size_t bytes = layout.channels * rows * AccBytes(dtype);
    return ZeroAll({{d_slopes, bytes}, {d_offsets, bytes}}, s);
  }
  const int threads = BackwardThreads(AccBytes(dtype), rows);
  if (threads == 0) return cudaErrorInvalidValue;  // see PwluMaxIntervalsCuda
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count, threads);
  const PwluArgs args{DimsOf(layout), rows};
  return DispatchDType(dtype, [&](auto types) {
    using T = typename decltype(types)::T;
    using Acc = typename decltype(types)::Acc;
    const size_t shared = 2 * static_cast<size_t>(rows) * threads * sizeof(Acc);
    auto* kernel = PwluBackwardKernel<T, Acc>;
    cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(shared));
    if (err != cudaSuccess) return err;
    Acc* partial = static_cast<Acc*>(workspace);
    const Acc* l = static_cast<const Acc*>(left);
    const Acc* r = static_cast<const Acc*>(right);
    kernel<<<GridOf(plan), BlockOf(plan), shared, s>>>(
        args, plan.row_mode, plan.per_slice, static_cast<const T*>(dy), static_cast<const T*>(x), l,
        r, static_cast<const Acc*>(slopes), static_cast<T*>(dx), partial);
    err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    const PwluSink<Acc> sink{rows, l, r, static_cast<Acc*>(d_slopes), static_cast<Acc*>(d_offsets)};
    return FoldSlices(partial, plan, layout.channels, 2 * rows, sink, s);
  });
}

}  // namespace cuda
}  // namespace tf_learnact
