"""Custom ops on the CPU: op vs composite twin (tf.function) vs twin under XLA vs
tf.nn.relu vs the memory-bandwidth floor, forward and forward+backward, per layer and per
channel, float32 and bfloat16. Prints medians, ratios, and whether each op meets the
targets (forward <= 0.9x XLA and <= 1.3x the copy; forward+backward <= 0.2x XLA and
<= 1.3x the floor of 20 bytes/element at float32, 10 at bfloat16). Each case's functions
and the copy are timed round-robin, so a case's ratios hold under one machine load.

    python benchmarks/bench_ops.py [--family pau|rpau|pwlu|abu|all] [--dtypes float32,bfloat16]
                                   [--elements 16777216] [--repeats 9]

The allocator is set to BFC (TF_CPU_ALLOCATOR_USE_BFC=true) unless the environment says
otherwise: TensorFlow's default CPU allocator page-faults on every large output, which
would swamp every figure alike.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import interleaved_medians_ms  # noqa: E402  (benchmarks/, the script's folder)

import tf_learnact  # noqa: E402
from tf_learnact.coefficients import initial_coefficients  # noqa: E402
from tf_learnact.layers.pwlu import initial_parameters  # noqa: E402

# Every variant is its own tf.function, traced once: TensorFlow's "excessive retracing"
# heuristic counts these as retraces and would interleave warnings with the table.
tf.get_logger().setLevel("ERROR")


def pau_case(channels):
    """(parameters, apply(x, params, implementation)) for PAU (5, 4), leaky-ReLU init."""
    num, den = initial_coefficients("leaky_relu", (5, 4), "B")
    reps = (channels, 1) if channels else (1,)
    params = [tf.constant(np.tile(v, reps).squeeze(), tf.float32) for v in (num, den)]
    return params, lambda x, p, impl: tf_learnact.pau(x, *p, implementation=impl)


def rpau_case(channels):
    """RPAU: the PAU above with the layer's default 1 % coefficient noise (training)."""
    params, _ = pau_case(channels)
    return params, lambda x, p, impl: tf_learnact.pau(x, *p, noise=0.01, seed=7, implementation=impl)


def pwlu_case(channels):
    """PWLU with 16 intervals on [-3, 3], ReLU init."""
    init = initial_parameters("relu", 16, (-3.0, 3.0))
    lead = (channels,) if channels else ()
    params = [
        tf.constant(np.broadcast_to(init[n], lead + np.shape(init[n])), tf.float32)
        for n in ("left_bound", "right_bound", "heights", "left_slope", "right_slope")
    ]
    return params, lambda x, p, impl: tf_learnact.pwlu(x, *p, implementation=impl)


def abu_case(channels):
    """ABU over the paper's basis (tanh, elu, relu, identity, swish), weights 1/5."""
    lead = (channels,) if channels else ()
    params = [tf.fill(lead + (5,), 0.2), tf.ones(lead)]
    basis = ("tanh", "elu", "relu", "identity", "swish")
    return params, lambda x, p, impl: tf_learnact.abu(x, *p, basis=basis, implementation=impl)


FAMILIES = {"pau": pau_case, "rpau": rpau_case, "pwlu": pwlu_case, "abu": abu_case}


def first_element(t: tf.Tensor):
    """Blocks until t is computed, fetching one element (a reshape is free)."""
    return tf.reshape(t, [-1])[:1].numpy()


# (name, implementation, jit_compile) of each timed variant of a case.
IMPLEMENTATIONS = [("op", "op", False), ("twin", "composite", False), ("xla", "composite", True)]

# Targets per pass: (max op/XLA, max op/floor).
TARGETS = {"fwd": (0.9, 1.3), "fwd+bwd": (0.2, 1.3)}


def make_fns(apply, implementation, jit, x, params, dy):
    def forward():
        return apply(x, params, implementation)

    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([x, *params])
            y = apply(x, params, implementation)
        # y is returned too, as a training step needs it for the loss: the backward op
        # does not read y, so a function returning only the gradients would have its
        # forward pruned and time the backward alone.
        return y, tape.gradient(y, [x, *params], output_gradients=dy)

    def fetch_forward_backward(fn):
        y, grads = fn()
        first_element(y)
        first_element(grads[0])

    fwd = tf.function(forward, jit_compile=jit)
    bwd = tf.function(forward_backward, jit_compile=jit)
    return (lambda: first_element(fwd())), (lambda: fetch_forward_backward(bwd))


def relu_apply(x, params, implementation):
    return tf.nn.relu(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 24)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--channels", type=int, default=64, help="per-channel case, channels-last")
    parser.add_argument("--family", choices=[*FAMILIES, "all"], default="all")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma-separated input dtypes")
    args = parser.parse_args()

    print(
        f"TF {tf.__version__}, ops live: {tf_learnact.ops_available()}, "
        f"TF_CPU_ALLOCATOR_USE_BFC={os.environ['TF_CPU_ALLOCATOR_USE_BFC']}, "
        f"{args.elements} elements, {os.cpu_count()} cores, median of {args.repeats}"
    )
    header = (
        f"{'case':30s} {'dtype':8s} {'pass':8s} {'op ms':>8s} {'twin ms':>8s} {'XLA ms':>8s} {'relu ms':>8s} "
        f"{'copy ms':>8s} "
        f"{'op/twin':>8s} {'op/XLA':>7s} {'op/floor':>8s} {'target':>7s}"
    )
    families = list(FAMILIES) if args.family == "all" else [args.family]
    rows = args.elements // args.channels
    for dtype_name in args.dtypes.split(","):
        dtype = tf.as_dtype(dtype_name)
        x = tf.cast(tf.random.stateless_normal((rows, args.channels), (1, 2)), dtype)
        dy = tf.cast(tf.random.stateless_normal((rows, args.channels), (3, 4)), dtype)
        copy = tf.function(lambda x=x: x * 2)  # a real copy: x * 1 and Copy are elided
        nbytes = dtype.size
        print(
            f"\n{dtype_name}: memory copy x*2 ({2 * nbytes} B/elem), timed beside each case; "
            f"floor: the copy (fwd), 5/2 of it (fwd+bwd, {5 * nbytes} B/elem)"
        )
        print(header)
        print("-" * len(header))
        relu_fwd, relu_fb = make_fns(relu_apply, "composite", False, x, [], dy)  # traced once
        for family in families:
            for label, channels in [("per-layer", None), (f"per-channel (C={args.channels})", args.channels)]:
                params, apply = FAMILIES[family](channels)
                fns = {
                    "copy": lambda copy=copy: first_element(copy()),
                    "relu fwd": relu_fwd,
                    "relu fwd+bwd": relu_fb,
                }
                for name, impl, jit in IMPLEMENTATIONS:
                    fns[f"{name} fwd"], fns[f"{name} fwd+bwd"] = make_fns(apply, impl, jit, x, params, dy)
                ms = interleaved_medians_ms(fns, args.repeats)
                copy_ms = ms["copy"]
                floors = {"fwd": copy_ms, "fwd+bwd": copy_ms * 5 / 2}  # bytes/element: 2 vs 5 tensor passes
                for pass_name in ("fwd", "fwd+bwd"):
                    op, twin, xla, relu = (ms[f"{n} {pass_name}"] for n in ("op", "twin", "xla", "relu"))
                    max_xla, max_floor = TARGETS[pass_name]
                    met = op / xla <= max_xla and op / floors[pass_name] <= max_floor
                    case = f"{family.upper()} {label}"
                    print(
                        f"{case:30s} {dtype_name:8s} {pass_name:8s} {op:8.2f} {twin:8.2f} "
                        f"{xla:8.2f} {relu:8.2f} {copy_ms:8.2f} {op / twin:8.3f} {op / xla:7.3f} "
                        f"{op / floors[pass_name]:8.2f} {'met' if met else 'MISSED':>7s}"
                    )


if __name__ == "__main__":
    main()
