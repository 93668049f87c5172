"""Round-robin timing shared by the benchmarks."""

from __future__ import annotations

import statistics
import time


def interleaved_medians_ms(fns: dict, repeats: int) -> dict:
    """Median ms of each function, timed round-robin (one call of each per round), so
    that every ratio between them compares calls made under the same machine load: the
    shared 2-core machine's speed drifts by 10-20% within one run, and timing one
    function after another put that drift into the ratios."""
    for fn in fns.values():
        fn()  # trace / compile / warm up
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}
