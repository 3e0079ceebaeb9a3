"""N₀ of the built-in groups from characters: no representation matrix is formed.

For a finite group acting by ρ, the fixed-point dimension is the average character,
N₀ = tr Π = (1/|G|) Σ_g tr ρ(g). The built-in groups act by permuting coordinates
(identically on C channels), so tr ρ(g) = C · #{coordinates g fixes}, and N₀ is C times
the number of orbits of the group on the coordinates (Burnside's lemma). The sums run over
conjugacy data, never over d×d matrices: a convolutional layer with 256 channels on 32×32
images under 2-D shifts (d = 262144) costs microseconds.

* ``cyclic:n`` — the shift by k fixes every coordinate if k = 0, none otherwise.
* ``cyclic2d:h,w`` — the shift (a, b) fixes all hw pixels if (a, b) = (0, 0), none otherwise.
* ``perm:n`` — a permutation with j fixed points: C(n, j)·D(n − j) of them (D: derangements).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from kerncurve.errors import InputError

from .builtin import _check_channels, _parse

__all__ = ["CharacterGroup", "character_n0", "MAX_CHARACTER_PERM_N"]

#: Largest n for ``perm:n`` by characters (the class sums run over n + 1 terms of big integers).
MAX_CHARACTER_PERM_N = 10_000
_INT64 = 2**63 - 1


@dataclass(frozen=True)
class CharacterGroup:
    """A built-in group described without matrices (the fields `GroupAnalysis` reports).

    ``projector_error`` and ``orthogonality_error`` are exactly 0: permutation matrices are
    orthogonal and the group average is an orthogonal projector by construction.
    """

    name: str
    d: int
    order: int
    n0: int
    trace: float
    projector_error: float = 0.0
    is_projector: bool = True
    orthogonality_error: float = 0.0
    closed: bool = True
    closure_pairs: int = 0


def _derangements(m):
    d = [1, 0]
    for k in range(2, m + 1):
        d.append((k - 1) * (d[-1] + d[-2]))
    return d


def character_n0(spec, channels=1):
    """The `CharacterGroup` of a built-in group SPEC on ``channels`` channels.

    Raises
    ------
    InputError
        A malformed SPEC, or d = size × channels beyond int64.
    """
    channels = _check_channels(channels)
    kind, sizes = _parse(spec)
    if kind == "perm":
        n = sizes[0]
        if n > MAX_CHARACTER_PERM_N:
            raise InputError(f"group perm:{n}: at most perm:{MAX_CHARACTER_PERM_N} by characters", param="group")
        order = math.factorial(n)
        der = _derangements(n)
        fixed_sum = sum(j * math.comb(n, j) * der[n - j] for j in range(n + 1))
        orbits = Fraction(fixed_sum, order)
        points = n
    else:
        points = math.prod(sizes)
        order = points  # one shift per position; only the identity fixes anything (all points)
        orbits = Fraction(points, order)
    d = points * channels
    if d > _INT64 or channels * orbits > _INT64:
        raise InputError(f"group {spec}: d = {points} × {channels} channels = {d:.3g} is beyond int64; use fewer "
                         "channels or a smaller group", param="channels")
    n0 = orbits * channels
    assert n0.denominator == 1  # Burnside: the average number of fixed points is a whole number
    name = f"{kind}:{','.join(map(str, sizes))} on {channels} channel(s)"
    return CharacterGroup(name=name, d=int(d), order=order, n0=int(n0), trace=float(n0))
