"""Builds the standalone CUDA harness (the kernels of cc/kernels/cuda/ behind a C API)
with nvcc into a shared library; needs no TensorFlow.

    python cc/cuda_harness/build.py [--arch sm_90 ...] [--out build/cuda_harness/libtla_cuda_harness.so]

By default it builds sm_75, sm_80, sm_86, sm_89 and sm_90 plus PTX of sm_90 (CUDA 13 has
no sm_60/sm_70).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "cc" / "kernels" / "cuda").glob("*.cu")),
    ROOT / "cc" / "cuda_harness" / "harness.cu",
]
DEFAULT_ARCHS = ("sm_75", "sm_80", "sm_86", "sm_89", "sm_90")
DEFAULT_OUT = ROOT / "build" / "cuda_harness" / "libtla_cuda_harness.so"


def find_nvcc() -> str | None:
    return shutil.which("nvcc") or next(
        (str(p) for p in (pathlib.Path("/usr/local/cuda/bin/nvcc"),) if p.exists()), None
    )


def gencode_flags(archs) -> list[str]:
    flags = [f"-gencode=arch=compute_{a[3:]},code={a}" for a in archs]
    newest = max(archs, key=lambda a: int(a[3:]))
    return [*flags, f"-gencode=arch=compute_{newest[3:]},code=compute_{newest[3:]}"]  # PTX for newer GPUs


def build(out: pathlib.Path = DEFAULT_OUT, archs=DEFAULT_ARCHS) -> pathlib.Path:
    nvcc = find_nvcc()
    if nvcc is None:
        raise RuntimeError("nvcc not found")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [nvcc, "-std=c++17", "-O3", "-shared", "-Xcompiler", "-fPIC", f"-I{ROOT}", *gencode_flags(archs)]
    cmd += [*map(str, SOURCES), "-o", str(out)]
    print(" ".join(cmd), flush=True)
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
