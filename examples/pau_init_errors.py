"""The PAU paper's Fig. 1 / Table 6 check: for each shipped initial coefficient set
(orders (5, 4)), the max |PAU(x) - f(x)| on [-3, 3] per version, and where it comes from
(Table 6 or a least-squares fit).

    python examples/pau_init_errors.py
"""

from __future__ import annotations

import common  # first: quiets TensorFlow's C++ logging before it loads

from tf_learnact.activations import NAMED_FUNCTIONS
from tf_learnact.coefficients import INIT_MAX_ERROR, TABLE6, initial_coefficients, max_error

VERSIONS = ("A", "B", "C", "N")


def source(name: str, version: str) -> str:
    if name not in TABLE6 or version == "C":
        return "fit"
    num, den = initial_coefficients(name, (5, 4), version)
    return "Table 6" if list(num) == list(TABLE6[name][0]) else "fit"


def main() -> None:
    rows = []
    for name in NAMED_FUNCTIONS:
        cells = []
        for version in VERSIONS:
            num, den = initial_coefficients(name, (5, 4), version)
            cells.append(
                f"{max_error(NAMED_FUNCTIONS[name], num, den, version):.2e} ({source(name, version)})"
            )
        rows.append((name, *cells, f"{INIT_MAX_ERROR[name]:g}"))
    common.print_table(
        "PAU (5, 4) initial coefficients: max |PAU(x) - f(x)| on [-3, 3] (source)",
        ("function", *(f"version {v}" for v in VERSIONS), "stated bound"),
        rows,
    )


if __name__ == "__main__":
    main()
