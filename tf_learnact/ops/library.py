"""Loads the compiled op library once; the package falls back to the composite twins
(pure TensorFlow) when it cannot, with one warning that says why.

The GPU kernels are a second library, loaded after the first (which defines the ops)
only where TensorFlow is a CUDA build and sees a GPU; without it the ops run on their
CPU kernels wherever the graph is placed."""

from __future__ import annotations

import os
import pathlib
import warnings

import tensorflow as tf

LIBRARY_FILE = pathlib.Path(__file__).resolve().parent.parent / "_tf_learnact_ops.so"
GPU_LIBRARY_FILE = LIBRARY_FILE.with_name("_tf_learnact_ops_gpu.so")
# Set to 1 to run on the composite twins only (e.g. to check the fallback path).
DISABLE_ENV = "TF_LEARNACT_DISABLE_OPS"

_library = None
_reason: str | None = None
_loaded = False
_gpu_reason: str | None = "the op library is not loaded"


def _load() -> None:
    global _library, _reason, _loaded
    _loaded = True
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        _reason = f"disabled by {DISABLE_ENV}"
    elif not LIBRARY_FILE.exists():
        _reason = (
            f"{LIBRARY_FILE} does not exist (install with `pip install --no-build-isolation .` "
            "where a C++ compiler and TensorFlow are present; from a source checkout, "
            "`python cc/build_ops.py` builds it in place)"
        )
    else:
        try:
            _library = tf.load_op_library(str(LIBRARY_FILE))
        except (tf.errors.NotFoundError, OSError) as err:  # ABI mismatch, missing symbols
            _reason = f"{LIBRARY_FILE.name} could not be loaded: {err}"
    if _library is not None:
        _load_gpu()
    if _library is None:
        warnings.warn(
            f"tf_learnact: custom ops unavailable, using the pure-TensorFlow composite "
            f"implementations instead ({_reason}).",
            RuntimeWarning,
            stacklevel=3,
        )


def _load_gpu() -> None:
    global _gpu_reason
    if not tf.test.is_built_with_cuda():
        _gpu_reason = "TensorFlow is a CPU build"
    elif not GPU_LIBRARY_FILE.exists():
        _gpu_reason = f"{GPU_LIBRARY_FILE.name} was not built (no nvcc at install time)"
    elif not tf.config.list_physical_devices("GPU"):
        _gpu_reason = "no GPU visible"
    else:
        try:
            tf.load_op_library(str(GPU_LIBRARY_FILE))
            _gpu_reason = None
        except (tf.errors.NotFoundError, OSError) as err:
            _gpu_reason = f"{GPU_LIBRARY_FILE.name} could not be loaded: {err}"
            warnings.warn(
                f"tf_learnact: GPU kernels unavailable, the ops run on their CPU kernels ({_gpu_reason}).",
                RuntimeWarning,
                stacklevel=4,
            )


def gpu_kernels_available() -> bool:
    """True when the ops' GPU kernels are loaded (a CUDA build of TensorFlow with a GPU)."""
    ops_available()
    return _gpu_reason is None


def gpu_unavailable_reason() -> str | None:
    """Why the GPU kernels are not loaded, or None when they are."""
    ops_available()
    return _gpu_reason


def ops_available() -> bool:
    """True when the compiled custom ops are loaded (the fast path is live)."""
    if not _loaded:
        _load()
    return _library is not None


def unavailable_reason() -> str | None:
    """Why the custom ops are not loaded, or None when they are."""
    ops_available()
    return _reason


def op_library():
    """The loaded op module; raises RuntimeError (saying why) when there is none."""
    if not ops_available():
        raise RuntimeError(f"tf_learnact custom ops are not available: {_reason}")
    return _library
