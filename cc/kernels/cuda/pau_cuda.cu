// PAU forward/backward on CUDA: plain CUDA C++ (no TensorFlow header), the same math and
// operation order as the CPU lane kernel (pau_kernels_impl.h), the same counter-based
// RPAU noise, and a deterministic parameter-gradient reduction: per-thread register
// sums, a fixed-order block reduction, per-slice partials written to a workspace, and a
// second kernel that folds the slices in order. No atomics, so results are bit-identical
// run to run.
//
// Two walks, as on the CPU (see LaunchPlan):
//  * row mode (channels-last per-channel, inner == 1): a block is 32 channels (one warp,
//    coalesced) x 8 rows; grid = (channel chunks, row slices);
//  * run mode (per-layer, or per-channel with inner > 1): a block walks one channel's
//    elements; grid = (channels, element slices).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "cc/kernels/common/counter_rng.h"
#include "cc/kernels/cuda/cuda_launch.h"

namespace tf_learnact {
namespace cuda {
namespace {

constexpr int kRowLanes = 32;     // channels per block in row mode
constexpr int kRowsPerBlock = 8;  // rows walked together in row mode (blockDim.y)
constexpr int kRunThreads = 256;  // threads per block in run mode
constexpr int kBlocksPerSm = 4;   // target occupancy of the grid
constexpr int kMaxDeg = kPauMaxDegree;

__device__ __forceinline__ float ToAcc(float v) { return v; }
__device__ __forceinline__ double ToAcc(double v) { return v; }
__device__ __forceinline__ float ToAcc(__half v) { return __half2float(v); }
__device__ __forceinline__ float ToAcc(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
__device__ __forceinline__ T FromAcc(float v);
template <>
__device__ __forceinline__ float FromAcc<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half FromAcc<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 FromAcc<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <typename T>
__device__ __forceinline__ T FromAcc(double v) { return static_cast<T>(v); }

template <typename Acc>
__device__ __forceinline__ Acc Sign(Acc v) {
  return static_cast<Acc>((v > Acc(0)) - (v < Acc(0)));
}

struct PauArgs {
  int64_t outer, channels, inner;
  int m, n, nd;  // degrees; nd denominator coefficients
  float noise;
  uint32_t key;
};

// One element's coefficients and gradient sums, in registers: every loop runs to the
// compile-time maximum degree with guards, so no array is indexed dynamically.
template <typename Acc>
struct Coefs {
  Acc a[kMaxDeg + 1];  // numerator a_0..a_m
  Acc e[kMaxDeg + 1];  // denominator e_k at index k (k from koff to n)
};

template <typename Acc, PauVersion V>
__device__ __forceinline__ void LoadCoefs(const PauArgs& p, const Acc* num, const Acc* den,
                                          int64_t c, Coefs<Acc>* cf) {
  constexpr int koff = V == PauVersion::kC ? 0 : 1;
#pragma unroll
  for (int j = 0; j <= kMaxDeg; ++j)
    if (j <= p.m) cf->a[j] = num[c * (p.m + 1) + j];
#pragma unroll
  for (int k = 0; k <= kMaxDeg; ++k) {
    if (k >= koff && k <= p.n) {
      const Acc b = den[c * p.nd + (k - koff)];
      cf->e[k] = V == PauVersion::kA ? fabs(b) : b;  // A uses magnitudes (sign applied in the fold)
    }
  }
}

// y (kGrad false) or dx (kGrad true, adding d loss / d coef to ga, ge) of one element;
// the operation order is the CPU kernel's (EvalLanes).
template <typename Acc, PauVersion V, bool kGrad, bool kNoise>
__device__ __forceinline__ Acc PauPoint(const PauArgs& p, const Coefs<Acc>& clean, Acc x, Acc dy,
                                        int64_t element, Acc* ga, Acc* ge) {
  constexpr int koff = V == PauVersion::kC ? 0 : 1;
  constexpr bool kAbsDenominator = V == PauVersion::kB || V == PauVersion::kC;
  Coefs<Acc> cf;
  Acc fa[kMaxDeg + 1], fe[kMaxDeg + 1];  // noise factors (kNoise only)
  const uint32_t state = kNoise ? NoiseElement(p.key, element) : 0u;
#pragma unroll
  for (int j = 0; j <= kMaxDeg; ++j) {
    if (j <= p.m) {
      fa[j] = kNoise ? Acc(1) + static_cast<Acc>(p.noise * NoiseUniform(state, j)) : Acc(1);
      cf.a[j] = kNoise ? clean.a[j] * fa[j] : clean.a[j];
    }
  }
#pragma unroll
  for (int k = 0; k <= kMaxDeg; ++k) {
    if (k >= koff && k <= p.n) {
      const uint32_t index = static_cast<uint32_t>(p.m + 1 + k - koff);
      fe[k] = kNoise ? Acc(1) + static_cast<Acc>(p.noise * NoiseUniform(state, index)) : Acc(1);
      cf.e[k] = kNoise ? clean.e[k] * fe[k] : clean.e[k];
    }
  }
  Acc num = Acc(0), dnum = Acc(0);
#pragma unroll
  for (int j = kMaxDeg; j >= 0; --j) {
    if (j == p.m) {
      num = cf.a[j];
    } else if (j < p.m) {
      if (kGrad) dnum = dnum * x + num;
      num = num * x + cf.a[j];
    }
  }
  const Acc z = V == PauVersion::kA ? fabs(x) : x;
  Acc d = Acc(0), dd = Acc(0);
#pragma unroll
  for (int k = kMaxDeg; k >= 0; --k) {
    if (k == p.n && k >= koff) {
      d = cf.e[k];
    } else if (k < p.n && k >= koff) {
      if (kGrad) dd = dd * z + d;
      d = d * z + cf.e[k];
    }
  }
  if (koff == 1 && p.n >= 1) {  // the zero constant term of versions A, B, N
    if (kGrad) dd = dd * z + d;
    d = d * z;
  }
  const Acc q = (V == PauVersion::kC ? Acc(0.1) : Acc(1)) + (kAbsDenominator ? fabs(d) : d);
  const Acc y = num / q;
  if (!kGrad) return y;
  const Acc s = kAbsDenominator ? Sign(d) : Acc(1);
  const Acc dq = V == PauVersion::kA ? Sign(x) * dd : s * dd;
  const Acc inv_q = Acc(1) / q;
  const Acc dx = dy * (dnum - dq * y) * inv_q;
  const Acc ta = dy * inv_q;
  const Acc tb = -ta * y * s;
  Acc pw = Acc(1);
#pragma unroll
  for (int j = 0; j <= kMaxDeg; ++j) {
    if (j <= p.m) {
      ga[j] += kNoise ? ta * pw * fa[j] : ta * pw;
      pw *= x;
    }
  }
  pw = koff == 1 ? z : Acc(1);
#pragma unroll
  for (int k = 0; k <= kMaxDeg; ++k) {
    if (k >= koff && k <= p.n) {
      ge[k] += kNoise ? tb * pw * fe[k] : tb * pw;
      pw *= z;
    }
  }
  return dx;
}

// Writes this thread's sums for coefficient slots [a_0..a_m, e_koff..e_n] through
// `put(slot, value)`.
template <typename Acc, PauVersion V, typename Put>
__device__ __forceinline__ void ForEachSlot(const PauArgs& p, const Acc* ga, const Acc* ge,
                                            Put put) {
  constexpr int koff = V == PauVersion::kC ? 0 : 1;
#pragma unroll
  for (int j = 0; j <= kMaxDeg; ++j)
    if (j <= p.m) put(j, ga[j]);
#pragma unroll
  for (int k = 0; k <= kMaxDeg; ++k)
    if (k >= koff && k <= p.n) put(p.m + 1 + k - koff, ge[k]);
}

// Row mode: grid (ceil(C / 32), slices), block (32, 8). partial: [slices][C][nc].
template <typename T, typename Acc, PauVersion V, bool kGrad, bool kNoise>
__global__ void __launch_bounds__(kRowLanes* kRowsPerBlock)
    PauRowKernel(PauArgs p, const T* __restrict__ x, const T* __restrict__ dy,
                 const Acc* __restrict__ num, const Acc* __restrict__ den, T* __restrict__ out,
                 Acc* __restrict__ partial, int64_t rows_per_slice) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kRowLanes + threadIdx.x;
  const bool live = c < p.channels;
  const int64_t row_begin = static_cast<int64_t>(blockIdx.y) * rows_per_slice;
  const int64_t row_end = min(p.outer, row_begin + rows_per_slice);
  Coefs<Acc> cf;
  if (live) LoadCoefs<Acc, V>(p, num, den, c, &cf);
  Acc ga[kMaxDeg + 1] = {}, ge[kMaxDeg + 1] = {};
  if (live) {
    for (int64_t r = row_begin + threadIdx.y; r < row_end; r += kRowsPerBlock) {
      const int64_t i = r * p.channels + c;
      const Acc g = kGrad ? ToAcc(dy[i]) : Acc(0);
      out[i] = FromAcc<T>(PauPoint<Acc, V, kGrad, kNoise>(p, cf, ToAcc(x[i]), g, i, ga, ge));
    }
  }
  if (!kGrad) return;
  // Fixed-order reduction over the 8 row lanes of each channel, one coefficient at a time.
  __shared__ Acc lanes[kRowsPerBlock][kRowLanes];
  const int nc = p.m + 1 + p.nd;
  ForEachSlot<Acc, V>(p, ga, ge, [&](int slot, Acc value) {
    lanes[threadIdx.y][threadIdx.x] = value;
    __syncthreads();
    if (threadIdx.y == 0 && live) {
      Acc sum = Acc(0);
      for (int l = 0; l < kRowsPerBlock; ++l) sum += lanes[l][threadIdx.x];
      partial[(static_cast<int64_t>(blockIdx.y) * p.channels + c) * nc + slot] = sum;
    }
    __syncthreads();
  });
}

// Run mode: grid (C, slices), block kRunThreads; a slice is a range of one channel's
// outer * inner elements. partial: [slices][C][nc].
template <typename T, typename Acc, PauVersion V, bool kGrad, bool kNoise>
__global__ void __launch_bounds__(kRunThreads)
    PauRunKernel(PauArgs p, const T* __restrict__ x, const T* __restrict__ dy,
                 const Acc* __restrict__ num, const Acc* __restrict__ den, T* __restrict__ out,
                 Acc* __restrict__ partial, int64_t per_slice) {
  const int64_t c = blockIdx.x;
  const int64_t per_channel = p.outer * p.inner;
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * per_slice;
  const int64_t end = min(per_channel, begin + per_slice);
  Coefs<Acc> cf;
  LoadCoefs<Acc, V>(p, num, den, c, &cf);
  Acc ga[kMaxDeg + 1] = {}, ge[kMaxDeg + 1] = {};
  for (int64_t k = begin + threadIdx.x; k < end; k += kRunThreads) {
    int64_t i = k;  // per-layer: the flat index
    if (p.channels > 1) {
      const int64_t o = k / p.inner;
      i = (o * p.channels + c) * p.inner + (k - o * p.inner);
    }
    const Acc g = kGrad ? ToAcc(dy[i]) : Acc(0);
    out[i] = FromAcc<T>(PauPoint<Acc, V, kGrad, kNoise>(p, cf, ToAcc(x[i]), g, i, ga, ge));
  }
  if (!kGrad) return;
  // Fixed-order tree over the block (the same shape every run), one coefficient at a time.
  __shared__ Acc lanes[kRunThreads];
  const int nc = p.m + 1 + p.nd;
  ForEachSlot<Acc, V>(p, ga, ge, [&](int slot, Acc value) {
    lanes[threadIdx.x] = value;
    __syncthreads();
    for (int width = kRunThreads / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) lanes[threadIdx.x] += lanes[threadIdx.x + width];
      __syncthreads();
    }
    if (threadIdx.x == 0) partial[(static_cast<int64_t>(blockIdx.y) * p.channels + c) * nc + slot] = lanes[0];
    __syncthreads();
  });
}

// d_numerator / d_denominator[c][j] = sum over slices, in slice order, of the partials;
// version A's magnitudes get their sign here (chain rule through |b|, sign(0) = 0).
template <typename Acc>
__global__ void FoldKernel(PauArgs p, bool version_a, const Acc* __restrict__ partial,
                           int64_t slices, const Acc* __restrict__ den, Acc* __restrict__ d_num,
                           Acc* __restrict__ d_den) {
  const int nc = p.m + 1 + p.nd;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= p.channels * nc) return;
  const int64_t c = t / nc;
  const int slot = static_cast<int>(t - c * nc);
  Acc sum = Acc(0);
  for (int64_t s = 0; s < slices; ++s) sum += partial[(s * p.channels + c) * nc + slot];
  if (slot <= p.m) {
    d_num[c * (p.m + 1) + slot] = sum;
  } else {
    const int64_t k = c * p.nd + (slot - p.m - 1);
    d_den[k] = version_a ? sum * Sign(den[k]) : sum;
  }
}

template <typename T, typename Acc, PauVersion V, bool kGrad, bool kNoise>
cudaError_t Launch(const Layout& layout, const LaunchPlan& plan, const PauArgs& args, const T* x,
                   const T* dy, const Acc* num, const Acc* den, T* out, Acc* partial,
                   cudaStream_t stream) {
  if (plan.row_mode) {
    const int64_t rows_per_slice = (layout.outer + plan.slices - 1) / plan.slices;
    const dim3 grid(static_cast<unsigned>(plan.groups), static_cast<unsigned>(plan.slices));
    PauRowKernel<T, Acc, V, kGrad, kNoise><<<grid, dim3(kRowLanes, kRowsPerBlock), 0, stream>>>(
        args, x, dy, num, den, out, partial, rows_per_slice);
  } else {
    const int64_t per_channel = layout.outer * layout.inner;
    const int64_t per_slice = (per_channel + plan.slices - 1) / plan.slices;
    const dim3 grid(static_cast<unsigned>(plan.groups), static_cast<unsigned>(plan.slices));
    PauRunKernel<T, Acc, V, kGrad, kNoise><<<grid, kRunThreads, 0, stream>>>(
        args, x, dy, num, den, out, partial, per_slice);
  }
  return cudaGetLastError();
}

// Turns the runtime (version, noise) into template arguments.
template <typename T, typename Acc, bool kGrad>
cudaError_t Dispatch(const Layout& layout, const LaunchPlan& plan, const PauConfig& cfg,
                     const PauArgs& args, const T* x, const T* dy, const Acc* num, const Acc* den,
                     T* out, Acc* partial, cudaStream_t stream) {
  const bool noise = cfg.noise != 0.0f;
#define TLA_PAU_CUDA_CASE(V)                                                                  \
  case V:                                                                                     \
    return noise ? Launch<T, Acc, V, kGrad, true>(layout, plan, args, x, dy, num, den, out,   \
                                                  partial, stream)                            \
                 : Launch<T, Acc, V, kGrad, false>(layout, plan, args, x, dy, num, den, out,  \
                                                   partial, stream);
  switch (cfg.version) {
    TLA_PAU_CUDA_CASE(PauVersion::kA)
    TLA_PAU_CUDA_CASE(PauVersion::kB)
    TLA_PAU_CUDA_CASE(PauVersion::kC)
    TLA_PAU_CUDA_CASE(PauVersion::kN)
  }
#undef TLA_PAU_CUDA_CASE
  return cudaErrorInvalidValue;
}

PauArgs MakeArgs(const Layout& layout, const PauConfig& cfg) {
  return PauArgs{layout.outer, layout.channels, layout.inner, cfg.m, cfg.n,
                 cfg.num_denominator(), cfg.noise, NoiseKey(cfg.seed)};
}

template <typename T, typename Acc>
cudaError_t Forward(const Layout& layout, const PauConfig& cfg, const void* x, const void* num,
                    const void* den, void* y, int sm_count, cudaStream_t stream) {
  if (layout.size() == 0) return cudaSuccess;
  return Dispatch<T, Acc, false>(layout, MakeLaunchPlan(layout, sm_count), cfg,
                                 MakeArgs(layout, cfg), static_cast<const T*>(x), nullptr,
                                 static_cast<const Acc*>(num), static_cast<const Acc*>(den),
                                 static_cast<T*>(y), nullptr, stream);
}

template <typename T, typename Acc>
cudaError_t Backward(const Layout& layout, const PauConfig& cfg, const void* dy, const void* x,
                     const void* num, const void* den, void* dx, void* d_num, void* d_den,
                     void* workspace, int sm_count, cudaStream_t stream) {
  const PauArgs args = MakeArgs(layout, cfg);
  const int nc = cfg.num_coefs();
  if (layout.size() == 0) {  // no elements: zero gradients
    cudaError_t err = cudaMemsetAsync(d_num, 0, layout.channels * (cfg.m + 1) * sizeof(Acc), stream);
    if (err != cudaSuccess) return err;
    return cudaMemsetAsync(d_den, 0, layout.channels * args.nd * sizeof(Acc), stream);
  }
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  Acc* partial = static_cast<Acc*>(workspace);
  cudaError_t err = Dispatch<T, Acc, true>(layout, plan, cfg, args, static_cast<const T*>(x),
                                           static_cast<const T*>(dy), static_cast<const Acc*>(num),
                                           static_cast<const Acc*>(den), static_cast<T*>(dx),
                                           partial, stream);
  if (err != cudaSuccess) return err;
  const int64_t fold_threads = layout.channels * nc;
  const int block = 256;
  FoldKernel<Acc><<<static_cast<unsigned>((fold_threads + block - 1) / block), block, 0, stream>>>(
      args, cfg.version == PauVersion::kA, partial, plan.slices, static_cast<const Acc*>(den),
      static_cast<Acc*>(d_num), static_cast<Acc*>(d_den));
  return cudaGetLastError();
}

}  // namespace

LaunchPlan MakeLaunchPlan(const Layout& layout, int sm_count) {
  LaunchPlan plan;
  const int64_t target_blocks = static_cast<int64_t>(std::max(sm_count, 1)) * kBlocksPerSm;
  plan.row_mode = layout.inner == 1 && layout.channels > 1;
  if (plan.row_mode) {
    plan.groups = (layout.channels + kRowLanes - 1) / kRowLanes;
    const int64_t max_slices = std::max<int64_t>(1, (layout.outer + kRowsPerBlock - 1) / kRowsPerBlock);
    plan.slices = std::clamp<int64_t>((target_blocks + plan.groups - 1) / plan.groups, 1, max_slices);
  } else {
    plan.groups = layout.channels;
    const int64_t per_channel = layout.outer * layout.inner;
    const int64_t max_slices = std::max<int64_t>(1, per_channel / (kRunThreads * 4));
    plan.slices = std::clamp<int64_t>((target_blocks + plan.groups - 1) / plan.groups, 1, max_slices);
  }
  plan.slices = std::min<int64_t>(plan.slices, 65535);  // grid.y limit
  return plan;
}

size_t PauBackwardWorkspaceBytes(DType dtype, const Layout& layout, const PauConfig& config,
                                 int sm_count) {
  const size_t acc = dtype == DType::kDouble ? sizeof(double) : sizeof(float);
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  return static_cast<size_t>(plan.slices * layout.channels * config.num_coefs()) * acc;
}

int PauForwardCuda(DType dtype, const Layout& layout, const PauConfig& config, const void* x,
                   const void* numerator, const void* denominator, void* y, int sm_count,
                   void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case DType::kHalf:
      return Forward<__half, float>(layout, config, x, numerator, denominator, y, sm_count, s);
    case DType::kBFloat16:
      return Forward<__nv_bfloat16, float>(layout, config, x, numerator, denominator, y, sm_count, s);
    case DType::kFloat:
      return Forward<float, float>(layout, config, x, numerator, denominator, y, sm_count, s);
    case DType::kDouble:
      return Forward<double, double>(layout, config, x, numerator, denominator, y, sm_count, s);
  }
  return cudaErrorInvalidValue;
}

int PauBackwardCuda(DType dtype, const Layout& layout, const PauConfig& config, const void* dy,
                    const void* x, const void* numerator, const void* denominator, void* dx,
                    void* d_numerator, void* d_denominator, void* workspace, int sm_count,
                    void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
#define TLA_PAU_BACKWARD(T, Acc)                                                            \
  return Backward<T, Acc>(layout, config, dy, x, numerator, denominator, dx, d_numerator, \
                          d_denominator, workspace, sm_count, s)
  switch (dtype) {
    case DType::kHalf:
      TLA_PAU_BACKWARD(__half, float);
    case DType::kBFloat16:
      TLA_PAU_BACKWARD(__nv_bfloat16, float);
    case DType::kFloat:
      TLA_PAU_BACKWARD(float, float);
    case DType::kDouble:
      TLA_PAU_BACKWARD(double, double);
  }
#undef TLA_PAU_BACKWARD
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tf_learnact
