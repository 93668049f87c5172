"""Builds the standalone CUDA harness (the kernels of cc/kernels/cuda/ behind a C API)
with nvcc into a shared library; needs no TensorFlow.

    python cc/cuda_harness/build.py [--arch sm_90 ...] [--out build/cuda_harness/libtla_cuda_harness.so]

By default it builds sm_75, sm_80, sm_86, sm_89 and sm_90 plus PTX of sm_90 (CUDA 13 has
no sm_60/sm_70).
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_cuda", ROOT / "cc" / "build_cuda.py")
build_cuda = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_cuda)

find_nvcc = build_cuda.find_nvcc
DEFAULT_ARCHS = build_cuda.DEFAULT_ARCHS
DEFAULT_OUT = ROOT / "build" / "cuda_harness" / "libtla_cuda_harness.so"
OBJECT_DIR = ROOT / "build" / "cuda_objects"


def build(
    out: pathlib.Path = DEFAULT_OUT, archs=DEFAULT_ARCHS, object_dir: pathlib.Path = OBJECT_DIR
) -> pathlib.Path:
    sources = [*build_cuda.CUDA_SOURCES, ROOT / "cc" / "cuda_harness" / "harness.cu"]
    objects = build_cuda.compile_cuda(sources, object_dir, archs)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [find_nvcc(), "-shared", *build_cuda.gencode_flags(archs), *map(str, objects), "-o", str(out)]
    print(shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", help="e.g. sm_90 (repeatable); default: sm_75..sm_90")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    try:
        print(build(args.out, tuple(args.arch or DEFAULT_ARCHS)))
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f"build failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
