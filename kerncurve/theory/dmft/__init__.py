"""Feature learning at infinite width: dynamical mean field theory (DMFT).

Bordelon & Pehlevan, *Self-Consistent Dynamical Field Theory of Kernel Evolution in Wide
Neural Networks*, NeurIPS 2022 (arXiv:2205.09653); equations and conventions in
docs/theory/dmft.md.

Mean-field (muP) network with richness gamma0: ``h1 = W0 x / sqrt(D)``,
``h^{l+1} = W^l phi(h^l) / sqrt(N)``, ``f = w . phi(h^L) / (gamma0 N)``, gradient descent
with learning rate ``eta gamma0^2 N``, time ``t = eta * step``, initial output subtracted.
At infinite width the function obeys ``d f / dt = K(t) Delta(t) / P`` with the NTK
``K(t) = sum_l G^{l+1}(t,t) * Phi^l(t,t)`` (``Phi^0 = Kx = X X^T / D``, ``G^{L+1} = 1``) and
``Delta = y - f``; the loss is ``L = |Delta|^2 / (2P)``.

Modules:

* `sampler` — `two_layer`: one hidden layer, any activation; every hidden unit is an
  independent deterministic path driven by ``Delta(t)``, its initial Gaussians scrambled
  Sobol points; one causal forward pass is exact.
* `layers` — the per-layer recursion of the deep-linear equations (the one place that
  defines them; a new linear architecture changes it there).
* `linear` — `deep_linear`: identity activation, any depth, solved exactly by one causal
  pass over time; `iterate` — the same equations by damped fixed-point iteration.
* `resnet` — `deep_linear_resnet`: identity activation, residual blocks with branch
  multiplier ``beta0 L^-alpha`` (depth-muP); the residual stream couples all layers of a
  unit into one linear single-site system, solved exactly by one causal pass over time.
* `common` — the result type, the input kernel, checks, the Euler function step.

Both solvers read the output either off the units/fields (``scheme='gd'``: the exact
infinite-width limit of gradient descent with ``eta = dt``) or by the Euler step of
``d f / dt`` above. Test points are appended to the index with ``Delta = 0``: they feel
the kernel but do not drive training.
"""

from .common import DMFTResult, input_kernel, kernel_alignment, static_kernel_loss
from .linear import deep_linear, deep_linear_memory
from .resnet import deep_linear_resnet, resnet_initial_ntk, resnet_memory
from .sampler import (
    ACTIVATIONS,
    initial_ntk,
    sobol_gaussians,
    two_layer,
    two_layer_memory,
)

__all__ = [
    "ACTIVATIONS",
    "DMFTResult",
    "input_kernel",
    "sobol_gaussians",
    "two_layer",
    "deep_linear",
    "deep_linear_resnet",
    "resnet_initial_ntk",
    "resnet_memory",
    "initial_ntk",
    "kernel_alignment",
    "static_kernel_loss",
    "deep_linear_memory",
    "two_layer_memory",
]
