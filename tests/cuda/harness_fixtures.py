"""Fixtures of the CUDA harness tests, imported by each test module (not a conftest.py:
a second module named conftest would shadow tests/conftest.py). The tests run where
PyTorch sees a GPU; the lent GPU machine has no TensorFlow, so run them as
`pytest --confcutdir=tests/cuda tests/cuda`, which keeps tests/conftest.py (TensorFlow)
out. Each test module skips itself elsewhere."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

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
