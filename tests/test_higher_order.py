"""Second derivatives through the ops (gradient penalties, Hessian-vector products):
the backward ops' gradients (tf_learnact/ops/higher_order.py) against the twins'
autodiff, and against finite differences of the ops' own first derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import DTYPES, TWIN_RTOL, assert_close, requires_ops

import tf_learnact
from tf_learnact.layers.pwlu import initial_parameters

pytestmark = requires_ops


def pau_case(rng, channels, dtype, version="B", noise=0.0):
    num = rng.normal(size=(channels, 6) if channels else 6) * 0.3
    den = (
        rng.normal(size=(channels, 5 if version == "C" else 4) if channels else (5 if version == "C" else 4))
        * 0.3
    )
    params = [tf.constant(v, dtype) for v in (num, den)]

    def apply(x, p, impl):
        return tf_learnact.pau(x, *p, version=version, noise=noise, seed=11, implementation=impl)

    return params, apply


def pwlu_case(rng, channels, dtype):
    init = initial_parameters("relu", 6, (-2.0, 2.0))
    lead = (channels,) if channels else ()
    params = [tf.constant(np.broadcast_to(init[name], lead + np.shape(init[name])), dtype) for name in init]
    # Heights off the ReLU line, so that the interior slopes differ.
    params[2] = params[2] + tf.constant(rng.normal(size=params[2].shape) * 0.3, dtype)

    def apply(x, p, impl):
        return tf_learnact.pwlu(x, *p, implementation=impl)

    return params, apply


def abu_case(rng, channels, dtype, basis=("tanh", "elu", "relu", "identity", "swish")):
    weights = rng.normal(size=(channels, len(basis)) if channels else len(basis)) * 0.5
    beta = np.full(channels, 1.3) if channels else 1.3
    params = [tf.constant(weights, dtype), tf.constant(beta, dtype)]

    def apply(x, p, impl):
        return tf_learnact.abu(x, *p, basis=basis, implementation=impl)

    return params, apply


CASES = {
    "pau": pau_case,
    "pau_A": lambda rng, c, d: pau_case(rng, c, d, version="A"),
    "pau_C": lambda rng, c, d: pau_case(rng, c, d, version="C"),
    "rpau": lambda rng, c, d: pau_case(rng, c, d, noise=0.1),
    "pwlu": pwlu_case,
    "abu": abu_case,
    "abu_general": lambda rng, c, d: abu_case(rng, c, d, basis=("sigmoid", "softplus", "gelu")),
}


def penalty_gradients(apply, x, params, impl):
    """d/d(x, params, v) of sum((dL/dx)^2) with L = sum(y * w * v): a gradient penalty
    whose dy (w * v) depends on a variable, as a later layer's weights would make it."""
    w = tf.cast(tf.reshape(tf.range(tf.size(x)), x.shape) % 5 - 2, x.dtype)
    v = tf.constant(1.5, x.dtype)
    with tf.GradientTape() as outer:
        outer.watch([x, *params, v])
        with tf.GradientTape() as inner:
            inner.watch([x, *params])
            y = apply(x, params, impl)
        dx = inner.gradient(y, x, output_gradients=w * v)
        penalty = tf.reduce_sum(tf.cast(dx, tf.float64) ** 2)
    return outer.gradient(penalty, [x, *params, v], unconnected_gradients=tf.UnconnectedGradients.ZERO)


@pytest.mark.parametrize("family", sorted(CASES))
@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_gradient_penalty_matches_twin(family, channels, dtype):
    rng = np.random.default_rng(0)
    param_dtype = tf.float64 if dtype == tf.float64 else tf.float32
    params, apply = CASES[family](rng, channels, param_dtype)
    x = tf.constant(rng.uniform(-2.5, 2.5, size=(4, 3)), dtype)
    op = penalty_gradients(apply, x, params, "op")
    twin = penalty_gradients(apply, x, params, "composite")
    assert any(float(tf.reduce_max(tf.abs(tf.cast(g, tf.float64)))) > 0 for g in op[1:])
    names = ["x", *(f"param{i}" for i in range(len(params))), "v (through dy)"]
    for name, a, b in zip(names, op, twin, strict=True):
        assert a.dtype == b.dtype, name
        # Sums over elements of products of first derivatives: a few ulps more than one op.
        assert_close(a, b, rtol=8 * TWIN_RTOL[dtype], err_msg=f"{family} {name}")


@pytest.mark.parametrize("family", sorted(CASES))
@pytest.mark.parametrize("channels", [None, 3])
def test_second_derivatives_match_finite_differences_float64(family, channels):
    rng = np.random.default_rng(1)
    params, apply = CASES[family](rng, channels, tf.float64)
    x = tf.constant(rng.uniform(-2.5, 2.5, size=(2, 3)), tf.float64)
    dy = tf.constant(rng.normal(size=(2, 3)), tf.float64)

    def first_derivatives(x, dy, *p):
        # The op's own backward (dx and the coefficient gradients), differentiated again
        # with respect to x, dy and the coefficients.
        with tf.GradientTape() as tape:
            tape.watch([x, *p])
            y = apply(x, list(p), "op")
        return tape.gradient(
            y, [x, *p], output_gradients=dy, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )

    for k in range(1 + len(params)):

        def component(x, dy, *p, k=k):
            return first_derivatives(x, dy, *p)[k]

        theoretical, numerical = tf.test.compute_gradient(component, [x, dy, *params], delta=1e-6)
        for t, n in zip(theoretical, numerical, strict=True):
            np.testing.assert_allclose(t, n, rtol=1e-4, atol=1e-5, err_msg=f"{family} output {k}")


@pytest.mark.parametrize("family", sorted(CASES))
def test_gradient_penalty_in_tf_function_matches_eager(family):
    rng = np.random.default_rng(2)
    params, apply = CASES[family](rng, 3, tf.float32)
    x = tf.constant(rng.uniform(-2.5, 2.5, size=(4, 3)), tf.float32)
    eager = penalty_gradients(apply, x, params, "op")
    graph = tf.function(lambda: penalty_gradients(apply, x, params, "op"))()
    for a, b in zip(eager, graph, strict=True):
        assert_close(b, a, rtol=TWIN_RTOL[tf.float32], err_msg=family)
