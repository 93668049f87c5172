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
// U: uint32_t, or a GCC vector of uint32_t lanes (the CPU kernels hash 8 lanes at once).
template <typename U>
TLA_HOST_DEVICE U Hash32(U v) {
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

// Per-element stream state; element indices are 64-bit. The high half's hash is shared by
// every element below the same multiple of 2^32, so a walk over consecutive elements
// takes it once (NoiseElementHigh) and XORs it into each element's NoiseElementLow.
template <typename U>
TLA_HOST_DEVICE U NoiseElementLow(uint32_t key, U element_low) {
  return Hash32(element_low ^ key);
}
TLA_HOST_DEVICE uint32_t NoiseElementHigh(uint32_t key, int64_t element) {
  return Hash32(static_cast<uint32_t>(static_cast<uint64_t>(element) >> 32) + key);
}
TLA_HOST_DEVICE uint32_t NoiseElement(uint32_t key, int64_t element) {
  return NoiseElementLow(key, static_cast<uint32_t>(element)) ^ NoiseElementHigh(key, element);
}

// Coefficients 2i and 2i + 1 of an element share one hash, Hash32(state + i * kGolden),
// and take its low and its high 16 bits: half the hashing of a hash per coefficient
// (the hashes bound the noisy kernels), and 16 bits resolve a noise factor 1 + alpha u
// to alpha * 3e-5.
template <typename U>
TLA_HOST_DEVICE U NoisePairHash(U element_state, uint32_t pair) {
  return Hash32(element_state + pair * kGolden);
}
// Coefficient `coef`'s 16 bits as the high half of an int32 with the next bit set: as
// int32 times 2^-31 (exact in float), the odd multiples of 2^-16 in (-1, 1), symmetric
// about 0.
template <typename U>
TLA_HOST_DEVICE U NoiseBitsOfHash(U pair_hash, uint32_t coef) {
  return ((coef & 1U) ? (pair_hash & 0xffff0000U) : (pair_hash << 16)) | 0x8000U;
}
constexpr float kNoiseBitsScale = 1.0f / 2147483648.0f;  // 2^-31

// Uniform in (-1, 1) with 16 random bits, for coefficient `coef` of one element.
TLA_HOST_DEVICE float NoiseUniform(uint32_t element_state, uint32_t coef) {
  const uint32_t bits = NoiseBitsOfHash(NoisePairHash(element_state, coef >> 1), coef);
  return static_cast<float>(static_cast<int32_t>(bits)) * kNoiseBitsScale;
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_COUNTER_RNG_H_
