"""The compute-optimal split of C = N·t, numerically and by its predicted power laws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

from .kappa import as_spectrum
from .loss import loss

__all__ = ["Frontier", "FrontierExponents", "compute_frontier", "predicted_frontier_exponents"]


@dataclass(frozen=True)
class FrontierExponents:
    """Exponents of the compute-optimal frontier: N* ∝ C^width, t* ∝ C^time, L* ∝ C^loss."""

    width: float
    time: float
    loss: float


def predicted_frontier_exponents(b: float, a: float) -> FrontierExponents:
    """Power laws of the frontier at P = ∞ (Bordelon, Atanasov & Pehlevan, ICML 2024).

    With λ_k ∝ k^−b, target power ∝ k^−a and m = min(a−1, b)::

        t* ∝ C^{bm/(a−1+bm)},  N* ∝ C^{(a−1)/(a−1+bm)},  L* ∝ C^{−(a−1)m/(a−1+bm)}.
    """
    m = min(a - 1.0, b)
    den = a - 1.0 + b * m
    return FrontierExponents(width=(a - 1.0) / den, time=b * m / den, loss=-(a - 1.0) * m / den)


@dataclass(frozen=True)
class Frontier:
    """Compute-optimal split of C = N·t (at fixed P) and its fitted power-law exponents."""

    compute: np.ndarray
    width_opt: np.ndarray
    time_opt: np.ndarray
    loss_opt: np.ndarray
    p: float
    fitted: FrontierExponents


def _fit_slope(x, y):
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if np.count_nonzero(ok) < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def _search_bounds(C, width_bounds, time_bounds, rank):
    """log N bracket per C: N within the width bounds, t = C/N within the time bounds, N ≤ 100·M."""
    nlo, nhi = (float(x) for x in width_bounds)
    tlo, thi = (float(x) for x in time_bounds)
    if not (0 < nlo <= nhi) or not (0 <= tlo <= thi):
        raise InputError("width_bounds and time_bounds must be ordered (low, high) with width > 0 and time ≥ 0",
                         param="width_bounds")
    with np.errstate(divide="ignore"):
        lo = np.log(np.maximum(nlo, C / thi))
        hi = np.log(np.minimum(nhi, C / tlo if tlo > 0 else np.inf))
    bad = ~(lo <= hi) | ~np.isfinite(lo)
    if np.any(bad):
        raise InputError(
            f"compute {C[bad][0]:g} has no feasible split N·t with width in [{nlo:g}, {nhi:g}] and time in "
            f"[{tlo:g}, {thi:g}]; raise the compute or widen the width/time range", param="compute")
    return lo, np.maximum(lo, np.minimum(hi, np.log(100.0 * rank)))


def compute_frontier(eigenvalues, power, compute, *, p=np.inf, width_bounds=(1.0, np.inf),
                     time_bounds=(0.0, np.inf), grid=16, refine=10) -> Frontier:
    """For each compute C = N·t, the width N* (and t* = C/N*) minimizing L(N, P, C/N).

    A scan of ``grid`` log-spaced widths brackets the minimum; ``refine`` rounds of
    safeguarded successive parabolic interpolation on log N then refine it. Both are
    vectorized over all C at once. Widths above 100·M are not searched (past the number
    of modes a wider model only shortens the training time).

    Parameters
    ----------
    eigenvalues : Spectrum or array_like
        A `Spectrum` (``power`` None) or the eigenvalues λ_k.
    power : array_like or None
        Target power λ_k w*_k² with array eigenvalues.
    compute : array_like
        Budgets C = N·t (positive, finite).
    p : float
        Training-set size P (``inf``: fresh data, the compute-optimal setting of the paper).
    width_bounds, time_bounds : (float, float)
        Allowed N and t.

    Returns
    -------
    Frontier
        Optimal width, time, loss per C and the fitted exponents N* ∝ C^x, t* ∝ C^y,
        L* ∝ C^z (log-log least squares over the given C).

    Raises
    ------
    InputError
        A compute value has no feasible split (C ≤ 0, or no N in ``width_bounds`` with
        t = C/N in ``time_bounds``).
    """
    spec = as_spectrum(eigenvalues, power)
    C = np.asarray(compute, dtype=np.float64).ravel()
    if C.size == 0 or np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise InputError("compute values must be positive and finite", param="compute")
    lo, hi = _search_bounds(C, width_bounds, time_bounds, spec.rank)
    pP = float(p)

    def f(u):  # u: (nC, k) log widths → loss
        n = np.exp(u)
        val = loss(spec, None, n, pP, C[:, None] / n)
        return np.where(np.isfinite(val), val, np.inf)

    rows = np.arange(C.size)
    u = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid)[None, :]
    vals = f(u)
    i = np.clip(np.argmin(vals, axis=1), 1, grid - 2)
    x0, x1, x2 = u[rows, i - 1], u[rows, i], u[rows, i + 1]
    f0, f1, f2 = vals[rows, i - 1], vals[rows, i], vals[rows, i + 1]
    # Edge minimum: keep the grid end point (the triplet may not bracket).
    edge_best = np.minimum(f0, f2) < f1
    for _ in range(refine):
        w = x2 - x0
        with np.errstate(divide="ignore", invalid="ignore"):
            num = (x1 - x0) ** 2 * (f1 - f2) - (x1 - x2) ** 2 * (f1 - f0)
            den = (x1 - x0) * (f1 - f2) - (x1 - x2) * (f1 - f0)
            v = x1 - 0.5 * num / den
        # Safeguards: stay inside the bracket, away from its ends and from x1.
        golden = np.where(x1 - x0 > x2 - x1, x1 - 0.382 * (x1 - x0), x1 + 0.382 * (x2 - x1))
        v = np.where(np.isfinite(v), v, golden)
        v = np.clip(v, x0 + 0.05 * w, x2 - 0.05 * w)
        tiny = np.abs(v - x1) < 1e-3 * w
        v = np.where(tiny, x1 + np.where(x2 - x1 > x1 - x0, 1e-3, -1e-3) * w, v)
        fv = f(v[:, None])[:, 0]
        better = fv < f1
        left = v < x1
        # Bracket update: the best point becomes the middle one.
        nx0 = np.where(left, np.where(better, x0, v), np.where(better, x1, x0))
        nx2 = np.where(left, np.where(better, x1, x2), np.where(better, x2, v))
        nf0 = np.where(left, np.where(better, f0, fv), np.where(better, f1, f0))
        nf2 = np.where(left, np.where(better, f1, f2), np.where(better, f2, fv))
        x1, f1 = np.where(better, v, x1), np.where(better, fv, f1)
        x0, x2, f0, f2 = nx0, nx2, nf0, nf2
    j = np.argmin(vals, axis=1)
    uo = np.where(edge_best & (vals[rows, j] < f1), u[rows, j], x1)
    lopt = np.where(edge_best & (vals[rows, j] < f1), vals[rows, j], f1)
    n_opt = np.exp(uo)
    t_opt = C / n_opt
    fitted = FrontierExponents(_fit_slope(C, n_opt), _fit_slope(C, t_opt), _fit_slope(C, lopt))
    return Frontier(compute=C, width_opt=n_opt, time_opt=t_opt, loss_opt=lopt, p=pP, fitted=fitted)
