"""Train multi-head attention models on sequences: numpy in, numpy out.

The model and its scalings are described in `kerncurve.nn.attn_scaling`; the loss is
L = |f − f₀ − y|²/(2n) (mean over sequences, sum over output channels). All seeds of one
model size train together in one jitted, vectorized JAX program (the residual MLP's
training loop: a run whose loss turns non-finite or exceeds 10³·L(0) is frozen and
flagged, never raised).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from kerncurve.errors import InputError
from kerncurve.nn import _checks
from kerncurve.nn.attn_scaling import TENSORS, AttnScaling, attention_scaling
from kerncurve.nn.scaling import ACTIVATIONS
from kerncurve.nn.train import precision, seeded_draws, steps_at

__all__ = ["HeadsRun", "train_heads", "sequences", "param_count", "memory_estimate", "work_estimate"]

#: at most this many training sequences are the probe of the attention maps and the kernel
PROBE = 32


@dataclass(frozen=True)
class HeadsRun:
    """All seeds of one attention model (H heads of dimension N, L blocks).

    Attributes
    ----------
    at : ndarray, shape (T,)
        Recorded steps.
    loss : ndarray, shape (seeds, T)
        Full training loss; ``inf`` from the step a run diverged.
    diverged : ndarray of bool, shape (seeds,)
    head_spread : ndarray, shape (seeds, T, L)
        Variance across heads (ddof 1) of A_h(s, s′), mean over probe sequences and
        positions, per block (NaN with one head).
    kernel : ndarray, shape (seeds, T, P, P)
        Final-layer kernel φ_μ·φ_ν/M of the P probe sequences.
    attention_init, attention_final : ndarray, shape (seeds, L, P, H, S, S)
        Attention maps on the probe at initialization and after the last step.
    qk_movement : ndarray, shape (seeds, L, 2)
        ‖W(T) − W(0)‖_F/‖W(0)‖_F of W_Q ([..., 0]) and W_K ([..., 1]) per block.
    scaling : AttnScaling
    seconds : float
        Wall time, compilation included.
    """

    at: np.ndarray
    loss: np.ndarray
    diverged: np.ndarray
    head_spread: np.ndarray
    kernel: np.ndarray
    attention_init: np.ndarray
    attention_final: np.ndarray
    qk_movement: np.ndarray
    scaling: AttnScaling
    seconds: float


def sequences(x, y):
    """Inputs (n, S, D) and targets (n,) or (n, c) as float64 arrays; targets returned as (n, c)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 3 or 0 in x.shape:
        raise InputError(f"x must be a 3-D array (sequences, positions, features), got shape {x.shape}")
    x2, y = _checks.data(x.reshape(x.shape[0], -1), y)
    if x.shape[1] < 2:
        raise InputError("x has sequences of length 1: attention over one position is the identity (every "
                         "attention matrix is [[1]]), so heads and head dimension cannot matter; give S ≥ 2")
    return x2.reshape(x.shape), y


def param_count(heads, head_dim, depth, d_in, channels):
    """Number of weights: M·D + 6·L·M² + M·c with M = NH."""
    M = heads * head_dim
    return M * d_in + 6 * depth * M * M + M * channels


def train_heads(x, y, *, heads: int, head_dim: int, depth: int = 1, attn_exp: float = 1.0,
                depth_exp: float = 1.0, lr: float = 0.1, optimizer: str = "sgd", activation: str = "gelu",
                gamma0: float = 1.0, beta0: float = 1.0, base_depth: float = 1.0, steps: int = 100,
                batch: Optional[int] = None, seeds: int = 3, seed: int = 0, at=None, probe: int = PROBE,
                eps: float = 1e-8, dtype: str = "float32") -> HeadsRun:
    """Train ``seeds`` attention models of one size and observe their heads.

    Parameters
    ----------
    x : array, shape (n, S, D)
        Token sequences (S ≥ 2).
    y : array, shape (n,) or (n, c)
    heads, head_dim, depth : int
        H, N (key/query dimension per head; model width M = NH) and L.
    attn_exp, depth_exp : float in [½, 1]
        α_A and α_L.
    lr : float
        Base learning rate η₀ (per-tensor factors in `kerncurve.nn.attn_scaling`).
    optimizer : {'sgd', 'adam'}
    activation : {'tanh', 'relu', 'gelu'}
        φ of the blocks' MLPs.
    gamma0, beta0, base_depth : float
        γ₀, β₀ and L₀.
    steps : int
    batch : int, optional
        Minibatch size (fresh permutation every epoch; default full batch).
    seeds, seed : int
        Independent initializations (seed s is child s of ``numpy.random.SeedSequence(seed)``,
        the same at every size). Every seed sees the same minibatch sequence (seed 0's), so
        the spread across seeds measures the randomness of the initial weights alone, the
        one that vanishes in a deterministic large-width limit.
    at : int or sequence of int, optional
        Steps to record (default: the last).
    probe : int
        The first ``min(n, probe)`` sequences are the probe of the attention maps and the kernel.
    eps : float
        Adam's ε₀.
    dtype : {'float32', 'float64'}

    Returns
    -------
    HeadsRun
    """
    x, y = sequences(x, y)
    n, S, D = x.shape
    _checks.choice("activation", activation, ACTIVATIONS)
    sc = attention_scaling(heads, head_dim, depth, D, attn_exp=attn_exp, depth_exp=depth_exp, optimizer=optimizer,
                           gamma0=gamma0, beta0=beta0, base_depth=base_depth, eps=eps)
    eta0 = float(_checks.positive("lr", lr))
    steps = _checks.whole("steps", steps, 0)
    seeds = _checks.whole("seeds", seeds)
    seed = _checks.whole("seed", seed, 0)
    probe = _checks.whole("probe", probe)
    if batch is not None:
        _checks.whole("batch", batch)
        if batch > n:
            raise InputError(f"batch must be at most the {n} training sequences, got {batch}")
        batch = None if batch == n else batch
    at = steps_at(at, steps)
    M, L = heads * head_dim, depth
    shapes = {"Win": (M, D), **{k: (L, M, M) for k in TENSORS[1:-1]}, "w": (M, y.shape[1])}
    params0, orders = seeded_draws(seed, seeds, shapes, n, batch, steps)
    orders[:] = orders[0]  # one minibatch sequence for every seed: seeds differ by their initial weights only
    record = np.zeros(steps + 1, dtype=bool)
    record[at] = True
    t0 = time.perf_counter()
    with precision(dtype):
        import jax
        import jax.numpy as jnp

        from kerncurve.nn._attn_engine import heads_grid

        dt = jnp.float64 if dtype == "float64" else jnp.float32
        arr = lambda a: jnp.asarray(a, dt)
        out = heads_grid(jax.tree_util.tree_map(arr, params0), jnp.asarray(orders), arr(eta0), arr(x), arr(y),
                         jnp.asarray(record), arr(x[:min(n, probe)]), arr(sc.mult), arr(sc.lr), arr(sc.eps),
                         heads=heads, activation=activation, optimizer=optimizer, steps=steps, batch=batch,
                         centred=True, linearized=False, keep=True)
        out = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float64 if a.dtype.kind == "f" else None),
                                     out)
    seconds = time.perf_counter() - t0
    return HeadsRun(at, out["train"][:, at], out["diverged"].astype(bool), out["observed"]["spread"][:, at],
                    out["observed"]["kernel"][:, at], out["maps0"], out["maps"], out["move"], sc, seconds)


def memory_estimate(*, heads: int, head_dim: int, depth: int, d_in: int, seq_len: int, n_train: int,
                    channels: int = 1, seeds: int = 1, batch: Optional[int] = None, steps: int = 0,
                    optimizer: str = "sgd", probe: int = PROBE, dtype: str = "float32") -> int:
    """Peak bytes of one `train_heads` call (all its seeds live together).

    Per seed: the weights held three times (weights, gradient, update; Adam seven), the
    activations kept for the backward pass of a batch of B sequences, about
    12·B·S·M·(L + 1) plus 3·B·H·S²·L for the attention, a forward pass on all n training
    sequences at the recorded steps, 4·n·S·M + n·H·S², the probe's attention maps at
    initialization and the end, 2·P·L·H·S², and the per-step kernel record (steps + 1)·P².
    Arrays only: the JAX runtime and XLA temporaries come on top.
    """
    M = heads * head_dim
    b = n_train if batch is None else min(batch, n_train)
    p = min(probe, n_train)
    copies = 3 if optimizer == "sgd" else 7
    size = 4 if dtype == "float32" else 8
    per_seed = (copies * param_count(heads, head_dim, depth, d_in, channels)
                + 12 * b * seq_len * M * (depth + 1) + 3 * b * heads * seq_len ** 2 * depth
                + 4 * n_train * seq_len * M + n_train * heads * seq_len ** 2
                + 2 * p * depth * heads * seq_len ** 2 + (steps + 1) * p * p)
    return int(per_seed * seeds * size)


def work_estimate(*, heads: int, head_dim: int, depth: int, d_in: int, seq_len: int, n_train: int,
                  channels: int = 1, seeds: int = 1, batch: Optional[int] = None, steps: int = 0,
                  recorded: int = 1) -> float:
    """Floating-point operations of one `train_heads` call.

    A token's forward pass costs about 2·(6M² + 2SM)·L + 2M(D + c) operations; a training
    step runs forward and backward (×3) on B·S tokens, a recorded step a forward pass on all
    n·S; every seed pays all of it.
    """
    M = heads * head_dim
    b = n_train if batch is None else min(batch, n_train)
    token = 2.0 * (6 * M * M + 2 * seq_len * M) * depth + 2.0 * M * (d_in + channels)
    return float(seeds) * token * seq_len * (3.0 * b * steps + float(n_train) * recorded)
