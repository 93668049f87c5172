"""Trains a LeNet-style CNN with PAU activations on handwritten digits, compares it with
the same network using ReLU, plots the learned activations, exports the PAU model as a
SavedModel (with the fused ops, and portable: stock TensorFlow only) and serves both from
fresh processes.

Data: keras.datasets.mnist when it can be downloaded (or is cached), otherwise the 8x8
digits that scikit-learn ships; the choice is printed.

    python examples/train_pau_digits.py [--epochs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tf_learnact  # noqa: E402


def load_digits() -> tuple[str, tuple, tuple]:
    """(name, (x_train, y_train), (x_test, y_test)), images as float32 NHWC in [0, 1]."""
    socket.setdefaulttimeout(10)  # an offline machine fails fast instead of hanging
    try:
        (x_tr, y_tr), (x_te, y_te) = keras.datasets.mnist.load_data()
        name = "MNIST (keras.datasets.mnist)"
        x_tr, x_te = x_tr[..., None] / 255.0, x_te[..., None] / 255.0
    except Exception as err:  # noqa: BLE001 - any download failure selects the fallback
        from sklearn.datasets import load_digits as sk_digits

        print(f"MNIST unavailable ({type(err).__name__}); using scikit-learn's 8x8 digits")
        digits = sk_digits()
        x = digits.images[..., None] / 16.0
        rng = np.random.default_rng(0)
        order = rng.permutation(len(x))
        x, y = x[order], digits.target[order]
        split = int(0.8 * len(x))
        (x_tr, y_tr), (x_te, y_te) = (x[:split], y[:split]), (x[split:], y[split:])
        name = "scikit-learn digits (8x8, 1437 train / 360 test)"
    return name, (x_tr.astype("float32"), y_tr), (x_te.astype("float32"), y_te)


def lenet(input_shape, activation) -> keras.Model:
    """LeNet-5 layout (conv 6, conv 16, dense 120, 84), 'same' padding so small images fit."""
    act = activation if callable(activation) else (lambda: keras.layers.Activation(activation))
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(6, 5, padding="same")(inputs)
    x = keras.layers.MaxPooling2D()(act()(x))
    x = keras.layers.Conv2D(16, 5, padding="same")(x)
    x = keras.layers.MaxPooling2D()(act()(x))
    x = keras.layers.Flatten()(x)
    x = act()(keras.layers.Dense(120)(x))
    x = act()(keras.layers.Dense(84)(x))
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(x))


def train(model, train_data, test_data, epochs) -> tuple[float, float]:
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(*train_data, epochs=epochs, batch_size=64, verbose=0)
    seconds = time.perf_counter() - start
    return model.evaluate(*test_data, verbose=0)[1], seconds


SERVE_CODE = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
import tf_learnact  # registers the custom ops the SavedModel uses
served = tf_learnact.load_saved_model({export_dir!r})
images = np.load({images!r})
logits = served.serve(tf.constant(images)).numpy()
print("fresh process predicts", logits.argmax(-1).tolist())
print("bit-identical to the trained model:", bool(np.array_equal(logits, np.load({expected!r}))))
"""

SERVE_PORTABLE_CODE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf  # no tf_learnact: the portable export needs none
served = tf.saved_model.load({export_dir!r})
logits = served.serve(tf.constant(np.load({images!r}))).numpy()
print("portable export, tf_learnact imported:", "tf_learnact" in sys.modules,
      "max |difference|:", float(np.max(np.abs(logits - np.load({expected!r})))))
"""


def run_fresh(code: str, cwd: pathlib.Path) -> bool:
    """Runs `code` in a fresh interpreter, prints its output, says whether it succeeded."""
    # Started in the export folder: `python -c` puts its working directory first on
    # sys.path, and a source checkout there would shadow the installed package.
    command = [sys.executable, "-c", textwrap.dedent(code)]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    print(proc.stdout.strip())
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
    return proc.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: 3 on MNIST, 40 on 8x8 digits")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="export directory (default: temp)")
    args = parser.parse_args()

    name, train_data, test_data = load_digits()
    epochs = args.epochs or (3 if name.startswith("MNIST") else 40)
    print(f"data: {name}; {epochs} epochs; custom ops live: {tf_learnact.ops_available()}")

    results = {}
    for label, activation in [("ReLU", "relu"), ("PAU", lambda: tf_learnact.PAU())]:
        keras.utils.set_random_seed(0)
        model = lenet(train_data[0].shape[1:], activation)
        results[label] = (model, *train(model, train_data, test_data, epochs))
        print(f"{label:5s} test accuracy {results[label][1]:.4f}  ({results[label][2]:.1f} s training)")

    pau_model = results["PAU"][0]
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="tf_learnact_example_"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        tf_learnact.plot_activations(pau_model, out / "activations.png", data=test_data[0][:256])
        print(f"learned activations plotted to {out / 'activations.png'}")
    except ImportError as err:  # matplotlib is optional
        print(f"no plot: {err}")
    export_dir = tf_learnact.export_saved_model(pau_model, out / "pau_lenet")
    portable_dir = tf_learnact.export_saved_model(pau_model, out / "pau_lenet_portable", portable=True)
    images = test_data[0][:8]
    np.save(out / "images.npy", images)
    np.save(out / "expected.npy", pau_model.predict(images, batch_size=len(images), verbose=0))
    print(
        f"exported SavedModels to {export_dir} and {portable_dir}; "
        f"labels of the first 8 test images: {test_data[1][:8].tolist()}"
    )
    files = {"images": str(out / "images.npy"), "expected": str(out / "expected.npy")}
    ok = run_fresh(SERVE_CODE.format(export_dir=str(export_dir), **files), out)
    ok = run_fresh(SERVE_PORTABLE_CODE.format(export_dir=str(portable_dir), **files), out) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
