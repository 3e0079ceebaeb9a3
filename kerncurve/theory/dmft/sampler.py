"""Two-layer DMFT by sampling hidden units: any activation, one exact causal pass.

Every hidden unit of a one-hidden-layer mean-field network is an independent deterministic
path driven by the residual ``Delta(t)``; its initial Gaussians ``(h(0), w(0))`` are
scrambled-Sobol points through the inverse normal CDF. Bordelon & Pehlevan,
*Self-Consistent Dynamical Field Theory of Kernel Evolution in Wide Neural Networks*,
NeurIPS 2022 (arXiv:2205.09653); conventions in docs/theory/dmft.md.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from kerncurve.errors import NumericalError

from .common import DMFTResult, check_problem, check_scheme, finish

__all__ = ["ACTIVATIONS", "sobol_gaussians", "two_layer", "initial_ntk", "two_layer_memory"]


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


def sobol_gaussians(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """``n`` standard normal vectors in ``dim`` dimensions from scrambled Sobol points.

    Scrambled (Owen) Sobol points through the inverse normal CDF: about 10x lower kernel
    error than plain Monte Carlo at equal cost. ``n`` should be a power of 2.
    """
    sobol = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed))
    u = sobol.random(n)
    u = np.clip(u, 1e-15, 1.0 - 1e-15)
    return ndtri(u)


def _psd_sqrt(kx: np.ndarray) -> np.ndarray:
    """A factor ``R`` with ``R R^T = kx`` for a PSD (possibly singular) matrix."""
    evals, evecs = np.linalg.eigh(kx)
    return evecs * np.sqrt(np.clip(evals, 0.0, None))


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

    Each hidden unit follows::

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
        above (the continuous-time DMFT to O(dt)). 'gd': the output is read off
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
    kx, y, steps = check_problem(kx, y, gamma0, time, dt, n_test)
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
    check_scheme(scheme)
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
                partial = finish(gamma0, dt, y, kernels[:n], residual[:n], f_test[:n], y_test, 0)
            raise NumericalError(
                f"two-layer DMFT overflowed at t = {n * dt:g} (gamma0={gamma0:g}): the dynamics diverge "
                f"at this step size; lower dt={dt:g}", partial=partial)
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
    return finish(gamma0, dt, y, kernels, residual, f_test, y_test, 0)


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


def two_layer_memory(n_points: int, steps: int, samples: int) -> int:
    """Bytes held by `two_layer`: about six (samples x points) work arrays plus the kernel
    at every step."""
    return int(8 * (6 * samples * (n_points + 1) + 2 * (steps + 1) * n_points * n_points))
