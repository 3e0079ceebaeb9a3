"""What both DMFT solvers share: the result, the input kernel, the checks and the function step.

Conventions (docs/theory/dmft.md): samples are rows; ``Kx = X X^T / D``; time ``t = eta *
step``; the residual ``Delta = y - f`` lives on the P training points and the Q test points
are appended to the index with ``Delta = 0``; the loss is ``|Delta|^2 / (2P)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..alignment.toy import kernel_alignment

__all__ = [
    "DMFTResult",
    "input_kernel",
    "kernel_alignment",
    "static_kernel_loss",
    "check_problem",
    "check_scheme",
    "finish",
    "euler_function",
]


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
        Fixed-point iterations spent (0 for the one-pass solvers).
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


def static_kernel_loss(kernel: np.ndarray, y: np.ndarray, times: np.ndarray,
                       dt: Optional[float] = None) -> np.ndarray:
    """Training loss of kernel gradient flow with a fixed kernel on the P training points.

    ``Delta(t) = exp(-K t / P) y`` (``dt=None``), or the discrete gradient-descent flow
    ``Delta(t) = (I - dt K / P)^(t/dt) y``; ``L = |Delta|^2 / (2P)``. (The alignment toy
    model's `static_loss` is the same flow in its own units: rate ``K``, loss ``|Delta|^2/2``.)
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


def check_problem(kx, y, gamma0, time, dt, n_test):
    """Validated ``(kx, y, steps)``; ``steps = round(time / dt)`` ≥ 1."""
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
    ratio = time / dt
    if not np.isfinite(ratio) or ratio > 2**53:
        raise ValueError(f"time/dt = {ratio:g} steps is not a usable step count; raise dt or shorten time")
    steps = int(round(ratio))
    if steps < 1:
        raise ValueError(f"time {time} is shorter than one step dt={dt}")
    return kx, y, steps


def check_scheme(scheme):
    if scheme not in ("gd", "euler"):
        raise ValueError(f"unknown scheme {scheme!r}; use 'gd' or 'euler'")
    return scheme


def finish(gamma0, dt, y, kernels, residual, f_test, y_test, iterations):
    """A `DMFTResult` from the kernels and residuals of ``T+1`` time points."""
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


def euler_function(kernels, y, dt, P):
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
