"""PWLU Keras layer, with the state statistic-based realignment needs."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_learnact.activations import NAMED_FUNCTIONS
from tf_learnact.coefficients import check_range
from tf_learnact.layers.base import LearnableActivation
from tf_learnact.ops.pwlu import pwlu

PARAMETER_NAMES = ("left_bound", "right_bound", "heights", "left_slope", "right_slope")

# Values of the `phase` variable.
PHASE_FIXED = 0  # no realignment: trains from the initial bounds (the paper's fix-init)
PHASE_COLLECT = 1  # phase I: frozen as ReLU, collecting input statistics
PHASE_REALIGNED = 2  # phase II: realigned with Eq. 6, training every parameter


def initial_parameters(init, intervals: int, bounds) -> dict[str, np.ndarray]:
    """PWLU parameters approximating `init` (a name or NumPy callable) on `bounds`:
    heights sampled at the N+1 knots, outer slopes as unit secants beyond the bounds
    (so "relu" gives the paper's K_L = 0, K_R = 1, Y_P = ReLU(B_idx)). A dict of the
    five parameter values is taken as it is (how a callable init is serialized)."""
    if isinstance(init, dict):
        if set(init) != set(PARAMETER_NAMES) or np.shape(init["heights"]) != (intervals + 1,):
            raise ValueError(f"init dict needs {PARAMETER_NAMES} with {intervals + 1} heights")
        return {k: np.asarray(v, np.float64) for k, v in init.items()}
    fn = NAMED_FUNCTIONS.get(init) if isinstance(init, str) else init
    if not callable(fn):
        raise ValueError(f"init must be one of {sorted(NAMED_FUNCTIONS)} or a callable, got {init!r}")
    left, right = bounds
    knots = np.linspace(left, right, intervals + 1)
    values = np.asarray(fn(np.concatenate([[left - 1.0], knots, [right + 1.0]])), np.float64)
    if values.shape != (intervals + 3,) or not np.all(np.isfinite(values)):
        raise ValueError("init must map a float64 array to finite values of the same shape")
    return {
        "left_bound": np.float64(left),
        "right_bound": np.float64(right),
        "heights": values[1:-1],
        "left_slope": values[1] - values[0],
        "right_slope": values[-1] - values[-2],
    }


class _FrozenInPhaseOne(keras.constraints.Constraint):
    """Projects a PWLU parameter back to its phase-I (ReLU) value after every optimizer
    update while the layer is in phase I, so no optimizer (momentum, weight decay)
    moves it; a no-op otherwise."""

    def __init__(self, layer: PWLU, name: str):
        self.layer, self.name = layer, name

    def __call__(self, w):
        frozen = tf.cast(self.layer.phase_one_value(self.name), w.dtype)
        return tf.where(tf.equal(self.layer.phase, PHASE_COLLECT), frozen + tf.zeros_like(w), w)


@keras.saving.register_keras_serializable(package="tf_learnact")
class PWLU(LearnableActivation):
    """Piecewise Linear Unit (Zhou et al. 2021): N uniform intervals on [B_L, B_R].

    PWLU_N(x) = (x - B_L) K_L + Y_P^0 for x < B_L, (x - B_R) K_R + Y_P^N for x >= B_R,
    and linear between the heights Y_P of the N+1 knots inside; evaluated as the
    inference table y = x * S[k] + O[k] (one multiply-add per element) in training and
    inference alike. Train it with `tf_learnact.PWLURealignment` to align the bounds
    with the input distribution (the paper's statistic-based realignment); without the
    callback it trains from its initial bounds.

    Args:
        intervals: N >= 1.
        bounds: initial (B_L, B_R), B_L < B_R.
        per_channel: one PWLU per channel along `axis` (the paper's channel-wise form)
            instead of one per layer.
        axis: channel axis (-1 channels-last, 1 channels-first).
        init: the function the parameters start from ("relu", or any name of
            `tf_learnact.activations.NAMED_FUNCTIONS`, or a NumPy callable).
        implementation: "auto", "op" or "composite" (see LearnableActivation).

    Attributes:
        left_bound, right_bound, heights, left_slope, right_slope: the parameters
            (float32), prefixed by C when per-channel; heights hold N+1 values.
        running_mean, running_std: input statistics collected in phase I ((C,) per
            channel, () per layer); running_std < 0 means none collected yet.
        phase: 0 no realignment, 1 phase I (frozen as ReLU, collecting), 2 phase II.

    Call arguments:
        inputs: a float tensor (half, bfloat16, float32 or float64); integer and
            boolean inputs are cast to the compute dtype.
        training: statistics are collected only when True and in phase I.

    Example:

    >>> import numpy as np, tf_learnact
    >>> layer = tf_learnact.PWLU(intervals=4, bounds=(-2.0, 2.0), per_channel=False)
    >>> [float(v) for v in layer(np.array([-3.0, -1.0, 0.5, 5.0], "float32"))]
    [0.0, 0.0, 0.5, 5.0]
    """

    def __init__(
        self,
        intervals: int = 16,
        bounds=(-3.0, 3.0),
        per_channel: bool = True,
        axis: int = -1,
        init="relu",
        implementation: str = "auto",
        **kwargs,
    ):
        super().__init__(per_channel=per_channel, axis=axis, implementation=implementation, **kwargs)
        if isinstance(intervals, bool) or not isinstance(intervals, (int, np.integer)) or intervals < 1:
            raise ValueError(f"intervals must be an integer >= 1, got {intervals!r}")
        self.intervals = int(intervals)
        self.bounds = check_range(bounds, "bounds")
        if not all(np.isfinite(self.bounds)):
            raise ValueError(f"bounds must be finite, got {bounds!r}")
        self._initial = initial_parameters(init, self.intervals, self.bounds)
        self._phase_one = initial_parameters("relu", self.intervals, self.bounds)
        self.init = (
            init
            if isinstance(init, (str, dict))
            else {k: np.asarray(v).tolist() for k, v in self._initial.items()}
        )
        # Set by PWLURealignment before training (read when the train step is traced).
        self.stat_momentum = 0.9

    def build(self, input_shape):
        self._resolve_channels(input_shape)
        lead = (self.channels,) if self.per_channel else ()
        for name in PARAMETER_NAMES:
            value = np.broadcast_to(self._initial[name], lead + np.shape(self._initial[name]))
            variable = self._add_parameter(name, value, constraint=_FrozenInPhaseOne(self, name))
            setattr(self, name, variable)
        self.running_mean = self._add_state("running_mean", lead, 0.0)
        self.running_std = self._add_state("running_std", lead, -1.0)
        self.phase = self.add_weight(
            name="phase",
            shape=(),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )

    def _add_state(self, name, shape, value):
        # Every replica assigns the same all-reduced value, so "mean" keeps it exact.
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=keras.initializers.Constant(value),
            dtype=self.variable_dtype,
            trainable=False,
            autocast=False,
            aggregation="mean",
        )

    def phase_one_value(self, name: str) -> np.ndarray:
        """The ReLU value a parameter is held at during phase I."""
        lead = (self.channels,) if self.per_channel else ()
        value = self._phase_one[name]
        return np.broadcast_to(value, lead + np.shape(value)).astype(np.float32)

    def parameters(self) -> list:
        return [getattr(self, name) for name in PARAMETER_NAMES]

    def call(self, inputs, training=None):
        inputs = self._as_float(inputs)
        if training:
            in_phase_one = tf.equal(self.phase, PHASE_COLLECT)
            context = tf.distribute.get_replica_context()
            if context is not None and context.num_replicas_in_sync > 1:
                # Cross-replica reductions cannot sit inside tf.cond: always compute,
                # keep the old statistics outside phase I.
                self._collect_statistics(inputs)
            else:  # only phase I pays for the statistics pass
                tf.cond(in_phase_one, lambda: self._collect_statistics(inputs), lambda: tf.constant(False))
            # Phase I: no gradient reaches the parameters (optimizer state stays clean);
            # the constraint undoes weight decay.
            params = [tf.where(in_phase_one, tf.stop_gradient(p), p) for p in self.parameters()]
        else:
            # Inference reads the parameters as they are (the phase only steers training):
            # without the phase test and five selects, the benchmark model's inference
            # went 1.15-1.19x -> 1.12-1.13x ReLU.
            params = self.parameters()
        return pwlu(inputs, *params, axis=self.axis, implementation=self.implementation)

    def _collect_statistics(self, inputs) -> tf.Tensor:
        """Eq. 5 with momentum `stat_momentum`, aggregated across replicas; the first
        batch initialises the statistics (Eq. 5 leaves the start open: starting from
        the first batch instead of 0 avoids a bias towards 0 in short phases)."""
        x = tf.cast(inputs, tf.float32)
        rank = x.shape.rank
        axis = self.axis % rank if self.per_channel else None
        reduce_axes = [a for a in range(rank) if a != axis]
        count = tf.cast(tf.size(x), tf.float32) / (
            tf.cast(tf.shape(x)[axis], tf.float32) if self.per_channel else 1.0
        )
        total = tf.reduce_sum(x, axis=reduce_axes)
        context = tf.distribute.get_replica_context()
        replicated = context is not None and context.num_replicas_in_sync > 1
        if replicated:
            total, count = context.all_reduce(tf.distribute.ReduceOp.SUM, [total, count])
        mean = total / count
        centred = tf.reduce_sum(tf.square(x - self._channel_shaped(mean, rank)), axis=reduce_axes)
        if replicated:
            centred = context.all_reduce(tf.distribute.ReduceOp.SUM, centred)
        std = tf.sqrt(centred / count)

        momentum = float(self.stat_momentum)
        first = self.running_std < 0.0
        collecting = tf.equal(self.phase, PHASE_COLLECT)
        new_mean = tf.where(first, mean, momentum * self.running_mean + (1.0 - momentum) * mean)
        new_std = tf.where(first, std, momentum * self.running_std + (1.0 - momentum) * std)
        self.running_mean.assign(tf.where(collecting, new_mean, self.running_mean))
        self.running_std.assign(tf.where(collecting, new_std, self.running_std))
        return tf.constant(True)

    def _channel_shaped(self, values, rank):
        if not self.per_channel:
            return values
        shape = [1] * rank
        shape[self.axis] = -1
        return tf.reshape(values, shape)

    # --- realignment (driven by PWLURealignment) -------------------------------------

    def start_phase_one(self) -> None:
        """Resets to ReLU on the configured bounds, clears statistics, enters phase I."""
        for name in PARAMETER_NAMES:
            getattr(self, name).assign(self.phase_one_value(name))
        self.running_mean.assign(tf.zeros_like(self.running_mean))
        self.running_std.assign(-tf.ones_like(self.running_std))
        self.phase.assign(PHASE_COLLECT)

    def realign(self, sigmas: float = 3.0) -> bool:
        """Eq. 6: B_L/B_R = mu -/+ sigmas * sigma, K_L = 0, K_R = 1, Y_P = ReLU(B_idx);
        enters phase II. Returns False (and stays in phase I) without statistics."""
        std = self.running_std.numpy()
        if np.any(std < 0):
            return False
        mean = self.running_mean.numpy().astype(np.float64)
        # A constant input (sigma = 0) would give B_L = B_R: keep a minimal width.
        half = np.maximum(sigmas * std.astype(np.float64), 1e-3)
        left, right = mean - half, mean + half
        fractions = np.linspace(0.0, 1.0, self.intervals + 1)
        knots = left[..., None] + (right - left)[..., None] * fractions
        self.left_bound.assign(left.astype(np.float32))
        self.right_bound.assign(right.astype(np.float32))
        self.heights.assign(np.maximum(knots, 0.0).astype(np.float32))
        self.left_slope.assign(np.zeros_like(std, np.float32))
        self.right_slope.assign(np.ones_like(std, np.float32))
        self.phase.assign(PHASE_REALIGNED)
        return True

    def get_config(self):
        config = super().get_config()
        config.update(intervals=self.intervals, bounds=list(self.bounds), init=self.init)
        return config
