// ABU forward/backward on CUDA: g(x) = sum_j w_j f_j(x), fused as on the CPU
// (abu_kernels_impl.h): f_j and f_j' are computed on the fly and never stored, every basis
// function stays finite for large |x| (exp only of non-positive arguments), and the
// functions that derive from exp(-|x|) share one exponential. Parameter gradients use
// the shared deterministic reduction of cuda_common.cuh.
#include <algorithm>

#include "cc/kernels/cuda/cuda_common.cuh"

namespace tf_learnact {
namespace cuda {
namespace {

constexpr int kMaxBasis = kNumBasisFunctions;

struct AbuArgs {
  Dims d;
  int m;
  int basis[kMaxBasis];  // Basis values
  bool needs_abs_exp;    // some function derives from exp(-|x|)
};

// f(x), f'(x) and, for swish, df/dbeta.
template <typename Acc>
struct BasisValue {
  Acc f, df, dbeta;
};

// exp(-|x|) and expm1(-|x|).
template <typename Acc>
struct NegAbsExp {
  Acc exp, expm1;
};

// sigmoid(v) and sigmoid'(v) from e = exp(-|v|), without cancellation for large |v|.
template <typename Acc>
__device__ __forceinline__ BasisValue<Acc> Sigmoid(Acc v, Acc e) {
  const Acc inv = Acc(1) / (e + Acc(1));
  return {v >= Acc(0) ? inv : e * inv, e * (inv * inv), Acc(0)};  // NaN: second branch
}

template <typename Acc>
__device__ __forceinline__ NegAbsExp<Acc> NegAbsExpOf(Acc v) {
  const Acc a = -fabs(v);
  return {exp(a), expm1(a)};
}

// tanh(v), tanh'(v) and 1 + tanh(v) from ax = exp(-|v|), expm1(-|v|) (see vec_math.h).
template <typename Acc>
struct Tanh {
  Acc t, dt, one_plus_t;
};
template <typename Acc>
__device__ __forceinline__ Tanh<Acc> TanhOf(Acc v, const NegAbsExp<Acc>& ax) {
  const Acc d = ax.expm1 * (ax.expm1 + Acc(2));
  const Acc inv = Acc(1) / (d + Acc(2));
  const Acc t = -d * inv, e2 = ax.exp * ax.exp;
  const bool neg = v < Acc(0);
  return {neg ? -t : t, Acc(4) * e2 * (inv * inv), Acc(2) * (neg ? e2 : Acc(1)) * inv};
}

template <typename Acc>
__device__ __forceinline__ BasisValue<Acc> Evaluate(int b, Acc x, Acc beta,
                                                    const NegAbsExp<Acc>& ax) {
  constexpr Acc kSeluScale = Acc(1.0507009873554805), kSeluAlpha = Acc(1.6732632423543772);
  constexpr Acc kGeluC = Acc(0.7978845608028654), kGeluA = Acc(0.044715);
  const bool pos = x > Acc(0);  // false for NaN: the negative branches propagate it
  switch (static_cast<Basis>(b)) {
    case Basis::kTanh: {
      const Tanh<Acc> t = TanhOf(x, ax);
      return {t.t, t.dt, Acc(0)};
    }
    case Basis::kElu:  // for x <= 0, exp(x) = exp(-|x|)
      return {pos ? x : ax.expm1, pos ? Acc(1) : ax.exp, Acc(0)};
    case Basis::kRelu:  // NaN -> NaN, as tf.nn.relu
      return {x <= Acc(0) ? Acc(0) : x, pos ? Acc(1) : Acc(0), Acc(0)};
    case Basis::kIdentity:
      return {x, Acc(1), Acc(0)};
    case Basis::kSwish: {
      const Acc bx = beta * x;
      const BasisValue<Acc> s = Sigmoid(bx, exp(-fabs(bx)));
      return {x * s.f, s.f + bx * s.df, x * x * s.df};
    }
    case Basis::kSigmoid:
      return Sigmoid(x, ax.exp);
    case Basis::kSelu:
      return {pos ? kSeluScale * x : (kSeluScale * kSeluAlpha) * ax.expm1,
              pos ? kSeluScale : (kSeluScale * kSeluAlpha) * ax.exp, Acc(0)};
    case Basis::kLeakyRelu:
      return {pos ? x : Acc(0.01) * x, pos ? Acc(1) : Acc(0.01), Acc(0)};
    case Basis::kSoftplus:  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
      return {(pos ? x : Acc(0)) + log1p(ax.exp), Sigmoid(x, ax.exp).f, Acc(0)};
    case Basis::kGelu: {
      // tanh form; taken as relu beyond |x| = 10 (as on the CPU: x^3 could overflow).
      if (fabs(x) > Acc(10)) return {pos ? x : Acc(0), pos ? Acc(1) : Acc(0), Acc(0)};
      const Acc u = kGeluC * (x + kGeluA * x * x * x);
      const Tanh<Acc> t = TanhOf(u, NegAbsExpOf(u));
      const Acc du = kGeluC * (Acc(1) + Acc(3) * kGeluA * x * x);
      return {Acc(0.5) * x * t.one_plus_t, Acc(0.5) * t.one_plus_t + Acc(0.5) * x * t.dt * du,
              Acc(0)};
    }
  }
  return {Acc(0), Acc(0), Acc(0)};
}

// One kernel for both walks (LaunchPlan). A channel's slots are its m weights, then
// beta; partial: [slices][C][m + 1].
template <typename T, typename Acc, bool kGrad>
__global__ void __launch_bounds__(kBlockThreads)
    AbuKernel(AbuArgs p, bool row_mode, int64_t per_slice, const T* __restrict__ x,
              const T* __restrict__ dy, const Acc* __restrict__ weights,
              const Acc* __restrict__ beta, T* __restrict__ out, Acc* __restrict__ partial) {
  const SliceWalk walk(p.d, row_mode, per_slice);
  const int64_t c = walk.channel();
  Acc w[kMaxBasis] = {}, g[kMaxBasis + 1] = {};
  Acc b = Acc(1);
  if (walk.live()) {
#pragma unroll
    for (int j = 0; j < kMaxBasis; ++j)
      if (j < p.m) w[j] = weights[c * p.m + j];
    b = beta[c];
  }
  walk.ForEach([&](int64_t i) {
    const Acc xv = ToAcc(x[i]);
    const NegAbsExp<Acc> ax = p.needs_abs_exp ? NegAbsExpOf(xv) : NegAbsExp<Acc>{};
    const Acc dyv = kGrad ? ToAcc(dy[i]) : Acc(0);
    Acc sum = Acc(0);
#pragma unroll
    for (int j = 0; j < kMaxBasis; ++j) {
      if (j < p.m) {
        const BasisValue<Acc> v = Evaluate(p.basis[j], xv, b, ax);
        if (!kGrad) {
          sum += w[j] * v.f;
        } else {
          sum += w[j] * v.df;
          g[j] += dyv * v.f;
          if (p.basis[j] == static_cast<int>(Basis::kSwish)) g[kMaxBasis] += dyv * w[j] * v.dbeta;
        }
      }
    }
    out[i] = FromAcc<T>(kGrad ? dyv * sum : sum);
  });
  if (!kGrad) return;
  __shared__ Acc scratch[kBlockThreads];
  const int slots = p.m + 1;
#pragma unroll
  for (int j = 0; j <= kMaxBasis; ++j) {
    if (j < p.m || j == kMaxBasis) {
      const Acc sum = BlockChannelSum(g[j], scratch, row_mode);
      const int slot = j == kMaxBasis ? p.m : j;
      if (IsChannelReducer(row_mode) && walk.live())
        partial[PartialIndex(p.d, c, slots, slot)] = sum;
    }
  }
}

template <typename Acc>
struct AbuSink {
  int m;
  Acc* d_weights;
  Acc* d_beta;
  __device__ void operator()(int64_t c, int slot, Acc sum) const {
    if (slot < m) {
      d_weights[c * m + slot] = sum;
    } else {
      d_beta[c] = sum;
    }
  }
};

// Validates the basis (1..kMaxBasis known functions) and fills the kernel arguments.
bool MakeArgs(const Layout& layout, const Basis* basis, int m, AbuArgs* args) {
  if (m < 1 || m > kMaxBasis) return false;
  args->d = DimsOf(layout);
  args->m = m;
  args->needs_abs_exp = false;
  for (int j = 0; j < m; ++j) {
    const int b = static_cast<int>(basis[j]);
    if (b < 0 || b > static_cast<int>(Basis::kGelu)) return false;
    args->basis[j] = b;
    args->needs_abs_exp |= basis[j] == Basis::kTanh || basis[j] == Basis::kElu ||
                           basis[j] == Basis::kSelu || basis[j] == Basis::kSigmoid ||
                           basis[j] == Basis::kSoftplus;
  }
  for (int j = m; j < kMaxBasis; ++j) args->basis[j] = 0;
  return true;
}

}  // namespace

size_t AbuBackwardWorkspaceBytes(DType dtype, const Layout& layout, int m, int sm_count) {
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  return static_cast<size_t>(plan.slices * layout.channels * (m + 1)) * AccBytes(dtype);
}

int AbuForwardCuda(DType dtype, const Layout& layout, const Basis* basis, int m, const void* x,
                   const void* weights, const void* beta, void* y, int sm_count, void* stream) {
  AbuArgs args;
  if (!MakeArgs(layout, basis, m, &args)) return cudaErrorInvalidValue;
  if (layout.size() == 0) return cudaSuccess;
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  return DispatchDType(dtype, [&](auto types) {
    using T = typename decltype(types)::T;
    using Acc = typename decltype(types)::Acc;
    AbuKernel<T, Acc, false><<<GridOf(plan), BlockOf(plan), 0, static_cast<cudaStream_t>(stream)>>>(
        args, plan.row_mode, plan.per_slice, static_cast<const T*>(x), nullptr,
        static_cast<const Acc*>(weights), static_cast<const Acc*>(beta), static_cast<T*>(y),
        nullptr);
    return cudaGetLastError();
  });
}

int AbuBackwardCuda(DType dtype, const Layout& layout, const Basis* basis, int m, const void* dy,
                    const void* x, const void* weights, const void* beta, void* dx, void* d_weights,
                    void* d_beta, void* workspace, int sm_count, void* stream) {
  AbuArgs args;
  if (!MakeArgs(layout, basis, m, &args)) return cudaErrorInvalidValue;
  const auto s = static_cast<cudaStream_t>(stream);
  if (layout.size() == 0) {
    const size_t acc = AccBytes(dtype);
    return ZeroAll({{d_weights, layout.channels * m * acc}, {d_beta, layout.channels * acc}}, s);
  }
  const LaunchPlan plan = MakeLaunchPlan(layout, sm_count);
  return DispatchDType(dtype, [&](auto types) {
    using T = typename decltype(types)::T;
    using Acc = typename decltype(types)::Acc;
    Acc* partial = static_cast<Acc*>(workspace);
    AbuKernel<T, Acc, true><<<GridOf(plan), BlockOf(plan), 0, s>>>(
        args, plan.row_mode, plan.per_slice, static_cast<const T*>(x), static_cast<const T*>(dy),
        static_cast<const Acc*>(weights), static_cast<const Acc*>(beta), static_cast<T*>(dx),
        partial);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
    const AbuSink<Acc> sink{m, static_cast<Acc*>(d_weights), static_cast<Acc*>(d_beta)};
    return FoldSlices(partial, plan, layout.channels, m + 1, sink, s);
  });
}

}  // namespace cuda
}  // namespace tf_learnact
