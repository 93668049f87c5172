"""Every family under Keras mixed precision (float16 / bfloat16 compute, float32
variables): trained with model.fit, its coefficients stay float32 and learn, and the
exported SavedModel serves what the model predicts."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_learnact

# (layer factory, callbacks factory): PWLU trains through its realignment's two phases.
FAMILIES = {
    "pau": (lambda: tf_learnact.PAU(per_channel=True), list),
    "rpau": (lambda: tf_learnact.RPAU(noise=0.01, seed=3), list),
    "pwlu": (
        lambda: tf_learnact.PWLU(per_channel=True),
        lambda: [tf_learnact.PWLURealignment(phase1_steps=2, verbose=0)],
    ),
    "abu": (lambda: tf_learnact.ABU(per_channel=True), list),
    "adaptive_scaling": (lambda: tf_learnact.AdaptiveScaling(), list),
}


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_fit_and_export_under_mixed_precision(family, policy, tmp_path):
    make_layer, make_callbacks = FAMILIES[family]
    keras.utils.set_random_seed(0)
    activation = make_layer()
    model = keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(4, 3),
            activation,
            keras.layers.GlobalAveragePooling2D(),
            # The loss in float32, as the mixed-precision guide has it.
            keras.layers.Dense(2, dtype="float32"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 6, 3)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    callbacks = make_callbacks()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=callbacks)
    coefficients = activation.trainable_weights
    assert coefficients and all(w.dtype == "float32" for w in coefficients)
    assert activation(tf.ones((2, 4, 4, 4))).dtype == policy.compute_dtype
    # One more epoch, past PWLU's realignment (which resets its parameters): the
    # optimizer itself moves the float32 coefficients.
    before = [w.numpy().copy() for w in coefficients]
    history2 = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=callbacks)
    assert np.all(np.isfinite(history.history["loss"] + history2.history["loss"]))
    moved = [not np.array_equal(b, w.numpy()) for b, w in zip(before, coefficients, strict=True)]
    assert any(moved), f"{family}: no coefficient changed in training"

    expected = model.predict(x, batch_size=len(x), verbose=0)
    loaded = tf_learnact.load_saved_model(tf_learnact.export_saved_model(model, tmp_path / "served"))
    for weight in model.weights:  # every coefficient exported exactly
        (saved,) = [v for v in loaded.variables if v.name.removesuffix(":0") == weight.path]
        assert saved.numpy().tobytes() == np.asarray(weight.numpy()).tobytes(), weight.path
    np.testing.assert_array_equal(loaded.serve(tf.constant(x)).numpy(), expected)
