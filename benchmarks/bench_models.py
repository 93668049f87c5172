"""Training-step and inference time of one small ResNet-style CNN (32x32x3 inputs, batch
64, widths 16/32/64, 7 activation layers) with ReLU, PAU, RPAU, PWLU and ABU, each the
median of calls timed round-robin across the models in one process, with the ratio to
ReLU. Targets on CPU: training step <= 1.3x ReLU and inference <= 1.15x ReLU for PAU and
PWLU.

    python benchmarks/bench_models.py [--rounds 50] [--batch 64]

Keras runs these models without XLA on a CPU-only machine (jit_compile="auto" resolves to
False there), so the layers run their fused ops. Data are synthetic (timing does not
depend on them). The allocator is BFC unless the environment says otherwise.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import interleaved_medians_ms  # noqa: E402  (benchmarks/, the script's folder)

import tf_learnact  # noqa: E402

tf.get_logger().setLevel("ERROR")  # one inference function per model is traced on purpose

ACTIVATIONS = {
    "ReLU": keras.layers.ReLU,
    "PAU": tf_learnact.PAU,
    "RPAU": tf_learnact.RPAU,
    "PWLU": tf_learnact.PWLU,  # channel-wise, the paper's default
    "ABU": tf_learnact.ABU,
}
# Maximum ratio to ReLU (training step, inference) where the issue sets one.
TARGETS = {"PAU": (1.3, 1.15), "PWLU": (1.3, 1.15)}


def resnet(activation, widths=(16, 32, 64), classes: int = 10) -> keras.Model:
    """Stem, then one basic residual block per width (stride 2 after the first)."""
    inputs = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(widths[0], 3, padding="same", use_bias=False)(inputs)
    h = activation()(keras.layers.BatchNormalization()(h))
    for i, width in enumerate(widths):
        stride = 1 if i == 0 else 2
        y = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(h)
        y = activation()(keras.layers.BatchNormalization()(y))
        y = keras.layers.BatchNormalization()(
            keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(y)
        )
        if stride != 1 or h.shape[-1] != width:
            h = keras.layers.Conv2D(width, 1, strides=stride, use_bias=False)(h)
        h = activation()(keras.layers.Add()([h, y]))
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(classes)(h))


def build_model(name: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = resnet(ACTIVATIONS[name])
    model.compile(
        keras.optimizers.SGD(0.01, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def time_models(batch: int, rounds: int) -> dict:
    """{name: (median training ms/step, median inference ms/batch)}."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=(batch,))
    xt = tf.constant(x)
    models = {name: build_model(name) for name in ACTIVATIONS}
    # train_on_batch runs the compiled train step directly: fit's epoch machinery adds a
    # fixed per-call cost that would blur the comparison.
    train_calls = {name: (lambda m=m: m.train_on_batch(x, y)) for name, m in models.items()}
    infer_fns = {name: tf.function(lambda t, m=m: m(t, training=False)) for name, m in models.items()}
    infer_calls = {name: (lambda f=f: f(xt).numpy()) for name, f in infer_fns.items()}
    train = interleaved_medians_ms(train_calls, rounds)
    infer = interleaved_medians_ms(infer_calls, rounds)
    return {name: (train[name], infer[name]) for name in ACTIVATIONS}


def verdict_word(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=50, help="timed calls of each model")
    args = parser.parse_args()
    print(
        f"TF {tf.__version__}, ops live: {tf_learnact.ops_available()}, "
        f"TF_CPU_ALLOCATOR_USE_BFC={os.environ['TF_CPU_ALLOCATOR_USE_BFC']}, {os.cpu_count()} cores; "
        f"ResNet-style CNN 32x32x3, batch {args.batch}"
    )
    header = (
        f"{'activation':10s} {'train ms/step':>13s} {'x ReLU':>7s} {'infer ms':>9s} {'x ReLU':>7s}  target"
    )
    print(header)
    print("-" * len(header))
    times = time_models(args.batch, args.rounds)
    relu_train, relu_infer = times["ReLU"]
    for name, (train_ms, infer_ms) in times.items():
        rt, ri = train_ms / relu_train, infer_ms / relu_infer
        verdict = ""
        if name in TARGETS:
            max_train, max_infer = TARGETS[name]
            verdict = f"train {verdict_word(rt <= max_train)}, infer {verdict_word(ri <= max_infer)}"
        print(f"{name:10s} {train_ms:13.1f} {rt:7.2f} {infer_ms:9.2f} {ri:7.2f}  {verdict}")


if __name__ == "__main__":
    main()
