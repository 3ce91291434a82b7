"""Small timing helper shared by the decoder benchmarks."""

import time


def best_of(fn, repeat):
    """(best wall time in ms over ``repeat`` calls, the last call's result)."""
    best, out = float("inf"), None
    for _ in range(max(1, int(repeat))):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000.0, out
