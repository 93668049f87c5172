"""PWLURealignment: the PWLU paper's statistic-based realignment (Sec. 3.3) as a
Keras callback."""

from __future__ import annotations

import warnings

import keras
import numpy as np

from tf_learnact.layers.base import find_layers
from tf_learnact.layers.pwlu import PHASE_COLLECT, PHASE_FIXED, PWLU


def first_callback_step(boundary: int, start: int, steps_per_epoch: int | None, per_call: int) -> int | None:
    """The first optimizer step >= boundary after which Keras calls on_train_batch_end in
    a fit from step `start`: every `per_call` steps within an epoch, and at the epoch's
    end (None when the epoch length is unknown and the boundary falls inside a call)."""
    offset = boundary - start
    if not steps_per_epoch:
        return boundary if offset % per_call == 0 else None
    epochs, within = divmod(offset, steps_per_epoch)
    return start + epochs * steps_per_epoch + min(-(-within // per_call) * per_call, steps_per_epoch)


class PWLURealignment(keras.callbacks.Callback):
    """Two-phase PWLU training: collect input statistics frozen as ReLU, then realign.

    Phase I starts at the first optimizer step: every PWLU in the model (nested models
    included) is reset to ReLU on its configured bounds and frozen (no optimizer or
    weight decay moves it), and collects the running mean and std of its input, per
    channel when per-channel (Eq. 5, momentum `momentum`, training steps only; the
    first batch initialises them). At the boundary each PWLU is reset with Eq. 6
    (B_L, B_R = mu -/+ sigmas * sigma, K_L = 0, K_R = 1, Y_P = ReLU(B_idx)) and phase II
    trains every parameter. The schedule counts optimizer steps
    (`model.optimizer.iterations`) and the phase is stored in each layer's `phase`
    variable, so it continues across `fit` calls and after a resume from a checkpoint
    (e.g. `keras.callbacks.BackupAndRestore`, listed before this callback), and is never
    applied twice. With `steps_per_execution > 1` Keras calls back only after each
    execution, so phase I ends at the first of those at or after the boundary (a warning
    says which step, and `realigned_at_step` records it).

    Args:
        phase1_epochs: length of phase I in epochs (steps per epoch must be known),
            used when `phase1_steps` is None.
        phase1_steps: length of phase I in optimizer steps (takes precedence).
        momentum: weight of the old statistics in Eq. 5.
        sigmas: half-width of the realigned bounds in standard deviations.
        verbose: 1 prints the realigned bounds.

    Example:

    >>> import numpy as np, keras, tf_learnact
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           tf_learnact.PWLU(intervals=8), keras.layers.Dense(1)])
    >>> model.compile("adam", "mse")
    >>> x, y = np.random.rand(64, 4), np.random.rand(64, 1)
    >>> callback = tf_learnact.PWLURealignment(phase1_steps=4, verbose=0)
    >>> _ = model.fit(x, y, epochs=2, batch_size=16, callbacks=[callback], verbose=0)
    >>> callback.realigned_at_step
    4
    """

    def __init__(
        self,
        phase1_epochs: int = 5,
        phase1_steps: int | None = None,
        momentum: float = 0.9,
        sigmas: float = 3.0,
        verbose: int = 1,
    ):
        super().__init__()
        if phase1_steps is None and (not isinstance(phase1_epochs, int) or phase1_epochs < 0):
            raise ValueError(f"phase1_epochs must be an integer >= 0, got {phase1_epochs!r}")
        if phase1_steps is not None and (not isinstance(phase1_steps, int) or phase1_steps < 0):
            raise ValueError(f"phase1_steps must be an integer >= 0 or None, got {phase1_steps!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if not sigmas > 0:
            raise ValueError(f"sigmas must be > 0, got {sigmas}")
        self.phase1_epochs = phase1_epochs
        self.phase1_steps = phase1_steps
        self.momentum = float(momentum)
        self.sigmas = float(sigmas)
        self.verbose = verbose
        self.realigned_at_step: int | None = None
        self._layers: list[PWLU] = []
        self._boundary: int | None = None

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self._layers = find_layers(self.model, PWLU)
        if not self._layers:
            warnings.warn("PWLURealignment: the model has no PWLU layer", stacklevel=2)
            return
        steps_per_epoch = self.params.get("steps") if self.params else None
        if self.phase1_steps is not None:
            self._boundary = self.phase1_steps
        elif steps_per_epoch:
            self._boundary = self.phase1_epochs * steps_per_epoch
        else:
            self._boundary = None  # epoch-counted: see on_epoch_end
        for layer in self._layers:
            layer.stat_momentum = self.momentum
            # Fresh layers start phase I; restored ones keep their phase.
            if int(layer.phase.numpy()) == PHASE_FIXED and self._step() == 0:
                layer.start_phase_one()
        if self._boundary is not None:
            self._warn_if_boundary_missed(steps_per_epoch)
            self._maybe_realign()

    def _warn_if_boundary_missed(self, steps_per_epoch: int | None) -> None:
        # Keras calls back once per execution of steps_per_execution steps (and at each
        # epoch's end): phase I then lasts until the first callback at or after the
        # boundary, which a user asking for an exact phase I length should hear about.
        per_call = int(getattr(self.model, "steps_per_execution", 1) or 1)
        start = self._step()
        if per_call <= 1 or self._boundary <= start:
            return
        ends_at = first_callback_step(self._boundary, start, steps_per_epoch, per_call)
        if ends_at != self._boundary:
            where = f"step {ends_at}" if ends_at is not None else "the first callback after it"
            warnings.warn(
                f"PWLURealignment: with steps_per_execution={per_call} Keras calls back every "
                f"{per_call} steps, so phase I ends at {where} instead of step {self._boundary}",
                stacklevel=2,
            )

    def on_train_batch_end(self, batch, logs=None):
        if self._boundary is not None:
            self._maybe_realign()

    def on_epoch_end(self, epoch, logs=None):
        if self._boundary is None and epoch + 1 >= self.phase1_epochs:
            self._realign()

    def _maybe_realign(self) -> None:
        if self._step() >= self._boundary:
            self._realign()

    def _realign(self) -> None:
        pending = [layer for layer in self._layers if int(layer.phase.numpy()) == PHASE_COLLECT]
        if not pending:
            return
        step = self._step()
        for layer in pending:
            if not layer.realign(self.sigmas):
                warnings.warn(
                    f"PWLURealignment: {layer.name} saw no training batch; kept in phase I", stacklevel=2
                )
                continue
            if self.verbose:
                left, right = layer.left_bound.numpy(), layer.right_bound.numpy()
                print(
                    f"PWLURealignment: step {step}: {layer.name} bounds "
                    f"[{np.min(left):.4g} .. {np.max(left):.4g}, {np.min(right):.4g} .. {np.max(right):.4g}]"
                    f" ({np.size(left)} unit{'s' if np.size(left) > 1 else ''})"
                )
        self.realigned_at_step = step
