// The timed cases of the kernel benchmarks: each family's forward and backward over one
// set of inputs, per layer and per channel (channels-last), as closures. Shared by the
// harness (benchmarks/kernel_harness.cc: each case timed alone beside a copy loop) and
// the A/B driver (benchmarks/kernel_ab.cc: two builds' cases timed call by call).
//
// Plain std types only, outside the library's namespace: the A/B driver links two builds
// of kernel_cases.cc, the second compiled against another source tree with the library's
// namespace renamed and with KERNEL_CASES_NAME set, and both must hand back these types.
#ifndef TF_LEARNACT_BENCHMARKS_KERNEL_CASES_H_
#define TF_LEARNACT_BENCHMARKS_KERNEL_CASES_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#ifndef KERNEL_CASES_NAME
#define KERNEL_CASES_NAME MakeKernelCases
#endif

namespace kernel_bench {

// One case: a family's forward and backward over the same inputs. `forward_out` and
// `backward_out` return what the last call wrote (y, then dx and the parameter
// gradients, as bytes), so that two builds' results can be compared.
struct KernelCase {
  std::string family;  // "PAU", "RPAU", "PWLU" or "ABU"
  bool per_channel = false;
  std::function<void()> forward, backward;
  std::function<std::vector<char>()> forward_out, backward_out;
};

struct KernelCases {
  int storage_bytes = 4;  // bytes per element of the storage type
  std::vector<KernelCase> cases;
  std::shared_ptr<void> buffers;  // what the closures read and write
};

// Where the cases read x and dy and write y and dx: n elements of the storage type each,
// 64-byte aligned. The A/B driver hands both builds the same four tensors, since where a
// tensor's pages lie changed a pass's time by up to 15% (the forward of whichever build
// allocated first ran slower, in either order); by default the cases allocate their own.
struct Tensors {
  void* x = nullptr;
  void* dy = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
};

// Four tensors of `bytes` each, 64-byte aligned as TensorFlow's CPU allocator gives them
// (line-sized vector accesses and streamed stores depend on it), zeroed so that their
// pages are mapped before anything is timed.
class OwnedTensors {
 public:
  explicit OwnedTensors(size_t bytes) {
    for (void** t : {&tensors_.x, &tensors_.dy, &tensors_.y, &tensors_.dx})
      *t = std::memset(::operator new(bytes, std::align_val_t(64)), 0, bytes);
  }
  ~OwnedTensors() {
    for (void* t : {tensors_.x, tensors_.dy, tensors_.y, tensors_.dx})
      ::operator delete(t, std::align_val_t(64));
  }
  OwnedTensors(const OwnedTensors&) = delete;
  OwnedTensors& operator=(const OwnedTensors&) = delete;
  const Tensors& tensors() const { return tensors_; }

 private:
  Tensors tensors_;
};

// The cases of `family` ("all", "pau", "rpau", "pwlu" or "abu") in storage `dtype`
// ("float32" or "bfloat16") over `n` elements, the per-channel ones over `channels`
// channels-last, on `threads` std::threads. x and dy are drawn in float32 (the same
// values in every build) and rounded to the storage type. The families left out of the
// build (KERNEL_CASES_PAU, _PWLU, _ABU set to 0) give no cases.
KernelCases KERNEL_CASES_NAME(int64_t n, int threads, const std::string& dtype,
                              const std::string& family, int64_t channels,
                              const Tensors* tensors = nullptr);

// Splits the blocks evenly over `threads` std::threads (the library's ParallelForBlocks,
// spelled in std types). Inline: both builds' kernel_cases.cc use it.
inline std::function<void(int64_t, const std::function<void(int64_t, int64_t)>&)> ThreadSplit(
    int threads) {
  return [threads](int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&fn, n, t, threads] { fn(n * t / threads, n * (t + 1) / threads); });
    for (auto& th : pool) th.join();
  };
}

}  // namespace kernel_bench

#endif  // TF_LEARNACT_BENCHMARKS_KERNEL_CASES_H_
