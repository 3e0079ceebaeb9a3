"""Memory budgets: sizes as text (``512M``), and checks before anything is allocated.

``--memory`` (keyword ``memory``) bounds what a command may hold: a dataset read whole, the
n×n Gram and its workspace, a grid of runs. Without it the budget is most of this machine's
physical memory (streaming blocks still default to `DEFAULT_STREAM_MEMORY`). A request over
the budget is refused up front with the size, the budget and the way out, instead of
failing with ``MemoryError`` after gigabytes were allocated.
"""

import os
import re

from ..errors import InputError

__all__ = ["parse_size", "format_size", "memory_budget", "check_bytes", "DEFAULT_STREAM_MEMORY", "physical_memory"]

DEFAULT_STREAM_MEMORY = "512M"
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_MAX_BYTES = 1 << 60


def parse_size(text, option="--memory"):
    """Bytes from ``512M``, ``2G``, ``1.5GB``, ``200MiB``, ``1000000`` (K/M/G/T are powers of 1024)."""
    if isinstance(text, (int,)) and not isinstance(text, bool):
        if not 1 <= text <= _MAX_BYTES:
            raise InputError(f"{option} {text!r}: the size must be between 1 byte and 1E (exabyte)", param="memory")
        return int(text)
    s = str(text).strip()
    m = re.fullmatch(r"(?i)\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", s)
    if not m:
        raise InputError(f"{option} {text!r}: not a size; give bytes or a number with K, M, G or T, e.g. 512M or 2G",
                         param="memory")
    value = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not value >= 1 or value > _MAX_BYTES:
        raise InputError(f"{option} {text!r}: the size must be between 1 byte and 1E (exabyte)", param="memory")
    return int(value)


def format_size(nbytes):
    """``1.5G``-style text for a byte count."""
    for unit in ("T", "G", "M", "K"):
        if nbytes >= _UNITS[unit]:
            return f"{nbytes / _UNITS[unit]:.3g}{unit}"
    return f"{int(nbytes)}B"


def physical_memory():
    """Bytes of physical memory (8 GiB when the platform does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


DEFAULT_BUDGET = 8 << 30  # without --memory: at most 8 GiB (and 80 % of physical memory)


def memory_budget(memory=None):
    """The budget in bytes: ``memory`` parsed, else min(8 GiB, 80 % of physical memory)."""
    if memory is None:
        return int(min(DEFAULT_BUDGET, 0.8 * physical_memory()))
    return parse_size(memory)


def check_bytes(nbytes, budget, what, way_out="use --top-eigen K (only the leading modes) or a smaller input, "
                                                "or raise --memory"):
    """Refuse ``nbytes`` over ``budget`` with one clear message (before allocating)."""
    if budget is not None and nbytes > budget:
        raise InputError(f"{what} needs {format_size(nbytes)}, over the memory budget of {format_size(budget)}; "
                         f"{way_out}", param="memory")
