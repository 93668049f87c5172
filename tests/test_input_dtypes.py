"""Inputs that are not floats: every layer computes integer and boolean inputs (e.g.
uint8 images) as floats of its compute dtype, and the op functions reject any dtype
they cannot take with a ValueError naming x."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import tf_learnact
from tf_learnact.ops.abu import abu, abu_composite
from tf_learnact.ops.pau import pau, pau_composite
from tf_learnact.ops.pwlu import pwlu, pwlu_table, pwlu_table_composite

LAYERS = {
    "PAU": lambda: tf_learnact.PAU(per_channel=True),
    "RPAU": lambda: tf_learnact.RPAU(seed=3),
    "PWLU": lambda: tf_learnact.PWLU(per_channel=True),
    "ABU": lambda: tf_learnact.ABU(),
    "AdaptiveScaling": lambda: tf_learnact.AdaptiveScaling("tanh"),
}


@pytest.mark.parametrize("input_dtype", ["uint8", "int32", "int64", "bool"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_compute_integer_and_boolean_inputs_as_floats(name, input_dtype):
    values = {"uint8": np.arange(12), "bool": np.arange(12) % 2}.get(input_dtype, np.arange(-6, 6))
    values = values.reshape(3, 4)
    given = tf.constant(values.astype(input_dtype))
    layer = LAYERS[name]()
    # RPAU runs in training, where its noise follows its step counter (each call advances
    # it): the counter is reset between the two calls, so both draw the same noise.
    kwargs = {"training": True} if name == "RPAU" else {}
    y = layer(given, **kwargs)
    if name == "RPAU":
        layer.noise_step.assign(0)
    expected = layer(tf.constant(values.astype("float32")), **kwargs)
    assert y.dtype == tf.float32
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


# PWLU with 4 intervals on [-3, 3]: bounds, heights, outer slopes.
PWLU_PARAMS = (-3.0, 3.0, [0.0, 0.0, 0.0, 1.5, 3.0], 0.0, 1.0)


FUNCTIONS = {
    "pau": lambda x: pau(x, [0.1, 1.0], [0.5]),
    "pau_composite": lambda x: pau_composite(x, [0.1, 1.0], [0.5]),
    "pwlu": lambda x: pwlu(x, *PWLU_PARAMS),
    "pwlu_composite": lambda x: pwlu_table_composite(
        x, -3.0, 3.0, *pwlu_table(*map(tf.constant, PWLU_PARAMS))
    ),
    "abu": lambda x: abu(x, [0.5, 0.5], basis=("tanh", "relu")),
    "abu_composite": lambda x: abu_composite(x, [0.5, 0.5], basis=("tanh", "relu")),
}


@pytest.mark.parametrize("bad_dtype", [tf.int32, tf.bool, tf.complex64])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_op_functions_name_x_for_a_dtype_they_cannot_take(name, bad_dtype):
    x = tf.zeros([2, 3], bad_dtype)
    with pytest.raises(ValueError, match=rf"x must be a tensor of float16, .*got {bad_dtype.name}"):
        FUNCTIONS[name](x)
