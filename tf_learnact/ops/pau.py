"""PAU: the custom op, its gradient, and its composite twin.

F(x) = P(x) / Q(x), P(x) = a_0 + a_1 x + ... + a_m x^m, with Q by `version`:

- "A": Q = 1 + sum_k |b_k| |x|^k             (the form of the PAU authors' code)
- "B": Q = 1 + |b_1 x + ... + b_n x^n|        (paper Eq. 2, "safe PAU"; default)
- "C": Q = 0.1 + |b_0 + b_1 x + ... + b_n x^n| (one more coefficient, b_0)
- "N": Q = 1 + b_1 x + ... + b_n x^n          (unsafe: Q can reach 0, giving poles)

Coefficients are per layer (numerator [m+1], denominator [n] or [n+1] for "C") or per
channel along `axis` (a leading channel dimension). With noise = alpha > 0 (RPAU) each
coefficient c of each element becomes c * (1 + u), u ~ U(-alpha, alpha), drawn from a
counter-based generator keyed by `seed`: the same seed gives the same output, and the
backward pass regenerates the noise instead of storing it.
"""

from __future__ import annotations

import tensorflow as tf

from tf_learnact.ops import noise as noise_lib
from tf_learnact.ops.common import along_axis, compute_dtype, float_input, string_attr
from tf_learnact.ops.dispatch import use_custom_op
from tf_learnact.ops.higher_order import register_backward_gradient
from tf_learnact.ops.library import op_library

VERSIONS = ("A", "B", "C", "N")
MAX_DEGREE = 16


def check_version(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    return version


def check_noise(noise: float) -> float:
    noise = float(noise)
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1), got {noise}")
    return noise


def denominator_size(n: int, version: str) -> int:
    """Number of denominator coefficients for degree n: b_1..b_n, or b_0..b_n for "C"."""
    return n + 1 if version == "C" else n


def pau(
    x,
    numerator,
    denominator,
    *,
    version: str = "B",
    axis: int = -1,
    noise: float = 0.0,
    seed=0,
    implementation: str = "auto",
) -> tf.Tensor:
    """Applies a PAU to x with the custom op (or its twin, see `use_custom_op`)."""
    check_version(version)
    noise = check_noise(noise)
    x = float_input(x)
    param_dtype = compute_dtype(x.dtype)
    numerator = tf.cast(numerator, param_dtype)
    denominator = tf.cast(denominator, param_dtype)
    seed = tf.cast(seed, tf.int64)
    if use_custom_op(implementation):
        return op_library().tf_learnact_pau(
            x, numerator, denominator, seed, version=version, axis=axis, noise=noise
        )
    return pau_composite(x, numerator, denominator, version=version, axis=axis, noise=noise, seed=seed)


@tf.RegisterGradient("TfLearnact>Pau")
def _pau_gradient(op, dy):
    dx, d_num, d_den = op_library().tf_learnact_pau_grad(
        dy,
        *op.inputs,
        version=string_attr(op, "version"),
        axis=op.get_attr("axis"),
        noise=op.get_attr("noise"),
    )
    return [dx, d_num, d_den, None]


register_backward_gradient(
    "TfLearnact>PauGrad",
    lambda op, x, num, den, seed: pau_composite(
        x,
        num,
        den,
        version=string_attr(op, "version"),
        axis=op.get_attr("axis"),
        noise=op.get_attr("noise"),
        seed=seed,
    ),
    wrt=(0, 1, 2),
)


def _channel_columns(coefs: tf.Tensor, rank: int, axis: int) -> list[tf.Tensor]:
    """Coefficient j as a tensor broadcastable against x (per layer: a scalar)."""
    size = coefs.shape[-1]
    if coefs.shape.rank == 1:
        return [coefs[j] for j in range(size)]
    return [along_axis(coefs[:, j], rank, axis) for j in range(size)]


def pau_composite(
    x, numerator, denominator, *, version: str = "B", axis: int = -1, noise: float = 0.0, seed=0
) -> tf.Tensor:
    """The PAU in stock TensorFlow ops: the op's oracle, XLA path and portable form.

    Evaluates exactly as the kernel does (Horner, same operation order), so the two
    agree to rounding.
    """
    check_version(version)
    x = float_input(x)
    dtype = compute_dtype(x.dtype)
    xc = tf.cast(x, dtype)
    numerator = tf.cast(numerator, dtype)
    denominator = tf.cast(denominator, dtype)
    rank = x.shape.rank
    a = _channel_columns(numerator, rank, axis)
    b = _channel_columns(denominator, rank, axis)
    if version == "A":
        b = [tf.abs(c) for c in b]
    if noise:
        states = noise_lib.element_states(seed, tf.shape(x))
        coefs = []
        for j, c in enumerate(a + b):
            u = noise_lib.noise_uniform(states, j)
            coefs.append(c * (1.0 + tf.cast(tf.constant(noise, tf.float32) * u, dtype)))
        a, b = coefs[: len(a)], coefs[len(a) :]

    m = len(a) - 1
    p = a[m] + tf.zeros_like(xc)
    for j in range(m - 1, -1, -1):
        p = p * xc + a[j]
    koff = 0 if version == "C" else 1
    n = len(b) - 1 + koff
    z = tf.abs(xc) if version == "A" else xc
    d = b[n - koff] + tf.zeros_like(xc) if n >= koff else tf.zeros_like(xc)
    for k in range(n - 1, koff - 1, -1):
        d = d * z + b[k - koff]
    if koff == 1 and n >= 1:
        d = d * z
    if version in ("B", "C"):
        d = tf.abs(d)
    q = (0.1 if version == "C" else 1.0) + d
    return tf.cast(p / q, x.dtype)
