"""Scalings of the multi-head attention model: multipliers and per-tensor learning rates.

Dimensions: H heads of key/query dimension N, model width M = NH, depth L (blocks), D input
features per token, c output channels. Every weight is drawn N(0, 1); every scale is a
multiplier in the forward pass (`kerncurve.nn.attention`)::

    x¹ = W_in x / √D                                    (per token)
    q_h, k_h = W_Q u / √(2M), W_K u / √(2M),   v = W_V u / √M,   u = LN(x^ℓ)
    A_h(s, s′) = softmax_s′( q_h(s)·k_h(s′) / N^{α_A} )
    x^ℓ ← x^ℓ + β₀ (L/L₀)^{−α_L} W_O [Σ_s′ A_h(s, s′) v_h(s′)]_h / √M
    x^ℓ ← x^ℓ + β₀ (L/L₀)^{−α_L} W₂ φ(W₁ LN(x^ℓ) / √M) / √M
    f = w · mean_s LN(x^{L+1})(s) / (γ₀ M),   trained on the centred output f − f₀

(Bordelon, Chaudhry, Pehlevan, *Infinite limits of multi-head transformer dynamics*,
NeurIPS 2024, arXiv:2405.15712). q and k are O(1) per entry at initialization for either
α_A; α_A = 1 (μP-style) makes the initial logits O(N^{−1/2}), so every head starts near
uniform attention and, as N → ∞, follows one deterministic dynamics (the heads collapse);
α_A = ½ (the usual 1/√N) keeps O(1) random logits per head at any N.

Learning rates on the raw N(0, 1) weights, ``lr = η₀ · factor`` (d = (L/L₀)^{2α_L − 1} for
SGD, (L/L₀)^{α_L − 1} for Adam):

=============  =================================  =================================  =====================
tensor         SGD factor                         Adam factor                        Adam ε / ε₀
=============  =================================  =================================  =====================
W_in           γ₀² M                              γ₀                                 M^{−1}
W_Q, W_K       γ₀² M d N^{−2(1−α_A)}              γ₀ M^{−1/2} d N^{−(1−α_A)}         M^{−3/2} (L/L₀)^{−α_L} N^{1−α_A}
W_V, W_O, W₁,  γ₀² M d                            γ₀ M^{−1/2} d                      M^{−3/2} (L/L₀)^{−α_L}
W₂
w              γ₀² M                              γ₀                                 M^{−1}
=============  =================================  =================================  =====================

The SGD rates are the authors' η₀γ₀²M(L/L₀)^{2α_L−1} on weights stored with their
initial scale, moved to the multiplier form: their W_Q, W_K have entries of standard
deviation N^{1−α_A}, which divides the rate on the raw weights by N^{2(1−α_A)} (SGD) or
N^{1−α_A} (Adam); their input and readout layers carry a depth factor in the initial scale
that cancels the one in the rate, which is the depth-free rate here. With these rates every
SGD step moves the output by O(η₀) and the logits of each head by O(η₀γ₀) at any N and H,
and the L blocks together move the residual stream by O(1) at any depth. Adam follows the residual MLP's presets
(`kerncurve.nn.scaling`), with the key/query rate and ε carrying the same N^{1−α_A} as
their gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

from kerncurve.errors import InputError
from kerncurve.nn import _checks
from kerncurve.nn.scaling import OPTIMIZERS

__all__ = ["TENSORS", "INDEX", "AttnScaling", "attention_scaling", "EXPONENT_RANGE"]

#: parameter tensors of the attention model, in drawing order
TENSORS = ("Win", "Wq", "Wk", "Wv", "Wo", "W1", "W2", "w")
#: which learning rate / ε each tensor takes: 0 input, 1 key/query, 2 other hidden, 3 readout
INDEX = {"Win": 0, "Wq": 1, "Wk": 1, "Wv": 2, "Wo": 2, "W1": 2, "W2": 2, "w": 3}
#: allowed range of α_A and α_L
EXPONENT_RANGE = (0.5, 1.0)


@dataclass(frozen=True)
class AttnScaling:
    """Multipliers and learning-rate factors of one attention model.

    Attributes
    ----------
    mult : tuple of float
        (m_in, m_qk, m_hid, logit, branch, m_out) = (D^{−1/2}, (2M)^{−1/2}, M^{−1/2},
        N^{−α_A}, β₀(L/L₀)^{−α_L}, 1/(γ₀M)).
    lr : tuple of float
        Rate per unit η₀ of (input, key/query, other hidden, readout).
    eps : tuple of float
        Adam ε of the same four groups (already multiplied by ε₀).
    """

    attn_exp: float
    depth_exp: float
    mult: tuple
    lr: tuple
    eps: tuple


def _exponent(name, value):
    v = _checks.finite(name, value)
    lo, hi = EXPONENT_RANGE
    if not lo <= v <= hi:
        raise InputError(f"{name} must lie in [{lo:g}, {hi:g}] (½ standard, 1 μP-style), got {value!r}")
    return v


def attention_scaling(heads: int, head_dim: int, depth: int, d_in: int, *, attn_exp: float = 1.0,
                      depth_exp: float = 1.0, optimizer: str = "sgd", gamma0: float = 1.0, beta0: float = 1.0,
                      base_depth: float = 1.0, eps: float = 1e-8) -> AttnScaling:
    """Multipliers and learning-rate factors (table in the module doc).

    Parameters
    ----------
    heads, head_dim, depth, d_in : int
        H, N, L and the token dimension D.
    attn_exp, depth_exp : float in [½, 1]
        α_A (logits q·k/N^{α_A}) and α_L (branch β₀(L/L₀)^{−α_L}).
    optimizer : {'sgd', 'adam'}
    gamma0, beta0 : float
        Richness γ₀ (output divided by γ₀) and branch multiplier β₀.
    base_depth : float
        L₀, the depth at which the branch multiplier is β₀.
    eps : float
        Adam's ε₀.
    """
    H = _checks.whole("heads", heads)
    N = _checks.whole("head_dim", head_dim)
    L = _checks.whole("depth", depth)
    D = _checks.whole("d_in", d_in)
    a_A = _exponent("attn_exp", attn_exp)
    a_L = _exponent("depth_exp", depth_exp)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    g = _checks.positive("gamma0", gamma0)
    b = _checks.positive("beta0", beta0)
    L0 = _checks.positive("base_depth", base_depth)
    e = _checks.positive("eps", eps, allow_zero=True)
    M = N * H
    r = L / L0
    mult = (D ** -0.5, (2.0 * M) ** -0.5, M ** -0.5, float(N) ** -a_A, b * r ** -a_L, 1.0 / (g * M))
    if optimizer == "sgd":
        d = r ** (2 * a_L - 1)
        lr = (g * g * M, g * g * M * d * float(N) ** (-2 * (1 - a_A)), g * g * M * d, g * g * M)
    else:
        d = r ** (a_L - 1)
        lr = (g, g * M ** -0.5 * d * float(N) ** (-(1 - a_A)), g * M ** -0.5 * d, g)
    hidden_eps = e * M ** -1.5 * r ** -a_L
    eps_t = (e / M, hidden_eps * float(N) ** (1 - a_A), hidden_eps, e / M)
    return AttnScaling(a_A, a_L, mult, lr, eps_t)
