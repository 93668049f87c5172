"""The CUDA kernels on a GPU (no TensorFlow needed): forward and forward+backward of PAU,
PWLU and ABU on 64x56x56x256 channels-last tensors, per layer and per channel, against a
device copy of the same tensor (the bandwidth limit) and torch.compile of the same
composite formula (the fusing-compiler peer).

    python cc/cuda_harness/build.py --arch sm_90 && python benchmarks/bench_cuda.py \
        [--families pau,pwlu,abu] [--dtypes float32,bfloat16,float16]

Targets: forward >= 85 % of copy bandwidth (2 tensor passes), forward+backward >= 70 % of
the 5-pass limit (x, y; x, dy, dx), and forward+backward faster than torch.compile.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import statistics

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "cuda_harness_driver", ROOT / "cc" / "cuda_harness" / "driver.py"
)
driver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(driver)


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def pau_composite(x, num, den):
    """Version B, the same formula as the kernels: (sum a_j x^j) / (1 + |sum b_k x^k|)."""
    xf = x.float()
    p = num[..., -1]
    for j in range(num.shape[-1] - 2, -1, -1):
        p = p * xf + num[..., j]
    d = den[..., -1]
    for k in range(den.shape[-1] - 2, -1, -1):
        d = d * xf + den[..., k]
    return (p / (1 + (d * xf).abs())).to(x.dtype)


def pwlu_composite(x, left, right, slopes, offsets):
    """The table lookup of the kernels, channels-last (or one table for the layer)."""
    xf = x.float()
    rows = slopes.shape[-1]
    u = (xf - left) * ((rows - 2) / (right - left)) + 1
    k = u.clamp(0, rows - 1).long()
    if slopes.dim() == 2:  # per channel: row c * rows + k of the flattened table
        k = k + torch.arange(slopes.shape[0], device=x.device) * rows
    return (xf * slopes.reshape(-1)[k] + offsets.reshape(-1)[k]).to(x.dtype)


ABU_BASIS = ("tanh", "elu", "relu", "identity", "swish")


def abu_composite(x, weights, beta):
    """The paper's default basis blended by weights [..., 5]; beta is the swish beta."""
    xf = x.float()
    fs = (torch.tanh(xf), torch.nn.functional.elu(xf), torch.relu(xf), xf, xf * torch.sigmoid(beta * xf))
    return sum(weights[..., j] * f for j, f in enumerate(fs)).to(x.dtype)


def family_case(family, harness, shape, channels):
    """(op forward, op forward+backward, composite, its parameters) for one layout."""
    lead = (channels,) if channels else ()
    axis = -1 if channels else None
    if family == "pau":
        params = (
            torch.randn(lead + (6,), device="cuda") * 0.3,
            torch.randn(lead + (4,), device="cuda") * 0.3,
        )
        return (
            lambda x: harness.pau_forward(x, *params, axis=axis),
            lambda dy, x: harness.pau_backward(dy, x, *params, axis=axis),
            pau_composite,
            params,
        )
    if family == "pwlu":
        bound = lead or (1,)
        rows = 18  # N = 16, the paper's setting
        params = (
            torch.full(bound, -3.0, device="cuda"),
            torch.full(bound, 3.0, device="cuda"),
            torch.randn(lead + (rows,), device="cuda"),
            torch.randn(lead + (rows,), device="cuda"),
        )
        return (
            lambda x: harness.pwlu_forward(x, *params, axis=axis),
            lambda dy, x: harness.pwlu_backward(dy, x, *params, axis=axis),
            pwlu_composite,
            params,
        )
    params = (
        torch.full(lead + (len(ABU_BASIS),), 0.2, device="cuda"),
        torch.ones(lead or (1,), device="cuda"),
    )
    return (
        lambda x: harness.abu_forward(x, *params, basis=ABU_BASIS, axis=axis),
        lambda dy, x: harness.abu_backward(dy, x, *params, basis=ABU_BASIS, axis=axis),
        abu_composite,
        params,
    )


def time_case(op_fwd, op_bwd, compiled, params, x, dy, repeats) -> dict[str, tuple[float, float]]:
    """{pass: (op ms, torch.compile ms)}; the op's training step is its forward kernel
    plus its backward kernel (which recomputes what it needs of the forward)."""

    def op_fb():
        op_fwd(x)
        return op_bwd(dy, x)

    grads = [t.detach().clone().requires_grad_(True) for t in (x, *params)]

    def compiled_fwd():
        with torch.no_grad():
            return compiled(x, *params)

    def compiled_fb():
        y = compiled(*grads)
        return y, torch.autograd.grad(y, grads, dy)

    return {
        "fwd": (median_ms(lambda: op_fwd(x), repeats), median_ms(compiled_fwd, repeats)),
        "fwd+bwd": (median_ms(op_fb, repeats), median_ms(compiled_fb, repeats)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="64,56,56,256")
    parser.add_argument("--families", default="pau,pwlu,abu")
    parser.add_argument("--dtypes", default="float32,bfloat16,float16")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    harness = driver.Harness()
    composites = {"pau": pau_composite, "pwlu": pwlu_composite, "abu": abu_composite}
    print(f"{torch.cuda.get_device_name()}, {harness.sm_count} SMs, shape {shape}, median of {args.repeats}")
    print("limit = device copy time scaled to the pass's tensor traffic (fwd 2 passes, fwd+bwd 5)")
    header = (
        f"{'family':6s} {'case':24s} {'dtype':9s} {'pass':8s} {'op ms':>8s} {'compile ms':>10s} "
        f"{'limit ms':>8s} {'% of bw':>8s} {'compile/op':>10s}"
    )
    print(header)
    print("-" * len(header))
    for family in args.families.split(","):
        compiled = torch.compile(composites[family])
        for name in args.dtypes.split(","):
            dtype = getattr(torch, name)
            x = torch.randn(shape, device="cuda").to(dtype)
            dy = torch.randn(shape, device="cuda").to(dtype)
            copy_ms = median_ms(lambda x=x: x.clone(), args.repeats)  # 2 passes
            for label, channels in (("per-layer", None), (f"per-channel C={shape[-1]}", shape[-1])):
                op_fwd, op_bwd, _, params = family_case(family, harness, shape, channels)
                timings = time_case(op_fwd, op_bwd, compiled, params, x, dy, args.repeats)
                for pass_name, passes in (("fwd", 2), ("fwd+bwd", 5)):
                    op_ms, peer_ms = timings[pass_name]
                    limit_ms = copy_ms * passes / 2
                    print(
                        f"{family:6s} {label:24s} {name:9s} {pass_name:8s} {op_ms:8.3f} {peer_ms:10.3f} "
                        f"{limit_ms:8.3f} {100 * limit_ms / op_ms:7.1f}% {peer_ms / op_ms:10.2f}"
                    )


if __name__ == "__main__":
    main()
