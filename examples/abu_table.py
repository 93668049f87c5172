"""The ABU paper's Tables 1 and 2 at small scale: identity, tanh, ReLU, ELU and Swish,
their adaptively scaled versions (alpha * f), and ABU with each normalisation, on a
half-width SMCN (4 conv + 2 dense layers, max pooling, dropout), test accuracy mean +- std
over seeds.

    python examples/abu_table.py [--dataset cifar10|mnist|fashion_mnist|digits] [--seeds 5]
                                 [--epochs 15]

Offline the 8x8 scikit-learn digits stand in for CIFAR-10 (printed).
"""

from __future__ import annotations

import common  # first: quiets TensorFlow's C++ logging before it loads
import keras

import tf_learnact

BASIS = ("identity", "tanh", "relu", "elu", "swish")
KERAS_NAMES = {"identity": "linear", "tanh": "tanh", "relu": "relu", "elu": "elu", "swish": "swish"}


def smcn(input_shape, activation, width: int = 32, dense=(192, 96)) -> keras.Model:
    """SMCN (Sütfeld et al. Sec. 4.1) at half width: conv 5x5, 3x3, 1x1, 5x5; max pooling
    (3x3, stride 2) after the 2nd and 4th; dropout 0.5 after the 1st and 3rd conv and the
    first dense layer."""
    act = common.as_factory(activation)
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, kernel in enumerate((5, 3, 1, 5)):
        x = act()(keras.layers.Conv2D(width, kernel, padding="same", kernel_initializer="he_normal")(x))
        if i in (0, 2):
            x = keras.layers.Dropout(0.5)(x)
        if i in (1, 3):
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.5)(act()(keras.layers.Dense(dense[0], kernel_initializer="he_normal")(x)))
    x = act()(keras.layers.Dense(dense[1], kernel_initializer="he_normal")(x))
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def configurations():
    for name in BASIS:
        yield name, KERAS_NAMES[name]
    for name in BASIS:
        yield f"alpha {name}", lambda name=name: tf_learnact.AdaptiveScaling(name)
    for normalization in (None, "nrm", "abs", "pos", "soft"):
        label = "ABU" if normalization is None else f"ABU_{normalization}"
        yield label, lambda n=normalization: tf_learnact.ABU(basis=BASIS, normalization=n)


def main() -> None:
    parser = common.experiment_parser(__doc__, "cifar10", 15)
    args = parser.parse_args()
    name, train_data, test_data = common.load_digits(args.dataset)
    print(f"data: {name}; half-width SMCN, Adam 1e-3; {args.epochs} epochs; {args.seeds} seeds")
    rows = common.accuracy_rows(
        configurations(), smcn, train_data, test_data, args.epochs, args.seeds, learning_rate=1e-3
    )
    common.print_table(
        f"SMCN on {name}, test accuracy (mean +- std over {args.seeds} seeds)",
        ("activation", "accuracy"),
        rows,
    )


if __name__ == "__main__":
    main()
