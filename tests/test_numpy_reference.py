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
