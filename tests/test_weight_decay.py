"""coefficient_variables: the learnable activations' coefficients, kept out of an
optimizer's weight decay as the PAU paper trains them."""

from __future__ import annotations

import keras
import numpy as np

import tf_learnact


def nested_model():
    """Every family, RPAU and AdaptiveScaling inside a nested model."""
    keras.utils.set_random_seed(0)
    inner = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(6),
            tf_learnact.RPAU(name="rpau"),
            tf_learnact.AdaptiveScaling(name="scale"),
        ],
        name="inner",
    )
    inp = keras.Input((6,))
    h = tf_learnact.PAU(per_channel=True, name="pau")(keras.layers.Dense(6, name="dense0")(inp))
    h = tf_learnact.PWLU(intervals=4, name="pwlu")(h)
    h = tf_learnact.ABU(name="abu")(inner(h))
    return keras.Model(inp, keras.layers.Dense(1, name="head")(h))


def test_lists_every_trainable_coefficient_and_nothing_else():
    model = nested_model()
    paths = sorted(v.path for v in tf_learnact.coefficient_variables(model))
    assert paths == [
        "abu/blend_weights",
        "inner/rpau/denominator",
        "inner/rpau/numerator",
        "inner/scale/blend_weights",
        "pau/denominator",
        "pau/numerator",
        "pwlu/heights",
        "pwlu/left_bound",
        "pwlu/left_slope",
        "pwlu/right_bound",
        "pwlu/right_slope",
    ]
    # Frozen layers' coefficients are not trained, so not listed.
    model.get_layer("pwlu").trainable = False
    assert not any(p.startswith("pwlu/") for p in (v.path for v in tf_learnact.coefficient_variables(model)))


def one_step(optimizer, exclude):
    model = nested_model()
    if exclude:
        optimizer.exclude_from_weight_decay(var_list=tf_learnact.coefficient_variables(model))
    model.compile(optimizer, "mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    coefs = {v.path: v.numpy() for v in tf_learnact.coefficient_variables(model)}
    return coefs, model.get_layer("head").kernel.numpy()


def test_excluded_coefficients_take_the_undecayed_step():
    plain, plain_head = one_step(keras.optimizers.Adam(0.01), exclude=False)
    excluded, excluded_head = one_step(keras.optimizers.AdamW(0.01, weight_decay=0.5), exclude=True)
    decayed, _ = one_step(keras.optimizers.AdamW(0.01, weight_decay=0.5), exclude=False)
    assert plain.keys() == excluded.keys() == decayed.keys()
    for path in plain:
        np.testing.assert_array_equal(excluded[path], plain[path], err_msg=path)
    # The decay still reaches the other weights, and reaches the coefficients unless excluded.
    assert not np.array_equal(excluded_head, plain_head)
    assert any(not np.array_equal(decayed[p], plain[p]) for p in plain)
