"""Brute-force check of the group-invariant capacity (docs/theory/capacity.md).

For each P: draw P orbits (Gaussian base points pushed through ρ, or a random subset of
given orbits) and a random labeling y ∈ {±1}^P, then decide whether one readout w (and a
bias b) gives y_μ (w·ρ(g)x_μ + b) ≥ 1 for *every* point of every orbit: a linear
feasibility problem on the full orbit cloud. The fraction of separable labelings is
compared with Cover's count `kerncurve.theory.capacity.cover_fraction`.

Cheapness: a call to ``scipy.optimize.linprog`` costs milliseconds of set-up, so each
batch of trials first runs a few vectorized Ho–Kashyap iterations (Ho & Kashyap, IEEE
Trans. Electron. Comput. 1965): least squares A w = b with a margin vector b > 0 that is
raised where it is violated. They end with an exact certificate either way — a w with
every margin A w > 0 (separable), or λ = max(−e, 0) ≥ 0 with Aᵀλ ≈ 0 (Farkas: then
λᵀA w = 0 for every w, so A w > 0 is impossible; with the round-off residual r = Aᵀλ, any
separating w would need |w| ≥ Σλ/|r|, i.e. a margin below 1e-9 of the data scale, under
HiGHS's own feasibility tolerance). Only the undecided trials (typically < 10 %) go to the
zero-objective LP solved by HiGHS. ``prefilter=False`` sends every trial to the LP; the
tests check that both give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from kerncurve.errors import InputError, NumericalError

__all__ = ["EmpiricalCapacity", "constraint_matrix", "separable_lp", "certify", "empirical_fraction"]

#: Relative tolerance of the certificates (margins, Farkas residual).
_CERT_TOL = 1e-9
#: Ho–Kashyap iterations before a trial is handed to the LP.
_HK_ITERS = 40
#: Largest number of floats held by one batch of orbit clouds.
_BATCH_FLOATS = 2**22


@dataclass(frozen=True)
class EmpiricalCapacity:
    """Measured fraction of G-invariantly separable labelings.

    Attributes
    ----------
    p : ndarray of int
        Numbers of orbits.
    fraction : ndarray
        Fraction of the `labelings` trials at each P that were separable.
    sem : ndarray
        Standard error of that fraction, std(ddof=1)/√L.
    separable : ndarray of bool, shape (len(p), labelings)
        Each trial's outcome.
    labelings : int
    bias : bool
    n_lp : int
        Trials decided by a linear programme (the rest by an exact certificate).
    """

    p: np.ndarray
    fraction: np.ndarray
    sem: np.ndarray
    separable: np.ndarray
    labelings: int
    bias: bool
    n_lp: int


def constraint_matrix(points, labels, bias=False):
    """Rows y_μ [ρ(g)x_μ, 1]: the labelled orbit clouds, one row per point.

    Parameters
    ----------
    points : ndarray, shape (..., P, G, d)
    labels : ndarray of ±1, shape (..., P)
    bias : bool
        Append the label as the coefficient of the bias b.

    Returns
    -------
    ndarray, shape (..., P·G, d (+1))
        Separable iff some v has A v > 0 (equivalently A v ≥ 1).
    """
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels, dtype=float)
    *lead, P, G, d = points.shape
    a = labels[..., None, None] * points
    if bias:
        a = np.concatenate([a, np.broadcast_to(labels[..., None, None], (*lead, P, G, 1))], -1)
    return a.reshape(*lead, P * G, a.shape[-1])


def separable_lp(a):
    """Whether A v ≥ 1 has a solution, by a zero-objective LP (HiGHS).

    Parameters
    ----------
    a : ndarray, shape (m, n)

    Returns
    -------
    bool

    Raises
    ------
    NumericalError
        Neither HiGHS solver could decide.
    """
    n = a.shape[1]
    # Dual simplex is fastest here; on the rare degenerate orbit clouds where it stops
    # undecided (HiGHS model status "unknown"), the interior-point solver decides.
    for method in ("highs-ds", "highs-ipm"):
        res = linprog(
            np.zeros(n), A_ub=-a, b_ub=-np.ones(a.shape[0]), bounds=(None, None), method=method
        )
        if res.status == 0:
            return True
        if res.status == 2:
            return False
    raise NumericalError(
        f"LP separability check failed (HiGHS status {res.status}: {res.message}); "
        "rescale the orbits or try another seed"
    )


def certify(a, iters=_HK_ITERS, tol=_CERT_TOL):
    """Decide separability of a batch of point clouds by Ho–Kashyap certificates.

    Parameters
    ----------
    a : ndarray, shape (T, m, n)
        T constraint matrices (rows y·[x, 1]).
    iters : int
        Iterations before giving up on a trial.
    tol : float
        Relative tolerance of the certificates.

    Returns
    -------
    ndarray of int, shape (T,)
        1 separable (a v with every margin > 0 was found), −1 not separable (a Farkas
        vector λ ≥ 0, Aᵀλ ≈ 0 was found), 0 undecided.
    """
    a = np.asarray(a, dtype=float)
    T, m, n = a.shape
    status = np.zeros(T, dtype=np.int8)
    at = np.swapaxes(a, 1, 2)
    # Least squares through the n×n Gram (cheaper than an SVD of the m×n matrix): the
    # squared conditioning costs nothing here because every certificate is re-checked
    # on `a` itself, and an inexact step only sends the trial to the LP.
    evals, vecs = np.linalg.eigh(np.matmul(at, a))
    inv = np.where(evals > 1e-12 * evals[:, -1:], 1.0 / np.where(evals > 0, evals, 1.0), 0.0)
    solve = np.matmul(vecs * inv[:, None, :], np.swapaxes(vecs, 1, 2))  # (AᵀA)⁺
    scale = np.linalg.norm(a, axis=(1, 2))
    b = np.ones((T, m))
    live = np.arange(T)
    for _ in range(iters):
        al, bl = a[live], b[live]
        w = np.matmul(solve[live], np.matmul(at[live], bl[..., None]))  # (t, n, 1)
        aw = np.matmul(al, w)[..., 0]  # (t, m)
        e = aw - bl
        sep = aw.min(axis=1) > tol * np.abs(aw).max(axis=1)
        lam = np.maximum(-e, 0.0)
        resid = np.linalg.norm(np.matmul(lam[:, None, :], al)[:, 0], axis=1)
        lsum = lam.sum(axis=1)
        farkas = ~sep & (lsum > 0) & (resid <= tol * scale[live] * lsum)
        status[live[sep]] = 1
        status[live[farkas]] = -1
        keep = ~(sep | farkas)
        b[live] = bl + e + np.abs(e)  # Ho–Kashyap step (rate 1): raise violated margins
        live = live[keep]
        if live.size == 0:
            break
    return status


def empirical_fraction(
    p,
    *,
    matrices=None,
    orbits=None,
    labelings=100,
    bias=False,
    seed=0,
    prefilter=True,
    progress=None,
):
    """Fraction of random labelings of P orbits that a G-invariant readout separates.

    Parameters
    ----------
    p : array_like of int
        Numbers of orbits, each ≥ 1.
    matrices : ndarray, shape (G, d, d), optional
        Representation: each trial draws fresh base points x_μ ~ N(0, I_d) and uses the
        orbits {ρ(g)x_μ}.
    orbits : ndarray, shape (n, G, d), optional
        Given orbits: each trial uses a random subset of P of them (needs P ≤ n). Used in
        preference to `matrices` when both are given.
    labelings : int
        Trials per P (fresh orbits and a fresh uniform labeling each), ≥ 2.
    bias : bool
        Readout with a bias (compare with ``cover_fraction(p, N0 + 1)``).
    seed : int
        Seed of ``numpy.random.default_rng``; same seed, same outcome.
    prefilter : bool
        Decide trials by exact certificates first, the LP only for the rest (same answers).
    progress : callable(done, total), optional
        Called as trials are decided.

    Returns
    -------
    EmpiricalCapacity
    """
    if matrices is None and orbits is None:
        raise InputError("the empirical capacity needs matrices (a representation) or orbits", param="matrices")
    if matrices is not None and orbits is not None:
        d_rep, d_orb = np.shape(matrices)[-1], np.shape(orbits)[-1]
        if d_rep != d_orb:
            raise InputError(
                f"orbits have points of dimension {d_orb} but the representation acts on "
                f"R^{d_rep}; they must match", param="orbits"
            )
    p = np.atleast_1d(np.asarray(p))
    if p.size == 0 or np.any(p < 1) or np.any(np.mod(p, 1) != 0):
        raise InputError(f"p must be whole numbers >= 1 (numbers of orbits), got {p.tolist()}", param="p")
    p = p.astype(np.int64)
    if isinstance(labelings, bool) or int(labelings) != labelings or labelings < 2:
        raise InputError(f"labelings must be a whole number >= 2, got {labelings!r}", param="labelings")
    labelings = int(labelings)
    if orbits is not None:
        orbits = np.asarray(orbits, dtype=float)
        n_avail, G, d = orbits.shape
        if p.max() > n_avail:
            raise InputError(
                f"p={int(p.max())} exceeds the {n_avail} orbits given; use p={n_avail} or less, or "
                "a representation to draw fresh orbits", param="p"
            )
    else:
        matrices = np.asarray(matrices, dtype=float)
        G, d = matrices.shape[0], matrices.shape[1]
    rng = np.random.default_rng(seed)
    out = np.zeros((p.size, labelings), dtype=bool)
    n_lp = 0
    total = p.size * labelings
    done = 0
    for i, P in enumerate(p):
        batch = max(1, min(labelings, _BATCH_FLOATS // (int(P) * G * (d + 1))))
        for start in range(0, labelings, batch):
            t = min(batch, labelings - start)
            if orbits is not None:
                idx = np.stack([rng.choice(n_avail, size=P, replace=False) for _ in range(t)])
                pts = orbits[idx]  # (t, P, G, d)
            else:
                base = rng.standard_normal((t, P, d))
                pts = np.einsum("gij,tpj->tpgi", matrices, base)
            y = rng.choice(np.array([-1.0, 1.0]), size=(t, P))
            a = constraint_matrix(pts, y, bias)
            status = certify(a) if prefilter else np.zeros(t, dtype=np.int8)
            decided = int(np.sum(status != 0))
            done += decided
            if progress is not None and decided:
                progress(done, total)
            for j in np.flatnonzero(status == 0):
                status[j] = 1 if separable_lp(a[j]) else -1
                n_lp += 1
                done += 1
                if progress is not None:
                    progress(done, total)
            out[i, start : start + t] = status == 1
    frac = out.mean(axis=1)
    sem = out.std(axis=1, ddof=1) / np.sqrt(labelings)
    return EmpiricalCapacity(
        p=p, fraction=frac, sem=sem, separable=out, labelings=labelings, bias=bool(bias), n_lp=n_lp
    )
