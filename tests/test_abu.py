"""ABU op and layers: every basis function and normalization against NumPy float64,
gradients, dtypes, layouts, extreme inputs, memory, training, saving, bad arguments."""

from __future__ import annotations

import doctest
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TWIN_RTOL, as_float64, assert_close, requires_ops, run_fresh_python

import tf_learnact
from tf_learnact.layers import abu as abu_module
from tf_learnact.layers.abu import normalize_weights
from tf_learnact.ops.abu import BASIS_FUNCTIONS, abu
from tf_learnact.ops.library import op_library

_erf = np.vectorize(math.erf)


def np_sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def gelu_u(x):
    return math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)


# f(x, beta) in float64, written from the definitions.
NUMPY_BASIS = {
    "tanh": lambda x, b: np.tanh(x),
    "elu": lambda x, b: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "relu": lambda x, b: np.maximum(x, 0),
    "identity": lambda x, b: x,
    "swish": lambda x, b: x * np_sigmoid(b * x),
    "sigmoid": lambda x, b: np_sigmoid(x),
    "selu": lambda x, b: (
        1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))
    ),
    "leaky_relu": lambda x, b: np.where(x > 0, x, 0.01 * x),
    "softplus": lambda x, b: np.logaddexp(0.0, x),
    # 0.5 x (1 + tanh u) = x sigmoid(2u): no cancellation for negative x.
    "gelu": lambda x, b: np.where(np.abs(x) > 10, np.maximum(x, 0), x * np_sigmoid(2 * gelu_u(x))),
}


def np_sech2(x):
    e2 = np.exp(-2 * np.abs(x))
    return 4 * e2 / (1 + e2) ** 2


def np_gelu_slope(x):
    c, u = math.sqrt(2 / math.pi), gelu_u(x)
    inner = np_sigmoid(2 * u) + 0.5 * x * np_sech2(u) * c * (1 + 3 * 0.044715 * x**2)
    return np.where(np.abs(x) > 10, (x > 0).astype(float), inner)


# f'(x, beta) in float64, in forms without cancellation (s(x) s(-x), not s (1 - s)): the
# reference for the kernels' derivatives where TF's own float64 gradients round to 0.
NUMPY_SLOPE = {
    "tanh": lambda x, b: np_sech2(x),
    "elu": lambda x, b: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))),
    "relu": lambda x, b: (x > 0).astype(float),
    "identity": lambda x, b: np.ones_like(x),
    "swish": lambda x, b: np_sigmoid(b * x) + b * x * np_sigmoid(b * x) * np_sigmoid(-b * x),
    "sigmoid": lambda x, b: np_sigmoid(x) * np_sigmoid(-x),
    "selu": lambda x, b: (
        1.0507009873554805 * np.where(x > 0, 1.0, 1.6732632423543772 * np.exp(np.minimum(x, 0)))
    ),
    "leaky_relu": lambda x, b: np.where(x > 0, 1.0, 0.01),
    "softplus": lambda x, b: np_sigmoid(x),
    "gelu": lambda x, b: np_gelu_slope(x),
}
ALL = tuple(BASIS_FUNCTIONS)
# The layer's default basis: with every swish beta 1 the kernels take a path compiled for
# it, tested beside the general one.
PAPER = ("tanh", "elu", "relu", "identity", "swish")
# The kernels walk 8 lanes at a time, several chunks side by side where they fit: two
# across a row (C = 27 channels-last is one chunk pair, one single chunk and a 3-lane
# tail per row), three along a run (37 channels-first: a triple, a single, a 5-lane tail).
LAYOUTS = [
    ((3, 4, 11), -1, False),
    ((3, 4, 11), -1, True),
    ((2, 5, 3, 4), 1, True),
    ((3, 27), -1, True),
    ((2, 3, 37), 1, True),
    # Rows stacked four at a time (9 rows: two stacks and a single row), 40 channels: two
    # 16-channel column pairs (on AVX-512 CPUs the wide backward's), a column, no tail.
    ((9, 40), -1, True),
]
LAYOUT_IDS = ["layer", "chan_last", "chan_first", "chan_last_pairs", "chan_first_pairs", "chan_last_stacks"]


def test_numpy_oracle_covers_every_basis():
    assert set(NUMPY_BASIS) == set(NUMPY_SLOPE) == set(BASIS_FUNCTIONS)


@pytest.mark.parametrize("basis", ALL)
def test_numpy_slope_oracle_is_the_derivative(basis):
    x = np.linspace(-6, 6, 241) + 0.013  # off the kinks at 0
    h = 1e-6
    numeric = (NUMPY_BASIS[basis](x + h, 0.7) - NUMPY_BASIS[basis](x - h, 0.7)) / (2 * h)
    np.testing.assert_allclose(NUMPY_SLOPE[basis](x, 0.7), numeric, rtol=1e-6, atol=1e-8)


def numpy_abu(x, w, beta, basis, axis, per_channel):
    x, w, beta = as_float64(x), as_float64(w), as_float64(beta)
    if not per_channel:
        return sum(w[j] * NUMPY_BASIS[b](x, beta) for j, b in enumerate(basis))
    xm = np.moveaxis(x, axis, -1)
    y = sum(w[:, j] * NUMPY_BASIS[b](xm, beta) for j, b in enumerate(basis))
    return np.moveaxis(y, -1, axis)


def case(seed, shape, axis, per_channel, basis, dtype):
    """Random x and weights; swish beta random, or 1 for the paper's basis (the path
    compiled for it)."""
    rng = np.random.default_rng(seed)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    lead = (shape[axis],) if per_channel else ()
    x = tf.constant(rng.uniform(-4, 4, shape), dtype)
    w = tf.constant(rng.uniform(-1, 1, lead + (len(basis),)), pdt)
    beta = tf.constant(np.ones(lead) if basis == PAPER else rng.uniform(0.5, 2.0, lead), pdt)
    return x, w, beta


def grads(impl, x, w, beta, basis, axis, dy):
    with tf.GradientTape() as tape:
        tape.watch([x, w, beta])
        y = abu(x, w, beta, basis=basis, axis=axis, implementation=impl)
    return (y, *tape.gradient(y, [x, w, beta], output_gradients=dy))


@requires_ops
@pytest.mark.parametrize(
    "basis",
    [(b,) for b in ALL] + [ALL, PAPER],
    ids=lambda b: "+".join(b) if len(b) < 3 else ("paper" if b == PAPER else "all"),
)
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=LAYOUT_IDS)
def test_forward_matches_twin_and_numpy(basis, shape, axis, per_channel, dtype):
    x, w, beta = case(1, shape, axis, per_channel, basis, dtype)
    y_op = abu(x, w, beta, basis=basis, axis=axis, implementation="op")
    y_twin = abu(x, w, beta, basis=basis, axis=axis, implementation="composite")
    assert y_op.dtype == dtype
    # Sums of terms of both signs: tolerance relative to the terms' magnitude.
    scale = float(np.max(np.abs(as_float64(w)))) * 5
    assert_close(y_op, y_twin, TWIN_RTOL[dtype] * 4, atol_scale=scale, err_msg="op vs twin")
    rtol = 1e-12 if dtype == tf.float64 else max(TWIN_RTOL[dtype] * 4, 1e-5)
    assert_close(y_op, numpy_abu(x, w, beta, basis, axis, per_channel), rtol, atol_scale=scale)


@requires_ops
@pytest.mark.parametrize("basis", [ALL, PAPER], ids=["all", "paper"])
@pytest.mark.parametrize(
    "shape,axis,per_channel",
    # bfloat16 chunk pairs along runs and rows (59 channels: three pairs, a single chunk,
    # a tail of 3), each with a single chunk and a tail after them; rows in several blocks.
    [((2000 + 13,), -1, False), ((600, 59), -1, True), ((4, 5, 58), 1, True)],
    ids=["layer", "last", "first"],
)
def test_bfloat16_storage_computes_what_float32_computes(basis, shape, axis, per_channel):
    """The bfloat16 kernels (whose chunk pairs along a run put the even and odd elements
    in separate vectors) against the float32 kernels on the same values: y and dx are
    the float32 results to a bfloat16 ulp, the weight and beta sums agree to float32 rounding."""
    x, w, beta = case(14, shape, axis, per_channel, basis, tf.bfloat16)
    dy = tf.cast(tf.random.stateless_uniform(shape, (7, 8), -1, 1), tf.bfloat16)
    got = grads("op", x, w, beta, basis, axis, dy)
    want = grads("op", tf.cast(x, tf.float32), w, beta, basis, axis, tf.cast(dy, tf.float32))
    # Within a bfloat16 ulp (2^-7 relative) of the float32 result: its rounding, and FMA
    # contraction, which may differ between the two kernels' code.
    for name, g, v in zip(("y", "dx"), got[:2], want[:2], strict=True):
        assert_close(g, v, 2.0**-7, atol_scale=1e-3, err_msg=name)
    for name, g, v in zip(("weights", "beta"), got[2:], want[2:], strict=True):
        assert_close(g, v, 1e-5, atol_scale=float(np.max(np.abs(v.numpy()))) + 1, err_msg=name)


@requires_ops
@pytest.mark.parametrize("basis", [ALL, PAPER], ids=["all", "paper"])
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=LAYOUT_IDS)
def test_gradients_match_twin_autodiff(basis, shape, axis, per_channel, dtype):
    x, w, beta = case(2, shape, axis, per_channel, basis, dtype)
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (1, 2), -1, 1), dtype)
    op = grads("op", x, w, beta, basis, axis, dy)
    ref = grads(
        "composite", *(tf.cast(t, tf.float64) for t in (x, w, beta)), basis, axis, tf.cast(dy, tf.float64)
    )
    rtol = {tf.float16: 8e-3, tf.bfloat16: 5e-2, tf.float32: 1e-4, tf.float64: 1e-10}[dtype]
    assert_close(op[1], ref[1], rtol, atol_scale=5.0, err_msg="dx")
    for name, g, r in (("d_weights", op[2], ref[2]), ("d_beta", op[3], ref[3])):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(r.numpy()))) + 1, err_msg=name)


@requires_ops
@pytest.mark.parametrize("basis", [ALL, PAPER], ids=["all", "paper"])
@pytest.mark.parametrize("channels", [256, 300, 1030])
def test_wide_rows_match_twin(basis, channels, dtype):
    """Channels-last rows of 1 KiB or more, whose weight and partial rows lie padded
    apart (ChannelStride), in blocks enlarged to hold 16 elements per partial value
    (several here, the last one short), against the float64 twin; rows of 4 KiB or more
    (1030 channels of 4 or 8 bytes) go in stacks again (StackedRowsPay)."""
    shape = (1000 if channels < 1000 else 100, channels)
    x, w, beta = case(4, shape, -1, True, basis, dtype)
    dy = tf.cast(tf.random.stateless_uniform(shape, (2, 3), -1, 1), dtype)
    op = grads("op", x, w, beta, basis, -1, dy)
    ref = grads(
        "composite", *(tf.cast(t, tf.float64) for t in (x, w, beta)), basis, -1, tf.cast(dy, tf.float64)
    )
    rtol = {tf.float16: 8e-3, tf.bfloat16: 5e-2, tf.float32: 1e-4, tf.float64: 1e-10}[dtype]
    for name, g, r in zip(("y", "dx"), op[:2], ref[:2], strict=True):
        assert_close(g, r, rtol, atol_scale=5.0, err_msg=name)
    for name, g, r in (("d_weights", op[2], ref[2]), ("d_beta", op[3], ref[3])):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(r.numpy()))) + 1, err_msg=name)


@requires_ops
@pytest.mark.parametrize("per_channel", [False, True])
def test_gradients_match_numeric_float64(per_channel):
    x, w, beta = case(3, (4, 3), -1, per_channel, ALL, tf.float64)
    x = tf.where(tf.abs(x) < 0.1, x + 0.3, x)  # away from the kinks at 0

    def f(x, w, beta):
        return abu(x, w, beta, basis=ALL, implementation="op")

    theoretical, numerical = tf.test.compute_gradient(f, [x, w, beta], delta=1e-6)
    for t, n in zip(theoretical, numerical, strict=True):
        np.testing.assert_allclose(t, n, rtol=1e-5, atol=1e-6)


def full_range(dtype):
    """Both signs over the whole exponent range the kernels reduce (tiny |x| for the
    relative accuracy of expm1/tanh near 0, down to exp's underflow), plus 0."""
    top = 100.0 if dtype == tf.float32 else 800.0
    mags = np.concatenate([np.logspace(-30, 1, 300), np.linspace(10, top, 300)])
    return tf.constant(np.concatenate([-mags, [0.0], mags]), dtype)


@requires_ops
@pytest.mark.parametrize(
    "basis,beta,within",
    [(b, 1.0, None) for b in ALL] + [("swish", 0.7, None)] + [(b, 1.0, PAPER) for b in PAPER],
    ids=lambda v: "paper" if v == PAPER else str(v),
)
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
def test_basis_accuracy_over_the_full_range(basis, beta, within, dtype):
    """Each vectorised basis function and its derivative to a few ulp of NumPy float64,
    including the |x| that need relative accuracy (near 0, far tails, underflow). `within`:
    the function picked out of that basis by one-hot weights (the paper's basis with
    beta 1 is evaluated by its own compiled path)."""
    x = full_range(dtype)
    names = within or (basis,)
    w, b = tf.one_hot(names.index(basis), len(names), dtype=dtype), tf.constant(beta, dtype)
    y, dx, _, _ = grads("op", x, w, b, names, -1, tf.ones_like(x))
    x64, b64 = as_float64(x), float(as_float64(b))
    rtol, atol = (1e-6, 1e-35) if dtype == tf.float32 else (1e-14, 1e-300)
    # Arguments rounded to the lane type before exp: beta * x (condition number |beta x|)
    # and gelu's u(x) (~3 roundings, relative condition 2|u|).
    cond = 1.0
    if beta != 1.0:
        cond = 1 + np.abs(b64 * x64)
    if basis == "gelu":
        cond = 1 + 6 * np.abs(gelu_u(np.clip(x64, -10, 10)))
    for name, got, want in (("f", y, NUMPY_BASIS[basis](x64, b64)), ("df", dx, NUMPY_SLOPE[basis](x64, b64))):
        got = as_float64(got)
        err = np.abs(got - want)
        bound = rtol * cond * np.abs(want) + atol
        worst = np.argmax(err - bound)
        assert np.all(err <= bound), f"{basis} {name} at x={x64[worst]!r}: {got[worst]!r} vs {want[worst]!r}"


@requires_ops
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
def test_exp_keeps_relative_accuracy_down_to_the_smallest_normal(dtype):
    """exp(x) (ELU's slope for x < 0) and sigmoid(x) = e / (1 + e) near the underflow:
    normal results to a few ulp. There a product 2^n r inside the exponential would be
    subnormal, and TensorFlow's threads flush subnormals to zero (the full-range test's
    absolute floor would not see it)."""
    tiny = float(np.finfo(dtype.as_numpy_dtype).tiny)
    lowest = math.log(tiny) * (1 - 1e-6)  # exp(lowest) is just above the smallest normal
    x = tf.constant(np.linspace(lowest, lowest + 8, 4001), dtype)
    x64 = as_float64(x)
    w, beta = tf.ones((1,), dtype), tf.constant(1.0, dtype)
    elu_slope = grads("op", x, w, beta, ("elu",), -1, tf.ones_like(x))[1]
    sigmoid = abu(x, w, beta, basis=("sigmoid",), implementation="op")
    rtol = 1e-6 if dtype == tf.float32 else 1e-14
    for name, got, want in (("exp", elu_slope, np.exp(x64)), ("sigmoid", sigmoid, np_sigmoid(x64))):
        got = as_float64(got)
        assert np.all(want >= tiny)
        worst = int(np.argmax(np.abs(got - want) / want))
        assert np.all(np.abs(got - want) <= rtol * want), (
            f"{name} at x={x64[worst]!r}: {got[worst]!r} vs {want[worst]!r}"
        )


@requires_ops
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
def test_exp_below_the_smallest_normal_result(dtype):
    """Below the smallest normal result the exponential is clamped, and 2^n at the clamp
    reads as +0 (exp = 0 and expm1 = -1 with no blend): exp (ELU's slope), sigmoid and
    ELU itself (expm1) stay within the smallest normal of the true values, on both sides
    of the clamp and far below it, in the default basis's forward too."""
    info = np.finfo(dtype.as_numpy_dtype)
    tiny = float(info.tiny)
    lowest = math.log(tiny)
    x_np = np.concatenate([np.linspace(lowest - 3, lowest, 3001), [-1e4, -1e30, -np.inf]])
    x = tf.constant(x_np, dtype)
    w, beta = tf.ones((1,), dtype), tf.constant(1.0, dtype)
    exp_slope = as_float64(grads("op", x, w, beta, ("elu",), -1, tf.ones_like(x))[1])
    sigmoid = as_float64(abu(x, w, beta, basis=("sigmoid",), implementation="op"))
    elu = as_float64(abu(x, w, beta, basis=("elu",), implementation="op"))
    # The default basis with only ELU's and swish's weights: its forward takes the
    # exponential by the integer-min clamp.
    w_paper = tf.constant([0.0, 1.0, 0.0, 0.0, 1.0], dtype)
    paper = as_float64(abu(x, w_paper, beta, basis=PAPER, implementation="op"))
    with np.errstate(over="ignore", invalid="ignore"):
        true_exp = np.exp(x_np)
        swish = np.where(np.isinf(x_np), 0.0, x_np * true_exp / (1 + true_exp))
    # Subnormal results may come out as 0 (TensorFlow's threads flush them), so the
    # bound is the smallest normal, and a hair over it for x rounded just above log(tiny).
    bound = tiny * 1.001
    np.testing.assert_allclose(exp_slope, true_exp, rtol=0, atol=bound)
    np.testing.assert_allclose(sigmoid, true_exp, rtol=0, atol=bound)
    np.testing.assert_allclose(elu, np.expm1(x_np), rtol=0, atol=float(info.eps))
    finite = np.isfinite(x_np)
    np.testing.assert_allclose(
        paper[finite], (np.expm1(x_np) + swish)[finite], rtol=float(info.eps), atol=float(info.eps)
    )


@requires_ops
@pytest.mark.parametrize("basis", ALL)
def test_nan_and_inf_inputs_match_the_twin(basis, dtype):
    x = tf.constant([np.nan, np.inf, -np.inf], dtype)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    w, beta = tf.ones((1,), pdt), tf.constant(1.0, pdt)
    y_op = abu(x, w, beta, basis=(basis,), implementation="op")
    y_twin = abu(x, w, beta, basis=(basis,), implementation="composite")
    got, want = as_float64(y_op), as_float64(y_twin)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=basis)  # NaN, +-Inf exactly
    assert_close(got[finite], want[finite], TWIN_RTOL[dtype], err_msg=basis)


@requires_ops
@pytest.mark.parametrize(
    "weights",
    [(0.2, 0.2, 0.2, 0.2, 0.2), (0.2, 0.0, 0.3, 0.1, 0.2), (0.2, -0.1, 0.3, 0.1, -0.2)],
    ids=["positive", "a_zero", "mixed_signs"],
)
def test_paper_basis_on_nan_inf_and_huge_inputs(weights, dtype):
    """The paper's basis has its own regrouped evaluator. On NaN and huge finite inputs its
    values and gradients match the twin's, NaN for NaN. At +-Inf its gradients match too,
    and its value is g's limit, x (w_4 s + L) + E + w_0 tanh(x) (see the README), where
    the twin's sum of the functions meets 0 * Inf (swish(-Inf) = NaN there)."""
    big = 6e4 if dtype == tf.float16 else 1e30
    x_np = np.array([np.nan, np.inf, -np.inf, big, -big, 0.5, -0.5, 0.0])
    n = len(x_np)
    x = tf.constant(x_np[None, :], dtype)  # one channel per element: per-element dw
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    w = tf.constant(np.tile(weights, (n, 1)), pdt)
    beta = tf.ones((n,), pdt)
    dy = tf.ones_like(x)
    got = [as_float64(t) for t in grads("op", x, w, beta, PAPER, -1, dy)]
    want = [np.array(as_float64(t)) for t in grads("composite", x, w, beta, PAPER, -1, dy)]
    w0, w1, w2, w3, w4 = weights
    with np.errstate(invalid="ignore"):
        limit = {np.inf: np.inf * (w1 + w2 + w3 + w4) + w0, -np.inf: -np.inf * w3 - w1 - w0}
    infinite = np.isinf(x_np)
    want[0][0, infinite] = [limit[v] for v in x_np[infinite]]
    for name, g, t in zip(("y", "dx", "dw", "dbeta"), got, want, strict=True):
        finite = np.isfinite(t)
        np.testing.assert_array_equal(g[~finite], t[~finite], err_msg=name)  # NaN, Inf exactly
        assert_close(g[finite], t[finite], TWIN_RTOL[dtype], err_msg=name)
    assert np.isnan(want[0][0, 0]) and np.isinf(got[0][0, 1:3]).all()  # the cases are there


@requires_ops
@pytest.mark.parametrize("basis", [(b,) for b in ALL], ids=lambda b: b[0])
@pytest.mark.parametrize("beta_value", [1.0, 1.5], ids=["unit_beta", "beta"])
def test_extreme_inputs_stay_finite(basis, beta_value, dtype):
    # 1e30: x^2 overflows float there (swish's d beta = x^2 s' was NaN).
    huge = [] if dtype == tf.float16 else [1e30, -1e30]
    x = tf.constant([1e4, -1e4, 3e4, -3e4, 0.0] + huge, dtype)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    w, beta = tf.ones((1,), pdt), tf.constant(beta_value, pdt)
    y, dx, dw, db = grads("op", x, w, beta, basis, -1, tf.ones_like(x))
    y64 = as_float64(y)
    expected = NUMPY_BASIS[basis[0]](as_float64(x), beta_value)
    finite = np.abs(expected) < (6e4 if dtype == tf.float16 else np.inf)
    assert np.all(np.isfinite(y64[finite])) and np.all(np.isfinite(as_float64(dx)))
    assert np.all(np.isfinite(dw.numpy())) and np.isfinite(db.numpy())
    assert_close(y64[finite], expected[finite], max(TWIN_RTOL[dtype], 1e-6) * 2, atol_scale=1e-3)


@requires_ops
def test_empty_input():
    y, dx, dw, db = grads(
        "op", tf.zeros((0, 3)), tf.ones((3, 2)), tf.ones((3,)), ("relu", "tanh"), -1, tf.zeros((0, 3))
    )
    assert y.shape == (0, 3)
    np.testing.assert_array_equal(dw.numpy(), np.zeros((3, 2)))


@requires_ops
@pytest.mark.parametrize("per_channel", [False, True], ids=["layer", "chan_last"])
def test_paper_basis_chunk_groups_and_single_chunks_agree_bitwise(per_channel, dtype):
    """Long inputs go through the kernels several chunks side by side (on AVX-512 CPUs the
    paper basis's float forward joins chunk pairs into 16-float vectors); an input of one
    chunk goes alone. Each element's y and dx come out the same bits either way. (The
    general evaluator does not promise this: where several functions are summed, the
    compiler's multiply-add contraction differs between the two forms by an ulp.)"""
    rng = np.random.default_rng(7)
    # Per channel, rows of 24 channels: in stacks of four rows, a 16-channel column pair
    # and a single column; alone, a pair along the row and a single chunk.
    lanes, rows = (24 if per_channel else 8), 64
    x_np = rng.normal(scale=3.0, size=(rows, lanes))
    x_np[0, :4] = [0.0, -0.0, 1e-30, -50.0]
    x = tf.constant(x_np, dtype)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    shape = (lanes, len(PAPER)) if per_channel else (len(PAPER),)
    w = tf.constant(rng.uniform(-0.5, 1.0, size=shape), pdt)
    beta = tf.ones((lanes,) if per_channel else (), pdt)
    dy = tf.constant(rng.normal(size=(rows, lanes)), dtype)
    if not per_channel:  # one run of rows * lanes elements, against runs of one chunk
        x, dy = tf.reshape(x, [-1]), tf.reshape(dy, [-1])
    whole = [as_float64(t) for t in grads("op", x, w, beta, PAPER, -1, dy)[:2]]
    for r in range(rows):
        s = slice(r, r + 1) if per_channel else slice(r * lanes, (r + 1) * lanes)
        y, dx = grads("op", x[s], w, beta, PAPER, -1, dy[s])[:2]
        np.testing.assert_array_equal(as_float64(y), whole[0][s], err_msg=f"y, chunk {r}")
        np.testing.assert_array_equal(as_float64(dx), whole[1][s], err_msg=f"dx, chunk {r}")


@pytest.mark.parametrize("normalization", [None, "nrm", "abs", "pos", "soft"])
def test_normalizations_match_numpy(normalization):
    w = np.array([[0.5, -0.2, 1.0], [2.0, 1.0, -4.0]])
    got = normalize_weights(tf.constant(w), normalization).numpy()
    if normalization is None:
        want = w
    elif normalization == "nrm":
        want = w / w.sum(-1, keepdims=True)
    elif normalization == "abs":
        want = w / np.abs(w).sum(-1, keepdims=True)
    elif normalization == "pos":
        p = np.maximum(w, 0)
        want = p / p.sum(-1, keepdims=True)
    else:
        e = np.exp(w - w.max(-1, keepdims=True))
        want = e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_normalization_guards_a_zero_sum():
    w = tf.constant([1.0, -1.0, 0.0])
    for normalization in ("nrm", "pos"):
        assert np.all(np.isfinite(normalize_weights(w, normalization).numpy()))
    assert np.all(np.isfinite(normalize_weights(tf.zeros(3), "abs").numpy()))


def test_layer_weights_and_defaults():
    layer = tf_learnact.ABU()
    layer.build((None, 6))
    assert layer.basis == ("tanh", "elu", "relu", "identity", "swish")
    np.testing.assert_array_equal(layer.blend_weights.numpy(), np.full(5, 0.2, np.float32))
    layer = tf_learnact.ABU(per_channel=True, trainable_swish_beta=True)
    layer.build((None, 6))
    assert tuple(layer.blend_weights.shape) == (6, 5) and tuple(layer.swish_beta.shape) == (6,)
    scaling = tf_learnact.AdaptiveScaling("elu")
    scaling.build((None, 6))
    assert scaling.basis == ("elu",) and tuple(scaling.blend_weights.shape) == (1,)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(basis=("tanh", "nope")), "basis"),
        (dict(basis=()), "basis"),
        (dict(basis=("relu", "relu")), "basis"),
        (dict(normalization="l2"), "normalization"),
        (dict(implementation="fast"), "implementation"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tf_learnact.ABU(**kwargs)


@requires_ops
def test_raw_op_rejects_bad_basis_and_shapes():
    lib = op_library()
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="basis"):
        lib.tf_learnact_abu(tf.ones((2,)), tf.ones((1,)), tf.constant(1.0), basis=["cosh"])
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="basis|twice"):
        lib.tf_learnact_abu(tf.ones((2,)), tf.ones((2,)), tf.constant(1.0), basis=["relu", "relu"])
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="weights|Dimension"):
        lib.tf_learnact_abu(tf.ones((2,)), tf.ones((3,)), tf.constant(1.0), basis=["relu", "tanh"])


def regression(n=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (np.sin(2 * x[:, :1]) + np.abs(x[:, 1:2])).astype("float32")


@pytest.mark.parametrize(
    "implementation", ["op", "composite"] if tf_learnact.ops_available() else ["composite"]
)
@pytest.mark.parametrize("normalization", [None, "soft"])
def test_fit_lowers_loss_and_moves_weights(implementation, normalization):
    keras.utils.set_random_seed(0)
    x, y = regression()
    act = tf_learnact.ABU(
        per_channel=True,
        normalization=normalization,
        trainable_swish_beta=True,
        implementation=implementation,
    )
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), act, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = act.blend_weights.numpy().copy()
    history = model.fit(x, y, epochs=4, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert np.max(np.abs(act.blend_weights.numpy() - before)) > 1e-3


def test_frozen_pretrained_weights_stay():
    x, y = regression(128)
    act = tf_learnact.ABU()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), act, keras.layers.Dense(1)])
    act.blend_weights.assign([0.1, 0.2, 0.3, 0.4, 0.5])
    act.trainable = False
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(act.blend_weights.numpy(), np.float32([0.1, 0.2, 0.3, 0.4, 0.5]))


def test_jit_compile_trains():
    x, y = regression(128)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16), tf_learnact.ABU(), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][-1])


def test_keras_and_savedmodel_round_trips(tmp_path):
    x, y = regression(64)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16),
            tf_learnact.ABU(per_channel=True, normalization="pos", trainable_swish_beta=True),
            tf_learnact.AdaptiveScaling("tanh"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    model.export(str(tmp_path / "export"), verbose=False)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", model.predict(x, batch_size=len(x), verbose=0))  # serve sees one batch
    out = run_fresh_python(f"""
        import numpy as np, tensorflow as tf, tf_learnact
        m = tf.saved_model.load({str(tmp_path / "export")!r})
        y = m.serve(tf.constant(np.load({str(tmp_path / "x.npy")!r}))).numpy()
        print(np.array_equal(y, np.load({str(tmp_path / "y.npy")!r})))
    """)
    assert out.strip().splitlines()[-1] == "True"


PEAK_MEMORY_CODE = """
import numpy as np, tensorflow as tf, tf_learnact
from tf_learnact.ops.abu import abu
x = tf.random.stateless_normal((1 << 22,), (1, 2))
w = tf.fill((5,), 0.2)
basis = ("tanh", "elu", "relu", "identity", "swish")
def peak(impl):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = abu(x, w, basis=basis, implementation=impl)
        return tape.gradient(y, [x, w])
    step()
    tf.config.experimental.reset_memory_stats("CPU:0")
    base = tf.config.experimental.get_memory_info("CPU:0")["current"]
    step()
    return tf.config.experimental.get_memory_info("CPU:0")["peak"] - base
print(peak("op"), peak("composite"))
"""


@requires_ops
def test_backward_peak_memory_below_twin():
    out = run_fresh_python(PEAK_MEMORY_CODE, env_extra={"TF_CPU_ALLOCATOR_USE_BFC": "true"})
    op_peak, twin_peak = (int(v) for v in out.strip().splitlines()[-1].split())
    # 4M float32 = 16 MB per tensor: the op needs y and dx; the twin keeps basis outputs.
    assert op_peak < 0.5 * twin_peak, (op_peak, twin_peak)


def test_docstring_examples_run():
    result = doctest.testmod(abu_module)
    assert result.attempted >= 2 and result.failed == 0


@requires_ops
def test_auto_uses_the_op_and_the_twin_is_selectable():
    x = tf.ones((4, 3))

    def op_types(implementation):
        layer = tf_learnact.ABU(implementation=implementation)
        graph = tf.function(layer).get_concrete_function(x).graph
        return {op.type for op in graph.get_operations()}

    assert "TfLearnact>Abu" in op_types("auto")
    assert "TfLearnact>Abu" in op_types("op")
    assert "TfLearnact>Abu" not in op_types("composite")
