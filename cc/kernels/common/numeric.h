// Storage types of the kernels and their conversions to the accumulation type.
// Half types are stored as 16 bits and computed in float32. Kept free of TensorFlow
// headers so the math compiles fast and can be reused by a standalone harness; the TF
// adapter reinterprets Eigen::half / Eigen::bfloat16 buffers as these (same layout).
#ifndef TF_LEARNACT_KERNELS_COMMON_NUMERIC_H_
#define TF_LEARNACT_KERNELS_COMMON_NUMERIC_H_

#include <cstdint>
#include <cstring>

namespace tf_learnact {

struct Half16 {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// Accumulation type: double for double, float for everything else.
template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

inline float ToAcc(float v) { return v; }
inline double ToAcc(double v) { return v; }
inline float ToAcc(BFloat16 v) {
  const uint32_t u = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline float ToAcc(Half16 v) {
  _Float16 h;
  std::memcpy(&h, &v.bits, sizeof h);
  return static_cast<float>(h);
}

template <typename T>
inline T FromAcc(float v);
template <>
inline float FromAcc<float>(float v) {
  return v;
}
template <typename T>
inline T FromAcc(double v) {
  return static_cast<T>(v);
}
template <>
inline BFloat16 FromAcc<BFloat16>(float v) {
  // Round to nearest even, NaN kept quiet: the same rounding as Eigen::bfloat16.
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  if ((u & 0x7fffffffU) > 0x7f800000U) return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40)};
  u += 0x7fffU + ((u >> 16) & 1U);
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}
template <>
inline Half16 FromAcc<Half16>(float v) {
  const _Float16 h = static_cast<_Float16>(v);
  Half16 out;
  std::memcpy(&out.bits, &h, sizeof h);
  return out;
}

}  // namespace tf_learnact

#endif  // TF_LEARNACT_KERNELS_COMMON_NUMERIC_H_
