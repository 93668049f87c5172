"""PAU and RPAU Keras layers."""

from __future__ import annotations

import random

import keras
import numpy as np
import tensorflow as tf

from tf_learnact.coefficients import DEFAULT_RANGE, check_degrees, check_range, initial_coefficients
from tf_learnact.layers.base import LearnableActivation
from tf_learnact.ops.pau import check_noise, check_version, pau


def replica_seed(seed):
    """`seed` made distinct per replica of a distribution strategy: replicas take the
    same step and number their elements alike, so on one seed each would draw the same
    noise for its shard of the batch. The replica goes into the top bits (the layer's
    seed and step use the low 55); one replica keeps `seed` as it is."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return seed
    replica = tf.cast(context.replica_id_in_sync_group, tf.int64)
    return tf.bitwise.bitwise_xor(tf.cast(seed, tf.int64), tf.bitwise.left_shift(replica, 56))


@keras.saving.register_keras_serializable(package="tf_learnact")
class PAU(LearnableActivation):
    """Padé Activation Unit: a learnable rational activation P(x) / Q(x).

    F(x) = (a_0 + a_1 x + ... + a_m x^m) / Q(x), by default the safe form
    Q(x) = 1 + |b_1 x + ... + b_n x^n| (Molina et al. 2020, Eq. 2).

    Args:
        degrees: (m, n), numerator and denominator degrees, each in [0, 16].
        init: the function the coefficients start from: "leaky_relu" (slope 0.01),
            "relu", "tanh", "sigmoid", "swish", "identity", "gelu", any NumPy-compatible
            callable (fitted by least squares on `init_range`), or a dict with explicit
            "numerator" and "denominator" coefficient lists.
        version: denominator form. "B": 1 + |sum b_k x^k| (default); "A": 1 + sum
            |b_k||x|^k; "C": 0.1 + |b_0 + sum b_k x^k|; "N": 1 + sum b_k x^k (unsafe:
            can produce poles and non-finite outputs).
        per_channel: one coefficient set per channel along `axis`.
        axis: channel axis for `per_channel` (-1 channels-last, 1 channels-first).
        noise: RPAU alpha; during training each coefficient c of each element is
            replaced by c * (1 + u), u ~ U(-noise, noise). 0 disables it.
        implementation: "auto", "op" or "composite" (see LearnableActivation).
        init_range: interval on which named or callable inits are fitted.
        seed: seed of the RPAU noise stream (drawn at random when None; saved in the
            config so a reloaded model continues the same stream).

    Call arguments:
        inputs: a float tensor (half, bfloat16, float32 or float64); integer and
            boolean inputs are cast to the compute dtype.
        training: noise is applied only when True.

    Example:

    >>> import numpy as np, keras, tf_learnact
    >>> layer = tf_learnact.PAU()
    >>> y = layer(np.linspace(-2.0, 2.0, 5).astype("float32"))
    >>> [round(float(v), 2) for v in y]
    [-0.02, -0.01, 0.03, 1.0, 2.0]
    >>> tuple(layer.numerator.shape), tuple(layer.denominator.shape)
    ((6,), (4,))
    """

    def __init__(
        self,
        degrees=(5, 4),
        init="leaky_relu",
        version: str = "B",
        per_channel: bool = False,
        axis: int = -1,
        noise: float = 0.0,
        implementation: str = "auto",
        init_range=DEFAULT_RANGE,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(per_channel=per_channel, axis=axis, implementation=implementation, **kwargs)
        self.degrees = check_degrees(degrees)
        self.version = check_version(version)
        self.noise = check_noise(noise)
        self.init_range = check_range(init_range, "init_range")
        self.seed = random.randrange(2**31) if seed is None else int(seed)
        # Fitted now, so a bad init fails at construction rather than at first call.
        self._initial = initial_coefficients(init, self.degrees, self.version, self.init_range)
        self.init = init if isinstance(init, (str, dict)) else self._initial_as_dict()

    def _initial_as_dict(self) -> dict:
        num, den = self._initial
        return {"numerator": np.asarray(num).tolist(), "denominator": np.asarray(den).tolist()}

    def build(self, input_shape):
        self._resolve_channels(input_shape)
        num, den = self._initial
        self.numerator = self._add_coefficients("numerator", num)
        self.denominator = self._add_coefficients("denominator", den)
        if self.noise:
            # Advances once per training call so every step draws fresh noise.
            self.noise_step = self.add_weight(
                name="noise_step", shape=(), dtype="int64", initializer="zeros", trainable=False
            )

    def call(self, inputs, training=None):
        inputs = self._as_float(inputs)
        noise, seed = 0.0, 0
        if self.noise and training:
            step = self.noise_step.assign_add(1)
            seed = replica_seed(self.seed * (1 << 24) + step)
            noise = self.noise
        return pau(
            inputs,
            self.numerator,
            self.denominator,
            version=self.version,
            axis=self.axis,
            noise=noise,
            seed=seed,
            implementation=self.implementation,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            degrees=list(self.degrees),
            init=self.init,
            version=self.version,
            noise=self.noise,
            init_range=list(self.init_range),
            seed=self.seed,
        )
        return config


@keras.saving.register_keras_serializable(package="tf_learnact")
class RPAU(PAU):
    """Randomized PAU: a PAU with coefficient noise alpha = 1 % by default.

    Args:
        noise: alpha, the relative half-width of the uniform coefficient noise.
        **kwargs: every other PAU argument.

    Example:

    >>> import numpy as np, tf_learnact
    >>> layer = tf_learnact.RPAU(seed=1)
    >>> x = np.ones((4,), "float32")
    >>> bool(np.all(layer(x, training=False) == layer(x, training=False)))
    True
    """

    def __init__(self, noise: float = 0.01, **kwargs):
        super().__init__(noise=noise, **kwargs)
