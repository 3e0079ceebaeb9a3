"""Predicted TD(0) learning curves: the mean and second-moment recursions, and the plateau.

Mean ``w_bar' = w_bar + eta_n (b - A w_bar)``; second moment ``M = E[(w - w_V)(w - w_V)^T]``,
``M' = (I - eta_n A) M (I - eta_n A)^T + (eta_n^2 / B) N(w_bar, M)`` with ``N`` one of the
noise models of `kerncurve.theory.td.noise`; value error ``L_n = tr(Sigma_bar M_n) / T``
(Bordelon, Masset, Kuo & Pehlevan, NeurIPS 2023; docs/theory/td.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from kerncurve.errors import NumericalWarning

from .chain import TDSetup, check_td_params, td_spectrum
from .noise import noise_model

__all__ = ["TDCurve", "lr_schedule", "td_curve", "td_plateau"]


@dataclass(frozen=True)
class TDCurve:
    """A predicted learning curve.

    Attributes
    ----------
    steps : (K + 1,) ndarray of int
        0..K.
    loss : (K + 1,) ndarray
        ``L_n``; ``inf`` from the step where the recursion overflowed.
    mean_loss : (K + 1,) ndarray
        ``(w_bar_n - w_V)^T (Sigma_bar/T) (w_bar_n - w_V)``, the part due to the mean.
    lr : (K,) ndarray
        The learning rate used at update n = 1..K.
    model : str
    diverged : bool
    """

    steps: np.ndarray
    loss: np.ndarray
    mean_loss: np.ndarray
    lr: np.ndarray
    model: str
    diverged: bool


def lr_schedule(lr: float, steps: int, lr_decay: float = 0.0) -> np.ndarray:
    """``eta_n = eta0 n^-chi`` for updates n = 1..steps."""
    n = np.arange(1, int(steps) + 1, dtype=float)
    return lr * n ** (-float(lr_decay))


def td_curve(setup: TDSetup, lr: float, batch: int, steps: int, model: str = "exact",
             reward_noise: float = 0.0, lr_decay: float = 0.0, progress=None) -> TDCurve:
    """Expected value error of TD(0) after n = 0..steps updates.

    Mean ``w_bar' = w_bar + eta_n (b - A w_bar)``, ``w_bar_0 = 0``. Second moment
    ``M = E[(w - w_V)(w - w_V)^T]``, ``M_0 = w_V w_V^T``::

        M' = (I - eta_n A) M (I - eta_n A)^T + (eta_n^2 / B) N(w_bar, M)

    exact: ``N = Psi_tr^T (J o Q) Psi_tr - A M A^T + sigma_r^2 Sigma_bar``,
    ``Q_ij = E[(r_i + d_i.w)(r_j + d_j.w)]``, ``d_i = gamma psi(a'_i) - psi(a_i)``;
    gaussian: ``N = sum_{t,u<T} Sigma_tu Q_tu``, ``Q_tu = E[delta_t delta_u] + sigma_r^2
    delta_tu``. ``M`` is symmetrized every step. Loss ``L_n = tr(Sigma_bar M_n) / T``.

    Parameters
    ----------
    setup : TDSetup
    lr : float
        ``eta0``.
    batch : int
        Episodes per update ``B``.
    steps : int
        Number of updates ``K``.
    model : {"exact", "gaussian"}
    reward_noise : float
        Standard deviation ``sigma_r`` of i.i.d. noise added to each reward.
    lr_decay : float
        ``chi`` in ``eta_n = eta0 n^-chi``.
    progress : callable, optional
        Called as ``progress(k)`` with the number of updates just computed (all that are
        left when the recursion stops at a divergence).

    Returns
    -------
    TDCurve
    """
    check_td_params(lr=lr, batch=batch, steps=steps, reward_noise=reward_noise,
                    lr_decay=lr_decay)
    noise = noise_model(setup, model, reward_noise)
    T = setup.episode_length
    A, b, w_V = setup.A_r, setup.b_r, setup.w_V_r
    Sb = setup.sigma_bar_r / T
    r = A.shape[0]
    I = np.eye(r)
    etas = lr_schedule(lr, steps, lr_decay)
    loss = np.full(steps + 1, np.inf)
    mean_loss = np.full(steps + 1, np.inf)
    wbar = np.zeros(r)
    M = np.outer(w_V, w_V)
    e = wbar - w_V
    loss[0] = np.sum(Sb * M)
    mean_loss[0] = e @ Sb @ e
    diverged = False
    for n, eta in enumerate(etas, start=1):
        G = I - eta * A
        M_new = G @ M @ G.T + (eta * eta / batch) * noise(wbar, M)
        wbar = wbar + eta * (b - A @ wbar)
        M = 0.5 * (M_new + M_new.T)
        e = wbar - w_V
        L = float(np.sum(Sb * M))
        if not np.isfinite(L) or abs(L) > 1e200:
            diverged = True
            if progress is not None:
                progress(steps - n + 1)
            break
        loss[n] = L
        mean_loss[n] = e @ Sb @ e
        if progress is not None:
            progress(1)
    if diverged:
        warnings.warn(
            f"TD {model} model diverges at lr={lr!r}, batch={batch}, gamma={setup.gamma!r} "
            f"(loss overflows at step {n}); use a smaller learning rate",
            NumericalWarning,
            stacklevel=2,
        )
    return TDCurve(np.arange(steps + 1), loss, mean_loss, etas, model, diverged)


def td_plateau(setup: TDSetup, lr: float, batch: int, model: str = "exact",
               reward_noise: float = 0.0) -> float:
    """Asymptotic loss at constant learning rate: the fixed point of the M recursion.

    At ``w_bar = w_V`` the recursion's fixed point solves the linear equation
    ``A M + M A^T = eta A M A^T + (eta / B) N(w_V, M)``. Writing ``N = N_0 + N_1(M)`` it is
    solved by GMRES on ``(I - L) M = Lyap^{-1}((eta/B) N_0)`` with
    ``L(M) = Lyap^{-1}(eta A M A^T + (eta/B) N_1(M))`` and ``Lyap^{-1}(C)`` the solution X
    of ``A X + X A^T = C``. To leading order ``L_inf = (eta/B) tr(Sigma_bar X_0)/T``,
    ``A X_0 + X_0 A^T = N_0``: proportional to ``eta / B``.

    Returns
    -------
    float
        ``inf`` (with a `NumericalWarning`) when the constant-rate recursion has no stable
        fixed point.
    """
    check_td_params(lr=lr, batch=batch, reward_noise=reward_noise)
    noise = noise_model(setup, model, reward_noise)
    A, w_V = setup.A_r, setup.w_V_r
    r = A.shape[0]
    spec = td_spectrum(setup)
    if not (spec.min_real > 0 and lr < spec.lr_max_mean):
        warnings.warn(f"TD mean diverges at lr={lr!r} (edge {spec.lr_max_mean:.4g}); "
                      "no plateau", NumericalWarning, stacklevel=2)
        return float("inf")
    zero = np.zeros((r, r))
    N0 = noise(w_V, zero)
    lyap = scipy.linalg.solve_continuous_lyapunov

    def lin(M):
        return lyap(A, lr * A @ M @ A.T + (lr / batch) * (noise(w_V, M) - N0))

    rhs = lyap(A, (lr / batch) * N0)

    def matvec(v):
        M = v.reshape(r, r)
        M = 0.5 * (M + M.T)
        return (M - lin(M)).ravel()

    op = scipy.sparse.linalg.LinearOperator((r * r, r * r), matvec=matvec, dtype=float)
    sol, info = scipy.sparse.linalg.gmres(op, rhs.ravel(), rtol=1e-12, atol=0.0,
                                          restart=min(r * r, 200), maxiter=50)
    M = sol.reshape(r, r)
    M = 0.5 * (M + M.T)
    L = float(np.sum(setup.sigma_bar_r * M)) / setup.episode_length
    ok = info == 0 and L >= 0 and np.linalg.eigvalsh(M).min() >= -1e-8 * max(
        abs(np.linalg.eigvalsh(M)).max(), 1e-300)
    if not ok:
        warnings.warn(f"TD {model} model has no stable plateau at lr={lr!r}, batch={batch} "
                      "(the second moment diverges); use a smaller learning rate", NumericalWarning,
                      stacklevel=2)
        return float("inf")
    return L
