"""Finite-width mean-field (muP) networks trained by gradient descent, to check the DMFT.

Parametrization of docs/theory/dmft.md: ``h1 = W0 x / sqrt(D)``, ``h^{l+1} = W^l phi(h^l) / sqrt(N)``,
``f = w . phi(h^L) / (gamma0 N)`` with all weights N(0, 1); full-batch gradient descent on
``L = |y - f|^2 / (2P)`` with learning rate ``eta gamma0^2 N`` (time ``t = eta * step``);
the initial output ``f0`` is subtracted (centered network). ``gamma0 = 0`` is the lazy
limit: the network is replaced by its linearization, i.e. gradient descent with the
empirical NTK at initialization. Runs over seeds are vectorized along a leading axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from kerncurve.theory.dmft import ACTIVATIONS, kernel_alignment

__all__ = ["NetworkResult", "train_networks"]


@dataclass(frozen=True)
class NetworkResult:
    """Training curves of ``seeds`` networks of one width.

    Attributes
    ----------
    time : ndarray, shape (T+1,)
    loss : ndarray, shape (seeds, T+1)
    alignment : ndarray, shape (seeds, T+1)
        Kernel-target alignment of the empirical NTK (train block).
    test_loss : ndarray or None, shape (seeds, T+1)
    kernel : ndarray, shape (seeds, T+1, P+Q, P+Q)
        Empirical NTK.
    """

    time: np.ndarray
    loss: np.ndarray
    alignment: np.ndarray
    test_loss: Optional[np.ndarray]
    kernel: np.ndarray

    @property
    def loss_mean(self) -> np.ndarray:
        return self.loss.mean(axis=0)

    @property
    def loss_sem(self) -> np.ndarray:
        s = self.loss.shape[0]
        if s < 2:
            return np.full(self.loss.shape[1], np.nan)
        return self.loss.std(axis=0, ddof=1) / np.sqrt(s)


def _forward(x, weights, phi):
    """Pre-activations ``h^l`` (seeds, P, N) of every layer and the output numerator."""
    W0, Ws, w = weights
    D = x.shape[1]
    hs = [np.einsum("pd,snd->spn", x, W0) / np.sqrt(D)]
    for W in Ws:
        N = W.shape[-1]
        hs.append(phi(hs[-1]) @ np.swapaxes(W, -1, -2) / np.sqrt(N))
    out = np.einsum("spn,sn->sp", phi(hs[-1]), w)
    return hs, out


def _backward(hs, weights, dphi):
    """``g^l = phi'(h^l) * z^l`` with ``z^L = w``, ``z^l = W^l^T g^{l+1} / sqrt(N)``."""
    _, Ws, w = weights
    gs = [dphi(hs[-1]) * w[:, None, :]]
    for l in range(len(Ws) - 1, -1, -1):
        N = Ws[l].shape[-1]
        z = gs[0] @ Ws[l] / np.sqrt(N)
        gs.insert(0, dphi(hs[l]) * z)
    return gs


def _ntk(x, hs, gs, phi):
    """Empirical NTK ``sum_l G^{l+1} * Phi^l`` (seeds, n, n), ``Phi^0 = X X^T / D``."""
    N = hs[0].shape[-1]
    kx = x @ x.T / x.shape[1]
    K = np.einsum("spn,sqn->spq", gs[0], gs[0]) / N * kx
    for l, h in enumerate(hs):
        ph = phi(h)
        Phi = np.einsum("spn,sqn->spq", ph, ph) / N
        if l + 1 < len(hs):
            K += Phi * np.einsum("spn,sqn->spq", gs[l + 1], gs[l + 1]) / N
        else:
            K += Phi
    return K


def train_networks(
    x: np.ndarray,
    y: np.ndarray,
    gamma0: float,
    time: float,
    dt: float,
    width: int,
    depth: int = 1,
    activation: str = "tanh",
    seeds: int = 3,
    seed: int = 0,
    x_test: Optional[np.ndarray] = None,
    y_test: Optional[np.ndarray] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> NetworkResult:
    """Train ``seeds`` centered muP networks of ``width`` N and ``depth`` hidden layers.

    Gradient descent with ``eta = dt`` for ``round(time / dt)`` steps; the weight updates are
    (``e = Delta / P``, ``g^l`` the back-propagated fields)::

        w   += dt gamma0 phi(h^L)^T e
        W^l += dt gamma0 (g^{l+1} * e)^T phi(h^l) / sqrt(N)
        W0  += dt gamma0 (g^1 * e)^T X / sqrt(D)

    which is ``-eta gamma0^2 N grad L``. For ``gamma0 = 0`` the linearized network is
    trained instead: ``Delta <- Delta - dt K0 Delta / P`` with the empirical NTK ``K0``.

    Parameters
    ----------
    x : ndarray, shape (P, D)
    y : ndarray, shape (P,)
    gamma0, time, dt : float
    width : int
    depth : int
    activation : {'tanh', 'relu', 'linear'}
    seeds : int
        Number of independent networks.
    seed : int
        Master seed (``numpy.random.default_rng``).
    x_test, y_test : ndarray, optional
        Test points, evaluated but not trained on.
    progress : callable, optional
        Called with 1 after each step (an ``advance`` callback).

    Returns
    -------
    NetworkResult
    """
    phi, dphi = ACTIVATIONS[activation]
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    P, D = x.shape
    if x_test is not None:
        x_all = np.vstack([x, np.asarray(x_test, dtype=float)])
    else:
        x_all = x
    n_all = x_all.shape[0]
    N = int(width)
    steps = int(round(time / dt))
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((seeds, N, D))
    Ws = [rng.standard_normal((seeds, N, N)) for _ in range(depth - 1)]
    w = rng.standard_normal((seeds, N))
    weights = (W0, Ws, w)

    hs, out0 = _forward(x_all, weights, phi)
    gs = _backward(hs, weights, dphi)
    kernels = np.empty((seeds, steps + 1, n_all, n_all))
    fc = np.zeros((seeds, steps + 1, n_all))  # centered outputs
    e = np.zeros((seeds, n_all))
    if gamma0 == 0:
        K0 = _ntk(x_all, hs, gs, phi)
        kernels[:] = K0[:, None]
        for n in range(steps):
            e[:, :P] = (y - fc[:, n, :P]) / P
            fc[:, n + 1] = fc[:, n] + dt * np.einsum("spq,sq->sp", K0, e)
            if progress is not None:
                progress(1)
    else:
        for n in range(steps + 1):
            kernels[:, n] = _ntk(x_all, hs, gs, phi)
            if n == steps:
                break
            e[:, :P] = (y - fc[:, n, :P]) / P
            c = dt * gamma0
            w = w + c * np.einsum("spn,sp->sn", phi(hs[-1]), e)
            new_Ws = []
            for l, W in enumerate(Ws):
                ge = gs[l + 1] * e[:, :, None]
                new_Ws.append(W + c / np.sqrt(N) * np.swapaxes(ge, -1, -2) @ phi(hs[l]))
            W0 = W0 + c / np.sqrt(D) * np.swapaxes(gs[0] * e[:, :, None], -1, -2) @ x_all
            Ws = new_Ws
            weights = (W0, Ws, w)
            hs, out = _forward(x_all, weights, phi)
            gs = _backward(hs, weights, dphi)
            fc[:, n + 1] = (out - out0) / (gamma0 * N)
            if progress is not None:
                progress(1)
    loss = 0.5 * np.mean((y[None, None, :] - fc[:, :, :P]) ** 2, axis=-1)
    test_loss = None
    if y_test is not None:
        test_loss = 0.5 * np.mean((np.asarray(y_test, float) - fc[:, :, P:]) ** 2, axis=-1)
    align = kernel_alignment(kernels[:, :, :P, :P], y)
    return NetworkResult(dt * np.arange(steps + 1), loss, align, test_loss, kernels)
