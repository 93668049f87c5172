"""The CPU kernels timed without TensorFlow (benchmarks/kernel_harness.cc): builds the
harness with the library's compile flags and runs it. For profiling a kernel change
(perf record / valgrind --tool=callgrind on build/kernel_harness/kernel_harness), where
TensorFlow's dispatch and allocator would blur the figures.

    python benchmarks/bench_kernels.py [--elements 16777216] [--threads 2] [--repeats 9]
                                       [--dtype float32|bfloat16]
                                       [--family all|pau|rpau|pwlu|abu] [--channels 64]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "cc"))

from build_ops import compile_object  # noqa: E402

SOURCES = [
    ROOT / "benchmarks" / "kernel_harness.cc",
    ROOT / "cc" / "kernels" / "pau_kernels_f32.cc",
    ROOT / "cc" / "kernels" / "pau_kernels_bf16.cc",
    ROOT / "cc" / "kernels" / "pwlu_kernels.cc",
    ROOT / "cc" / "kernels" / "abu_kernels_f32.cc",
    ROOT / "cc" / "kernels" / "abu_kernels_bf16.cc",
]


def build(out_dir: pathlib.Path) -> pathlib.Path:
    """Compiles the sources in parallel with the library's flags (compile_object adds
    them), links the harness."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cxx = os.environ.get("CXX", "g++")
    cflags = ["-std=c++17", "-pthread", "-Wno-psabi"]
    objects = [out_dir / (src.stem + ".o") for src in SOURCES]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(compile_object, SOURCES, objects, [cflags] * len(SOURCES), [cxx] * len(SOURCES)))
    exe = out_dir / "kernel_harness"
    subprocess.run([cxx, "-pthread", *map(str, objects), "-o", str(exe)], check=True)
    return exe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--family", choices=["all", "pau", "rpau", "pwlu", "abu"], default="all")
    parser.add_argument("--channels", type=int, default=64, help="per-channel cases, channels-last")
    parser.add_argument("--build-dir", type=pathlib.Path, default=ROOT / "build" / "kernel_harness")
    args = parser.parse_args()
    exe = build(args.build_dir)
    command = [
        str(exe),
        str(args.elements),
        str(args.threads),
        str(args.repeats),
        args.dtype,
        args.family,
        str(args.channels),
    ]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
