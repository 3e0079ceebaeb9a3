"""Finite-size scaling of a seed-averaged observable over a grid of widths N and depths L.

Under depth-μP the approach to the joint limit is additive (Bordelon, Noci, Li, Hanin,
Pehlevan, ICLR 2024, arXiv:2309.16620; Hayou & Yang, arXiv:2302.00453 at initialization)::

    O(N, L) = O∞ + a/N + b/L + c/(NL)                  (additive model)
    O(N, L) = O∞ + a/N + b/L + c/(NL) + d·L/N          (with a coupling term)

fitted by weighted least squares with weights 1/SEM². A coupling ``d ≠ 0`` makes the order of
the limits matter: N → ∞ first gives O∞, L → ∞ first diverges, and the diagonal N = κL tends
to O∞ + d/κ. Intervals use the coefficient standard errors scaled by the Birge ratio
``max(1, √(χ²/dof))`` (an honest interval when the model misfits). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SurfaceFit", "fit_surface", "iterated_limits", "power_law_exponents", "Z95", "DIAGONALS"]

Z95 = 1.959963984540054
DIAGONALS = (1.0, 4.0, 16.0)
TERMS_ADDITIVE = ("o_inf", "a", "b", "c")
TERMS_COUPLED = TERMS_ADDITIVE + ("d",)


@dataclass(frozen=True)
class SurfaceFit:
    """One weighted least-squares fit of the finite-size surface.

    Attributes
    ----------
    terms : tuple of str
        ``o_inf, a, b, c`` (+ ``d``).
    coef, se : ndarray
        Coefficients and their standard errors (from the SEMs, not rescaled).
    cov : ndarray
        Their covariance.
    chi2, dof : float, int
    """

    terms: tuple
    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    chi2: float
    dof: int

    @property
    def chi2_dof(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    @property
    def birge(self) -> float:
        """Scale of the intervals, ``max(1, √(χ²/dof))``."""
        r = self.chi2_dof
        return max(1.0, float(np.sqrt(r))) if np.isfinite(r) else 1.0

    def value(self, name: str) -> float:
        return float(self.coef[self.terms.index(name)])

    def interval(self, weights) -> tuple:
        """``(estimate, lo, hi)`` of the linear combination ``weights · coef`` (95 %)."""
        w = np.asarray(weights, dtype=float)
        est = float(w @ self.coef)
        half = Z95 * self.birge * float(np.sqrt(max(w @ self.cov @ w, 0.0)))
        return est, est - half, est + half

    def predict(self, width, depth) -> np.ndarray:
        return _design(np.asarray(width, float), np.asarray(depth, float), len(self.terms)) @ self.coef


def _design(N, L, k):
    cols = [np.ones_like(N), 1 / N, 1 / L, 1 / (N * L), L / N]
    return np.stack(cols[:k], axis=-1)


def fit_surface(width, depth, value, sem, coupled: bool = False) -> SurfaceFit:
    """Weighted least squares of the finite-size surface on points ``(N, L, O, SEM)``.

    Parameters
    ----------
    width, depth, value, sem : array (n,)
        One point per (N, L): the seed mean and its standard error. A zero SEM is floored at
        10⁻³ of the median SEM (and at ``1e-12 |O|``).
    coupled : bool
        Add the coupling term ``d·L/N``.

    Returns
    -------
    SurfaceFit
    """
    N, L = np.asarray(width, float), np.asarray(depth, float)
    y, s = np.asarray(value, float), np.asarray(sem, float)
    terms = TERMS_COUPLED if coupled else TERMS_ADDITIVE
    X = _design(N, L, len(terms))
    if X.shape[0] < len(terms):
        raise ValueError(f"{len(terms)} coefficients need at least as many points, got {X.shape[0]}")
    pos = s[s > 0]
    s = np.maximum(s, np.maximum(1e-12 * (np.abs(y) + 1e-300), 1e-3 * np.median(pos) if pos.size else 0.0))
    Xw, yw = X / s[:, None], y / s
    q, r = np.linalg.qr(Xw)
    coef = np.linalg.solve(r, q.T @ yw)
    rinv = np.linalg.inv(r)
    cov = rinv @ rinv.T
    chi2 = float(np.sum((yw - Xw @ coef) ** 2))
    return SurfaceFit(terms, coef, np.sqrt(np.diag(cov)), cov, chi2, X.shape[0] - len(terms))


def _line(x, y, s):
    """Weighted fit y = u + v x: (u, se_u)."""
    X = np.stack([np.ones_like(x), x], axis=1) / s[:, None]
    cov = np.linalg.inv(X.T @ X)
    u = cov @ (X.T @ (y / s))
    resid = (y - u[0] - u[1] * x) / s
    dof = x.size - 2
    scale = max(1.0, float(np.sqrt(np.sum(resid**2) / dof))) if dof > 0 else 1.0
    return float(u[0]), float(np.sqrt(cov[0, 0])) * scale


def iterated_limits(width, depth, value, sem) -> dict:
    """The two orders of limits on a full grid, each by two weighted line fits.

    ``width_first``: at each L fit O = A_L + a_L/N and take A_L, then fit A_L = O₁ + b/L.
    ``depth_first``: at each N fit O = B_N + b_N/L, then fit B_N = O₂ + a/N. Each is returned
    as ``(estimate, lo, hi)`` (95 %, errors propagated, Birge-scaled per fit). Without a
    coupling term both estimate O∞; a term in L/N biases the fits at fixed N (``depth_first``).
    """
    N, L = np.asarray(width, float), np.asarray(depth, float)
    y, s = np.asarray(value, float), np.maximum(np.asarray(sem, float), 1e-300)

    def order(inner, outer):
        keys = np.unique(outer)
        mids, errs = [], []
        for k in keys:
            m = outer == k
            u, e = _line(1 / inner[m], y[m], s[m])
            mids.append(u)
            errs.append(e)
        u, e = _line(1 / keys, np.array(mids), np.maximum(np.array(errs), 1e-300))
        return u, u - Z95 * e, u + Z95 * e

    return {"width_first": order(N, L), "depth_first": order(L, N)}


def power_law_exponents(width, depth, value, sem, grid=None) -> dict:
    """Free power laws ``O = O∞ + a N^{-p} + b L^{-q}``: the best (p, q) on a grid, with the
    profile intervals where χ² rises by at most 1 (one standard error)."""
    N, L = np.asarray(width, float), np.asarray(depth, float)
    y, s = np.asarray(value, float), np.maximum(np.asarray(sem, float), 1e-300)
    grid = np.linspace(0.1, 3.0, 59) if grid is None else np.asarray(grid, float)
    chi = np.empty((grid.size, grid.size))
    for i, p in enumerate(grid):
        for j, q in enumerate(grid):
            X = np.stack([np.ones_like(N), N**-p, L**-q], axis=1) / s[:, None]
            coef, *_ = np.linalg.lstsq(X, y / s, rcond=None)
            chi[i, j] = np.sum((y / s - X @ coef) ** 2)
    i, j = np.unravel_index(np.argmin(chi), chi.shape)
    prof_p, prof_q = chi.min(axis=1), chi.min(axis=0)
    best = chi[i, j]

    def band(prof):
        ok = grid[prof <= best + 1.0]
        return [float(ok.min()), float(ok.max())]

    return {"exponent_width": float(grid[i]), "exponent_depth": float(grid[j]),
            "exponent_width_range": band(prof_p), "exponent_depth_range": band(prof_q)}
