"""Brute-force TD(0) on a Markov chain, vectorized across runs and episodes.

Checks `kerncurve.theory.td`: R independent runs of TD(0) from ``w_0 = 0``, each update
using B fresh episodes of T transitions started from ``rho0``; the value error
``(w - w_V)^T (Sigma_bar / T) (w - w_V)`` is measured exactly from the weights at the
recorded steps (no Monte-Carlo estimate of the loss itself).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError
from kerncurve.theory.td import TDSetup, check_td_params, lr_schedule

__all__ = ["TDSimulation", "sample_states", "simulate_td"]


@dataclass(frozen=True)
class TDSimulation:
    """Simulated learning curve.

    Attributes
    ----------
    steps : (K,) ndarray of int
        Recorded steps (sorted, unique).
    mean, sem, median : (K,) ndarray
        Across runs: mean loss, its standard error ``std(ddof=1)/sqrt(R)``, median.
    losses : (K, R) ndarray
        Per-run loss at each recorded step.
    runs : int
    """

    steps: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    median: np.ndarray
    losses: np.ndarray
    runs: int


def _global_cdf(P: np.ndarray) -> np.ndarray:
    """Row CDFs shifted by their row index, flattened: one increasing array for all rows.

    Row s occupies values in [s, s + 1], so ``searchsorted(cdf, s + u, 'right') - s S``
    inverts the CDF of row s for every (s, u) pair at once.
    """
    S = P.shape[0]
    cdf = np.cumsum(P, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    return (cdf + np.arange(S)[:, None]).ravel()


def sample_states(gcdf: np.ndarray, S: int, states: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Next states by inverse CDF: for each current state ``states`` and uniform ``u``."""
    idx = np.searchsorted(gcdf, states + u, side="right") - states * S
    return np.clip(idx, 0, S - 1)


def simulate_td(setup: TDSetup, lr: float, batch: int, steps: int, runs: int = 200,
                record=None, reward_noise: float = 0.0, lr_decay: float = 0.0,
                seed: int = 0, progress=None) -> TDSimulation:
    """Run TD(0) ``runs`` times and record the value error.

    ``w <- w + (eta_n / B) sum_b sum_{t<T} psi(s_t) delta_t``,
    ``delta_t = r(s_t) + sigma_r xi_t + gamma psi(s_{t+1}).w - psi(s_t).w``, with
    ``r = Psi w_R`` (the chain's fitted reward), episodes from ``setup.chain.start``.

    Parameters
    ----------
    setup : TDSetup
        The chain, gamma, T, and the fixed point ``w_V`` and ``Sigma_bar`` the loss uses.
    lr, batch, steps, reward_noise, lr_decay
        As in `kerncurve.theory.td.td_curve`.
    runs : int
        Independent runs R.
    record : array_like of int, optional
        Steps at which to record the loss (default every step 0..steps).
    seed : int
        Seed of ``numpy.random.default_rng``.
    progress : callable, optional
        Called as ``progress(n)`` after each update.

    Returns
    -------
    TDSimulation
    """
    check_td_params(lr=lr, batch=batch, steps=steps, reward_noise=reward_noise,
                    lr_decay=lr_decay)
    if int(runs) != runs or runs < 2:
        raise InputError(f"runs must be an integer >= 2, got {runs!r}", param="runs")
    chain = setup.chain
    P, X, rew = chain.transitions, chain.features, chain.rewards
    S = P.shape[0]
    T = setup.episode_length
    gamma = setup.gamma
    R, B = int(runs), int(batch)
    rng = np.random.default_rng(seed)
    gcdf = _global_cdf(P)
    start_cdf = np.cumsum(chain.start)
    start_cdf /= start_cdf[-1]
    start_cdf[-1] = 1.0

    if record is None:
        record = np.arange(steps + 1)
    record = np.unique(np.asarray(record, dtype=int))
    if record.size and (record.min() < 0 or record.max() > steps):
        raise InputError(f"record steps must lie in [0, {steps}]", param="record")
    etas = lr_schedule(lr, steps, lr_decay)
    metric = setup.sigma_bar / T
    w_V = setup.w_V

    w = np.zeros((R, X.shape[1]))
    losses = np.empty((record.size, R))
    pos = 0
    run_offset = (np.arange(R) * S)[:, None, None]

    def loss_of(w):
        e = w - w_V
        return np.einsum("ri,ij,rj->r", e, metric, e)

    if pos < record.size and record[pos] == 0:
        losses[pos] = loss_of(w)
        pos += 1
    traj = np.empty((R, B, T + 1), dtype=np.intp)
    for n in range(1, steps + 1):
        traj[:, :, 0] = np.minimum(np.searchsorted(start_cdf, rng.random((R, B)), "right"),
                                   S - 1)
        for t in range(T):
            traj[:, :, t + 1] = sample_states(gcdf, S, traj[:, :, t], rng.random((R, B)))
        values = w @ X.T  # (R, S)
        v = np.take_along_axis(values, traj.reshape(R, -1), axis=1).reshape(R, B, T + 1)
        s_now = traj[:, :, :T]
        delta = rew[s_now] + gamma * v[:, :, 1:] - v[:, :, :T]
        if reward_noise:
            delta = delta + reward_noise * rng.standard_normal(delta.shape)
        # Per-run, per-state sum of TD errors, then one matrix product with the features.
        c = np.bincount((s_now + run_offset).ravel(), weights=delta.ravel(),
                        minlength=R * S).reshape(R, S)
        w = w + (etas[n - 1] / B) * (c @ X)
        if pos < record.size and record[pos] == n:
            losses[pos] = loss_of(w)
            pos += 1
        if progress is not None:
            progress(n)
    mean = losses.mean(axis=1)
    sem = losses.std(axis=1, ddof=1) / np.sqrt(R)
    return TDSimulation(record, mean, sem, np.median(losses, axis=1), losses, R)
