"""NumPy float64 references of the ops, importing nothing but NumPy.

The CPU tests use them through the package; the CUDA harness tests (tests/cuda/) load
this file by path on a machine without TensorFlow, so it must stay free of TensorFlow
and of the rest of the package.
"""

from __future__ import annotations

import numpy as np

PAU_VERSIONS = ("A", "B", "C", "N")
_GOLDEN = np.uint32(0x9E3779B9)


def pau_numpy(x, numerator, denominator, version: str = "B"):
    """Reference PAU in float64 by direct power sums.

    numerator [..., m+1] and denominator [..., nd] broadcast against x (one set for all
    elements, or one per element). Returns (y, dy/dx, dy/d numerator [..., m+1],
    dy/d denominator [..., nd]), the parameter derivatives per element, following the
    paper's Sec. 2.2 with sign(0) = 0.
    """
    if version not in PAU_VERSIONS:
        raise ValueError(f"version must be one of {PAU_VERSIONS}, got {version!r}")
    x = np.asarray(x, np.float64)
    a = np.asarray(numerator, np.float64)
    b = np.asarray(denominator, np.float64)
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
    """[num_elements, num_coefs] float32: the counter-based RPAU noise in [-1, 1)
    (cc/kernels/common/counter_rng.h, bit for bit)."""
    with np.errstate(over="ignore"):
        s = np.uint64(np.int64(seed).astype(np.uint64))
        key = _hash32(np.uint32(s & np.uint64(0xFFFFFFFF))) ^ _hash32(
            np.uint32((s >> np.uint64(32)) & np.uint64(0xFFFFFFFF)) + _GOLDEN
        )
        e = np.arange(num_elements, dtype=np.uint64)
        low, high = (e & np.uint64(0xFFFFFFFF)).astype(np.uint32), (e >> np.uint64(32)).astype(np.uint32)
        state = _hash32(low ^ key) ^ _hash32(high + key)
        coefs = np.arange(num_coefs, dtype=np.uint32) * _GOLDEN
        h = _hash32(state[:, None] + coefs[None, :])
    return ((h >> np.uint32(8)).astype(np.int64) - (1 << 23)).astype(np.float32) * np.float32(1.0 / (1 << 23))


def pau_layer_numpy(x, numerator, denominator, dy=None, *, version="B", axis=None, noise=0.0, seed=0):
    """A PAU layer in float64: per-layer coefficients (axis None; numerator [m+1]) or per
    channel along `axis` (numerator [C, m+1]), with RPAU noise when noise > 0.

    Returns y, and with dy also dx and the parameter gradients summed over elements
    (shaped like numerator and denominator).
    """
    x = np.asarray(x, np.float64)
    num, den = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    xm = x.reshape(-1)  # flat row-major order: the noise counter's element index
    if axis is None:
        num_e, den_e = num, den
    else:
        inner = int(np.prod(x.shape[axis % x.ndim + 1 :], dtype=np.int64))
        channel = (np.arange(x.size) // inner) % x.shape[axis]
        num_e, den_e = num[channel], den[channel]
    if noise:
        u = noise_uniform(seed, xm.size, num.shape[-1] + den.shape[-1]).astype(np.float64)
        # The kernels form 1 + float32(alpha * u) in the compute type.
        factor = 1.0 + (np.float32(noise) * u.astype(np.float32)).astype(np.float64)
        num_e = num_e * factor[:, : num.shape[-1]]
        den_e = den_e * factor[:, num.shape[-1] :]
    else:
        factor = np.ones((xm.size, num.shape[-1] + den.shape[-1]))
    y, dx, d_num, d_den = pau_numpy(xm, num_e, den_e, version)
    y = y.reshape(x.shape)
    if dy is None:
        return y
    g = np.asarray(dy, np.float64).reshape(-1)
    dx = (g * dx).reshape(x.shape)
    d_num = g[:, None] * d_num * factor[:, : num.shape[-1]]
    d_den = g[:, None] * d_den * factor[:, num.shape[-1] :]
    if axis is None:
        return y, dx, d_num.sum(0), d_den.sum(0)
    sums_num, sums_den = np.zeros_like(num), np.zeros_like(den)
    np.add.at(sums_num, channel, d_num)
    np.add.at(sums_den, channel, d_den)
    return y, dx, sums_num, sums_den
