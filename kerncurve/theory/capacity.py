"""Capacity of group-invariant linear readouts (THEORY.md §6).

A finite group G acts on R^d by orthogonal matrices ρ(g). Each of P objects is an orbit
{ρ(g)x_μ : g ∈ G}; a labeling y ∈ {±1}^P is *G-invariantly separable* when one w gives
y_μ w·ρ(g)x_μ > 0 for every μ and g. Averaging those inequalities over g shows that the
orbits are separable exactly when their centroids Πx_μ are, with

    Π = (1/|G|) Σ_g ρ(g),        N₀ = tr Π = dim{v : ρ(g)v = v for all g},

so Cover's function-counting theorem in N₀ dimensions gives the separable fraction

    f(P, N₀) = 2^{1−P} Σ_{k<N₀} C(P−1, k) = Pr[Binomial(P−1, ½) ≤ N₀ − 1],

capacity 2N₀ (2N₀ + 2 with a bias) instead of 2d without invariance.

Source: Farrell, Bordelon, Trivedi, Pehlevan, *Capacity of Group-invariant Linear Readouts
from Equivariant Representations: How Many Objects can be Linearly Classified Under All
Possible Views?*, ICLR 2022 (arXiv:2110.07472).
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from kerncurve.errors import InputError, InputWarning

__all__ = [
    "Representation",
    "GroupAnalysis",
    "OrbitEstimate",
    "cover_fraction",
    "cover_capacity",
    "validate_representation",
    "analyze_group",
    "orbit_centroids",
    "estimate_n0",
    "orbits_from_representation",
    "cyclic",
    "cyclic2d",
    "permutation",
    "z4_rotation",
    "parse_group",
    "MAX_REPRESENTATION_ENTRIES",
    "MAX_PERM_N",
]

#: Largest G·d·d a built-in representation may hold (2^25 float64 = 256 MiB).
MAX_REPRESENTATION_ENTRIES = 2**25
#: Largest n accepted by ``perm:n`` (8! = 40320 group elements).
MAX_PERM_N = 8
#: Pairs (g, h) checked for closure; larger groups are checked on a random sample.
_MAX_CLOSURE_PAIRS = 250_000


# --------------------------------------------------------------------------------------
# Cover's count


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
    binomial tail, taken from ``scipy.stats.binom.cdf`` (finite, accurate down to
    underflow), and the other side comes from the symmetry of Binomial(n, ½):
    Pr[B ≤ k] = 1 − Pr[B ≤ n − 1 − k]. At the centre k = (n − 1)/2 the symmetry gives
    exactly ½, which the CDF alone misses by a few ulps for large N₀.
    """
    p = np.asarray(p)
    n0 = np.asarray(n0)
    if not (np.issubdtype(p.dtype, np.integer) or np.all(np.mod(p, 1) == 0)):
        raise InputError("cover_fraction: P must be whole numbers")
    if not (np.issubdtype(n0.dtype, np.integer) or np.all(np.mod(n0, 1) == 0)):
        raise InputError("cover_fraction: N0 must be whole numbers")
    if np.any(p < 0) or np.any(n0 < 0):
        raise InputError("cover_fraction: P and N0 must be >= 0")
    p, n0 = np.broadcast_arrays(p.astype(np.int64), n0.astype(np.int64) + (1 if bias else 0))
    n = np.maximum(p - 1, 0)  # trials
    k = n0 - 1  # successes allowed
    mirror = n - 1 - k  # Pr[B <= k] = 1 - Pr[B <= mirror]
    low = np.minimum(k, mirror)
    tail = binom.cdf(low, n, 0.5)
    out = np.where(k < mirror, tail, 1.0 - tail)
    out = np.where(k == mirror, 0.5, out)
    out = np.where(p <= n0, 1.0, out)  # includes P = 0 and P - 1 <= N0 - 1
    return out.astype(float)


def cover_capacity(n0, bias=False):
    """Number of orbits at which half the labelings are separable: 2N₀, or 2(N₀ + 1)
    with a bias term."""
    return 2 * (int(n0) + (1 if bias else 0))


# --------------------------------------------------------------------------------------
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


def validate_representation(matrices, *, tol=1e-6, where="/representation"):
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
    m = np.asarray(matrices, dtype=float)
    if m.ndim == 2:
        raise InputError(
            f"{where}: got one {m.shape[0]}x{m.shape[1]} matrix; expected a stack of shape "
            "(G, d, d) (add a leading group axis)"
        )
    if m.ndim != 3:
        raise InputError(f"{where}: expected shape (G, d, d), got {m.shape}")
    if m.shape[0] < 1:
        raise InputError(f"{where}: holds no matrices; expected at least the identity")
    if m.shape[1] != m.shape[2]:
        raise InputError(
            f"{where}: matrices are {m.shape[1]}x{m.shape[2]}, not square; each ρ(g) "
            "must be d x d"
        )
    if m.shape[1] < 1:
        raise InputError(f"{where}: matrices are empty (d = 0)")
    if not np.all(np.isfinite(m)):
        bad = int(np.argwhere(~np.isfinite(m))[0][0])
        raise InputError(f"{where}: matrix {bad} contains NaN or inf; fix the file")
    d = m.shape[1]
    gram = np.einsum("gki,gkj->gij", m, m)
    dev = np.abs(gram - np.eye(d)).reshape(m.shape[0], -1).max(axis=1)
    worst = int(np.argmax(dev))
    if dev[worst] > tol:
        raise InputError(
            f"{where}: matrix {worst} is not orthogonal (max |ρᵀρ − I| = {dev[worst]:.3g} "
            f"> {tol:g}); the theory needs an orthogonal representation (orthonormalize it, "
            "e.g. by the polar decomposition)"
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


def analyze_group(matrices, *, tol=1e-6, check_closure=True, where="/representation"):
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


# --------------------------------------------------------------------------------------
# Orbits


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
        raise InputError(f"/orbits: expected shape (P, G, d), got {orbits.shape}")
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
        raise InputError(f"/orbits: expected shape (P, G, d), got {orbits.shape}")
    P, G, d = orbits.shape
    if P < 1 or G < 1 or d < 1:
        raise InputError(f"/orbits: shape {orbits.shape} is empty")
    if not np.all(np.isfinite(orbits)):
        raise InputError("/orbits: contains NaN or inf; fix the file")
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


# --------------------------------------------------------------------------------------
# Built-in representations


def _check_size(name, G, d):
    n = G * d * d
    if n > MAX_REPRESENTATION_ENTRIES:
        raise InputError(
            f"--group {name}: the representation would hold {G} matrices of {d}x{d} "
            f"({n * 8 / 2**30:.1f} GiB); use a smaller group or fewer --channels "
            f"(limit {MAX_REPRESENTATION_ENTRIES} entries)"
        )


def _check_channels(channels):
    if isinstance(channels, bool) or int(channels) != channels or channels < 1:
        raise InputError(f"--channels must be a whole number >= 1, got {channels!r}")
    return int(channels)


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


def cyclic(n, channels=1):
    """Z_n acting by circular shifts on C channels of length-n signals (d = nC, N₀ = C)."""
    channels = _check_channels(channels)
    if n < 1:
        raise InputError(f"--group cyclic:{n}: n must be >= 1")
    _check_size(f"cyclic:{n}", n, n * channels)
    perms = (np.arange(n)[None, :] + np.arange(n)[:, None]) % n
    return Representation(f"cyclic:{n} on {channels} channel(s)", _permutation_rep(perms, channels))


def cyclic2d(h, w, channels=1):
    """Z_h × Z_w acting by 2-D circular shifts on C channels of h×w images
    (d = hwC, N₀ = C)."""
    channels = _check_channels(channels)
    if h < 1 or w < 1:
        raise InputError(f"--group cyclic2d:{h},{w}: h and w must be >= 1")
    _check_size(f"cyclic2d:{h},{w}", h * w, h * w * channels)
    a, b = np.divmod(np.arange(h * w), w)  # pixel coordinates
    ga, gb = np.divmod(np.arange(h * w), w)  # group elements (shift by ga, gb)
    perms = ((a[None, :] + ga[:, None]) % h) * w + (b[None, :] + gb[:, None]) % w
    return Representation(
        f"cyclic2d:{h},{w} on {channels} channel(s)", _permutation_rep(perms, channels)
    )


def permutation(n, channels=1):
    """S_n permuting n coordinates, identically on C channels (d = nC, N₀ = C)."""
    channels = _check_channels(channels)
    if n < 1:
        raise InputError(f"--group perm:{n}: n must be >= 1")
    if n > MAX_PERM_N:
        raise InputError(
            f"--group perm:{n}: S_{n} has {math.factorial(n)} elements; at most "
            f"perm:{MAX_PERM_N} is supported (the representation is stored as n! matrices); "
            "use a smaller n or a cyclic group"
        )
    _check_size(f"perm:{n}", math.factorial(n), n * channels)
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
_USAGE = "expected cyclic:N, cyclic2d:H,W or perm:N (e.g. --group cyclic:8)"


def _ints(spec, text, count):
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != count or not all(re.fullmatch(r"[+]?\d+", t) for t in parts):
        raise InputError(f"--group {spec!r}: malformed; {_USAGE}")
    vals = [int(t) for t in parts]
    if any(v < 1 for v in vals):
        raise InputError(f"--group {spec!r}: sizes must be >= 1; {_USAGE}")
    return vals


def parse_group(spec, channels=1):
    """Build a built-in representation from a ``--group`` SPEC.

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
        Unknown or malformed SPEC, sizes < 1, ``--channels`` < 1, or a group too large.
    """
    channels = _check_channels(channels)
    if not isinstance(spec, str):
        raise InputError(f"--group: expected a string, got {spec!r}; {_USAGE}")
    m = _SPEC.match(spec)
    if not m:
        raise InputError(f"--group {spec!r}: malformed; {_USAGE}")
    kind, args = m.group(1).lower(), m.group(2)
    if kind == "cyclic":
        (n,) = _ints(spec, args, 1)
        return cyclic(n, channels)
    if kind == "cyclic2d":
        h, w = _ints(spec, args, 2)
        return cyclic2d(h, w, channels)
    if kind in ("perm", "permutation"):
        (n,) = _ints(spec, args, 1)
        return permutation(n, channels)
    raise InputError(f"--group {spec!r}: unknown group {kind!r}; {_USAGE}")
