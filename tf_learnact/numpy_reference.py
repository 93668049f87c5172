"""NumPy float64 references of the ops, importing nothing but NumPy.

The CPU tests use them through the package; the CUDA harness tests (tests/cuda/) load
this file by path on a machine without TensorFlow, so it must stay free of TensorFlow
and of the rest of the package.
"""

from __future__ import annotations

import numpy as np

PAU_VERSIONS = ("A", "B", "C", "N")
_GOLDEN = np.uint32(0x9E3779B9)


def pau_numpy(x, numerator, denominator, version: str = "B", dtype=np.float64):
    """Reference PAU by direct power sums, in float64 (or `dtype`: np.longdouble reaches
    past float64's overflow where the platform's long double is wider).

    numerator [..., m+1] and denominator [..., nd] broadcast against x (one set for all
    elements, or one per element). Returns (y, dy/dx, dy/d numerator [..., m+1],
    dy/d denominator [..., nd]), the parameter derivatives per element, following the
    paper's Sec. 2.2 with sign(0) = 0.
    """
    if version not in PAU_VERSIONS:
        raise ValueError(f"version must be one of {PAU_VERSIONS}, got {version!r}")
    x = np.asarray(x, dtype)
    a = np.asarray(numerator, dtype)
    b = np.asarray(denominator, dtype)
    m, nd = a.shape[-1] - 1, b.shape[-1]
    powers_x = x[..., None] ** np.arange(max(m, nd) + 1)
    p = np.sum(powers_x[..., : m + 1] * a, -1)
    dp = np.sum(powers_x[..., :m] * (a[..., 1:] * np.arange(1, m + 1)), -1) if m else np.zeros_like(x)
    if version == "A":
        ks = np.arange(1, nd + 1)
        ax = np.abs(x)[..., None] ** ks
        q = 1.0 + np.sum(ax * np.abs(b), -1)
        dq = np.sign(x) * np.sum((np.abs(x)[..., None] ** (ks - 1)) * (np.abs(b) * ks), -1)
        dq_db = np.sign(b) * ax
    else:
        ks = np.arange(nd) if version == "C" else np.arange(1, nd + 1)
        xk = x[..., None] ** ks
        d = np.sum(xk * b, -1)
        dd = np.sum((x[..., None] ** np.maximum(ks - 1, 0)) * (b * ks), -1)
        s = np.ones_like(d) if version == "N" else np.sign(d)
        q = (0.1 if version == "C" else 1.0) + (d if version == "N" else np.abs(d))
        dq = s * dd
        dq_db = s[..., None] * xk
    y = p / q
    dx = (dp - dq * y) / q
    d_num = powers_x[..., : m + 1] / q[..., None]
    d_den = -(y / q)[..., None] * dq_db
    return y, dx, d_num, d_den


def _hash32(v: np.ndarray) -> np.ndarray:
    """lowbias32 on uint32 arrays (NumPy's uint32 arithmetic wraps like C's)."""
    v = v ^ (v >> np.uint32(16))
    v = v * np.uint32(0x7FEB352D)
    v = v ^ (v >> np.uint32(15))
    v = v * np.uint32(0x846CA68B)
    return v ^ (v >> np.uint32(16))


def noise_uniform(seed: int, num_elements: int, num_coefs: int) -> np.ndarray:
    """[num_elements, num_coefs] float32: the counter-based RPAU noise in (-1, 1)
    (cc/kernels/common/counter_rng.h, bit for bit)."""
    with np.errstate(over="ignore"):
        s = np.uint64(np.int64(seed).astype(np.uint64))
        key = _hash32(np.uint32(s & np.uint64(0xFFFFFFFF))) ^ _hash32(
            np.uint32((s >> np.uint64(32)) & np.uint64(0xFFFFFFFF)) + _GOLDEN
        )
        e = np.arange(num_elements, dtype=np.uint64)
        low, high = (e & np.uint64(0xFFFFFFFF)).astype(np.uint32), (e >> np.uint64(32)).astype(np.uint32)
        state = _hash32(low ^ key) ^ _hash32(high + key)
        coefs = np.arange(num_coefs, dtype=np.uint32)
        h = _hash32(state[:, None] + (coefs[None, :] >> np.uint32(1)) * _GOLDEN)
        # Coefficients 2i and 2i + 1 share a hash: its low and high 16 bits, each as the
        # high half of an int32 with the next bit set, times 2^-31.
        high_half = np.where(coefs % 2 == 1, h & np.uint32(0xFFFF0000), h << np.uint32(16))
        bits = (high_half | np.uint32(0x8000)).view(np.int32)
    return bits.astype(np.float32) * np.float32(1.0 / (1 << 31))


def pau_layer_numpy(
    x, numerator, denominator, dy=None, *, version="B", axis=None, noise=0.0, seed=0, dtype=np.float64
):
    """A PAU layer in float64 (or `dtype`, as pau_numpy): per-layer coefficients (axis
    None; numerator [m+1]) or per channel along `axis` (numerator [C, m+1]), with RPAU
    noise when noise > 0.

    Returns y, and with dy also dx and the parameter gradients summed over elements
    (shaped like numerator and denominator).
    """
    x = np.asarray(x, dtype)
    num, den = np.asarray(numerator, dtype), np.asarray(denominator, dtype)
    xm = x.reshape(-1)  # flat row-major order: the noise counter's element index
    if axis is None:
        num_e, den_e = num, den
    else:
        inner = int(np.prod(x.shape[axis % x.ndim + 1 :], dtype=np.int64))
        channel = (np.arange(x.size) // inner) % x.shape[axis]
        num_e, den_e = num[channel], den[channel]
    if noise:
        u = noise_uniform(seed, xm.size, num.shape[-1] + den.shape[-1])
        # The kernels form 1 + float32(alpha * u) in the compute type.
        factor = 1.0 + (np.float32(noise) * u).astype(dtype)
        num_e = num_e * factor[:, : num.shape[-1]]
        den_e = den_e * factor[:, num.shape[-1] :]
    else:
        factor = np.ones((xm.size, num.shape[-1] + den.shape[-1]), dtype)
    y, dx, d_num, d_den = pau_numpy(xm, num_e, den_e, version, dtype)
    y = y.reshape(x.shape)
    if dy is None:
        return y
    g = np.asarray(dy, dtype).reshape(-1)
    dx = (g * dx).reshape(x.shape)
    d_num = g[:, None] * d_num * factor[:, : num.shape[-1]]
    d_den = g[:, None] * d_den * factor[:, num.shape[-1] :]
    if axis is None:
        return y, dx, d_num.sum(0), d_den.sum(0)
    sums_num, sums_den = np.zeros_like(num), np.zeros_like(den)
    np.add.at(sums_num, channel, d_num)
    np.add.at(sums_den, channel, d_den)
    return y, dx, sums_num, sums_den


def _channel_index(x: np.ndarray, axis) -> np.ndarray | None:
    """Channel of each element in flat order (None for per-layer parameters)."""
    if axis is None:
        return None
    inner = int(np.prod(x.shape[axis % x.ndim + 1 :], dtype=np.int64))
    return (np.arange(x.size) // inner) % x.shape[axis]


def _sum_by_channel(values: np.ndarray, channel, shape) -> np.ndarray:
    """values [elements, k] summed per channel into `shape` ([k] or [C, k])."""
    if channel is None:
        return values.sum(0).reshape(shape)
    out = np.zeros(shape)
    np.add.at(out, channel, values)
    return out


def pwlu_layer_numpy(x, left, right, slopes, offsets, dy=None, *, axis=None):
    """A PWLU layer in its table form (tf_learnact/ops/pwlu.py), float64: bounds [] or
    [C], slopes/offsets [N+2] or [C, N+2]. Row k = clip(floor((x - B_L) * N / (B_R -
    B_L)), -1, N) + 1, computed as the kernels do (NaN to row 0, +-Inf to the outer
    rows). Returns y, and with dy also dx, d_slopes and d_offsets (the per-row sums of
    dy * x and dy, k held constant)."""
    x = np.asarray(x, np.float64)
    slopes, offsets = np.asarray(slopes, np.float64), np.asarray(offsets, np.float64)
    rows = slopes.shape[-1]
    xm = x.reshape(-1)
    channel = _channel_index(x, axis)

    def per_element(bound):
        bound = np.asarray(bound, np.float64)
        return bound.reshape(-1)[0] if channel is None else bound[channel]

    lo, hi = per_element(left), per_element(right)
    with np.errstate(invalid="ignore"):
        u = (xm - lo) * ((rows - 2) / (hi - lo)) + 1.0
        u = np.where(u >= 0, u, 0.0)
        u = np.where(u <= rows - 1, u, rows - 1.0)
    k = u.astype(np.int64)
    table_row = k if channel is None else channel * rows + k
    s, o = slopes.reshape(-1)[table_row], offsets.reshape(-1)[table_row]
    y = (xm * s + o).reshape(x.shape)
    if dy is None:
        return y
    g = np.asarray(dy, np.float64).reshape(-1)
    onehot = np.zeros((xm.size, rows))
    onehot[np.arange(xm.size), k] = 1.0
    d_slopes = _sum_by_channel(onehot * (g * xm)[:, None], channel, slopes.shape)
    d_offsets = _sum_by_channel(onehot * g[:, None], channel, offsets.shape)
    return y, (g * s).reshape(x.shape), d_slopes, d_offsets


_SELU_SCALE, _SELU_ALPHA = 1.0507009873554805, 1.6732632423543772
_GELU_C, _GELU_A = 0.7978845608028654, 0.044715


def _sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def abu_basis_numpy(name: str, x, beta=1.0):
    """(f(x), f'(x), df/dbeta) of one ABU basis function, float64 (the ops' forms: swish
    x sigmoid(beta x), leaky ReLU slope 0.01, GELU tanh form taken as ReLU beyond |x| = 10)."""
    x = np.asarray(x, np.float64)
    zero, one = np.zeros_like(x), np.ones_like(x)
    pos = x > 0
    if name == "tanh":
        t = np.tanh(x)
        return t, 1.0 - t * t, zero
    if name == "elu":
        return (
            np.where(pos, x, np.expm1(np.minimum(x, 0))),
            np.where(pos, one, np.exp(np.minimum(x, 0))),
            zero,
        )
    if name == "relu":
        return np.where(x <= 0, zero, x), np.where(pos, one, zero), zero
    if name == "identity":
        return x, one, zero
    if name == "swish":
        s = _sigmoid(beta * x)
        ds = s * (1.0 - s)
        return x * s, s + beta * x * ds, x * x * ds
    if name == "sigmoid":
        s = _sigmoid(x)
        return s, s * (1.0 - s), zero
    if name == "selu":
        neg = _SELU_SCALE * _SELU_ALPHA
        e = np.exp(np.minimum(x, 0))
        return np.where(pos, _SELU_SCALE * x, neg * (e - 1.0)), np.where(pos, _SELU_SCALE, neg * e), zero
    if name == "leaky_relu":
        return np.where(pos, x, 0.01 * x), np.where(pos, one, 0.01 * one), zero
    if name == "softplus":
        return np.logaddexp(0.0, x), _sigmoid(x), zero
    if name == "gelu":
        far = np.abs(x) > 10
        xc = np.where(far, 0.0, x)
        t = np.tanh(_GELU_C * (xc + _GELU_A * xc**3))
        f = 0.5 * xc * (1.0 + t)
        df = 0.5 * (1.0 + t) + 0.5 * xc * (1.0 - t * t) * _GELU_C * (1.0 + 3 * _GELU_A * xc * xc)
        return np.where(far, np.where(pos, x, zero), f), np.where(far, np.where(pos, one, zero), df), zero
    raise ValueError(f"unknown basis function {name!r}")


def abu_layer_numpy(x, weights, beta, dy=None, *, basis, axis=None):
    """An ABU layer in float64: weights [m] or [C, m], beta [] or [C] (the swish beta).
    Returns y, and with dy also dx, d_weights and d_beta summed over elements."""
    x = np.asarray(x, np.float64)
    weights, beta = np.asarray(weights, np.float64), np.asarray(beta, np.float64)
    xm = x.reshape(-1)
    channel = _channel_index(x, axis)
    w = np.broadcast_to(weights, (xm.size, len(basis))) if channel is None else weights[channel]
    b = np.broadcast_to(beta.reshape(-1)[0], xm.shape) if channel is None else beta[channel]
    values = [abu_basis_numpy(name, xm, b) for name in basis]
    f = np.stack([v[0] for v in values], -1)
    df = np.stack([v[1] for v in values], -1)
    dbeta = np.stack([v[2] for v in values], -1)
    y = np.sum(w * f, -1).reshape(x.shape)
    if dy is None:
        return y
    g = np.asarray(dy, np.float64).reshape(-1)
    dx = (g * np.sum(w * df, -1)).reshape(x.shape)
    d_weights = _sum_by_channel(g[:, None] * f, channel, weights.shape)
    d_beta = _sum_by_channel((g * np.sum(w * dbeta, -1))[:, None], channel, beta.shape + (1,))
    return y, dx, d_weights, d_beta.reshape(beta.shape)
