// A C API over the CUDA launchers, so the kernels can be tested and timed on a machine
// without TensorFlow (ctypes + PyTorch/CuPy tensors, see driver.py). Layouts are given as
// [outer, channels, inner]; pointers are device pointers; stream is a cudaStream_t.
#include <cuda_runtime.h>

#include "cc/kernels/cuda/cuda_launch.h"

namespace {

tf_learnact::Layout MakeLayout(int64_t outer, int64_t channels, int64_t inner) {
  tf_learnact::Layout layout;
  layout.outer = outer;
  layout.channels = channels;
  layout.inner = inner;
  return layout;
}

tf_learnact::PauConfig MakeConfig(int version, int m, int n, float noise, int64_t seed) {
  tf_learnact::PauConfig config;
  config.version = static_cast<tf_learnact::PauVersion>(version);
  config.m = m;
  config.n = n;
  config.noise = noise;
  config.seed = seed;
  return config;
}

}  // namespace

extern "C" {

int tla_sm_count(int device) {
  int count = 0;
  if (cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess)
    return -1;
  return count;
}

const char* tla_error_string(int code) {
  return cudaGetErrorString(static_cast<cudaError_t>(code));
}

size_t tla_pau_backward_workspace_bytes(int dtype, int64_t outer, int64_t channels, int64_t inner,
                                        int version, int m, int n, int sm_count) {
  return tf_learnact::cuda::PauBackwardWorkspaceBytes(static_cast<tf_learnact::cuda::DType>(dtype),
                                                      MakeLayout(outer, channels, inner),
                                                      MakeConfig(version, m, n, 0.0f, 0), sm_count);
}

int tla_pau_forward(int dtype, int64_t outer, int64_t channels, int64_t inner, int version, int m,
                    int n, float noise, int64_t seed, const void* x, const void* numerator,
                    const void* denominator, void* y, int sm_count, void* stream) {
  return tf_learnact::cuda::PauForwardCuda(
      static_cast<tf_learnact::cuda::DType>(dtype), MakeLayout(outer, channels, inner),
      MakeConfig(version, m, n, noise, seed), x, numerator, denominator, y, sm_count, stream);
}

int tla_pau_backward(int dtype, int64_t outer, int64_t channels, int64_t inner, int version, int m,
                     int n, float noise, int64_t seed, const void* dy, const void* x,
                     const void* numerator, const void* denominator, void* dx, void* d_numerator,
                     void* d_denominator, void* workspace, int sm_count, void* stream) {
  return tf_learnact::cuda::PauBackwardCuda(
      static_cast<tf_learnact::cuda::DType>(dtype), MakeLayout(outer, channels, inner),
      MakeConfig(version, m, n, noise, seed), dy, x, numerator, denominator, dx, d_numerator,
      d_denominator, workspace, sm_count, stream);
}

int tla_pwlu_max_intervals(int dtype) {
  return tf_learnact::cuda::PwluMaxIntervalsCuda(static_cast<tf_learnact::cuda::DType>(dtype));
}

size_t tla_pwlu_backward_workspace_bytes(int dtype, int64_t outer, int64_t channels, int64_t inner,
                                         int intervals, int sm_count) {
  return tf_learnact::cuda::PwluBackwardWorkspaceBytes(static_cast<tf_learnact::cuda::DType>(dtype),
                                                       MakeLayout(outer, channels, inner),
                                                       intervals, sm_count);
}

int tla_pwlu_forward(int dtype, int64_t outer, int64_t channels, int64_t inner, int intervals,
                     const void* x, const void* left, const void* right, const void* slopes,
                     const void* offsets, void* y, int sm_count, void* stream) {
  return tf_learnact::cuda::PwluForwardCuda(static_cast<tf_learnact::cuda::DType>(dtype),
                                            MakeLayout(outer, channels, inner), intervals, x, left,
                                            right, slopes, offsets, y, sm_count, stream);
}

int tla_pwlu_backward(int dtype, int64_t outer, int64_t channels, int64_t inner, int intervals,
                      const void* dy, const void* x, const void* left, const void* right,
                      const void* slopes, const void* offsets, void* dx, void* d_slopes,
                      void* d_offsets, void* workspace, int sm_count, void* stream) {
  return tf_learnact::cuda::PwluBackwardCuda(
      static_cast<tf_learnact::cuda::DType>(dtype), MakeLayout(outer, channels, inner), intervals,
      dy, x, left, right, slopes, offsets, dx, d_slopes, d_offsets, workspace, sm_count, stream);
}

// basis: m host ints, the Basis values (abu_kernels.h order: tanh, elu, relu, identity,
// swish, sigmoid, selu, leaky_relu, softplus, gelu).
size_t tla_abu_backward_workspace_bytes(int dtype, int64_t outer, int64_t channels, int64_t inner,
                                        int m, int sm_count) {
  return tf_learnact::cuda::AbuBackwardWorkspaceBytes(static_cast<tf_learnact::cuda::DType>(dtype),
                                                      MakeLayout(outer, channels, inner), m,
                                                      sm_count);
}

int tla_abu_forward(int dtype, int64_t outer, int64_t channels, int64_t inner, const int* basis,
                    int m, const void* x, const void* weights, const void* beta, void* y,
                    int sm_count, void* stream) {
  return tf_learnact::cuda::AbuForwardCuda(
      static_cast<tf_learnact::cuda::DType>(dtype), MakeLayout(outer, channels, inner),
      reinterpret_cast<const tf_learnact::Basis*>(basis), m, x, weights, beta, y, sm_count, stream);
}

int tla_abu_backward(int dtype, int64_t outer, int64_t channels, int64_t inner, const int* basis,
                     int m, const void* dy, const void* x, const void* weights, const void* beta,
                     void* dx, void* d_weights, void* d_beta, void* workspace, int sm_count,
                     void* stream) {
  return tf_learnact::cuda::AbuBackwardCuda(
      static_cast<tf_learnact::cuda::DType>(dtype), MakeLayout(outer, channels, inner),
      reinterpret_cast<const tf_learnact::Basis*>(basis), m, dy, x, weights, beta, dx, d_weights,
      d_beta, workspace, sm_count, stream);
}

}  // extern "C"
