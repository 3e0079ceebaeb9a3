"""Kernels that move: silent alignment of deep linear networks and the NTK-alignment toy model.

Two exactly analysable pictures of a neural tangent kernel that changes during training
(docs/theory/alignment.md):

* **Silent alignment** (Atanasov, Bordelon & Pehlevan, ICLR 2022, arXiv:2111.00034):
  `silent` — the final kernel M_∞ = |β_∞|^{2(L−1)/L}(I + (L−1)β̂_∞β̂_∞ᵀ) of a deep linear
  network trained from small initialization, its time scales and the silence diagnostic
  cos(ĉ, β̂_∞); `flow` — the predicted time course (the balanced end-to-end flow
  dβ/dt = −M(β)∇L(β); Arora, Cohen & Hazan, ICML 2018).
* **NTK-alignment toy model** (a reconstruction from Shan & Bordelon, arXiv:2105.14301):
  `toy` — function-space gradient flow dΔ/dt = −KΔ with dK/dt = λΔΔᵀ (variant 1) or
  dK/dt = λ(ΔΔᵀK + KΔΔᵀ) (variant 2), in closed form. It captures that feature learning
  speeds training, but on real two-layer μP networks it explains at most ~25 % of the
  kernel change.

Conventions. Data matrices have **samples as rows** (X is P×D, as in kerncurve's HDF5
files), so the input second moment is Σ = XᵀX/P. The deep-linear loss is the mean
``(1/2P)|Xβ − y|²``; the toy-model loss is the sum ``½|Δ|²`` (its paper's convention).
"""

from . import checks, flow, silent, toy  # noqa: F401 - checks: the argument checks, for the api
from .flow import *  # noqa: F403 - re-exported: see each module's __all__
from .silent import *  # noqa: F403
from .toy import *  # noqa: F403

__all__ = silent.__all__ + flow.__all__ + toy.__all__
