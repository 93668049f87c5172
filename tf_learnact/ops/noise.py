"""TensorFlow twin of cc/kernels/common/counter_rng.h, bit for bit.

The noise of element e, coefficient j under `seed` is a pure function of the three, so
the composite twin, the CPU op and the GPU op all draw the same values. uint32
arithmetic is emulated in int64 (multiplies split in 16-bit halves: no overflow).
"""

from __future__ import annotations

import tensorflow as tf

_MASK = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9


def _mul32(v: tf.Tensor, c: int) -> tf.Tensor:
    """(v * c) mod 2^32 for v in [0, 2^32), without int64 overflow."""
    lo = v * (c & 0xFFFF)
    hi = tf.bitwise.bitwise_and(v * (c >> 16), 0xFFFF)
    return tf.bitwise.bitwise_and(lo + tf.bitwise.left_shift(hi, 16), _MASK)


def _xorshift(v: tf.Tensor, s: int) -> tf.Tensor:
    return tf.bitwise.bitwise_xor(v, tf.bitwise.right_shift(v, s))


def hash32(v: tf.Tensor) -> tf.Tensor:
    """lowbias32 on int64 tensors holding uint32 values."""
    v = _xorshift(v, 16)
    v = _mul32(v, 0x7FEB352D)
    v = _xorshift(v, 15)
    v = _mul32(v, 0x846CA68B)
    return _xorshift(v, 16)


def _low32(v: tf.Tensor) -> tf.Tensor:
    return tf.bitwise.bitwise_and(v, _MASK)


def noise_key(seed: tf.Tensor) -> tf.Tensor:
    seed = tf.cast(seed, tf.int64)
    high = _low32(tf.bitwise.right_shift(seed, 32))
    return tf.bitwise.bitwise_xor(hash32(_low32(seed)), hash32(_low32(high + _GOLDEN)))


def noise_element(key: tf.Tensor, element: tf.Tensor) -> tf.Tensor:
    low = hash32(tf.bitwise.bitwise_xor(_low32(element), key))
    high = hash32(_low32(tf.bitwise.right_shift(element, 32) + key))
    return tf.bitwise.bitwise_xor(low, high)


def noise_uniform(state: tf.Tensor, coef: int) -> tf.Tensor:
    """Uniform float32 in (-1, 1) with 16 random bits: coefficients 2i and 2i + 1 take the
    low and the high 16 bits of one hash, each as the high half of an int32 with the next
    bit set, times 2^-31 (symmetric about 0)."""
    h = hash32(_low32(state + (coef >> 1) * _GOLDEN))
    high_half = tf.bitwise.bitwise_and(h, 0xFFFF0000) if coef & 1 else _low32(tf.bitwise.left_shift(h, 16))
    bits = tf.bitwise.bitwise_or(high_half, 0x8000)
    signed = tf.where(bits >= (1 << 31), bits - (1 << 32), bits)
    return tf.cast(signed, tf.float32) * (1.0 / (1 << 31))


def element_states(seed: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
    """Per-element generator state for a tensor of `shape` (flat row-major index)."""
    size = tf.reduce_prod(tf.cast(shape, tf.int64))
    index = tf.reshape(tf.range(size, dtype=tf.int64), shape)
    return noise_element(noise_key(seed), index)
