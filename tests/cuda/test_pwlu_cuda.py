"""The PWLU CUDA kernels against the NumPy float64 reference (checked against the CPU op
in tests/test_numpy_reference.py): per-layer and per-channel layouts, all dtypes, the
outer rows, invalid bounds, many intervals (bins in opt-in shared memory), empty input
and determinism of the parameter gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="CUDA harness tests need PyTorch (GPU machine)")
if not torch.cuda.is_available():
    pytest.skip("no GPU visible", allow_module_level=True)

from harness_fixtures import LAYOUT_IDS, LAYOUTS, close, harness, param_dtype, reference, torch_dtypes  # noqa: E402, F401

RTOL = torch_dtypes()


def case(shape, axis, dtype, intervals=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, shape)
    if x.size >= 2:
        x.reshape(-1)[:2] = [-100.0, 100.0]  # the outer rows
    lead = (1,) if axis is None else (shape[axis],)
    left, right = rng.uniform(-3, -1, lead), rng.uniform(1, 3, lead)
    rows = intervals + 2
    slopes = rng.uniform(-1, 1, lead[1:] + (rows,) if axis is None else lead + (rows,))
    offsets = rng.uniform(-1, 1, slopes.shape)
    dy = rng.uniform(-1, 1, shape)
    pdt = param_dtype(dtype)
    t = {"x": torch.tensor(x, device="cuda").to(dtype), "dy": torch.tensor(dy, device="cuda").to(dtype)}
    for name, v in (("left", left), ("right", right), ("slopes", slopes), ("offsets", offsets)):
        t[name] = torch.tensor(v, device="cuda", dtype=pdt)
    ref_in = {k: t[k].double().cpu().numpy() for k in t}  # what the kernel sees
    return t, ref_in


def params(t):
    return t["left"], t["right"], t["slopes"], t["offsets"]


@pytest.mark.parametrize("dtype", list(RTOL), ids=str)
@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=LAYOUT_IDS)
def test_forward_and_backward_match_the_reference(harness, reference, shape, axis, dtype):
    t, r = case(shape, axis, dtype)
    y = harness.pwlu_forward(t["x"], *params(t), axis=axis)
    dx, d_slopes, d_offsets = harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=axis)
    want = reference.pwlu_layer_numpy(
        r["x"], r["left"], r["right"], r["slopes"], r["offsets"], r["dy"], axis=axis
    )
    for name, got, w in zip(
        ("y", "dx", "d_slopes", "d_offsets"), (y, dx, d_slopes, d_offsets), want, strict=True
    ):
        close(got, w, RTOL[dtype] * (20 if name.startswith("d_") else 1), name)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_many_intervals_use_fewer_threads_and_stay_exact(harness, reference, dtype):
    intervals = min(200, harness.pwlu_max_intervals(dtype))
    t, r = case((64, 40), -1, dtype, intervals=intervals)
    got = harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=-1)
    want = reference.pwlu_layer_numpy(
        r["x"], r["left"], r["right"], r["slopes"], r["offsets"], r["dy"], axis=-1
    )
    for name, g, w in zip(("dx", "d_slopes", "d_offsets"), got, want[1:], strict=True):
        close(g, w, RTOL[dtype] * 20, name)


def test_too_many_intervals_is_an_error_not_a_crash(harness):
    t, _ = case((8, 4), -1, torch.float32, intervals=harness.pwlu_max_intervals(torch.float32) + 1)
    with pytest.raises(RuntimeError, match="CUDA error"):
        harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=-1)


@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=LAYOUT_IDS)
def test_parameter_gradients_are_bit_identical_run_to_run(harness, shape, axis):
    t, _ = case(tuple(s * 8 for s in shape), axis, torch.float32)
    first = harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=axis)
    for _ in range(3):
        again = harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=axis)
        for a, b in zip(first, again, strict=True):
            assert torch.equal(a, b)


def test_invalid_bounds_poison_only_their_channel(harness):
    t, _ = case((16, 3), -1, torch.float32)
    t["left"][1] = t["right"][1] + 1.0  # channel 1: left > right
    t["right"][2] = float("inf")  # channel 2: not finite
    y = harness.pwlu_forward(t["x"], *params(t), axis=-1)
    dx, d_slopes, _ = harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=-1)
    for out in (y, dx):
        assert torch.isfinite(out[:, 0]).all() and torch.isnan(out[:, 1:]).all()
    assert torch.isfinite(d_slopes[0]).all() and torch.isnan(d_slopes[1:]).all()


def test_nan_and_inf_inputs(harness, reference):
    x = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0], device="cuda")
    left, right = torch.tensor([-1.0], device="cuda"), torch.tensor([1.0], device="cuda")
    slopes = torch.tensor([0.5, 1.0, 2.0, 0.25], device="cuda")
    offsets = torch.tensor([0.0, 0.1, 0.2, 0.3], device="cuda")
    y = harness.pwlu_forward(x, left, right, slopes, offsets).double().cpu().numpy()
    want = reference.pwlu_layer_numpy(*(v.double().cpu().numpy() for v in (x, left, right, slopes, offsets)))
    np.testing.assert_array_equal(y, want)


def test_empty_input_gives_zero_parameter_gradients(harness):
    t, _ = case((0, 4), -1, torch.float32)
    assert harness.pwlu_forward(t["x"], *params(t), axis=-1).shape == (0, 4)
    _, d_slopes, d_offsets = harness.pwlu_backward(t["dy"], t["x"], *params(t), axis=-1)
    assert not d_slopes.any() and not d_offsets.any()
