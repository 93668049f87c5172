"""Looking inside a trained model: each learnable activation's parameters, the inputs it
sees, and plots of the learned function against its initial one (the papers' Fig. 3 of
PWLU and Fig. 7 of PAU)."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import tensorflow as tf

from tf_learnact.layers.base import LearnableActivation, find_layers
from tf_learnact.layers.pwlu import PWLU

PLOT_FORMATS = (".png", ".svg")


def units_last(layer: LearnableActivation, x: np.ndarray) -> np.ndarray:
    """Inputs as [samples, channels] (per channel) or [samples] (per layer)."""
    if not layer.per_channel:
        return x.reshape(-1)
    return np.moveaxis(x, layer.axis, -1).reshape(-1, x.shape[layer.axis])


def record_layer_inputs(model, layers, data, max_batches: int | None = None) -> dict[str, np.ndarray]:
    """Runs `model` on `data` in inference mode and returns what each of `layers` received,
    {layer name: units_last(inputs)} over all batches (float64).

    `data`: an input array, or a tf.data.Dataset of inputs or (inputs, targets) batches.
    """
    seen: dict[str, list[np.ndarray]] = {layer.name: [] for layer in layers}
    for layer in layers:
        original = layer.call

        def recording_call(inputs, *args, _layer=layer, _original=original, **kwargs):
            seen[_layer.name].append(units_last(_layer, np.asarray(inputs, np.float64)))
            return _original(inputs, *args, **kwargs)

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
    return {name: np.concatenate(parts, axis=0) for name, parts in seen.items() if parts}


def describe_layers(model) -> list[dict]:
    """One row per learnable activation layer: name, family, layout, parameter shapes and,
    for PWLU, its bounds and realignment phase."""
    rows = []
    for layer in find_layers(model, LearnableActivation):
        row = {
            "name": layer.name,
            "family": type(layer).__name__,
            "per_channel": layer.per_channel,
            "channels": layer.channels,
            "parameters": {_short_name(w): tuple(w.shape) for w in layer.trainable_weights},
        }
        if isinstance(layer, PWLU) and layer.built:
            left, right = layer.left_bound.numpy(), layer.right_bound.numpy()
            row["bounds"] = (float(np.min(left)), float(np.max(right)))
            row["phase"] = int(layer.phase.numpy())
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """describe_layers' rows as a plain-text table."""
    header = ("layer", "family", "layout", "parameters", "PWLU bounds / phase")
    lines = []
    for row in rows:
        layout = f"per-channel ({row['channels']})" if row["per_channel"] else "per-layer"
        params = ", ".join(f"{k}{list(v)}" for k, v in row["parameters"].items())
        extra = ""
        if "bounds" in row:
            extra = f"[{row['bounds'][0]:.4g}, {row['bounds'][1]:.4g}] / {row['phase']}"
        lines.append((row["name"], row["family"], layout, params, extra))
    table = [header, *lines]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
    )


def plot_activations(
    model, path=None, data=None, *, max_channels: int = 4, points: int = 401, max_batches: int | None = None
):
    """One panel per learnable activation layer: the learned function (solid), the initial
    one (dashed), PWLU bounds (dotted verticals) and, when `data` is given, a histogram of
    the layer's inputs. Per-channel layers show up to `max_channels` evenly spaced channels.

    Args:
        model: a built Keras model (nested models included).
        path: where to write the figure (.png or .svg); None writes nothing.
        data: optional model inputs (array or tf.data.Dataset) for the input histograms and
            the plotted range (the inputs' 0.5-99.5 percentiles).

    Returns:
        the matplotlib Figure.
    """
    plt = pyplot()
    if isinstance(max_channels, bool) or not isinstance(max_channels, int) or max_channels < 1:
        raise ValueError(f"max_channels must be a positive integer, got {max_channels!r}")
    if path is not None and pathlib.Path(path).suffix.lower() not in PLOT_FORMATS:
        raise ValueError(f"path must end in one of {PLOT_FORMATS}, got {str(path)!r}")
    layers = [layer for layer in find_layers(model, LearnableActivation) if layer.built]
    if not layers:
        raise ValueError("model has no built learnable activation layer to plot")
    inputs = record_layer_inputs(model, layers, data, max_batches) if data is not None else {}
    cols = min(3, len(layers))
    rows = math.ceil(len(layers) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows), squeeze=False)
    for ax, layer in zip(axes.flat, layers, strict=False):
        _plot_layer(ax, layer, inputs.get(layer.name), max_channels, points)
    for ax in axes.flat[len(layers) :]:
        ax.set_visible(False)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


def pyplot():
    """matplotlib.pyplot on the Agg backend, or an ImportError naming the extra."""
    try:
        import matplotlib  # noqa: PLC0415  (optional dependency)

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install 'tf-learnact[inspect]'") from err
    return plt


def _short_name(weight) -> str:
    return weight.path.rsplit("/", 1)[-1]


def sampled_channels(layer: LearnableActivation, max_channels: int) -> list[int] | None:
    """Evenly spaced channel indices, or None for a per-layer activation."""
    if not layer.per_channel:
        return None
    count = min(layer.channels, max_channels)
    return sorted({round(i * (layer.channels - 1) / max(count - 1, 1)) for i in range(count)})


def _probe_rank(layer: LearnableActivation) -> int:
    """The smallest input rank that has the layer's channel axis (and a second axis)."""
    return max(2, layer.axis + 1 if layer.axis >= 0 else -layer.axis)


def evaluate_on_grid(layer: LearnableActivation, grid: np.ndarray) -> np.ndarray:
    """The layer (inference mode) on `grid`: [points] per layer, [points, C] per channel."""
    if not layer.per_channel:
        y = layer(tf.constant(grid, layer.compute_dtype), training=False)
        return np.asarray(tf.cast(y, tf.float64))
    # The grid along a non-channel axis, every channel along the layer's axis.
    rank = _probe_rank(layer)
    axis = layer.axis % rank
    point_axis = 1 if axis == 0 else 0
    shape = [1] * rank
    shape[axis], shape[point_axis] = layer.channels, len(grid)
    x = np.broadcast_to(np.expand_dims(grid, [d for d in range(rank) if d != point_axis]), shape)
    y = np.asarray(tf.cast(layer(tf.constant(x, layer.compute_dtype), training=False), tf.float64))
    return np.moveaxis(y, [point_axis, axis], [0, 1]).reshape(len(grid), layer.channels)


def initial_layer(layer: LearnableActivation) -> LearnableActivation:
    """A fresh layer of the same configuration: its weights are the initial ones."""
    fresh = type(layer).from_config(layer.get_config())
    if layer.per_channel:
        shape = [1] * _probe_rank(layer)
        shape[layer.axis] = layer.channels
        fresh.build(tuple(shape))
    return fresh


def _plot_range(layer: LearnableActivation, x: np.ndarray | None) -> tuple[float, float]:
    if x is not None and x.size:
        finite = x[np.isfinite(x)]
        lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (-3.0, 3.0)
    elif isinstance(layer, PWLU):
        lo, hi = float(np.min(layer.left_bound.numpy())), float(np.max(layer.right_bound.numpy()))
    else:
        lo, hi = -3.0, 3.0
    pad = 0.15 * max(hi - lo, 1e-3)
    return float(lo - pad), float(hi + pad)


def _plot_layer(ax, layer, x, max_channels: int, points: int) -> None:
    channels = sampled_channels(layer, max_channels)
    grid = np.linspace(*_plot_range(layer, x), points)
    learned = evaluate_on_grid(layer, grid)
    initial = evaluate_on_grid(initial_layer(layer), grid)
    if x is not None:
        hist_ax = ax.twinx()
        values = x if channels is None else x[:, channels]
        hist_ax.hist(np.ravel(values), bins=60, range=(grid[0], grid[-1]), color="0.75", alpha=0.5)
        hist_ax.set_yticks([])
        hist_ax.set_zorder(ax.get_zorder() - 1)
        ax.patch.set_visible(False)
    for i, c in enumerate(channels if channels is not None else [None]):
        color = f"C{i}"
        label = "learned" if c is None else f"channel {c}"
        ax.plot(grid, learned if c is None else learned[:, c], color=color, label=label)
        ax.plot(grid, initial if c is None else initial[:, c], color=color, linestyle="--", linewidth=1)
        if isinstance(layer, PWLU):
            for bound in (layer.left_bound, layer.right_bound):
                value = bound.numpy() if c is None else bound.numpy()[c]
                ax.axvline(float(value), color=color, linestyle=":", linewidth=1)
    ax.set_title(f"{layer.name} ({type(layer).__name__})", fontsize=9)
    ax.set_xlabel("input")
    ax.legend(fontsize=7, title="dashed: initial", title_fontsize=7)
