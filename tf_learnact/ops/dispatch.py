"""Chooses between a family's custom op and its composite twin."""

from __future__ import annotations

import contextlib
import contextvars

from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import control_flow_util

from tf_learnact.ops.library import op_library, ops_available

IMPLEMENTATIONS = ("auto", "op", "composite")

_composite_only = contextvars.ContextVar("tf_learnact_composite_only", default=False)


@contextlib.contextmanager
def composite_only():
    """Within this context every layer and op function builds its stock-TensorFlow twin,
    whatever its `implementation` (portable exports trace under it)."""
    token = _composite_only.set(True)
    try:
        yield
    finally:
        _composite_only.reset(token)


def check_implementation(implementation: str) -> str:
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
    if implementation == "op":
        op_library()  # raises with the reason when the library is missing
    return implementation


def tracing_under_xla() -> bool:
    """True while tracing inside tf.function(jit_compile=True) or Keras jit_compile.

    XLA has no kernel for the custom ops, but it fuses the twin well.
    """
    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def use_custom_op(implementation: str) -> bool:
    """Whether this call should run the custom op (else the composite twin)."""
    if _composite_only.get() and implementation in IMPLEMENTATIONS:
        return False  # portable tracing: the twin, whatever the layer asked for
    check_implementation(implementation)
    if implementation == "composite":
        return False
    if implementation == "op":
        return True
    return ops_available() and not tracing_under_xla()
