"""Fixtures shared by every family's tests: dtypes and their tolerances, the
op-vs-twin comparison, and a fresh-process runner."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import tf_learnact

DTYPES = [tf.float16, tf.bfloat16, tf.float32, tf.float64]
# Relative tolerance of an op against its twin: both round the same float32 (or
# float64) result, but FMA contraction in the op may move it by an ulp of the storage type.
TWIN_RTOL = {tf.float16: 2e-3, tf.bfloat16: 1.6e-2, tf.float32: 2e-5, tf.float64: 1e-12}

requires_ops = pytest.mark.skipif(
    not tf_learnact.ops_available(), reason=f"custom ops unavailable: {tf_learnact.unavailable_reason()}"
)


@pytest.fixture(params=DTYPES, ids=lambda d: d.name)
def dtype(request):
    return request.param


def as_float64(t) -> np.ndarray:
    return np.asarray(tf.cast(t, tf.float64))


def assert_close(actual, expected, rtol, atol_scale=1.0, err_msg=""):
    """|actual - expected| <= rtol * (|expected| + atol_scale), NaN where NaN."""
    actual, expected = as_float64(actual), as_float64(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=err_msg)
    ok = ~np.isnan(expected)
    bound = rtol * (np.abs(expected[ok]) + atol_scale)
    err = np.abs(actual[ok] - expected[ok])
    assert np.all(err <= bound), f"{err_msg} max excess {np.max(err - bound):.3g} (rtol {rtol})"


def run_fresh(args: list[str], env_extra: dict | None = None, timeout: int = 300):
    """Runs `python args...` in a fresh interpreter; returns the CompletedProcess.

    It starts in a neutral directory: `python -c` puts the working directory first on
    sys.path, and a source checkout there would shadow the installed package.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env_extra or {}))
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep))
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=tempfile.gettempdir(),
    )


def run_fresh_python(code: str, env_extra: dict | None = None, timeout: int = 300) -> str:
    """Runs `code` in a fresh interpreter (nothing imported) and returns its stdout."""
    proc = run_fresh(["-c", textwrap.dedent(code)], env_extra, timeout)
    assert proc.returncode == 0, f"fresh process failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


def build_mixed_model(seed: int = 0):
    """A small CNN with every family (per-channel PAU, PWLU, ABU, RPAU), trained one
    epoch, and its inputs: the model the export, inspection and CLI tests share."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3), name="image")  # the serving signature's input name
    h = keras.layers.Conv2D(6, 3, padding="same")(inp)
    h = tf_learnact.PAU(per_channel=True, name="pau")(h)
    h = keras.layers.Conv2D(6, 3, padding="same")(h)
    h = tf_learnact.PWLU(per_channel=True, name="pwlu")(h)
    h = keras.layers.Conv2D(6, 3, padding="same")(h)
    h = tf_learnact.ABU(name="abu")(h)
    h = tf_learnact.RPAU(noise=0.01, name="rpau", seed=7)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inp, keras.layers.Dense(3)(h))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 8, 8, 3)).astype("float32")
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit(x, rng.normal(size=(16, 3)), epochs=2, batch_size=8, verbose=0)
    return model, x


@pytest.fixture(scope="session")
def mixed_model(tmp_path_factory):
    """(model, inputs, path of its .keras file)."""
    model, x = build_mixed_model()
    path = tmp_path_factory.mktemp("mixed") / "model.keras"
    model.save(path)
    return model, x, path
