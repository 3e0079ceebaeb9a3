"""Parameterizations of the residual MLP: each preset is a set of exponents of N, L and D.

The network is written in multiplier form: every weight is drawn N(0, 1) and every scale is
a multiplier in the forward pass (D inputs, width N, depth L)::

    h¹      = m_in · W⁰ x,                         m_in  = D^{-1/2}
    h^{ℓ+1} = h^ℓ + m_hid · W^ℓ φ(h^ℓ),  ℓ = 1..L,  m_hid = β₀ L^{-α} N^{-1/2}
    f       = m_out · w·φ(h^{L+1}),                  m_out = 1/(γ₀ N)  (mean field) or N^{-1/2} (sp)

(Bordelon, Noci, Li, Hanin, Pehlevan, *Depthwise hyperparameter transfer in residual
networks*, ICLR 2024, arXiv:2309.16620). Mean-field presets train the centred output
f − f₀. Each tensor has its own learning rate on the raw N(0, 1) weights, ``lr = η₀ · factor``:

==========  ==================  ===================  =====================  ==================
tensor      multiplier          SGD factor           Adam factor            Adam ε / ε₀
==========  ==================  ===================  =====================  ==================
mean field  (``mup``: α = 0, ``depth-mup``: α = ½, ``depth-mup-1``: α = 1)
W⁰          D^{-1/2}            γ₀² N                γ₀                     N^{-1}
W^ℓ         β₀ L^{-α} N^{-1/2}  γ₀² N L^{2α-1}       γ₀ N^{-1/2} L^{α-1}    N^{-3/2} L^{-α}
w           1/(γ₀ N)            γ₀² N                γ₀                     N^{-1}
standard    (``sp``: α = 0, β₀ = 1, no γ₀, output not centred)
W⁰          D^{-1/2}            D                    D^{1/2}                D^{-1/2}
W^ℓ         L^{-α} N^{-1/2}     N                    N^{1/2}                N^{-1/2}
w           N^{-1/2}            N                    N^{1/2}                N^{-1/2}
==========  ==================  ===================  =====================  ==================

Why these numbers. For a tensor θ = m·W (m its multiplier), SGD on W with rate η_W moves θ
as SGD on θ with rate m²η_W. *sp* is what a PyTorch user runs: θ stored with variance 1/fan_in
and one rate η for every tensor, so η_W = η·fan_in (without that factor the multiplier form
would be the NTK parameterization, not sp). *Mean field, SGD*: η = η₀γ₀²N makes each step
move the output by O(η₀) and the features by O(η₀γ₀) at any N; the factor L^{2α−1} on the
hidden weights makes each residual branch move by O(η₀γ₀/L), so the L branches together
move the features by O(1) at any depth (α = ½: no depth factor; α = 1: × L). ``mup`` is
the same rule at α = 0 (η ∝ 1/L on the hidden weights): μP in width (Yang & Hu,
arXiv:2011.14522) with unscaled branches, the baseline the depth-μP papers compare with. Its
learning rate keeps the per-step movement of the trained features at O(1), but its forward
pass is not depth-stable: with branch multiplier 1 the hidden states' variance grows with L
at initialization, so how the loss responds to η₀ still changes with depth. Input and
readout are not residual and keep a depth-free rate (the authors reach the same effect for
α = 1 by rescaling those layers' multipliers and initial variances by √L).

*Adam* (Yang, Yu, Zhu, Hayou, *Tensor Programs VI*, arXiv:2310.02244; CompleteP) moves
every entry by about its learning rate whatever the gradient's size. In standard-init form
(θ = W/√fan_in stored, other multipliers kept in the forward pass) the hidden rate is
η₀γ₀ N^{-1} L^{α-1} (branch multiplier L^{-α}, update size L^{-γ}, α + γ = 1) and ε is
scaled by N^{-1} L^{-α}. Adam on W with rate η_W and ε_W is exactly Adam on θ = W/√f with
rate η_W/√f and ε_W·√f (the gradient in W is the gradient in θ divided by √f), so in the
multiplier form the hidden rate is η₀γ₀ N^{-1/2} L^{α-1} and ε_W = ε₀ N^{-3/2} L^{-α}. For
W⁰ and w the same argument gives a width-free rate η₀γ₀ (Δh¹ ∝ η_W √D, Δf ∝ η_W/γ₀); every
ε follows its tensor's gradient scale at initialization (N^{-1} for W⁰ and w), so ε/√v does
not drift with N or L. For sp, one Adam rate η and one ε on the stored θ give
η_W = η √fan_in and ε_W = ε/√fan_in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from kerncurve.nn import _checks

__all__ = ["PARAMS", "OPTIMIZERS", "ACTIVATIONS", "PRESET_ALPHA", "Scaling", "scaling"]

PARAMS = ("sp", "mup", "depth-mup", "depth-mup-1", "mlp")
OPTIMIZERS = ("sgd", "adam")
ACTIVATIONS = ("tanh", "relu", "gelu", "linear")

#: branch exponent α of each preset (``h^{ℓ+1} = h^ℓ + β₀ L^{-α} W^ℓ φ(h^ℓ)/√N``)
PRESET_ALPHA = {"sp": 0.0, "mup": 0.0, "depth-mup": 0.5, "depth-mup-1": 1.0, "mlp": 0.0}


@dataclass(frozen=True)
class Scaling:
    """Multipliers and per-tensor learning-rate factors of one network size.

    Each triple is ordered (input W⁰, hidden W^ℓ, readout w).

    Attributes
    ----------
    param : str
        The preset's name.
    alpha : float
        Branch exponent actually used (the preset's, or the override).
    centred : bool
        Whether the output is f − f₀ (the initial output subtracted).
    mult : tuple of float
        Forward multipliers (m_in, m_hid, m_out), and for ``mlp`` a fourth, 0, on the skip connection.
    lr : tuple of float
        Learning rate on the raw weights per unit η₀.
    eps : tuple of float
        Adam ε on the raw weights (already multiplied by ε₀); unused by SGD.
    """

    param: str
    alpha: float
    centred: bool
    mult: tuple
    lr: tuple
    eps: tuple


def scaling(param: str, width: int, depth: int, d_in: int, *, optimizer: str = "sgd",
            gamma0: float = 1.0, beta0: float = 1.0, alpha: Optional[float] = None,
            eps: float = 1e-8) -> Scaling:
    """Resolve a preset into multipliers and learning-rate factors (table in the module doc).

    Parameters
    ----------
    param : {'sp', 'mup', 'depth-mup', 'depth-mup-1', 'mlp'}
        ``mlp``: the plain mean-field MLP ``h^{ℓ+1} = W^ℓ φ(h^ℓ)/√N`` (no skip, no branch
        multiplier, μP rates without depth factors), the control of `kerncurve limits`.
    width, depth, d_in : int
        N, L and the input dimension D.
    optimizer : {'sgd', 'adam'}
    gamma0 : float
        Richness γ₀ of the mean-field presets (γ₀ → 0 is the lazy limit); sp ignores it.
    beta0 : float
        Branch multiplier β₀ of the mean-field presets; sp uses 1.
    alpha : float, optional
        Overrides the preset's branch exponent α. The mean-field presets rescale their hidden
        learning rate with it (SGD L^{2α−1}, Adam L^{α−1}); ``sp`` keeps its one rate.
    eps : float
        Adam's ε₀ before scaling.

    Returns
    -------
    Scaling
    """
    _checks.choice("param", param, PARAMS)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    N = _checks.whole("width", width)
    L = _checks.whole("depth", depth)
    D = _checks.whole("d_in", d_in)
    g = _checks.positive("gamma0", gamma0)
    b = _checks.positive("beta0", beta0)
    e = _checks.positive("eps", eps, allow_zero=True)
    a = PRESET_ALPHA[param] if alpha is None else _checks.finite("alpha", alpha)
    if param == "sp":
        mult = (D ** -0.5, L ** -a * N ** -0.5, N ** -0.5)
        if optimizer == "sgd":
            lr = (float(D), float(N), float(N))
        else:
            lr = (D ** 0.5, N ** 0.5, N ** 0.5)
        eps_t = (e * D ** -0.5, e * N ** -0.5, e * N ** -0.5)
        return Scaling(param, a, False, mult, lr, eps_t)
    if param == "mlp":  # no skip (fourth multiplier 0), no branch factor, depth-free μP rates
        mult = (D ** -0.5, N ** -0.5, 1.0 / (g * N), 0.0)
        lr = (g * g * N, g * g * N, g * g * N) if optimizer == "sgd" else (g, g * N ** -0.5, g)
        return Scaling(param, 0.0, True, mult, lr, (e / N, e * N ** -1.5, e / N))
    depth_lr = L ** ((2 * a - 1) if optimizer == "sgd" else (a - 1))
    mult = (D ** -0.5, b * L ** -a * N ** -0.5, 1.0 / (g * N))
    if optimizer == "sgd":
        lr = (g * g * N, g * g * N * depth_lr, g * g * N)
    else:
        lr = (g, g * N ** -0.5 * depth_lr, g)
    eps_t = (e / N, e * N ** -1.5 * L ** -a, e / N)
    return Scaling(param, a, True, mult, lr, eps_t)
