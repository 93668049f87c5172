"""Loads the compiled op library once; the package falls back to the composite twins
(pure TensorFlow) when it cannot, with one warning that says why."""

from __future__ import annotations

import os
import pathlib
import warnings

import tensorflow as tf

LIBRARY_FILE = pathlib.Path(__file__).resolve().parent.parent / "_tf_learnact_ops.so"
# Set to 1 to run on the composite twins only (e.g. to check the fallback path).
DISABLE_ENV = "TF_LEARNACT_DISABLE_OPS"

_library = None
_reason: str | None = None
_loaded = False


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
    if _library is None:
        warnings.warn(
            f"tf_learnact: custom ops unavailable, using the pure-TensorFlow composite "
            f"implementations instead ({_reason}).",
            RuntimeWarning,
            stacklevel=3,
        )


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
