"""Expected test loss of online and multi-pass SGD on a linear readout of fixed features.

Bordelon & Pehlevan, *Learning Curves for SGD on Structured Features*, ICLR 2022
(arXiv:2106.02713); equations, conventions and measured agreement in docs/theory/sgd.md.

* `problem` — the exact model's view of the features: a `Spectrum` with its eigenbasis, and y⊥;
* `online` — online SGD: the exact fourth-moment recursion and the Gaussian closure;
* `stability` — the stability edge of the learning rate, κ_sgd and the noise plateau;
* `multipass` — multi-pass SGD on a fixed training set;
* `search` — power laws and the best batch size at fixed compute.

Every loss is the expected test MSE against the (noisy) labels.
"""

from .multipass import MultipassCurve, multipass_loss
from .online import exact_loss, exact_plateau, gaussian_loss
from .problem import SGDCurve, SGDProblem, gaussian_terms, prepare
from .search import BatchSearch, batch_search, fit_powerlaw, powerlaw_exponent
from .stability import critical_batch, exact_edge, exact_radius, gaussian_edge, kappa_sgd, plateau

__all__ = [
    "SGDProblem",
    "SGDCurve",
    "MultipassCurve",
    "BatchSearch",
    "prepare",
    "gaussian_terms",
    "exact_loss",
    "gaussian_loss",
    "kappa_sgd",
    "plateau",
    "exact_plateau",
    "gaussian_edge",
    "exact_edge",
    "exact_radius",
    "critical_batch",
    "powerlaw_exponent",
    "fit_powerlaw",
    "batch_search",
    "multipass_loss",
]
