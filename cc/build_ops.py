"""Compiles cc/ into the op library against the TensorFlow that is installed.

Used by setup.py at install time and by developers directly:

    python cc/build_ops.py                 # writes tf_learnact/_tf_learnact_ops.so

Translation units compile in parallel (one process per core); objects are cached in
build/ops/ and rebuilt when any source or header under cc/ is newer.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CC_DIR = ROOT / "cc"
LIBRARY_NAME = "_tf_learnact_ops.so"
# The CPU library: op definitions, TF adapters and the plain-C++ math.
CPU_SOURCES = sorted([*(CC_DIR / "ops").glob("*.cc"), *(CC_DIR / "kernels").glob("*.cc")])
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


def _newest_header_mtime() -> float:
    return max(p.stat().st_mtime for p in CC_DIR.rglob("*.h"))


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
    build_dir = build_dir or ROOT / "build" / "ops"
    build_dir.mkdir(parents=True, exist_ok=True)
    headers_mtime = _newest_header_mtime()
    todo, objects = [], []
    for src in CPU_SOURCES:
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
    out.parent.mkdir(parents=True, exist_ok=True)
    link = [cxx, "-shared", "-o", str(out), *map(str, objects), *lflags]
    proc = subprocess.run(link, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"linking failed:\n{shlex.join(link)}\n{proc.stderr}")
    print(f"tf_learnact build: wrote {out}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "tf_learnact" / LIBRARY_NAME)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    build(args.out, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
