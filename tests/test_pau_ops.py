"""The PAU custom op against its composite twin, the NumPy float64 formula and
numeric gradients: every version, several degrees, per-layer and per-channel,
channels-last and channels-first, all dtypes, edge values and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import TWIN_RTOL, as_float64, assert_close, requires_ops, run_fresh_python

from tf_learnact.coefficients import initial_coefficients, pau_numpy
from tf_learnact.numpy_reference import pau_layer_numpy
from tf_learnact.ops.library import op_library
from tf_learnact.ops.pau import denominator_size, pau, pau_composite

pytestmark = requires_ops

VERSIONS = ["A", "B", "C", "N"]
DEGREES = [(5, 4), (3, 2), (0, 0), (2, 0), (1, 3), (7, 6)]
# (x shape, axis, per_channel): per layer; channels-last (row mode, 11 = 8 + tail);
# channels-first (runs of inner elements).
LAYOUTS = [((3, 4, 11), -1, False), ((3, 4, 11), -1, True), ((2, 5, 3, 4), 1, True)]
# Relative tolerance of gradients against a float64 (or long double) reference.
GRAD_RTOL = {tf.float16: 4e-3, tf.bfloat16: 3e-2, tf.float32: 1e-4, tf.float64: 1e-10}


def random_coefficients(rng, degrees, version, channels=None):
    """Leaky-ReLU-like coefficients with per-channel jitter (N kept pole-free on [-3, 3])."""
    m, n = degrees
    num, den = initial_coefficients("leaky_relu", degrees, "A" if version == "N" else version)
    if version == "N":
        den = np.abs(den) * np.where(np.arange(den.size) % 2, 1.0, 0.0)  # even powers only
    shape = (channels,) if channels else ()
    num = num * (1 + 0.2 * rng.uniform(-1, 1, shape + num.shape))
    den = den * (1 + 0.2 * rng.uniform(-1, 1, shape + den.shape))
    assert den.shape[-1] == denominator_size(n, version)
    return num, den


def make_case(seed, shape, axis, per_channel, degrees, version, dtype, scale=2.5):
    rng = np.random.default_rng(seed)
    channels = shape[axis] if per_channel else None
    num, den = random_coefficients(rng, degrees, version, channels)
    x = rng.uniform(-scale, scale, shape)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    return tf.constant(x, dtype), tf.constant(num, pdt), tf.constant(den, pdt)


def numpy_forward(x, num, den, axis, version):
    """NumPy float64 reference for per-layer or per-channel coefficients."""
    x, num, den = as_float64(x), as_float64(num), as_float64(den)
    if num.ndim == 1:
        return pau_numpy(x, num, den, version)[0]
    xm = np.moveaxis(x, axis, -1)
    y = np.stack([pau_numpy(xm[..., c], num[c], den[c], version)[0] for c in range(num.shape[0])], -1)
    return np.moveaxis(y, -1, axis)


def grads(fn, x, num, den, dy, **kwargs):
    with tf.GradientTape() as tape:
        tape.watch([x, num, den])
        y = fn(x, num, den, **kwargs)
    return (y, *tape.gradient(y, [x, num, den], output_gradients=dy))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("degrees", DEGREES, ids=str)
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first"])
def test_forward_matches_twin_and_numpy(version, degrees, shape, axis, per_channel, dtype):
    x, num, den = make_case(1, shape, axis, per_channel, degrees, version, dtype)
    y_op = pau(x, num, den, version=version, axis=axis, implementation="op")
    y_twin = pau_composite(x, num, den, version=version, axis=axis)
    assert y_op.dtype == dtype and y_op.shape == x.shape
    assert_close(y_op, y_twin, TWIN_RTOL[dtype], err_msg="op vs twin")
    # The formula on the same (rounded) inputs, in float64.
    ref_rtol = 1e-12 if dtype == tf.float64 else max(TWIN_RTOL[dtype], 1e-5)
    assert_close(y_op, numpy_forward(x, num, den, axis, version), ref_rtol, err_msg="op vs numpy")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("degrees", [(5, 4), (2, 3), (0, 1)], ids=str)
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first"])
def test_gradients_match_twin_autodiff(version, degrees, shape, axis, per_channel, dtype):
    x, num, den = make_case(2, shape, axis, per_channel, degrees, version, dtype)
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (3, 4), -1, 1), dtype)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version=version, axis=axis)
    # Reference: twin autodiff on the same inputs in float64.
    ref = grads(
        pau_composite,
        tf.cast(x, tf.float64),
        tf.cast(num, tf.float64),
        tf.cast(den, tf.float64),
        tf.cast(dy, tf.float64),
        version=version,
        axis=axis,
    )
    assert op[1].dtype == dtype and op[2].dtype == num.dtype and op[3].dtype == den.dtype
    rtol = GRAD_RTOL[dtype]
    assert_close(op[1], ref[1], rtol, err_msg="dx")
    # Parameter gradients are sums over elements: scale the tolerance by their magnitude.
    for name, g, r in (("d_numerator", op[2], ref[2]), ("d_denominator", op[3], ref[3])):
        scale = float(np.max(np.abs(as_float64(r)))) + 1.0
        assert_close(g, r, rtol, atol_scale=scale, err_msg=name)


@pytest.mark.parametrize("version", ["A", "C"])
@pytest.mark.parametrize("degrees", [(5, 4), (1, 3), (7, 6)], ids=str)
@pytest.mark.parametrize("shape", [(20, 11), (1000, 37), (7, 8), (5, 2)], ids=str)
def test_stacked_rows_backward_matches_twin(version, degrees, shape, dtype):
    """The channels-last backward in stacks of three rows (rows of at most 256 bytes),
    whose three chunks' gradient terms are added before each partial's store: rows left
    over after the stacks (20 and 1000 rows; 1000 in three blocks), a whole chunk without
    a tail (8 channels) and a tail alone (2), a denominator longer than the numerator
    (1, 3), against the float64 twin."""
    x, num, den = make_case(9, shape, -1, True, degrees, version, dtype)
    dy = tf.cast(tf.random.stateless_uniform(shape, (2, 5), -1, 1), dtype)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version=version, axis=-1)
    ref = grads(
        pau_composite,
        *(tf.cast(t, tf.float64) for t in (x, num, den, dy)),
        version=version,
        axis=-1,
    )
    rtol = GRAD_RTOL[dtype]
    assert_close(op[1], ref[1], rtol, err_msg="dx")
    for name, g, r in (("d_numerator", op[2], ref[2]), ("d_denominator", op[3], ref[3])):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(r.numpy()))) + 1, err_msg=name)


# bfloat16 chunk pairs along runs (each with a single chunk and a tail after them) and
# across rows of several blocks (59 channels: three pairs, a single chunk, a tail of 3);
# per channel along runs too (channels-first).
BF16_LAYOUTS = [((2000 + 13,), -1, False), ((600, 59), -1, True), ((4, 5, 58), 1, True)]


@requires_ops
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("degrees", DEGREES, ids=str)
@pytest.mark.parametrize("shape,axis,per_channel", BF16_LAYOUTS, ids=["layer", "last", "first"])
def test_bfloat16_storage_computes_what_float32_computes(version, degrees, shape, axis, per_channel):
    """The bfloat16 kernels (whose chunk pairs along a run put the even and odd elements
    in separate vectors) against the float32 kernels on the same values: y and dx are
    the float32 results to a bfloat16 ulp, the coefficient sums agree to float32 rounding."""
    x, num, den = make_case(13, shape, axis, per_channel, degrees, version, tf.bfloat16)
    dy = tf.cast(tf.random.stateless_uniform(shape, (5, 6), -1, 1), tf.bfloat16)
    got = grads(pau, x, num, den, dy, version=version, axis=axis, implementation="op")
    x32, dy32 = tf.cast(x, tf.float32), tf.cast(dy, tf.float32)
    want = grads(pau, x32, num, den, dy32, version=version, axis=axis, implementation="op")
    # Within a bfloat16 ulp (2^-7 relative) of the float32 result: its rounding, and FMA
    # contraction, which may differ between the two kernels' code.
    for name, g, w in zip(("y", "dx"), got[:2], want[:2], strict=True):
        assert_close(g, w, 2.0**-7, atol_scale=1e-3, err_msg=name)
    for name, g, w in zip(("numerator", "denominator"), got[2:], want[2:], strict=True):
        assert_close(g, w, 1e-5, atol_scale=float(np.max(np.abs(w.numpy()), initial=0.0)) + 1, err_msg=name)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("per_channel", [False, True])
def test_gradients_match_numeric_float64(version, per_channel):
    x, num, den = make_case(5, (2, 3, 4), -1, per_channel, (4, 3), version, tf.float64)
    # Keep x away from 0 and from sign changes of the denominator polynomial (kinks).
    x = tf.where(tf.abs(x) < 0.2, x + 0.5, x)

    def f(x, num, den):
        return pau(x, num, den, version=version, axis=-1, implementation="op")

    theoretical, numerical = tf.test.compute_gradient(f, [x, num, den], delta=1e-6)
    for t, n in zip(theoretical, numerical, strict=True):
        np.testing.assert_allclose(t, n, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("version", VERSIONS)
def test_kinks_at_zero_use_sign_zero(version):
    """x = 0 (and |.| arguments exactly 0) take sign(0) = 0, as the twin's autodiff."""
    x = tf.constant([0.0, -0.0, 1.0, -1.0, 0.0], tf.float64)
    num = tf.constant([0.1, 0.5, 0.2], tf.float64)
    den = tf.constant([0.0, 0.3, 0.0] if version == "C" else [0.3, 0.0], tf.float64)  # b with zeros too
    dy = tf.ones_like(x)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version=version)
    twin = grads(pau_composite, x, num, den, dy, version=version)
    for a, b in zip(op, twin, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("version", VERSIONS)
def test_huge_magnitudes_stay_finite(version, dtype):
    x = tf.constant([1e4, -1e4, 6e4, -6e4] if dtype == tf.float16 else [1e4, -1e4, 1e5, -1e5], dtype)
    num, den = (
        tf.constant(v, tf.float64 if dtype == tf.float64 else tf.float32)
        for v in initial_coefficients("leaky_relu", (5, 4), "A" if version == "N" else version)
    )
    if version == "N":
        den = tf.abs(den) * tf.constant([0.0, 1.0, 0.0, 1.0], den.dtype)
    dy = tf.ones_like(x)
    y, dx, dn, dd = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version=version)
    y_twin = pau_composite(x, num, den, version=version)
    if dtype == tf.float16:  # outputs beyond half range overflow to inf as a cast would
        np.testing.assert_array_equal(as_float64(y), as_float64(y_twin))
    else:
        assert np.all(np.isfinite(as_float64(y))) and np.all(np.isfinite(as_float64(dx)))
        assert_close(y, y_twin, TWIN_RTOL[dtype])
    assert np.all(np.isfinite(dn.numpy())) and np.all(np.isfinite(dd.numpy()))


# Inputs far outside any activation's range, where the powers of x overflow the compute
# type, are evaluated in long double (PauEvaluator::EvalBeyond): the reference is the
# formula in long double too.
requires_wide_long_double = pytest.mark.skipif(
    np.finfo(np.longdouble).maxexp <= np.finfo(np.float64).maxexp, reason="long double is float64 here"
)
# Largest input magnitude per storage type: half's range; float32's powers overflow from
# about 1.4e7 at (5, 4) (1e30 keeps every gradient term finite); float64's from about 1e61.
HUGE_DECADES = {tf.float16: 4.6, tf.bfloat16: 30, tf.float32: 30, tf.float64: 300}


def long_double_reference(x, num, den, dy, **kwargs):
    args = (np.asarray(as_float64(t), np.longdouble) for t in (x, num, den, dy))
    return [r.astype(np.float64) for r in pau_layer_numpy(*args, dtype=np.longdouble, **kwargs)]


def with_huge_elements(x, seed, max_decade, min_decade=3.0):
    """x with a third of its elements replaced by +-10^U(min_decade, max_decade)."""
    rng = np.random.default_rng(seed)
    v = as_float64(x)
    huge = rng.uniform(size=v.shape) < 1 / 3
    magnitude = 10 ** rng.uniform(min_decade, max_decade, v.shape)
    return tf.constant(
        np.where(huge, np.where(rng.uniform(size=v.shape) < 0.5, -1, 1) * magnitude, v), x.dtype
    )


def assert_matches_long_double(op, ref, dtype):
    y_rtol = 1e-12 if dtype == tf.float64 else max(TWIN_RTOL[dtype], 1e-5)
    assert_close(op[0], tf.cast(ref[0], dtype), y_rtol, err_msg="y")
    rtol = GRAD_RTOL[dtype]
    assert_close(op[1], ref[1], rtol, err_msg="dx")
    for name, g, r in (("d_numerator", op[2], ref[2]), ("d_denominator", op[3], ref[3])):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(r))) + 1.0, err_msg=name)


@requires_wide_long_double
@pytest.mark.parametrize("noise", [0.0, 0.1])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first"])
def test_inputs_beyond_the_powers_range_match_long_double(version, shape, axis, per_channel, noise, dtype):
    x, num, den = make_case(10, (8, *shape[1:]), axis, per_channel, (5, 4), version, dtype)
    x = with_huge_elements(x, 11, HUGE_DECADES[dtype])
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (9, 10), -1, 1), dtype)
    kwargs = dict(version=version, axis=axis, noise=noise, seed=99)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, **kwargs)
    ref = long_double_reference(
        x, num, den, dy, version=version, axis=axis if per_channel else None, noise=noise, seed=99
    )
    assert np.all(np.isfinite(as_float64(op[0]))) or dtype == tf.float16
    assert_matches_long_double(op, ref, dtype)


@requires_wide_long_double
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "shape,axis,per_channel", [((64, 3), -1, False), ((40, 19), -1, True)], ids=["layer", "chan"]
)
def test_degree_16_beyond_its_powers_range_matches_long_double(version, shape, axis, per_channel, dtype):
    """At degree 16, float32's powers overflow from |x| of about 160: x up to 1e4 (float64
    up to 1e100, where its own powers overflow)."""
    rng = np.random.default_rng(12)
    channels = (shape[axis],) if per_channel else ()
    num = rng.uniform(0.2, 1, channels + (17,)) * rng.choice([-1, 1], channels + (17,))
    den = rng.uniform(0.2, 1, channels + (denominator_size(16, version),))
    if version == "N":  # even powers with positive coefficients: no poles
        den = den * (np.arange(den.shape[-1]) % 2 == 1)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    num, den = tf.constant(num, pdt), tf.constant(den, pdt)
    decades = {tf.float16: 4.6, tf.float64: 100}.get(dtype, 4)
    x = with_huge_elements(tf.constant(rng.uniform(-2, 2, shape), dtype), 13, decades, min_decade=1.5)
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (11, 12), -1, 1), dtype)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version=version, axis=axis)
    ref = long_double_reference(x, num, den, dy, version=version, axis=axis if per_channel else None)
    assert_matches_long_double(op, ref, dtype)


@requires_wide_long_double
@pytest.mark.parametrize("noise", [0.0, 0.2])
@pytest.mark.parametrize("shape,axis,per_channel", [((49252,), -1, False), ((4000, 19), -1, True)], ids=str)
def test_one_huge_element_among_many_blocks_matches_long_double(shape, axis, per_channel, noise, dtype):
    """The block holding the huge element is evaluated again (its partial sums with it);
    the other blocks keep the lane kernel's sums."""
    x, num, den = make_case(14, shape, axis, per_channel, (5, 4), "B", dtype)
    flat = as_float64(x).reshape(-1).copy()
    flat[flat.size // 2 + 3] = 6e4 if dtype == tf.float16 else 3e9
    x = tf.constant(flat.reshape(shape), dtype)
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (13, 14), -1, 1), dtype)
    kwargs = dict(version="B", axis=axis, noise=noise, seed=5)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, **kwargs)
    ref = long_double_reference(
        x, num, den, dy, version="B", axis=axis if per_channel else None, noise=noise, seed=5
    )
    assert_matches_long_double(op, ref, dtype)


def test_forward_streamed_past_the_caches_redoes_a_huge_block():
    """Outputs of 32 MiB or more leave through non-temporal stores: the block evaluated
    again over them ends as the long double values, every other element unchanged."""
    n = 9 << 20
    x, num, den = make_case(15, (n,), -1, False, (5, 4), "B", tf.float32)
    huge_at = n // 2 + 5
    flat = x.numpy().copy()
    flat[huge_at] = 1e30
    y_clean = pau(x, num, den, implementation="op").numpy()
    y = pau(tf.constant(flat), num, den, implementation="op").numpy()
    window = slice(huge_at - (1 << 17), huge_at + (1 << 17))  # holds the element's block
    outside = np.ones(n, bool)
    outside[window] = False
    np.testing.assert_array_equal(y[outside], y_clean[outside])
    ld = np.longdouble
    ref = pau_layer_numpy(flat[window].astype(ld), num.numpy().astype(ld), den.numpy().astype(ld), dtype=ld)
    assert_close(y[window], ref.astype(np.float64), 1e-5)


def test_nan_and_inf_propagate_without_crash(dtype):
    x = tf.constant([np.nan, np.inf, -np.inf, 1.0, 0.5], dtype)
    num, den = (
        tf.constant(v, tf.float64 if dtype == tf.float64 else tf.float32)
        for v in initial_coefficients("leaky_relu")
    )
    y, dx, dn, dd = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, tf.ones_like(x))
    y, dx = as_float64(y), as_float64(dx)
    assert np.isnan(y[0]) and np.isnan(dx[0])
    np.testing.assert_array_equal(np.isnan(y), np.isnan(as_float64(pau_composite(x, num, den))))
    assert np.all(np.isfinite(y[3:])) and np.all(np.isfinite(dx[3:]))
    assert dn.shape == num.shape and dd.shape == den.shape


@pytest.mark.parametrize("per_channel", [False, True])
def test_empty_input(per_channel, dtype):
    x = tf.zeros((0, 3), dtype)
    pdt = tf.float64 if dtype == tf.float64 else tf.float32
    shape = (3,) if per_channel else ()
    num, den = tf.ones(shape + (6,), pdt), tf.ones(shape + (4,), pdt)
    y, dx, dn, dd = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, tf.zeros_like(x))
    assert y.shape == (0, 3) and dx.shape == (0, 3)
    np.testing.assert_array_equal(dn.numpy(), np.zeros(num.shape))
    np.testing.assert_array_equal(dd.numpy(), np.zeros(den.shape))


@pytest.mark.parametrize("version", ["B", "C"])
@pytest.mark.parametrize(
    "shape,axis,per_channel",
    # 1.1M elements: more blocks than thread-pool tasks, so each task walks a range of blocks.
    [((70000,), -1, False), ((1100000,), -1, False), ((600, 37), -1, True), ((5, 6, 3000), 1, True)],
    ids=["layer", "layer_block_ranges", "last", "first"],
)
def test_many_blocks_match_twin(version, shape, axis, per_channel):
    """Several blocks and threads, tails included, against the float64 twin."""
    x, num, den = make_case(7, shape, axis, per_channel, (5, 4), version, tf.float32)
    dy = tf.random.stateless_uniform(shape, (1, 2), -1, 1)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version=version, axis=axis)
    ref = grads(
        pau_composite,
        *(tf.cast(t, tf.float64) for t in (x, num, den)),
        tf.cast(dy, tf.float64),
        version=version,
        axis=axis,
    )
    assert_close(op[0], ref[0], 1e-5)
    for g, r in zip(op[1:], ref[1:], strict=True):
        assert_close(g, r, 1e-4, atol_scale=float(np.max(np.abs(r.numpy()))) + 1)


@pytest.mark.parametrize("channels", [256, 300, 1030])
def test_wide_rows_match_twin(channels, dtype):
    """Channels-last rows of 1 KiB or more, whose coefficient and partial rows lie padded
    apart (ChannelStride: 256 float channels padded by a line, 300 to a whole line), in
    blocks enlarged to hold 16 elements per partial value (three here, the last one
    short), with pairs, single chunks and tails, against the float64 twin; rows of 4 KiB
    or more (1030 channels of 4 or 8 bytes) go in stacks again (StackedRowsPay)."""
    shape = (400, channels)
    x, num, den = make_case(8, shape, -1, True, (5, 4), "B", dtype)
    dy = tf.cast(tf.random.stateless_uniform(shape, (1, 3), -1, 1), dtype)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, version="B", axis=-1)
    ref = grads(
        pau_composite,
        *(tf.cast(t, tf.float64) for t in (x, num, den)),
        tf.cast(dy, tf.float64),
        version="B",
        axis=-1,
    )
    rtol = GRAD_RTOL[dtype]
    for name, g, r in zip(("y", "dx"), op[:2], ref[:2], strict=True):
        assert_close(g, r, rtol, err_msg=name)
    for name, g, r in zip(("d_numerator", "d_denominator"), op[2:], ref[2:], strict=True):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(r.numpy()))) + 1, err_msg=name)


@pytest.mark.parametrize(
    "dtype,shape,axis,per_channel",
    [
        (tf.float32, (8_400_001,), -1, False),  # odd length: a partial last chunk
        (tf.float32, (3, 7, 400_003), 1, True),  # odd runs: chunks off 16-byte alignment
        (tf.float64, (4_200_001,), -1, False),
    ],
    ids=["float32_layer", "float32_first", "float64_layer"],
)
def test_outputs_past_cache_size_match_smaller_calls_bitwise(dtype, shape, axis, per_channel):
    """A forward output of 32 MiB or more is written with non-temporal stores: the same
    bits as the plain stores of calls on slices of it (each under 32 MiB)."""
    x, num, den = make_case(11, shape, axis, per_channel, (5, 4), "A", dtype)
    assert x.shape.num_elements() * x.dtype.size >= 32 << 20
    whole = pau(x, num, den, version="A", axis=axis, implementation="op").numpy()
    step = shape[0] // 3 if len(shape) == 1 else 1
    pieces = [
        pau(x[i : i + step], num, den, version="A", axis=axis, implementation="op").numpy()
        for i in range(0, shape[0], step)
    ]
    assert all(p.nbytes < 32 << 20 for p in pieces)
    np.testing.assert_array_equal(whole, np.concatenate(pieces))
    head = (slice(0, 1000),) if len(shape) == 1 else (slice(0, 1), slice(None), slice(0, 1000))
    assert_close(whole[head], numpy_forward(x[head], num, den, axis, "A"), 1e-5)


DETERMINISM_CODE = """
import sys, numpy as np, tensorflow as tf
threads = int(sys.argv[1]) if len(sys.argv) > 1 else 0
tf.config.threading.set_intra_op_parallelism_threads({threads})
import tf_learnact
from tf_learnact.ops.pau import pau
rng = np.random.default_rng(0)
out = []
cases = [((1200000,), False, 0.0), ((4000, 48), True, 0.0), ((300000,), False, 0.05)]
for shape, per_channel, noise in cases:
    x = tf.constant(rng.normal(size=shape), tf.float32)
    c = (shape[-1],) if per_channel else ()
    num = tf.constant(rng.uniform(0.1, 1, c + (6,)), tf.float32)
    den = tf.constant(rng.uniform(0.1, 1, c + (4,)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([num, den])
        y = pau(x, num, den, noise=noise, seed=3, implementation="op")
    g = tape.gradient(y, [num, den])
    out += [g[0].numpy().tobytes().hex(), g[1].numpy().tobytes().hex()]
print("|".join(out))
"""


def test_parameter_gradients_bit_identical_across_runs_and_threads():
    one = run_fresh_python(DETERMINISM_CODE.format(threads=1))
    two = run_fresh_python(DETERMINISM_CODE.format(threads=2))
    again = run_fresh_python(DETERMINISM_CODE.format(threads=2))
    assert one == two == again


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("shape,axis,per_channel", LAYOUTS, ids=["layer", "chan_last", "chan_first"])
def test_rpau_noise_matches_twin(version, shape, axis, per_channel, dtype):
    x, num, den = make_case(8, shape, axis, per_channel, (5, 4), version, dtype)
    kwargs = dict(version=version, axis=axis, noise=0.1, seed=12345)
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (5, 6), -1, 1), dtype)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, **kwargs)
    twin = grads(lambda *a, **k: pau(*a, implementation="composite", **k), x, num, den, dy, **kwargs)
    clean = pau(x, num, den, version=version, axis=axis, implementation="op")
    assert_close(op[0], twin[0], TWIN_RTOL[dtype], err_msg="noisy y")
    assert not np.array_equal(as_float64(op[0]), as_float64(clean)), "noise had no effect"
    rtol = GRAD_RTOL[dtype]
    for g, r in zip(op[1:], twin[1:], strict=True):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(as_float64(r)))) + 1)


@pytest.mark.parametrize(
    "shape,axis",
    [((3, 133), None), ((6, 45), -1), ((2, 3, 70), 1)],
    ids=["layer", "chan_last", "chan_first"],
)
def test_rpau_noise_matches_twin_over_groups_of_chunks(shape, axis, dtype):
    # Noisy coefficients are drawn four chunks (32 elements) at a time along runs and
    # rows: these layouts hold whole groups, single chunks and tails (the ones above are
    # too short for a group in rows and channel-first runs).
    per_channel = axis is not None
    x, num, den = make_case(9, shape, axis if per_channel else -1, per_channel, (5, 4), "B", dtype)
    kwargs = dict(axis=-1 if axis is None else axis, noise=0.2, seed=-77)
    dy = tf.cast(tf.random.stateless_uniform(x.shape, (7, 8), -1, 1), dtype)
    op = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, dy, **kwargs)
    twin = grads(lambda *a, **k: pau(*a, implementation="composite", **k), x, num, den, dy, **kwargs)
    assert_close(op[0], twin[0], TWIN_RTOL[dtype], err_msg="noisy y")
    rtol = GRAD_RTOL[dtype]
    for g, r in zip(op[1:], twin[1:], strict=True):
        assert_close(g, r, rtol, atol_scale=float(np.max(np.abs(as_float64(r)))) + 1)


def test_rpau_seed_reproducible_and_noise_bounded():
    x = tf.constant(np.linspace(-3, 3, 4001), tf.float64)
    num, den = (tf.constant(v) for v in initial_coefficients("leaky_relu", (5, 4), "B"))
    a = pau(x, num, den, noise=0.05, seed=7, implementation="op")
    b = pau(x, num, den, noise=0.05, seed=7, implementation="op")
    c = pau(x, num, den, noise=0.05, seed=8, implementation="op")
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    # Every noisy coefficient lies within c * (1 +- alpha): the output stays within the
    # extremes of that box (checked with all numerator coefficients scaled together).
    clean = pau(x, num, den, implementation="op").numpy()
    assert np.max(np.abs(a.numpy() - clean)) < 0.2 * np.max(np.abs(clean)) + 0.05
    assert np.std(a.numpy() - clean) > 1e-4


def test_bad_arguments_raise_naming_the_argument():
    lib = op_library()
    x = tf.ones((2, 3))
    seed = tf.constant(0, tf.int64)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="numerator"):
        lib.tf_learnact_pau(x, tf.ones((18,)), tf.ones((4,)), seed)  # m = 17
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="denominator"):
        lib.tf_learnact_pau(x, tf.ones((6,)), tf.ones((17,)), seed)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="channel|Dimension"):
        lib.tf_learnact_pau(x, tf.ones((4, 6)), tf.ones((4, 4)), seed)  # 4 rows, 3 channels
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="axis"):
        lib.tf_learnact_pau(x, tf.ones((3, 6)), tf.ones((3, 4)), seed, axis=5)
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="float64"):
        lib.tf_learnact_pau(tf.ones((2,), tf.float64), tf.ones((6,)), tf.ones((4,)), seed)
    with pytest.raises(ValueError, match="version"):
        pau(x, tf.ones((6,)), tf.ones((4,)), version="Z")
    with pytest.raises(ValueError, match="noise"):
        pau(x, tf.ones((6,)), tf.ones((4,)), noise=-0.1)
    with pytest.raises(ValueError, match="implementation"):
        pau(x, tf.ones((6,)), tf.ones((4,)), implementation="fast")


def test_bad_shapes_caught_in_compute_when_graph_shapes_unknown():
    lib = op_library()

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)] * 3)
    def f(x, num, den):
        return lib.tf_learnact_pau(x, num, den, tf.constant(0, tf.int64))

    with pytest.raises(tf.errors.InvalidArgumentError, match="numerator"):
        f(tf.ones((2, 3)), tf.ones((4, 6)), tf.ones((4, 4)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="denominator"):
        f(tf.ones((2, 3)), tf.ones((6,)), tf.ones((3, 4)))


def test_works_in_tf_function_and_eager_alike():
    x, num, den = make_case(9, (4, 9), -1, True, (5, 4), "B", tf.float32)

    @tf.function
    def step(x, num, den):
        with tf.GradientTape() as tape:
            tape.watch([x, num, den])
            y = pau(x, num, den, implementation="op")
        return (y, *tape.gradient(y, [x, num, den]))

    eager = grads(lambda *a, **k: pau(*a, implementation="op", **k), x, num, den, tf.ones_like(x))
    for a, b in zip(step(x, num, den), eager, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@requires_ops
@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16], ids=["float16", "bfloat16"])
def test_half_types_round_exactly_like_tensorflow_casts(dtype):
    """Every 16-bit pattern through y = c x (a linear PAU): the op's whole-vector
    conversions round like TensorFlow's float32 -> half casts, NaN and overflow to Inf
    included (x = +-Inf itself gives NaN: the denominator holds 0 * Inf)."""
    bits = np.arange(2**16, dtype=np.uint16)
    x = tf.bitcast(tf.constant(bits), dtype)
    c = 1.0 + 2.0**-8  # the product is exact in float32; rounding it to 16 bits is the test
    y = pau(x, [0.0, c], [0.0], version="N", implementation="op")
    want = tf.cast(tf.cast(x, tf.float32) * c, dtype)
    # Compared as float32 values (exact for 16-bit types); -0 == +0: the numerator's a_0 + c x
    # turns c * -0 into +0.
    got_values, want_values = tf.cast(y, tf.float32).numpy(), tf.cast(want, tf.float32).numpy()
    finite_x = np.isfinite(tf.cast(x, tf.float32).numpy())
    nan = np.isnan(tf.cast(want, tf.float32).numpy())
    np.testing.assert_array_equal(np.isnan(tf.cast(y, tf.float32).numpy())[finite_x], nan[finite_x])
    keep = finite_x & ~nan
    np.testing.assert_array_equal(got_values[keep], want_values[keep])
