"""PAU initial coefficients: the paper's Table 6 and a least-squares fit for any
function, degrees and version.

Table 6 was fitted for the denominator form Q = 1 + sum |b_k| |x|^k (version "A", the
form of the PAU authors' code). It is used as-is for orders (5, 4) in every version
whose form reproduces it as well as "A" does (for sigmoid, tanh and swish the odd b_k
are 0, so "A", "B" and "N" coincide); everything else is fitted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from tf_learnact.activations import NAMED_FUNCTIONS
from tf_learnact.numpy_reference import pau_numpy
from tf_learnact.ops.pau import MAX_DEGREE, check_version, denominator_size

DEFAULT_RANGE = (-3.0, 3.0)


# Paper Table 6 (orders 5/4): numerator a_0..a_5, denominator b_1..b_4.
TABLE6: dict[str, tuple[list[float], list[float]]] = {
    "sigmoid": (
        [1 / 2, 1 / 4, 1 / 18, 1 / 144, 1 / 2016, 1 / 60480],
        [0.0, 1 / 9, 0.0, 1 / 10008],
    ),
    "tanh": ([0.0, 1.0, 0.0, 1 / 9, 0.0, 1 / 945], [0.0, 4 / 9, 0.0, 1 / 63]),
    # Swish with beta = 1: a_2 = b/4, a_3 = 3b^2/56, ...
    "swish": ([0.0, 1 / 2, 1 / 4, 3 / 56, 1 / 168, 1 / 3360], [0.0, 3 / 28, 0.0, 1 / 1680]),
    "relu": (
        [0.02996348, 0.61690165, 2.37539147, 3.06608078, 1.52474449, 0.25281987],
        [1.19160814, 4.40811795, 0.91111034, 0.34885983],
    ),
    "leaky_relu": (
        [0.02979246, 0.61837738, 2.32335207, 3.05202660, 1.48548002, 0.25103717],
        [1.14201226, 4.39322834, 0.87154450, 0.34720652],
    ),
}

# Max |PAU(x) - f(x)| on [-3, 3] that each named init keeps for orders (5, 4), in every
# version (measured by tests/test_pau_layer.py::test_named_inits_within_stated_error).
INIT_MAX_ERROR = {
    "leaky_relu": 0.035,
    "relu": 0.035,
    "tanh": 0.001,
    "sigmoid": 0.035,
    "swish": 0.001,
    "identity": 1e-6,
    "gelu": 0.005,
}


def _linearised_start(x, f, m: int, n: int, version: str) -> np.ndarray:
    """Least squares on P(x) - f(x) E(z) = q0 f(x) (the |.| dropped), reweighted by
    1/Q a few times (Sanathanan-Koerner), as the starting point of the real fit."""
    koff = 0 if version == "C" else 1
    q0 = 0.1 if version == "C" else 1.0
    z = np.abs(x) if version == "A" else x
    den_cols = z[:, None] ** np.arange(koff, n + 1)
    cols = np.concatenate([x[:, None] ** np.arange(m + 1), -f[:, None] * den_cols], axis=1)
    weights = np.ones_like(x)
    for _ in range(4):
        sol, *_ = np.linalg.lstsq(cols * weights[:, None], q0 * f * weights, rcond=None)
        q = q0 + den_cols @ sol[m + 1 :]
        weights = 1.0 / np.maximum(np.abs(q), 1e-3)
    return sol


def _levenberg_marquardt(x, f, params, m: int, version: str, iterations: int = 300):
    """Minimises sum (F(x) - f(x))^2 over the true (safe) form, analytic Jacobian."""

    def residual_and_jacobian(p):
        y, _, d_num, d_den = pau_numpy(x, p[: m + 1], p[m + 1 :], version)
        return y - f, np.concatenate([d_num, d_den], axis=1)

    r, jac = residual_and_jacobian(params)
    cost = float(r @ r)
    lam = 1e-3
    for _ in range(iterations):
        jtj = jac.T @ jac
        grad = jac.T @ r
        damped = jtj + lam * np.diag(np.diag(jtj) + 1e-12)
        try:
            step = np.linalg.solve(damped, -grad)
        except np.linalg.LinAlgError:
            lam *= 10.0
            continue
        trial = params + step
        r_t, jac_t = residual_and_jacobian(trial)
        cost_t = float(r_t @ r_t)
        if np.isfinite(cost_t) and cost_t < cost:
            converged = cost - cost_t <= 1e-12 * cost
            params, r, jac, cost = trial, r_t, jac_t, cost_t
            lam = max(lam / 3.0, 1e-12)
            if converged:
                break
        else:
            lam *= 3.0
            if lam > 1e12:
                break
    return params


def _function_values(fn: Callable, x: np.ndarray) -> np.ndarray:
    values = np.asarray(fn(x), dtype=np.float64)
    if values.shape != x.shape or not np.all(np.isfinite(values)):
        raise ValueError("init function must map a float64 array to finite values of the same shape")
    return values


def check_degrees(degrees) -> tuple[int, int]:
    pair = degrees if isinstance(degrees, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(d, (int, np.integer)) for d in pair):
        raise ValueError(f"degrees must be a pair (m, n) of integers, got {degrees!r}")
    m, n = (int(d) for d in pair)
    if not (0 <= m <= MAX_DEGREE and 0 <= n <= MAX_DEGREE):
        raise ValueError(f"degrees must satisfy 0 <= m, n <= {MAX_DEGREE}, got {degrees!r}")
    return m, n


def check_range(x_range, name: str = "x_range") -> tuple[float, float]:
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {x_range!r}") from None
    if not low < high:
        raise ValueError(f"{name} must be (low, high) with low < high, got {x_range!r}")
    return low, high


def fit_pau(
    fn: Callable,
    degrees=(5, 4),
    version: str = "B",
    x_range=DEFAULT_RANGE,
    num_points: int = 2001,
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares PAU coefficients approximating `fn` on `x_range`.

    Args:
        fn: NumPy-compatible function of a float64 array.
        degrees: (m, n), numerator and denominator degrees.
        version: denominator form, one of "A", "B", "C", "N".
        x_range: (low, high) interval of the fit.
        num_points: evenly spaced sample points in the interval.

    Returns:
        (numerator [m+1], denominator [n], or [n+1] for "C"), float64.
    """
    m, n = check_degrees(degrees)
    check_version(version)
    low, high = check_range(x_range)
    x = np.linspace(low, high, num_points)
    f = _function_values(fn, x)
    starts = [_linearised_start(x, f, m, n, version)]
    if version == "C":
        # 0.1 + |0.9 + B(x)| equals B's 1 + |B(x)| wherever B(x) >= 0: a second start
        # that rescues functions (ReLU-like) whose linearised start is poor.
        num_b, den_b = fit_pau(fn, (m, n), "B", x_range, num_points)
        starts.append(np.concatenate([num_b, [0.9], den_b]))
    low_m, low_n = min(m, 5), min(n, 4)
    if (low_m, low_n) != (m, n):
        # A lower-degree fit padded with zeros is the same function, so LM from it can
        # only improve on it (high degrees are badly conditioned from the linear start).
        num_l, den_l = fit_pau(fn, (low_m, low_n), version, x_range, num_points)
        pad_den = np.zeros(denominator_size(n, version))
        pad_den[: den_l.size] = den_l
        starts.append(np.concatenate([num_l, np.zeros(m - low_m), pad_den]))
    best, best_cost = None, np.inf
    for start in starts:
        params = _levenberg_marquardt(x, f, start, m, version)
        r = pau_numpy(x, params[: m + 1], params[m + 1 :], version)[0] - f
        if float(r @ r) < best_cost:
            best, best_cost = params, float(r @ r)
    return best[: m + 1].copy(), best[m + 1 :].copy()


def max_error(fn: Callable, numerator, denominator, version: str, x_range=DEFAULT_RANGE) -> float:
    """Max |PAU(x) - fn(x)| on 20001 points of x_range."""
    x = np.linspace(*x_range, 20001)
    y = pau_numpy(x, numerator, denominator, version)[0]
    return float(np.max(np.abs(y - _function_values(fn, x))))


@functools.lru_cache(maxsize=128)
def _named_coefficients(name: str, degrees: tuple[int, int], version: str, x_range) -> tuple:
    fn = NAMED_FUNCTIONS[name]
    if degrees == (5, 4) and name in TABLE6 and version != "C":
        num, den = (np.array(v, np.float64) for v in TABLE6[name])
        # The table applies where this version's form reproduces it as well as "A".
        if max_error(fn, num, den, version, x_range) <= 1.05 * max_error(fn, num, den, "A", x_range):
            return num, den
    return fit_pau(fn, degrees, version, x_range)


def initial_coefficients(init, degrees=(5, 4), version: str = "B", x_range=DEFAULT_RANGE):
    """(numerator, denominator) float64 for a PAU `init`.

    Args:
        init: a name in NAMED_FUNCTIONS, a callable (fitted), or a dict with explicit
            "numerator" and "denominator" lists.
        degrees, version, x_range: as for `fit_pau`.
    """
    m, n = check_degrees(degrees)
    check_version(version)
    if isinstance(init, dict):
        if set(init) != {"numerator", "denominator"}:
            raise ValueError(f"init dict needs exactly 'numerator' and 'denominator', got {sorted(init)}")
        num = np.asarray(init["numerator"], np.float64)
        den = np.asarray(init["denominator"], np.float64)
        want = (m + 1, denominator_size(n, version))
        if (num.shape[-1], den.shape[-1]) != want:
            raise ValueError(
                f"init coefficients have sizes {(num.shape[-1], den.shape[-1])}, "
                f"expected {want} for degrees {degrees} and version {version!r}"
            )
        return num, den
    if isinstance(init, str):
        if init not in NAMED_FUNCTIONS:
            raise ValueError(f"init must be one of {sorted(NAMED_FUNCTIONS)} or a callable, got {init!r}")
        num, den = _named_coefficients(init, (m, n), version, tuple(float(v) for v in x_range))
        return num.copy(), den.copy()
    if callable(init):
        return fit_pau(init, (m, n), version, x_range)
    raise ValueError(f"init must be a name, a callable or a coefficient dict, got {init!r}")
