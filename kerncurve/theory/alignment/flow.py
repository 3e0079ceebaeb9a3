"""The predicted time course of a deep linear network's loss and kernel (silent alignment).

The network is modelled as balanced and rank one: the end-to-end vector obeys
dβ/dt = −M(β)(Σβ − c) with M(β) = |β|^{2−2/L}(I + (L−1)β̂β̂ᵀ), exact for balanced weights
with one output (Arora, Cohen & Hazan, ICML 2018), started after the early alignment at
s₀ĉ (Atanasov, Bordelon & Pehlevan, ICLR 2022). Conventions in docs/theory/alignment.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from kerncurve.errors import NumericalError

from .checks import check_depth, check_times
from .silent import (
    LinearProblem,
    SilentAlignment,
    balanced_kernel,
    linear_problem,
    silent_alignment,
)

__all__ = ["AlignmentCurve", "scalar_curve", "balanced_flow", "alignment_curve", "default_times", "predicted_kernels"]


def scalar_curve(t, s_star: float, s0: float, depth: int, rtol: float = 1e-11) -> np.ndarray:
    """Projection s(t) = β(t)·β̂* for whitened data from the balanced aligned start s₀.

    ṡ = L s^{2−2/L}(s* − s). L = 2 in closed form,
    s(t) = s*/(1 + (s*/s₀ − 1)e^{−2s*t}); L = 1: s = s* + (s₀ − s*)e^{−t}; L ≥ 3 integrated
    (DOP853) in u = ln s, u̇ = L s^{1−2/L}(s* − s), which keeps relative accuracy through the
    long plateau. The whitened loss is ½(s* − s)² + loss_min.
    """
    check_depth(depth)
    t = np.asarray(t, dtype=float)
    if depth == 1:
        return s_star + (s0 - s_star) * np.exp(-t)
    if depth == 2:
        return s_star / (1.0 + (s_star / s0 - 1.0) * np.exp(-2 * s_star * t))
    tt = np.ravel(t)
    order = np.argsort(tt)
    ts = tt[order]
    if tt.size == 0 or ts[-1] <= 0:
        return np.full(t.shape, float(s0))

    def rhs(_, u):
        s = np.exp(u)
        return depth * s ** (1 - 2.0 / depth) * (s_star - s)

    sol = solve_ivp(rhs, (0.0, max(ts[-1], 0.0)), [np.log(s0)], method="DOP853",
                    t_eval=ts, rtol=rtol, atol=1e-13)
    if not sol.success:
        raise NumericalError(f"scalar alignment ODE failed: {sol.message}", partial=sol)
    out = np.empty_like(tt)
    out[order] = np.exp(sol.y[0])
    return out.reshape(t.shape)


def balanced_flow(t, prob: LinearProblem, depth: int, beta0, rtol: float = 1e-10):
    """End-to-end gradient flow of a balanced deep linear network.

    dβ/dt = −M(β)(Σβ − c), M(β) = |β|^{2−2/L}(I + (L−1)β̂β̂ᵀ) (Arora, Cohen, Hazan 2018;
    exact for balanced weights with one output). Integrated with DOP853.

    Parameters
    ----------
    t : array_like (T,)
        Output times, ≥ 0.
    prob : LinearProblem
    depth : int
    beta0 : array_like (D,)
        Start (after the early alignment, β₀ = s₀ĉ).

    Returns
    -------
    ndarray (T, D)
    """
    check_depth(depth)
    t = np.asarray(t, dtype=float)
    order = np.argsort(t)
    ts = t[order]
    beta0 = np.asarray(beta0, dtype=float)
    if t.size == 0 or ts[-1] <= 0:
        return np.broadcast_to(beta0, (t.size, beta0.size)).copy()
    p = 2.0 - 2.0 / depth
    S, c = prob.sigma, prob.c

    def rhs(_, b):
        g = S @ b - c
        nb = np.sqrt(b @ b)
        if nb == 0:
            return -g if depth == 1 else np.zeros_like(b)
        return -(nb**p) * (g + (depth - 1) * b * ((b @ g) / nb**2))

    scale = max(np.linalg.norm(beta0), 1e-300)
    sol = solve_ivp(rhs, (0.0, max(ts[-1], 0.0)), beta0, method="DOP853", t_eval=ts,
                    rtol=rtol, atol=1e-6 * rtol * scale)
    if not sol.success:
        raise NumericalError(f"balanced end-to-end flow failed: {sol.message}", partial=sol)
    out = np.empty((t.size, beta0.size))
    out[order] = sol.y.T
    return out


@dataclass(frozen=True)
class AlignmentCurve:
    """Predicted time course of a deep linear network's loss and kernel.

    Attributes
    ----------
    time, loss, top_overlap, anisotropy : ndarray (T,)
        Loss (1/2P)|Xβ − y|²; |cos| between the predicted kernel's top eigenvector (β̂(t))
        and β̂_∞; λ₁/λ₂ of the predicted kernel M(β(t)) + m₀I (1 at init, L at the end).
    beta : ndarray (T, D)
    """

    time: np.ndarray
    loss: np.ndarray
    top_overlap: np.ndarray
    anisotropy: np.ndarray
    beta: np.ndarray


def alignment_curve(X, y, depth: int, sigma: float, width: int, times) -> AlignmentCurve:
    """Predicted loss, top-eigenvector overlap and anisotropy over time.

    The network is modelled as balanced and rank one from the start β₀ = s₀ĉ (the state
    after the early alignment to ĉ, which for L = 2 takes t₁ = O(1/|c|), independent of σ),
    evolving by `balanced_flow`; the predicted kernel is M(β(t)) + m₀I, the isotropic
    initial kernel being carried along (`initial_scales`). For whitened data this is
    exactly the scalar solution `scalar_curve` (closed form at L = 2). For non-whitened data
    the start direction ĉ differs from β̂_∞ and the overlap rises from cos(ĉ, β̂_∞) to 1 as
    the loss falls: alignment is not silent.
    """
    info = silent_alignment(X, y, depth, sigma, width)
    prob = linear_problem(X, y)
    times = check_times(times, "times")
    if info.s_star == 0:
        beta = np.zeros((times.size, prob.c.size))
    elif info.whitened:
        s = scalar_curve(times, info.s_star, info.s0, depth)
        beta = s[:, None] * (prob.beta_inf / info.s_star)[None, :]
    else:
        beta = balanced_flow(times, prob, depth, info.s0 * info.c_hat)
    loss = prob.loss(beta)
    norm = np.linalg.norm(beta, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = np.abs(beta @ prob.beta_inf) / (norm * info.s_star)
    overlap = np.where(norm > 0, np.minimum(overlap, 1.0), np.nan)
    if depth == 1 or prob.c.size < 2:
        aniso = np.ones(times.size)
    else:
        top = norm ** (2.0 * (depth - 1) / depth)
        aniso = (depth * top + info.m0) / (top + info.m0)
    return AlignmentCurve(time=times, loss=loss, top_overlap=overlap, anisotropy=aniso, beta=beta)


def predicted_kernels(curve: AlignmentCurve, info: SilentAlignment) -> np.ndarray:
    """The predicted NTK matrices M(β(t)) + m₀I along a curve, (T, D, D)."""
    return balanced_kernel(curve.beta, info.depth) + info.m0 * np.eye(curve.beta.shape[1])


def default_times(prob: LinearProblem, info: SilentAlignment, points: int = 101) -> np.ndarray:
    """``points`` evenly spaced times from 0 to t₁ + t₂ + 8/rate, past the loss drop.

    ``rate`` = smallest positive eigenvalue of Σ times s*^{2(L−1)/L}: the slowest
    relaxation rate of the balanced flow near β_∞.
    """
    ev = np.linalg.eigvalsh(prob.sigma)
    pos = ev[ev > 1e-10 * ev[-1]]
    rate = pos[0] * info.s_star ** (2.0 * (info.depth - 1) / info.depth)
    return np.linspace(0.0, info.t1 + info.t2 + 8.0 / rate, points)
