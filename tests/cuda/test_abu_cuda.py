"""The ABU CUDA kernels against the NumPy float64 reference (checked against the CPU op
in tests/test_numpy_reference.py): the paper's basis and the other functions, per-layer
and per-channel layouts, all dtypes, saturation and NaN, empty input and determinism of
the parameter gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="CUDA harness tests need PyTorch (GPU machine)")
if not torch.cuda.is_available():
    pytest.skip("no GPU visible", allow_module_level=True)

from harness_fixtures import LAYOUT_IDS, LAYOUTS, close, harness, param_dtype, reference, torch_dtypes  # noqa: E402, F401

RTOL = torch_dtypes()
BASES = {
    "paper": ("tanh", "elu", "relu", "identity", "swish"),
    "others": ("sigmoid", "selu", "leaky_relu", "softplus", "gelu"),
    "scaling": ("swish",),
}


def case(shape, axis, dtype, basis, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, shape)
    if x.size >= 4:
        x.reshape(-1)[:4] = [0.0, -30.0, 30.0, 11.0]  # kinks, saturation, GELU's relu branch
    lead = () if axis is None else (shape[axis],)
    weights = rng.uniform(-1, 1, lead + (len(basis),))
    beta = rng.uniform(0.5, 2.0, lead if axis is not None else (1,))
    dy = rng.uniform(-1, 1, shape)
    pdt = param_dtype(dtype)
    t = {
        "x": torch.tensor(x, device="cuda").to(dtype),
        "dy": torch.tensor(dy, device="cuda").to(dtype),
        "w": torch.tensor(weights, device="cuda", dtype=pdt),
        "beta": torch.tensor(beta, device="cuda", dtype=pdt),
    }
    return t, {k: t[k].double().cpu().numpy() for k in t}


@pytest.mark.parametrize("dtype", list(RTOL), ids=str)
@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("basis", list(BASES))
def test_forward_and_backward_match_the_reference(harness, reference, basis, shape, axis, dtype):
    names = BASES[basis]
    t, r = case(shape, axis, dtype, names)
    y = harness.abu_forward(t["x"], t["w"], t["beta"], basis=names, axis=axis)
    dx, d_w, d_beta = harness.abu_backward(t["dy"], t["x"], t["w"], t["beta"], basis=names, axis=axis)
    want = reference.abu_layer_numpy(r["x"], r["w"], r["beta"], r["dy"], basis=names, axis=axis)
    for name, got, w in zip(("y", "dx", "d_weights", "d_beta"), (y, dx, d_w, d_beta), want, strict=True):
        close(got, w, RTOL[dtype] * (20 if name.startswith("d_") else 1), name)


@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=LAYOUT_IDS)
def test_parameter_gradients_are_bit_identical_run_to_run(harness, shape, axis):
    names = BASES["paper"]
    t, _ = case(tuple(s * 8 for s in shape), axis, torch.float32, names)
    first = harness.abu_backward(t["dy"], t["x"], t["w"], t["beta"], basis=names, axis=axis)
    for _ in range(3):
        again = harness.abu_backward(t["dy"], t["x"], t["w"], t["beta"], basis=names, axis=axis)
        for a, b in zip(first, again, strict=True):
            assert torch.equal(a, b)


def test_large_and_nan_inputs(harness, reference):
    names = BASES["paper"] + BASES["others"]
    x = torch.tensor([1e4, -1e4, 88.0, -88.0, float("nan")], device="cuda")
    w = torch.full((len(names),), 0.1, device="cuda")
    beta = torch.ones(1, device="cuda")
    y = harness.abu_forward(x, w, beta, basis=names).double().cpu().numpy()
    want = reference.abu_layer_numpy(x.double().cpu().numpy(), w.double().cpu().numpy(), 1.0, basis=names)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(y[finite], want[finite], rtol=1e-5)


def test_unknown_basis_code_is_an_error(harness):
    with pytest.raises(ValueError, match="unknown"):
        harness.abu_forward(
            torch.zeros(4, device="cuda"),
            torch.ones(1, device="cuda"),
            torch.ones(1, device="cuda"),
            basis=("cube",),
        )


def test_empty_input_gives_zero_parameter_gradients(harness):
    names = BASES["paper"]
    t, _ = case((0, 4), -1, torch.float32, names)
    assert harness.abu_forward(t["x"], t["w"], t["beta"], basis=names, axis=-1).shape == (0, 4)
    _, d_w, d_beta = harness.abu_backward(t["dy"], t["x"], t["w"], t["beta"], basis=names, axis=-1)
    assert not d_w.any() and not d_beta.any()
