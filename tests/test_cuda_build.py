"""The CUDA kernels and their harness compile with nvcc here (where there is one), so
they cannot rot unnoticed between sessions with a GPU."""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "cuda_harness_build", ROOT / "cc" / "cuda_harness" / "build.py"
)
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


@pytest.mark.skipif(build.find_nvcc() is None, reason="no nvcc on this machine")
def test_harness_compiles_and_exports_its_c_api(tmp_path):
    library = build.build(tmp_path / "libtla_cuda_harness.so", ("sm_80",))  # one arch: a compile check
    symbols = subprocess.run(
        ["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True
    ).stdout
    for name in ("tla_sm_count", "tla_pau_forward", "tla_pau_backward", "tla_pau_backward_workspace_bytes"):
        assert f" T {name}" in symbols, name
