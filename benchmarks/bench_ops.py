"""Custom ops on the CPU: op vs composite twin (tf.function) vs twin under XLA vs the
memory-bandwidth floor, forward and forward+backward, per layer and per channel.
Prints medians and ratios.

    python benchmarks/bench_ops.py [--family pau|pwlu|abu|all] [--elements 16777216] [--repeats 15]

The allocator is set to BFC (TF_CPU_ALLOCATOR_USE_BFC=true) unless the environment says
otherwise: TensorFlow's default CPU allocator page-faults on every large output, which
would swamp every figure alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tf_learnact  # noqa: E402
from tf_learnact.coefficients import initial_coefficients  # noqa: E402
from tf_learnact.layers.pwlu import initial_parameters  # noqa: E402


def pau_case(channels):
    """(parameters, apply(x, params, implementation)) for PAU (5, 4), leaky-ReLU init."""
    num, den = initial_coefficients("leaky_relu", (5, 4), "B")
    reps = (channels, 1) if channels else (1,)
    params = [tf.constant(np.tile(v, reps).squeeze(), tf.float32) for v in (num, den)]
    return params, lambda x, p, impl: tf_learnact.pau(x, *p, implementation=impl)


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


FAMILIES = {"pau": pau_case, "pwlu": pwlu_case, "abu": abu_case}


def first_element(t: tf.Tensor):
    """Blocks until t is computed, fetching one element (a reshape is free)."""
    return tf.reshape(t, [-1])[:1].numpy()


def median_ms(fn, repeats: int) -> float:
    fn()  # trace / compile / warm up
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def make_fns(apply, implementation, jit, x, params, dy):
    def forward():
        return apply(x, params, implementation)

    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([x, *params])
            y = apply(x, params, implementation)
        return tape.gradient(y, [x, *params], output_gradients=dy)

    fwd = tf.function(forward, jit_compile=jit)
    bwd = tf.function(forward_backward, jit_compile=jit)
    return (lambda: first_element(fwd())), (lambda: first_element(bwd()[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1 << 24)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--channels", type=int, default=64, help="per-channel case, channels-last")
    parser.add_argument("--family", choices=[*FAMILIES, "all"], default="all")
    args = parser.parse_args()

    print(
        f"TF {tf.__version__}, ops live: {tf_learnact.ops_available()}, "
        f"TF_CPU_ALLOCATOR_USE_BFC={os.environ['TF_CPU_ALLOCATOR_USE_BFC']}, "
        f"{args.elements} float32 elements, {os.cpu_count()} cores"
    )
    rows = args.elements // args.channels
    x = tf.random.stateless_normal((rows, args.channels), (1, 2))
    dy = tf.random.stateless_normal((rows, args.channels), (3, 4))

    copy = tf.function(lambda: x * 2.0)  # a real copy: x * 1.0 and Copy are elided
    copy_ms = median_ms(lambda: first_element(copy()), args.repeats)
    floor_fwd, floor_fb = copy_ms, copy_ms * 20 / 8  # bytes per element: 8 fwd, 20 fwd+bwd
    print(
        f"memory copy (x*2, 8 B/elem): {copy_ms:.2f} ms = {8 * args.elements / copy_ms / 1e6:.1f} GB/s; "
        f"fwd+bwd floor (20 B/elem) {floor_fb:.2f} ms"
    )
    header = (
        f"{'case':32s} {'pass':8s} {'op ms':>8s} {'twin ms':>8s} {'XLA ms':>8s} "
        f"{'op/twin':>8s} {'op/XLA':>8s} {'op/floor':>9s}"
    )
    print(header)
    print("-" * len(header))
    families = list(FAMILIES) if args.family == "all" else [args.family]
    for family in families:
        for label, channels in [("per-layer", None), (f"per-channel (C={args.channels})", args.channels)]:
            params, apply = FAMILIES[family](channels)
            timings = {}
            for name, impl, jit in [
                ("op", "op", False),
                ("twin", "composite", False),
                ("xla", "composite", True),
            ]:
                fwd, fb = make_fns(apply, impl, jit, x, params, dy)
                timings[name] = (median_ms(fwd, args.repeats), median_ms(fb, args.repeats))
            for k, (pass_name, floor) in enumerate([("fwd", floor_fwd), ("fwd+bwd", floor_fb)]):
                op, twin, xla = (timings[n][k] for n in ("op", "twin", "xla"))
                print(
                    f"{family.upper() + ' ' + label:32s} {pass_name:8s} {op:8.2f} {twin:8.2f} {xla:8.2f} "
                    f"{op / twin:8.3f} {op / xla:8.3f} {op / floor:9.2f}"
                )


if __name__ == "__main__":
    main()
