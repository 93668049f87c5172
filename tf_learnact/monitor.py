"""A Keras callback that logs the learnable activations to TensorBoard while training."""

from __future__ import annotations

import io

import keras
import numpy as np
import tensorflow as tf

from tf_learnact.inspection import plot_activations, pyplot
from tf_learnact.layers.base import LearnableActivation, find_layers


class ActivationMonitor(keras.callbacks.Callback):
    """Every `every_n_epochs` epochs, writes to `log_dir` (TensorBoard event files) the
    plot of every learnable activation (image "activations", see `plot_activations`) and
    a histogram of each of their float parameters ("<layer>/<parameter>").

    Args:
        log_dir: directory of the event files.
        every_n_epochs: logging period in epochs (>= 1); the step is the epoch index.
        data: optional model inputs for the plots' input histograms.
        max_channels: channels shown per per-channel layer.

    Needs matplotlib and tensorboard (`pip install 'tf-learnact[inspect]'`).
    """

    def __init__(self, log_dir, every_n_epochs: int = 1, data=None, max_channels: int = 4):
        super().__init__()
        if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) or every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be an integer >= 1, got {every_n_epochs!r}")
        pyplot()
        try:
            from tensorboard.summary import v2 as tb_summary  # noqa: PLC0415  (optional dependency)
        except ImportError as err:
            raise ImportError(
                "ActivationMonitor needs tensorboard: pip install 'tf-learnact[inspect]'"
            ) from err
        self._summary = tb_summary
        self.log_dir = str(log_dir)
        self.every_n_epochs = every_n_epochs
        self.data = data
        self.max_channels = max_channels
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs == 0:
            self.log(epoch)

    def log(self, step: int) -> None:
        """Writes the plots and parameter histograms now, at `step`."""
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        plt = pyplot()
        fig = plot_activations(self.model, data=self.data, max_channels=self.max_channels)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        image = tf.image.decode_png(buffer.getvalue(), channels=4)[tf.newaxis]
        with self._writer.as_default():
            self._summary.image("activations", image, step=step)
            for layer in find_layers(self.model, LearnableActivation):
                for weight in layer.weights:
                    if np.issubdtype(np.dtype(weight.dtype), np.floating):
                        name = weight.path.rsplit("/", 1)[-1]
                        self._summary.histogram(f"{layer.name}/{name}", weight.numpy(), step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
