// Two builds of the CPU kernels in one process, timed call by call: "this" (the tree
// the benchmark runs from) and "base" (another source tree, e.g. a git worktree of an
// earlier commit, compiled with the library's namespace renamed: see bench_kernels.py
// --against). Each round calls one build's case and then the other's, the order turning
// every round, so both see the same machine load; the shared machine's speed drifts
// within seconds, which separate runs of the harness (kernel_harness.cc) cannot tell
// from a change. Prints each build's median and the median and quartiles of the
// per-round ratio this/base, and whether the two builds wrote the same bytes.
//
//   kernel_ab elements threads rounds dtype family channels
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernel_cases.h"

namespace kernel_bench {
// The base tree's build of kernel_cases.cc (KERNEL_CASES_NAME).
KernelCases MakeKernelCasesBase(int64_t n, int threads, const std::string& dtype,
                                const std::string& family, int64_t channels,
                                const Tensors* tensors);
}  // namespace kernel_bench

namespace {

double Ms(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1) + 0.5)];
}

// Times `rounds` alternating calls of each build's pass; prints one line.
void Compare(const std::string& name, const std::function<void()>& ours,
             const std::function<void()>& base, const std::function<std::vector<char>()>& ours_out,
             const std::function<std::vector<char>()>& base_out, int rounds) {
  // One call each first (a warm-up), outputs read after each: the builds share them.
  ours();
  const std::vector<char> written = ours_out();
  base();
  const bool same = written == base_out();
  std::vector<double> t_ours, t_base, ratio;
  for (int r = 0; r < rounds; ++r) {
    double a, b;
    if (r % 2 == 0) {
      a = Ms(ours);
      b = Ms(base);
    } else {
      b = Ms(base);
      a = Ms(ours);
    }
    t_ours.push_back(a);
    t_base.push_back(b);
    ratio.push_back(a / b);
  }
  std::printf("%-30s %9.3f %9.3f %8.3f %8.3f %8.3f  %s\n", name.c_str(), Quantile(t_ours, 0.5),
              Quantile(t_base, 0.5), Quantile(ratio, 0.5), Quantile(ratio, 0.25),
              Quantile(ratio, 0.75), same ? "same bytes" : "differ");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s elements threads rounds dtype family channels\n", argv[0]);
    return 2;
  }
  const int64_t channels = std::atoll(argv[6]);
  const int64_t n = std::atoll(argv[1]) / std::max<int64_t>(channels, 1) * channels;
  const int threads = std::atoi(argv[2]), rounds = std::atoi(argv[3]);
  const std::string dtype = argv[4], family = argv[5];
  if (channels < 1 || n < 1 || threads < 1 || rounds < 1 ||
      (dtype != "float32" && dtype != "bfloat16")) {
    std::fprintf(stderr,
                 "bad arguments: elements, threads, rounds and channels >= 1, dtype "
                 "float32 or bfloat16\n");
    return 2;
  }
  // One set of tensors for both builds (see kernel_cases.h's Tensors).
  const kernel_bench::OwnedTensors shared(static_cast<size_t>(n) * (dtype == "float32" ? 4 : 2));
  const kernel_bench::KernelCases ours =
      kernel_bench::MakeKernelCases(n, threads, dtype, family, channels, &shared.tensors());
  const kernel_bench::KernelCases base =
      kernel_bench::MakeKernelCasesBase(n, threads, dtype, family, channels, &shared.tensors());
  if (ours.cases.size() != base.cases.size() || ours.cases.empty()) {
    std::fprintf(stderr, "no cases, or the two builds' cases differ, for family %s\n",
                 family.c_str());
    return 2;
  }
  std::printf("%lld elements, %s, %d threads, %d alternating rounds (C=%lld per channel)\n",
              static_cast<long long>(n), dtype.c_str(), threads, rounds,
              static_cast<long long>(channels));
  std::printf("%-30s %9s %9s %8s %8s %8s  %s\n", "case", "this ms", "base ms", "this/base", "q1",
              "q3", "outputs");
  for (size_t i = 0; i < ours.cases.size(); ++i) {
    const kernel_bench::KernelCase& a = ours.cases[i];
    const kernel_bench::KernelCase& b = base.cases[i];
    const std::string name = a.family + (a.per_channel ? " per-channel" : " per-layer");
    Compare(name + " fwd", a.forward, b.forward, a.forward_out, b.forward_out, rounds);
    Compare(name + " bwd", a.backward, b.backward, a.backward_out, b.backward_out, rounds);
  }
  return 0;
}
