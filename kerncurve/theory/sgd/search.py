"""Power laws of SGD curves and the best batch size at fixed compute C = t·m."""

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from kerncurve.errors import InputError

from .online import exact_loss, gaussian_loss
from .problem import gaussian_terms
from .stability import exact_edge, gaussian_edge

__all__ = ["BatchSearch", "batch_search", "powerlaw_exponent", "fit_powerlaw"]


@dataclass(frozen=True)
class BatchSearch:
    """Fixed-compute batch search: per batch size m, t = compute // m steps.

    ``lr[i]`` is the learning rate used for ``batch[i]`` (the optimum if searched),
    ``loss[i]`` the predicted final loss, ``best`` the index of the smallest loss.
    """

    batch: np.ndarray
    steps: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    edge: np.ndarray
    best: int


def powerlaw_exponent(a, b):
    """Predicted loss exponent: λ_k ∝ k^-b, λ_k w_k² ∝ k^-a ⇒ L_t ∝ (ηt)^{-(a−1)/b}."""
    return -(a - 1.0) / b


def fit_powerlaw(steps, loss, floor=0.0):
    """Least-squares slope of log(loss − floor) against log(step) over points with step > 0
    and loss > floor; nan if fewer than 2 such points."""
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(loss, dtype=np.float64) - floor
    ok = (t > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(t[ok]), np.log(y[ok]), 1)[0])


def _final(problem, model, lr, batch, t, noise):
    if model == "gaussian":
        lam, w2, unl = gaussian_terms(problem)
        curve = gaussian_loss(lam, w2, unl + noise, lr, batch, [t])
    else:
        curve = exact_loss(problem, lr, batch, [t], noise)
    return float(curve.loss[0])


def batch_search(problem, compute, batches, lr="opt", model="gaussian", noise=0.0, lr_frac=None, xatol=0.01):
    """Best batch size at fixed compute C = t·m.

    For each m, t = C // m steps; the learning rate is ``lr`` (a float), ``lr_frac·η_c(m)``,
    or with ``lr="opt"`` the minimizer of the final loss over η ∈ (0, η_c(m)) (bounded
    scalar minimization in log η over [1e-3 η_c, (1 − 1e-6) η_c], to ``xatol`` in log η).
    Losses are against labels.

    Parameters
    ----------
    problem : SGDProblem or Spectrum
        A `Spectrum` (one channel) serves the Gaussian model only.
    """
    if model not in ("gaussian", "exact"):
        raise InputError(f"model must be 'gaussian' or 'exact', got {model!r}", param="model")
    batches = np.asarray(batches, dtype=np.int64)
    steps = np.asarray(compute // batches, dtype=np.int64)
    if np.any(steps < 1):
        raise InputError(f"compute={compute} is smaller than the largest batch={batches.max()}", param="compute")
    edges, lrs, losses = [], [], []
    for m, t in zip(batches, steps):
        m, t = int(m), int(t)
        edge = gaussian_edge(gaussian_terms(problem)[0], m) if model == "gaussian" else exact_edge(problem, m)
        if isinstance(lr, str):
            res = scipy.optimize.minimize_scalar(
                lambda x: _final(problem, model, np.exp(x), m, t, noise),
                bounds=(np.log(edge) + np.log(1e-3), np.log(edge) + np.log1p(-1e-6)),
                method="bounded", options={"xatol": xatol})
            eta = float(np.exp(res.x))
        else:
            eta = float(lr if lr_frac is None else lr_frac * edge)
        edges.append(edge)
        lrs.append(eta)
        losses.append(_final(problem, model, eta, m, t, noise))
    losses = np.asarray(losses)
    return BatchSearch(batches, steps, np.asarray(lrs), losses, np.asarray(edges), int(np.argmin(losses)))
