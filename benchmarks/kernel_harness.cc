// The CPU kernels without TensorFlow: forward and backward of PAU (5, 4), without and
// with RPAU's noise (1%), PWLU (16 intervals) and ABU (the paper's basis) in float32 or
// bfloat16 storage, per layer and per channel (channels-last, C = 64 or as given), on
// std::threads, beside a plain float32 x * 2 copy loop whose bandwidth sets the floors
// (scaled to the storage type's bytes).
// Isolates kernel speed from TensorFlow's dispatch and allocator when profiling (perf,
// callgrind); built and run by bench_kernels.py.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cc/kernels/abu_kernels.h"
#include "cc/kernels/pau_kernels.h"
#include "cc/kernels/pwlu_kernels.h"

namespace {

using tf_learnact::BFloat16;
using tf_learnact::BlockRange;
using tf_learnact::Layout;
using tf_learnact::ParallelForBlocks;

// Tensors 64-byte aligned, as TensorFlow's CPU allocator gives them (std::vector's are
// 16-byte aligned): line-sized vector accesses and streamed stores depend on it.
template <typename T>
struct LineAligned {
  using value_type = T;
  LineAligned() = default;
  template <typename U>
  LineAligned(const LineAligned<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const LineAligned&) const { return true; }
  bool operator!=(const LineAligned&) const { return false; }
};
template <typename T>
using Tensor = std::vector<T, LineAligned<T>>;

// Splits the blocks evenly over `threads` std::threads.
ParallelForBlocks ThreadSplit(int threads) {
  return [threads](int64_t n, const BlockRange& fn) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&fn, n, t, threads] { fn(n * t / threads, n * (t + 1) / threads); });
    for (auto& th : pool) th.join();
  };
}

template <typename F>
double MedianMs(F&& f, int repeats) {
  f();  // warm up: first touch of the outputs
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Times the cases of `family` ("all", "pau", "rpau", "pwlu" or "abu") with storage type
// T, the per-channel ones over `channels` channels-last; x and dy are drawn in float32
// and rounded.
template <typename T>
void RunCases(int64_t n, int threads, int repeats, const std::string& family, int64_t channels) {
  const auto runs = [&family](const char* name) { return family == "all" || family == name; };
  const Tensor<float> x_f32 = [n] {
    Tensor<float> v(2 * n);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (auto& e : v) e = normal(rng);
    return v;
  }();
  Tensor<T> x(n), dy(n), y(n), dx(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = tf_learnact::FromAcc<T>(x_f32[i]);
    dy[i] = tf_learnact::FromAcc<T>(x_f32[n + i]);
  }
  Tensor<float> copy_out(n);
  const ParallelForBlocks pf = ThreadSplit(threads);

  const double copy = MedianMs(
      [&] {
        pf(threads, [&](int64_t b, int64_t e) {
          for (int64_t i = n * b / threads; i < n * e / threads; ++i) copy_out[i] = 2 * x_f32[i];
        });
      },
      repeats);
  // The copy moves 8 bytes per element; T's passes move 2 * sizeof(T).
  const double copy_t = copy * (2.0 * sizeof(T)) / 8.0;
  std::printf(
      "%lld elements of %d bytes, %d threads, median of %d; float32 copy (x * 2) %.2f ms"
      " = %.1f GB/s, so a copy of T %.2f ms\n",
      static_cast<long long>(n), static_cast<int>(sizeof(T)), threads, repeats, copy,
      8.0 * n / copy / 1e6, copy_t);
  std::printf("%-26s %8s %8s %9s %10s\n", "case", "fwd ms", "bwd ms", "fwd/copy", "both/floor");
  const std::string per_channel_label = "per-channel (C=" + std::to_string(channels) + ")";
  auto report = [&](const char* family, bool per_channel, double fwd, double bwd) {
    std::printf("%-5s %-20s %8.2f %8.2f %9.2f %10.2f\n", family,
                per_channel ? per_channel_label.c_str() : "per-layer", fwd, bwd, fwd / copy_t,
                (fwd + bwd) / (2.5 * copy_t));
  };

  const float num[6] = {0.02979246f, 0.61837738f, 2.32335207f,
                        3.05202660f, 1.48548002f, 0.25103717f};
  const float den[4] = {1.14201226f, 4.39322834f, 0.87154450f, 0.34720652f};
  std::vector<float> pau_num, pau_den, g_num(channels * 6), g_den(channels * 4);
  for (int64_t c = 0; c < channels; ++c) {
    pau_num.insert(pau_num.end(), num, num + 6);
    pau_den.insert(pau_den.end(), den, den + 4);
  }
  const int intervals = 16, rows = intervals + 2;
  std::vector<float> left(channels, -3.f), right(channels, 3.f), slopes, offsets;
  for (int64_t c = 0; c < channels; ++c) {
    for (int k = 0; k < rows; ++k) {
      slopes.push_back(k <= rows / 2 ? 0.f : 1.f);  // ReLU on [-3, 3]
      offsets.push_back(0.f);
    }
  }
  std::vector<float> g_slopes(slopes.size()), g_offsets(slopes.size());
  const std::vector<tf_learnact::Basis> basis = {
      tf_learnact::Basis::kTanh, tf_learnact::Basis::kElu, tf_learnact::Basis::kRelu,
      tf_learnact::Basis::kIdentity, tf_learnact::Basis::kSwish};
  std::vector<float> weights(channels * 5, 0.2f), beta(channels, 1.f);
  std::vector<float> g_weights(weights.size()), g_beta(beta.size());

  tf_learnact::PauConfig rpau;  // RPAU: PAU with 1% noise on each coefficient
  rpau.noise = 0.01f;
  rpau.seed = 7;
  for (const char* name : {"pau", "rpau"})
    for (bool per_channel : {false, true}) {
      if (!runs(name)) continue;
      const tf_learnact::PauConfig pau = name[0] == 'r' ? rpau : tf_learnact::PauConfig{};
      const int64_t dims[2] = {n / channels, channels};
      const Layout lay = tf_learnact::MakeLayout(dims, 2, per_channel ? 1 : -1);
      report(
          name[0] == 'r' ? "RPAU" : "PAU", per_channel,
          MedianMs(
              [&] { PauForward(lay, pau, x.data(), pau_num.data(), pau_den.data(), y.data(), pf); },
              repeats),
          MedianMs(
              [&] {
                PauBackward(lay, pau, dy.data(), x.data(), pau_num.data(), pau_den.data(),
                            dx.data(), g_num.data(), g_den.data(), pf);
              },
              repeats));
    }
  for (bool per_channel : {false, true}) {
    if (!runs("pwlu")) continue;
    const int64_t dims[2] = {n / channels, channels};
    const Layout lay = tf_learnact::MakeLayout(dims, 2, per_channel ? 1 : -1);
    report("PWLU", per_channel,
           MedianMs(
               [&] {
                 PwluForward(lay, intervals, x.data(), left.data(), right.data(), slopes.data(),
                             offsets.data(), y.data(), pf);
               },
               repeats),
           MedianMs(
               [&] {
                 PwluBackward(lay, intervals, dy.data(), x.data(), left.data(), right.data(),
                              slopes.data(), offsets.data(), dx.data(), g_slopes.data(),
                              g_offsets.data(), pf);
               },
               repeats));
  }
  for (bool per_channel : {false, true}) {
    if (!runs("abu")) continue;
    const int64_t dims[2] = {n / channels, channels};
    const Layout lay = tf_learnact::MakeLayout(dims, 2, per_channel ? 1 : -1);
    report("ABU", per_channel,
           MedianMs(
               [&] { AbuForward(lay, basis, x.data(), weights.data(), beta.data(), y.data(), pf); },
               repeats),
           MedianMs(
               [&] {
                 AbuBackward(lay, basis, dy.data(), x.data(), weights.data(), beta.data(),
                             dx.data(), g_weights.data(), g_beta.data(), pf);
               },
               repeats));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t channels = argc > 6 ? std::atoll(argv[6]) : 64;
  if (channels < 1) {
    std::fprintf(stderr, "channels must be at least 1, got %s\n", argv[6]);
    return 2;
  }
  const int64_t n = argc > 1 ? std::atoll(argv[1]) / channels * channels : int64_t{1} << 24;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 9;
  const std::string dtype = argc > 4 ? argv[4] : "float32";
  const std::string family = argc > 5 ? argv[5] : "all";
  if (family != "all" && family != "pau" && family != "rpau" && family != "pwlu" &&
      family != "abu") {
    std::fprintf(stderr, "family must be all, pau, rpau, pwlu or abu, got %s\n", family.c_str());
    return 2;
  }
  if (dtype == "float32") {
    RunCases<float>(n, threads, repeats, family, channels);
  } else if (dtype == "bfloat16") {
    RunCases<BFloat16>(n, threads, repeats, family, channels);
  } else {
    std::fprintf(stderr, "dtype must be float32 or bfloat16, got %s\n", dtype.c_str());
    return 2;
  }
  return 0;
}
