"""Finite-N gated-attention toy networks, trained weight by weight (pure numpy).

The model is `kerncurve.theory.heads_toy`'s: G gates of N neurons, A_g(μ) = q_g(μ)·k_g/N,
f = (1/γ₀) Σ_g e^{A_g} w_g·v_g/N, SGD with rate ηγ₀²N on every raw weight. Here the N-
dimensional weights themselves are updated with the gradient written out by hand (every
seed and gate at once), so this is an independent check of the closed-form Gram dynamics:
a network equals `toy_recursion` run from its own initial Grams, and the seed mean
approaches the N → ∞ limit as N grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.theory.heads_toy import ToyCurve, warm_directions

__all__ = ["ToyWeights", "toy_init", "toy_output", "toy_gradients", "toy_networks", "toy_grams"]


@dataclass
class ToyWeights:
    """Raw weights, leading axes (seeds, G): w, k (…, N); Wv, Wq (…, N, D)."""

    w: np.ndarray
    Wv: np.ndarray
    k: np.ndarray
    Wq: np.ndarray


def toy_init(seeds, gates, width, d_in, *, start="warm", seed=0):
    """Draw ``seeds`` networks: seed s uses child s of ``numpy.random.SeedSequence(seed)``.

    Warm start: W_Q^g = ρ_g k_g u_gᵀ + √(1 − ρ_g²) Z_g with the fixed (ρ_g, u_g) of
    `kerncurve.theory.heads_toy.warm_directions` (the same for every seed and N).
    """
    shape = (gates, width)
    w, Wv, k, Wq = [], [], [], []
    for child in np.random.SeedSequence(seed).spawn(seeds):
        rng = np.random.default_rng(child)
        w.append(rng.standard_normal(shape))
        Wv.append(rng.standard_normal(shape + (d_in,)))
        k.append(rng.standard_normal(shape))
        Wq.append(rng.standard_normal(shape + (d_in,)))
    weights = ToyWeights(np.array(w), np.array(Wv), np.array(k), np.array(Wq))
    if start == "warm":
        rho, u = warm_directions(gates, d_in, seed)
        weights.Wq = (rho[:, None, None] * weights.k[..., None] * u[:, None, :]
                      + np.sqrt(1 - rho ** 2)[:, None, None] * weights.Wq)
    return weights


def _parts(p, x):
    """v, q (…, G, N, P), F, A (…, G, P)."""
    N, D = p.w.shape[-1], x.shape[1]
    v = np.einsum("...nd,pd->...np", p.Wv, x) / np.sqrt(D)
    q = np.einsum("...nd,pd->...np", p.Wq, x) / np.sqrt(D)
    F = np.einsum("...n,...np->...p", p.w, v) / N
    A = np.einsum("...n,...np->...p", p.k, q) / N
    return v, q, F, A


def toy_output(p, x, gamma0):
    """f(μ) = (1/γ₀) Σ_g e^{A_g(μ)} F_g(μ), shape (…, P)."""
    _, _, F, A = _parts(p, x)
    return np.sum(np.exp(A) * F, axis=-2) / gamma0


def toy_gradients(p, x, delta, gamma0):
    """Gradients of L = Σ_μ Δ_μ²/(2P) with Δ = y − f + f₀ (given ``delta``), as a ToyWeights."""
    N, D = p.w.shape[-1], x.shape[1]
    P = x.shape[0]
    v, q, F, A = _parts(p, x)
    g = -delta[..., None, :] * np.exp(A) / (P * gamma0 * N)  # −Δ_μ e^{A_g(μ)}/(Pγ₀N), (…, G, P)
    xs = x / np.sqrt(D)
    return ToyWeights(
        w=np.einsum("...p,...np->...n", g, v),
        Wv=np.einsum("...p,...n,pd->...nd", g, p.w, xs),
        k=np.einsum("...p,...np->...n", g * F, q),
        Wq=np.einsum("...p,...n,pd->...nd", g * F, p.k, xs),
    )


def toy_grams(p, x):
    """The Gram matrices (…, G, P+1, P+1) of (w, v)/N and (k, q)/N."""
    v, q, _, _ = _parts(p, x)
    N = p.w.shape[-1]
    a = np.concatenate([p.w[..., None], v], axis=-1)
    b = np.concatenate([p.k[..., None], q], axis=-1)
    return np.einsum("...ni,...nj->...ij", a, a) / N, np.einsum("...ni,...nj->...ij", b, b) / N


def toy_networks(x, y, *, width, gates, steps, lr, gamma0, seeds=3, seed=0, start="warm"):
    """Train ``seeds`` toy networks of N = ``width`` by SGD on the raw weights.

    Returns
    -------
    ToyCurve
        With a leading seed axis.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    p = toy_init(seeds, gates, width, x.shape[1], start=start, seed=seed)
    rate = lr * gamma0 ** 2 * width
    P, D = x.shape
    cx = x @ x.T / D
    f0 = toy_output(p, x, gamma0)
    loss, attn, spread, kern = [], [], [], []
    for t in range(steps + 1):
        v, _, F, A = _parts(p, x)
        phi = np.exp(A)
        delta = y - (np.sum(phi * F, axis=-2) / gamma0 - f0)
        loss.append(0.5 * np.mean(delta ** 2, axis=-1))
        attn.append(A)
        spread.append(np.mean(np.var(A, axis=-2, ddof=1), axis=-1) if gates > 1 else np.full(seeds, np.nan))
        V = np.einsum("...np,...nq->...pq", v, v) / width
        Z = np.mean(p.w ** 2, axis=-1)
        kern.append(np.sum(phi[..., :, None] * phi[..., None, :] * (V + Z[..., None, None] * cx), axis=-3))
        if t == steps:
            break
        g = toy_gradients(p, x, delta, gamma0)
        p = ToyWeights(p.w - rate * g.w, p.Wv - rate * g.Wv, p.k - rate * g.k, p.Wq - rate * g.Wq)
    stack = lambda v: np.moveaxis(np.array(v), 0, 1)
    return ToyCurve(stack(loss), stack(attn), stack(spread), stack(kern))
