"""The PWLU paper's Table 5 / Fig. 6 at small scale: fix-init bounds vs statistic-based
realignment, layer-wise vs channel-wise, on a LeNet: test accuracy and the Eq. 7 IOU of
each unit's bounds with its inputs' [p5, p95], mean +- std over seeds.

    python examples/pwlu_realignment.py [--dataset mnist|fashion_mnist|digits] [--seeds 5]
                                        [--epochs 20] [--phase1-epochs 2] [--fix 10]

Offline the 8x8 scikit-learn digits stand in for MNIST (printed).
"""

from __future__ import annotations

import common  # first: quiets TensorFlow's C++ logging before it loads
import keras
import numpy as np

import tf_learnact


def run(train_data, test_data, per_channel: bool, realign: bool, args, seed: int):
    """(test accuracy, mean IOU over every PWLU unit) of one training run."""
    keras.utils.set_random_seed(seed)
    bounds = (-3.0, 3.0) if realign else (-args.fix, args.fix)  # realignment replaces them
    model = common.lenet(
        train_data[0].shape[1:], lambda: tf_learnact.PWLU(bounds=bounds, per_channel=per_channel)
    )
    callbacks = [tf_learnact.PWLURealignment(phase1_epochs=args.phase1_epochs, verbose=0)] if realign else []
    accuracy, _ = common.train(model, train_data, test_data, args.epochs, callbacks)
    ious = tf_learnact.alignment_iou(model, test_data[0])
    return accuracy, float(np.mean(np.concatenate(list(ious.values()))))


def main() -> None:
    parser = common.experiment_parser(__doc__, "mnist", 20)
    parser.add_argument("--phase1-epochs", type=int, default=2)
    parser.add_argument("--fix", type=float, default=10.0, help="fix-init bounds [-x, x]")
    args = parser.parse_args()
    name, train_data, test_data = common.load_digits(args.dataset)
    print(f"data: {name}; LeNet with PWLU (N=16); {args.epochs} epochs; {args.seeds} seeds")
    rows = []
    for per_channel in (False, True):
        for realign in (False, True):
            results = [run(train_data, test_data, per_channel, realign, args, s) for s in range(args.seeds)]
            label = (
                f"{'channel' if per_channel else 'layer'}-wise, "
                f"{'stat-realign' if realign else f'fix-init-{args.fix:g}'}"
            )
            rows.append(
                (label, common.mean_std(r[0] for r in results), common.mean_std(r[1] for r in results))
            )
            print(" | ".join(rows[-1]), flush=True)
    common.print_table(
        f"PWLU on {name}: test accuracy and mean IOU (mean +- std over {args.seeds} seeds)",
        ("PWLU", "accuracy", "IOU"),
        rows,
    )


if __name__ == "__main__":
    main()
