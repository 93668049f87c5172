"""SavedModel export with ops and portable, in fresh processes: exact coefficients, serving,
gradients, saved_model_cli, TFLite, ONNX, TF Serving layout, and the missing-library error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_ops, run_fresh, run_fresh_python

import tf_learnact
from tf_learnact.export import custom_op_types
from tf_learnact.ops.library import gpu_kernels_available

# Portable exports run the twins (and TFLite/ONNX their own kernels): float32 rounding
# differs from the fused ops by a few ulp of the activations, far below this.
PORTABLE_ATOL = 1e-5


def reference_outputs(model, x):
    # A Keras model's output bits depend on the batch size (Dense GEMM): one batch, as serve.
    return model.predict(x, batch_size=len(x), verbose=0)


def exported(model, tmp_path, portable, version=None):
    return tf_learnact.export_saved_model(model, tmp_path / "served", portable=portable, version=version)


@pytest.mark.parametrize("portable", [False, True], ids=["ops", "portable"])
def test_every_variable_is_kept_bit_for_bit(mixed_model, tmp_path, portable):
    model, _, _ = mixed_model
    loaded = tf.saved_model.load(str(exported(model, tmp_path, portable)))
    saved = {v.name.removesuffix(":0"): v.numpy() for v in loaded.variables}
    assert set(saved) == {w.path for w in model.weights}
    for weight in model.weights:
        original = np.asarray(weight.numpy())
        assert saved[weight.path].dtype == original.dtype
        assert saved[weight.path].tobytes() == original.tobytes(), weight.path


@requires_ops
def test_export_with_ops_serves_identically_and_differentiates_in_a_fresh_process(mixed_model, tmp_path):
    model, x, _ = mixed_model
    target = exported(model, tmp_path, portable=False)
    # PWLU's table is built by its own op on the CPU (by stock ops where GPU kernels run).
    pwlu_ops = {"TfLearnact>Pwlu"} | (set() if gpu_kernels_available() else {"TfLearnact>PwluTable"})
    assert custom_op_types(target) == {"TfLearnact>Pau", "TfLearnact>Abu"} | pwlu_ops
    np.save(tmp_path / "x.npy", x)
    out = run_fresh_python(f"""
        import numpy as np, tensorflow as tf, tf_learnact
        loaded = tf.saved_model.load({str(target)!r})
        x = tf.constant(np.load({str(tmp_path / "x.npy")!r}))
        y = loaded.signatures["serving_default"](image=x)["output_0"]
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(loaded.serve(x) ** 2)
        dx, *dvars = tape.gradient(loss, [x, *loaded.trainable_variables])
        np.save({str(tmp_path / "y.npy")!r}, y.numpy())
        np.save({str(tmp_path / "dx.npy")!r}, dx.numpy())
        print(all(g is not None and bool(tf.reduce_all(tf.math.is_finite(g))) for g in dvars), len(dvars))
    """)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), reference_outputs(model, x))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(model(xt, training=False) ** 2)
    expected_dx = tape.gradient(loss, xt).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "dx.npy"), expected_dx, rtol=1e-5, atol=1e-7)
    assert out.split() == ["True", str(len(model.trainable_weights))]


@requires_ops
def test_export_with_pwlu_table_of_stock_ops_loads_and_serves(mixed_model, tmp_path, monkeypatch):
    # The graph a machine with GPU kernels exports (and versions before the table op):
    # the table from stock ops, then TfLearnact>Pwlu. It must keep loading and serving.
    model, x, _ = mixed_model
    monkeypatch.setattr("tf_learnact.ops.pwlu.gpu_kernels_available", lambda: True)
    target = exported(model, tmp_path, portable=False)
    assert custom_op_types(target) == {"TfLearnact>Pau", "TfLearnact>Pwlu", "TfLearnact>Abu"}
    np.save(tmp_path / "x.npy", x)
    run_fresh_python(f"""
        import numpy as np, tensorflow as tf, tf_learnact
        loaded = tf.saved_model.load({str(target)!r})
        y = loaded.signatures["serving_default"](image=tf.constant(np.load({str(tmp_path / "x.npy")!r})))
        np.save({str(tmp_path / "y.npy")!r}, y["output_0"].numpy())
    """)
    # Graph optimisation may round the stock ops' table differently in the last bit.
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), reference_outputs(model, x), rtol=1e-5, atol=1e-6)


@requires_ops
def test_export_with_ops_serves_concurrent_requests_exactly(mixed_model, tmp_path):
    # A server runs requests side by side: the same ops in several threads at once, each
    # request's output the bits it gets alone.
    model, _, _ = mixed_model
    target = exported(model, tmp_path, portable=False)
    out = run_fresh_python(f"""
        import concurrent.futures, numpy as np, tensorflow as tf, tf_learnact
        loaded = tf.saved_model.load({str(target)!r})  # kept: serve reads its variables
        serve = loaded.serve
        rng = np.random.default_rng(1)
        requests = [tf.constant(rng.normal(size=(n, 8, 8, 3)).astype("float32")) for n in (1, 7, 64, 256) * 4]
        alone = [serve(x).numpy() for x in requests]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for _ in range(5):
                together = list(pool.map(lambda x: serve(x).numpy(), requests))
                assert all(np.array_equal(a, b) for a, b in zip(alone, together))
        print("same", len(requests))
    """)
    assert out.split() == ["same", "16"], out


@requires_ops
def test_tf_saved_model_save_round_trip_in_a_fresh_process(mixed_model, tmp_path):
    model, x, _ = mixed_model
    tf.saved_model.save(model, str(tmp_path / "sm"))
    np.save(tmp_path / "x.npy", x)
    run_fresh_python(f"""
        import numpy as np, tensorflow as tf, tf_learnact
        loaded = tf.saved_model.load({str(tmp_path / "sm")!r})
        y = loaded.signatures["serving_default"](inputs=tf.constant(np.load({str(tmp_path / "x.npy")!r})))
        np.save({str(tmp_path / "y.npy")!r}, y["output_0"].numpy())
    """)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), reference_outputs(model, x))


def test_portable_export_loads_where_tf_learnact_is_never_imported(mixed_model, tmp_path):
    model, x, _ = mixed_model
    target = exported(model, tmp_path, portable=True)
    assert custom_op_types(target) == set()
    np.save(tmp_path / "x.npy", x)
    out = run_fresh_python(f"""
        import sys, numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(target)!r})
        y = loaded.serve(tf.constant(np.load({str(tmp_path / "x.npy")!r})))
        np.save({str(tmp_path / "y.npy")!r}, y.numpy())
        print("tf_learnact" in sys.modules)
    """)
    assert out.strip() == "False"
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), reference_outputs(model, x), atol=PORTABLE_ATOL)


def test_portable_export_runs_under_saved_model_cli(mixed_model, tmp_path):
    model, x, _ = mixed_model
    target = exported(model, tmp_path, portable=True)
    np.save(tmp_path / "x.npy", x)
    cli = "from tensorflow.python.tools.saved_model_cli import main; main()"
    args = ["run", "--dir", str(target), "--tag_set", "serve", "--signature_def", "serving_default"]
    args += ["--inputs", f"image={tmp_path / 'x.npy'}", "--outdir", str(tmp_path / "cli_out")]
    proc = run_fresh(["-c", cli, *args])
    assert proc.returncode == 0, proc.stderr[-3000:]
    y = np.load(tmp_path / "cli_out" / "output_0.npy")
    np.testing.assert_allclose(y, reference_outputs(model, x), atol=PORTABLE_ATOL)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_portable_export_converts_to_tflite(mixed_model, tmp_path):
    model, x, _ = mixed_model
    target = exported(model, tmp_path, portable=True)
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(target)).convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    runner = interpreter.get_signature_runner("serving_default")
    y = runner(image=x)["output_0"]
    np.testing.assert_allclose(y, reference_outputs(model, x), atol=PORTABLE_ATOL)


def test_onnx_export_matches(mixed_model, tmp_path):
    import keras  # noqa: PLC0415
    import onnxruntime  # noqa: PLC0415  (the [test] extra installs it, with tf2onnx)

    model, x, path = mixed_model
    reloaded = keras.saving.load_model(path)  # never called: export_onnx calls it once
    onnx_path = tf_learnact.export_onnx(reloaded, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(onnx_path))
    (y,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(y, reference_outputs(model, x), atol=PORTABLE_ATOL)


def test_tf_serving_version_layout(mixed_model, tmp_path):
    model, _, _ = mixed_model
    assert exported(model, tmp_path, portable=True).relative_to(tmp_path).as_posix() == "served/1"
    assert exported(model, tmp_path, portable=True, version=3).name == "3"
    assert (tmp_path / "served" / "3" / "saved_model.pb").is_file()
    with pytest.raises(ValueError, match="already exists"):
        exported(model, tmp_path, portable=True, version=3)
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="version"):
            exported(model, tmp_path, portable=True, version=bad)


def test_bad_export_arguments(tmp_path):
    import keras  # noqa: PLC0415

    with pytest.raises(ValueError, match="built"):
        tf_learnact.export_saved_model(keras.Sequential([tf_learnact.PAU()]), tmp_path / "m")
    with pytest.raises(ValueError, match="path"):
        tf_learnact.load_saved_model(tmp_path)
    with pytest.raises(ValueError, match=".onnx"):
        tf_learnact.export_onnx(keras.Sequential([tf_learnact.PAU()]), tmp_path / "m.txt")


@requires_ops
def test_loading_an_export_with_ops_without_the_library_says_what_to_do(mixed_model, tmp_path):
    model, _, _ = mixed_model
    with_ops = exported(model, tmp_path, portable=False)
    portable = exported(model, tmp_path, portable=True, version=2)
    out = run_fresh_python(
        f"""
        import json, warnings
        warnings.simplefilter("ignore")
        import tf_learnact
        try:
            tf_learnact.load_saved_model({str(with_ops)!r})
            message = None
        except RuntimeError as err:
            message = str(err)
        tf_learnact.load_saved_model({str(portable)!r})  # the portable one still loads
        print(json.dumps(message))
        """,
        env_extra={"TF_LEARNACT_DISABLE_OPS": "1"},
    )
    message = json.loads(out.strip().splitlines()[-1])
    assert message is not None and "import tf_learnact" in message and "portable=True" in message
    assert "TfLearnact>Pau" in message
