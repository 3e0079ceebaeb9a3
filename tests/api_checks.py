"""Checks shared by the tests of the Python API: equal to the CLI, and errors that name the parameter."""

import json

import numpy as np
import pytest

import kerncurve as kc


def same_as_cli(cli_json, result, params=True):
    """The CLI's ``--json`` output and a `Result`: same columns in order (1e-12 relative), same summary."""
    obj = json.loads(cli_json)
    rows = obj["rows"]
    api = result.to_dict()
    assert list(rows[0]) == list(api)
    for col, vals in api.items():
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
