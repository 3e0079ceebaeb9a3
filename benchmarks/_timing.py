"""Timing helper shared by the benchmarks: the best of a few repeats (least disturbed by load)."""

import time

import numpy as np


def best_of(fn, repeats=1):
    """(best wall time in seconds, the last result of ``fn()``) over ``repeats`` calls."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_time(fn, repeats=1):
    """Best wall time in seconds over ``repeats`` calls of ``fn()``."""
    return best_of(fn, repeats)[0]
