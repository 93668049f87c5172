"""How well PWLU bounds cover their inputs: the PWLU paper's Eq. 7 IOU."""

from __future__ import annotations

import numpy as np

from tf_learnact.inspection import record_layer_inputs
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
    seen = record_layer_inputs(model, layers, data, max_batches)
    result = {}
    for layer in layers:
        x = seen[layer.name]
        low, high = np.percentile(x, 5, axis=0), np.percentile(x, 95, axis=0)
        result[layer.name] = np.atleast_1d(
            interval_iou(layer.left_bound.numpy(), layer.right_bound.numpy(), low, high)
        )
    return result
