"""Finite groups acting by orthogonal matrices: validation, the group average Π and N₀.

Π = (1/|G|) Σ_g ρ(g) is the orthogonal projector onto the subspace every ρ(g) fixes, and
N₀ = tr Π its dimension (Farrell, Bordelon, Trivedi & Pehlevan, ICLR 2022).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError, InputWarning

__all__ = ["Representation", "GroupAnalysis", "validate_representation", "analyze_group"]

#: Pairs (g, h) checked for closure; larger groups are checked on a random sample.
_MAX_CLOSURE_PAIRS = 250_000


# Representations


@dataclass(frozen=True)
class Representation:
    """Matrices ρ(g) of a finite group acting on R^d.

    Attributes
    ----------
    name : str
        Human description (``cyclic:8 on 5 channels``).
    matrices : ndarray, shape (G, d, d)
    """

    name: str
    matrices: np.ndarray

    @property
    def order(self) -> int:
        return int(self.matrices.shape[0])

    @property
    def d(self) -> int:
        return int(self.matrices.shape[1])


@dataclass(frozen=True)
class GroupAnalysis:
    """What the group average says about a representation.

    Attributes
    ----------
    d, order : int
        Dimension acted on and |G|.
    n0 : int
        Dimension of the common fixed subspace {v : ρ(g)v = v ∀g} (= tr Π for a group).
    trace : float
        tr Π, Π = mean_g ρ(g).
    projector : ndarray, shape (d, d)
        Π.
    projector_error : float
        max |Π² − Π| + max |Π − Πᵀ| (zero for an orthogonal projector).
    is_projector : bool
        Π is an orthogonal projector within the tolerance.
    orthogonality_error : float
        max_g max |ρ(g)ᵀρ(g) − I|.
    closure_error : float
        Largest distance (max-abs, on probe vectors) from a product ρ(g)ρ(h) to the set.
    closed : bool
        The set is closed under products within the tolerance.
    closure_pairs : int
        Number of pairs (g, h) checked (all of them unless |G|² > 250 000).
    duplicates : int
        Number of elements that repeat an earlier one.
    """

    d: int
    order: int
    n0: int
    trace: float
    projector: np.ndarray
    projector_error: float
    is_projector: bool
    orthogonality_error: float
    closure_error: float
    closed: bool
    closure_pairs: int
    duplicates: int


def validate_representation(matrices, *, tol=1e-6, where="representation"):
    """Check that `matrices` is a stack of finite, square, orthogonal matrices.

    Parameters
    ----------
    matrices : array_like, shape (G, d, d)
    tol : float
        Largest accepted max |ρᵀρ − I|.
    where : str
        Where the matrices came from, for messages.

    Returns
    -------
    matrices : ndarray of float64
    orthogonality_error : float

    Raises
    ------
    InputError
        Wrong shape, non-square matrices, NaN/inf, or a matrix that is not orthogonal.
    """
    param = "representation" if where == "representation" else None
    try:
        m = np.asarray(matrices, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{where}: must be a numeric array (G, d, d), got {type(matrices).__name__}",
                         param=param) from None
    if m.ndim == 2:
        raise InputError(
            f"{where}: got one {m.shape[0]}x{m.shape[1]} matrix; expected a stack of shape "
            "(G, d, d) (add a leading group axis)", param=param
        )
    if m.ndim != 3:
        raise InputError(f"{where}: expected shape (G, d, d), got {m.shape}", param=param)
    if m.shape[0] < 1:
        raise InputError(f"{where}: holds no matrices; expected at least the identity", param=param)
    if m.shape[1] != m.shape[2]:
        raise InputError(
            f"{where}: matrices are {m.shape[1]}x{m.shape[2]}, not square; each ρ(g) "
            "must be d x d", param=param
        )
    if m.shape[1] < 1:
        raise InputError(f"{where}: matrices are empty (d = 0)", param=param)
    if not np.all(np.isfinite(m)):
        bad = int(np.argwhere(~np.isfinite(m))[0][0])
        raise InputError(f"{where}: matrix {bad} contains NaN or inf; give finite matrices", param=param)
    d = m.shape[1]
    gram = np.einsum("gki,gkj->gij", m, m)
    dev = np.abs(gram - np.eye(d)).reshape(m.shape[0], -1).max(axis=1)
    worst = int(np.argmax(dev))
    if dev[worst] > tol:
        raise InputError(
            f"{where}: matrix {worst} is not orthogonal (max |ρᵀρ − I| = {dev[worst]:.3g} "
            f"> {tol:g}); the theory needs an orthogonal representation (orthonormalize it, "
            "e.g. by the polar decomposition)", param=param
        )
    return m, float(dev.max())


def _closure(m, tol, rng):
    """Closure and repeats of a set of orthogonal matrices, probed on random vectors.

    Each matrix is fingerprinted by its images of two random unit vectors z: a product
    ρ(g)ρ(h) that is not in the set moves a generic z away from every ρ(k)z (with
    probability one), so the distance of ρ(g)(ρ(h)z) to the nearest ρ(k)z measures
    closure at O(|G|²d) cost instead of O(|G|³d²).

    Returns
    -------
    worst : float
        Largest max-abs distance from a product's fingerprint to the set's.
    pairs : int
        Number of (g, h) pairs checked (all, or all h for a random subset of g).
    duplicates : int
        Elements equal (within `tol`) to an earlier element.
    """
    from scipy.spatial import cKDTree

    G, d, _ = m.shape
    z = rng.standard_normal((d, 2))
    z /= np.linalg.norm(z, axis=0)
    images = m @ z  # (G, d, 2): ρ(k)z
    flat = images.reshape(G, -1)
    tree = cKDTree(flat)
    if G * G <= _MAX_CLOSURE_PAIRS:
        rows = np.arange(G)
    else:
        rows = np.sort(rng.choice(G, _MAX_CLOSURE_PAIRS // G, replace=False))
    stacked = images.transpose(1, 0, 2).reshape(d, 2 * G)  # columns: ρ(h)z for all h
    worst = 0.0
    step = max(1, 2**22 // (2 * G * d))
    for s in range(0, rows.size, step):
        prod = m[rows[s : s + step]] @ stacked  # (chunk, d, 2G)
        prod = prod.reshape(-1, d, G, 2).transpose(0, 2, 1, 3).reshape(-1, 2 * d)
        dist, _ = tree.query(prod, p=np.inf)
        worst = max(worst, float(dist.max()))
    neighbours = tree.query_ball_point(flat, r=tol, p=np.inf)
    duplicates = sum(1 for i, nb in enumerate(neighbours) if min(nb) < i)
    return worst, int(rows.size * G), duplicates


def analyze_group(matrices, *, tol=1e-6, check_closure=True, where="representation"):
    """Group-average projector Π and the fixed-point dimension N₀.

    Parameters
    ----------
    matrices : array_like, shape (G, d, d)
        Orthogonal matrices ρ(g) of a finite group (validated by
        `validate_representation`).
    tol : float
        Tolerance for orthogonality, closure and the projector check.
    check_closure : bool
        Check that products stay in the set (warns `InputWarning` if not). Built-in
        representations skip it: they are groups by construction.
    where : str
        Where the matrices came from, for messages.

    Returns
    -------
    GroupAnalysis
        With Π = (1/|G|) Σ_g ρ(g) and N₀ = dim ker(Π − I), the dimension of the subspace
        every ρ(g) fixes (for orthogonal ρ, Πv = v iff ρ(g)v = v for all g). For a group Π
        is the orthogonal projector onto that subspace and N₀ = tr Π.

    Warns
    -----
    InputWarning
        The set is not closed under products, repeats elements, or its average is not an
        orthogonal projector (then Cover's formula with this N₀ is not exact).
    """
    m, orth_err = validate_representation(matrices, tol=tol, where=where)
    G, d, _ = m.shape
    proj = m.mean(axis=0)
    proj_err = float(np.abs(proj @ proj - proj).max() + np.abs(proj - proj.T).max())
    is_proj = proj_err <= 10 * tol
    sv = np.linalg.svd(proj - np.eye(d), compute_uv=False)
    n0 = int(np.sum(sv <= max(10 * tol, 1e-9)))
    trace = float(np.trace(proj))
    if check_closure:
        rng = np.random.default_rng(12345)
        closure_err, pairs, dups = _closure(m, tol, rng)
    else:
        closure_err, pairs, dups = 0.0, 0, 0
    closed = closure_err <= 100 * tol
    if not closed:
        warnings.warn(
            f"{where}: the {G} matrices are not closed under products (a product lies "
            f"{closure_err:.3g} from every element); they are not a group, so N0 is taken "
            "as the dimension of the subspace they all fix and Cover's count may not hold; "
            "include every group element",
            InputWarning,
            stacklevel=2,
        )
    elif dups:
        warnings.warn(
            f"{where}: {dups} of the {G} matrices repeat another element; the group "
            "average is weighted unevenly; remove the repeats",
            InputWarning,
            stacklevel=2,
        )
    elif not is_proj:
        warnings.warn(
            f"{where}: the group average is not an orthogonal projector "
            f"(|Π² − Π| + |Π − Πᵀ| = {proj_err:.3g}); N0 is taken as the dimension of the "
            "fixed subspace",
            InputWarning,
            stacklevel=2,
        )
    return GroupAnalysis(
        d=d,
        order=G,
        n0=n0,
        trace=trace,
        projector=proj,
        projector_error=proj_err,
        is_projector=bool(is_proj),
        orthogonality_error=orth_err,
        closure_error=closure_err,
        closed=bool(closed),
        closure_pairs=pairs,
        duplicates=dups,
    )

