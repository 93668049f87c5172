"""What the families' op wrappers and twins share: the input check, the compute dtype,
the per-channel broadcasting along `axis`, and reading string attributes in gradients."""

from __future__ import annotations

import tensorflow as tf

FLOAT_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)


def float_input(x) -> tf.Tensor:
    """x as a tensor, or a ValueError naming it where its dtype is not one the ops take
    (the op's own dtype error would name only its attribute T)."""
    x = tf.convert_to_tensor(x)
    if x.dtype not in FLOAT_DTYPES:
        names = ", ".join(d.name for d in FLOAT_DTYPES)
        raise ValueError(f"x must be a tensor of {names}, got {x.dtype.name}: cast it first")
    return x


def compute_dtype(dtype: tf.DType) -> tf.DType:
    """Half types compute in float32; float64 stays float64 (also the parameter dtype)."""
    return tf.float64 if dtype == tf.float64 else tf.float32


def along_axis(values: tf.Tensor, rank: int, axis: int) -> tf.Tensor:
    """[C, ...] per-channel values reshaped to broadcast against a rank-`rank` x whose
    channels lie on `axis` (trailing value dimensions kept last)."""
    shape = [1] * rank
    shape[axis] = -1
    return tf.reshape(values, shape + list(values.shape[1:]))


def string_attr(op, name: str):
    """A string or list-of-strings attribute of `op` as str (graph ops give bytes)."""
    value = op.get_attr(name)
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value.decode() if isinstance(value, bytes) else value
