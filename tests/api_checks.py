"""Checks shared by the tests of the Python API: equal to the CLI, and errors that name the parameter."""

import json
import time
import tracemalloc

import numpy as np
import pytest

import kerncurve as kc
from conftest import one_error


def same_as_cli(cli_json, result, params=True):
    """The CLI's ``--json`` output and a `Result`: same columns in order (1e-12 relative), same summary."""
    obj = json.loads(cli_json)
    rows = obj["rows"]
    api = result.to_dict()
    assert list(rows[0]) == list(api)
    for col, vals in api.items():
        if vals.dtype.kind in "OUS":  # text columns (param, input) compare exactly
            assert [str(v) for v in vals] == [r[col] for r in rows], col
            continue
        got = np.array([float(r[col]) for r in rows])
        np.testing.assert_allclose(vals, got, rtol=1e-12, atol=0, err_msg=col)
    mine = json.loads(result.to_json())
    assert obj["summary"] == mine["summary"]
    if params:
        assert obj["params"] == mine["params"]


def raises_input_error(func, param, **kwargs):
    """``func(**kwargs)`` raises an `InputError` (caught as ValueError) whose message names ``param``."""
    with pytest.raises(ValueError) as e:
        func(**kwargs)
    assert isinstance(e.value, kc.InputError)
    assert str(e.value).startswith(param) or f"{param}=" in str(e.value), str(e.value)


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
