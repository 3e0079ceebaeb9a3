"""Coordinate check across width and depth, and the depth-diversity curve.

Coordinate check (Yang et al., microsoft/mup ``coord_check``, here also across depth): the
RMS over samples and neurons of every layer's pre-activation h^ℓ, and of its change
h^ℓ(k) − h^ℓ(0) after k = 1..K training steps, for each width N and depth L at one base
learning rate. In a parameterization with a width and depth limit these curves do not drift
with N or L; under standard parameterization the change grows like √N.

Depth diversity (Yang, Yu, Zhu, Hayou, Tensor Programs VI, arXiv:2310.02244)::

    d(ε) = ‖h_{⌊(λ+ε)L⌋} − h_{⌊λL⌋}‖ / √N

with h_k the hidden state after k residual blocks (h_0 = h¹, h_L = h^{L+1}), RMS over
samples. Under depth-μP the blocks add independent O(L^{-1/2}) increments, so d grows like
ε^{1/2}; with α = 1 the increments are O(1/L) and, once training has aligned them, d grows
like ε.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from kerncurve.errors import InputError
from kerncurve.nn import _checks
from kerncurve.nn.scaling import ACTIVATIONS, scaling
from kerncurve.nn.train import draws, precision

__all__ = ["CoordCheck", "coord_check", "depth_diversity"]


@dataclass(frozen=True)
class CoordCheck:
    """Seed-mean RMS curves of every (width, depth).

    Attributes
    ----------
    widths, depths : tuple
    steps : int
        K.
    rms, delta : dict
        ``(width, depth) → ndarray (K + 1, L + 1)``: RMS of h^ℓ(k) and of h^ℓ(k) − h^ℓ(0),
        row k = step, column ℓ − 1 = layer.
    eps : ndarray
        The ε of the depth-diversity curves.
    diversity : ndarray, shape (width, depth, 2, len(eps))
        d(ε) at initialization ([..., 0, :]) and after K steps ([..., 1, :]).
    diverged : ndarray of bool, shape (width, depth)
        A seed's RMS turned non-finite.
    """

    widths: tuple
    depths: tuple
    steps: int
    rms: dict
    delta: dict
    eps: np.ndarray
    diversity: np.ndarray
    diverged: np.ndarray

    def last_layer(self, kind: str = "delta", step: Optional[int] = None) -> np.ndarray:
        """RMS of the last layer h^{L+1} (``kind`` 'rms' or 'delta') at ``step`` (default K), (width, depth)."""
        if kind not in ("rms", "delta"):
            raise InputError(f"kind must be 'rms' or 'delta', got {kind!r}")
        k = self.steps if step is None else _checks.whole("step", step, 0)
        if k > self.steps:
            raise InputError(f"step must be at most steps = {self.steps}, got {k}")
        table = self.rms if kind == "rms" else self.delta
        return np.array([[table[n, d][k, -1] for d in self.depths] for n in self.widths])


def depth_diversity(h, eps, lam: float = 0.5) -> np.ndarray:
    """d(ε) = ‖h_{⌊(λ+ε)L⌋} − h_{⌊λL⌋}‖/√N, RMS over samples.

    Parameters
    ----------
    h : array, shape (..., L + 1, n, N)
        Hidden states after 0..L residual blocks.
    eps : sequence of float
        Depth fractions ε with 0 ≤ λ + ε ≤ 1.
    lam : float
        Starting depth fraction λ in [0, 1].

    Returns
    -------
    ndarray, shape (..., len(eps))
    """
    h = np.asarray(h, dtype=float)
    if h.ndim < 3:
        raise InputError(f"h must have shape (..., L + 1, n, N), got {h.shape}")
    eps = np.atleast_1d(np.asarray(eps, dtype=float))
    if not 0 <= lam <= 1 or np.any(eps < 0) or np.any(lam + eps > 1):
        raise InputError(f"lam and eps must satisfy 0 ≤ lam ≤ lam + eps ≤ 1, got lam={lam}, eps={eps.tolist()}")
    L = h.shape[-3] - 1
    start = int(np.floor(lam * L))
    ends = np.floor((lam + eps) * L + 1e-9).astype(int)
    diff = np.take(h, ends, axis=-3) - h[..., start:start + 1, :, :]
    return np.sqrt(np.mean(diff * diff, axis=(-2, -1)))


def coord_check(x, y, *, param: str = "depth-mup", widths: Sequence[int] = (64, 128, 256),
                depths: Sequence[int] = (4, 16, 64), lr: float = 1.0, steps: int = 3,
                optimizer: str = "sgd", activation: str = "tanh", gamma0: float = 1.0,
                beta0: float = 1.0, alpha: Optional[float] = None, seeds: int = 2, seed: int = 0,
                eps: float = 1e-8, diversity_eps: Sequence[float] = (0.0625, 0.125, 0.25, 0.5),
                lam: float = 0.25, dtype: str = "float32") -> CoordCheck:
    """Train K full-batch steps at each (width, depth) and record the RMS of every layer.

    Parameters
    ----------
    x, y : array
        Training inputs (P, D) (also the probe inputs) and targets.
    param, optimizer, activation, gamma0, beta0, alpha, seeds, seed, eps, dtype
        As in `kerncurve.nn.train`.
    widths, depths : sequence of int
    lr : float
        Base learning rate η₀.
    steps : int
        K ≥ 1.
    diversity_eps, lam : sequence of float, float
        ε grid and starting fraction λ of the depth-diversity curve.

    Returns
    -------
    CoordCheck
    """
    x, y = _checks.data(x, y)
    widths = _checks.whole_list("widths", widths)
    depths = _checks.whole_list("depths", depths)
    lr = _checks.positive("lr", lr)
    steps = _checks.whole("steps", steps)
    seeds = _checks.whole("seeds", seeds)
    seed = _checks.whole("seed", seed, 0)
    _checks.choice("activation", activation, ACTIVATIONS)
    d_eps = np.atleast_1d(np.asarray(diversity_eps, dtype=float))
    depth_diversity(np.zeros((2, 1, 1)), d_eps, lam)  # validates eps and lam before any training
    rms, delta = {}, {}
    div = np.empty((len(widths), len(depths), 2, len(d_eps)))
    bad = np.zeros((len(widths), len(depths)), dtype=bool)
    with precision(dtype):
        import jax
        import jax.numpy as jnp

        from kerncurve.nn._engine import coord_grid

        dt = jnp.float64 if dtype == "float64" else jnp.float32
        arr = lambda a: jnp.asarray(a, dt)
        for i, n in enumerate(widths):
            for j, d in enumerate(depths):
                sc = scaling(param, n, d, x.shape[1], optimizer=optimizer, gamma0=gamma0, beta0=beta0,
                             alpha=alpha, eps=eps)
                params0, _ = draws(seed, seeds, x.shape[1], n, d, y.shape[1])
                out = coord_grid(jax.tree_util.tree_map(arr, params0), arr(lr), arr(x), arr(y),
                                 arr(sc.mult), arr(sc.lr), arr(sc.eps),
                                 width=n, depth=d, activation=activation, optimizer=optimizer, steps=steps,
                                 batch=None, centred=sc.centred, linearized=False)
                out = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=float), out)
                rms[n, d] = out["rms"].mean(axis=0)
                delta[n, d] = out["delta"].mean(axis=0)
                bad[i, j] = not np.all(np.isfinite(out["rms"]))
                div[i, j, 0] = depth_diversity(out["h0"], d_eps, lam).mean(axis=0)
                div[i, j, 1] = depth_diversity(out["h_end"], d_eps, lam).mean(axis=0)
    return CoordCheck(widths, depths, steps, rms, delta, d_eps, div, bad)
