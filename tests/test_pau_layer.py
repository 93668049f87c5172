"""The PAU / RPAU Keras layers: construction, inits, dtypes, noise, training,
XLA, saving, export to a fresh process and the fallback without the op library."""

from __future__ import annotations

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_ops, run_fresh_python

import tf_learnact
from tf_learnact import coefficients
from tf_learnact.layers import pau as pau_layer_module

IMPLEMENTATIONS = ["op", "composite"] if tf_learnact.ops_available() else ["composite"]


def test_weight_shapes_per_layer_and_per_channel():
    layer = tf_learnact.PAU()
    layer.build((None, 7))
    assert tuple(layer.numerator.shape) == (6,) and tuple(layer.denominator.shape) == (4,)
    layer = tf_learnact.PAU(degrees=(3, 2), per_channel=True, version="C")
    layer.build((None, 7))
    assert tuple(layer.numerator.shape) == (7, 4) and tuple(layer.denominator.shape) == (7, 3)
    layer = tf_learnact.PAU(per_channel=True, axis=1)
    layer.build((2, 3, 4, 5))
    assert tuple(layer.numerator.shape) == (3, 6)
    # Every channel row starts from the same init.
    np.testing.assert_array_equal(layer.numerator.numpy()[0], layer.numerator.numpy()[2])


def test_float64_layer_uses_float64_coefficients():
    layer = tf_learnact.PAU(dtype="float64")
    y = layer(tf.constant([[0.5, -0.5]], tf.float64))
    assert layer.numerator.dtype == "float64" and y.dtype == tf.float64


@pytest.mark.parametrize("version", ["A", "B", "C", "N"])
@pytest.mark.parametrize("name", sorted(coefficients.INIT_MAX_ERROR))
def test_named_inits_within_stated_error(name, version):
    num, den = coefficients.initial_coefficients(name, (5, 4), version)
    err = coefficients.max_error(coefficients.NAMED_FUNCTIONS[name], num, den, version)
    assert err <= coefficients.INIT_MAX_ERROR[name], f"{name}/{version}: {err}"


def test_table6_used_where_it_applies():
    for name, (num, den) in coefficients.TABLE6.items():
        got = coefficients.initial_coefficients(name, (5, 4), "A")
        np.testing.assert_array_equal(got[0], num)
        np.testing.assert_array_equal(got[1], den)
    # Even denominators: B coincides with A, so the table is kept.
    np.testing.assert_array_equal(
        coefficients.initial_coefficients("tanh", (5, 4), "B")[0], coefficients.TABLE6["tanh"][0]
    )
    # LReLU(0.01) in Eq. 2's form: the table is 2x worse than a fit, so B is fitted.
    num_b = coefficients.initial_coefficients("leaky_relu", (5, 4), "B")[0]
    assert not np.array_equal(num_b, coefficients.TABLE6["leaky_relu"][0])


@pytest.mark.parametrize("degrees", [(0, 0), (2, 1), (8, 8), (16, 16)], ids=str)
def test_other_degrees_are_fitted(degrees):
    num, den = coefficients.initial_coefficients("tanh", degrees, "B")
    assert num.shape == (degrees[0] + 1,) and den.shape == (degrees[1],)
    err = coefficients.max_error(np.tanh, num, den, "B")
    bound = {(0, 0): 1.0, (2, 1): 0.2, (8, 8): 1e-3, (16, 16): 1e-3}[degrees]
    assert err < bound


def test_callable_init_is_fitted_and_serialized_as_coefficients():
    layer = tf_learnact.PAU(init=lambda x: np.abs(x), version="A")
    x = np.linspace(-3, 3, 101).astype("float32")
    np.testing.assert_allclose(layer(x), np.abs(x), atol=0.08)
    config = layer.get_config()
    assert set(config["init"]) == {"numerator", "denominator"}
    clone = tf_learnact.PAU.from_config(config)
    np.testing.assert_array_equal(clone(x), layer(x))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(degrees=(17, 4)), "degrees"),
        (dict(degrees=(5, -1)), "degrees"),
        (dict(degrees="54"), "degrees"),
        (dict(init="softsign"), "init"),
        (dict(init={"numerator": [1.0]}), "init"),
        (dict(init={"numerator": [0.0, 1.0], "denominator": [1.0]}), "init"),
        (dict(version="D"), "version"),
        (dict(noise=-0.01), "noise"),
        (dict(noise=1.5), "noise"),
        (dict(implementation="fastest"), "implementation"),
        (dict(axis=1.5), "axis"),
        (dict(init_range=(3, -3)), "init_range"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tf_learnact.PAU(**kwargs)


def test_axis_out_of_range_and_unknown_channels_raise_at_build():
    with pytest.raises(ValueError, match="axis"):
        tf_learnact.PAU(per_channel=True, axis=3).build((None, 4))
    with pytest.raises(ValueError, match="axis"):
        tf_learnact.PAU(per_channel=True, axis=-1).build((None, None))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_rpau_noise_only_in_training(implementation):
    x = np.linspace(-2, 2, 64).astype("float32").reshape(8, 8)
    rpau = tf_learnact.RPAU(noise=0.1, seed=5, implementation=implementation, per_channel=True)
    clean = tf_learnact.PAU(implementation=implementation, per_channel=True)
    np.testing.assert_array_equal(rpau(x, training=False), clean(x))
    first, second = rpau(x, training=True), rpau(x, training=True)
    assert not np.array_equal(first, clean(x)) and not np.array_equal(first, second)
    np.testing.assert_allclose(first, clean(x), atol=0.3)
    # Same seed, same sequence of noisy outputs.
    twin = tf_learnact.RPAU(noise=0.1, seed=5, implementation=implementation, per_channel=True)
    np.testing.assert_array_equal(twin(x, training=True), first)
    np.testing.assert_array_equal(twin(x, training=True), second)


MIRRORED_RPAU_CODE = """
import numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, tf_learnact
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
x = np.linspace(-2, 2, 64).astype("float32").reshape(8, 8)
with strategy.scope():
    rpau = tf_learnact.RPAU(noise=0.1, seed=5, implementation="{implementation}")
    rpau.build(x.shape)
clean = tf_learnact.PAU(implementation="{implementation}")(x).numpy()

@tf.function
def step():
    return strategy.run(lambda: rpau(tf.constant(x), training=True))

for _ in range(2):  # both steps: each replica's noise differs from the other's
    outs = [o.numpy() for o in strategy.experimental_local_results(step())]
    print(np.array_equal(outs[0], outs[1]), np.abs(outs[0] - clean).max() < 0.3,
          np.abs(outs[1] - clean).max() < 0.3, not np.array_equal(outs[0], clean))
print(int(rpau.noise_step.numpy()))
"""


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_rpau_replicas_draw_their_own_noise(implementation):
    # Under a distribution strategy every replica takes the same step, seed and element
    # indices: without the replica in the seed, each would draw the same noise.
    out = run_fresh_python(MIRRORED_RPAU_CODE.format(implementation=implementation))
    lines = out.strip().splitlines()
    assert lines[-3:] == ["False True True True", "False True True True", "2"], out


def small_regression_data(n=512, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (np.sin(2 * x[:, :1]) + np.abs(x[:, 1:2]) - 0.5 * x[:, 2:3] ** 2).astype("float32")
    return x, y


def small_model(layer):
    return keras.Sequential(
        [keras.Input((8,), name="features"), keras.layers.Dense(16), layer, keras.layers.Dense(1)]
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("layer_cls,per_channel", [(tf_learnact.PAU, False), (tf_learnact.RPAU, True)])
def test_fit_lowers_loss_and_moves_coefficients(layer_cls, per_channel, implementation):
    keras.utils.set_random_seed(0)
    x, y = small_regression_data()
    act = layer_cls(per_channel=per_channel, implementation=implementation, seed=1)
    model = small_model(act)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = act.numerator.numpy().copy()
    history = model.fit(x, y, epochs=4, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    assert np.max(np.abs(act.numerator.numpy() - before)) > 1e-3


@pytest.mark.parametrize("implementation", ["auto", *IMPLEMENTATIONS])
def test_jit_compile_trains(implementation):
    keras.utils.set_random_seed(0)
    x, y = small_regression_data()
    model = small_model(tf_learnact.RPAU(implementation=implementation, seed=2))
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


@requires_ops
def test_auto_uses_twin_under_xla_and_op_otherwise():
    layer = tf_learnact.PAU(per_channel=True)
    x = tf.random.stateless_normal((4, 6), (1, 1))
    eager = layer(x)
    xla = tf.function(layer, jit_compile=True)(x)
    np.testing.assert_allclose(xla, eager, rtol=1e-5, atol=1e-6)
    graph = tf.function(layer).get_concrete_function(x).graph
    assert any(op.type == "TfLearnact>Pau" for op in graph.get_operations())


def test_keras_save_load_bit_identical(tmp_path):
    x, _ = small_regression_data(64)
    model = small_model(tf_learnact.RPAU(per_channel=True, version="C", seed=3))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert loaded.layers[1].get_config() == model.layers[1].get_config()


def test_export_reloads_in_fresh_process_bit_identical(tmp_path):
    x, _ = small_regression_data(32)
    model = small_model(tf_learnact.PAU(per_channel=True))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    export_dir = tmp_path / "export"
    model.export(str(export_dir), verbose=False)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, batch_size=len(x), verbose=0))  # serve sees one batch
    out = run_fresh_python(f"""
        import numpy as np, tensorflow as tf
        import tf_learnact
        served = tf.saved_model.load({str(export_dir)!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        y = served.serve(tf.constant(x)).numpy()
        print(bool(np.array_equal(y, np.load({str(tmp_path / "expected.npy")!r}))))
    """)
    assert out.strip().splitlines()[-1] == "True"


FALLBACK_CODE = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np, tf_learnact
    available = tf_learnact.ops_available()
    y = tf_learnact.PAU(per_channel=True)(np.linspace(-1, 1, 6).reshape(2, 3).astype("float32"))
ours = [w for w in caught if "tf_learnact" in str(w.message)]
try:
    tf_learnact.PAU(implementation="op")
    op_error = "none"
except RuntimeError as err:
    op_error = str(err)
print(available, len(ours), "TF_LEARNACT_DISABLE_OPS" in op_error)
print(" ".join(repr(float(v)) for v in np.ravel(y)))
"""


def test_fallback_without_library_uses_twin_with_one_warning():
    out = run_fresh_python(FALLBACK_CODE, env_extra={"TF_LEARNACT_DISABLE_OPS": "1"}).strip().splitlines()
    assert out[-2] == "False 1 True"
    x = np.linspace(-1, 1, 6).reshape(2, 3).astype("float32")
    expected = tf_learnact.PAU(per_channel=True, implementation="composite")(x)
    np.testing.assert_array_equal(np.array([float(v) for v in out[-1].split()]), np.ravel(expected))


def test_docstring_examples_run():
    result = doctest.testmod(pau_layer_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0
