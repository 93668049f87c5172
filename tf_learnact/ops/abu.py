"""ABU: the fused custom op, its gradient and its composite twin.

g(x) = sum_j w_j f_j(x) over a basis of named functions (Sütfeld et al. 2018). The op
evaluates the basis and, in backward, its derivatives on the fly, so nothing of size
m x |x| is kept for backward; the twin (stock TensorFlow) keeps the m basis outputs.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tf_learnact.ops.common import along_axis, compute_dtype, float_input, string_attr
from tf_learnact.ops.dispatch import use_custom_op
from tf_learnact.ops.higher_order import register_backward_gradient
from tf_learnact.ops.library import op_library

_GELU_C, _GELU_A = math.sqrt(2.0 / math.pi), 0.044715


def _gelu_tanh(x, beta):
    inner = 0.5 * x * (1.0 + tf.tanh(_GELU_C * (x + _GELU_A * x * x * x)))
    # Beyond |x| = 10 it is relu to float precision (and x^3 could overflow): as the op.
    return tf.where(tf.abs(x) > 10.0, tf.nn.relu(x), inner)


# Stable forms, as in cc/kernels/abu_kernels_impl.h, from ops that TFLite and ONNX converters
# know (tf.nn.elu rather than expm1). beta is used by swish only.
BASIS_FUNCTIONS = {
    "tanh": lambda x, beta: tf.tanh(x),
    "elu": lambda x, beta: tf.nn.elu(x),
    "relu": lambda x, beta: tf.nn.relu(x),
    "identity": lambda x, beta: x,
    "swish": lambda x, beta: x * tf.sigmoid(beta * x),
    "sigmoid": lambda x, beta: tf.sigmoid(x),
    "selu": lambda x, beta: tf.nn.selu(x),
    "leaky_relu": lambda x, beta: tf.where(x > 0, x, 0.01 * x),
    "softplus": lambda x, beta: tf.nn.softplus(x),  # stable, gradient sigmoid(x) (also at 0)
    "gelu": _gelu_tanh,
}


def check_basis(basis) -> tuple[str, ...]:
    if isinstance(basis, str):
        basis = (basis,)
    basis = tuple(basis)
    if not basis:
        raise ValueError("basis must name at least one function")
    for name in basis:
        if name not in BASIS_FUNCTIONS:
            raise ValueError(f"basis: unknown function {name!r}; choose from {sorted(BASIS_FUNCTIONS)}")
    if len(set(basis)) != len(basis):
        raise ValueError(f"basis: duplicate names in {basis}")
    return basis


def abu(x, weights, beta=1.0, *, basis, axis: int = -1, implementation: str = "auto") -> tf.Tensor:
    """Applies sum_j weights[..., j] f_j(x); weights [m] per layer or [C, m] per channel."""
    basis = check_basis(basis)
    x = float_input(x)
    dtype = compute_dtype(x.dtype)
    weights = tf.cast(weights, dtype)
    beta = tf.cast(beta, dtype)
    if weights.shape.rank == 2 and beta.shape.rank == 0:
        beta = tf.fill(tf.shape(weights)[:1], beta)
    if use_custom_op(implementation):
        return op_library().tf_learnact_abu(x, weights, beta, basis=list(basis), axis=axis)
    return abu_composite(x, weights, beta, basis=basis, axis=axis)


@tf.RegisterGradient("TfLearnact>Abu")
def _abu_gradient(op, dy):
    dx, dw, dbeta = op_library().tf_learnact_abu_grad(
        dy, *op.inputs, basis=string_attr(op, "basis"), axis=op.get_attr("axis")
    )
    return [dx, dw, dbeta]


register_backward_gradient(
    "TfLearnact>AbuGrad",
    lambda op, x, weights, beta: abu_composite(
        x, weights, beta, basis=string_attr(op, "basis"), axis=op.get_attr("axis")
    ),
    wrt=(0, 1, 2),
)


def abu_composite(x, weights, beta=1.0, *, basis, axis: int = -1) -> tf.Tensor:
    """The blend in stock TensorFlow ops (the op's oracle, XLA path, portable form)."""
    basis = check_basis(basis)
    x = float_input(x)
    dtype = compute_dtype(x.dtype)
    xc = tf.cast(x, dtype)
    weights = tf.cast(weights, dtype)
    beta = tf.cast(beta, dtype)
    if weights.shape.rank == 2:
        columns = [along_axis(weights[:, j], x.shape.rank, axis) for j in range(len(basis))]
        beta = along_axis(beta, x.shape.rank, axis) if beta.shape.rank == 1 else beta
    else:
        columns = [weights[j] for j in range(len(basis))]
    y = tf.zeros_like(xc)
    for w, name in zip(columns, basis, strict=True):
        y = y + w * BASIS_FUNCTIONS[name](xc, beta)
    return tf.cast(y, x.dtype)
