"""Checks shared by the tests of the public functions (tests/test_api_*.py)."""

import time
import tracemalloc

import pytest
from conftest import one_error

import kerncurve as kc


def bad_call(fn, param, **kw):
    """``fn(**kw)`` raises an `InputError`, caught as a ValueError, whose message names ``param``."""
    with pytest.raises(ValueError) as info:
        fn(**kw)
    assert isinstance(info.value, kc.InputError)
    assert param in str(info.value), str(info.value)
    return str(info.value)


def refused_fast(run, *args, seconds=2.0, peak_bytes=200e6):
    """The command exits 2 with one error line, within ``seconds`` and ``peak_bytes`` of
    allocations (tracemalloc sees numpy's); returns the line."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        r = run(*args)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    line = one_error(r)
    assert elapsed < seconds and peak < peak_bytes, (elapsed, peak, line)
    return line
