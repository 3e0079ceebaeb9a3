"""The pre-LayerNorm multi-head attention model in JAX (imports JAX).

Import this module only after `kerncurve.nn._jax.require_jax` succeeded. Equations and
scalings: `kerncurve.nn.attn_scaling`. Inputs are sequences ``x`` of shape (n, S, D); the
L blocks' weights are stacked along a leading layer axis and applied by `jax.lax.scan`
(tracing and compiling cost the same at any depth). ``mult`` is the array of multipliers
(m_in, m_qk, m_hid, logit, branch, m_out); ``heads`` and ``activation`` are static.

Positions enter only through the tokens themselves: without a positional code in the
inputs the model is equivariant to permuting the positions (the sample sequences carry a
one-hot position or a marker token).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kerncurve.nn.model import ACT

__all__ = ["layer_norm", "forward", "attention_maps", "features", "kernel", "head_spread"]

LN_EPS = 1e-6


def layer_norm(x):
    """(x − mean)/√(var + 10⁻⁶) over the last axis, without learned gain or bias."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + LN_EPS)


def _attend(u, Wq, Wk, Wv, mult, heads):
    """Attention matrices (n, H, S, S) and the heads' outputs concatenated (n, S, M)."""
    n, S, M = u.shape
    split = lambda a: a.reshape(n, S, heads, M // heads)
    q = split((u @ Wq.T) * mult[1])
    k = split((u @ Wk.T) * mult[1])
    v = split((u @ Wv.T) * mult[2])
    A = jax.nn.softmax(jnp.einsum("nshd,nthd->nhst", q, k) * mult[3], axis=-1)
    return A, jnp.einsum("nhst,nthd->nshd", A, v).reshape(n, S, M)


def _trunk(params, x, mult, heads, activation, keep):
    """Residual stream after the L blocks (n, S, M) and, with ``keep``, every block's A (L, n, H, S, S)."""
    phi = ACT[activation]
    h = (x @ params["Win"].T) * mult[0]

    def block(h, W):
        Wq, Wk, Wv, Wo, W1, W2 = W
        A, o = _attend(layer_norm(h), Wq, Wk, Wv, mult, heads)
        h = h + mult[4] * (o @ Wo.T) * mult[2]
        u = layer_norm(h)
        h = h + mult[4] * (phi((u @ W1.T) * mult[2]) @ W2.T) * mult[2]
        return h, (A if keep else None)

    stacked = tuple(params[k] for k in ("Wq", "Wk", "Wv", "Wo", "W1", "W2"))
    return jax.lax.scan(block, h, stacked)


def features(params, x, mult, heads, activation):
    """Mean-pooled final representation mean_s LN(x^{L+1})(s), shape (n, M)."""
    last, _ = _trunk(params, x, mult, heads, activation, keep=False)
    return jnp.mean(layer_norm(last), axis=1)


def forward(params, x, mult, heads, activation):
    """Network output f = w·features/(γ₀M), shape (n, c); not centred."""
    return (features(params, x, mult, heads, activation) @ params["w"]) * mult[5]


def attention_maps(params, x, mult, heads, activation):
    """Attention matrices of every block and head, shape (L, n, H, S, S) (rows sum to 1)."""
    _, maps = _trunk(params, x, mult, heads, activation, keep=True)
    return maps


def kernel(params, x, mult, heads, activation):
    """Final-layer kernel K(μ, ν) = φ_μ·φ_ν/M of the pooled features, shape (n, n)."""
    phi = features(params, x, mult, heads, activation)
    return phi @ phi.T / phi.shape[-1]


def head_spread(maps):
    """Variance across heads (ddof 1) of A_h(s, s′), averaged over samples and positions, per block (L,).

    NaN with a single head.
    """
    H = maps.shape[2]
    if H < 2:
        return jnp.full(maps.shape[0], jnp.nan, maps.dtype)
    return jnp.mean(jnp.var(maps, axis=2, ddof=1), axis=(1, 2, 3))
