"""The residual MLP in JAX: initialization, forward pass, hidden states (imports JAX).

Import this module only after `kerncurve.nn._jax.require_jax` succeeded.

Multiplier form, all weights N(0, 1) (Bordelon, Noci, Li, Hanin, Pehlevan, ICLR 2024,
arXiv:2309.16620)::

    h¹ = m_in W⁰x,   h^{ℓ+1} = h^ℓ + m_hid W^ℓ φ(h^ℓ) (ℓ = 1..L),   f = m_out w·φ(h^{L+1})

with the multipliers of `kerncurve.nn.scaling` (a fourth multiplier 0 drops the skip
connection: the plain MLP of the preset ``mlp``). The L hidden matrices are stacked as one
(L, N, N) array and applied by `jax.lax.scan`, so tracing and compiling cost the same at
any depth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["ACT", "forward", "hidden_states", "mse"]

#: φ by name; gelu is the exact (erf) form
ACT = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": lambda h: jax.nn.gelu(h, approximate=False),
    "linear": lambda h: h,
}


def _trunk(params, x, mult, activation, keep):
    phi = ACT[activation]
    h = (x @ params["W0"].T) * mult[0]
    skip = mult[3] if mult.shape[0] > 3 else 1.0  # 0: a plain MLP h^{ℓ+1} = m_hid W^ℓ φ(h^ℓ) (preset 'mlp')

    def layer(h, W):
        h = skip * h + (phi(h) @ W.T) * mult[1]
        return h, (h if keep else None)

    last, hs = jax.lax.scan(layer, h, params["W"])
    return h, last, hs


def forward(params, x, mult, activation: str):
    """Network output f = m_out w·φ(h^{L+1}), shape (n, c); not centred."""
    _, last, _ = _trunk(params, x, mult, activation, keep=False)
    return (ACT[activation](last) @ params["w"]) * mult[2]


def hidden_states(params, x, mult, activation: str):
    """Pre-activations h¹ … h^{L+1}, shape (L+1, n, N)."""
    first, _, hs = _trunk(params, x, mult, activation, keep=True)
    return jnp.concatenate([first[None], hs], axis=0)


def mse(out, y):
    """L = |f − y|²/(2P): mean over samples, sum over output channels."""
    return 0.5 * jnp.mean(jnp.sum((out - y) ** 2, axis=-1))
