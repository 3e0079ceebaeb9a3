"""The gated-attention toy model and its N → ∞ limit (pure numpy).

A single layer of G gates (heads), each with N neurons, on P inputs x_μ ∈ R^D (Bordelon,
Chaudhry, Pehlevan, NeurIPS 2024, arXiv:2405.15712, appendix; the authors' notebook trains
it on XOR, P = 4)::

    v_g(μ) = W_V^g x_μ/√D,   q_g(μ) = W_Q^g x_μ/√D,   A_g(μ) = q_g(μ)·k_g / N
    F_g(μ) = w_g·v_g(μ) / N,   f(μ) = (1/γ₀) Σ_g e^{A_g(μ)} F_g(μ)

trained on the centred output f − f₀ with L = Σ_μ (y_μ − f_μ + f₀_μ)²/(2P) by SGD with the
rate ηγ₀²N on every raw weight (all drawn N(0, 1); the logit's 1/N is α_A = 1). Each update
replaces the vectors (w, v(1..P)) and (k, q(1..P)) of a gate by linear combinations of
themselves::

    w' = w + Σ_μ c_μ v(μ),     v'(ν) = v(ν) + (C_x c)_ν w,     c_μ = ηγ₀ Δ_μ e^{A(μ)} / P
    k' = k + Σ_μ d_μ q(μ),     q'(ν) = q(ν) + (C_x d)_ν k,     d_μ = c_μ F(μ)

with Δ_μ = y_μ − f_μ + f₀_μ and C_x(μ, ν) = x_μ·x_ν/D. So the Gram matrices of the two sets,

    G¹ = [[Z, F], [F, V]] of (w, v) / N,      G² = [[K, A], [A, Q]] of (k, q) / N,

evolve in closed form, G' = T G Tᵀ with T the (P+1)×(P+1) map above, and every output is
read off them. This is exact at any N, step by step; the network enters only through the
Gram matrices at initialization. As N → ∞ those concentrate on their expectations — the
dynamical mean field theory of the toy, here solvable exactly in discrete time (the
authors integrate its gradient-flow form, which it approaches as η → 0). Finite N differs
by O(N^{−1/2}) fluctuations of the initial Grams per network, O(1/N) on the seed mean.

Initial conditions as N → ∞: Z = K = 1, F = 0, V = C_x and

    cold start:  A = 0,                       Q = C_x
    warm start:  A_g(μ) = ρ_g u_g·x_μ/√D,     Q_g = ρ_g² (u_g·x)(u_g·x)ᵀ/D + (1 − ρ_g²) C_x

where the warm start draws W_Q^g = ρ_g k_g u_gᵀ + √(1 − ρ_g²) Z_g (Z_g standard normal) with
fixed directions u_g and ρ_g evenly spaced in [−0.9, 0.9]: each gate starts from its own
O(1) attention, which survives N → ∞. From a cold start all gates start at A = 0 and
follow one and the same dynamics in the limit (the heads collapse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

__all__ = ["xor_task", "warm_directions", "ToyCurve", "toy_recursion", "toy_limit", "limit_grams",
           "TOY_STARTS"]

TOY_STARTS = ("warm", "cold")


def xor_task():
    """The XOR task: inputs (4, 2) at the corners (±1, ±1), targets +1 when the signs agree, −1 otherwise."""
    x = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
    return x, np.array([1.0, -1.0, 1.0, -1.0])


def warm_directions(gates, d_in, seed=0):
    """(ρ_g evenly spaced in [−0.9, 0.9] (0 for one gate), u_g standard normal (G, D)) of the warm start."""
    rho = np.linspace(-0.9, 0.9, gates) if gates > 1 else np.zeros(1)
    u = np.random.default_rng((seed, 0x7A11)).standard_normal((gates, d_in))
    return rho, u


@dataclass(frozen=True)
class ToyCurve:
    """The toy's trajectory.

    Attributes
    ----------
    loss : ndarray, shape (..., T + 1)
        L(t) = Σ_μ (y_μ − f_μ + f₀_μ)²/(2P) before step t (t = 0 … T).
    attention : ndarray, shape (..., T + 1, G, P)
        Logits A_g(μ) at every step.
    head_spread : ndarray, shape (..., T + 1)
        Variance across gates (ddof 1) of the attention variable A_g(μ), averaged over the
        P inputs (NaN with one gate).
    kernel : ndarray, shape (..., T + 1, P, P)
        Value-path kernel Σ_g e^{A_g(μ)} e^{A_g(ν)} (V_g(μ, ν) + Z_g C_x(μ, ν)).
    """

    loss: np.ndarray
    attention: np.ndarray
    head_spread: np.ndarray
    kernel: np.ndarray


def _step_map(c, cx):
    """T (…, P+1, P+1): row 0 = (1, c), rows 1.. = (C_x c, I)."""
    P = c.shape[-1]
    T = np.zeros(c.shape[:-1] + (P + 1, P + 1))
    T[..., 0, 0] = 1.0
    T[..., 0, 1:] = c
    T[..., 1:, 0] = c @ cx  # C_x symmetric
    T[..., 1:, 1:] = np.eye(P)
    return T


def toy_recursion(g1, g2, x, y, *, steps, lr, gamma0):
    """Run the closed-form Gram dynamics from given initial Grams.

    Parameters
    ----------
    g1, g2 : ndarray, shape (..., G, P + 1, P + 1)
        Initial Grams of (w, v)/N and (k, q)/N per gate (leading axes: e.g. networks).
    x : ndarray, shape (P, D)
    y : ndarray, shape (P,)
    steps : int
    lr, gamma0 : float
        η and γ₀ (rate ηγ₀²N on the raw weights).

    Returns
    -------
    ToyCurve
        The output is centred on its value at step 0 (f₀ from the initial Grams).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    P, D = x.shape
    cx = x @ x.T / D
    g1 = np.array(g1, dtype=float)
    g2 = np.array(g2, dtype=float)
    out = lambda a, f: np.sum(np.exp(a) * f, axis=-2) / gamma0
    f0 = out(g2[..., 0, 1:], g1[..., 0, 1:])
    loss, attn, spread, kern = [], [], [], []
    for t in range(steps + 1):
        a, F = g2[..., 0, 1:], g1[..., 0, 1:]
        phi = np.exp(a)
        delta = y - (out(a, F) - f0)
        loss.append(0.5 * np.mean(delta ** 2, axis=-1))
        attn.append(a)
        spread.append(_gate_spread(a))
        vz = g1[..., 1:, 1:] + g1[..., 0, 0][..., None, None] * cx
        kern.append(np.sum(phi[..., :, None] * phi[..., None, :] * vz, axis=-3))
        if t == steps:
            break
        c = lr * gamma0 * delta[..., None, :] * phi / P
        t1, t2 = _step_map(c, cx), _step_map(c * F, cx)
        g1 = t1 @ g1 @ np.swapaxes(t1, -1, -2)
        g2 = t2 @ g2 @ np.swapaxes(t2, -1, -2)
    stack = lambda v, k: np.moveaxis(np.array(v), 0, k)
    nd = np.ndim(loss[0])
    return ToyCurve(stack(loss, nd), stack(attn, nd), stack(spread, nd), stack(kern, nd))


def _gate_spread(a):
    """Variance across gates (axis −2, ddof 1) of A_g(μ), mean over μ; NaN with one gate."""
    if a.shape[-2] < 2:
        return np.full(a.shape[:-2], np.nan)
    return np.mean(np.var(a, axis=-2, ddof=1), axis=-1)


def limit_grams(x, gates, start="warm", seed=0):
    """The N → ∞ initial Grams (G, P+1, P+1) of (w, v) and (k, q) (module doc)."""
    if start not in TOY_STARTS:
        raise InputError(f"toy_start must be one of {', '.join(TOY_STARTS)}, got {start!r}")
    x = np.asarray(x, dtype=float)
    P, D = x.shape
    cx = x @ x.T / D
    g1 = np.zeros((gates, P + 1, P + 1))
    g1[:, 0, 0] = 1.0
    g1[:, 1:, 1:] = cx
    g2 = g1.copy()
    if start == "warm":
        rho, u = warm_directions(gates, D, seed)
        ux = u @ x.T / np.sqrt(D)  # (G, P)
        g2[:, 0, 1:] = g2[:, 1:, 0] = rho[:, None] * ux
        g2[:, 1:, 1:] = (rho ** 2)[:, None, None] * ux[:, :, None] * ux[:, None, :] + (1 - rho ** 2)[:, None, None] * cx
    return g1, g2


def toy_limit(x, y, *, gates, steps, lr, gamma0, start="warm", seed=0):
    """The N → ∞ dynamics of the toy (its DMFT): `toy_recursion` from `limit_grams`.

    ``seed`` fixes the warm start's directions u_g (shared with the finite networks).
    """
    g1, g2 = limit_grams(x, gates, start, seed)
    return toy_recursion(g1, g2, x, y, steps=steps, lr=lr, gamma0=gamma0)
