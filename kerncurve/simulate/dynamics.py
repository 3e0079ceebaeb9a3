"""Exact gradient flow of the random-feature model of `kerncurve.theory.dynamics`, for checking the theory.

Teacher y = w*·ψ with ψ ~ N(0, diag λ) (M modes), student f = (1/√N) w·Aψ with
A ∈ R^{N×M} i.i.d. N(0, 1), P samples Ψ (P×M), gradient flow on (1/2P) Σ_μ (f − y)² from
w = 0.  With B = A/√N and C = Ψ/√P, D = C Bᵀ (P×N) and y = C w*:

    dw/dt = Dᵀ(y − D w)  ⇒  w(t) = V diag((1 − e^{−t s²})/s) Uᵀ y,   D = U diag(s) Vᵀ,

which is e^{−tFŜ} (F = AᵀA/N, Ŝ = ΨᵀΨ/P) applied in the (at most min(N, P)-dimensional)
space where the dynamics lives; one SVD per draw serves every time, t = ∞ included
(1/s on s > 0: the minimum-norm interpolant).  N = ∞ sets B = I (a kernel model on the M
features), P = ∞ sets C = Λ^{1/2} (population gradient flow).  The test loss of a draw is
Σ_k λ_k (w*_k − (Bᵀw)_k)².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

__all__ = ["EmpiricalCurve", "simulate_loss"]


@dataclass(frozen=True)
class EmpiricalCurve:
    """Mean test loss over draws at each time, with its standard error of the mean."""

    time: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    draws: int


def _draw_losses(rng, sqrt_lam, wstar, width, p, times):
    """Test loss at every time for one draw of (A, Ψ)."""
    M = sqrt_lam.size
    if np.isinf(width) and np.isinf(p):
        # D = Λ^{1/2} is diagonal: Δ_k(t) = w*_k e^{−λ_k t}, exactly.
        with np.errstate(invalid="ignore"):
            decay = np.exp(-np.multiply.outer(times, sqrt_lam * sqrt_lam))
        decay = np.where(np.isinf(times)[:, None], 0.0, decay)
        resid = sqrt_lam * wstar * decay
        return np.einsum("tm,tm->t", resid, resid)
    if np.isinf(width):
        Bt = None  # B = I_M
    else:
        n = int(round(width))
        Bt = rng.standard_normal((M, n)) / np.sqrt(n)  # Bᵀ
    if np.isinf(p):
        # C = Λ^{1/2}
        D = sqrt_lam[:, None] * Bt if Bt is not None else np.diag(sqrt_lam)
        y = sqrt_lam * wstar
    else:
        m = int(round(p))
        C = rng.standard_normal((m, M)) * (sqrt_lam / np.sqrt(m))
        D = C @ Bt if Bt is not None else C
        y = C @ wstar
    U, s, Vt = np.linalg.svd(D, full_matrices=False)
    E = Vt.T if Bt is None else Bt @ Vt.T  # (M, r): Bᵀ V
    q = U.T @ y
    keep = s > s.max() * max(D.shape) * np.finfo(float).eps
    s, q, E = s[keep], q[keep], E[:, keep]
    s2 = s * s
    t = times[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.where(np.isinf(t), 1.0 / s, -np.expm1(-t * s2) / s)  # (T, r)
    v = (g * q) @ E.T  # (T, M): learned Bᵀw(t)
    resid = sqrt_lam * (wstar - v)
    return np.einsum("tm,tm->t", resid, resid)


def simulate_loss(eigenvalues, power, width, p, time, *, draws=40, seed=0) -> EmpiricalCurve:
    """Mean and SEM of the exact gradient-flow test loss over ``draws`` draws of (A, Ψ).

    Parameters
    ----------
    eigenvalues, power : array_like, shape (M,)
        λ_k and target power λ_k w*_k² (modes with λ_k ≤ 0 are dropped).
    width, p : float
        N and P (``inf`` allowed; non-integers are rounded).
    time : array_like
        Training times t ≥ 0 (``inf`` allowed).
    draws : int
        Independent draws of the projection and the data.
    seed : int
        Seed of ``numpy.random.default_rng``; draw r uses the r-th spawned child stream,
        so results do not depend on how draws are grouped.

    Notes
    -----
    Draws are looped in Python on purpose: each is one large SVD/matmul (BLAS-bound),
    and a per-draw stream keeps memory at one draw's matrices.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    pw = np.asarray(power, dtype=np.float64).ravel()
    keep = lam > 0
    if not np.any(keep):
        raise InputError("spectrum: no positive eigenvalue; nothing to simulate")
    lam, pw = lam[keep], pw[keep]
    width, p = float(width), float(p)
    if not (width > 0 and p > 0):
        raise InputError("dynamics: width and p must be positive (or inf)")
    if not (np.isinf(width) or width >= 0.5) or not (np.isinf(p) or p >= 0.5):
        raise InputError("dynamics: the simulation needs width and p of at least 1")
    times = np.atleast_1d(np.asarray(time, dtype=np.float64)).ravel()
    if np.any(~(times >= 0)):
        raise InputError("dynamics: time must be non-negative (or inf)")
    draws = int(draws)
    if draws < 1:
        raise InputError("dynamics: --draws must be at least 1")
    sqrt_lam = np.sqrt(lam)
    wstar = np.sqrt(pw / lam)
    if np.isinf(width) and np.isinf(p):
        draws_eff = 1  # nothing is random: the flow is exact
    else:
        draws_eff = draws
    streams = np.random.SeedSequence(seed).spawn(draws_eff)
    L = np.stack([
        _draw_losses(np.random.default_rng(ss), sqrt_lam, wstar, width, p, times)
        for ss in streams
    ])
    mean = L.mean(axis=0)
    sem = L.std(axis=0, ddof=1) / np.sqrt(draws_eff) if draws_eff > 1 else np.zeros_like(mean)
    return EmpiricalCurve(time=times, mean=mean, sem=sem, draws=draws_eff)
