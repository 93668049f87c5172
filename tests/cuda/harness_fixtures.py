"""Fixtures of the CUDA harness tests, imported by each test module (not a conftest.py:
a second module named conftest would shadow tests/conftest.py). The tests run where
PyTorch sees a GPU; the lent GPU machine has no TensorFlow, so run them as
`pytest --confcutdir=tests/cuda tests/cuda`, which keeps tests/conftest.py (TensorFlow)
out. Each test module skips itself elsewhere."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_by_path(name: str, path: pathlib.Path):
    """A module loaded from its file without importing its package (tf_learnact's
    __init__ would import TensorFlow)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference():
    return load_by_path("numpy_reference", ROOT / "tf_learnact" / "numpy_reference.py")


@pytest.fixture(scope="session")
def harness():
    """The harness library (built for this GPU when missing) behind its ctypes driver."""
    import torch  # noqa: PLC0415

    build = load_by_path("cuda_harness_build", ROOT / "cc" / "cuda_harness" / "build.py")
    major, minor = torch.cuda.get_device_capability()
    if not build.DEFAULT_OUT.exists():
        build.build(build.DEFAULT_OUT, (f"sm_{major}{minor}",))
    driver = load_by_path("cuda_harness_driver", ROOT / "cc" / "cuda_harness" / "driver.py")
    return driver.Harness(build.DEFAULT_OUT)


def torch_dtypes():
    """The four storage dtypes, and the relative tolerance of each against float64
    (scaled by the magnitude of the compared values)."""
    import torch  # noqa: PLC0415

    return {torch.float16: 4e-3, torch.bfloat16: 3e-2, torch.float32: 3e-5, torch.float64: 1e-11}


def close(got, want, rtol, what):
    """got (a tensor) matches want (float64 NumPy) to rtol of want's largest magnitude."""
    got = got.double().cpu().numpy()
    scale = np.max(np.abs(want)) + 1e-30 if want.size else 1.0
    err = np.max(np.abs(got - want)) if want.size else 0.0
    assert err <= rtol * scale, f"{what}: max error {err:.3g} vs scale {scale:.3g}"


def param_dtype(dtype):
    """Parameters are float64 exactly when x is, float32 otherwise."""
    import torch  # noqa: PLC0415

    return torch.float64 if dtype == torch.float64 else torch.float32


# Shapes and parameter axes every family is checked on: per layer, channels-last
# (row mode, and a channel count that leaves a partial warp), channels-first (run mode).
LAYOUTS = [((4, 6, 5, 7), None), ((4, 6, 5, 40), -1), ((3, 37), -1), ((4, 6, 5, 7), 1)]
LAYOUT_IDS = ["layer", "chan_last", "chan_last_tail", "chan_first"]
