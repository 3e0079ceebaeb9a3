"""Argument checks shared by the network engine; each error names the Python parameter."""

from __future__ import annotations

import numbers

import numpy as np

from kerncurve.errors import InputError


def choice(name, value, options):
    """``value`` if it is one of ``options``, else an InputError listing them."""
    if value not in options:
        raise InputError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def whole(name, value, minimum=1):
    """``value`` as an int ≥ ``minimum`` (bools and fractions refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")
    return int(value)


def whole_list(name, values, minimum=1):
    """A non-empty tuple of distinct ints ≥ ``minimum``, in the order given."""
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"{name} must be a non-empty list of whole numbers, got {values!r}")
    out = tuple(whole(f"each of {name}", v, minimum) for v in arr.tolist())
    if len(set(out)) != len(out):
        raise InputError(f"{name} has repeated entries: {list(out)}")
    return out


def positive(name, value, allow_zero=False):
    """``value`` as a finite float > 0 (≥ 0 with ``allow_zero``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def finite(name, value):
    """``value`` as a finite float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise InputError(f"{name} must be finite, got {value!r}")
    return v


def positive_list(name, values):
    """A non-empty 1-D float array of finite positive values."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"{name} must be a number or a non-empty list of numbers, got {values!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"{name} must be finite and > 0, got {arr.tolist()}")
    return arr


def data(x, y, xname="x", yname="y"):
    """Inputs (n, D) and targets (n,) or (n, c) as float64 arrays; targets returned as (n, c)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"{xname} must be a 2-D array (samples, features), got shape {x.shape}")
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != x.shape[0] or y.shape[1] == 0:
        raise InputError(f"{yname} must have shape ({x.shape[0]},) or ({x.shape[0]}, c) to match {xname}, "
                         f"got {np.shape(y)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError(f"{xname} and {yname} must be finite")
    return x, y
