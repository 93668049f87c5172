"""The PWLU op against its twin, the paper's Eq. 1 and Table 1 (NumPy float64, written
piecewise as in the paper, independent of the table form), numeric gradients, edge
values (knots, bounds, NaN/Inf), empty tensors and bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import TWIN_RTOL, as_float64, assert_close, requires_ops, run_fresh_python

from tf_learnact.ops.library import op_library
from tf_learnact.ops.pwlu import pwlu, pwlu_table

pytestmark = requires_ops

LAYOUTS = [((3, 4, 11), -1, False), ((3, 4, 11), -1, True), ((2, 5, 3, 4), 1, True)]


def eq1(x, bl, br, y, kl, kr):
    """Paper Eq. 1-4 for one unit, float64."""
    n = y.size - 1
    d = (br - bl) / n
    idx = np.clip(np.floor((x - bl) / d), 0, n - 1).astype(int)
    b_idx = bl + idx * d
    k_idx = (y[idx + 1] - y[idx]) / d
    inner = (x - b_idx) * k_idx + y[idx]
    return np.where(x < bl, (x - bl) * kl + y[0], np.where(x >= br, (x - br) * kr + y[n], inner))


def table1(x, bl, br, y, kl, kr):
    """Paper Table 1: d/dx, d/dB_L, d/dB_R, d/dY_P [.., N+1], d/dK_L, d/dK_R per element."""
    n = y.size - 1
    d = (br - bl) / n
    idx = np.clip(np.floor((x - bl) / d), 0, n - 1).astype(int)
    b_idx = bl + idx * d
    k_idx = (y[idx + 1] - y[idx]) / d
    left, right = x < bl, x >= br
    inner = ~left & ~right
    dx = np.where(left, kl, np.where(right, kr, k_idx))
    dbl = np.where(left, -kl, np.where(right, 0.0, k_idx * (x - br) / (br - bl)))
    dbr = np.where(left, 0.0, np.where(right, -kr, k_idx * (bl - x) / (br - bl)))
    dy = np.zeros(x.shape + (n + 1,))
    rows = np.arange(x.size)
    flat = dy.reshape(-1, n + 1)
    flat[rows[inner.ravel()], idx.ravel()[inner.ravel()]] += ((b_idx + d - x) / d).ravel()[inner.ravel()]
    flat[rows[inner.ravel()], idx.ravel()[inner.ravel()] + 1] += ((x - b_idx) / d).ravel()[inner.ravel()]
    flat[rows[left.ravel()], 0] += 1.0
    flat[rows[right.ravel()], n] += 1.0
    dkl = np.where(left, x - bl, 0.0)
    dkr = np.where(right, x - br, 0.0)
    return dx, dbl, dbr, dy, dkl, dkr


def make_params(seed, channels, n, dtype):
    rng = np.random.default_rng(seed)
    shape = (channels,) if channels else ()
    bl = rng.uniform(-2.5, -1.0, shape)
    br = rng.uniform(1.0, 2.5, shape)
    y = rng.normal(size=shape + (n + 1,))
    kl = rng.uniform(-0.5, 0.5, shape)
    kr = rng.uniform(0.5, 1.5, shape)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    return [tf.constant(v, pdt) for v in (bl, br, y, kl, kr)]


def per_unit(fn, x, params, axis, per_channel):
    """Applies a one-unit NumPy reference per channel (or once per layer)."""
    x = as_float64(x)
    p = [as_float64(v) for v in params]
    if not per_channel:
        return fn(x, *p)
    xm = np.moveaxis(x, axis, -1)
    outs = [fn(xm[..., c], *(v[c] for v in p)) for c in range(xm.shape[-1])]
    return outs


def grads(impl, x, params, dy, axis):
    with tf.GradientTape() as tape:
        tape.watch([x, *params])
        y = pwlu(x, *params, axis=axis, implementation=impl)
    return (y, *tape.gradient(y, [x, *params], output_gradients=dy))


@pytest.mark.parametrize("n", [1, 4, 16])
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first"])
def test_forward_matches_twin_and_eq1(n, shape, axis, per_channel, dtype):
    rng = np.random.default_rng(n)
    x = tf.constant(rng.uniform(-4, 4, shape), dtype)  # inside and outside the bounds
    params = make_params(n, shape[axis] if per_channel else None, n, dtype)
    y_op = pwlu(x, *params, axis=axis, implementation="op")
    y_twin = pwlu(x, *params, axis=axis, implementation="composite")
    assert y_op.dtype == dtype
    assert_close(y_op, y_twin, TWIN_RTOL[dtype], err_msg="op vs twin")
    ref = per_unit(eq1, x, params, axis, per_channel)
    if per_channel:
        ref = np.moveaxis(np.stack(ref, -1), -1, axis)
    rtol = 1e-12 if dtype == tf.float64 else max(TWIN_RTOL[dtype], 1e-5)
    assert_close(y_op, ref, rtol, err_msg="op vs Eq. 1")


@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first"])
def test_gradients_match_table1(shape, axis, per_channel, dtype):
    n = 6
    rng = np.random.default_rng(3)
    params = make_params(4, shape[axis] if per_channel else None, n, dtype)
    x = tf.constant(rng.uniform(-4, 4, shape), dtype)
    dy = tf.cast(tf.random.stateless_uniform(shape, (1, 2), -1, 1), dtype)
    op = grads("op", x, params, dy, axis)
    x64, dy64 = as_float64(x), as_float64(dy)
    # Table 1 per element, contracted with dy and summed per unit.
    if per_channel:
        xm, dym = np.moveaxis(x64, axis, -1), np.moveaxis(dy64, axis, -1)
        per = [table1(xm[..., c], *(as_float64(p)[c] for p in params)) for c in range(xm.shape[-1])]
        ref_dx = np.moveaxis(np.stack([g[0] for g in per], -1), -1, axis) * dy64
        ref_params = [
            np.stack(
                [
                    np.sum(
                        g[k] * (dym[..., c] if g[k].ndim == dym[..., c].ndim else dym[..., c][..., None]),
                        axis=tuple(range(dym[..., c].ndim)),
                    )
                    for c, g in enumerate(per)
                ]
            )
            for k in range(1, 6)
        ]
    else:
        g = table1(x64, *(as_float64(p) for p in params))
        ref_dx = g[0] * dy64
        ref_params = [
            np.sum(g[k] * (dy64 if g[k].ndim == dy64.ndim else dy64[..., None]), axis=tuple(range(dy64.ndim)))
            for k in range(1, 6)
        ]
    rtol = {tf.float16: 4e-3, tf.bfloat16: 3e-2, tf.float32: 1e-4, tf.float64: 1e-9}[dtype]
    assert_close(op[1], ref_dx, rtol, err_msg="dx")
    for name, got, want in zip(("B_L", "B_R", "Y_P", "K_L", "K_R"), op[2:], ref_params, strict=True):
        assert_close(got, want, rtol, atol_scale=float(np.max(np.abs(want))) + 1, err_msg=name)


@pytest.mark.parametrize(
    "shape,axis,per_channel",
    # Several blocks and thread tasks; channels-last rows of several chunks plus a tail;
    # 300 channels: blocks enlarged to 16 elements per partial value (three, one short).
    [
        ((1100000,), -1, False),
        ((3000, 37), -1, True),
        ((400, 70), -1, True),
        ((1500, 300), -1, True),
        ((5, 6, 3000), 1, True),
    ],
    ids=["layer_block_ranges", "last", "last_many_chunks", "last_wide", "first"],
)
def test_many_blocks_match_twin(shape, axis, per_channel):
    """Large inputs, against the float32 twin's forward and autodiff gradients (float32
    both, as near a knot float32 and float64 may pick different segments)."""
    rng = np.random.default_rng(5)
    params = make_params(6, shape[axis] if per_channel else None, 16, tf.float32)
    x = tf.constant(rng.uniform(-4, 4, shape), tf.float32)
    dy = tf.random.stateless_uniform(shape, (1, 2), -1, 1)
    op = grads("op", x, params, dy, axis)
    ref = grads("composite", x, params, dy, axis)
    assert_close(op[0], ref[0], 1e-5, err_msg="y")
    for name, got, want in zip(("dx", "B_L", "B_R", "Y_P", "K_L", "K_R"), op[1:], ref[1:], strict=True):
        assert_close(got, want, 1e-4, atol_scale=float(np.max(np.abs(want.numpy()))) + 1, err_msg=name)


@requires_ops
@pytest.mark.parametrize(
    "shape,axis,per_channel",
    # bfloat16 chunk pairs along runs (with a single chunk and a tail after them) and
    # across rows (groups of 16 channels, then a single chunk of 8 and a channel tail).
    [((2000 + 13,), -1, False), ((300, 64), -1, True), ((200, 37), -1, True), ((4, 5, 58), 1, True)],
    ids=["layer", "last_64", "last_37", "first"],
)
def test_bfloat16_storage_computes_what_float32_computes(shape, axis, per_channel):
    """The bfloat16 kernels (whose chunk pairs put the even and odd elements, or channels,
    in separate vectors) against the float32 kernels on the same values: y and dx are
    the float32 results rounded, the parameter sums agree to float32 rounding."""
    rng = np.random.default_rng(11)
    params = make_params(12, shape[axis] if per_channel else None, 16, tf.float32)
    x = tf.cast(tf.constant(rng.uniform(-4, 4, shape), tf.float32), tf.bfloat16)
    dy = tf.cast(tf.random.stateless_uniform(shape, (3, 4), -1, 1), tf.bfloat16)
    got = grads("op", x, params, dy, axis)
    want = grads("op", tf.cast(x, tf.float32), params, tf.cast(dy, tf.float32), axis)
    for name, g, w in zip(("y", "dx"), got[:2], want[:2], strict=True):
        np.testing.assert_array_equal(as_float64(g), as_float64(tf.cast(w, tf.bfloat16)), err_msg=name)
    for name, g, w in zip(("B_L", "B_R", "Y_P", "K_L", "K_R"), got[2:], want[2:], strict=True):
        assert_close(g, w, 1e-5, atol_scale=float(np.max(np.abs(w.numpy()))) + 1, err_msg=name)


@pytest.mark.parametrize("per_channel", [False, True])
def test_gradients_match_numeric_float64(per_channel):
    n = 5
    params = make_params(7, 3 if per_channel else None, n, tf.float64)
    rng = np.random.default_rng(8)
    x = rng.uniform(-4, 4, (4, 3))
    # Away from knots and bounds (the derivative jumps there).
    bl, br = (as_float64(p) for p in params[:2])
    d = (br - bl) / n
    frac = ((x - bl) / d) % 1.0
    x = np.where((frac < 0.05) | (frac > 0.95), x + 0.1 * d, x)
    x = tf.constant(x)

    def f(x, bl, br, y, kl, kr):
        return pwlu(x, bl, br, y, kl, kr, implementation="op")

    theoretical, numerical = tf.test.compute_gradient(f, [x, *params], delta=1e-6)
    for t, nm in zip(theoretical, numerical, strict=True):
        np.testing.assert_allclose(t, nm, rtol=1e-5, atol=1e-6)


def test_knots_bounds_and_non_finite_values(dtype):
    n = 4
    bl, br = -2.0, 2.0
    heights = np.array([0.5, -1.0, 0.0, 2.0, 1.0])
    params = [
        tf.constant(v, tf.float64 if dtype == tf.float64 else tf.float32)
        for v in (bl, br, heights, 0.25, 0.75)
    ]
    knots = np.linspace(bl, br, n + 1)
    x = np.concatenate([knots, [np.nextafter(br, -10), np.nextafter(bl, 10), np.nan, np.inf, -np.inf]])
    xt = tf.constant(x, dtype)
    y_op, dx, *_ = grads("op", xt, params, tf.ones_like(xt), -1)
    y_op = as_float64(y_op)
    # On every knot the output is that knot's height (whichever side the row lookup picks).
    np.testing.assert_allclose(
        y_op[: n + 1], heights, atol={tf.bfloat16: 2e-2, tf.float16: 2e-3}.get(dtype, 1e-6)
    )
    assert np.isnan(y_op[-3]) and y_op[-2] == np.inf and y_op[-1] == -np.inf
    np.testing.assert_array_equal(
        np.isnan(y_op), np.isnan(as_float64(pwlu(xt, *params, implementation="composite")))
    )
    assert np.all(np.isfinite(as_float64(dx)[:-3]))


def test_empty_input(dtype):
    params = make_params(1, 3, 4, dtype)
    x = tf.zeros((0, 3), dtype)
    y, dx, *dp = grads("op", x, params, tf.zeros_like(x), -1)
    assert y.shape == (0, 3) and dx.shape == (0, 3)
    for g, p in zip(dp, params, strict=True):
        np.testing.assert_array_equal(as_float64(g), np.zeros(p.shape))


def test_bad_parameters_raise_naming_the_parameter():
    lib = op_library()
    x = tf.ones((2, 3))
    table = tf.ones((6,))
    with pytest.raises(tf.errors.InvalidArgumentError, match="left_bound must be < right_bound"):
        lib.tf_learnact_pwlu(x, tf.constant(1.0), tf.constant(1.0), table, table)
    with pytest.raises(tf.errors.InvalidArgumentError, match="finite"):
        lib.tf_learnact_pwlu(x, tf.constant(-np.inf), tf.constant(1.0), table, table)
    with pytest.raises(tf.errors.InvalidArgumentError, match="finite"):
        lib.tf_learnact_pwlu(x, tf.constant(0.0), tf.constant(np.nan), table, table)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="intervals|rows"):
        lib.tf_learnact_pwlu(x, tf.constant(0.0), tf.constant(1.0), tf.ones((2,)), tf.ones((2,)))
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="Dimension|channel|slopes"):
        lib.tf_learnact_pwlu(x, tf.zeros((4,)), tf.ones((4,)), tf.ones((4, 6)), tf.ones((4, 6)))
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="right_bound|left_bound|rank"):
        lib.tf_learnact_pwlu(x, tf.zeros((3,)), tf.ones((2,)), tf.ones((3, 6)), tf.ones((3, 6)))
    with pytest.raises(ValueError, match="heights"):
        pwlu(x, 0.0, 1.0, tf.ones((1,)), 0.0, 1.0)
    huge_table = tf.zeros(((1 << 24) + 1,))  # row indices are exact in float up to 2^24
    with pytest.raises(tf.errors.InvalidArgumentError, match="slopes/offsets .* too large"):
        lib.tf_learnact_pwlu(x, tf.constant(0.0), tf.constant(1.0), huge_table, huge_table)


@pytest.mark.parametrize("pdt", [tf.float32, tf.float64], ids=lambda d: d.name)
@pytest.mark.parametrize("channels", [None, 7])
@pytest.mark.parametrize("n", [1, 3, 16, 37])
def test_table_op_builds_the_twins_table_bit_for_bit(n, channels, pdt):
    params = make_params(n, channels, n, pdt)
    got = op_library().tf_learnact_pwlu_table(*params)
    want = pwlu_table(*params)  # eager: each stock op as written
    for name, g, w in zip(("slopes", "offsets"), got, want, strict=True):
        assert g.shape == w.shape == params[2].shape[:-1] + (n + 2,)
        np.testing.assert_array_equal(g.numpy(), w.numpy(), err_msg=name)


@pytest.mark.parametrize("pdt", [tf.float32, tf.float64], ids=lambda d: d.name)
@pytest.mark.parametrize("channels", [None, 5])
@pytest.mark.parametrize("n", [1, 2, 16])
def test_table_gradient_op_is_the_chain_rule_through_the_twins_table(n, channels, pdt):
    params = make_params(10 + n, channels, n, pdt)
    rng = np.random.default_rng(n)
    table_shape = params[2].shape[:-1] + (n + 2,)
    d_slopes, d_offsets = (tf.constant(rng.normal(size=table_shape), pdt) for _ in range(2))
    got = op_library().tf_learnact_pwlu_table_grad(d_slopes, d_offsets, *params)
    with tf.GradientTape() as tape:
        tape.watch(params)
        table = pwlu_table(*params)
    want = tape.gradient(table, params, output_gradients=[d_slopes, d_offsets])
    rtol = 1e-12 if pdt == tf.float64 else 2e-5
    for name, g, w, p in zip(("B_L", "B_R", "Y_P", "K_L", "K_R"), got, want, params, strict=True):
        assert g.shape == p.shape, name
        assert_close(g, w, rtol, atol_scale=float(np.max(np.abs(w.numpy()))) + 1, err_msg=name)


@pytest.mark.parametrize("channels", [None, 3])
def test_table_op_gradient_is_the_twins_and_numeric_float64(channels):
    params = make_params(5, channels, 4, tf.float64)
    for table in (lambda *p: op_library().tf_learnact_pwlu_table(*p), pwlu_table):
        for output in (0, 1):  # slopes, offsets
            theoretical, numerical = tf.test.compute_gradient(
                lambda *p, table=table, output=output: table(*p)[output], params, delta=1e-6
            )
            for t, nm in zip(theoretical, numerical, strict=True):
                np.testing.assert_allclose(t, nm, rtol=1e-6, atol=1e-7)
    # Second derivatives go through the twin's autodiff.
    with tf.GradientTape() as outer:
        outer.watch(params)
        with tf.GradientTape() as inner:
            inner.watch(params)
            s, o = op_library().tf_learnact_pwlu_table(*params)
            loss = tf.reduce_sum(s * o)
        first = inner.gradient(loss, params[0])
    second = outer.gradient(first, params[2])
    with tf.GradientTape() as outer:
        outer.watch(params)
        with tf.GradientTape() as inner:
            inner.watch(params)
            s, o = pwlu_table(*params)
            loss = tf.reduce_sum(s * o)
        first = inner.gradient(loss, params[0])
    np.testing.assert_allclose(second.numpy(), outer.gradient(first, params[2]).numpy(), rtol=1e-12)


def test_table_op_bad_inputs_name_the_argument():
    table = op_library().tf_learnact_pwlu_table
    zero, one = tf.constant(0.0), tf.constant(1.0)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="heights"):
        table(zero, one, tf.ones((1,)), zero, one)  # N = 0
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="rank|heights"):
        table(zero, one, tf.ones((2, 3, 4)), zero, one)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="left_slope|Dimension|rank"):
        table(tf.zeros((3,)), tf.ones((3,)), tf.ones((3, 5)), tf.zeros((2,)), tf.ones((3,)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="left_bound must be < right_bound"):
        table(one, one, tf.ones((5,)), zero, one)
    with pytest.raises(tf.errors.InvalidArgumentError, match="finite"):
        table(zero, tf.constant(np.inf), tf.ones((5,)), zero, one)
    with pytest.raises(tf.errors.InvalidArgumentError, match="heights of shape .* too large"):
        table(zero, one, tf.zeros((1 << 24,)), zero, one)  # N + 2 = 2^24 + 1 rows

    # Shapes unknown when traced: Compute checks them.
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)] * 5)
    def f(*params):
        return table(*params)

    with pytest.raises(tf.errors.InvalidArgumentError, match="right_slope must have shape"):
        f(tf.zeros((3,)), tf.ones((3,)), tf.ones((3, 5)), tf.zeros((3,)), tf.ones((2,)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="heights must have shape"):
        f(zero, one, tf.ones((1,)), zero, one)
    grad = op_library().tf_learnact_pwlu_table_grad
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="d_slopes|Dimension|Shapes"):
        grad(tf.ones((6,)), tf.ones((7,)), zero, one, tf.ones((5,)), zero, one)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="heights"):
        grad(tf.ones((3,)), tf.ones((3,)), zero, one, tf.ones((1,)), zero, one)


def test_bad_bounds_caught_in_compute_inside_tf_function():
    lib = op_library()

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)] * 5)
    def f(x, bl, br, s, o):
        return lib.tf_learnact_pwlu(x, bl, br, s, o)

    with pytest.raises(tf.errors.InvalidArgumentError, match="left_bound"):
        f(tf.ones((2, 3)), tf.constant([0.0, 2.0, 0.0]), tf.ones((3,)), tf.ones((3, 6)), tf.ones((3, 6)))


PWLU_DETERMINISM = """
import sys, numpy as np, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads({threads})
import tf_learnact
from tf_learnact.ops.pwlu import pwlu
rng = np.random.default_rng(0)
out = []
for shape, c in [((1200000,), None), ((5000, 40), 40)]:
    x = tf.constant(rng.normal(size=shape), tf.float32)
    lead = (c,) if c else ()
    p = [tf.constant(v, tf.float32) for v in (np.full(lead, -2.0), np.full(lead, 2.0),
         rng.normal(size=lead + (17,)), np.full(lead, 0.1), np.full(lead, 0.9))]
    with tf.GradientTape() as tape:
        tape.watch(p)
        y = pwlu(x, *p, implementation="op")
    out += [g.numpy().tobytes().hex() for g in tape.gradient(y, p)]
print("|".join(out))
"""


def test_parameter_gradients_bit_identical_across_threads():
    assert run_fresh_python(PWLU_DETERMINISM.format(threads=1)) == run_fresh_python(
        PWLU_DETERMINISM.format(threads=2)
    )


def edge_values(rng, size, params):
    """Uniform values over and past the bounds, with every knot, its float32 neighbours,
    NaN, +-Inf and huge magnitudes spread among them."""
    bl, br = (float(np.ravel(as_float64(p))[0]) for p in params[:2])
    n = params[2].shape[-1] - 1
    knots = np.linspace(bl, br, n + 1).astype(np.float32)
    special = np.concatenate(
        [
            knots,
            np.nextafter(knots, np.float32(-np.inf)),
            np.nextafter(knots, np.float32(np.inf)),
            np.float32([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0]),
        ]
    )
    x = rng.uniform(2 * bl, 2 * br, size).astype(np.float32)
    x[rng.choice(size, min(size, special.size), replace=False)] = special[: min(size, special.size)]
    return x


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16, tf.float16], ids=lambda d: d.name)
@pytest.mark.parametrize("n", [16, 30, 31])
@pytest.mark.parametrize("size", [1, 15, 16, 17, 1000 + 7, 200_003])
def test_register_table_forward_gives_the_general_walks_bits(n, size, dtype):
    """On CPUs with AVX-512 the forward along runs holds tables of up to 32 rows
    (N <= 30) in registers where it computes in float32; rows across channels
    (channels-last) always take the general walk. One function both ways (per layer vs
    the same parameters in every channel, and channels-first vs channels-last): the same
    bits, NaN where NaN."""
    rng = np.random.default_rng(size + n)
    channels = 4
    layer_params = make_params(n, None, n, tf.float32)
    x = edge_values(rng, size * channels, layer_params)
    rows_last = tf.cast(tf.constant(x.reshape(size, channels)), dtype)
    per_layer = pwlu(rows_last, *layer_params, implementation="op")
    repeated = [tf.repeat(p[None], channels, axis=0) for p in layer_params]
    across_rows = pwlu(rows_last, *repeated, axis=-1, implementation="op")
    np.testing.assert_array_equal(as_float64(per_layer), as_float64(across_rows))

    channel_params = make_params(n + 1, channels, n, tf.float32)
    last = pwlu(rows_last, *channel_params, axis=-1, implementation="op")
    first = pwlu(tf.transpose(rows_last), *channel_params, axis=0, implementation="op")
    np.testing.assert_array_equal(as_float64(tf.transpose(first)), as_float64(last))


def test_register_table_forward_streams_large_outputs_with_the_same_bits():
    # 8.4M float32: an output past kStreamOutBytes, written with non-temporal stores.
    rng = np.random.default_rng(3)
    params = make_params(4, None, 16, tf.float32)
    x = tf.constant(edge_values(rng, (1 << 23) + 36, params).reshape(-1, 4))
    repeated = [tf.repeat(p[None], 4, axis=0) for p in params]
    np.testing.assert_array_equal(
        pwlu(x, *params, implementation="op").numpy(), pwlu(x, *repeated, implementation="op").numpy()
    )
