"""Finite width, finite data and training time; the compute-optimal split.

Model (Bordelon, Atanasov & Pehlevan, *A Dynamical Model of Neural Scaling Laws*, ICML 2024,
arXiv:2402.01092): teacher y = w*·ψ(x) with ⟨ψψᵀ⟩ = diag(λ_k), k = 1…M; student
f = (1/√N) w·Aψ(x) with A ∈ R^{N×M} i.i.d. N(0, 1); P training samples; gradient flow on
(1/2P) Σ_μ (f − y)² from w = 0. Δ = w* − Aᵀw/√N obeys dΔ/dt = −(AᵀA/N)(ΨᵀΨ/P)Δ and the
test loss is L(t) = E Σ_k λ_k Δ_k(t)².

The spectrum is a `kerncurve.spectral.Spectrum` (or arrays of eigenvalues λ_k and *target
power* p_k = λ_k w*_k², the kernel's v_k²), so w* is never formed. The frequency-domain
equations were re-derived by deterministic equivalents; see docs/theory/dynamics.md.

* `kappa` — κ(z) of κ R_N R_P = z (a different equation from the ridge κ when N and P are
  both finite; with one of them infinite it is the ridge κ, solved by `theory.ridge`);
* `loss` — L(N, P, t) by the two-variable Talbot inversion, and the closed forms;
* `frontier` — the compute-optimal split of C = N·t and its predicted power laws.
"""

from .frontier import Frontier, FrontierExponents, compute_frontier, predicted_frontier_exponents
from .kappa import TALBOT_NODES, _talbot_upper, as_spectrum, kappa_contour, kappa_real  # noqa: F401
from .loss import asymptotic_loss, loss, loss_gradient_flow, ridgeless_loss, width_limited_loss

__all__ = [
    "TALBOT_NODES",
    "Frontier",
    "FrontierExponents",
    "as_spectrum",
    "kappa_real",
    "kappa_contour",
    "loss",
    "loss_gradient_flow",
    "ridgeless_loss",
    "width_limited_loss",
    "asymptotic_loss",
    "compute_frontier",
    "predicted_frontier_exponents",
]
