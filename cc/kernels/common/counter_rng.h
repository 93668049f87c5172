// Counter-based uniform noise: a pure function of (seed, element, coefficient), so the
// backward pass regenerates exactly the forward's noise without storing it, on any
// thread count or device. The Python twin (tf_learnact/ops/noise.py) mirrors it bit
// for bit; change both together.
#ifndef TF_LEARNACT_KERNELS_COMMON_COUNTER_RNG_H_
#define TF_LEARNACT_KERNELS_COMMON_COUNTER_RNG_H_

#include <cstdint>

#include "cc/kernels/common/macros.h"

namespace tf_learnact {

// "lowbias32" integer hash (C. Wellons): good avalanche, 32-bit multiplies only, so it
// vectorises with AVX2 and runs natively on GPUs.
TLA_HOST_DEVICE uint32_t Hash32(uint32_t v) {
  v ^= v >> 16;
  v *= 0x7feb352dU;
  v ^= v >> 15;
  v *= 0x846ca68bU;
  v ^= v >> 16;
  return v;
}

constexpr uint32_t kGolden = 0x9e3779b9U;

// Folds a 64-bit seed into a 32-bit key (done once per op call).
TLA_HOST_DEVICE uint32_t NoiseKey(int64_t seed) {
  const uint64_t s = static_cast<uint64_t>(seed);
  return Hash32(static_cast<uint32_t>(s)) ^ Hash32(static_cast<uint32_t>(s >> 32) + kGolden);
}

// Per-element stream state; element indices are 64-bit.
TLA_HOST_DEVICE uint32_t NoiseElement(uint32_t key, int64_t element) {
  const uint64_t e = static_cast<uint64_t>(element);
  return Hash32(static_cast<uint32_t>(e) ^ key) ^ Hash32(static_cast<uint32_t>(e >> 32) + key);
}

// Uniform in [-1, 1) with 24 random bits, for coefficient `coef` of one element.
TLA_HOST_DEVICE float NoiseUniform(uint32_t element_state, uint32_t coef) {
  const uint32_t h = Hash32(element_state + coef * kGolden);
  return static_cast<float>(static_cast<int32_t>(h >> 8) - (1 << 23)) * (1.0f / (1 << 23));
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_COUNTER_RNG_H_
