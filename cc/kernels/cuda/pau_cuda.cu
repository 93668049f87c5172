// PAU forward/backward on CUDA: plain CUDA C++ (no TensorFlow header), the same math and
// operation order as the CPU lane kernel (pau_kernels_impl.h), the same counter-based
// RPAU noise, and the shared deterministic parameter-gradient reduction of
// cuda_common.cuh (per-thread register sums, fixed-order block sums, per-slice partials
// folded in slice order).
#include "cc/kernels/common/counter_rng.h"
#include "cc/kernels/cuda/cuda_common.cuh"

namespace tf_learnact {
namespace cuda {
namespace {

constexpr int kMaxDeg = kPauMaxDegree;

struct PauArgs {
  Dims d;
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

// One kernel for both walks (LaunchPlan). partial: [slices][C][nc].
template <typename T, typename Acc, PauVersion V, bool kGrad, bool kNoise>
__global__ void __launch_bounds__(kBlockThreads)
    PauKernel(PauArgs p, bool row_mode, int64_t per_slice, const T* __restrict__ x,
              const T* __restrict__ dy, const Acc* __restrict__ num, const Acc* __restrict__ den,
              T* __restrict__ out, Acc* __restrict__ partial) {
  const SliceWalk walk(p.d, row_mode, per_slice);
  const int64_t c = walk.channel();
  Coefs<Acc> cf;
  if (walk.live()) LoadCoefs<Acc, V>(p, num, den, c, &cf);
  Acc ga[kMaxDeg + 1] = {}, ge[kMaxDeg + 1] = {};
  walk.ForEach([&](int64_t i) {
    const Acc g = kGrad ? ToAcc(dy[i]) : Acc(0);
    out[i] = FromAcc<T>(PauPoint<Acc, V, kGrad, kNoise>(p, cf, ToAcc(x[i]), g, i, ga, ge));
  });
  if (!kGrad) return;
  __shared__ Acc scratch[kBlockThreads];
  const int nc = p.m + 1 + p.nd;
  ForEachSlot<Acc, V>(p, ga, ge, [&](int slot, Acc value) {
    const Acc sum = BlockChannelSum(value, scratch, row_mode);
    if (IsChannelReducer(row_mode) && walk.live()) partial[PartialIndex(p.d, c, nc, slot)] = sum;
  });
}

// d_numerator / d_denominator[c][j] from the folded sums; version A's magnitudes get
// their sign here (chain rule through |b|, sign(0) = 0).
template <typename Acc>
struct PauSink {
  int m, nd;
  bool version_a;
  const Acc* den;
  Acc* d_num;
  Acc* d_den;
  __device__ void operator()(int64_t c, int slot, Acc sum) const {
    if (slot <= m) {
      d_num[c * (m + 1) + slot] = sum;
    } else {
      const int64_t k = c * nd + (slot - m - 1);
      d_den[k] = version_a ? sum * Sign(den[k]) : sum;
    }
  }
};

template <typename T, typename Acc, PauVersion V, bool kGrad, bool kNoise>
cudaError_t Launch(const LaunchPlan& plan, const PauArgs& args, const T* x, const T* dy,
                   const Acc* num, const Acc* den, T* out, Acc* partial, cudaStream_t stream) {
  PauKernel<T, Acc, V, kGrad, kNoise><<<GridOf(plan), BlockOf(plan), 0, stream>>>(
      args, plan.row_mode, plan.per_slice, x, dy, num, den, out, partial);
  return cudaGetLastError();
}

// Turns the runtime (version, noise) into template arguments.
template <typename T, typename Acc, bool kGrad>
cudaError_t Dispatch(const LaunchPlan& plan, const PauConfig& cfg, const PauArgs& args, const T* x,
                     const T* dy, const Acc* num, const Acc* den, T* out, Acc* partial,
                     cudaStream_t stream) {
  const bool noise = cfg.noise != 0.0f;
#define TLA_PAU_CUDA_CASE(V)                                                                       \
  case V:                                                                                          \
    return noise                                                                                   \
               ? Launch<T, Acc, V, kGrad, true>(plan, args, x, dy, num, den, out, partial, stream) \
               : Launch<T, Acc, V, kGrad, false>(plan, args, x, dy, num, den, out, partial,        \
                                                 stream);
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
  return PauArgs{DimsOf(layout),        cfg.m,     cfg.n,
                 cfg.num_denominator(), cfg.noise, NoiseKey(cfg.seed)};
}

}  // namespace

size_t PauBackwardWorkspaceBytes(DType dtype, const Layout& layout, const PauConfig& config,
                                 int sm_count) {
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  return static_cast<size_t>(plan.slices * layout.channels * config.num_coefs()) * AccBytes(dtype);
}

int PauForwardCuda(DType dtype, const Layout& layout, const PauConfig& config, const void* x,
                   const void* numerator, const void* denominator, void* y, int sm_count,
                   void* stream) {
  if (layout.size() == 0) return cudaSuccess;
  return DispatchDType(dtype, [&](auto types) {
    using T = typename decltype(types)::T;
    using Acc = typename decltype(types)::Acc;
    return Dispatch<T, Acc, false>(MakeLaunchPlan(layout, sm_count), config,
                                   MakeArgs(layout, config), static_cast<const T*>(x), nullptr,
                                   static_cast<const Acc*>(numerator),
                                   static_cast<const Acc*>(denominator), static_cast<T*>(y),
                                   nullptr, static_cast<cudaStream_t>(stream));
  });
}

int PauBackwardCuda(DType dtype, const Layout& layout, const PauConfig& config, const void* dy,
                    const void* x, const void* numerator, const void* denominator, void* dx,
                    void* d_numerator, void* d_denominator, void* workspace, int sm_count,
                    void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  const PauArgs args = MakeArgs(layout, config);
  if (layout.size() == 0) {  // no elements: zero gradients
    const size_t acc = AccBytes(dtype);
    return ZeroAll({{d_numerator, layout.channels * (config.m + 1) * acc},
                    {d_denominator, layout.channels * args.nd * acc}},
                   s);
  }
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  return DispatchDType(dtype, [&](auto types) {
    using T = typename decltype(types)::T;
    using Acc = typename decltype(types)::Acc;
    Acc* partial = static_cast<Acc*>(workspace);
    const Acc* den = static_cast<const Acc*>(denominator);
    cudaError_t err = Dispatch<T, Acc, true>(
        plan, config, args, static_cast<const T*>(x), static_cast<const T*>(dy),
        static_cast<const Acc*>(numerator), den, static_cast<T*>(dx), partial, s);
    if (err != cudaSuccess) return err;
    const PauSink<Acc> sink{config.m,
                            args.nd,
                            config.version == PauVersion::kA,
                            den,
                            static_cast<Acc*>(d_numerator),
                            static_cast<Acc*>(d_denominator)};
    return FoldSlices(partial, plan, layout.channels, config.num_coefs(), sink, s);
  });
}

}  // namespace cuda
}  // namespace tf_learnact
