// The kernel benchmarks' cases (see kernel_cases.h): PAU (5, 4), without and with RPAU's
// noise (1%), PWLU (16 intervals, ReLU on [-3, 3]) and ABU (the paper's basis).
#include "kernel_cases.h"  // this directory's, also when built against another tree

#include <random>

#ifndef KERNEL_CASES_PAU
#define KERNEL_CASES_PAU 1
#endif
#ifndef KERNEL_CASES_PWLU
#define KERNEL_CASES_PWLU 1
#endif
#ifndef KERNEL_CASES_ABU
#define KERNEL_CASES_ABU 1
#endif

#include "cc/kernels/common/layout.h"
#include "cc/kernels/common/numeric.h"
#if KERNEL_CASES_PAU
#include "cc/kernels/pau_kernels.h"
#endif
#if KERNEL_CASES_PWLU
#include "cc/kernels/pwlu_kernels.h"
#endif
#if KERNEL_CASES_ABU
#include "cc/kernels/abu_kernels.h"
#endif

namespace kernel_bench {
namespace {

// `out` followed by the bytes of float vectors.
template <typename... V>
std::vector<char> Concat(std::vector<char> out, const V&... v) {
  (
      [&out](const std::vector<float>& t) {
        const char* p = reinterpret_cast<const char*>(t.data());
        out.insert(out.end(), p, p + t.size() * sizeof(float));
      }(v),
      ...);
  return out;
}

// n values of T from p, as bytes.
template <typename T>
std::vector<char> Bytes(const T* p, int64_t n) {
  const char* b = reinterpret_cast<const char*>(p);
  return std::vector<char>(b, b + n * sizeof(T));
}

// Everything the closures read and write, in storage type T: x, dy, y and dx in
// `tensors` where given, else in tensors of its own.
template <typename T>
struct Buffers {
  int64_t n;
  std::unique_ptr<OwnedTensors> own;
  T *x, *dy, *y, *dx;
  std::vector<float> pau_num, pau_den, g_num, g_den;
  int intervals = 16;
  std::vector<float> left, right, slopes, offsets, g_slopes, g_offsets;
  std::vector<float> weights, beta, g_weights, g_beta;

  Buffers(int64_t size, int64_t channels, const Tensors* tensors) : n(size) {
    if (tensors == nullptr) {
      own = std::make_unique<OwnedTensors>(n * sizeof(T));
      tensors = &own->tensors();
    }
    x = static_cast<T*>(tensors->x);
    dy = static_cast<T*>(tensors->dy);
    y = static_cast<T*>(tensors->y);
    dx = static_cast<T*>(tensors->dx);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> drawn(2 * n);
    for (auto& e : drawn) e = normal(rng);
    for (int64_t i = 0; i < n; ++i) {
      x[i] = tf_learnact::FromAcc<T>(drawn[i]);
      dy[i] = tf_learnact::FromAcc<T>(drawn[n + i]);
    }
    const float num[6] = {0.02979246f, 0.61837738f, 2.32335207f,
                          3.05202660f, 1.48548002f, 0.25103717f};
    const float den[4] = {1.14201226f, 4.39322834f, 0.87154450f, 0.34720652f};
    for (int64_t c = 0; c < channels; ++c) {
      pau_num.insert(pau_num.end(), num, num + 6);
      pau_den.insert(pau_den.end(), den, den + 4);
    }
    g_num.resize(pau_num.size());
    g_den.resize(pau_den.size());
    const int rows = intervals + 2;
    left.assign(channels, -3.f);
    right.assign(channels, 3.f);
    for (int64_t c = 0; c < channels; ++c) {
      for (int k = 0; k < rows; ++k) {
        slopes.push_back(k <= rows / 2 ? 0.f : 1.f);  // ReLU on [-3, 3]
        offsets.push_back(0.f);
      }
    }
    g_slopes.resize(slopes.size());
    g_offsets.resize(slopes.size());
    weights.assign(channels * 5, 0.2f);
    beta.assign(channels, 1.f);
    g_weights.resize(weights.size());
    g_beta.resize(beta.size());
  }
};

template <typename T>
KernelCases MakeCases(int64_t n, int threads, const std::string& family, int64_t channels,
                      const Tensors* tensors) {
  [[maybe_unused]] const auto runs = [&family](const char* name) {
    return family == "all" || family == name;
  };
  auto b = std::make_shared<Buffers<T>>(n, channels, tensors);
  [[maybe_unused]] const tf_learnact::ParallelForBlocks pf = ThreadSplit(threads);
  KernelCases out;
  out.storage_bytes = sizeof(T);
  out.buffers = b;
  const int64_t dims[2] = {n / channels, channels};
  [[maybe_unused]] const auto layout = [&dims](bool per_channel) {
    return tf_learnact::MakeLayout(dims, 2, per_channel ? 1 : -1);
  };
  [[maybe_unused]] Buffers<T>* d = b.get();
  [[maybe_unused]] const auto y_bytes = [d] { return Bytes(d->y, d->n); };
#if KERNEL_CASES_PAU
  tf_learnact::PauConfig rpau;  // RPAU: PAU with 1% noise on each coefficient
  rpau.noise = 0.01f;
  rpau.seed = 7;
  for (const char* name : {"pau", "rpau"})
    for (bool per_channel : {false, true}) {
      if (!runs(name)) continue;
      const tf_learnact::PauConfig pau = name[0] == 'r' ? rpau : tf_learnact::PauConfig{};
      const tf_learnact::Layout lay = layout(per_channel);
      out.cases.push_back(
          {name[0] == 'r' ? "RPAU" : "PAU", per_channel,
           [=] { PauForward(lay, pau, d->x, d->pau_num.data(), d->pau_den.data(), d->y, pf); },
           [=] {
             PauBackward(lay, pau, d->dy, d->x, d->pau_num.data(), d->pau_den.data(), d->dx,
                         d->g_num.data(), d->g_den.data(), pf);
           },
           y_bytes, [d] { return Concat(Bytes(d->dx, d->n), d->g_num, d->g_den); }});
    }
#endif
#if KERNEL_CASES_PWLU
  for (bool per_channel : {false, true}) {
    if (!runs("pwlu")) continue;
    const tf_learnact::Layout lay = layout(per_channel);
    out.cases.push_back({"PWLU", per_channel,
                         [=] {
                           PwluForward(lay, d->intervals, d->x, d->left.data(), d->right.data(),
                                       d->slopes.data(), d->offsets.data(), d->y, pf);
                         },
                         [=] {
                           PwluBackward(lay, d->intervals, d->dy, d->x, d->left.data(),
                                        d->right.data(), d->slopes.data(), d->offsets.data(), d->dx,
                                        d->g_slopes.data(), d->g_offsets.data(), pf);
                         },
                         y_bytes,
                         [d] { return Concat(Bytes(d->dx, d->n), d->g_slopes, d->g_offsets); }});
  }
#endif
#if KERNEL_CASES_ABU
  const std::vector<tf_learnact::Basis> basis = {
      tf_learnact::Basis::kTanh, tf_learnact::Basis::kElu, tf_learnact::Basis::kRelu,
      tf_learnact::Basis::kIdentity, tf_learnact::Basis::kSwish};
  for (bool per_channel : {false, true}) {
    if (!runs("abu")) continue;
    const tf_learnact::Layout lay = layout(per_channel);
    out.cases.push_back(
        {"ABU", per_channel,
         [=] { AbuForward(lay, basis, d->x, d->weights.data(), d->beta.data(), d->y, pf); },
         [=] {
           AbuBackward(lay, basis, d->dy, d->x, d->weights.data(), d->beta.data(), d->dx,
                       d->g_weights.data(), d->g_beta.data(), pf);
         },
         y_bytes, [d] { return Concat(Bytes(d->dx, d->n), d->g_weights, d->g_beta); }});
  }
#endif
  return out;
}

}  // namespace

KernelCases KERNEL_CASES_NAME(int64_t n, int threads, const std::string& dtype,
                              const std::string& family, int64_t channels, const Tensors* tensors) {
  if (dtype == "bfloat16")
    return MakeCases<tf_learnact::BFloat16>(n, threads, family, channels, tensors);
  return MakeCases<float>(n, threads, family, channels, tensors);
}

}  // namespace kernel_bench
