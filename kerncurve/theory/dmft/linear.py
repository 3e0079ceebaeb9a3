"""Deep-linear DMFT (``phi`` = identity, any depth): no sampling, closed matrix equations.

The equations and their per-layer recursion are in `kerncurve.theory.dmft.layers`; this
module solves them exactly by one causal pass over time (``method='forward'``, the
default) or hands them to the damped iteration of `kerncurve.theory.dmft.iterate`.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from kerncurve.errors import NumericalError

from .common import DMFTResult, check_problem, check_scheme, finish
from .iterate import solve_iterate
from .layers import CausalState, g_row, gd_output_row, ntk, phi_row

__all__ = ["deep_linear", "deep_linear_memory"]


def deep_linear_memory(n_points: int, steps: int, depth: int, method: str = "forward") -> int:
    """Bytes held by `deep_linear`: about ``8 depth + 3`` (forward) or ``4 depth + 10``
    (iterate) float64 matrices of side ``(steps + 1) * n_points``."""
    n = (steps + 1) * n_points
    count = 8 * depth + 3 if method == "forward" else 4 * depth + 10
    return int(count * n * n * 8)


def _deep_forward(kx, y, gamma0, dt, steps, depth, scheme="gd", progress=None):
    """Exact causal solve of the deep-linear DMFT, one time step at a time.

    The equations of `deep_linear` are causal: the new block row ``t`` of every matrix
    depends on earlier rows and, within the row, on the layer above (``G, D, B``: a
    backward sweep ``l = L..1``, `layers.g_row`) or below (``Phi, C, A``: a forward sweep
    ``l = 1..L``, `layers.phi_row`). ``Delta(t)`` is known from ``K(t - dt)``. So one pass
    over time, each step a few ``(P x n) @ (n x n)`` products per layer, gives the fixed
    point exactly. With ``scheme='gd'`` the output is read off the fields
    (`layers.gd_output_row`), exact for gradient descent with ``eta = dt``; ``'euler'``
    steps ``Delta`` with ``K(t)``. Returns ``(kernels (T+1, n_all, n_all), residual,
    f_test, steps done + 1)``.
    """
    n_all = kx.shape[0]
    P = y.shape[0]
    T1 = steps + 1
    exact_gd = scheme == "gd" and gamma0 > 0
    st = CausalState(kx, depth, T1, gamma0 * dt / P)
    kernels = np.zeros((T1, n_all, n_all))
    residual = np.zeros((T1, P))
    f_test = np.zeros((T1, n_all - P))
    residual[0] = y
    for t in range(T1):
        r = slice(t * n_all, (t + 1) * n_all)
        for l in range(depth - 1, -1, -1):
            g_row(st, l, t)
        for l in range(depth):
            phi_row(st, l, t)
        g_blocks = [G[r, r] for G in st.G] + [np.ones((n_all, n_all))]
        kernels[t] = ntk([kx] + [Phi[r, r] for Phi in st.Phi], g_blocks)
        K = kernels[t]
        if exact_gd and t > 0:
            f = gd_output_row(st, t, gamma0)
            residual[t] = y - f[:P]
            f_test[t] = f[P:]
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(residual[t]))):
            return kernels[:t], residual[:t], f_test[:t], t
        st.dfull[r][:P] = residual[t]
        if t == steps:
            break
        if not exact_gd:
            kd = K[:, :P] @ residual[t]
            residual[t + 1] = residual[t] - dt / P * kd[:P]
            f_test[t + 1] = f_test[t] + dt / P * kd[P:]
        if progress is not None:
            progress(1)
    return kernels, residual, f_test, T1


def deep_linear(
    kx: np.ndarray,
    y: np.ndarray,
    gamma0: float,
    time: float,
    dt: float,
    depth: int = 1,
    damping: float = 0.7,
    tol: float = 1e-9,
    max_iter: int = 200,
    window: int = 10,
    n_test: int = 0,
    y_test: Optional[np.ndarray] = None,
    method: str = "forward",
    scheme: Optional[str] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> DMFTResult:
    """Deep linear network DMFT (``phi`` = identity, ``depth`` hidden layers), any depth.

    Solves the closed ``(T+1)(P+Q)``-sided matrix equations of the single-site problem
    (written out, with their per-layer recursion, in `kerncurve.theory.dmft.layers`;
    Bordelon & Pehlevan, NeurIPS 2022, arXiv:2205.09653)::

        C_l = gamma0 dt [A^{l-1} + Phi^{l-1} diag(Delta) / P]
        D_l = gamma0 dt [B^l + G^{l+1} diag(Delta) / P]
        Phi^l = M Phi^{l-1} M^T + (M C_l) G^{l+1} (M C_l)^T,   M = (I - C_l D_l)^-1
        G^l   = M' G^{l+1} M'^T + (M' D_l) Phi^{l-1} (M' D_l)^T, M' = (I - D_l C_l)^-1

    ``method='forward'`` (default) solves them exactly in one causal pass over time
    (`_deep_forward`). ``method='iterate'`` iterates the full equations to self-consistency
    with damping ``kernel <- (1 - damping) kernel + damping new`` over horizons growing by
    ``window`` steps, each warm-started from the last (`kerncurve.theory.dmft.iterate`).
    Both reach the same fixed point; the forward pass costs about one iteration of the other.

    Parameters
    ----------
    kx, y, gamma0, time, dt, n_test, y_test, progress
        As in `two_layer` (``progress`` receives the number of steps each converged horizon adds).
    depth : int
        Number of hidden layers L >= 1.
    method : {'forward', 'iterate'}
        Exact causal pass, or damped fixed-point iteration (the next four parameters).
    scheme : {'gd', 'euler'}, optional
        Default 'gd' for the forward method, 'euler' for iterate. As in `two_layer`: 'gd'
        reads ``f(t) = <z^L(t) h^L(t)> / gamma0`` off the fields (the exact infinite-width
        limit of gradient descent with ``eta = dt``; forward method only); 'euler' steps
        ``Delta(t+dt) = Delta(t) - dt K(t) Delta(t) / P``.
    damping : float
        Mixing weight ``alpha`` in (0, 1].
    tol : float
        Stop when the largest relative change of the residual and kernels is below ``tol``.
    max_iter : int
        Iterations allowed per horizon.
    window : int
        Time steps added per horizon.

    Returns
    -------
    DMFTResult

    Raises
    ------
    NumericalError
        When an horizon does not converge (iterate) or the kernels overflow (forward);
        ``partial`` holds the `DMFTResult` of the longest converged horizon (or None).
    """
    kx, y, steps = check_problem(kx, y, gamma0, time, dt, n_test)
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if not 0 < damping <= 1:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    if method not in ("forward", "iterate"):
        raise ValueError(f"unknown method {method!r}; use 'forward' or 'iterate'")
    if scheme is None:
        scheme = "euler" if method == "iterate" else "gd"
    check_scheme(scheme)
    if method == "iterate" and scheme != "euler":
        raise ValueError("method='iterate' implements scheme='euler' only")
    if method == "iterate":
        return solve_iterate(kx, y, gamma0, dt, steps, depth, damping, tol, max_iter, window, y_test, progress)
    kernels, residual, f_test, done = _deep_forward(kx, y, gamma0, dt, steps, depth, scheme, progress)
    if done < steps + 1:
        partial = None
        if done > 0:  # the arrays hold the rows before the failure
            partial = finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)
        raise NumericalError(
            f"deep-linear DMFT overflowed at t = {done * dt:g} (gamma0={gamma0:g}, depth={depth}): the kernels "
            f"grew without bound; lower dt={dt:g} or gamma0={gamma0:g}, or shorten the time",
            partial=partial,
        )
    return finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)
