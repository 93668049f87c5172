"""How well PWLU bounds cover their inputs: the PWLU paper's Eq. 7 IOU."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_learnact.layers.base import find_layers
from tf_learnact.layers.pwlu import PWLU


def interval_iou(left, right, low, high) -> np.ndarray:
    """|[left, right] ∩ [low, high]| / |[left, right] ∪ [low, high]|, elementwise."""
    inter = np.maximum(0.0, np.minimum(right, high) - np.maximum(left, low))
    union = np.maximum(right, high) - np.minimum(left, low)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def alignment_iou(model, data, max_batches: int | None = None) -> dict[str, np.ndarray]:
    """Eq. 7 for every PWLU unit: IOU of [B_L, B_R] and the inputs' [p5, p95].

    Args:
        model: a Keras model containing PWLU layers (nested models included).
        data: input array, or a tf.data.Dataset of inputs or (inputs, targets) batches.
        max_batches: use at most this many batches of a dataset.

    Returns:
        {layer name: IOU per unit} (one value per channel when per-channel).
    """
    layers = find_layers(model, PWLU)
    seen: dict[str, list[np.ndarray]] = {layer.name: [] for layer in layers}
    originals = {}
    for layer in layers:
        originals[layer.name] = layer.call

        def recording_call(inputs, *args, _layer=layer, **kwargs):
            seen[_layer.name].append(_units_last(_layer, np.asarray(inputs, np.float64)))
            return originals[_layer.name](inputs, *args, **kwargs)

        layer.call = recording_call
    try:
        batches = data if isinstance(data, tf.data.Dataset) else [data]
        for i, batch in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(inputs, training=False)
    finally:
        for layer in layers:
            del layer.call  # back to the class's method
    result = {}
    for layer in layers:
        x = np.concatenate(seen[layer.name], axis=0)
        low, high = np.percentile(x, 5, axis=0), np.percentile(x, 95, axis=0)
        result[layer.name] = np.atleast_1d(
            interval_iou(layer.left_bound.numpy(), layer.right_bound.numpy(), low, high)
        )
    return result


def _units_last(layer: PWLU, x: np.ndarray) -> np.ndarray:
    """Inputs as [samples, units] (per channel) or [samples] (per layer)."""
    if not layer.per_channel:
        return x.reshape(-1)
    return np.moveaxis(x, layer.axis, -1).reshape(-1, x.shape[layer.axis])
