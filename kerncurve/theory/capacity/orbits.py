"""Orbits {ρ(g)x_μ}: their centroids Πx_μ, and N₀ estimated from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

__all__ = ["OrbitEstimate", "orbit_centroids", "estimate_n0", "orbits_from_representation"]



@dataclass(frozen=True)
class OrbitEstimate:
    """N₀ estimated from orbit point clouds.

    Attributes
    ----------
    n0 : int
        Numerical rank of the centroid matrix (P, d).
    lower_bound : bool
        True when the estimate may be below the true N₀: the rank reached P (P ≤ N₀, so
        more orbits could reveal more directions) while staying below d.
    singular_values : ndarray
        Singular values of the centroid matrix, descending.
    tol : float
        Threshold below which a singular value counts as zero.
    p, order, d : int
        Orbits, copies per orbit, dimension.
    """

    n0: int
    lower_bound: bool
    singular_values: np.ndarray
    tol: float
    p: int
    order: int
    d: int


def orbit_centroids(orbits):
    """Centroids c_μ = mean_g ρ(g)x_μ = Πx_μ of orbits of shape (P, G, d)."""
    orbits = np.asarray(orbits, dtype=float)
    if orbits.ndim != 3:
        raise InputError(f"orbits must have shape (P, G, d), got {orbits.shape}", param="orbits")
    return orbits.mean(axis=1)


def estimate_n0(orbits, *, rtol=None, dtype=np.float64):
    """Estimate N₀ as the numerical rank of the orbit centroids.

    Parameters
    ----------
    orbits : array_like, shape (P, G, d)
        P orbits of G points each.
    rtol : float, optional
        Relative threshold on singular values (of the largest). Default
        100·max(P, d)·eps(dtype): round-off of the group average in `dtype`.
    dtype : numpy dtype
        Precision the orbits were stored in (float32 files carry ~1e-7 round-off).

    Returns
    -------
    OrbitEstimate
        The centroids span Π's range when the base points are generic and P ≥ N₀, so
        the rank equals N₀; with P ≤ N₀ it is only a lower bound (flagged).
    """
    orbits = np.asarray(orbits, dtype=float)
    if orbits.ndim != 3:
        raise InputError(f"orbits must have shape (P, G, d), got {orbits.shape}", param="orbits")
    P, G, d = orbits.shape
    if P < 1 or G < 1 or d < 1:
        raise InputError(f"orbits is empty (shape {orbits.shape})", param="orbits")
    if not np.all(np.isfinite(orbits)):
        raise InputError("orbits contains NaN or inf; give finite points", param="orbits")
    c = orbits.mean(axis=1)
    s = np.linalg.svd(c, compute_uv=False)
    if rtol is None:
        rtol = 100 * max(P, d) * float(np.finfo(dtype).eps)
    scale = float(np.abs(orbits).max())
    tol = rtol * max(s[0] if s.size else 0.0, scale)
    rank = int(np.sum(s > tol))
    return OrbitEstimate(
        n0=rank,
        lower_bound=bool(rank >= P and rank < d),
        singular_values=s,
        tol=float(tol),
        p=P,
        order=G,
        d=d,
    )


def orbits_from_representation(matrices, base):
    """Orbits ρ(g)x_μ of base points `base` (P, d): shape (P, G, d)."""
    return np.einsum("gij,pj->pgi", np.asarray(matrices, float), np.asarray(base, float))

