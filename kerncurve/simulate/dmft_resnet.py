"""Finite-width deep linear residual networks (depth-muP) trained by gradient descent, to check
`kerncurve.theory.dmft.deep_linear_resnet`.

Parametrization (docs/theory/limits.md; the multipliers and SGD rates of the ``depth-mup``
presets of `kerncurve.nn.scaling`): every weight N(0, 1), ``h^1 = W0 x / sqrt(D)``,
``h^{l+1} = h^l + beta0 L^-alpha W^l h^l / sqrt(N)`` (``l = 1..L``), ``f = w . h^{L+1} / (gamma0 N)``
minus its initial value; gradient descent on ``|y - f|^2 / (2P)`` with learning rates
``eta gamma0^2 N`` (W0, w) and ``eta gamma0^2 N L^(2 alpha - 1)`` (W^l), ``eta = dt``.
``gamma0 = 0`` trains the linearization (gradient descent with the NTK at initialization).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from kerncurve.theory.dmft import kernel_alignment

from .dmft import NetworkResult

__all__ = ["train_resnets"]


def _forward(x_all, W0, Ws, beta):
    """Representations ``h^1 .. h^{L+1}``, each (n, N)."""
    hs = [x_all @ W0.T / np.sqrt(W0.shape[1])]
    N = W0.shape[0]
    for W in Ws:
        hs.append(hs[-1] + beta * hs[-1] @ W.T / np.sqrt(N))
    return hs


def _backward(w, Ws, beta):
    """Backward fields ``z^1 .. z^{L+1}`` (N,): the same for every sample (linear network)."""
    N = w.shape[0]
    zs = [w]
    for W in Ws[::-1]:
        zs.insert(0, zs[0] + beta * zs[0] @ W / np.sqrt(N))
    return zs


def _ntk(kx, hs, zs, beta0):
    """``G^1 Kx + Phi^{L+1} + (beta0^2 / L) sum_l G^{l+1} Phi^l`` (G scalar: z is sample-free)."""
    N = zs[0].shape[0]
    L = len(hs) - 1
    K = (zs[0] @ zs[0] / N) * kx + hs[-1] @ hs[-1].T / N
    for l in range(L):
        K += (beta0**2 / L) * (zs[l + 1] @ zs[l + 1] / N) * (hs[l] @ hs[l].T / N)
    return K


def train_resnets(
    x: np.ndarray,
    y: np.ndarray,
    gamma0: float,
    time: float,
    dt: float,
    width: int,
    depth: int,
    alpha: float = 0.5,
    beta0: float = 1.0,
    seeds: int = 3,
    seed: int = 0,
    x_test: Optional[np.ndarray] = None,
    y_test: Optional[np.ndarray] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> NetworkResult:
    """Train ``seeds`` centered linear residual networks of width N and ``depth`` blocks L.

    Updates per step (``e = Delta / P``; ``z`` does not depend on the sample)::

        w   += dt gamma0 sum_mu e_mu h^{L+1}_mu
        W^l += dt gamma0 beta0 L^(alpha-1) z^{l+1} (sum_mu e_mu h^l_mu)^T / sqrt(N)
        W0  += dt gamma0 z^1 (sum_mu e_mu x_mu)^T / sqrt(D)

    which is ``-eta`` times each tensor's rate times its gradient. Seeds run one after
    another (memory ``L N^2`` floats).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    P, D = x.shape
    x_all = x if x_test is None else np.vstack([x, np.asarray(x_test, dtype=float)])
    n_all = x_all.shape[0]
    N, L = int(width), int(depth)
    steps = int(round(time / dt))
    beta = beta0 * L ** -alpha
    lr_hid = beta0 * L ** (alpha - 1)  # beta * L^(2 alpha - 1)
    kx = x_all @ x_all.T / D
    rng = np.random.default_rng(seed)
    kernels = np.empty((seeds, steps + 1, n_all, n_all))
    fc = np.zeros((seeds, steps + 1, n_all))
    for s in range(seeds):
        W0 = rng.standard_normal((N, D))
        Ws = [rng.standard_normal((N, N)) for _ in range(L)]
        w = rng.standard_normal(N)
        hs, zs = _forward(x_all, W0, Ws, beta), _backward(w, Ws, beta)
        out0 = hs[-1] @ w
        e = np.zeros(n_all)
        if gamma0 == 0:
            K0 = _ntk(kx, hs, zs, beta0)
            kernels[s] = K0
            for n in range(steps):
                e[:P] = (y - fc[s, n, :P]) / P
                fc[s, n + 1] = fc[s, n] + dt * K0 @ e
            continue
        c = dt * gamma0
        for n in range(steps + 1):
            kernels[s, n] = _ntk(kx, hs, zs, beta0)
            if n == steps:
                break
            e[:P] = (y - fc[s, n, :P]) / P
            w = w + c * e @ hs[-1]
            Ws = [W + c * lr_hid / np.sqrt(N) * np.outer(zs[l + 1], e @ hs[l]) for l, W in enumerate(Ws)]
            W0 = W0 + c / np.sqrt(D) * np.outer(zs[0], e @ x_all)
            hs, zs = _forward(x_all, W0, Ws, beta), _backward(w, Ws, beta)
            fc[s, n + 1] = (hs[-1] @ w - out0) / (gamma0 * N)
            if progress is not None:
                progress(1)
    loss = 0.5 * np.mean((y[None, None, :] - fc[:, :, :P]) ** 2, axis=-1)
    test_loss = None
    if y_test is not None:
        test_loss = 0.5 * np.mean((np.asarray(y_test, float) - fc[:, :, P:]) ** 2, axis=-1)
    align = kernel_alignment(kernels[:, :, :P, :P], y)
    return NetworkResult(dt * np.arange(steps + 1), loss, align, test_loss, kernels)
