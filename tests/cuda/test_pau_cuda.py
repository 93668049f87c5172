"""The PAU CUDA kernels against the NumPy float64 reference (the one the CPU op is
checked against in tests/test_numpy_reference.py): every version, per-layer and
per-channel (channels-last and channels-first), RPAU noise, all dtypes, edge values,
determinism of the parameter gradients, and 64-bit element indices."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="CUDA harness tests need PyTorch (GPU machine)")
if not torch.cuda.is_available():
    pytest.skip("no GPU visible", allow_module_level=True)

from harness_fixtures import LAYOUT_IDS, LAYOUTS, close, harness, param_dtype, reference, torch_dtypes  # noqa: E402, F401

RTOL = torch_dtypes()
DTYPES = list(RTOL)


def case(shape, axis, version, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, shape)
    x.reshape(-1)[:3] = 0.0  # the |.| kinks at 0
    nd = 5 if version == "C" else 4
    lead = () if axis is None else (shape[axis],)
    num, den = rng.uniform(-1, 1, lead + (6,)), rng.uniform(-1, 1, lead + (nd,))
    dy = rng.uniform(-1, 1, shape)
    pdt = param_dtype(dtype)
    t = {
        "x": torch.tensor(x, device="cuda").to(dtype),
        "dy": torch.tensor(dy, device="cuda").to(dtype),
        "num": torch.tensor(num, device="cuda", dtype=pdt),
        "den": torch.tensor(den, device="cuda", dtype=pdt),
    }
    # The reference sees what the kernel sees: inputs rounded to the storage dtype.
    ref_in = {k: t[k].double().cpu().numpy() for k in t}
    return t, ref_in


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("noise", [0.0, 0.05], ids=["pau", "rpau"])
@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("version", ["A", "B", "C", "N"])
def test_forward_and_backward_match_the_reference(harness, reference, version, shape, axis, noise, dtype):
    t, r = case(shape, axis, version, dtype)
    kw = {"version": version, "axis": axis, "noise": noise, "seed": 5}
    y = harness.pau_forward(t["x"], t["num"], t["den"], **kw)
    dx, d_num, d_den = harness.pau_backward(t["dy"], t["x"], t["num"], t["den"], **kw)
    want = reference.pau_layer_numpy(r["x"], r["num"], r["den"], r["dy"], **kw)
    for name, got, w in zip(("y", "dx", "d_num", "d_den"), (y, dx, d_num, d_den), want, strict=True):
        close(got, w, RTOL[dtype] * (20 if name.startswith("d_") else 1), name)


@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=LAYOUT_IDS)
def test_parameter_gradients_are_bit_identical_run_to_run(harness, shape, axis):
    t, _ = case(tuple(s * 8 for s in shape), axis, "B", torch.float32)
    first = harness.pau_backward(t["dy"], t["x"], t["num"], t["den"], axis=axis)
    for _ in range(3):
        again = harness.pau_backward(t["dy"], t["x"], t["num"], t["den"], axis=axis)
        for a, b in zip(first, again, strict=True):
            assert torch.equal(a, b)


def test_edge_values(harness, reference):
    x = torch.tensor([0.0, -0.0, 1e4, -1e4, float("nan"), float("inf"), -float("inf")], device="cuda")
    num = torch.tensor([0.1, 1.0, 0.5, 0.2, 0.1, 0.05], device="cuda")
    den = torch.tensor([0.5, 0.1, 0.2, 0.3], device="cuda")
    y = harness.pau_forward(x, num, den).double().cpu().numpy()
    want = reference.pau_layer_numpy(x.double().cpu().numpy(), num.cpu().numpy(), den.cpu().numpy())
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(y[finite], want[finite], rtol=1e-5)


def test_empty_input_gives_zero_parameter_gradients(harness):
    x = torch.zeros((0, 4), device="cuda")
    num, den = torch.ones((4, 6), device="cuda"), torch.ones((4, 4), device="cuda")
    assert harness.pau_forward(x, num, den, axis=-1).shape == (0, 4)
    _, d_num, d_den = harness.pau_backward(x, x, num, den, axis=-1)
    assert not d_num.any() and not d_den.any()


def test_more_than_2_to_the_31_elements(harness, reference):
    if torch.cuda.get_device_properties(0).total_memory < 24 * 2**30:
        pytest.skip("needs 24 GiB of GPU memory")
    n = 2**31 + 4099
    x = torch.linspace(-2, 2, 4096, device="cuda", dtype=torch.float16).repeat(n // 4096 + 1)[:n]
    num = torch.tensor([0.0, 1.0, 0.5, 0.1, 0.0, 0.0], device="cuda")
    den = torch.tensor([0.2, 0.1, 0.0, 0.0], device="cuda")
    y = harness.pau_forward(x, num, den)
    tail = slice(n - 4099, n)
    want = reference.pau_layer_numpy(x[tail].double().cpu().numpy(), num.cpu().numpy(), den.cpu().numpy())
    close(y[tail], want, RTOL[torch.float16], "tail of a >2^31-element tensor")
