"""What the example scripts share: digit data (downloaded when reachable, shipped
offline), the small networks of the papers' experiments, training, and tables of
mean +- std over seeds."""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

DATASETS = ("mnist", "fashion_mnist", "cifar10", "digits")


def load_digits(dataset: str = "mnist") -> tuple[str, tuple, tuple]:
    """(name, (x_train, y_train), (x_test, y_test)), images float32 NHWC in [0, 1].

    "mnist", "fashion_mnist" and "cifar10" come from keras.datasets when they can be
    downloaded (or are cached); otherwise, and for "digits", the 8x8 digits scikit-learn
    ships are used.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if dataset != "digits":
        socket.setdefaulttimeout(10)  # an offline machine fails fast instead of hanging
        try:
            (x_tr, y_tr), (x_te, y_te) = getattr(keras.datasets, dataset).load_data()
            x_tr, x_te = (x if x.ndim == 4 else x[..., None] for x in (x_tr, x_te))
            y_tr, y_te = (np.reshape(y, -1) for y in (y_tr, y_te))
            train, test = (x_tr.astype("float32") / 255.0, y_tr), (x_te.astype("float32") / 255.0, y_te)
            return f"{dataset} (keras.datasets.{dataset})", train, test
        except Exception as err:  # noqa: BLE001 - any download failure selects the fallback
            print(f"{dataset} unavailable ({type(err).__name__}); using scikit-learn's 8x8 digits")
    from sklearn.datasets import load_digits as sk_digits  # noqa: PLC0415

    digits = sk_digits()
    x = digits.images[..., None] / 16.0
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], digits.target[order]
    split = int(0.8 * len(x))
    name = "scikit-learn digits (8x8, 1437 train / 360 test)"
    return name, (x[:split].astype("float32"), y[:split]), (x[split:].astype("float32"), y[split:])


def experiment_parser(doc: str, dataset: str, epochs: int) -> argparse.ArgumentParser:
    """The options every experiment script shares: --dataset, --seeds, --epochs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default=dataset)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=epochs)
    return parser


def as_factory(activation):
    """A zero-argument layer factory from a Keras activation name or a factory."""
    return activation if callable(activation) else (lambda: keras.layers.Activation(activation))


def lenet(input_shape, activation) -> keras.Model:
    """LeNet-5 layout (conv 6, conv 16, dense 120, 84), 'same' padding so small images fit."""
    act = as_factory(activation)
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(6, 5, padding="same")(inputs)
    x = keras.layers.MaxPooling2D()(act()(x))
    x = keras.layers.Conv2D(16, 5, padding="same")(x)
    x = keras.layers.MaxPooling2D()(act()(x))
    x = keras.layers.Flatten()(x)
    x = act()(keras.layers.Dense(120)(x))
    x = act()(keras.layers.Dense(84)(x))
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(x))


def train(model, train_data, test_data, epochs: int, callbacks=(), learning_rate: float = 2e-3):
    """Adam, batch 64; returns (test accuracy, training seconds)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(*train_data, epochs=epochs, batch_size=64, verbose=0, callbacks=list(callbacks))
    seconds = time.perf_counter() - start
    return model.evaluate(*test_data, verbose=0)[1], seconds


def accuracy_rows(configurations, build_model, train_data, test_data, epochs: int, seeds: int, **train_kw):
    """[(label, "mean +- std")] of the test accuracy over `seeds` runs of each
    (label, activation) in `configurations`, printing each row as it completes."""
    rows = []
    for label, activation in configurations:
        accuracies = []
        for seed in range(seeds):
            keras.utils.set_random_seed(seed)
            model = build_model(train_data[0].shape[1:], activation)
            accuracies.append(train(model, train_data, test_data, epochs, **train_kw)[0])
        rows.append((label, mean_std(accuracies)))
        print(f"{label:14s} {rows[-1][1]}", flush=True)
    return rows


def mean_std(values) -> str:
    values = list(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {std:.4f}"


def print_table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    """A Markdown table (pasted into the README as printed)."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
