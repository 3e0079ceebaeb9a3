"""Argument checks shared by every public function (in the spirit of scikit-learn's validation).

Each ``check_*`` returns the argument in canonical form (float64 arrays, int64 sizes…) or
raises `InputError` whose message starts with the parameter's name, so that a notebook user
reads ``p must be positive integers, got -5`` and the command line, which maps parameter
names to its flags, prints ``--p must be …``.
"""

import numbers
from fractions import Fraction

import numpy as np

from .errors import InputError

__all__ = [
    "MAX_SAMPLES",
    "MAX_POINTS",
    "check_array",
    "check_targets",
    "check_sizes",
    "check_floats",
    "check_float",
    "check_int",
    "check_seed",
    "check_choice",
    "check_count",
    "check_group_selection",
    "check_file_input",
]

MAX_SAMPLES = 2**53  # sample sizes, steps, widths: exact in float64
MAX_POINTS = 1_000_000  # rows of one table (points on a curve)
MAX_SEED = 2**63


def _fail(param, message):
    raise InputError(f"{param} {message}", param=param)


def check_array(x, param, *, ndim=(2,), what=None, min_rows=1):
    """A finite float64 array of an allowed rank with at least ``min_rows`` rows.

    Parameters
    ----------
    x : array_like
    param : str
        Parameter name for messages.
    ndim : tuple of int
    what : str, optional
        Its expected shape in words, e.g. "(n, d)".
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(param, f"must be a numeric array{' ' + what if what else ''}, got {type(x).__name__}")
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        _fail(param, f"must be a {want} array{' ' + what if what else ''}, got shape {arr.shape}")
    if arr.size == 0 or (arr.ndim and arr.shape[0] < min_rows):
        _fail(param, f"is empty (shape {arr.shape}); it needs at least {min_rows} row{'s' * (min_rows > 1)}")
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        _fail(param, f"contains NaN or inf (first at index {bad}); clean the data first")
    big = float(np.max(np.abs(arr)))
    if big > 1e146:
        _fail(param, f"holds values up to {big:.3g}, whose squares overflow float64; rescale it")
    return arr


def check_targets(y, n, param="y", n_param="X"):
    """Targets as a finite (n, c) float64 array (a 1-D ``y`` becomes one column)."""
    y = check_array(y, param, ndim=(1, 2), what="(n,) or (n, c)")
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != n:
        _fail(param, f"has {y.shape[0]} rows but {n_param} has {n}; give one target row per sample")
    return y


def _exact_number(v, param):
    """An int, float or numeric string as an exact Fraction (inf/nan as float)."""
    if isinstance(v, (bool, np.bool_)):
        _fail(param, f"must be numbers, got {v!r}")
    if isinstance(v, numbers.Integral):
        return Fraction(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        return f if not np.isfinite(f) else Fraction(f)
    if isinstance(v, str):
        t = v.strip()
        try:
            return Fraction(t)
        except (ValueError, ZeroDivisionError):
            try:
                f = float(t)
            except ValueError:
                _fail(param, f"must be numbers, got {v!r}")
            return f if not np.isfinite(f) else Fraction(f)
    _fail(param, f"must be numbers, got {type(v).__name__} {v!r}")


def _as_list(values):
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        return [values.item() if isinstance(values, np.generic) else values]
    return list(np.asarray(values, dtype=object).ravel()) if isinstance(values, np.ndarray) else list(values)


def _value_list(values, param, maximum=MAX_POINTS):
    """The values of a scalar-or-sequence argument as a list: not empty, at most ``maximum``."""
    vals = _as_list(values)
    if not vals:
        _fail(param, "is empty; give at least one value")
    if len(vals) > maximum:
        _fail(param, f"has {len(vals)} values; at most {maximum} are allowed")
    return vals


def check_sizes(values, param="p", *, allow_inf=False, minimum=1, maximum=MAX_SAMPLES):
    """Positive integer sizes (sample sizes, widths, steps) as an int64 array (float with inf).

    Fractions (``10.5``), values below ``minimum`` and above ``maximum`` are refused exactly
    (no float wrap-around: ``1e30`` is refused, not turned negative).
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and values.size:
        return _check_int_array(values.ravel(), param, minimum, maximum)
    vals = _value_list(values, param)
    out = []
    for v in vals:
        x = _exact_number(v, param)
        if isinstance(x, float):
            if allow_inf and x == np.inf:
                out.append(np.inf)
                continue
            _fail(param, f"must be {'finite ' if not allow_inf else ''}positive integers, got {v!r}")
        if x.denominator != 1:
            _fail(param, f"must be integers, got {v!r}")
        if x < minimum:
            _fail(param, f"must be integers ≥ {minimum}, got {v!r}")
        if x > maximum:
            _fail(param, f"must be at most {maximum:.3g}, got {v!r}")
        out.append(int(x))
    if allow_inf and any(isinstance(v, float) for v in out):
        return np.array(out, dtype=float)
    return np.array(out, dtype=np.int64)


def _check_int_array(arr, param, minimum, maximum):
    """`check_sizes` of an integer array, vectorized (the command line's parsed lists)."""
    if arr.size > MAX_POINTS:
        _fail(param, f"has {arr.size} values; at most {MAX_POINTS} are allowed")
    low, high = arr.min(), arr.max()
    if low < minimum:
        _fail(param, f"must be integers ≥ {minimum}, got {int(low)!r}")
    if high > maximum:
        _fail(param, f"must be at most {maximum:.3g}, got {int(high)!r}")
    return arr.astype(np.int64)


def check_floats(values, param, *, minimum=None, strict=False, maximum=None, allow_inf=False):
    """A 1-D float64 array of finite numbers within bounds (a scalar becomes one value)."""
    vals = _value_list(values, param)
    out = np.empty(len(vals))
    for i, v in enumerate(vals):
        x = _exact_number(v, param)
        x = float(x)
        if np.isnan(x) or (np.isinf(x) and not allow_inf):
            _fail(param, f"must be finite, got {v!r}")
        if minimum is not None and (x < minimum or (strict and x == minimum)):
            _fail(param, f"must be {'>' if strict else '≥'} {minimum:g}, got {v!r}")
        if maximum is not None and x > maximum:
            _fail(param, f"must be ≤ {maximum:g}, got {v!r}")
        out[i] = x
    return out


def check_float(value, param, **bounds):
    """One float within bounds (see `check_floats`)."""
    if np.ndim(value) != 0:
        _fail(param, f"must be one number, got {value!r}")
    return float(check_floats([value], param, **bounds)[0])


def check_int(value, param, *, minimum=None, maximum=MAX_SAMPLES):
    """One integer within bounds (floats with a fractional part refused)."""
    if np.ndim(value) != 0:
        _fail(param, f"must be one integer, got {value!r}")
    x = _exact_number(value, param)
    if isinstance(x, float) or x.denominator != 1:
        _fail(param, f"must be an integer, got {value!r}")
    if minimum is not None and x < minimum:
        _fail(param, f"must be ≥ {minimum}, got {value!r}")
    if maximum is not None and x > maximum:
        _fail(param, f"must be ≤ {maximum:.3g}, got {value!r}")
    return int(x)


def check_seed(seed, param="seed"):
    """A seed 0 ≤ seed < 2⁶³."""
    return check_int(seed, param, minimum=0, maximum=MAX_SEED - 1)


def check_choice(value, param, choices):
    """One of ``choices`` (strings)."""
    if value not in choices:
        _fail(param, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def check_count(count, param, maximum, unit="points", way_out=""):
    """Refuse ``count`` over ``maximum`` before anything of that size is allocated."""
    if count > maximum:
        tail = f"; {way_out}" if way_out else ""
        _fail(param, f"asks for {count:.6g} {unit}, more than the {maximum:.6g} allowed{tail}")
    return count


def check_group_selection(value, param, *, maximum=MAX_POINTS):
    """Group labels to keep: ``"0-6"``, ``"0,2,4"``, ``"0-2,7"``, an integer or a sequence of them.

    Returns the sorted distinct labels (int64). A range is counted before it is expanded, so
    ``"0-999999999999"`` is refused at once (more than ``maximum`` labels).
    """
    if isinstance(value, str):
        out = set()
        for tok in value.split(","):
            tok = tok.strip()
            lo, hi = _label_range(tok)
            if lo is None:
                _fail(param, f"{tok!r} is not a group label or range like 0-6; give e.g. 0-6 or 0,2,4")
            if hi - lo + 1 + len(out) > maximum:
                _fail(param, f"{tok!r} spans {hi - lo + 1} labels, more than the {maximum} allowed; name only the "
                             "labels present")
            out.update(range(lo, hi + 1))
        return np.array(sorted(out), dtype=np.int64)
    vals = _value_list(value, param, maximum)
    out = []
    for v in vals:
        x = _exact_number(v, param)
        if isinstance(x, float) or x.denominator != 1 or abs(x) >= 2**63:
            _fail(param, f"must be integer group labels (or text like 0-6), got {v!r}")
        out.append(int(x))
    return np.unique(np.array(out, dtype=np.int64))


def _label_range(tok):
    """``"3"`` → (3, 3), ``"0-6"`` → (0, 6), ``"-2--1"`` → (−2, −1); (None, None) if not one."""
    try:
        if "-" in tok[1:]:
            a, b = tok[0] + tok[1:].split("-", 1)[0], tok[1:].split("-", 1)[1]
            lo, hi = int(a), int(b)
        else:
            lo = hi = int(tok)
    except ValueError:
        return None, None
    if hi < lo or max(abs(lo), abs(hi)) >= 2**63:
        return None, None
    return lo, hi
def check_file_input(input, arrays, keys):
    """A command that reads ``input`` (an HDF5 path) or takes arrays: refuse both, a non-path, bad keys.

    ``arrays`` maps names to the arrays given (None: not given); ``keys`` maps the dataset-key
    parameters to their values. Returns True when ``input`` is to be read, False for arrays.
    """
    import os

    given = [k for k, v in arrays.items() if v is not None]
    if input is None:
        return False
    if given:
        raise InputError(f"give either input (an HDF5 file) or the arrays, not both ({', '.join(given)} given)",
                         param=given[0])
    if not isinstance(input, (str, bytes, os.PathLike)):
        _fail("input", f"must be a path to an HDF5 file, got {type(input).__name__}")
    for k, v in keys.items():
        if not isinstance(v, str) or not v:
            _fail(k, f"must be a dataset path like '/{k[:-4]}', got {v!r}")
    return True
