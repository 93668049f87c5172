"""PWLU: the custom op (inference-table form), its gradient and its composite twin.

PWLU_N(x) (Zhou et al. 2021, Eq. 1) with N uniform intervals on [B_L, B_R], heights
Y_P (N+1 values) at the demarcation points and slopes K_L, K_R outside the bounds, is
evaluated as the table of the paper's Sec. 4.3:

    k = clip(floor((x - B_L) * N / (B_R - B_L)), -1, N) + 1,   y = x * S[k] + O[k]

with S, O (N+2 rows each) built from the parameters by `pwlu_table`. The op returns,
in backward, the per-row sums of dy * x and dy; the parameter gradients are the chain
rule through the tiny table construction with k held constant, which is the paper's
Table 1. On the CPU the construction and its chain rule are one op each
(TfLearnact>PwluTable, TfLearnact>PwluTableGrad: the same operations); elsewhere they
are `pwlu_table`'s stock ops and their autodiff.
"""

from __future__ import annotations

import tensorflow as tf

from tf_learnact.ops.common import along_axis, compute_dtype, float_input
from tf_learnact.ops.dispatch import use_custom_op
from tf_learnact.ops.higher_order import register_backward_gradient
from tf_learnact.ops.library import gpu_kernels_available, op_library


def pwlu_table(left_bound, right_bound, heights, left_slope, right_slope):
    """(slopes, offsets), each [..., N+2]: rows 0 (x < B_L), 1..N (the intervals), N+1."""
    n = heights.shape[-1] - 1
    left, right = left_bound[..., None], right_bound[..., None]
    width = (right - left) / n
    knots = left + width * tf.range(n, dtype=heights.dtype)  # B_idx, idx = 0..N-1
    inner = (heights[..., 1:] - heights[..., :-1]) / width  # K_idx
    slopes = tf.concat([left_slope[..., None], inner, right_slope[..., None]], axis=-1)
    offsets = tf.concat(
        [
            heights[..., :1] - left * left_slope[..., None],
            heights[..., :-1] - knots * inner,
            heights[..., -1:] - right * right_slope[..., None],
        ],
        axis=-1,
    )
    return slopes, offsets


def pwlu(
    x,
    left_bound,
    right_bound,
    heights,
    left_slope,
    right_slope,
    *,
    axis: int = -1,
    implementation: str = "auto",
) -> tf.Tensor:
    """Applies a PWLU; parameters are scalars/[N+1] per layer or [C]/[C, N+1] per channel."""
    x = float_input(x)
    dtype = compute_dtype(x.dtype)
    params = [tf.cast(p, dtype) for p in (left_bound, right_bound, heights, left_slope, right_slope)]
    if params[2].shape[-1] is not None and params[2].shape[-1] < 2:
        raise ValueError(f"heights must hold N+1 >= 2 values (intervals >= 1), got shape {params[2].shape}")
    left, right = params[0], params[1]
    if use_custom_op(implementation):
        library = op_library()
        # One table op for the twin's ~20 small ops: they, not the elements, cost most at
        # small batches. It has a CPU kernel only; where the GPU kernels run, the twin's
        # ops build the table on the device (no copy to the host and back per call).
        if gpu_kernels_available():
            slopes, offsets = pwlu_table(*params)
        else:
            slopes, offsets = library.tf_learnact_pwlu_table(*params)
        return library.tf_learnact_pwlu(x, left, right, slopes, offsets, axis=axis)
    slopes, offsets = pwlu_table(*params)
    return pwlu_table_composite(x, left, right, slopes, offsets, axis=axis)


@tf.RegisterGradient("TfLearnact>PwluTable")
def _pwlu_table_gradient(op, d_slopes, d_offsets):
    d_slopes = tf.zeros_like(op.outputs[0]) if d_slopes is None else d_slopes
    d_offsets = tf.zeros_like(op.outputs[1]) if d_offsets is None else d_offsets
    return op_library().tf_learnact_pwlu_table_grad(d_slopes, d_offsets, *op.inputs)


# The table's gradient op computes the chain rule through pwlu_table: its own gradient
# (second derivatives) is autodiff of that.
register_backward_gradient(
    "TfLearnact>PwluTableGrad",
    lambda op, *params: list(pwlu_table(*params)),
    wrt=(0, 1, 2, 3, 4),
    upstreams=2,
)


@tf.RegisterGradient("TfLearnact>Pwlu")
def _pwlu_gradient(op, dy):
    dx, d_slopes, d_offsets = op_library().tf_learnact_pwlu_grad(dy, *op.inputs, axis=op.get_attr("axis"))
    # The row index k is a constant of the formula (Table 1): no gradient through it.
    return [dx, None, None, d_slopes, d_offsets]


register_backward_gradient(
    "TfLearnact>PwluGrad",
    lambda op, x, left, right, slopes, offsets: pwlu_table_composite(
        x, left, right, slopes, offsets, axis=op.get_attr("axis")
    ),
    wrt=(0, 3, 4),
)


def pwlu_table_composite(x, left_bound, right_bound, slopes, offsets, *, axis: int = -1) -> tf.Tensor:
    """The table lookup in stock TensorFlow ops (the op's oracle, XLA path, portable form)."""
    x = float_input(x)
    dtype = compute_dtype(x.dtype)
    xc = tf.cast(x, dtype)
    rows = slopes.shape[-1]
    n = rows - 2
    if slopes.shape.rank == 2:
        rank = x.shape.rank
        left = along_axis(left_bound, rank, axis)
        inv_width = along_axis(tf.cast(n, dtype) / (right_bound - left_bound), rank, axis)
    else:
        left, inv_width = left_bound, tf.cast(n, dtype) / (right_bound - left_bound)
    # As in the kernel: u >= 0 makes truncation a floor, NaN goes to row 0, +-Inf outside.
    u = (xc - left) * inv_width + 1.0
    u = tf.where(u >= 0.0, u, tf.zeros_like(u))
    u = tf.where(u <= float(n + 1), u, tf.fill(tf.shape(u), tf.cast(n + 1, dtype)))
    k = tf.stop_gradient(tf.cast(u, tf.int32))
    if slopes.shape.rank == 2:
        # Per channel: gather from the flattened [C * (N+2)] table at c * (N+2) + k.
        channel = along_axis(tf.range(tf.shape(slopes)[0]), x.shape.rank, axis)
        k = k + channel * rows
        slopes, offsets = tf.reshape(slopes, [-1]), tf.reshape(offsets, [-1])
    s, o = tf.gather(slopes, k), tf.gather(offsets, k)
    return tf.cast(xc * s + o, x.dtype)
