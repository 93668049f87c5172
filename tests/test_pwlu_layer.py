"""The PWLU layer and PWLURealignment: phase I freeze and statistics (Eq. 5), the
phase II reset (Eq. 6), the schedule across fit calls and resumes, mirrored replicas,
the alignment IOU (Eq. 7) and saving."""

from __future__ import annotations

import doctest
import warnings

import keras
import numpy as np
import pytest
from conftest import run_fresh_python

import tf_learnact
from tf_learnact import callbacks as callbacks_module
from tf_learnact.layers import pwlu as pwlu_module
from tf_learnact.layers.pwlu import PARAMETER_NAMES, PHASE_COLLECT, PHASE_REALIGNED


def test_weights_and_state_shapes():
    layer = tf_learnact.PWLU(intervals=8)
    layer.build((None, 5))
    assert tuple(layer.heights.shape) == (5, 9) and tuple(layer.left_bound.shape) == (5,)
    assert tuple(layer.running_mean.shape) == (5,) and int(layer.phase.numpy()) == 0
    assert all(getattr(layer, n).dtype == "float32" for n in PARAMETER_NAMES)
    layer = tf_learnact.PWLU(intervals=3, per_channel=False)
    layer.build((None, 5))
    assert tuple(layer.heights.shape) == (4,) and tuple(layer.left_bound.shape) == ()
    np.testing.assert_allclose(layer.heights.numpy(), [0, 0, 1, 3])  # ReLU on [-3, 3]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(intervals=0), "intervals"),
        (dict(intervals=2.5), "intervals"),
        (dict(bounds=(1.0, -1.0)), "bounds"),
        (dict(bounds=(0.0, np.inf)), "bounds"),
        (dict(init="softsign"), "init"),
        (dict(implementation="x"), "implementation"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tf_learnact.PWLU(**kwargs)


def feature_model(channels=4, per_channel=True, intervals=8):
    """Input -> PWLU -> Dense: the PWLU sees the raw data, so its statistics are known."""
    layer = tf_learnact.PWLU(intervals=intervals, per_channel=per_channel, name="pwlu")
    model = keras.Sequential([keras.Input((channels,)), layer, keras.layers.Dense(1)])
    return model, layer


def data(n=96, channels=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, channels)) * [0.5, 1.0, 2.0, 3.0][:channels] + [1.0, -2.0, 0.0, 5.0][:channels]
    y = np.sum(np.abs(x), axis=1, keepdims=True)
    return x.astype("float32"), y.astype("float32")


class Recorder(keras.callbacks.Callback):
    def __init__(self, layer):
        super().__init__()
        self.layer, self.snapshots = layer, []

    def on_train_batch_end(self, batch, logs=None):
        self.snapshots.append(
            (
                int(self.model.optimizer.iterations.numpy()),
                int(self.layer.phase.numpy()),
                [getattr(self.layer, n).numpy().copy() for n in PARAMETER_NAMES],
            )
        )


@pytest.mark.parametrize("per_channel", [True, False])
def test_phase_one_freezes_collects_eq5_then_resets_with_eq6(per_channel):
    keras.utils.set_random_seed(0)
    x, y = data()
    model, layer = feature_model(per_channel=per_channel)
    model.compile(optimizer=keras.optimizers.AdamW(0.05, weight_decay=0.5), loss="mse")
    realign = tf_learnact.PWLURealignment(phase1_steps=5, verbose=0)
    recorder = Recorder(layer)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, callbacks=[realign, recorder], verbose=0)

    relu = {n: layer.phase_one_value(n) for n in PARAMETER_NAMES}
    phase_one = [s for s in recorder.snapshots if s[0] < 5]
    assert len(phase_one) == 4 and all(s[1] == PHASE_COLLECT for s in phase_one)
    for _, _, values in phase_one:  # bit-identical ReLU despite Adam and weight decay
        for name, v in zip(PARAMETER_NAMES, values, strict=True):
            np.testing.assert_array_equal(v, relu[name])

    # Eq. 5 over the five phase-I batches in order, first batch initialising.
    mean = std = None
    for b in range(5):
        xb = x[16 * b : 16 * (b + 1)]
        m, s = (xb.mean(0), xb.std(0)) if per_channel else (xb.mean(), xb.std())
        mean, std = (m, s) if mean is None else (0.9 * mean + 0.1 * m, 0.9 * std + 0.1 * s)
    np.testing.assert_allclose(layer.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.running_std.numpy(), std, rtol=1e-5)

    assert realign.realigned_at_step == 5 and int(layer.phase.numpy()) == PHASE_REALIGNED
    at_reset = next(s for s in recorder.snapshots if s[0] == 5)[2]
    np.testing.assert_allclose(at_reset[0], mean - 3 * std, rtol=1e-5, atol=1e-6)  # B_L
    np.testing.assert_allclose(at_reset[1], mean + 3 * std, rtol=1e-5, atol=1e-6)  # B_R
    knots = np.linspace(0, 1, 9) * (at_reset[1] - at_reset[0])[..., None] + at_reset[0][..., None]
    np.testing.assert_allclose(at_reset[2], np.maximum(knots, 0), rtol=1e-5, atol=1e-5)  # Y_P
    np.testing.assert_array_equal(at_reset[3], np.zeros_like(at_reset[3]))  # K_L
    np.testing.assert_array_equal(at_reset[4], np.ones_like(at_reset[4]))  # K_R
    # Phase II trains: the parameters move after the reset, statistics stay.
    assert not np.array_equal(recorder.snapshots[-1][2][2], at_reset[2])
    np.testing.assert_allclose(layer.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("phase", [PHASE_COLLECT, PHASE_REALIGNED])
def test_inference_reads_the_parameters_training_would_use(phase):
    """Inference skips the phase-I selects: its output must be the training call's."""
    x, _ = data()
    _, layer = feature_model()
    layer.heights.assign(layer.heights.numpy() * 1.5 - 0.25)  # not the ReLU start
    layer.phase.assign(phase)
    inferred = layer(x, training=False).numpy()
    trained = layer(x, training=True).numpy()
    np.testing.assert_array_equal(inferred, trained)
    assert not np.array_equal(inferred, np.maximum(x, 0))


def test_schedule_counts_optimizer_steps_across_fit_calls():
    x, y = data()
    model, layer = feature_model()
    model.compile(optimizer="adam", loss="mse")
    realign = tf_learnact.PWLURealignment(phase1_steps=8, verbose=0)
    model.fit(x[:64], y[:64], batch_size=16, epochs=1, callbacks=[realign], verbose=0)  # 4 steps
    assert int(layer.phase.numpy()) == PHASE_COLLECT and realign.realigned_at_step is None
    model.fit(x[:64], y[:64], batch_size=16, epochs=1, callbacks=[realign], verbose=0)  # 8 steps
    assert realign.realigned_at_step == 8 and int(layer.phase.numpy()) == PHASE_REALIGNED
    bounds = layer.left_bound.numpy().copy()
    model.fit(x[:64], y[:64], batch_size=16, epochs=1, callbacks=[realign], verbose=0)
    assert realign.realigned_at_step == 8  # never applied twice
    assert not np.allclose(layer.left_bound.numpy(), 0.0) and bounds.shape == (4,)


def test_epoch_counted_phase_one():
    x, y = data()
    model, layer = feature_model()
    model.compile(optimizer="adam", loss="mse")
    realign = tf_learnact.PWLURealignment(phase1_epochs=2, verbose=0)
    model.fit(x, y, batch_size=32, epochs=3, callbacks=[realign], verbose=0)
    assert realign.realigned_at_step == 6  # 2 epochs of 3 steps


class StopAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            raise RuntimeError("interrupted")


def test_resume_mid_phase_one_continues_the_schedule(tmp_path):
    x, y = data()
    backup = str(tmp_path / "backup")

    def run(extra):
        keras.utils.set_random_seed(0)
        model, layer = feature_model()
        model.compile(optimizer="adam", loss="mse")
        realign = tf_learnact.PWLURealignment(phase1_steps=9, verbose=0)
        cbs = [keras.callbacks.BackupAndRestore(backup, save_freq=1), realign, *extra]
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, callbacks=cbs, verbose=0)
        return model, layer, realign

    with pytest.raises(RuntimeError, match="interrupted"):
        run([StopAt(4)])
    model, layer, realign = run([])
    assert realign.realigned_at_step == 9 and int(layer.phase.numpy()) == PHASE_REALIGNED
    # Keras restores the step-4 state and replays epoch 0 from its first batch, so
    # phase I saw batches 0-3, then 0-4: the restored statistics must continue over
    # exactly that sequence (not restart, not be applied twice).
    assert int(model.optimizer.iterations.numpy()) == 4 + 18
    mean = std = None
    for b in [0, 1, 2, 3, 0, 1, 2, 3, 4]:
        xb = x[16 * b : 16 * (b + 1)]
        m, s = xb.mean(0), xb.std(0)
        mean, std = (m, s) if mean is None else (0.9 * mean + 0.1 * m, 0.9 * std + 0.1 * s)
    np.testing.assert_allclose(layer.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.running_std.numpy(), std, rtol=1e-5)


MIRRORED_CODE = """
import numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, tf_learnact
rng = np.random.default_rng(0)
x = (rng.normal(size=(128, 4)) * [0.5, 1, 2, 3] + [1, -2, 0, 5]).astype("float32")
y = np.abs(x).sum(1, keepdims=True).astype("float32")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    layer = tf_learnact.PWLU(intervals=8, name="pwlu")
    model = keras.Sequential([keras.Input((4,)), layer, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
cb = tf_learnact.PWLURealignment(phase1_steps=1, verbose=0)
model.fit(x, y, batch_size=128, epochs=3, shuffle=False, callbacks=[cb], verbose=0)
same = all(np.array_equal(*[r.numpy() for r in strategy.experimental_local_results(v.value)])
           for v in layer.weights)
print(strategy.num_replicas_in_sync, same, int(layer.phase.numpy()), cb.realigned_at_step)
# One global batch of 128 in phase I: statistics of the whole batch, not of a replica's half.
print(np.allclose(layer.running_mean.numpy(), x.mean(0), rtol=1e-5, atol=1e-6),
      np.allclose(layer.running_std.numpy(), x.std(0), rtol=1e-5))
"""


def test_mirrored_replicas_aggregate_statistics_and_agree():
    out = run_fresh_python(MIRRORED_CODE).strip().splitlines()
    assert out[-2] == "2 True 2 1", out
    assert out[-1] == "True True", out


def test_realignment_raises_iou_over_wide_fixed_bounds():
    x, y = data(n=256)

    def trained(realign):
        keras.utils.set_random_seed(0)
        layer = tf_learnact.PWLU(intervals=8, bounds=(-10.0, 10.0), name="pwlu")
        model = keras.Sequential([keras.Input((4,)), layer, keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        cbs = [tf_learnact.PWLURealignment(phase1_steps=8, verbose=0)] if realign else []
        model.fit(x, y, batch_size=32, epochs=3, callbacks=cbs, verbose=0)
        return tf_learnact.alignment_iou(model, x)["pwlu"]

    fixed, realigned = trained(False), trained(True)
    assert fixed.shape == realigned.shape == (4,)
    assert np.mean(realigned) > np.mean(fixed) + 0.2, (fixed, realigned)


def test_first_callback_step_matches_keras_executions():
    # Where Keras really calls back with steps_per_execution 5 and 16 steps per epoch
    # (5, 10, 15, 16, 21, ...): the first at or after each boundary.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=5)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(int(model.optimizer.iterations.numpy()))
    )
    x, y = np.zeros((256, 4), "float32"), np.zeros((256, 1), "float32")
    model.fit(x, y, batch_size=16, epochs=3, callbacks=[record], verbose=0)
    assert 16 in seen and 21 in seen and 20 not in seen, seen
    for boundary in range(1, seen[-1] + 1):
        expected = min(step for step in seen if step >= boundary)
        assert callbacks_module.first_callback_step(boundary, 0, 16, 5) == expected, boundary
    assert callbacks_module.first_callback_step(7, 0, None, 5) is None
    assert callbacks_module.first_callback_step(10, 0, None, 5) == 10
    assert callbacks_module.first_callback_step(7, 0, 16, 1) == 7


@pytest.mark.parametrize("phase1_steps,realigned,warns", [(5, 8, True), (8, 8, False)])
def test_realignment_under_steps_per_execution_warns_where_phase_one_runs_longer(
    phase1_steps, realigned, warns
):
    x, y = data(n=256)
    model, layer = feature_model()
    model.compile(optimizer="adam", loss="mse", steps_per_execution=4)
    callback = tf_learnact.PWLURealignment(phase1_steps=phase1_steps, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=16, epochs=1, callbacks=[callback], verbose=0)
    messages = [str(w.message) for w in caught if "steps_per_execution" in str(w.message)]
    assert messages == (
        [
            f"PWLURealignment: with steps_per_execution=4 Keras calls back every 4 steps, "
            f"so phase I ends at step 8 instead of step {phase1_steps}"
        ]
        if warns
        else []
    )
    assert callback.realigned_at_step == realigned and int(layer.phase.numpy()) == PHASE_REALIGNED


def test_fit_without_callback_trains_from_initial_bounds():
    keras.utils.set_random_seed(0)
    x, y = data(n=256)
    model, layer = feature_model()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert int(layer.phase.numpy()) == 0 and float(layer.running_std.numpy()[0]) == -1.0


@pytest.mark.parametrize("implementation", ["auto", "composite"])
def test_jit_compile_with_realignment(implementation):
    x, y = data()
    model, layer = feature_model()
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    realign = tf_learnact.PWLURealignment(phase1_steps=3, verbose=0)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[realign], verbose=0)
    assert realign.realigned_at_step == 3 and np.all(np.isfinite(layer.heights.numpy()))


def test_keras_and_savedmodel_round_trips_keep_parameters_and_phase(tmp_path):
    x, y = data()
    model, layer = feature_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(
        x,
        y,
        batch_size=16,
        epochs=1,
        callbacks=[tf_learnact.PWLURealignment(phase1_steps=2, verbose=0)],
        verbose=0,
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.layers[0].phase.numpy()) == PHASE_REALIGNED
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    model.export(str(tmp_path / "export"), verbose=False)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", model.predict(x, batch_size=len(x), verbose=0))  # serve sees one batch
    saved = {v.path.split("/")[-1]: v.numpy() for v in layer.weights}
    np.savez(tmp_path / "vars.npz", **saved)
    out = run_fresh_python(f"""
        import numpy as np, tensorflow as tf, tf_learnact
        m = tf.saved_model.load({str(tmp_path / "export")!r})
        y = m.serve(tf.constant(np.load({str(tmp_path / "x.npy")!r}))).numpy()
        want = np.load({str(tmp_path / "vars.npz")!r})
        got = {{v.name.split("/")[-1].split(":")[0]: v.numpy() for v in m.variables}}
        print(np.array_equal(y, np.load({str(tmp_path / "y.npy")!r})),
              sorted(want.files) == sorted(k for k in got if k in want.files),
              all(np.array_equal(got[k], want[k]) for k in want.files))
    """)
    assert out.strip().splitlines()[-1] == "True True True", out


def test_callable_init_round_trips_through_config():
    layer = tf_learnact.PWLU(intervals=4, per_channel=False, init=np.tanh)
    layer.build((None, 3))
    clone = tf_learnact.PWLU.from_config(layer.get_config())
    clone.build((None, 3))
    np.testing.assert_array_equal(clone.heights.numpy(), layer.heights.numpy())


def test_docstring_examples_run():
    for module in (pwlu_module, callbacks_module):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted >= 1 and result.failed == 0, module.__name__


def test_callback_finds_pwlu_in_nested_models():
    x, y = data()
    inner = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4), tf_learnact.PWLU(intervals=4, name="inner")]
    )
    outer_layer = tf_learnact.PWLU(intervals=4, per_channel=False, name="outer")
    model = keras.Sequential([keras.Input((4,)), inner, outer_layer, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    realign = tf_learnact.PWLURealignment(phase1_steps=2, verbose=0)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[realign], verbose=0)
    nested = inner.layers[-1]
    assert int(nested.phase.numpy()) == PHASE_REALIGNED and int(outer_layer.phase.numpy()) == PHASE_REALIGNED
    assert set(tf_learnact.alignment_iou(model, x)) == {"inner", "outer"}
