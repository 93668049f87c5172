"""Gradients of the backward ops (second and higher derivatives), by autodiff of the
twins: a gradient penalty, an input-gradient regulariser or a Hessian-vector product
differentiates a family's backward op, which has no kernel for that. The twin's first
derivative is formed again here and differentiated, so these paths cost what the twin
costs; first derivatives keep running the fused ops."""

from __future__ import annotations

import tensorflow as tf


def register_backward_gradient(op_type: str, twin, wrt: tuple[int, ...]) -> None:
    """Registers the gradient of `op_type`, a backward op whose inputs are (dy, *the
    forward op's inputs) and whose outputs are the forward's gradients with respect to
    the inputs at positions `wrt`. twin(op, *inputs) is the forward in stock TensorFlow,
    reading the op's attributes."""

    @tf.RegisterGradient(op_type)
    def _gradient(op, *upstream):
        dy, *inputs = op.inputs
        differentiable = [inputs[i] for i in wrt]
        with tf.GradientTape() as outer:
            outer.watch([dy, *differentiable])
            with tf.GradientTape() as inner:
                inner.watch(differentiable)
                y = twin(op, *inputs)
            firsts = inner.gradient(
                y, differentiable, output_gradients=dy, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            # A gather's gradient (PWLU's table) comes as IndexedSlices: made dense, on the tape.
            firsts = [tf.convert_to_tensor(f) for f in firsts]
        upstream = [tf.zeros_like(f) if u is None else u for u, f in zip(upstream, firsts, strict=True)]
        seconds = outer.gradient(
            firsts,
            [dy, *differentiable],
            output_gradients=upstream,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        grads = [seconds[0]] + [None] * len(inputs)
        for i, g in zip(wrt, seconds[1:], strict=True):
            grads[1 + i] = g
        return grads
