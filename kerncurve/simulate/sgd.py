"""Brute-force SGD on a linear readout of fixed features, vectorized across runs.

Checks `kerncurve.theory.sgd`: the same population (the n rows of Ψ, drawn with replacement),
the same update ``w ← w − (η/m) Σ_batch ψ(ψ·w − y − ε)`` from ``w₀ = 0``, label noise
ε ~ N(0, σ²) drawn afresh with every drawn label. The loss of each run is computed exactly
from its w over the whole population, against labels: ``⟨(ψ·w − y)²⟩ + σ²``.
"""

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

__all__ = ["SimulatedCurve", "simulate_online", "simulate_multipass"]


@dataclass(frozen=True)
class SimulatedCurve:
    """Loss across R runs at each output step: mean, standard error of the mean, median.

    A run whose loss overflowed counts as ``inf`` (its mean and SEM become inf too; the
    median stays finite while fewer than half the runs diverged).
    """

    steps: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    median: np.ndarray
    runs: int


def _summarize(steps, losses):
    losses = np.where(np.isfinite(losses), losses, np.inf)
    runs = losses.shape[1]
    with np.errstate(invalid="ignore"):
        mean = losses.mean(axis=1)
        sem = losses.std(axis=1, ddof=1) / np.sqrt(runs) if runs > 1 else np.full(len(steps), np.nan)
    sem = np.where(np.isfinite(mean), sem, np.inf)
    return SimulatedCurve(steps, mean, sem, np.median(losses, axis=1), runs)


class _Population:
    """Exact population loss ⟨(ψ·w − y)²⟩ of many readouts w (rows of W) at once."""

    def __init__(self, psi, y):
        n, dim = psi.shape
        self.use_moments = dim <= n
        self.psi, self.y = psi, y
        self.sigma = psi.T @ psi / n
        self.b = psi.T @ y / n
        self.yy = float(np.mean(y * y))

    def __call__(self, w):
        if self.use_moments:
            return np.einsum("rk,rk->r", w @ self.sigma, w) - 2.0 * (w @ self.b) + self.yy
        res = w @ self.psi.T - self.y
        return np.mean(res * res, axis=1)


def _steps(steps):
    steps = np.asarray(steps)
    if steps.ndim == 0:
        steps = np.arange(int(steps) + 1)
    steps = steps.astype(np.int64)
    if steps.size == 0 or steps.min() < 0:
        raise InputError("output steps must be a non-empty list of integers >= 0")
    return steps


def _run(psi, y, lr, batch, steps, runs, noise, rng, losses_of):
    n, dim = psi.shape
    w = np.zeros((runs, dim))
    tmax = int(steps.max())
    record = {int(t): [] for t in np.unique(steps)}
    scale = lr / batch
    sd = np.sqrt(noise)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(tmax + 1):
            if t in record:
                record[t] = losses_of(w)
            if t == tmax:
                break
            idx = rng.integers(n, size=(runs, batch))
            x = psi[idx]  # (R, m, M)
            res = np.einsum("rmk,rk->rm", x, w) - y[idx]
            if noise > 0:
                res -= sd * rng.standard_normal((runs, batch))
            w -= scale * np.einsum("rm,rmk->rk", res, x)
    return record


def simulate_online(features, targets, lr, batch, steps, runs=400, noise=0.0, seed=0):
    """Online SGD, batches drawn with replacement from the n samples, R runs at once.

    Parameters
    ----------
    features : array_like (n, M)
    targets : array_like (n,)
    lr : float
    batch : int
    steps : int or array_like of int
        Output steps (an int T means 0..T).
    runs : int
        Number of independent runs R.
    noise : float
        Label-noise variance σ² (fresh noise on every drawn label).
    seed : int

    Returns
    -------
    SimulatedCurve
        Loss against labels, ``⟨(ψ·w − y)²⟩ + σ²``.
    """
    psi = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    steps = _steps(steps)
    if not lr > 0 or int(batch) != batch or batch < 1 or runs < 1:
        raise InputError(f"need lr > 0, batch >= 1, runs >= 1; got {lr}, {batch}, {runs}")
    rng = np.random.default_rng(seed)
    pop = _Population(psi, y)
    rec = _run(psi, y, float(lr), int(batch), steps, int(runs), float(noise), rng,
               lambda w: pop(w) + noise)
    return _summarize(steps, np.array([rec[int(t)] for t in steps]))


def simulate_multipass(train_features, train_targets, test_features, test_targets,
                       lr, batch, steps, runs=400, noise=0.0, seed=0):
    """Multi-pass SGD on a fixed training set (batches drawn with replacement from it).

    The training labels are used as given; ``noise`` σ² is added to the test loss only (the
    test labels are fresh noisy labels), matching `kerncurve.theory.sgd.multipass_loss`.

    Returns
    -------
    (SimulatedCurve, SimulatedCurve)
        Test loss and train loss, both against labels.
    """
    x = np.asarray(train_features, dtype=np.float64)
    y = np.asarray(train_targets, dtype=np.float64)
    steps = _steps(steps)
    if int(batch) > x.shape[0]:
        raise InputError(f"batch {batch} is larger than the training set ({x.shape[0]} points)")
    rng = np.random.default_rng(seed)
    test_pop = _Population(np.asarray(test_features, dtype=np.float64),
                           np.asarray(test_targets, dtype=np.float64))
    train_pop = _Population(x, y)
    rec = _run(x, y, float(lr), int(batch), steps, int(runs), 0.0, rng,
               lambda w: (test_pop(w) + noise, train_pop(w)))
    test = np.array([rec[int(t)][0] for t in steps])
    train = np.array([rec[int(t)][1] for t in steps])
    return _summarize(steps, test), _summarize(steps, train)
