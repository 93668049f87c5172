"""Outputs written over a dying input's buffer (CPU kernels).

Inside a graph, TensorFlow hands an op the buffer of an input that no other op still
reads: the forward's y may take over x, the backward's dx may take over dy or x. Each
kernel must then read an element before it writes that element's result, in every
layout and on every thread. These tests feed the ops such temporaries and compare with
the same ops on tensors that stay alive (no forwarding possible), bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_ops, run_fresh_python

from tf_learnact.coefficients import initial_coefficients
from tf_learnact.ops.abu import abu
from tf_learnact.ops.pau import pau
from tf_learnact.ops.pwlu import pwlu

BASIS = ("tanh", "elu", "relu", "identity", "swish")
# (shape, axis, per_channel): per layer over rows, channels last, channels first, and one
# tensor large enough to be split into many blocks over the thread pool.
LAYOUTS = [((64, 300), -1, False), ((64, 37), -1, True), ((8, 5, 7, 9), 1, True), ((1 << 20,), -1, False)]


def family_params(family, channels, dtype):
    """(apply(x, params), params) of one family, with parameters away from their init."""
    rng = np.random.default_rng(3)
    lead = (channels,) if channels else ()
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    if family in ("pau", "rpau"):
        num, den = initial_coefficients("leaky_relu", (5, 4), "B")
        num = np.broadcast_to(num, lead + num.shape) * rng.uniform(0.8, 1.2, lead + num.shape)
        den = np.broadcast_to(den, lead + den.shape) * rng.uniform(0.8, 1.2, lead + den.shape)
        noise = 0.01 if family == "rpau" else 0.0
        params = [tf.constant(v, pdt) for v in (num, den)]
        return (lambda x, p, axis: pau(x, *p, axis=axis, noise=noise, seed=7, implementation="op")), params
    if family == "pwlu":
        values = (
            rng.uniform(-2.5, -1.0, lead),
            rng.uniform(1.0, 2.5, lead),
            rng.normal(size=lead + (9,)),
            rng.uniform(-0.5, 0.5, lead),
            rng.uniform(0.5, 1.5, lead),
        )
        params = [tf.constant(v, pdt) for v in values]
        return (lambda x, p, axis: pwlu(x, *p, axis=axis, implementation="op")), params
    params = [tf.constant(rng.uniform(-1, 1, lead + (len(BASIS),)), pdt), tf.constant(np.ones(lead), pdt)]
    return (lambda x, p, axis: abu(x, *p, basis=BASIS, axis=axis, implementation="op")), params


def forward_and_gradients(apply, x, params, dy, axis):
    with tf.GradientTape() as tape:
        tape.watch([x, *params])
        y = apply(x, params, axis)
    return [y, *tape.gradient(y, [x, *params], output_gradients=dy)]


@requires_ops
@pytest.mark.parametrize("family", ["pau", "rpau", "pwlu", "abu"])
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first", "large"])
def test_outputs_over_temporaries_equal_outputs_over_held_inputs(family, shape, axis, per_channel, dtype):
    channels = shape[axis] if per_channel else None
    apply, params = family_params(family, channels, dtype)
    x = tf.cast(tf.random.stateless_normal(shape, (1, 2), dtype=tf.float32) * 1.5, dtype)
    dy = tf.cast(tf.random.stateless_normal(shape, (3, 4), dtype=tf.float32), dtype)

    # Held: x2 and dy2 stay alive in the caller, so every output gets a buffer of its own.
    # Both sides run as graphs, so graph rewrites of the parameter gradients' stock-op
    # tails apply alike.
    x2, dy2 = x * 2, dy * 2
    held_y = tf.function(lambda x: apply(x, params, axis))(x2)
    held = tf.function(lambda x, dy: forward_and_gradients(apply, x, params, dy, axis))(x2, dy2)

    # Temporaries: x * 2 and dy * 2 die at the op, which may write over them.
    inference = tf.function(lambda x: apply(x * 2, params, axis))
    training = tf.function(lambda x, dy: forward_and_gradients(apply, x * 2, params, dy * 2, axis))

    np.testing.assert_array_equal(inference(x).numpy(), held_y.numpy())
    names = ["y", "dx", *(f"d_param{i}" for i in range(len(params)))]
    for name, got, want in zip(names, training(x, dy), held, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)


PEAK_CODE = """
import numpy as np, tensorflow as tf
from tf_learnact.coefficients import initial_coefficients
from tf_learnact.ops.abu import abu
from tf_learnact.ops.pau import pau
from tf_learnact.ops.pwlu import pwlu
x = tf.random.stateless_normal((1 << 22,), (1, 2))
dy = tf.random.stateless_normal((1 << 22,), (3, 4))
num, den = (tf.constant(v, tf.float32) for v in initial_coefficients("leaky_relu", (5, 4), "B"))
pw = [tf.constant(v, tf.float32) for v in (-3.0, 3.0, np.maximum(np.linspace(-3, 3, 9), 0), 0.0, 1.0)]
ops = {
    "pau": lambda x: pau(x, num, den, implementation="op"),
    "pwlu": lambda x: pwlu(x, *pw, implementation="op"),
    "abu": lambda x: abu(x, tf.fill((5,), 0.2), basis=("tanh", "elu", "relu", "identity", "swish"),
                         implementation="op"),
}
def peak(fn, *args):
    fn(*args)
    tf.config.experimental.reset_memory_stats("CPU:0")
    base = tf.config.experimental.get_memory_info("CPU:0")["current"]
    fn(*args)
    return tf.config.experimental.get_memory_info("CPU:0")["peak"] - base
for name, op in ops.items():
    def backward(x, dy, op=op):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x)
        return tape.gradient(y, x, output_gradients=dy * 2)
    print(name, peak(tf.function(lambda x, op=op: op(x * 2)), x), peak(tf.function(backward), x, dy))
"""


@requires_ops
def test_outputs_take_over_dying_buffers():
    out = run_fresh_python(PEAK_CODE, env_extra={"TF_CPU_ALLOCATOR_USE_BFC": "true"})
    tensor_bytes = 4 << 22
    rows = [line.split() for line in out.strip().splitlines()[-3:]]
    assert [row[0] for row in rows] == ["pau", "pwlu", "abu"], out
    for name, forward_peak, backward_peak in rows:
        # Forward: x * 2 becomes y (one new tensor, not two).
        assert int(forward_peak) < 1.5 * tensor_bytes, (name, forward_peak)
        # Backward (y is unused, so pruned): dy * 2 becomes dx (one new tensor, not two).
        assert int(backward_peak) < 1.5 * tensor_bytes, (name, backward_peak)
