"""ABU and AdaptiveScaling Keras layers."""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_learnact.layers.base import LearnableActivation
from tf_learnact.ops.abu import abu, check_basis

NORMALIZATIONS = (None, "nrm", "abs", "pos", "soft")
# Guards the divisions of "nrm", "abs" and "pos" when the sum nears 0.
NORMALIZATION_EPSILON = 1e-6


def normalize_weights(w: tf.Tensor, normalization: str | None) -> tf.Tensor:
    """Sütfeld et al. Sec. 4.1 on the last axis; autodiff gives its gradient."""
    if normalization is None:
        return w
    if normalization == "soft":
        return tf.nn.softmax(w, axis=-1)
    if normalization == "pos":
        w = tf.nn.relu(w)
    if normalization == "abs":
        total = tf.reduce_sum(tf.abs(w), axis=-1, keepdims=True)
    else:  # nrm, pos
        total = tf.reduce_sum(w, axis=-1, keepdims=True)
    sign = tf.where(total < 0.0, -tf.ones_like(total), tf.ones_like(total))
    return w / (sign * tf.maximum(tf.abs(total), NORMALIZATION_EPSILON))


@keras.saving.register_keras_serializable(package="tf_learnact")
class ABU(LearnableActivation):
    """Adaptive Blending Unit: g(x) = sum_j alpha_j f_j(x) over a basis of activations.

    Args:
        basis: names of the basis functions, from "tanh", "elu", "relu", "identity",
            "swish" (x * sigmoid(beta x)), "sigmoid", "selu", "leaky_relu" (0.01),
            "softplus", "gelu" (tanh form). Default: the paper's five.
        normalization: None, "nrm" (w / sum w), "abs" (w / sum |w|), "pos" (negatives
            clipped, then w / sum w) or "soft" (softmax), applied to the weights before
            the blend; sums are guarded by NORMALIZATION_EPSILON (1e-6).
        per_channel: one weight vector per channel along `axis`.
        axis: channel axis (-1 channels-last, 1 channels-first).
        trainable_swish_beta: learn swish's beta (per channel when per-channel).
        implementation: "auto" (the fused op, or the composite twin under XLA or
            without the op library), "op" (the fused op: faster than the twin under XLA,
            and backward keeps no basis outputs, ~10x less memory) or "composite".
        initializer: initializer of the blend weights (default: 1/m each).

    Call arguments:
        inputs: a float tensor (half, bfloat16, float32 or float64); integer and
            boolean inputs are cast to the compute dtype.

    Example:

    >>> import numpy as np, tf_learnact
    >>> layer = tf_learnact.ABU(basis=("relu", "identity"))
    >>> [float(v) for v in layer(np.array([-2.0, 2.0], "float32"))]
    [-1.0, 2.0]
    """

    def __init__(
        self,
        basis=("tanh", "elu", "relu", "identity", "swish"),
        normalization: str | None = None,
        per_channel: bool = False,
        axis: int = -1,
        trainable_swish_beta: bool = False,
        implementation: str = "auto",
        initializer=None,
        **kwargs,
    ):
        super().__init__(per_channel=per_channel, axis=axis, implementation=implementation, **kwargs)
        self.basis = check_basis(basis)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        self.normalization = normalization
        self.trainable_swish_beta = bool(trainable_swish_beta)
        self.initializer = keras.initializers.get(
            initializer if initializer is not None else keras.initializers.Constant(1.0 / len(self.basis))
        )

    def build(self, input_shape):
        self._resolve_channels(input_shape)
        lead = (self.channels,) if self.per_channel else ()
        self.blend_weights = self.add_weight(
            name="blend_weights",
            shape=lead + (len(self.basis),),
            initializer=self.initializer,
            dtype=self.variable_dtype,
            autocast=False,
        )
        self.swish_beta = None
        if self.trainable_swish_beta and "swish" in self.basis:
            self.swish_beta = self.add_weight(
                name="swish_beta", shape=lead, initializer="ones", dtype=self.variable_dtype, autocast=False
            )

    def call(self, inputs):
        inputs = self._as_float(inputs)
        weights = normalize_weights(self.blend_weights, self.normalization)
        beta = self.swish_beta if self.swish_beta is not None else 1.0
        return abu(
            inputs, weights, beta, basis=self.basis, axis=self.axis, implementation=self.implementation
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            basis=list(self.basis),
            normalization=self.normalization,
            trainable_swish_beta=self.trainable_swish_beta,
            initializer=keras.initializers.serialize(self.initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="tf_learnact")
class AdaptiveScaling(ABU):
    """Adaptive scaling alpha * f(x): an ABU with one basis function (the paper's
    adaptively scaled activations).

    Args:
        function: the basis function's name (see ABU).
        **kwargs: the other ABU arguments (initializer defaults to 1).

    Example:

    >>> import numpy as np, tf_learnact
    >>> [float(v) for v in tf_learnact.AdaptiveScaling("relu")(np.array([-1.0, 3.0], "float32"))]
    [0.0, 3.0]
    """

    def __init__(self, function: str = "relu", **kwargs):
        if "basis" in kwargs:
            kwargs.pop("basis")  # from get_config: the single function
        super().__init__(basis=(function,), **kwargs)
        self.function = function

    def get_config(self):
        config = super().get_config()
        config.pop("basis")
        config["function"] = self.function
        return config
