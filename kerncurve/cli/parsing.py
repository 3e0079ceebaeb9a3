"""Parsing the command line's list and range syntax, exactly and within budgets.

``--p`` takes a comma list (``10,20,50``) or ``START:STOP:NUM`` = NUM log-spaced integers
from START to STOP inclusive, duplicates dropped. Values are parsed as exact numbers (no
float wrap-around), and a range is generated de-duplicated without materializing its NUM
raw values; an absurd NUM (``--p 1:10:1000000000``) is refused at once, with the number of
distinct values the range holds.
"""

from fractions import Fraction

import numpy as np

from .._validation import MAX_POINTS, MAX_SAMPLES, check_group_selection
from ..errors import InputError

__all__ = [
    "parse_sizes",
    "parse_lr_grid",
    "parse_range",
    "log_range",
    "log_range_count",
    "parse_p",
    "parse_float_list",
    "parse_int_list",
    "parse_group_list",
    "parse_sizes",
    "parse_lr_grid",
]

_DIRECT = 100_000  # up to this NUM the raw sequence is small: build it directly


def _number(tok, option, what="a number"):
    t = tok.strip()
    try:
        return Fraction(t)
    except (ValueError, ZeroDivisionError):
        pass
    try:
        v = float(t)
    except ValueError:
        raise InputError(f"{option}: {tok!r} is not {what}") from None
    return v  # inf or nan


def parse_range(text, option, example="10:1000:25"):
    """Split ``START:STOP:NUM`` into (float, float, int), or raise one clear `InputError`."""
    parts = text.split(":")
    bad = InputError(f"{option} {text!r}: a range is START:STOP:NUM (numbers, NUM an integer), e.g. {example}")
    if len(parts) != 3:
        raise bad
    try:
        start, stop = float(parts[0]), float(parts[1])
        num = Fraction(parts[2].strip())
    except (ValueError, ZeroDivisionError):
        raise bad from None
    if num.denominator != 1:
        raise bad
    return start, stop, int(num)


def _log_values(start, stop, num, idx):
    """Exactly ``np.geomspace(start, stop, num)[idx]`` without building the whole sequence."""
    idx = np.asarray(idx, dtype=np.int64)
    if num == 1:
        return np.full(idx.shape, float(start))
    lo, hi = np.log10(start), np.log10(stop)
    step = (hi - lo) / (num - 1)
    out = np.power(10.0, idx.astype(float) * step + lo)
    out[idx == 0] = start
    out[idx == num - 1] = stop
    return out


def _crossover(start, stop, num):
    """The first index i* from which consecutive values are ≥ 1 apart (num − 1 if none)."""
    if stop == start:
        return num - 1
    if num <= 2:
        return 0
    ratio = (stop / start) ** (1.0 / (num - 1))
    if ratio <= 1.0:
        return num - 1
    x_star = 1.0 / (ratio - 1.0)  # spacing x_i (ratio − 1) ≥ 1 from here
    if x_star <= start:
        i = 0
    elif x_star >= stop:
        return num - 1
    else:
        i = int(np.floor(np.log(x_star / start) / np.log(ratio) * 1.0))
    i = min(max(i - 2, 0), num - 1)

    def gap(j):
        v = _log_values(start, stop, num, [j, min(j + 1, num - 1)])
        return v[1] - v[0]

    while i < num - 1 and gap(i) < 1.0:  # a few steps from the estimate
        i += 1
    while i > 0 and gap(i - 1) >= 1.0:
        i -= 1
    return i


def log_range_count(start, stop, num):
    """How many distinct integers ``round(geomspace(start, stop, num))`` holds."""
    if num <= _DIRECT:
        return int(np.unique(np.round(np.geomspace(start, stop, num))).size)
    i = _crossover(start, stop, num)
    head_hi = float(np.round(_log_values(start, stop, num, [i])[0]))
    return int(head_hi - np.round(start) + 1) + (num - 1 - i)


def log_range(start, stop, num):
    """``np.unique(np.round(np.geomspace(start, stop, num)))`` as int64, without the raw sequence.

    Before the index i* where consecutive values are less than 1 apart, the rounded values
    cover every integer between their ends; from i* on they are all distinct.
    """
    if num <= _DIRECT:
        return np.unique(np.round(np.geomspace(start, stop, num)).astype(np.int64))
    i = _crossover(start, stop, num)
    head = np.arange(int(np.round(start)), int(np.round(_log_values(start, stop, num, [i])[0])) + 1, dtype=np.int64)
    tail = np.round(_log_values(start, stop, num, np.arange(i + 1, num))).astype(np.int64)
    return np.unique(np.concatenate([head, tail]))


def parse_p(text, option="--p", allow_inf=False, maximum=MAX_SAMPLES, max_points=MAX_POINTS):
    """Sample sizes: a comma list ``10,20,50`` or ``START:STOP:NUM`` (NUM log-spaced integers).

    Returns an int64 array (float with ``inf`` entries when ``allow_inf``). Every value is
    an exact positive integer ≤ ``maximum``; at most ``max_points`` values.
    """
    text = (text or "").strip()
    if not text:
        raise InputError(f"{option} is empty; give a comma list like 10,20,50 or a range START:STOP:NUM")
    if ":" in text:
        start, stop, num = parse_range(text, option)
        if not (np.isfinite(start) and np.isfinite(stop)) or start < 1 or stop < start or num < 1:
            raise InputError(f"{option} {text!r}: need 1 ≤ START ≤ STOP (finite) and NUM ≥ 1")
        if stop > maximum:
            raise InputError(f"{option} {text!r}: STOP must be at most {maximum:.6g}")
        count = log_range_count(start, stop, num)
        if num > max_points:
            raise InputError(f"{option} {text!r}: NUM = {num} is more than the {max_points} points allowed (the range "
                             f"holds {count} distinct integers); use a smaller NUM, e.g. "
                             f"{text.rsplit(':', 1)[0]}:{min(count, max_points)}")
        if count > max_points:
            raise InputError(f"{option} {text!r} asks for {count} distinct values, more than the {max_points} "
                             "allowed; use a smaller NUM")
        return log_range(start, stop, num)
    toks = text.split(",")
    if len(toks) > max_points:
        raise InputError(f"{option} has {len(toks)} values, more than the {max_points} allowed")
    out = []
    for tok in toks:
        v = _number(tok, option, "a number; give positive integers like 10,20,50")
        if isinstance(v, float):
            if allow_inf and v == np.inf:
                out.append(np.inf)
                continue
            raise InputError(f"{option}: {tok.strip()!r} is not a positive integer sample size")
        if v.denominator != 1 or v < 1:
            raise InputError(f"{option}: {tok.strip()!r} is not a positive integer sample size")
        if v > maximum:
            raise InputError(f"{option}: {tok.strip()!r} is too large; sizes must be at most {maximum:.6g}")
        out.append(int(v))
    if allow_inf and any(isinstance(v, float) for v in out):
        return np.array(out, dtype=float)
    return np.array(out, dtype=np.int64)


def parse_float_list(text, option, *, minimum=0.0, strict=False, allow_inf=False, keywords=(), maximum=None,
                     max_points=MAX_POINTS):
    """A comma list of floats ≥ ``minimum`` (> if ``strict``); ``keywords`` pass through as strings."""
    text = (str(text) if text is not None else "").strip()
    if not text:
        raise InputError(f"{option} is empty; give a number or a comma list")
    toks = text.split(",")
    if len(toks) > max_points:
        raise InputError(f"{option} has {len(toks)} values, more than the {max_points} allowed")
    out = []
    for tok in toks:
        tok = tok.strip()
        if tok in keywords:
            out.append(tok)
            continue
        try:
            v = float(tok)
        except ValueError:
            extra = f" or {'/'.join(keywords)}" if keywords else ""
            raise InputError(f"{option}: {tok!r} is not a number{extra}") from None
        if np.isnan(v) or (np.isinf(v) and not allow_inf):
            raise InputError(f"{option}: {tok!r} must be finite")
        if v < minimum or (strict and v == minimum):
            cmp = ">" if strict else "≥"
            raise InputError(f"{option}: {tok} must be {cmp} {minimum:g}")
        if maximum is not None and v > maximum:
            raise InputError(f"{option}: {tok} must be ≤ {maximum:g}")
        out.append(v)
    return out


def parse_int_list(text, option, *, minimum=1, maximum=MAX_SAMPLES):
    """A comma list of exact integers in [``minimum``, ``maximum``]."""
    text = (str(text) if text is not None else "").strip()
    if not text:
        raise InputError(f"{option} is empty; give an integer or a comma list")
    toks = text.split(",")
    if len(toks) > MAX_POINTS:
        raise InputError(f"{option} has {len(toks)} values, more than the {MAX_POINTS} allowed")
    out = []
    for tok in toks:
        v = _number(tok, option)
        if isinstance(v, float) or v.denominator != 1:
            raise InputError(f"{option}: {text!r} must be integers")
        if v < minimum:
            raise InputError(f"{option}: {tok.strip()} must be ≥ {minimum:g}")
        if v > maximum:
            raise InputError(f"{option}: {tok.strip()} must be ≤ {maximum:.6g}")
        out.append(int(v))
    return out


def parse_group_list(text, option, maximum=MAX_POINTS):
    """Group labels: ``0-6``, ``0,2,4`` or ``0-2,7`` → a set of ints (at most ``maximum``)."""
    return set(check_group_selection(str(text), option, maximum=maximum).tolist())


def parse_sizes(text, option, example="32:512:5"):
    """Network sizes (``--width``, ``--depth``): a comma list ``32,64,128`` or ``START:STOP:NUM``
    (NUM log-spaced integers, duplicates dropped); each ≥ 1."""
    text = (str(text) if text is not None else "").strip()
    if ":" not in text:
        return parse_int_list(text, option, minimum=1)
    start, stop, num = parse_range(text, option, example)
    if not (np.isfinite(start) and np.isfinite(stop)) or start < 1 or stop < start or num < 1:
        raise InputError(f"{option} {text!r}: need 1 ≤ START ≤ STOP (finite) and NUM ≥ 1")
    if num > 1000:
        raise InputError(f"{option} {text!r}: NUM = {num} sizes is more than the 1000 allowed")
    return log_range(start, stop, num).tolist()


def parse_lr_grid(text, option="--lr", example="0.01:10:7"):
    """Learning rates: a comma list ``0.1,1,10`` or ``START:STOP:NUM`` (NUM log-spaced values,
    START > 0). A comma list passes non-positive values on, for the library to refuse."""
    text = (str(text) if text is not None else "").strip()
    if ":" not in text:
        return parse_float_list(text, option, minimum=-np.inf, max_points=1000)
    start, stop, num = parse_range(text, option, example)
    if not (np.isfinite(start) and np.isfinite(stop)) or start <= 0 or stop < start or num < 1:
        raise InputError(f"{option} {text!r}: need 0 < START ≤ STOP (finite) and NUM ≥ 1; learning rates must "
                         "be > 0")
    if num > 1000:
        raise InputError(f"{option} {text!r}: NUM = {num} learning rates is more than the 1000 allowed")
    return np.geomspace(start, stop, num).tolist()
