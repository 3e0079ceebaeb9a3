"""Hyperparameter transfer across width and depth: the learning-rate sweep and its analysis.

Under depth-μP (branch multiplier L^{-1/2}) the base learning rate η₀ that minimizes the loss
after a fixed number of steps stays put as the width N and the depth L grow, and wider or
deeper is better at the optimum (Bordelon, Noci, Li, Hanin, Pehlevan, ICLR 2024,
arXiv:2309.16620; Yang, Yu, Zhu, Hayou, Tensor Programs VI, arXiv:2310.02244). Without
branch scaling (α = 0) the optimum moves with L; under standard parameterization it moves
with N. `transfer_sweep` measures the grid; the functions below read it.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from kerncurve.errors import InputError
from kerncurve.nn import _checks
from kerncurve.nn.scaling import OPTIMIZERS, PARAMS
from kerncurve.nn.train import DTYPES, steps_at, train

__all__ = ["TransferGrid", "transfer_sweep", "optimal_lr", "lr_spread", "size_trend", "verdict",
           "memory_estimate"]


@dataclass(frozen=True)
class TransferGrid:
    """Seed statistics of the loss over params × widths × depths × learning rates × steps.

    Loss arrays have shape (param, width, depth, lr, step); ``*_seeds`` keep the seed axis
    before the step axis. A mean over seeds is ``inf`` when any seed diverged (its SEM too).

    Attributes
    ----------
    params, widths, depths : tuple
    lr : ndarray, shape (param, lr)
        Base learning rates η₀ of each param.
    at : ndarray
        Recorded steps.
    train_loss, train_loss_sem : ndarray
    test_loss, test_loss_sem : ndarray or None
    diverged : ndarray of int, shape (param, width, depth, lr)
        Number of diverged seeds.
    train_loss_seeds, test_loss_seeds : ndarray or None
    seeds : int
    optimizer : str
    seconds : float
        Wall time of the sweep, compilation included.
    """

    params: tuple
    widths: tuple
    depths: tuple
    lr: np.ndarray
    at: np.ndarray
    train_loss: np.ndarray
    train_loss_sem: np.ndarray
    test_loss: Optional[np.ndarray]
    test_loss_sem: Optional[np.ndarray]
    diverged: np.ndarray
    train_loss_seeds: np.ndarray
    test_loss_seeds: Optional[np.ndarray]
    seeds: int
    optimizer: str
    seconds: float


def _mean_sem(losses):
    """Mean and SEM over the seed axis (-2); ``inf`` for both when a seed diverged."""
    s = losses.shape[-2]
    with np.errstate(invalid="ignore"):
        mean = losses.mean(axis=-2)
        sem = losses.std(axis=-2, ddof=1) / np.sqrt(s) if s > 1 else np.full(mean.shape, np.nan)
    return mean, np.where(np.isfinite(mean), sem, np.inf)


def transfer_sweep(x, y, *, params: Sequence[str] = ("sp", "mup", "depth-mup"),
                   widths: Sequence[int] = (32, 64, 128), depths: Sequence[int] = (2, 4, 8),
                   lr=(0.1, 0.316, 1.0, 3.16, 10.0, 31.6, 100.0), optimizer: str = "sgd",
                   activation: str = "tanh", gamma0: float = 1.0, beta0: float = 1.0,
                   alpha: Optional[float] = None, steps: int = 100, batch: Optional[int] = None,
                   seeds: int = 3, seed: int = 0, x_test=None, y_test=None, at=None, eps: float = 1e-8,
                   dtype: str = "float32", progress: Optional[Callable[[int], None]] = None) -> TransferGrid:
    """Train every (param, width, depth) at every base learning rate η₀ and seed.

    Each cell is one call of `kerncurve.nn.train` (all learning rates and seeds of a cell run
    together; seeds share initial weights and minibatches across learning rates and params).

    Parameters
    ----------
    x, y : array
        Training inputs (P, D) and targets (P,) or (P, c).
    params : sequence of {'sp', 'mup', 'depth-mup', 'depth-mup-1', 'mlp'}
    widths, depths : sequence of int
    lr : sequence of float, or mapping param → sequence of float
        Grid of η₀, one for all params or one per param (grids of equal length). sp reads
        η₀ as its one learning rate, whose optimum sits lower than the mean-field η₀.
    optimizer, activation, gamma0, beta0, alpha, steps, batch, seeds, seed, x_test, y_test, at, eps, dtype
        As in `kerncurve.nn.train`.
    progress : callable, optional
        Called with 1 after each cell.

    Returns
    -------
    TransferGrid
    """
    params = tuple(_checks.choice("each of params", p, PARAMS) for p in np.atleast_1d(params).tolist())
    if not params or len(set(params)) != len(params):
        raise InputError(f"params must be a non-empty list without repeats, got {list(params)}")
    widths = _checks.whole_list("widths", widths)
    depths = _checks.whole_list("depths", depths)
    lr = _grids(lr, params)
    seeds = _checks.whole("seeds", seeds)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    _checks.choice("dtype", dtype, DTYPES)
    at = steps_at(at, _checks.whole("steps", steps, 0))
    t0 = time.perf_counter()
    cells = (len(params), len(widths), len(depths))
    train_seeds, test_seeds = np.empty(cells + (lr.shape[1], seeds, len(at))), None
    if x_test is not None:
        test_seeds = np.empty_like(train_seeds)
    div = np.zeros(cells + (lr.shape[1],), dtype=int)
    for (k, p), (i, n), (j, d) in itertools.product(enumerate(params), enumerate(widths), enumerate(depths)):
        r = train(x, y, param=p, width=n, depth=d, lr=lr[k], optimizer=optimizer, activation=activation,
                  gamma0=gamma0, beta0=beta0, alpha=alpha, steps=steps, batch=batch, seeds=seeds, seed=seed,
                  x_test=x_test, y_test=y_test, at=at, eps=eps, dtype=dtype)
        train_seeds[k, i, j] = r.train_loss
        if test_seeds is not None:
            test_seeds[k, i, j] = r.test_loss
        div[k, i, j] = r.diverged.sum(axis=1)
        if progress is not None:
            progress(1)
    mean, sem = _mean_sem(train_seeds)
    tmean, tsem = (None, None) if test_seeds is None else _mean_sem(test_seeds)
    return TransferGrid(params, widths, depths, lr, at, mean, sem, tmean, tsem, div, train_seeds,
                        test_seeds, seeds, optimizer, time.perf_counter() - t0)


def _grids(lr, params):
    """One η₀ grid per param, shape (param, lr)."""
    if isinstance(lr, Mapping):
        missing = [p for p in params if p not in lr]
        if missing or set(lr) - set(params):
            raise InputError(f"lr must have one grid for each of params {list(params)}, got keys {list(lr)}")
        grids = [_checks.positive_list(f"lr[{p!r}]", lr[p]) for p in params]
        if len({g.size for g in grids}) != 1:
            raise InputError(f"the lr grids must have equal lengths, got {[g.size for g in grids]}")
        return np.array(grids)
    return np.tile(_checks.positive_list("lr", lr), (len(params), 1))


def _losses(grid, loss, step):
    if loss not in ("train", "test"):
        raise InputError(f"loss must be 'train' or 'test', got {loss!r}")
    arr = grid.train_loss if loss == "train" else grid.test_loss
    if arr is None:
        raise InputError("loss='test' needs a sweep run with x_test and y_test")
    if step is None:
        return arr[..., -1]
    hit = np.flatnonzero(grid.at == step)
    if hit.size == 0:
        raise InputError(f"step {step} was not recorded; recorded steps: {grid.at.tolist()}")
    return arr[..., hit[0]]


def optimal_lr(grid: TransferGrid, *, loss: str = "train", step: Optional[int] = None) -> np.ndarray:
    """The η₀ minimizing the seed-mean loss, per (param, width, depth).

    The argmin over the grid is refined by the vertex of the parabola in
    (log10 η₀, log10 loss) through it and its two neighbours. At the edge of the grid, or
    next to a diverged learning rate, the grid value is kept (no parabola through an
    infinite loss). A cell where every learning rate diverged gets the smallest η₀ of the
    grid: its optimum has drifted below the boundary.

    Parameters
    ----------
    grid : TransferGrid
    loss : {'train', 'test'}
    step : int, optional
        A recorded step (default: the last).

    Returns
    -------
    ndarray, shape (param, width, depth)
    """
    vals = _losses(grid, loss, step)
    out = np.empty(vals.shape[:-1])
    for idx in np.ndindex(out.shape):
        u = np.log10(grid.lr[idx[0]])
        v = vals[idx]
        if not np.any(np.isfinite(v)):
            out[idx] = u[0]
            continue
        i = int(np.argmin(np.where(np.isfinite(v), v, np.inf)))
        out[idx] = u[i]
        if 0 < i < len(u) - 1 and np.all(np.isfinite(v[i - 1:i + 2])) and np.all(v[i - 1:i + 2] > 0):
            a, b, _ = np.polyfit(u[i - 1:i + 2], np.log10(v[i - 1:i + 2]), 2)
            if a > 0:
                out[idx] = np.clip(-b / (2 * a), u[i - 1], u[i + 1])
    return 10.0 ** out


def lr_spread(optimal: np.ndarray, over: str = "all") -> np.ndarray:
    """Spread of the optimal η₀ in decades: max − min of log10 η₀*.

    Parameters
    ----------
    optimal : ndarray, shape (param, width, depth)
        From `optimal_lr`.
    over : {'all', 'width', 'depth'}
        The whole grid (result (param,)), across widths at each depth (param, depth), or
        across depths at each width (param, width).
    """
    axes = {"all": (1, 2), "width": 1, "depth": 2}
    if over not in axes:
        raise InputError(f"over must be 'all', 'width' or 'depth', got {over!r}")
    u = np.log10(optimal)
    return u.max(axis=axes[over]) - u.min(axis=axes[over])


def size_trend(grid: TransferGrid, *, loss: str = "train", step: Optional[int] = None):
    """Whether wider and deeper networks reach a lower loss at their own optimal η₀.

    Returns
    -------
    best : ndarray, shape (param, width, depth)
        Lowest seed-mean loss over the η₀ grid.
    wider : ndarray of bool, shape (param, width − 1, depth)
        ``best[:, i + 1, j] < best[:, i, j]``.
    deeper : ndarray of bool, shape (param, width, depth − 1)
        ``best[:, i, j + 1] < best[:, i, j]``.
    """
    best = np.min(_losses(grid, loss, step), axis=-1)
    return best, best[:, 1:] < best[:, :-1], best[:, :, 1:] < best[:, :, :-1]


def verdict(grid: TransferGrid, *, tolerance: float = 0.3, loss: str = "train", step: Optional[int] = None) -> str:
    """One line: per param, the optimal-η₀ spread in decades, whether it transfers, size trends."""
    spread = lr_spread(optimal_lr(grid, loss=loss, step=step))
    _, wider, deeper = size_trend(grid, loss=loss, step=step)
    parts = []
    for k, p in enumerate(grid.params):
        word = "transfers" if spread[k] <= tolerance else "does not transfer"
        parts.append(f"{p} {word} ({spread[k]:.2f} decades; wider better {int(wider[k].sum())}/{wider[k].size}, "
                     f"deeper better {int(deeper[k].sum())}/{deeper[k].size})")
    return (f"optimal lr over widths {min(grid.widths)}-{max(grid.widths)} x depths "
            f"{min(grid.depths)}-{max(grid.depths)} (tolerance {tolerance:g} decades): " + "; ".join(parts))


def memory_estimate(*, widths: Sequence[int], depths: Sequence[int], n_lr: int, seeds: int, d_in: int,
                    n_train: int, n_test: int = 0, channels: int = 1, optimizer: str = "sgd",
                    batch: Optional[int] = None, dtype: str = "float32") -> int:
    """Peak bytes of the largest cell of a sweep (the cells run one after another).

    Per run: the parameters p = ND + LN² + Nc held three times (weights, gradient, update;
    Adam adds two moments, old and new: seven), plus the activations kept for the backward
    pass, 3·B·N·(L + 1) for B = batch or P samples, plus a test forward 2·Q·N. All
    ``n_lr × seeds`` runs of a cell are live together. Arrays only: the process adds the JAX
    runtime and XLA temporaries (the largest cell of a 4 × 5 SGD grid, 51 runs at N = 256,
    L = 32, was estimated at 2.6 GB and peaked at 3.15 GB resident).

    Returns
    -------
    int
    """
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    _checks.choice("dtype", dtype, DTYPES)
    runs = _checks.whole("n_lr", n_lr) * _checks.whole("seeds", seeds)
    b = n_train if batch is None else min(batch, n_train)
    copies = 3 if optimizer == "sgd" else 7
    size = 4 if dtype == "float32" else 8
    worst = 0
    for n in _checks.whole_list("widths", widths):
        for d in _checks.whole_list("depths", depths):
            p = n * d_in + d * n * n + n * channels
            worst = max(worst, copies * p + 3 * b * n * (d + 1) + 2 * n_test * n)
    return int(worst * runs * size)
