"""The CPU kernels timed without TensorFlow: builds the harness
(benchmarks/kernel_harness.cc) with the library's compile flags and runs it. For
profiling a kernel change (perf record / valgrind --tool=callgrind on
build/kernel_harness/kernel_harness), where TensorFlow's dispatch and allocator would
blur the figures. Only the family's kernels are compiled.

    python benchmarks/bench_kernels.py [--elements 16777216] [--threads 2] [--repeats 9]
                                       [--dtype float32|bfloat16]
                                       [--family all|pau|rpau|pwlu|abu] [--channels 64]

With --against TREE (another source tree of the project, e.g. `git worktree add
/tmp/base HEAD~1`), builds the kernels of both trees into one binary
(benchmarks/kernel_ab.cc) and times them call by call, alternating, --repeats rounds
(default 41 there): the way to tell a change of a few percent from the shared machine's
drift. Both trees compile with this tree's flags.
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

BENCH = ROOT / "benchmarks"
# Each family's kernel sources (relative to a tree's root) and the macro of
# kernel_cases.cc that includes its cases.
KERNELS = {
    "pau": ["cc/kernels/pau_kernels_f32.cc", "cc/kernels/pau_kernels_bf16.cc"],
    "pwlu": ["cc/kernels/pwlu_kernels.cc"],
    "abu": ["cc/kernels/abu_kernels_f32.cc", "cc/kernels/abu_kernels_bf16.cc"],
}
CFLAGS = ["-std=c++17", "-pthread", "-Wno-psabi"]
# The base tree's build: its own headers first, the library's namespace and the cases'
# entry point renamed, so that both builds link into one binary.
BASE_RENAME = ["-Dtf_learnact=tf_learnact_base", "-DKERNEL_CASES_NAME=MakeKernelCasesBase"]


def families_of(family: str) -> list[str]:
    """The kernel families a --family choice times (rpau runs on PAU's kernels)."""
    if family == "all":
        return list(KERNELS)
    return ["pau" if family == "rpau" else family]


def units(tree: pathlib.Path, family: str, out_dir: pathlib.Path, tag: str, extra: list[str]):
    """(source, object, flags) of one tree's kernels and cases for `family`."""
    families = families_of(family)
    only = [f"-DKERNEL_CASES_{name.upper()}={int(name in families)}" for name in KERNELS]
    flags = [*CFLAGS, *extra]
    jobs = [(BENCH / "kernel_cases.cc", out_dir / f"kernel_cases{tag}.o", [*flags, *only])]
    for name in families:
        for rel in KERNELS[name]:
            src = tree / rel
            jobs.append((src, out_dir / f"{src.stem}{tag}.o", flags))
    return jobs


def compile_and_link(jobs, exe: pathlib.Path) -> pathlib.Path:
    """Compiles the units in parallel (compile_object adds the library's flags), links."""
    exe.parent.mkdir(parents=True, exist_ok=True)
    cxx = os.environ.get("CXX", "g++")
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda job: compile_object(*job, cxx), jobs))
    subprocess.run([cxx, "-pthread", *(str(job[1]) for job in jobs), "-o", str(exe)], check=True)
    return exe


def build(out_dir: pathlib.Path, family: str = "all") -> pathlib.Path:
    """The harness over this tree's kernels of `family`."""
    jobs = units(ROOT, family, out_dir, "", [])
    jobs.append((BENCH / "kernel_harness.cc", out_dir / "kernel_harness.o", CFLAGS))
    return compile_and_link(jobs, out_dir / "kernel_harness")


def build_ab(out_dir: pathlib.Path, family: str, against: pathlib.Path) -> pathlib.Path:
    """The A/B driver over this tree's kernels and those of `against`."""
    jobs = units(ROOT, family, out_dir, "", [])
    jobs += units(against, family, out_dir, "_base", [*BASE_RENAME, f"-I{against}"])
    jobs.append((BENCH / "kernel_ab.cc", out_dir / "kernel_ab.o", CFLAGS))
    return compile_and_link(jobs, out_dir / "kernel_ab")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, help="default 9, or 41 rounds with --against")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--family", choices=["all", "pau", "rpau", "pwlu", "abu"], default="all")
    parser.add_argument("--channels", type=int, default=64, help="per-channel cases, channels-last")
    parser.add_argument("--build-dir", type=pathlib.Path, default=ROOT / "build" / "kernel_harness")
    parser.add_argument("--against", type=pathlib.Path, help="another source tree to compare with")
    args = parser.parse_args()
    if args.against is not None:
        against = args.against.resolve()
        if not (against / "cc" / "kernels").is_dir():
            parser.error(f"--against {args.against}: not a tf-learnact source tree (no cc/kernels)")
        exe = build_ab(args.build_dir, args.family, against)
        repeats = 41 if args.repeats is None else args.repeats
    else:
        exe = build(args.build_dir, args.family)
        repeats = 9 if args.repeats is None else args.repeats
    command = [
        str(exe),
        str(args.elements),
        str(args.threads),
        str(repeats),
        args.dtype,
        args.family,
        str(args.channels),
    ]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
