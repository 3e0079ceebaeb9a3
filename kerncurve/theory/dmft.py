"""Feature learning at infinite width: dynamical mean field theory (DMFT).

Bordelon & Pehlevan, *Self-Consistent Dynamical Field Theory of Kernel Evolution in Wide
Neural Networks*, NeurIPS 2022 (arXiv:2205.09653); normalizations of THEORY.md §8.

Mean-field (muP) network with richness gamma0: ``h1 = W0 x / sqrt(D)``,
``h^{l+1} = W^l phi(h^l) / sqrt(N)``, ``f = w . phi(h^L) / (gamma0 N)``, gradient descent
with learning rate ``eta gamma0^2 N``, time ``t = eta * step``, initial output subtracted.
At infinite width the function obeys ``d f / dt = K(t) Delta(t) / P`` with the NTK
``K(t) = sum_l G^{l+1}(t,t) * Phi^l(t,t)`` (``Phi^0 = Kx = X X^T / D``, ``G^{L+1} = 1``) and
``Delta = y - f``; the loss is ``L = |Delta|^2 / (2P)``.

Two solvers:

* `two_layer` — one hidden layer, any activation: every hidden unit is an independent
  deterministic path driven by ``Delta(t)``; the initial Gaussians ``(h(0), w(0))`` are
  scrambled-Sobol points through the inverse normal CDF, and one causal forward pass is
  exact (no iteration).
* `deep_linear` — identity activation, any depth: the single-site equations are linear, so
  the kernels obey closed TP x TP matrix equations, solved exactly by one causal pass over
  time (default), or by damped fixed-point iteration with warm starts over a growing time
  horizon (``method='iterate'``; raises `NumericalError` when it does not converge).

Both read the output either off the units/fields (``scheme='gd'``: the exact infinite-width
limit of gradient descent with ``eta = dt``) or by the Euler step of ``d f / dt`` above.

Test points are appended to the index with ``Delta = 0``: they feel the kernel but do not
drive training; their predictions follow ``d f_test / dt = K_test,train Delta / P``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import ndtri
from scipy.stats import qmc

from kerncurve.errors import NumericalError

__all__ = [
    "ACTIVATIONS",
    "DMFTResult",
    "input_kernel",
    "sobol_gaussians",
    "two_layer",
    "deep_linear",
    "initial_ntk",
    "kernel_alignment",
    "static_kernel_loss",
    "deep_linear_memory",
    "two_layer_memory",
]


def _tanh_prime(h):
    return 1.0 - np.tanh(h) ** 2


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, _tanh_prime),
    "relu": (lambda h: np.maximum(h, 0.0), lambda h: (h > 0).astype(h.dtype)),
    "linear": (lambda h: h, np.ones_like),
}


def _phi_dphi(activation, h, out=None):
    """``(phi(h), phi'(h))`` sharing work (one tanh for both); ``out`` = two buffers."""
    if activation == "tanh":
        if out is None:
            out = (np.empty_like(h), np.empty_like(h))
        t, d = out
        np.tanh(h, out=t)
        np.multiply(t, t, out=d)
        np.subtract(1.0, d, out=d)
        return t, d
    phi, dphi = ACTIVATIONS[activation]
    return phi(h), dphi(h)


@dataclass(frozen=True)
class DMFTResult:
    """Infinite-width training curve at one richness ``gamma0``.

    Attributes
    ----------
    gamma0 : float
    time : ndarray, shape (T+1,)
        ``t_n = n dt``.
    loss : ndarray, shape (T+1,)
        Training loss ``|Delta(t)|^2 / (2P)``.
    alignment : ndarray, shape (T+1,)
        Kernel-target alignment of the train block, ``y^T K y / (||K||_F |y|^2)``.
    residual : ndarray, shape (T+1, P)
        ``Delta(t) = y - f(t)`` on the training points.
    kernel : ndarray, shape (T+1, P+Q, P+Q)
        NTK ``K(t)`` on train then test points.
    test_prediction : ndarray, shape (T+1, Q)
        Centered network output on the Q test points (empty when Q = 0).
    test_loss : ndarray or None, shape (T+1,)
        ``|y_test - f_test|^2 / (2Q)`` when test targets were given.
    iterations : int
        Fixed-point iterations spent (0 for the one-pass two-layer solver).
    """

    gamma0: float
    time: np.ndarray
    loss: np.ndarray
    alignment: np.ndarray
    residual: np.ndarray
    kernel: np.ndarray
    test_prediction: np.ndarray
    test_loss: Optional[np.ndarray]
    iterations: int = 0


def input_kernel(x: np.ndarray) -> np.ndarray:
    """Input Gram ``Kx = X X^T / D`` (rows of ``x`` are samples)."""
    x = np.asarray(x, dtype=float)
    return x @ x.T / x.shape[1]


def kernel_alignment(kernel: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kernel-target alignment ``A(K) = y^T K y / (||K||_F |y|^2)``, vectorized over a
    leading axis of kernels (THEORY.md §7.2)."""
    kernel = np.asarray(kernel, dtype=float)
    y = np.asarray(y, dtype=float)
    num = np.einsum("...i,i->...", np.einsum("...ij,j->...i", kernel, y), y)
    den = np.linalg.norm(kernel, axis=(-2, -1)) * (y @ y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def sobol_gaussians(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """``n`` standard normal vectors in ``dim`` dimensions from scrambled Sobol points.

    Scrambled (Owen) Sobol points through the inverse normal CDF: about 10x lower kernel
    error than plain Monte Carlo at equal cost (THEORY.md §8). ``n`` should be a power of 2.
    """
    sobol = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed))
    u = sobol.random(n)
    u = np.clip(u, 1e-15, 1.0 - 1e-15)
    return ndtri(u)


def _psd_sqrt(kx: np.ndarray) -> np.ndarray:
    """A factor ``R`` with ``R R^T = kx`` for a PSD (possibly singular) matrix."""
    evals, evecs = np.linalg.eigh(kx)
    return evecs * np.sqrt(np.clip(evals, 0.0, None))


def _check(kx, y, gamma0, time, dt, n_test):
    kx = np.asarray(kx, dtype=float)
    y = np.asarray(y, dtype=float)
    if kx.ndim != 2 or kx.shape[0] != kx.shape[1]:
        raise ValueError(f"kx must be square, got shape {kx.shape}")
    if y.ndim != 1 or y.shape[0] + n_test != kx.shape[0]:
        raise ValueError(f"y has {y.shape} entries, kx {kx.shape[0]} points, n_test {n_test}")
    if gamma0 < 0:
        raise ValueError(f"gamma0 must be >= 0, got {gamma0}")
    if time <= 0 or dt <= 0:
        raise ValueError(f"time and dt must be > 0, got time={time}, dt={dt}")
    steps = int(round(time / dt))
    if steps < 1:
        raise ValueError(f"time {time} is shorter than one step dt={dt}")
    return kx, y, steps


def _finish(gamma0, dt, y, kernels, residual, f_test, y_test, iterations):
    P = y.shape[0]
    steps = residual.shape[0] - 1
    loss = 0.5 * np.sum(residual**2, axis=1) / P
    align = kernel_alignment(kernels[:, :P, :P], y)
    test_loss = None
    if y_test is not None and f_test.shape[1]:
        test_loss = 0.5 * np.mean((np.asarray(y_test, float)[None, :] - f_test) ** 2, axis=1)
    return DMFTResult(
        gamma0=float(gamma0),
        time=dt * np.arange(steps + 1),
        loss=loss,
        alignment=align,
        residual=residual,
        kernel=kernels,
        test_prediction=f_test,
        test_loss=test_loss,
        iterations=iterations,
    )


def _euler_function(kernels, y, dt, P):
    """Forward-Euler function dynamics ``Delta(t+dt) = Delta(t) - dt K(t) Delta(t) / P`` on
    the train block, with test predictions ``f_test += dt K_test,train Delta / P``."""
    steps = kernels.shape[0] - 1
    n_test = kernels.shape[1] - P
    residual = np.empty((steps + 1, P))
    f_test = np.zeros((steps + 1, n_test))
    residual[0] = y
    for n in range(steps):
        kd = kernels[n, :, :P] @ residual[n]
        residual[n + 1] = residual[n] - dt / P * kd[:P]
        f_test[n + 1] = f_test[n] + dt / P * kd[P:]
    return residual, f_test


def two_layer(
    kx: np.ndarray,
    y: np.ndarray,
    gamma0: float,
    time: float,
    dt: float,
    activation: str = "tanh",
    samples: int = 2**14,
    seed: int = 0,
    n_test: int = 0,
    y_test: Optional[np.ndarray] = None,
    scheme: str = "gd",
    progress: Optional[Callable[[int], None]] = None,
) -> DMFTResult:
    """Two-layer (one hidden layer) DMFT by sampling hidden units; exact causal solve.

    Each hidden unit follows (THEORY.md §8, two layers)::

        h_mu(t+dt) = h_mu(t) + dt (gamma0/P) sum_nu Kx_mu,nu Delta_nu(t) g_nu(t),  g = w phi'(h)
        w(t+dt)    = w(t)    + dt (gamma0/P) sum_nu Delta_nu(t) phi(h_nu(t))
        Delta(t+dt) = Delta(t) - (dt/P) K(t) Delta(t),  K = <phi phi^T> + <g g^T> * Kx

    from ``h(0) ~ N(0, Kx)``, ``w(0) ~ N(0, 1)``, with ``<.>`` the average over the sampled
    units. Bordelon & Pehlevan (2022), arXiv:2205.09653.

    Parameters
    ----------
    kx : ndarray, shape (P+Q, P+Q)
        Input Gram ``X X^T / D`` of the P training points followed by Q test points.
    y : ndarray, shape (P,)
        Training targets.
    gamma0 : float
        Richness (``0``: lazy/NTK limit, the kernel stays at its initial value).
    time, dt : float
        Training time and step (``time / dt`` steps, rounded).
    activation : {'tanh', 'relu', 'linear'}
    samples : int
        Number of sampled units (a power of 2 keeps the Sobol net balanced).
    seed : int
        Seed of the Sobol scrambling.
    n_test : int
        Number Q of test points at the end of ``kx``.
    y_test : ndarray, shape (Q,), optional
        Test targets, for ``test_loss``.
    scheme : {'gd', 'euler'}
        How the function moves. 'euler': ``Delta(t+dt) = Delta(t) - dt K(t) Delta(t) / P`` as
        above (THEORY.md §8; the continuous-time DMFT to O(dt)). 'gd': the output is read off
        the sampled units, ``f(t) - f(0) = <w(t) phi(h(t)) - w(0) phi(h(0))> / gamma0``, which
        is the exact infinite-width limit of gradient descent with ``eta = dt`` (what
        `kerncurve.simulate.dmft.train_networks` runs); the two differ by O(gamma0 dt).
        For ``gamma0 = 0`` both are the same.
    progress : callable, optional
        Called with 1 after each step (an ``advance`` callback).

    Returns
    -------
    DMFTResult

    Raises
    ------
    NumericalError
        When the dynamics overflow (too large a step); ``partial`` holds the curve so far.
    """
    kx, y, steps = _check(kx, y, gamma0, time, dt, n_test)
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
    if scheme not in ("gd", "euler"):
        raise ValueError(f"unknown scheme {scheme!r}; use 'gd' or 'euler'")
    P = y.shape[0]
    n_all = kx.shape[0]
    z = sobol_gaussians(samples, n_all + 1, seed)
    h = z[:, :n_all] @ _psd_sqrt(kx).T  # (S, P+Q): rows ~ N(0, kx)
    w = z[:, n_all].copy()
    kernels = np.zeros((steps + 1, n_all, n_all))
    residual = np.zeros((steps + 1, P))
    f_test = np.zeros((steps + 1, n_all - P))
    residual[0] = y
    delta = np.zeros(n_all)
    exact_gd = scheme == "gd" and gamma0 > 0
    out_prev = None
    buffers = (np.empty_like(h), np.empty_like(h))
    for n in range(steps + 1):
        if gamma0 > 0 or n == 0:
            ph, g = _phi_dphi(activation, h, buffers)
            g *= w[:, None]
            kernels[n] = (ph.T @ ph + (g.T @ g) * kx) / samples
        else:  # lazy limit: the units do not move
            kernels[n] = kernels[0]
        if exact_gd:
            # the network output is the unit average <w phi(h)> / gamma0 at infinite width
            out = w @ ph / samples
            if out_prev is not None:
                df = (out - out_prev) / gamma0
                residual[n] = residual[n - 1] - df[:P]
                f_test[n] = f_test[n - 1] + df[P:]
            out_prev = out
        if not (np.all(np.isfinite(kernels[n])) and np.all(np.isfinite(residual[n]))):
            partial = None
            if n > 0:
                partial = _finish(gamma0, dt, y, kernels[:n], residual[:n], f_test[:n], y_test, 0)
            raise NumericalError(
                f"two-layer DMFT overflowed at t = {n * dt:g} (gamma0 = {gamma0:g}): the dynamics diverge "
                "at this step size; lower --dt", partial=partial)
        if n == steps:
            break
        delta[:P] = residual[n]
        if not exact_gd:
            kd = kernels[n, :, :P] @ residual[n]
            residual[n + 1] = residual[n] - dt / P * kd[:P]
            f_test[n + 1] = f_test[n] + dt / P * kd[P:]
        if gamma0 > 0:
            step = dt * gamma0 / P
            w += step * (ph @ delta)
            h += g @ (step * delta[:, None] * kx)  # = step (g * delta) @ kx, without an S x P temporary
        if progress is not None:
            progress(1)
    return _finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)


def initial_ntk(kx: np.ndarray, activation: str = "tanh", order: int = 80) -> np.ndarray:
    """Infinite-width NTK at initialization, ``K0 = E[phi phi^T] + E[phi' phi'^T] * Kx``, by
    two-dimensional Gauss-Hermite quadrature on every pair (the lazy, gamma0 = 0 kernel).

    ``w(0)`` is independent of ``h(0)`` with ``E w^2 = 1``, hence ``G = E[phi' phi'^T]``.
    Exact for 'linear'; 'relu' uses the arc-cosine closed form (Cho & Saul 2009).
    """
    kx = np.asarray(kx, dtype=float)
    if activation == "relu":
        # arc-cosine kernels (Cho & Saul 2009): exact, no quadrature across the kink
        n = np.sqrt(np.clip(np.diag(kx), 0.0, None))
        nn = np.outer(n, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(nn > 0, kx / nn, 0.0)
        th = np.arccos(np.clip(cos, -1.0, 1.0))
        Phi = nn * (np.sin(th) + (np.pi - th) * np.cos(th)) / (2 * np.pi)
        G = (np.pi - th) / (2 * np.pi)
        return Phi + G * kx
    phi, dphi = ACTIVATIONS[activation]
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    weights = weights / weights.sum()
    a = np.diag(kx)[:, None] * np.ones_like(kx)
    b = a.T
    c = kx
    sa = np.sqrt(np.clip(a, 1e-300, None))
    rho = np.where(a > 0, c / sa, 0.0)
    rest = np.sqrt(np.clip(b - rho**2, 0.0, None))
    z1 = nodes[:, None]
    z2 = nodes[None, :]
    ww = weights[:, None] * weights[None, :]
    h1 = sa[..., None, None] * z1
    h2 = rho[..., None, None] * z1 + rest[..., None, None] * z2
    Phi = np.sum(ww * phi(h1) * phi(h2), axis=(-2, -1))
    G = np.sum(ww * dphi(h1) * dphi(h2), axis=(-2, -1))
    return Phi + G * kx


def static_kernel_loss(kernel: np.ndarray, y: np.ndarray, times: np.ndarray,
                       dt: Optional[float] = None) -> np.ndarray:
    """Training loss of kernel gradient flow with a fixed kernel on the P training points.

    ``Delta(t) = exp(-K t / P) y`` (``dt=None``), or the discrete gradient-descent flow
    ``Delta(t) = (I - dt K / P)^(t/dt) y``; ``L = |Delta|^2 / (2P)``.
    """
    kernel = np.asarray(kernel, dtype=float)
    y = np.asarray(y, dtype=float)
    P = y.shape[0]
    lam, vec = np.linalg.eigh(kernel)
    c = vec.T @ y
    t = np.asarray(times, dtype=float)[:, None]
    if dt is None:
        decay = np.exp(-lam[None, :] * t / P)
    else:
        decay = (1.0 - dt * lam[None, :] / P) ** np.round(t / dt)
    return 0.5 * np.sum((decay * c) ** 2, axis=1) / P


# --------------------------------------------------------------------------- deep linear


def two_layer_memory(n_points: int, steps: int, samples: int) -> int:
    """Bytes held by `two_layer`: about six (samples x points) work arrays plus the kernel
    at every step."""
    return int(8 * (6 * samples * (n_points + 1) + 2 * (steps + 1) * n_points * n_points))


def deep_linear_memory(n_points: int, steps: int, depth: int, method: str = "forward") -> int:
    """Bytes held by `deep_linear`: about ``8 depth + 3`` (forward) or ``4 depth + 10``
    (iterate) float64 matrices of side ``(steps + 1) * n_points``."""
    n = (steps + 1) * n_points
    count = 8 * depth + 3 if method == "forward" else 4 * depth + 10
    return int(count * n * n * 8)


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
    L = len(Phi_list)
    K = np.zeros((T1, n_all, n_all))
    layers_phi = [phi0] + list(Phi_list)
    layers_g = list(G_list) + [ones]
    for l in range(L + 1):
        p = layers_phi[l].reshape(T1, n_all, T1, n_all)[idx, :, idx, :]
        g = layers_g[l].reshape(T1, n_all, T1, n_all)[idx, :, idx, :]
        K += p * g
    return K


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
    Phi_prev = [phi0] + state.Phi  # Phi^{l-1} for l = 1..L at index l-1
    G_next = state.G[1:] + [ones]  # G^{l+1} for l = 1..L at index l-1
    new_Phi, new_G, new_A, new_B = [], [], [], []
    for l in range(1, L + 1):
        C = scale * Phi_prev[l - 1] * dvec[None, :]
        if l >= 2:
            C = C + state.A[l - 2]
        C *= mask
        D = scale * G_next[l - 1] * dvec[None, :]
        if l <= L - 1:
            D = D + state.B[l - 1]
        D *= mask
        # M = (I - C D)^-1, M' = (I - D C)^-1: unit lower triangular (C, D strictly causal)
        ImCD = eye - C @ D
        ImDC = eye - D @ C
        MPhi = solve_triangular(ImCD, Phi_prev[l - 1], lower=True, unit_diagonal=True)
        MC = solve_triangular(ImCD, C, lower=True, unit_diagonal=True)
        Phi_l = solve_triangular(ImCD, MPhi.T, lower=True, unit_diagonal=True).T
        Phi_l += MC @ G_next[l - 1] @ MC.T
        MpG = solve_triangular(ImDC, G_next[l - 1], lower=True, unit_diagonal=True)
        MpD = solve_triangular(ImDC, D, lower=True, unit_diagonal=True)
        G_l = solve_triangular(ImDC, MpG.T, lower=True, unit_diagonal=True).T
        G_l += MpD @ Phi_prev[l - 1] @ MpD.T
        new_Phi.append(0.5 * (Phi_l + Phi_l.T))
        new_G.append(0.5 * (G_l + G_l.T))
        if l <= L - 1:
            new_A.append(MC)
        if l >= 2:
            new_B.append(MpD)
    K = _ntk_blocks(new_Phi, new_G, phi0, ones, T1, n_all)
    residual, f_test = _euler_function(K, y, dt, P)
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
    residual, _ = _euler_function(np.broadcast_to(K0, (T1, n_all, n_all)), y, dt, P)
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
    residual, _ = _euler_function(K, y, dt, y.shape[0])
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


def _deep_forward(kx, y, gamma0, dt, steps, depth, scheme="gd", progress=None):
    """Exact causal solve of the deep-linear DMFT, one time step at a time.

    The equations of `deep_linear` are causal: the new block row ``t`` of every matrix
    depends on earlier rows and, within the row, on the layer above (``G``, ``D``, ``B``:
    a backward sweep ``l = L..1``) or below (``Phi``, ``C``, ``A``: a forward sweep
    ``l = 1..L``). ``Delta(t)`` is known from ``K(t - dt)``. So one pass over time, each
    step a few ``(P x n) @ (n x n)`` products per layer, gives the fixed point exactly.
    With ``scheme='gd'`` the output is read off the fields, ``f_mu(t) = <z^L_mu(t) h^L_mu(t)>
    / gamma0`` (the diagonal of ``M Phi^{L-1} (M'D)^T + (MC) G^{L+1} M'^T``), which is exact
    for gradient descent with ``eta = dt``; ``'euler'`` steps ``Delta`` with ``K(t)``.
    Returns ``(kernels (T+1, n_all, n_all), residual, f_test, steps done + 1)``.
    """
    n_all = kx.shape[0]
    P = y.shape[0]
    L = depth
    T1 = steps + 1
    n = T1 * n_all
    scale = gamma0 * dt / P
    exact_gd = scheme == "gd" and gamma0 > 0
    phi0 = _kron_time(kx, T1)
    ones = np.ones((n, n))
    Z = lambda: np.zeros((n, n))  # noqa: E731
    # index 0..L-1 for layers 1..L
    C, D, M, Mp, At, Bt, Phi, G = ([Z() for _ in range(L)] for _ in range(8))
    kernels = np.zeros((T1, n_all, n_all))
    residual = np.zeros((T1, P))
    f_test = np.zeros((T1, n_all - P))
    residual[0] = y
    dfull = np.zeros(n)
    for t in range(T1):
        r = slice(t * n_all, (t + 1) * n_all)
        pa = slice(0, t * n_all)  # past columns s < t
        up = slice(0, (t + 1) * n_all)  # columns s <= t
        dpast = dfull[pa]
        eye_r = np.eye(n_all)
        # backward sweep: G^l, D_l, M'_l, B~_l from the layer above
        for l in range(L - 1, -1, -1):
            Gn = ones if l == L - 1 else G[l + 1]
            Phi_prev = phi0 if l == 0 else Phi[l - 1]
            d_row = scale * Gn[r, pa] * dpast[None, :]
            if l < L - 1:
                d_row = d_row + Bt[l + 1][r, pa]
            D[l][r, pa] = d_row
            mp = d_row @ C[l][pa, pa] @ Mp[l][pa, up]
            mp[:, r] += eye_r
            Mp[l][r, up] = mp
            bt = mp[:, pa] @ D[l][pa, up]
            bt[:, pa] += d_row
            Bt[l][r, up] = bt
            g_row = (mp @ Gn[up, up]) @ Mp[l][up, up].T
            g_row += (bt[:, pa] @ Phi_prev[pa, pa]) @ Bt[l][up, pa].T
            G[l][r, up] = g_row
            G[l][up, r] = g_row.T
            G[l][r, r] = 0.5 * (g_row[:, r] + g_row[:, r].T)
        # forward sweep: Phi^l, C_l, M_l, A~_l from the layer below
        for l in range(L):
            Gn = ones if l == L - 1 else G[l + 1]
            Phi_prev = phi0 if l == 0 else Phi[l - 1]
            c_row = scale * Phi_prev[r, pa] * dpast[None, :]
            if l > 0:
                c_row = c_row + At[l - 1][r, pa]
            C[l][r, pa] = c_row
            m = c_row @ D[l][pa, pa] @ M[l][pa, up]
            m[:, r] += eye_r
            M[l][r, up] = m
            at = m[:, pa] @ C[l][pa, up]
            at[:, pa] += c_row
            At[l][r, up] = at
            p_row = (m @ Phi_prev[up, up]) @ M[l][up, up].T
            p_row += (at[:, pa] @ Gn[pa, pa]) @ At[l][up, pa].T
            Phi[l][r, up] = p_row
            Phi[l][up, r] = p_row.T
            Phi[l][r, r] = 0.5 * (p_row[:, r] + p_row[:, r].T)
        K = kx * (G[0][r, r])
        for l in range(L):
            Gn = np.ones((n_all, n_all)) if l == L - 1 else G[l + 1][r, r]
            K = K + Gn * Phi[l][r, r]
        kernels[t] = K
        if exact_gd and t > 0:
            last = L - 1
            Phi_prev = phi0 if L == 1 else Phi[L - 2]
            cross = (M[last][r, up] @ Phi_prev[up, up]) @ Bt[last][r, up].T
            cross += At[last][r, up].sum(axis=1)[:, None] * Mp[last][r, up].sum(axis=1)[None, :]
            f = np.diag(cross) / gamma0
            residual[t] = y - f[:P]
            f_test[t] = f[P:]
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(residual[t]))):
            return kernels[:t], residual[:t], f_test[:t], t
        dfull[r][:P] = residual[t]
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

    With ``C_l``, ``D_l`` the discretized bracketed kernels of the single-site equations
    (THEORY.md §8; blocks ``(t, s)`` with ``s < t``)::

        C_l = gamma0 dt [A^{l-1} + Phi^{l-1} diag(Delta) / P]
        D_l = gamma0 dt [B^l + G^{l+1} diag(Delta) / P]
        M = (I - C_l D_l)^-1,  M' = (I - D_l C_l)^-1
        Phi^l = M Phi^{l-1} M^T + (M C_l) G^{l+1} (M C_l)^T
        G^l   = M' G^{l+1} M'^T + (M' D_l) Phi^{l-1} (M' D_l)^T

    where ``gamma0 dt A^l = M_l C_l`` (response of ``h^l`` to the backward source) and
    ``gamma0 dt B^l = M'_{l+1} D_{l+1}`` (response of ``z^{l+1}`` to the forward source),
    ``Phi^0 = Kx``, ``G^{L+1} = 1``, ``A^0 = B^L = 0``.

    ``method='forward'`` (default) solves them exactly in one causal pass over time (see
    `_deep_forward`: each new block row needs only earlier rows, plus the layer above for
    ``G, D, B`` and the layer below for ``Phi, C, A``). ``method='iterate'`` iterates the
    full TP x TP equations to self-consistency with damping
    ``kernel <- (1 - damping) kernel + damping new``; the horizon grows by ``window`` steps
    at a time and every kernel, response and residual of the previous horizon warm-starts
    the next one (causality makes the old blocks exact). Both reach the same fixed point;
    the forward pass costs about one iteration of the other.

    Parameters
    ----------
    kx, y, gamma0, time, dt, n_test, y_test, progress
        As in `two_layer` (``progress`` receives the number of steps each converged horizon adds).
    depth : int
        Number of hidden layers L >= 1.
    method : {'forward', 'iterate'}
        Exact causal pass, or damped fixed-point iteration (the next four parameters).
    scheme : {'gd', 'euler'}, optional
        Default 'gd' for the forward method, 'euler' for iterate. As in `two_layer`: 'gd' reads ``f(t) = <z^L(t) h^L(t)> / gamma0`` off the fields (the
        exact infinite-width limit of gradient descent with ``eta = dt``; forward method
        only); 'euler' steps ``Delta(t+dt) = Delta(t) - dt K(t) Delta(t) / P``.
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
    kx, y, steps = _check(kx, y, gamma0, time, dt, n_test)
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if not 0 < damping <= 1:
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    if method not in ("forward", "iterate"):
        raise ValueError(f"unknown method {method!r}; use 'forward' or 'iterate'")
    if scheme is None:
        scheme = "euler" if method == "iterate" else "gd"
    if scheme not in ("gd", "euler"):
        raise ValueError(f"unknown scheme {scheme!r}; use 'gd' or 'euler'")
    if method == "iterate" and scheme != "euler":
        raise ValueError("method='iterate' implements scheme='euler' only")
    if method == "forward":
        kernels, residual, f_test, done = _deep_forward(kx, y, gamma0, dt, steps, depth, scheme, progress)
        if done < steps + 1:
            partial = None
            if done > 0:  # the arrays hold the rows before the failure
                partial = _finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)
            raise NumericalError(
                f"deep-linear DMFT overflowed at t = {done * dt:g} (gamma0 = {gamma0:g}, depth {depth}): "
                "the kernels grew without bound; lower --dt or --gamma0, or shorten --time",
                partial=partial,
            )
        return _finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)
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
        for it in range(max_iter):
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
                f"deep-linear DMFT did not converge at t = {h_steps * dt:g} (gamma0 = {gamma0:g},"
                f" depth {depth}, damping {damping:g}): last change {change:.2g} > tol {tol:g};"
                " lower --damping or --dt, or shorten --time",
                partial=partial,
            )
        partial = _finish(gamma0, dt, y, K, state.residual, f_test, y_test, total_iter)
        if progress is not None:
            progress(h_steps - (old_T1 - 1 if old_T1 else 0))
        old_T1 = T1
    return partial
