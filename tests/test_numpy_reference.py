"""The NumPy references that the CUDA harness tests use on a machine without TensorFlow
(tf_learnact/numpy_reference.py) agree with the CPU ops and the TensorFlow noise twin, so
a GPU session only has to compare its kernels with them."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_ops

import tf_learnact
from tf_learnact import numpy_reference
from tf_learnact.ops import noise as tf_noise


def test_module_imports_only_numpy():
    source = open(numpy_reference.__file__).read()
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "numpy"}, imports


@pytest.mark.parametrize("seed", [0, 7, -3, 2**40 + 5])
def test_noise_matches_the_tensorflow_twin_bit_for_bit(seed):
    elements, coefs = 1000, 10
    got = numpy_reference.noise_uniform(seed, elements, coefs)
    states = tf_noise.element_states(tf.constant(seed, tf.int64), tf.constant([elements]))
    want = np.stack([tf_noise.noise_uniform(states, j).numpy() for j in range(coefs)], -1)
    np.testing.assert_array_equal(got, want)


def test_noise_is_uniform_symmetric_and_pairs_independent():
    # Coefficients 2i and 2i + 1 share one hash (16 bits each): every value an odd
    # multiple of 2^-16 in (-1, 1), mean 0, variance 1/3, the pair uncorrelated.
    u = numpy_reference.noise_uniform(5, 200_000, 10).astype(np.float64)
    assert np.all(np.abs(u) < 1)
    np.testing.assert_array_equal(np.mod(u * 2**16, 2), 1.0)
    assert np.all(np.abs(u.mean(0)) < 0.01), u.mean(0)
    np.testing.assert_allclose(u.var(0), 1 / 3, rtol=0.02)
    corr = np.corrcoef(u.T)
    assert np.max(np.abs(corr - np.eye(10))) < 0.01, corr
    assert min(len(np.unique(u[:, j])) for j in range(10)) > 50_000
    assert u.min() < -0.9999 and u.max() > 0.9999


@requires_ops
@pytest.mark.parametrize("version", numpy_reference.PAU_VERSIONS)
@pytest.mark.parametrize("axis", [None, -1, 1], ids=["layer", "chan_last", "chan_first"])
@pytest.mark.parametrize("noise", [0.0, 0.05], ids=["pau", "rpau"])
def test_pau_layer_reference_matches_the_cpu_op(version, axis, noise):
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, (2, 5, 3, 4))
    x[0, 0, 0, :2] = 0.0  # |.| kinks
    dy = rng.uniform(-1, 1, x.shape)
    nd = 5 if version == "C" else 4
    lead = () if axis is None else (x.shape[axis],)
    num = rng.uniform(-1, 1, lead + (6,))
    den = rng.uniform(-1, 1, lead + (nd,))
    y, dx, d_num, d_den = numpy_reference.pau_layer_numpy(
        x, num, den, dy, version=version, axis=axis, noise=noise, seed=11
    )
    xt, numt, dent = (tf.constant(v, tf.float64) for v in (x, num, den))
    with tf.GradientTape() as tape:
        tape.watch([xt, numt, dent])
        yt = tf_learnact.pau(
            xt,
            numt,
            dent,
            version=version,
            axis=-1 if axis is None else axis,
            noise=noise,
            seed=11,
            implementation="op",
        )
    grads = tape.gradient(yt, [xt, numt, dent], output_gradients=tf.constant(dy))
    np.testing.assert_allclose(yt.numpy(), y, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, (dx, d_num, d_den), strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


def _pwlu_case(axis, rng):
    x = rng.uniform(-4, 4, (2, 5, 3, 4))
    lead = () if axis is None else (x.shape[axis],)
    left = rng.uniform(-3, -1, lead)
    right = rng.uniform(1, 3, lead)
    slopes, offsets = rng.uniform(-1, 1, lead + (8,)), rng.uniform(-1, 1, lead + (8,))
    # Outer rows and the exact left bound (a knot) are hit too.
    x.reshape(-1)[:3] = [-100.0, 100.0, np.asarray(left).reshape(-1)[0]]
    return x, left, right, slopes, offsets


@requires_ops
@pytest.mark.parametrize("axis", [None, -1, 1], ids=["layer", "chan_last", "chan_first"])
def test_pwlu_layer_reference_matches_the_cpu_op(axis):
    rng = np.random.default_rng(4)
    x, left, right, slopes, offsets = _pwlu_case(axis, rng)
    if axis is not None:  # the channel of the knot element must be channel 0's bound
        x.reshape(-1)[2] = 0.5
    dy = rng.uniform(-1, 1, x.shape)
    want = numpy_reference.pwlu_layer_numpy(x, left, right, slopes, offsets, dy, axis=axis)
    ops = tf_learnact.ops.library.op_library()
    args = [tf.constant(v, tf.float64) for v in (x, left, right, slopes, offsets)]
    op_axis = -1 if axis is None else axis
    y = ops.tf_learnact_pwlu(*args, axis=op_axis)
    dx, d_slopes, d_offsets = ops.tf_learnact_pwlu_grad(tf.constant(dy), *args, axis=op_axis)
    np.testing.assert_allclose(y.numpy(), want[0], rtol=1e-12, atol=1e-12)
    for got, w in zip((dx, d_slopes, d_offsets), want[1:], strict=True):
        np.testing.assert_allclose(got.numpy(), w, rtol=1e-10, atol=1e-10)


@requires_ops
@pytest.mark.parametrize("axis", [None, -1, 1], ids=["layer", "chan_last", "chan_first"])
@pytest.mark.parametrize(
    "basis",
    [("tanh", "elu", "relu", "identity", "swish"), ("sigmoid", "selu", "leaky_relu", "softplus", "gelu")],
    ids=["paper", "others"],
)
def test_abu_layer_reference_matches_the_cpu_op(axis, basis):
    rng = np.random.default_rng(5)
    x = rng.uniform(-4, 4, (2, 5, 3, 4))
    x.reshape(-1)[:4] = [0.0, -30.0, 30.0, 11.0]  # kinks, saturation, GELU's relu branch
    dy = rng.uniform(-1, 1, x.shape)
    lead = () if axis is None else (x.shape[axis],)
    weights = rng.uniform(-1, 1, lead + (len(basis),))
    beta = rng.uniform(0.5, 2.0, lead)
    want = numpy_reference.abu_layer_numpy(x, weights, beta, dy, basis=basis, axis=axis)
    xt, wt, bt = (tf.constant(v, tf.float64) for v in (x, weights, beta))
    with tf.GradientTape() as tape:
        tape.watch([xt, wt, bt])
        yt = tf_learnact.abu(xt, wt, bt, basis=basis, axis=-1 if axis is None else axis, implementation="op")
    grads = tape.gradient(yt, [xt, wt, bt], output_gradients=tf.constant(dy))
    np.testing.assert_allclose(yt.numpy(), want[0], rtol=1e-12, atol=1e-12)
    for got, w in zip(grads, want[1:], strict=True):
        np.testing.assert_allclose(got.numpy(), w, rtol=1e-9, atol=1e-9)
