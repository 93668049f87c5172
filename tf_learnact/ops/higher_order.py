"""Gradients of the backward ops (second and higher derivatives), by autodiff of the
twins: a gradient penalty, an input-gradient regulariser or a Hessian-vector product
differentiates a family's backward op, which has no kernel for that. The twin's first
derivative is formed again here and differentiated, so these paths cost what the twin
costs; first derivatives keep running the fused ops."""

from __future__ import annotations

import tensorflow as tf


def register_backward_gradient(op_type: str, twin, wrt: tuple[int, ...], upstreams: int = 1) -> None:
    """Registers the gradient of `op_type`, a backward op whose inputs are the
    `upstreams` incoming gradients (dy, or one per forward output), then the forward op's
    inputs, and whose outputs are the forward's gradients with respect to the inputs at
    positions `wrt`. twin(op, *inputs) is the forward in stock TensorFlow, reading the
    op's attributes (a tensor, or a list of `upstreams` tensors)."""

    @tf.RegisterGradient(op_type)
    def _gradient(op, *upstream):
        dys, inputs = list(op.inputs[:upstreams]), list(op.inputs[upstreams:])
        differentiable = [inputs[i] for i in wrt]
        with tf.GradientTape() as outer:
            outer.watch([*dys, *differentiable])
            with tf.GradientTape() as inner:
                inner.watch(differentiable)
                ys = twin(op, *inputs)
            firsts = inner.gradient(
                ys if upstreams > 1 else [ys],
                differentiable,
                output_gradients=dys,
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            # A gather's gradient (PWLU's table) comes as IndexedSlices: made dense, on the tape.
            firsts = [tf.convert_to_tensor(f) for f in firsts]
        upstream = [tf.zeros_like(f) if u is None else u for u, f in zip(upstream, firsts, strict=True)]
        seconds = outer.gradient(
            firsts,
            [*dys, *differentiable],
            output_gradients=upstream,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        grads = seconds[:upstreams] + [None] * len(inputs)
        for i, g in zip(wrt, seconds[upstreams:], strict=True):
            grads[upstreams + i] = g
        return grads
