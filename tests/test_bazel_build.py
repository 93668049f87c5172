"""The Bazel targets (BUILD) name the same C++ sources as the pip build (cc/build_ops.py).
Bazel cannot build offline here, so this is what keeps the two from drifting apart: a
source file added to one build and not the other fails here."""

from __future__ import annotations

import importlib.util
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _pip_build_sources() -> set[pathlib.Path]:
    spec = importlib.util.spec_from_file_location("build_ops", ROOT / "cc" / "build_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {p.resolve() for p in module.CPU_SOURCES}


def _bazel_files() -> tuple[set[pathlib.Path], list[str]]:
    """Every file the BUILD file's source and header lists name (globs expanded), and
    the literal names that match no file."""
    files, missing = set(), []
    for name in re.findall(r'"(cc/[^"]+)"', (ROOT / "BUILD").read_text()):
        if "*" in name:
            files |= {p.resolve() for p in ROOT.glob(name)}
        elif (ROOT / name).is_file():
            files.add((ROOT / name).resolve())
        else:
            missing.append(name)
    return files, missing


def test_bazel_compiles_every_source_the_pip_build_compiles():
    files, missing = _bazel_files()
    assert missing == []
    bazel_sources = {p for p in files if p.suffix == ".cc"}
    pip_sources = _pip_build_sources()
    assert sorted(map(str, pip_sources - bazel_sources)) == []
    assert sorted(map(str, bazel_sources - pip_sources)) == []


def test_bazel_declares_every_cpu_header():
    files, _ = _bazel_files()
    headers = {
        p.resolve()
        for folder in ("cc/ops", "cc/kernels", "cc/kernels/common")
        for p in (ROOT / folder).glob("*.h")
    }
    assert sorted(map(str, headers - files)) == []
