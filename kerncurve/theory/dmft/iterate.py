"""Deep-linear DMFT by damped fixed-point iteration over growing time horizons.

The full ``(T1 n_all) x (T1 n_all)`` equations of `kerncurve.theory.dmft.layers` are
iterated to self-consistency, ``kernel <- (1 - damping) kernel + damping new``; the horizon
grows by ``window`` steps at a time, and every kernel, response and residual of the previous
horizon warm-starts the next (causality makes the old blocks exact). The function moves by
the Euler step (scheme 'euler'). `kerncurve.theory.dmft.deep_linear` with
``method='iterate'`` runs it; the causal forward pass reaches the same fixed point.
"""

from __future__ import annotations

import numpy as np

from kerncurve.errors import NumericalError

from .common import euler_function, finish
from .layers import above, below, layer_update, ntk

__all__ = ["solve_iterate"]


def _kron_time(k, T1):
    """The time-independent kernel ``k`` broadcast to all ``(t, s)`` blocks."""
    return np.tile(k, (T1, T1))


class _Layered:
    """State of the deep-linear iteration on a horizon of ``T1`` time points.

    Vectors over ``(t, mu)`` are time-major: index ``t * n_all + mu``.
    """

    def __init__(self, Phi, G, A, B, residual):
        self.Phi = Phi  # list, layers 1..L: (n, n)
        self.G = G  # list, layers 1..L
        self.A = A  # list, layers 1..L-1: response of h^l to r^l, = M_l C_l
        self.B = B  # list, layers 1..L-1: response of z^{l+1} to u^{l+1}, = M'_{l+1} D_{l+1}
        self.residual = residual  # (T1, P)


def _ntk_blocks(Phi_list, G_list, phi0, ones, T1, n_all):
    """``K(t) = sum_{l=0}^{L} G^{l+1}(t,t) * Phi^l(t,t)`` from the full matrices."""
    idx = np.arange(T1)

    def diag(m):
        return m.reshape(T1, n_all, T1, n_all)[idx, :, idx, :]

    return ntk([diag(p) for p in [phi0] + list(Phi_list)], [diag(g) for g in list(G_list) + [ones]])


def _deep_step(state, kx, y, gamma0, dt, n_all, T1):
    """One Picard map of the deep-linear DMFT: new kernels, responses and residual."""
    P = y.shape[0]
    L = len(state.Phi)
    n = T1 * n_all
    tt = np.repeat(np.arange(T1), n_all)
    mask = (tt[:, None] > tt[None, :]).astype(float)  # strictly causal: s < t
    dvec = np.zeros((T1, n_all))
    dvec[:, :P] = state.residual
    dvec = dvec.reshape(-1)
    scale = gamma0 * dt / P
    phi0 = _kron_time(kx, T1)
    ones = np.ones((n, n))
    eye = np.eye(n)
    new_Phi, new_G, new_A, new_B = [], [], [], []
    for l in range(L):
        a_below = state.A[l - 1] if l >= 1 else None
        b_above = state.B[l] if l <= L - 2 else None
        Phi_l, G_l, MC, MpD = layer_update(below(state.Phi, l, phi0), above(state.G, l, ones), a_below, b_above,
                                           scale, dvec, mask, eye)
        new_Phi.append(Phi_l)
        new_G.append(G_l)
        if l <= L - 2:
            new_A.append(MC)
        if l >= 1:
            new_B.append(MpD)
    K = _ntk_blocks(new_Phi, new_G, phi0, ones, T1, n_all)
    residual, f_test = euler_function(K, y, dt, P)
    return _Layered(new_Phi, new_G, new_A, new_B, residual), K, f_test


def _initial_state(kx, y, depth, dt, n_all, T1):
    """gamma0 = 0 kernels (all layers equal the input kernel for linear nets)."""
    P = y.shape[0]
    phi0 = _kron_time(kx, T1)
    n = T1 * n_all
    Phi = [phi0.copy() for _ in range(depth)]
    G = [np.ones((n, n)) for _ in range(depth)]
    A = [np.zeros((n, n)) for _ in range(depth - 1)]
    B = [np.zeros((n, n)) for _ in range(depth - 1)]
    K0 = (depth + 1) * kx
    residual, _ = euler_function(np.broadcast_to(K0, (T1, n_all, n_all)), y, dt, P)
    return _Layered(Phi, G, A, B, residual)


def _extend(state, old_T1, new_T1, kx, y, dt):
    """Warm start on a longer horizon: old blocks kept, new times copy the last time."""
    n_all = kx.shape[0]
    tmap = np.minimum(np.arange(new_T1), old_T1 - 1)
    idx = (tmap[:, None] * n_all + np.arange(n_all)[None, :]).reshape(-1)

    def grow(m):
        return m[np.ix_(idx, idx)]

    tt = np.repeat(np.arange(new_T1), n_all)
    causal = (tt[:, None] > tt[None, :]) & (tt[:, None] < old_T1)
    # responses: keep only the old (exact) part; new rows start from zero
    A = [grow(a) * causal for a in state.A]
    B = [grow(b) * causal for b in state.B]
    Phi = [grow(p) for p in state.Phi]
    G = [grow(g) for g in state.G]
    n = new_T1 * n_all
    K = _ntk_blocks(Phi, G, _kron_time(kx, new_T1), np.ones((n, n)), new_T1, n_all)
    residual, _ = euler_function(K, y, dt, y.shape[0])
    return _Layered(Phi, G, A, B, residual)


def _damp(old, new, alpha):
    mix = lambda a, b: (1 - alpha) * a + alpha * b  # noqa: E731
    return _Layered(
        [mix(a, b) for a, b in zip(old.Phi, new.Phi)],
        [mix(a, b) for a, b in zip(old.G, new.G)],
        [mix(a, b) for a, b in zip(old.A, new.A)],
        [mix(a, b) for a, b in zip(old.B, new.B)],
        mix(old.residual, new.residual),
    )


def _change(old, new):
    """Largest change of the residual and kernels, relative to their size."""
    worst = np.max(np.abs(new.residual - old.residual)) / max(np.max(np.abs(new.residual)), 1e-300)
    for a, b in zip(old.Phi + old.G, new.Phi + new.G):
        worst = max(worst, np.max(np.abs(b - a)) / max(np.max(np.abs(b)), 1e-300))
    return worst


def solve_iterate(kx, y, gamma0, dt, steps, depth, damping, tol, max_iter, window, y_test, progress):
    """The damped iteration over horizons of ``window`` steps; a `DMFTResult`.

    Raises `NumericalError` when a horizon does not converge; ``partial`` holds the result
    of the longest converged horizon (None if the first failed).
    """
    n_all = kx.shape[0]
    horizons = list(range(min(window, steps), steps, window)) + [steps]
    state = None
    partial = None
    total_iter = 0
    old_T1 = None
    for h_steps in horizons:
        T1 = h_steps + 1
        if state is None:
            state = _initial_state(kx, y, depth, dt, n_all, T1)
        else:
            state = _extend(state, old_T1, T1, kx, y, dt)
        converged = False
        for _ in range(max_iter):
            new, K, f_test = _deep_step(state, kx, y, gamma0, dt, n_all, T1)
            total_iter += 1
            change = _change(state, new)
            if not np.isfinite(change):
                break
            if change < tol:
                state = new
                converged = True
                break
            state = _damp(state, new, damping)
        if not converged:
            raise NumericalError(
                f"deep-linear DMFT did not converge at t = {h_steps * dt:g} (gamma0={gamma0:g}, depth={depth},"
                f" damping={damping:g}): last change {change:.2g} > tol={tol:g}; lower damping={damping:g} or "
                f"dt={dt:g}, shorten the time, or use method='forward'",
                partial=partial,
            )
        partial = finish(gamma0, dt, y, K, state.residual, f_test, y_test, total_iter)
        if progress is not None:
            progress(h_steps - (old_T1 - 1 if old_T1 else 0))
        old_T1 = T1
    return partial
