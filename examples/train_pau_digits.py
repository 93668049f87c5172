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
import pathlib
import subprocess
import sys
import tempfile
import textwrap

import common  # first: quiets TensorFlow's C++ logging before it loads
import keras
import numpy as np

import tf_learnact

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

    name, train_data, test_data = common.load_digits()
    epochs = args.epochs or (3 if name.startswith("MNIST") else 40)
    print(f"data: {name}; {epochs} epochs; custom ops live: {tf_learnact.ops_available()}")

    results = {}
    for label, activation in [("ReLU", "relu"), ("PAU", lambda: tf_learnact.PAU())]:
        keras.utils.set_random_seed(0)
        model = common.lenet(train_data[0].shape[1:], activation)
        results[label] = (model, *common.train(model, train_data, test_data, epochs))
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
