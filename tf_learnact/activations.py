"""NumPy float64 reference activations: what the learnable activations are
initialised to approximate (PAU by a rational fit, PWLU by sampling at its knots)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


_erf = np.vectorize(math.erf, otypes=[np.float64])

NAMED_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "swish": lambda x: x * _sigmoid(x),
    "identity": lambda x: np.asarray(x, np.float64),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
}
