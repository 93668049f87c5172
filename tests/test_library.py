"""The op library: built, loaded, and namespaced as documented."""

from __future__ import annotations

import os

import pytest
from conftest import run_fresh_python

import tf_learnact
from tf_learnact.ops import library


def test_op_library_is_built_and_loaded():
    """An install that silently fell back to the twins must not pass the tests.

    Set TF_LEARNACT_DISABLE_OPS=1 to test the fallback path deliberately.
    """
    if os.environ.get(library.DISABLE_ENV, "") not in ("", "0"):
        pytest.skip("ops disabled on purpose")
    assert tf_learnact.ops_available(), tf_learnact.unavailable_reason()
    assert tf_learnact.unavailable_reason() is None


def test_ops_are_namespaced():
    if not tf_learnact.ops_available():
        pytest.skip("no library")
    from tensorflow.python.framework import op_def_registry

    for name in ("TfLearnact>Pau", "TfLearnact>PauGrad"):
        assert op_def_registry.get(name) is not None, name


def test_gpu_kernels_load_only_on_a_cuda_build_with_a_gpu():
    import tensorflow as tf  # noqa: PLC0415

    on_gpu = tf.test.is_built_with_cuda() and bool(tf.config.list_physical_devices("GPU"))
    if on_gpu:
        pytest.skip("a CUDA build with a GPU: covered by the GPU session's checks")
    assert not library.gpu_kernels_available()
    reason = library.gpu_unavailable_reason()
    assert reason in ("TensorFlow is a CPU build", "no GPU visible") or "not built" in reason


@pytest.mark.parametrize("implementation,jit", [("auto", True), ("composite", True), ("op", False)])
def test_layers_opt_out_of_xla_only_where_the_custom_op_must_run(implementation, jit):
    """Without GPU kernels, "auto" keeps XLA (the twin is traced there); "op" opts out."""
    if implementation == "op" and not tf_learnact.ops_available():
        pytest.skip("no library")
    if library.gpu_kernels_available():
        pytest.skip("with GPU kernels, 'auto' opts out as well")
    assert tf_learnact.PAU(implementation=implementation).supports_jit is jit


def test_other_keras_backend_fails_at_import_naming_it():
    # JAX and PyTorch are not installed here: Keras is told it runs on JAX instead.
    code = """
        import keras
        keras.backend.backend = lambda: "jax"
        try:
            import tf_learnact
        except ImportError as e:
            print(e)
    """
    out = run_fresh_python(code)
    assert (
        "needs Keras's TensorFlow backend" in out and "'jax'" in out and "KERAS_BACKEND=tensorflow" in out
    ), out
