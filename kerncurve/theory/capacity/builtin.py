"""Built-in representations: cyclic shifts (1-D and 2-D), permutations, Z₄ rotations.

Each acts identically on C channels (d = size × C, N₀ = C). The representation is stored
as |G| dense d×d matrices, so its size |G|·d² is bounded (`MAX_REPRESENTATION_ENTRIES`)
and refused before anything is allocated.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np

from kerncurve._validation import check_int
from kerncurve.errors import InputError

from .groups import Representation

__all__ = ["cyclic", "cyclic2d", "permutation", "z4_rotation", "parse_group", "group_size", "check_size",
           "MAX_REPRESENTATION_ENTRIES", "MAX_PERM_N"]

#: Largest G·d·d a built-in representation may hold (2^25 float64 = 256 MiB).
MAX_REPRESENTATION_ENTRIES = 2**25
#: Largest n accepted by ``perm:n`` (8! = 40320 group elements).
MAX_PERM_N = 8



def check_size(name, G, d):
    """Refuse a representation of G matrices d×d over `MAX_REPRESENTATION_ENTRIES` (nothing allocated)."""
    n = G * d * d
    if n > MAX_REPRESENTATION_ENTRIES:
        raise InputError(
            f"group {name}: the representation would hold {G} matrices of {d}x{d} = {n:.3g} entries "
            f"({n * 8 / 2**30:.1f} GiB), over the limit of {MAX_REPRESENTATION_ENTRIES} entries "
            f"({MAX_REPRESENTATION_ENTRIES * 8 / 2**20:.0f} MiB); use a smaller group or fewer channels",
            param="group")


def _check_channels(channels):
    return check_int(channels, "channels", minimum=1)


def _permutation_rep(perms, channels):
    """ρ(σ) on C channels of m coordinates: (ρx)[c, σ(i)] = x[c, i]."""
    perms = np.asarray(perms, dtype=np.int64)
    G, m = perms.shape
    d = m * channels
    out = np.zeros((G, d, d))
    offs = (np.arange(channels) * m)[:, None]  # (C, 1)
    rows = (perms[:, None, :] + offs).reshape(G, -1)  # (G, C*m)
    cols = np.broadcast_to((np.arange(m)[None, :] + offs).reshape(-1), rows.shape)
    gidx = np.broadcast_to(np.arange(G)[:, None], rows.shape)
    out[gidx, rows, cols] = 1.0
    return out


def _positive(name, **sizes):
    for k, v in sizes.items():
        if check_int(v, "group") < 1:
            raise InputError(f"group {name}: {k} must be >= 1; {_USAGE}", param="group")


def cyclic(n, channels=1):
    """Z_n acting by circular shifts on C channels of length-n signals (d = nC, N₀ = C)."""
    channels = _check_channels(channels)
    _positive(f"cyclic:{n}", n=n)
    check_size(f"cyclic:{n}", n, n * channels)
    perms = (np.arange(n)[None, :] + np.arange(n)[:, None]) % n
    return Representation(f"cyclic:{n} on {channels} channel(s)", _permutation_rep(perms, channels))


def cyclic2d(h, w, channels=1):
    """Z_h × Z_w acting by 2-D circular shifts on C channels of h×w images
    (d = hwC, N₀ = C)."""
    channels = _check_channels(channels)
    _positive(f"cyclic2d:{h},{w}", h=h, w=w)
    check_size(f"cyclic2d:{h},{w}", h * w, h * w * channels)
    a, b = np.divmod(np.arange(h * w), w)  # pixel coordinates
    ga, gb = np.divmod(np.arange(h * w), w)  # group elements (shift by ga, gb)
    perms = ((a[None, :] + ga[:, None]) % h) * w + (b[None, :] + gb[:, None]) % w
    return Representation(
        f"cyclic2d:{h},{w} on {channels} channel(s)", _permutation_rep(perms, channels)
    )


def _check_perm(n):
    if n > MAX_PERM_N:
        raise InputError(
            f"group perm:{n}: S_{n} has {math.factorial(n) if n < 100 else 'more than 10^150'} elements; at most "
            f"perm:{MAX_PERM_N} is supported (the representation is stored as n! matrices); "
            "use a smaller n or a cyclic group", param="group")


def permutation(n, channels=1):
    """S_n permuting n coordinates, identically on C channels (d = nC, N₀ = C)."""
    channels = _check_channels(channels)
    _positive(f"perm:{n}", n=n)
    _check_perm(n)
    check_size(f"perm:{n}", math.factorial(n), n * channels)
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    return Representation(f"perm:{n} on {channels} channel(s)", _permutation_rep(perms, channels))


def z4_rotation():
    """Z₄: rotations by multiples of 90° about the z axis of R³ (N₀ = 1: the z axis)."""
    mats = []
    for k in range(4):
        c, s = round(math.cos(k * math.pi / 2)), round(math.sin(k * math.pi / 2))
        mats.append([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return Representation("Z4 rotations about z in R^3", np.array(mats, dtype=float))


_SPEC = re.compile(r"^\s*([a-z0-9]+)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_USAGE = "expected cyclic:N, cyclic2d:H,W or perm:N (e.g. group='cyclic:8')"
_MAX_DIGITS = 30  # sizes beyond are refused by the size check anyway; int() of huge strings is slow


def _ints(spec, text, count):
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != count or not all(re.fullmatch(r"[+]?\d+", t) for t in parts):
        raise InputError(f"group {spec!r}: malformed; {_USAGE}", param="group")
    if any(len(t) > _MAX_DIGITS for t in parts):
        raise InputError(f"group {spec[:40]!r}…: a size of more than {_MAX_DIGITS} digits is far beyond the "
                         f"limit of {MAX_REPRESENTATION_ENTRIES} entries; use a smaller group", param="group")
    vals = [int(t) for t in parts]
    if any(v < 1 for v in vals):
        raise InputError(f"group {spec!r}: sizes must be >= 1; {_USAGE}", param="group")
    return vals


def _parse(spec):
    """(kind, sizes) of a SPEC, validated (no allocation)."""
    if not isinstance(spec, str):
        raise InputError(f"group must be a string, got {spec!r}; {_USAGE}", param="group")
    m = _SPEC.match(spec)
    if not m:
        raise InputError(f"group {spec!r}: malformed; {_USAGE}", param="group")
    kind, args = m.group(1).lower(), m.group(2)
    if kind == "cyclic":
        return "cyclic", _ints(spec, args, 1)
    if kind == "cyclic2d":
        return "cyclic2d", _ints(spec, args, 2)
    if kind in ("perm", "permutation"):
        return "perm", _ints(spec, args, 1)
    raise InputError(f"group {spec!r}: unknown group {kind!r}; {_USAGE}", param="group")


def group_size(spec, channels=1):
    """(|G|, d) of a SPEC on ``channels`` channels, checked against the limits, nothing built."""
    channels = _check_channels(channels)
    kind, sizes = _parse(spec)
    if kind == "perm":
        _check_perm(sizes[0])
        G, d = math.factorial(sizes[0]), sizes[0] * channels
    else:
        G = math.prod(sizes)
        d = G * channels
    check_size(f"{kind}:{','.join(map(str, sizes))}" + (f" on {channels} channels" if channels > 1 else ""), G, d)
    return G, d


def parse_group(spec, channels=1):
    """Build a built-in representation from a group SPEC.

    Parameters
    ----------
    spec : str
        ``cyclic:N`` (shifts of length-N signals), ``cyclic2d:H,W`` (2-D circular shifts
        of H×W images) or ``perm:N`` (all permutations of N coordinates).
    channels : int
        C ≥ 1 channels, each transformed identically (d = size × C, N₀ = C).

    Returns
    -------
    Representation

    Raises
    ------
    InputError
        Unknown or malformed SPEC, sizes < 1, ``channels`` < 1, or a group too large
        (|G|·d² over `MAX_REPRESENTATION_ENTRIES`: refused before anything is allocated).
    """
    group_size(spec, channels)
    channels = _check_channels(channels)
    kind, sizes = _parse(spec)
    if kind == "cyclic":
        return cyclic(sizes[0], channels)
    if kind == "cyclic2d":
        return cyclic2d(*sizes, channels)
    return permutation(sizes[0], channels)
