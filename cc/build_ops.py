"""Compiles cc/ into the op library against the TensorFlow that is installed.

Used by setup.py at install time and by developers directly:

    python cc/build_ops.py                 # writes tf_learnact/_tf_learnact_ops.so
    python cc/build_ops.py --gpu [--arch sm_90]   # and tf_learnact/_tf_learnact_ops_gpu.so

The GPU library (TensorFlow GPU kernels over the CUDA kernels of cc/kernels/cuda/, with
the static CUDA runtime) is separate, so the CPU library never depends on CUDA; the
package loads it only where TensorFlow is a CUDA build and sees a GPU.

Translation units compile in parallel (one process per core); objects are cached in
build/ops/ and rebuilt when any source or header under cc/ is newer.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import pathlib
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CC_DIR = ROOT / "cc"
LIBRARY_NAME = "_tf_learnact_ops.so"
GPU_LIBRARY_NAME = "_tf_learnact_ops_gpu.so"
# The CPU library: op definitions, TF adapters and the plain-C++ math.
CPU_SOURCES = sorted([*(CC_DIR / "ops").glob("*.cc"), *(CC_DIR / "kernels").glob("*.cc")])
# The GPU library's host side: the TF GPU adapter (the ops themselves are defined by the
# CPU library, loaded first) and the basis-name parser it shares with the CPU kernels.
GPU_ADAPTER_SOURCES = [CC_DIR / "kernels" / "gpu" / "gpu_op_kernels.cc", CC_DIR / "kernels" / "abu_basis.cc"]
# Set to 1 to build the GPU library even where TensorFlow is a CPU build (same headers
# and ABI, e.g. a wheel builder without a GPU); 0 never builds it.
BUILD_CUDA_ENV = "TF_LEARNACT_BUILD_CUDA"


def _load_build_cuda():
    spec = importlib.util.spec_from_file_location("build_cuda", CC_DIR / "build_cuda.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_cuda = _load_build_cuda()
CXXFLAGS = [
    "-O3",
    "-fPIC",
    # TF's --std=c++17 (ISO mode) turns contraction off: without this the AVX2 clone
    # gets no FMA. Results stay deterministic for a given machine.
    "-ffp-contract=fast",
    "-Wno-interference-size",
    "-Wno-deprecated-declarations",
    "-Wno-unused-parameter",
]


def tensorflow_flags() -> tuple[list[str], list[str]]:
    """Compile and link flags of the installed TensorFlow (never hard-coded: ABI)."""
    import tensorflow as tf  # noqa: PLC0415  (imported only when building)

    return list(tf.sysconfig.get_compile_flags()), list(tf.sysconfig.get_link_flags())


def compile_object(src: pathlib.Path, obj: pathlib.Path, cflags: list[str], cxx: str) -> str:
    cmd = [cxx, *CXXFLAGS, *cflags, f"-I{ROOT}", "-c", str(src), "-o", str(obj)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling {src.name} failed:\n{shlex.join(cmd)}\n{proc.stderr}")
    return src.name


def build(out: pathlib.Path, build_dir: pathlib.Path | None = None, jobs: int | None = None) -> pathlib.Path:
    """Builds the CPU op library into `out` and returns its path."""
    cxx = os.environ.get("CXX", "g++")
    cflags, lflags = tensorflow_flags()
    objects = compile_objects(CPU_SOURCES, build_dir or ROOT / "build" / "ops", cflags, cxx, jobs)
    return _link(cxx, out, [*map(str, objects), *lflags])


def compile_objects(sources, build_dir: pathlib.Path, cflags: list[str], cxx: str, jobs: int | None = None):
    """Objects of `sources` in build_dir, recompiled when any source or header is newer."""
    build_dir.mkdir(parents=True, exist_ok=True)
    headers_mtime = build_cuda.newest_header_mtime()
    todo, objects = [], []
    for src in sources:
        obj = build_dir / (src.relative_to(CC_DIR).as_posix().replace("/", "_") + ".o")
        objects.append(obj)
        fresh = obj.exists() and obj.stat().st_mtime > max(src.stat().st_mtime, headers_mtime)
        if not fresh:
            todo.append((src, obj))
    jobs = jobs or os.cpu_count() or 1
    # Threads suffice (each compile is a subprocess), and unlike processes they need not
    # pickle compile_object, which fails when setup.py loads this file by path.
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(compile_object, s, o, cflags, cxx) for s, o in todo]
        for fut in concurrent.futures.as_completed(futures):
            print(f"tf_learnact build: compiled {fut.result()}", flush=True)
    return objects


def _link(cxx: str, out: pathlib.Path, inputs: list[str]) -> pathlib.Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    link = [cxx, "-shared", "-o", str(out), *inputs]
    proc = subprocess.run(link, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"linking failed:\n{shlex.join(link)}\n{proc.stderr}")
    print(f"tf_learnact build: wrote {out}", flush=True)
    return out


def gpu_build_decision() -> tuple[bool, str]:
    """(whether to build the GPU library, the reason), for the install log."""
    forced = os.environ.get(BUILD_CUDA_ENV)
    if forced == "0":
        return False, f"{BUILD_CUDA_ENV}=0"
    nvcc = build_cuda.find_nvcc()
    if nvcc is None:
        return False, "nvcc not found"
    if build_cuda.find_cudart_static(nvcc) is None:
        return False, f"libcudart_static.a not found next to {nvcc}"
    import tensorflow as tf  # noqa: PLC0415

    if not tf.test.is_built_with_cuda() and forced != "1":
        return False, f"TensorFlow is a CPU build (set {BUILD_CUDA_ENV}=1 to build it anyway)"
    return True, f"nvcc at {nvcc}"


def build_gpu(
    out: pathlib.Path, build_dir: pathlib.Path | None = None, archs=None, jobs: int | None = None
) -> pathlib.Path:
    """Builds the GPU op library into `out`: the adapter compiled by the host compiler,
    the kernels by nvcc, linked with the static CUDA runtime (no libcudart dependency;
    symbols of the runtime kept private to the library)."""
    cxx = os.environ.get("CXX", "g++")
    archs = tuple(archs or build_cuda.DEFAULT_ARCHS)
    nvcc = build_cuda.find_nvcc()
    if nvcc is None:
        raise RuntimeError("nvcc not found")
    cudart = build_cuda.find_cudart_static(nvcc)
    if cudart is None:
        raise RuntimeError(f"libcudart_static.a not found next to {nvcc}")
    build_dir = build_dir or ROOT / "build" / "ops_gpu"
    print(f"tf_learnact build: GPU kernels for {', '.join(archs)} + PTX of the newest", flush=True)
    cflags, lflags = tensorflow_flags()
    host_objects = compile_objects(GPU_ADAPTER_SOURCES, build_dir, cflags, cxx, jobs)
    cuda_objects = build_cuda.compile_cuda(build_cuda.CUDA_SOURCES, build_dir / "cuda", archs, jobs)
    # The static runtime comes before TF's link flags; --exclude-libs keeps its symbols
    # from clashing with the CUDA runtime TensorFlow itself loads.
    inputs = [*map(str, host_objects), *map(str, cuda_objects), str(cudart), *lflags]
    return _link(cxx, out, [*inputs, "-Wl,--exclude-libs,ALL", "-lpthread", "-ldl", "-lrt"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "tf_learnact" / LIBRARY_NAME)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--gpu", action="store_true", help=f"also build {GPU_LIBRARY_NAME} (needs nvcc)")
    parser.add_argument("--arch", action="append", help="GPU architecture, e.g. sm_90 (repeatable)")
    args = parser.parse_args()
    build(args.out, jobs=args.jobs)
    if args.gpu:
        build_gpu(args.out.with_name(GPU_LIBRARY_NAME), archs=args.arch, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
