"""The nvcc steps shared by the standalone CUDA harness (cc/cuda_harness/build.py) and
the TensorFlow GPU op library (cc/build_ops.py): finding nvcc and the static CUDA
runtime, the target architectures, and compiling cc/kernels/cuda/*.cu into
position-independent objects (one process per file, cached while no source or header
under cc/ is newer). Imports nothing outside the standard library.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import shlex
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
CUDA_SOURCES = sorted((ROOT / "cc" / "kernels" / "cuda").glob("*.cu"))
# CUDA 13 has no sm_60/sm_70; PTX of the newest lets later GPUs JIT the kernels.
DEFAULT_ARCHS = ("sm_75", "sm_80", "sm_86", "sm_89", "sm_90")
NVCC_FLAGS = ["-std=c++17", "-O3", "-Xcompiler", "-fPIC", f"-I{ROOT}"]


def find_nvcc() -> str | None:
    return shutil.which("nvcc") or next(
        (str(p) for p in (pathlib.Path("/usr/local/cuda/bin/nvcc"),) if p.exists()), None
    )


def cuda_homes(nvcc: str) -> list[pathlib.Path]:
    """Where the CUDA toolkit of `nvcc` may live (nvcc is often a wrapper script)."""
    homes = [pathlib.Path(os.environ[v]) for v in ("CUDA_HOME", "CUDA_PATH") if os.environ.get(v)]
    homes += [pathlib.Path("/usr/local/cuda"), pathlib.Path(nvcc).resolve().parent.parent]
    return homes


def find_cudart_static(nvcc: str) -> pathlib.Path | None:
    for home in cuda_homes(nvcc):
        for lib in ("lib64", "lib", "targets/x86_64-linux/lib"):
            path = home / lib / "libcudart_static.a"
            if path.exists():
                return path
    return None


def gencode_flags(archs) -> list[str]:
    flags = [f"-gencode=arch=compute_{a[3:]},code={a}" for a in archs]
    newest = max(archs, key=lambda a: int(a[3:]))
    return [*flags, f"-gencode=arch=compute_{newest[3:]},code=compute_{newest[3:]}"]


def newest_header_mtime() -> float:
    """Newest header under cc/: an object older than it is stale."""
    return max(p.stat().st_mtime for pattern in ("*.h", "*.cuh") for p in (ROOT / "cc").rglob(pattern))


def compile_cuda(
    sources, build_dir: pathlib.Path, archs=DEFAULT_ARCHS, jobs: int | None = None
) -> list[pathlib.Path]:
    """Objects of `sources` for `archs` under build_dir/<archs>/, rebuilt when stale."""
    nvcc = find_nvcc()
    if nvcc is None:
        raise RuntimeError("nvcc not found")
    out_dir = build_dir / "-".join(archs)
    out_dir.mkdir(parents=True, exist_ok=True)
    headers = newest_header_mtime()

    def one(src: pathlib.Path) -> pathlib.Path:
        obj = out_dir / (src.stem + ".o")
        if obj.exists() and obj.stat().st_mtime >= max(src.stat().st_mtime, headers):
            return obj
        cmd = [nvcc, *NVCC_FLAGS, *gencode_flags(archs), "-c", str(src), "-o", str(obj)]
        print(shlex.join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"nvcc failed on {src.name}:\n{proc.stderr}")
        return obj

    workers = jobs or os.cpu_count() or 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, sources))
