"""The last layer's features after k training steps, for kernel observables (imports JAX lazily).

``φ(h^{L+1})`` on the training inputs after each of the requested numbers of full-batch steps,
for every seed, with the same initial weights as `kerncurve.nn.train` draws for that seed. Each
requested step is its own run of the coordinate-check program of `kerncurve.nn._engine` (the
training is deterministic, so the runs share their trajectory).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from kerncurve.nn import _checks
from kerncurve.nn.scaling import ACTIVATIONS, scaling
from kerncurve.nn.train import draws, precision

__all__ = ["feature_kernels"]


def feature_kernels(x, y, *, param: str, width: int, depth: int, lr: float, at: Sequence[int],
                    optimizer: str = "sgd", activation: str = "tanh", gamma0: float = 1.0, beta0: float = 1.0,
                    alpha: Optional[float] = None, seeds: int = 2, seed: int = 0, eps: float = 1e-8,
                    dtype: str = "float32") -> np.ndarray:
    """Kernels ``φ(h^{L+1}) φ(h^{L+1})ᵀ/N`` of the last layer on the training inputs.

    Returns
    -------
    ndarray, shape (len(at), seeds, P, P)
        One kernel per requested step (≥ 1) and seed.
    """
    x, y = _checks.data(x, y)
    _checks.choice("activation", activation, ACTIVATIONS)
    steps = [_checks.whole("at", k) for k in at]
    sc = scaling(param, width, depth, x.shape[1], optimizer=optimizer, gamma0=gamma0, beta0=beta0, alpha=alpha,
                 eps=eps)
    out = np.empty((len(steps), seeds, x.shape[0], x.shape[0]))
    with precision(dtype):
        import jax
        import jax.numpy as jnp

        from kerncurve.nn._engine import coord_grid
        from kerncurve.nn.model import ACT

        dt = jnp.float64 if dtype == "float64" else jnp.float32
        arr = lambda a: jnp.asarray(a, dt)
        params0, _ = draws(seed, seeds, x.shape[1], width, depth, y.shape[1])
        p0 = jax.tree_util.tree_map(arr, params0)
        for i, k in enumerate(steps):
            res = coord_grid(p0, arr(lr), arr(x), arr(y), arr(sc.mult), arr(sc.lr), arr(sc.eps), width=width,
                             depth=depth, activation=activation, optimizer=optimizer, steps=k, batch=None,
                             centred=sc.centred, linearized=False)
            phi = ACT[activation](res["h_end"][:, -1])  # (seeds, P, N)
            out[i] = np.asarray(jnp.einsum("spn,sqn->spq", phi, phi) / width, dtype=float)
    return out
