"""Deep linear residual networks at infinite width: the DMFT, solved exactly in one causal pass.

Network (docs/theory/limits.md; depth-muP of `kerncurve.nn.scaling`, every weight N(0, 1))::

    h^1     = W0 x / sqrt(D)
    h^{l+1} = h^l + beta W^l h^l / sqrt(N),   beta = beta0 L^-alpha,   l = 1..L
    f       = w . h^{L+1} / (gamma0 N)                         (initial output subtracted)

trained by gradient descent on ``|y - f|^2 / (2P)`` with learning rates ``eta gamma0^2 N`` (W0,
w) and ``eta gamma0^2 N L^(2 alpha - 1)`` (W^l), time ``t = eta * step``. Each residual
branch then moves by ``gamma0 beta0^2 / L`` per unit time whatever alpha.

Unlike the plain deep network, where every layer is its own single-site problem, the
residual stream ties all layers of one unit ``i`` together: ``h^1_i .. h^{L+1}_i`` and the
backward fields ``z^{L+1}_i = w_i .. z^1_i`` form one linear single-site system::

    h^1     = u^0 + gamma0 dt S[Kx] z^1
    h^{l+1} = h^l + beta (u^l + R^h_l z^{l+1}) + c dt S[Phi^l] z^{l+1}
    z^{L+1} = w0  + gamma0 dt S[1] h^{L+1}
    z^l     = z^{l+1} + beta (r^l + R^z_l h^l) + c dt S[G^{l+1}] h^l

with ``c = gamma0 beta0^2 / L``, ``(S[K] v)_mu(t) = sum_{s<t, nu} K_mu nu(t, s) Delta_nu(s) v_nu(s) / P``
(strictly causal), independent Gaussian sources ``u^0 ~ Kx`` (constant in time),
``w0 ~ 1`` (constant), ``u^l ~ Phi^l = <h^l h^l>`` and ``r^l ~ G^{l+1} = <z^{l+1} z^{l+1}>``,
and the responses ``R^h_l = d h^l / d r^l`` and ``R^z_l = d z^{l+1} / d u^l`` (the
cavity terms of the weight ``W^l(0)`` used forward and backward). Every variable is a linear
map of the sources; we keep those maps (transfer matrices, one row block per time) and
fill them causally: at time ``t`` the ``h`` rows need only ``z`` at earlier times and
the ``z`` rows only ``h`` at earlier times. Kernels are quadratic forms of the transfers
with the (block-diagonal) source covariance, the output is
``f_mu(t) = <z^{L+1}_mu(t) h^{L+1}_mu(t)> / gamma0`` (the exact infinite-width limit of
gradient descent with ``eta = dt``), and the NTK is::

    K(t) = G^1 * Kx + Phi^{L+1} + (beta0^2 / L) sum_{l=1..L} G^{l+1} * Phi^l

Cost: ``2(L+1)`` transfer matrices of ``(T+1)(P+Q)`` rows and ``2L(T+1)(P+Q)`` columns
(memory ``O(L^2 n^2)``), time ``O(L^2 P^3 T^3)``.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from kerncurve.errors import NumericalError

from .common import DMFTResult, check_problem, check_scheme, finish

__all__ = ["deep_linear_resnet", "resnet_memory", "resnet_initial_ntk", "ALPHA_RANGE"]

ALPHA_RANGE = (0.5, 1.0)


def resnet_memory(n_points: int, steps: int, depth: int) -> int:
    """Bytes held by `deep_linear_resnet`: ``2(L+1)`` transfer matrices of ``n x (2Ln + P + 1)``
    and ``2(L+1) + 2`` kernels of ``n x n`` (``n = (steps + 1) n_points``)."""
    n = (steps + 1) * n_points
    cols = 2 * depth * n + n_points + 1
    return int(8 * (2 * (depth + 1) * n * cols + (2 * depth + 4) * n * n))


def resnet_initial_ntk(kx: np.ndarray, depth: int, alpha: float = 0.5, beta0: float = 1.0) -> np.ndarray:
    """The NTK at initialization (and for all times at ``gamma0 = 0``), in closed form:
    ``Phi^l = (1 + beta^2)^(l-1) Kx``, ``G^l = (1 + beta^2)^(L+1-l)``, so
    ``K0 = (1 + beta^2)^L [2 + beta0^2 / (1 + beta^2)] Kx`` with ``beta = beta0 L^-alpha``."""
    b2 = (beta0 * depth ** -alpha) ** 2
    return (1 + b2) ** depth * (2 + beta0**2 / (1 + b2)) * np.asarray(kx, float)


class _Transfers:
    """Transfer matrices of every single-site variable onto the sources, filled by time rows.

    Source columns: ``[w0 (1) | u^0 (n_all) | u^1..u^L (n each) | r^1..r^L (n each)]``,
    time-major within each block. ``H[k]`` is ``h^{k+1}``, ``Z[k]`` is ``z^{k+1}``
    (``k = 0..L``); ``Phi[k]``, ``G[k]`` their kernels over the whole index.
    """

    def __init__(self, kx, depth, T1):
        n_all = kx.shape[0]
        n = T1 * n_all
        self.n_all, self.n, self.L, self.T1 = n_all, n, depth, T1
        self.cols = 1 + n_all + 2 * depth * n
        self.H = np.zeros((depth + 1, n, self.cols))
        self.Z = np.zeros((depth + 1, n, self.cols))
        self.Phi = np.zeros((depth + 1, n, n))
        self.G = np.zeros((depth + 1, n, n))
        self.kx = kx
        self.kx_t = np.tile(kx, (T1, T1))
        self.ones = np.ones((n, n))

    def u(self, l):  # columns of u^l, l = 1..L
        s = 1 + self.n_all + (l - 1) * self.n
        return slice(s, s + self.n)

    def r(self, l):  # columns of r^l, l = 1..L
        s = 1 + self.n_all + (self.L + l - 1) * self.n
        return slice(s, s + self.n)

    def quad(self, A, B, t):
        """``A Sigma B^T`` for row blocks ``A`` (a x cols), ``B`` (b x cols) whose sources all lie at
        times <= t, with the block-diagonal source covariance Sigma."""
        n_all, L = self.n_all, self.L
        m = (t + 1) * n_all  # time prefix of each layered block
        out = np.outer(A[:, 0], B[:, 0])
        u0 = slice(1, 1 + n_all)
        out += A[:, u0] @ self.kx @ B[:, u0].T
        lay_a = A[:, 1 + n_all:].reshape(A.shape[0], 2 * L, self.n)[:, :, :m].transpose(1, 0, 2)
        lay_b = B[:, 1 + n_all:].reshape(B.shape[0], 2 * L, self.n)[:, :, :m].transpose(1, 2, 0)
        out += np.einsum("kab->ab", (lay_a[:L] @ self.Phi[:L, :m, :m]) @ lay_b[:L])  # u^l ~ Phi^l
        out += np.einsum("kab->ab", (lay_a[L:] @ self.G[1:, :m, :m]) @ lay_b[L:])  # r^l ~ G^{l+1}
        return out


def _fill_row(st, t, gamma0, beta, c, e):
    """Block row ``t`` of every transfer and kernel (``e = Delta / P`` on the past rows)."""
    n_all, L = st.n_all, st.L
    r = slice(t * n_all, (t + 1) * n_all)
    pa = slice(0, t * n_all)
    up = slice(0, (t + 1) * n_all)
    ep = e[pa][None, :]
    # forward sweep: h^1 .. h^{L+1} (need z at s < t only)
    row = gamma0 * (st.kx_t[r, pa] * ep) @ st.Z[0][pa]
    row[:, 1:1 + n_all] += np.eye(n_all)
    st.H[0][r] = row
    _kernel_row(st, st.H[0], st.Phi[0], r, up, t)
    for k in range(L):  # h^{k+2} = h^{k+1} + beta (u + R^h z^{k+2}) + c S[Phi^{k+1}] z^{k+2}
        coef = beta * st.H[k][r, st.r(k + 1)][:, pa] + c * st.Phi[k][r, pa] * ep
        row = st.H[k][r] + coef @ st.Z[k + 1][pa]
        cols = np.arange(st.u(k + 1).start + t * n_all, st.u(k + 1).start + (t + 1) * n_all)
        row[np.arange(n_all), cols] += beta
        st.H[k + 1][r] = row
        _kernel_row(st, st.H[k + 1], st.Phi[k + 1], r, up, t)
    # backward sweep: z^{L+1} .. z^1 (need h at s < t only)
    row = gamma0 * (st.ones[r, pa] * ep) @ st.H[L][pa]
    row[:, 0] += 1.0
    st.Z[L][r] = row
    _kernel_row(st, st.Z[L], st.G[L], r, up, t)
    for k in range(L - 1, -1, -1):  # z^{k+1} = z^{k+2} + beta (r + R^z h^{k+1}) + c S[G^{k+2}] h^{k+1}
        coef = beta * st.Z[k + 1][r, st.u(k + 1)][:, pa] + c * st.G[k + 1][r, pa] * ep
        row = st.Z[k + 1][r] + coef @ st.H[k][pa]
        cols = np.arange(st.r(k + 1).start + t * n_all, st.r(k + 1).start + (t + 1) * n_all)
        row[np.arange(n_all), cols] += beta
        st.Z[k][r] = row
        _kernel_row(st, st.Z[k], st.G[k], r, up, t)


def _kernel_row(st, X, K, r, up, t):
    """Row block ``t`` (and its transpose) of the kernel ``K = <x x>`` from the transfer ``X``."""
    k = st.quad(X[r], X[up], t)
    K[r, up] = k
    K[up, r] = k.T
    K[r, r] = 0.5 * (k[:, r] + k[:, r].T)


def deep_linear_resnet(
    kx: np.ndarray,
    y: np.ndarray,
    gamma0: float,
    time: float,
    dt: float,
    depth: int,
    alpha: float = 0.5,
    beta0: float = 1.0,
    n_test: int = 0,
    y_test: Optional[np.ndarray] = None,
    scheme: str = "gd",
    progress: Optional[Callable[[int], None]] = None,
) -> DMFTResult:
    """Infinite-width training of a deep linear residual network (equations in the module doc).

    Parameters
    ----------
    kx, y, gamma0, time, dt, n_test, y_test, progress
        As in `deep_linear`.
    depth : int
        Residual blocks L >= 1 (L hidden weight matrices, L + 1 representations).
    alpha : float
        Branch exponent in [0.5, 1]: branches scaled by ``beta0 L^-alpha``.
    beta0 : float
        Branch multiplier ``beta0 >= 0``; 0 is the one-hidden-layer linear network.
    scheme : {'gd', 'euler'}
        'gd': the output read off the fields (exact infinite-width gradient descent with
        ``eta = dt``); 'euler': ``Delta(t+dt) = Delta - dt K(t) Delta / P``.

    Returns
    -------
    DMFTResult

    Raises
    ------
    NumericalError
        When the kernels overflow (``partial`` holds the curve before it).
    """
    kx, y, steps = check_problem(kx, y, gamma0, time, dt, n_test)
    check_scheme(scheme)
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth}")
    depth = int(depth)
    if not ALPHA_RANGE[0] <= alpha <= ALPHA_RANGE[1]:
        raise ValueError(f"alpha must be in [0.5, 1], got {alpha}")
    if beta0 < 0:
        raise ValueError(f"beta0 must be >= 0, got {beta0}")
    n_all = kx.shape[0]
    P = y.shape[0]
    T1 = steps + 1
    beta = beta0 * depth ** -alpha
    c = gamma0 * beta0**2 / depth
    exact_gd = scheme == "gd" and gamma0 > 0
    st = _Transfers(kx, depth, T1)
    kernels = np.zeros((T1, n_all, n_all))
    residual = np.zeros((T1, P))
    f_test = np.zeros((T1, n_all - P))
    residual[0] = y
    e = np.zeros(T1 * n_all)
    for t in range(T1):
        r = slice(t * n_all, (t + 1) * n_all)
        _fill_row(st, t, gamma0 * dt, beta * 1.0, c * dt, e)
        K = st.G[0][r, r] * kx + st.Phi[depth][r, r]
        for k in range(depth):
            K = K + (beta0**2 / depth) * st.G[k + 1][r, r] * st.Phi[k][r, r]
        kernels[t] = K
        if exact_gd and t > 0:
            f = np.einsum("ij,ij->i", st.quad(st.Z[depth][r], st.H[depth][r], t), np.eye(n_all)) / gamma0
            residual[t] = y - f[:P]
            f_test[t] = f[P:]
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(residual[t]))):
            if t == 0:
                raise NumericalError("residual DMFT overflowed at initialization", partial=None)
            partial = finish(gamma0, dt, y, kernels[:t], residual[:t], f_test[:t], y_test, 0)
            raise NumericalError(
                f"residual DMFT overflowed at t = {t * dt:g} (gamma0={gamma0:g}, depth={depth}): lower dt={dt:g} "
                f"or gamma0={gamma0:g}, or shorten the time", partial=partial)
        e[r][:P] = residual[t] / P
        if t == steps:
            break
        if not exact_gd:
            kd = K[:, :P] @ residual[t]
            residual[t + 1] = residual[t] - dt / P * kd[:P]
            f_test[t + 1] = f_test[t] + dt / P * kd[P:]
        if progress is not None:
            progress(1)
    return finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)
