"""Cover's function-counting theorem in the N₀ dimensions a group fixes.

The fraction of the 2^P labelings of P points in general position in R^N₀ that a linear
readout separates, f(P, N₀) = Pr[Binomial(P−1, ½) ≤ N₀ − 1] (Cover 1965); for orbits of a
group it applies with N₀ = tr Π, the fixed-point dimension (Farrell, Bordelon, Trivedi &
Pehlevan, ICLR 2022).
"""

from __future__ import annotations

import numpy as np
from scipy.special import bdtr

from kerncurve.errors import InputError

__all__ = ["cover_fraction", "cover_capacity"]


def cover_fraction(p, n0, bias=False):
    """Fraction of the 2^P labelings of P points in general position in R^N₀ that a
    linear readout (through the origin, or with a bias) separates.

    Parameters
    ----------
    p : int or array_like of int
        Number of points (orbits), P ≥ 0.
    n0 : int or array_like of int
        Dimension N₀ ≥ 0 (the fixed-point dimension of the group). Broadcast against `p`.
    bias : bool
        Readout with a bias b: the count in N₀ + 1 dimensions.

    Returns
    -------
    ndarray of float
        f(P, N₀) = 2^{1−P} Σ_{k=0}^{N₀−1} C(P−1, k) = Pr[Binomial(P−1, ½) ≤ N₀−1]
        (Cover 1965; Farrell et al., ICLR 2022, eq. for G-invariant readouts).
        f = 1 for P ≤ N₀ and f = ½ exactly at P = 2N₀.

    Notes
    -----
    The factorial form overflows for P of a few hundred. Here each value is the smaller
    binomial tail, taken from ``scipy.special.bdtr`` (the binomial CDF; finite, accurate down to
    underflow), and the other side comes from the symmetry of Binomial(n, ½):
    Pr[B ≤ k] = 1 − Pr[B ≤ n − 1 − k]. At the centre k = (n − 1)/2 the symmetry gives
    exactly ½, which the CDF alone misses by a few ulps for large N₀.
    """
    p = np.asarray(p)
    n0 = np.asarray(n0)
    if not (np.issubdtype(p.dtype, np.integer) or np.all(np.mod(p, 1) == 0)):
        raise InputError("p must be whole numbers", param="p")
    if not (np.issubdtype(n0.dtype, np.integer) or np.all(np.mod(n0, 1) == 0)):
        raise InputError("n0 must be whole numbers", param="n0")
    if np.any(p < 0) or np.any(n0 < 0):
        raise InputError(f"{'p' if np.any(p < 0) else 'n0'} must be >= 0", param="p" if np.any(p < 0) else "n0")
    p, n0 = np.broadcast_arrays(p.astype(np.int64), n0.astype(np.int64) + (1 if bias else 0))
    n = np.maximum(p - 1, 0)  # trials
    k = n0 - 1  # successes allowed
    mirror = n - 1 - k  # Pr[B <= k] = 1 - Pr[B <= mirror]
    low = np.minimum(k, mirror)
    with np.errstate(invalid="ignore"):
        tail = np.where(low < 0, 0.0, np.where(low >= n, 1.0, bdtr(np.clip(low, 0, None), n, 0.5)))
    out = np.where(k < mirror, tail, 1.0 - tail)
    out = np.where(k == mirror, 0.5, out)
    out = np.where(p <= n0, 1.0, out)  # includes P = 0 and P - 1 <= N0 - 1
    return out.astype(float)


def cover_capacity(n0, bias=False):
    """Number of orbits at which half the labelings are separable: 2N₀, or 2(N₀ + 1)
    with a bias term."""
    return 2 * (int(n0) + (1 if bias else 0))

