"""The PAU paper's Table 2 at small scale: LeNet with ReLU, leaky ReLU, Swish, PReLU, PAU
and RPAU on digits, test accuracy mean +- std over seeds.

    python examples/pau_table2.py [--dataset mnist|fashion_mnist|digits] [--seeds 5] [--epochs 20]

Offline the 8x8 scikit-learn digits stand in for MNIST (printed).
"""

from __future__ import annotations

import argparse

import common  # first: quiets TensorFlow's C++ logging before it loads
import keras

import tf_learnact


class ChannelPReLU(keras.layers.PReLU):
    """PReLU with one slope per channel (shared over space), as in the paper's baseline."""

    def build(self, input_shape):
        self.shared_axes = list(range(1, len(input_shape) - 1)) or None
        super().build(input_shape)


ACTIVATIONS = {
    "ReLU": "relu",
    "LReLU (0.01)": lambda: keras.layers.LeakyReLU(negative_slope=0.01),
    "Swish": "swish",
    "PReLU": ChannelPReLU,
    "PAU": tf_learnact.PAU,
    "RPAU": tf_learnact.RPAU,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=common.DATASETS, default="mnist")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    name, train_data, test_data = common.load_digits(args.dataset)
    print(f"data: {name}; LeNet; {args.epochs} epochs; {args.seeds} seeds")
    rows = []
    for label, activation in ACTIVATIONS.items():
        accuracies = []
        for seed in range(args.seeds):
            keras.utils.set_random_seed(seed)
            accuracy, _ = common.train(
                common.lenet(train_data[0].shape[1:], activation), train_data, test_data, args.epochs
            )
            accuracies.append(accuracy)
        rows.append((label, common.mean_std(accuracies)))
        print(f"{label:14s} {rows[-1][1]}", flush=True)
    common.print_table(
        f"LeNet on {name}, test accuracy (mean +- std over {args.seeds} seeds)",
        ("activation", "accuracy"),
        rows,
    )


if __name__ == "__main__":
    main()
