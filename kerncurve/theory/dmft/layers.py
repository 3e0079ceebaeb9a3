"""The per-layer recursion of the deep-linear DMFT — the one place that defines it.

A deep linear network (``phi`` = identity, L hidden layers) has linear single-site
equations, so its kernels obey closed matrix equations over the index ``(t, mu)`` (time
major: ``t * n_all + mu``; ``n = T1 * n_all``). For hidden layer ``l = 1..L``::

    C_l = gamma0 dt [A^{l-1} + Phi^{l-1} diag(Delta) / P]        (strictly causal: s < t)
    D_l = gamma0 dt [B^l     + G^{l+1}  diag(Delta) / P]
    M_l = (I - C_l D_l)^-1,   M'_l = (I - D_l C_l)^-1           (unit lower triangular)
    Phi^l = M_l Phi^{l-1} M_l^T + (M_l C_l) G^{l+1} (M_l C_l)^T
    G^l   = M'_l G^{l+1} M'_l^T + (M'_l D_l) Phi^{l-1} (M'_l D_l)^T
    NTK   K(t) = sum_{l=0..L} G^{l+1}(t, t) * Phi^l(t, t)

with the boundary conditions ``Phi^0 = Kx`` (every time block), ``G^{L+1} = 1``,
``A^0 = B^L = 0``, and the responses ``gamma0 dt A^l = M_l C_l`` (of ``h^l`` to the
backward source) and ``gamma0 dt B^l = M'_{l+1} D_{l+1}`` (of ``z^{l+1}`` to the forward
source). Here ``Phi`` couples a layer to the one *below* and ``G`` to the one *above*.

Both deep-linear solvers take their layer maps from this module:

* `layer_update` — the whole ``(T1 n) x (T1 n)`` matrices of one layer at once (one
  Picard map of ``method='iterate'``, `kerncurve.theory.dmft.iterate`);
* `g_row` / `phi_row` — block row ``t`` of one layer from the earlier rows (the exact causal
  pass of ``method='forward'``, `kerncurve.theory.dmft.linear`): the ``G, D, M', B`` rows
  need the layer above (a backward sweep ``l = L..1``), the ``Phi, C, M, A`` rows the layer
  below (a forward sweep ``l = 1..L``);
* `ntk` — the NTK from the diagonal time blocks.

Another architecture with linear layers changes the equations above; change them here
(both forms, and `below`/`above` for its boundary conditions) and the two solvers follow.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

__all__ = ["below", "above", "layer_update", "CausalState", "g_row", "phi_row", "ntk", "gd_output_row"]


def below(Phi, l, phi0):
    """``Phi^{l-1}`` for 0-based layer index ``l`` (``Phi^0 = Kx`` below the first layer)."""
    return phi0 if l == 0 else Phi[l - 1]


def above(G, l, ones):
    """``G^{l+1}`` for 0-based layer index ``l`` (``G^{L+1} = 1`` above the last layer)."""
    return ones if l == len(G) - 1 else G[l + 1]


def layer_update(phi_below, g_above, a_below, b_above, scale, delta, mask, eye):
    """One layer's kernels and responses from the layers around it (full matrices).

    Parameters
    ----------
    phi_below, g_above : ndarray (n, n)
        ``Phi^{l-1}`` and ``G^{l+1}``.
    a_below, b_above : ndarray (n, n) or None
        ``gamma0 dt A^{l-1}`` (None for the first layer) and ``gamma0 dt B^l`` (None for the last).
    scale : float
        ``gamma0 dt / P``.
    delta : ndarray (n,)
        The residual ``Delta`` on the whole index (zero on test points).
    mask : ndarray (n, n)
        1 where ``s < t`` (strict causality), else 0.
    eye : ndarray (n, n)

    Returns
    -------
    Phi_l, G_l : ndarray (n, n)
        Symmetrized.
    MC, MpD : ndarray (n, n)
        ``M_l C_l`` (this layer's ``A``, used by the layer above) and ``M'_l D_l`` (the ``B``
        used by the layer below).
    """
    C = scale * phi_below * delta[None, :]
    if a_below is not None:
        C = C + a_below
    C *= mask
    D = scale * g_above * delta[None, :]
    if b_above is not None:
        D = D + b_above
    D *= mask
    ImCD = eye - C @ D
    ImDC = eye - D @ C
    MPhi = solve_triangular(ImCD, phi_below, lower=True, unit_diagonal=True)
    MC = solve_triangular(ImCD, C, lower=True, unit_diagonal=True)
    Phi_l = solve_triangular(ImCD, MPhi.T, lower=True, unit_diagonal=True).T
    Phi_l += MC @ g_above @ MC.T
    MpG = solve_triangular(ImDC, g_above, lower=True, unit_diagonal=True)
    MpD = solve_triangular(ImDC, D, lower=True, unit_diagonal=True)
    G_l = solve_triangular(ImDC, MpG.T, lower=True, unit_diagonal=True).T
    G_l += MpD @ phi_below @ MpD.T
    return 0.5 * (Phi_l + Phi_l.T), 0.5 * (G_l + G_l.T), MC, MpD


class CausalState:
    """Every matrix of the causal pass, filled one block row ``t`` at a time.

    Lists are indexed by the 0-based layer ``l`` (hidden layer ``l + 1``): ``C, D`` the
    sources, ``M, Mp`` the resolvents ``M_l, M'_l``, ``At = M_l C_l`` and ``Bt = M'_l D_l``
    the responses, ``Phi, G`` the kernels; ``dfull`` the residual on the whole index.
    """

    def __init__(self, kx, depth, T1, scale):
        n_all = kx.shape[0]
        n = T1 * n_all
        self.n_all = n_all
        self.depth = depth
        self.scale = scale
        self.phi0 = np.tile(kx, (T1, T1))
        self.ones = np.ones((n, n))
        self.C, self.D, self.M, self.Mp, self.At, self.Bt, self.Phi, self.G = (
            [np.zeros((n, n)) for _ in range(depth)] for _ in range(8))
        self.dfull = np.zeros(n)


def g_row(st, l, t):
    """Block row ``t`` of ``D_l, M'_l, B~_l, G^l`` (needs the layer above at row ``t``)."""
    n_all = st.n_all
    r = slice(t * n_all, (t + 1) * n_all)
    pa = slice(0, t * n_all)  # past columns s < t
    up = slice(0, (t + 1) * n_all)  # columns s <= t
    Gn = above(st.G, l, st.ones)
    Phi_prev = below(st.Phi, l, st.phi0)
    d_row = st.scale * Gn[r, pa] * st.dfull[pa][None, :]
    if l < st.depth - 1:
        d_row = d_row + st.Bt[l + 1][r, pa]
    st.D[l][r, pa] = d_row
    mp = d_row @ st.C[l][pa, pa] @ st.Mp[l][pa, up]
    mp[:, r] += np.eye(n_all)
    st.Mp[l][r, up] = mp
    bt = mp[:, pa] @ st.D[l][pa, up]
    bt[:, pa] += d_row
    st.Bt[l][r, up] = bt
    g = (mp @ Gn[up, up]) @ st.Mp[l][up, up].T
    g += (bt[:, pa] @ Phi_prev[pa, pa]) @ st.Bt[l][up, pa].T
    st.G[l][r, up] = g
    st.G[l][up, r] = g.T
    st.G[l][r, r] = 0.5 * (g[:, r] + g[:, r].T)


def phi_row(st, l, t):
    """Block row ``t`` of ``C_l, M_l, A~_l, Phi^l`` (needs the layer below at row ``t``)."""
    n_all = st.n_all
    r = slice(t * n_all, (t + 1) * n_all)
    pa = slice(0, t * n_all)
    up = slice(0, (t + 1) * n_all)
    Gn = above(st.G, l, st.ones)
    Phi_prev = below(st.Phi, l, st.phi0)
    c_row = st.scale * Phi_prev[r, pa] * st.dfull[pa][None, :]
    if l > 0:
        c_row = c_row + st.At[l - 1][r, pa]
    st.C[l][r, pa] = c_row
    m = c_row @ st.D[l][pa, pa] @ st.M[l][pa, up]
    m[:, r] += np.eye(n_all)
    st.M[l][r, up] = m
    at = m[:, pa] @ st.C[l][pa, up]
    at[:, pa] += c_row
    st.At[l][r, up] = at
    p = (m @ Phi_prev[up, up]) @ st.M[l][up, up].T
    p += (at[:, pa] @ Gn[pa, pa]) @ st.At[l][up, pa].T
    st.Phi[l][r, up] = p
    st.Phi[l][up, r] = p.T
    st.Phi[l][r, r] = 0.5 * (p[:, r] + p[:, r].T)


def ntk(phi_blocks, g_blocks):
    """``K = sum_l G^{l+1} * Phi^l`` from matching lists of blocks ``[Phi^0..Phi^L]``,
    ``[G^1..G^{L+1}]`` (any common shape: one time block, or a stack of them)."""
    K = phi_blocks[0] * g_blocks[0]
    for p, g in zip(phi_blocks[1:], g_blocks[1:]):
        K = K + g * p
    return K


def gd_output_row(st, t, gamma0):
    """Centered output at time ``t`` read off the last layer's fields,
    ``f_mu(t) = <z^L_mu(t) h^L_mu(t)> / gamma0``: the diagonal of
    ``M Phi^{L-1} (M'D)^T + (MC) G^{L+1} M'^T`` (the exact infinite-width limit of gradient
    descent with ``eta = dt``)."""
    n_all = st.n_all
    r = slice(t * n_all, (t + 1) * n_all)
    up = slice(0, (t + 1) * n_all)
    last = st.depth - 1
    Phi_prev = below(st.Phi, last, st.phi0)
    cross = (st.M[last][r, up] @ Phi_prev[up, up]) @ st.Bt[last][r, up].T
    cross += st.At[last][r, up].sum(axis=1)[:, None] * st.Mp[last][r, up].sum(axis=1)[None, :]
    return np.diag(cross) / gamma0
