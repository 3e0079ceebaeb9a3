"""Train residual MLPs (or their linearization) on a fixed data set: numpy in, numpy out.

The model and its parameterizations are described in `kerncurve.nn.scaling`; the loss is
L = |f − y|²/(2P) (mean over samples, sum over output channels). Many runs (seeds × base
learning rates) are trained at once by one jitted, vectorized JAX program.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

from kerncurve.errors import InputError
from kerncurve.nn import _checks
from kerncurve.nn._jax import require_jax
from kerncurve.nn.scaling import ACTIVATIONS, scaling

__all__ = ["TrainResult", "train", "train_linearized", "draws", "seeded_draws"]

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class TrainResult:
    """Losses of ``len(lr) × seeds`` runs of one network size.

    Attributes
    ----------
    lr : ndarray, shape (R,)
        Base learning rates η₀.
    at : ndarray, shape (T,)
        Steps at which ``train_loss`` and ``test_loss`` were recorded (0 = initialization).
    train_loss : ndarray, shape (R, S, T)
        Loss on the whole training set; ``inf`` from the step a run diverged.
    test_loss : ndarray or None, shape (R, S, T)
    curve : ndarray, shape (R, S, steps + 1)
        Loss on each step's batch before its update (the training loss when full-batch).
    diverged : ndarray of bool, shape (R, S)
    scaling : Scaling
        Multipliers and learning-rate factors used.
    """

    lr: np.ndarray
    at: np.ndarray
    train_loss: np.ndarray
    test_loss: Optional[np.ndarray]
    curve: np.ndarray
    diverged: np.ndarray
    scaling: object


def draws(seed: int, seeds: int, d_in: int, width: int, depth: int, channels: int,
          n_train: int = 0, batch: Optional[int] = None, steps: int = 0):
    """Initial weights and minibatch orders of every seed, drawn by numpy.

    Seed s uses child s of ``numpy.random.SeedSequence(seed)``, so its run does not depend on
    how many seeds are drawn. The weights W⁰ (N, D), W (L, N, N), w (N, c) are standard
    normal float32. Minibatches walk through a fresh permutation of the training set each
    epoch.

    Returns
    -------
    params : dict of ndarray
        ``W0``, ``W``, ``w`` with a leading seed axis.
    orders : ndarray of int32, shape (seeds, steps + 1, batch or 0)
        Sample indices of the batch used at each step.
    """
    shapes = {"W0": (width, d_in), "W": (depth, width, width), "w": (width, channels)}
    return seeded_draws(seed, seeds, shapes, n_train, batch, steps)


def seeded_draws(seed: int, seeds: int, shapes: dict, n_train: int = 0, batch: Optional[int] = None,
                 steps: int = 0):
    """Standard normal float32 tensors of the given ``shapes`` and minibatch orders, per seed.

    Seed s uses child s of ``numpy.random.SeedSequence(seed)`` (split into an initialization
    and a data stream); tensors are drawn in the order of ``shapes``. Returns (dict of arrays
    with a leading seed axis, orders (seeds, steps + 1, batch or 0)) as in `draws`.
    """
    params = {k: [] for k in shapes}
    b = 0 if batch is None else batch
    orders = np.zeros((seeds, steps + 1, b), dtype=np.int32)
    for s, child in enumerate(np.random.SeedSequence(seed).spawn(seeds)):
        init, data = (np.random.default_rng(c) for c in child.spawn(2))
        for k, shape in shapes.items():
            params[k].append(init.standard_normal(shape, dtype=np.float32))
        if b:
            epochs = -(-(steps + 1) * b // n_train)
            idx = np.concatenate([data.permutation(n_train) for _ in range(epochs)])
            orders[s] = idx[:(steps + 1) * b].reshape(steps + 1, b)
    return {k: np.stack(v) for k, v in params.items()}, orders


def steps_at(at, steps):
    """Sorted distinct recording steps in [0, steps]; ``None`` means the last step only."""
    if at is None:
        return np.array([steps])
    arr = np.unique(np.atleast_1d(np.asarray(at)))
    if arr.size == 0 or not np.all(np.mod(arr, 1) == 0) or arr.min() < 0 or arr.max() > steps:
        raise InputError(f"at must be whole steps between 0 and steps = {steps}, got {np.atleast_1d(at).tolist()}")
    return arr.astype(np.int64)


def precision(dtype):
    """A context in which JAX computes in ``dtype`` (float64 switches x64 on only inside it)."""
    _checks.choice("dtype", dtype, DTYPES)
    jax = require_jax("kerncurve.nn")
    return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


def _prepare(x, y, x_test, y_test, width, depth, activation, steps, batch, seeds, seed):
    x, y = _checks.data(x, y)
    if (x_test is None) != (y_test is None):
        raise InputError("x_test and y_test must be given together")
    if x_test is not None:
        x_test, y_test = _checks.data(x_test, y_test, "x_test", "y_test")
        if x_test.shape[1] != x.shape[1] or y_test.shape[1] != y.shape[1]:
            raise InputError(f"x_test, y_test must have {x.shape[1]} features and {y.shape[1]} channels like x, y; "
                             f"got {x_test.shape[1]} and {y_test.shape[1]}")
    _checks.whole("width", width)
    _checks.whole("depth", depth)
    _checks.choice("activation", activation, ACTIVATIONS)
    _checks.whole("steps", steps, 0)
    _checks.whole("seeds", seeds)
    _checks.whole("seed", seed, 0)
    if batch is not None:
        _checks.whole("batch", batch)
        if batch > x.shape[0]:
            raise InputError(f"batch must be at most the {x.shape[0]} training samples, got {batch}")
        if batch == x.shape[0]:
            batch = None
    return x, y, x_test, y_test, batch


def _run(x, y, *, param, width, depth, lr, optimizer, activation, gamma0, beta0, alpha, steps, batch,
         seeds, seed, x_test, y_test, at, eps, dtype, linearized):
    x, y, x_test, y_test, batch = _prepare(x, y, x_test, y_test, width, depth, activation,
                                           steps, batch, seeds, seed)
    lr = _checks.positive_list("lr", lr)
    at = steps_at(at, steps)
    sc = scaling(param, width, depth, x.shape[1], optimizer=optimizer, gamma0=gamma0, beta0=beta0,
                 alpha=alpha, eps=eps)
    with precision(dtype):
        import jax
        import jax.numpy as jnp

        from kerncurve.nn._engine import train_grid

        dt = jnp.float64 if dtype == "float64" else jnp.float32
        arr = lambda a: None if a is None else jnp.asarray(a, dt)
        record = np.zeros(steps + 1, dtype=bool)
        record[at] = True
        params0, orders = draws(seed, seeds, x.shape[1], width, depth, y.shape[1], x.shape[0], batch, steps)
        out = train_grid(jax.tree_util.tree_map(arr, params0), jnp.asarray(orders), arr(lr), arr(x), arr(y),
                         arr(x_test), arr(y_test), jnp.asarray(record), arr(sc.mult), arr(sc.lr),
                         arr(sc.eps), width=width, depth=depth, activation=activation, optimizer=optimizer,
                         steps=steps, batch=batch, centred=sc.centred, linearized=linearized)
        out = jax.tree_util.tree_map(np.asarray, out)
    test = out["test"][..., at].astype(float) if x_test is not None else None
    return TrainResult(lr, at, out["train"][..., at].astype(float), test, out["curve"].astype(float),
                       out["diverged"], sc)


def train(x, y, *, param: str = "depth-mup", width: int = 64, depth: int = 4,
          lr: Union[float, Sequence[float]] = 1.0, optimizer: str = "sgd", activation: str = "tanh",
          gamma0: float = 1.0, beta0: float = 1.0, alpha: Optional[float] = None, steps: int = 100,
          batch: Optional[int] = None, seeds: int = 1, seed: int = 0, x_test=None, y_test=None,
          at=None, eps: float = 1e-8, dtype: str = "float32") -> TrainResult:
    """Train residual MLPs of one width and depth for every base learning rate and seed.

    The network (Bordelon, Noci, Li, Hanin, Pehlevan, ICLR 2024, arXiv:2309.16620)::

        h¹ = W⁰x/√D,  h^{ℓ+1} = h^ℓ + β₀ L^{-α} W^ℓ φ(h^ℓ)/√N,  f = w·φ(h^{L+1})/(γ₀N)

    (sp: readout w·φ/√N, β₀ = 1, not centred) is trained on L = |f − f₀ − y|²/(2P) by SGD or
    Adam with the per-tensor learning rates η₀ × factor of `kerncurve.nn.scaling` (SGD:
    η = η₀γ₀²N L^{2α−1} on the hidden weights). Seeds fix the initial weights and the
    minibatch order; all learning rates of a seed share them.

    Parameters
    ----------
    x : array, shape (P, D)
    y : array, shape (P,) or (P, c)
    param : {'sp', 'mup', 'depth-mup', 'depth-mup-1', 'mlp'}
    width, depth : int
        N and the number L of residual blocks.
    lr : float or sequence of float
        Base learning rates η₀ (vectorized).
    optimizer : {'sgd', 'adam'}
    activation : {'tanh', 'relu', 'gelu', 'linear'}
    gamma0, beta0 : float
        Richness γ₀ and branch multiplier β₀ (mean-field presets).
    alpha : float, optional
        Overrides the preset's branch exponent α.
    steps : int
        Number of updates.
    batch : int, optional
        Minibatch size (batches walk through a fresh permutation of the training set every
        epoch); ``None`` or the number of samples: full batch.
    seeds, seed : int
        Number of independent runs per learning rate, and the master seed.
    x_test, y_test : array, optional
        Held-out set, evaluated at the recorded steps.
    at : int or sequence of int, optional
        Steps to record (default: the last).
    eps : float
        Adam's ε₀ (scaled per tensor).
    dtype : {'float32', 'float64'}

    Returns
    -------
    TrainResult
        A diverged run (loss non-finite or above 10³·L(0)) is frozen and flagged, never raised.
    """
    return _run(x, y, param=param, width=width, depth=depth, lr=lr, optimizer=optimizer,
                activation=activation, gamma0=gamma0, beta0=beta0, alpha=alpha, steps=steps, batch=batch,
                seeds=seeds, seed=seed, x_test=x_test, y_test=y_test, at=at, eps=eps, dtype=dtype,
                linearized=False)


def train_linearized(x, y, *, param: str = "depth-mup", width: int = 64, depth: int = 4,
                     lr: Union[float, Sequence[float]] = 1.0, optimizer: str = "sgd",
                     activation: str = "tanh", gamma0: float = 1.0, beta0: float = 1.0,
                     alpha: Optional[float] = None, steps: int = 100, batch: Optional[int] = None,
                     seeds: int = 1, seed: int = 0, x_test=None, y_test=None, at=None,
                     eps: float = 1e-8, dtype: str = "float32") -> TrainResult:
    """Train the network's linearization around its initialization (the lazy limit).

    f_lin(θ) = f(θ₀) + J(θ₀)(θ − θ₀), J the Jacobian at the same initial weights that `train`
    draws for the same seed, evaluated with `jax.jvp` (no Jacobian is stored); for centred
    presets the model is J(θ − θ₀). Gradient descent on it is kernel regression with the
    empirical NTK Σ_tensors lr_t J_t J_tᵀ frozen at initialization. As γ₀ → 0 the trained
    network follows this curve (Bordelon & Pehlevan, arXiv:2205.09653). Arguments and result
    as `train`.
    """
    return _run(x, y, param=param, width=width, depth=depth, lr=lr, optimizer=optimizer,
                activation=activation, gamma0=gamma0, beta0=beta0, alpha=alpha, steps=steps, batch=batch,
                seeds=seeds, seed=seed, x_test=x_test, y_test=y_test, at=at, eps=eps, dtype=dtype,
                linearized=True)
