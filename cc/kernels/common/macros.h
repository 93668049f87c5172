// Portability macros shared by the CPU kernels and (later) the CUDA kernels.
#ifndef TF_LEARNACT_KERNELS_COMMON_MACROS_H_
#define TF_LEARNACT_KERNELS_COMMON_MACROS_H_

#if defined(__CUDACC__)
#define TLA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TLA_HOST_DEVICE inline
#endif

// One library that runs anywhere, with an AVX2+FMA clone picked at load time.
// "arch=x86-64-v3" (not plain "avx2") is what enables FMA.
// TLA_TARGET_CLONES_AVX512 adds an AVX-512 clone ("arch=x86-64-v4": F, BW, DQ, VL), for
// the kernels it measurably speeds up: the vectors stay 8 floats wide there, but the code
// gets 32 vector registers and mask registers for its compares and blends.
// TLA_TARGET_AVX512 compiles a function for AVX-512 alone, for code on 16-float vectors
// (GCC lowers those through memory on AVX2): its callers check CpuHasAvx512() first.
#if defined(__x86_64__) && !defined(__CUDACC__) && !defined(__clang__)
#define TLA_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define TLA_TARGET_CLONES_AVX512 \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define TLA_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
#define TLA_HAVE_TARGET_AVX512 1
#else
#define TLA_TARGET_CLONES
#define TLA_TARGET_CLONES_AVX512
#define TLA_TARGET_AVX512
#define TLA_HAVE_TARGET_AVX512 0
#endif

#if !defined(__CUDACC__)
namespace tf_learnact {
// Whether this CPU (and its OS) runs x86-64-v4 code, the AVX-512 clones' test.
inline bool CpuHasAvx512() {
#if TLA_HAVE_TARGET_AVX512
  static const bool has = __builtin_cpu_supports("x86-64-v4");
  return has;
#else
  return false;
#endif
}
}  // namespace tf_learnact
#endif

// Hot helpers must be inlined into the TLA_TARGET_CLONES entry point, or they run
// with the baseline instruction set only.
// TLA_ALWAYS_INLINE_LAMBDA goes after a lambda's parameter list. TLA_NOINLINE keeps a rare
// path out of line (and out of the hot loop's registers); it runs with the baseline
// instruction set. (Not `cold`, which compiles for size: PAU's long double path ran
// 1.6x (forward) to 6x (forward+backward) slower so.)
#if defined(__GNUC__)
#define TLA_ALWAYS_INLINE inline __attribute__((always_inline))
#define TLA_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))
#define TLA_NOINLINE __attribute__((noinline))
#else
#define TLA_ALWAYS_INLINE inline
#define TLA_ALWAYS_INLINE_LAMBDA
#define TLA_NOINLINE
#endif

#endif  // TF_LEARNACT_KERNELS_COMMON_MACROS_H_
