"""What every learnable-activation layer shares: implementation choice, the
per-layer/per-channel parameter layout along `axis`, float32 parameters under mixed
precision, and the common config."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_learnact.ops.dispatch import check_implementation
from tf_learnact.ops.library import gpu_kernels_available


class LearnableActivation(keras.layers.Layer):
    """Base class: parameters per layer, or per channel along `axis`.

    Args:
        per_channel: one parameter set per channel (along `axis`) instead of one for
            the whole layer.
        axis: the channel axis (-1 for channels-last, 1 for channels-first).
        implementation: "auto" (custom op, or the composite twin under XLA or when the
            op library is unavailable; where the GPU kernels are loaded the layer opts out
            of Keras's automatic XLA so they run), "op" (custom op; error if unavailable,
            and the layer then opts out of XLA) or "composite" (pure TensorFlow).
    """

    def __init__(self, per_channel: bool = False, axis: int = -1, implementation: str = "auto", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ValueError(f"axis must be an integer, got {axis!r}")
        self.per_channel = bool(per_channel)
        self.axis = int(axis)
        self.implementation = check_implementation(implementation)
        # Set on the instance after Layer.__init__ (a class attribute is overwritten).
        # XLA has no kernel for the custom op: "op" opts out, "auto" uses the twin under
        # XLA. Keras's jit_compile="auto" compiles with XLA wherever it sees a GPU, so where
        # the GPU kernels are loaded "auto" opts out too, or they would never run.
        self.supports_jit = implementation == "composite" or (
            implementation == "auto" and not gpu_kernels_available()
        )
        self.channels: int | None = None

    def _resolve_channels(self, input_shape) -> None:
        """Checks `axis` against the input rank and records the channel count."""
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            if self.per_channel:
                raise ValueError(f"axis={self.axis} is out of range for inputs of rank {rank}")
            return
        if self.per_channel:
            channels = input_shape[self.axis]
            if channels is None:
                raise ValueError(
                    f"per_channel=True needs a known size along axis={self.axis}, "
                    f"got input shape {tuple(input_shape)}"
                )
            self.channels = int(channels)

    def _as_float(self, inputs) -> tf.Tensor:
        """Integer and boolean inputs (e.g. uint8 images) cast to the compute dtype, as a
        Dense layer's matmul would take them; other non-float inputs go on to the op
        function's error naming x."""
        inputs = tf.convert_to_tensor(inputs)
        if inputs.dtype.is_integer or inputs.dtype == tf.bool:
            return tf.cast(inputs, self.compute_dtype)
        return inputs

    @property
    def op_axis(self) -> int:
        return self.axis

    def _add_coefficients(self, name: str, values: np.ndarray, constraint=None) -> keras.Variable:
        """A trainable parameter initialised to `values` ([k] per layer; rows tiled to
        [C, k] per channel), in the variable dtype (float32 under mixed precision)."""
        values = np.asarray(values, np.float64)
        if self.per_channel and values.ndim == 1:
            values = np.tile(values, (self.channels, 1))
        if self.per_channel and values.shape[0] != self.channels:
            raise ValueError(
                f"{name} has {values.shape[0]} channel rows, the input has {self.channels} channels"
            )
        return self._add_parameter(name, values, constraint)

    def _add_parameter(self, name: str, values: np.ndarray, constraint=None) -> keras.Variable:
        """A trainable float parameter of exactly the shape of `values`, initialised to them."""
        values = np.array(values, np.float64)
        return self.add_weight(
            name=name,
            shape=values.shape,
            initializer=keras.initializers.Constant(values),
            dtype=self.variable_dtype,
            trainable=True,
            autocast=False,
            constraint=constraint,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(per_channel=self.per_channel, axis=self.axis, implementation=self.implementation)
        return config


def find_layers(model, layer_type) -> list:
    """Every layer of `layer_type` in `model`, nested models and layers included."""
    found = [model] if isinstance(model, layer_type) else []
    found += [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, layer_type)
    ]
    return found


def coefficient_variables(model) -> list:
    """The trainable coefficients of every learnable activation in `model` (nested
    models included), e.g. to keep them out of an optimizer's weight decay, as the PAU
    paper trains them (decay pulls every coefficient towards 0):

        optimizer.exclude_from_weight_decay(var_list=coefficient_variables(model))

    (Keras keeps that list by variable identity, and only the last call's list: pass
    any other variables to exclude in the same call, and call it again after loading.)
    """
    return [v for layer in find_layers(model, LearnableActivation) for v in layer.trainable_weights]
