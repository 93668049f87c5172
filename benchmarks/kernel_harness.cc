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
#include <string>
#include <vector>

#include "kernel_cases.h"

namespace {

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

// Times the cases of `family` in storage `dtype`, each alone, beside a float32 x * 2 copy.
void RunCases(int64_t n, int threads, int repeats, const std::string& dtype,
              const std::string& family, int64_t channels) {
  const kernel_bench::KernelCases cases =
      kernel_bench::MakeKernelCases(n, threads, dtype, family, channels);
  std::vector<float> x_f32(n, 1.f), copy_out(n);
  const auto split = kernel_bench::ThreadSplit(threads);
  const double copy = MedianMs(
      [&] {
        split(threads, [&](int64_t b, int64_t e) {
          for (int64_t i = n * b / threads; i < n * e / threads; ++i) copy_out[i] = 2 * x_f32[i];
        });
      },
      repeats);
  // The copy moves 8 bytes per element; T's passes move 2 * sizeof(T).
  const double copy_t = copy * (2.0 * cases.storage_bytes) / 8.0;
  std::printf(
      "%lld elements of %d bytes, %d threads, median of %d; float32 copy (x * 2) %.2f ms"
      " = %.1f GB/s, so a copy of T %.2f ms\n",
      static_cast<long long>(n), cases.storage_bytes, threads, repeats, copy, 8.0 * n / copy / 1e6,
      copy_t);
  std::printf("%-26s %8s %8s %9s %10s\n", "case", "fwd ms", "bwd ms", "fwd/copy", "both/floor");
  const std::string per_channel_label = "per-channel (C=" + std::to_string(channels) + ")";
  for (const kernel_bench::KernelCase& c : cases.cases) {
    const double fwd = MedianMs(c.forward, repeats), bwd = MedianMs(c.backward, repeats);
    std::printf("%-5s %-20s %8.2f %8.2f %9.2f %10.2f\n", c.family.c_str(),
                c.per_channel ? per_channel_label.c_str() : "per-layer", fwd, bwd, fwd / copy_t,
                (fwd + bwd) / (2.5 * copy_t));
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
  if (dtype != "float32" && dtype != "bfloat16") {
    std::fprintf(stderr, "dtype must be float32 or bfloat16, got %s\n", dtype.c_str());
    return 2;
  }
  RunCases(n, threads, repeats, dtype, family, channels);
  return 0;
}
