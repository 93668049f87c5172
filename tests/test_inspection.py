"""Inspection: the layer table, activation plots (what their axes carry) and the
TensorBoard monitor."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import build_mixed_model

import tf_learnact
from tf_learnact.inspection import evaluate_on_grid, format_table, initial_layer, sampled_channels

LEARNABLE = ("pau", "pwlu", "abu", "rpau")


def test_describe_layers_lists_every_family_with_pwlu_bounds(mixed_model):
    model, _, _ = mixed_model
    rows = {row["name"]: row for row in tf_learnact.describe_layers(model)}
    assert list(rows) == list(LEARNABLE)
    assert rows["pau"]["parameters"] == {"numerator": (6, 6), "denominator": (6, 4)}
    assert rows["abu"]["parameters"] == {"blend_weights": (5,)}
    pwlu = model.get_layer("pwlu")
    assert rows["pwlu"]["bounds"] == (float(np.min(pwlu.left_bound)), float(np.max(pwlu.right_bound)))
    assert rows["pwlu"]["phase"] == 0
    table = format_table(list(rows.values()))
    assert all(name in table for name in LEARNABLE) and "per-channel (6)" in table


def test_grid_evaluation_matches_the_layer_per_channel_and_channels_first():
    layer = tf_learnact.PAU(per_channel=True, axis=1)
    x = np.random.default_rng(0).normal(size=(2, 5, 3, 3)).astype("float32")
    layer(x)
    layer.numerator.assign(layer.numerator * np.linspace(0.5, 1.5, 5)[:, None])
    grid = np.linspace(-2, 2, 7)
    got = evaluate_on_grid(layer, grid)
    assert got.shape == (7, 5)
    for c in range(5):  # channel c of the layer on a tensor whose channel c holds the grid
        probe = np.zeros((7, 5, 1, 1), "float32")
        probe[:, c, 0, 0] = grid
        np.testing.assert_allclose(got[:, c], np.asarray(layer(probe))[:, c, 0, 0], rtol=1e-6)
    assert sampled_channels(layer, 3) == [0, 2, 4]
    fresh = initial_layer(layer)
    np.testing.assert_array_equal(fresh.denominator.numpy(), layer.denominator.numpy())  # untouched
    assert not np.array_equal(fresh.numerator.numpy(), layer.numerator.numpy())


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_has_a_panel_per_layer_with_learned_initial_bounds_histogram(mixed_model, tmp_path, suffix):
    model, x, _ = mixed_model
    path = tmp_path / f"act{suffix}"
    fig = tf_learnact.plot_activations(model, path, data=x, max_channels=4)
    assert path.stat().st_size > 1000
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title().split()[0] for ax in panels] == list(LEARNABLE)
    for ax in panels:
        solid = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
        dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
        dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
        per_channel = ax.get_title().startswith(("pau", "pwlu"))
        assert len(solid) == len(dashed) == (4 if per_channel else 1), ax.get_title()
        assert len(dotted) == (8 if ax.get_title().startswith("pwlu") else 0)  # B_L and B_R per channel
        assert not np.allclose(solid[0].get_ydata(), dashed[0].get_ydata())  # trained away from its init
    histograms = [ax for ax in fig.axes if ax.patches]
    assert len(histograms) == len(LEARNABLE)
    import matplotlib.pyplot as plt  # noqa: PLC0415

    plt.close(fig)


def test_plot_rejects_bad_arguments(mixed_model, tmp_path):
    model, _, _ = mixed_model
    with pytest.raises(ValueError, match="path"):
        tf_learnact.plot_activations(model, tmp_path / "a.jpg")
    with pytest.raises(ValueError, match="max_channels"):
        tf_learnact.plot_activations(model, max_channels=0)
    with pytest.raises(ValueError, match="no built learnable"):
        tf_learnact.plot_activations(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def _summary_tags(log_dir) -> dict[str, int]:
    tags: dict[str, int] = {}
    for event_file in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                tags[value.tag] = tags.get(value.tag, 0) + 1
    return tags


def test_activation_monitor_writes_images_and_histograms(tmp_path):
    model, x = build_mixed_model(seed=1)
    monitor = tf_learnact.ActivationMonitor(tmp_path / "logs", every_n_epochs=2, data=x[:4])
    model.fit(x, np.zeros((16, 3)), epochs=4, verbose=0, callbacks=[monitor])
    tags = _summary_tags(tmp_path / "logs")
    assert tags["activations"] == 2  # epochs 2 and 4
    for name in ("pau/numerator", "pau/denominator", "pwlu/heights", "pwlu/left_bound", "abu/blend_weights"):
        assert tags[name] == 2, name
    with pytest.raises(ValueError, match="every_n_epochs"):
        tf_learnact.ActivationMonitor(tmp_path, every_n_epochs=0)
