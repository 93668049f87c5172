"""PAU CUDA kernels on a GPU (no TensorFlow needed): forward and forward+backward of
64x56x56x256 channels-last tensors, per layer and per channel, against a device copy of
the same tensor (the bandwidth limit) and torch.compile of the composite formula.

    python cc/cuda_harness/build.py && python benchmarks/bench_cuda.py [--dtypes float32,bfloat16,float16]

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


def time_case(harness, compiled, x, dy, num, den, axis, repeats) -> dict[str, tuple[float, float]]:
    """{pass: (op ms, torch.compile ms)}; the op's training step is its forward kernel
    plus its backward kernel (which recomputes the forward)."""

    def op_fwd():
        return harness.pau_forward(x, num, den, axis=axis)

    def op_fb():
        harness.pau_forward(x, num, den, axis=axis)
        return harness.pau_backward(dy, x, num, den, axis=axis)

    xg, ng, dg = (t.detach().clone().requires_grad_(True) for t in (x, num, den))

    def compiled_fwd():
        with torch.no_grad():
            return compiled(x, num, den)

    def compiled_fb():
        return torch.autograd.grad(compiled(xg, ng, dg), (xg, ng, dg), dy)

    return {
        "fwd": (median_ms(op_fwd, repeats), median_ms(compiled_fwd, repeats)),
        "fwd+bwd": (median_ms(op_fb, repeats), median_ms(compiled_fb, repeats)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="64,56,56,256")
    parser.add_argument("--dtypes", default="float32,bfloat16,float16")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    harness = driver.Harness()
    compiled = torch.compile(pau_composite)
    print(f"{torch.cuda.get_device_name()}, {harness.sm_count} SMs, shape {shape}, median of {args.repeats}")
    header = (
        f"{'case':24s} {'dtype':9s} {'pass':8s} {'op ms':>8s} {'compile ms':>10s} {'copy ms':>8s} "
        f"{'% of bw':>8s} {'compile/op':>10s}"
    )
    print(header)
    print("-" * len(header))
    for name in args.dtypes.split(","):
        dtype = getattr(torch, name)
        x = torch.randn(shape, device="cuda").to(dtype)
        dy = torch.randn(shape, device="cuda").to(dtype)
        copy_ms = median_ms(lambda x=x: x.clone(), args.repeats)  # 2 passes
        for label, channels in (("per-layer", None), (f"per-channel C={shape[-1]}", shape[-1])):
            lead = (channels,) if channels else ()
            num = torch.randn(lead + (6,), device="cuda") * 0.3
            den = torch.randn(lead + (4,), device="cuda") * 0.3
            axis = -1 if channels else None
            timings = time_case(harness, compiled, x, dy, num, den, axis, args.repeats)
            for pass_name, passes in (("fwd", 2), ("fwd+bwd", 5)):
                op_ms, peer_ms = timings[pass_name]
                limit_ms = copy_ms * passes / 2
                print(
                    f"{label:24s} {name:9s} {pass_name:8s} {op_ms:8.3f} {peer_ms:10.3f} {limit_ms:8.3f} "
                    f"{100 * limit_ms / op_ms:7.1f}% {peer_ms / op_ms:10.2f}"
                )


if __name__ == "__main__":
    main()
