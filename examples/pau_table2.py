"""The PAU paper's Table 2 at small scale: LeNet with ReLU, leaky ReLU, Swish, PReLU, PAU
and RPAU on digits, test accuracy mean +- std over seeds.

    python examples/pau_table2.py [--dataset mnist|fashion_mnist|digits] [--seeds 5] [--epochs 20]

Offline the 8x8 scikit-learn digits stand in for MNIST (printed).
"""

from __future__ import annotations

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
    parser = common.experiment_parser(__doc__, "mnist", 20)
    args = parser.parse_args()
    name, train_data, test_data = common.load_digits(args.dataset)
    print(f"data: {name}; LeNet; {args.epochs} epochs; {args.seeds} seeds")
    rows = common.accuracy_rows(
        ACTIVATIONS.items(), common.lenet, train_data, test_data, args.epochs, args.seeds
    )
    common.print_table(
        f"LeNet on {name}, test accuracy (mean +- std over {args.seeds} seeds)",
        ("activation", "accuracy"),
        rows,
    )


if __name__ == "__main__":
    main()
