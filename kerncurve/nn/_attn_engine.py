"""Jitted training of the attention model over seeds (imports JAX; use through `kerncurve.nn.train_heads`).

The training loop, the optimizers and the divergence freeze are the residual MLP's
(`kerncurve.nn._engine.train_one`); this module supplies the network, the per-tensor
index of learning rates, and what is observed on the probe sequences: the across-head
spread of every block's attention and the final-layer kernel at the recorded steps, the
attention maps at initialization and at the end, and how far W_Q and W_K moved.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from kerncurve.nn._engine import train_one
from kerncurve.nn.attention import attention_maps, forward, head_spread, kernel
from kerncurve.nn.attn_scaling import INDEX

_STATIC = ("heads", "activation", "optimizer", "steps", "batch", "centred", "linearized", "keep")


def _relative_change(new, old):
    """‖new − old‖_F / ‖old‖_F per block of a stacked (L, M, M) weight."""
    return jnp.sqrt(jnp.sum((new - old) ** 2, axis=(1, 2)) / jnp.sum(old ** 2, axis=(1, 2)))


@partial(jax.jit, static_argnames=_STATIC)
def heads_grid(params0, orders, eta0, x, y, record, probe, mult, lrf, eps, **static):
    """Train one model size for every seed (leading axis of ``params0`` and ``orders``).

    Returns per seed: ``train`` (steps + 1,) the full training loss (at recorded steps),
    ``curve`` the batch losses, ``diverged``, ``observed`` {``spread`` (steps + 1, L),
    ``kernel`` (steps + 1, P, P)} filled at recorded steps, ``maps0`` and ``maps`` the
    attention (L, P, H, S, S) on the probe at initialization and after training, ``move``
    (L, 2) the relative change of W_Q and W_K.
    """
    opts = {"mult": mult, "heads": static["heads"], "activation": static["activation"]}
    net = partial(forward, **opts)
    maps = partial(attention_maps, **opts)

    def observe(p):
        return {"spread": head_spread(maps(p, probe)), "kernel": kernel(p, probe, **opts)}

    def run(p0, order):
        out = train_one(p0, order, eta0, x, y, None, None, record, net, lrf, eps, static, INDEX, observe)
        final = out.pop("params")
        out["maps0"] = maps(p0, probe)
        out["maps"] = maps(final, probe)
        out["move"] = jnp.stack([_relative_change(final[k], p0[k]) for k in ("Wq", "Wk")], axis=-1)
        return out

    return jax.vmap(run)(params0, orders)
