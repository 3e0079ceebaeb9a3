"""Learning curves of TD(0) value estimation on a known Markov chain.

Source: Bordelon, Masset, Kuo, Pehlevan, *Loss Dynamics of Temporal Difference
Reinforcement Learning*, NeurIPS 2023 (arXiv:2307.04841). The Gaussian-equivalence
recursion follows the authors' notebook; the exact recursion over transitions and its
pair occupancy ``J`` were derived for kerncurve (docs/theory/td.md).

TD(0) with ``B`` episodes of ``T`` transitions per update does::

    w <- w + (eta_n / B) sum_b sum_{t<T} psi(s_t) delta_t,
    delta_t = r(s_t) + gamma psi(s_{t+1}).w - psi(s_t).w  (+ reward noise sigma_r),

and its value error is ``L_n = E[(w_n - w_V)^T (Sigma_bar / T) (w_n - w_V)]``.

* `chain` — the validated chain (`make_chain`), occupancies, ``A`` and the fixed point
  (`td_setup`), the spectrum of ``A`` (`td_spectrum`);
* `noise` — the update-noise term: exact (pair occupancy) or Gaussian-equivalent;
* `curves` — the recursions (`td_curve`) and the constant-rate plateau (`td_plateau`).
"""

from .chain import (
    MarkovChain,
    TDSetup,
    TDSpectrum,
    check_td_params,
    make_chain,
    stationary_distribution,
    td_setup,
    td_spectrum,
)
from .curves import TDCurve, lr_schedule, td_curve, td_plateau
from .noise import MAX_TRANSITIONS, check_exact_size, noise_exact, noise_gaussian, noise_model, pair_occupancy

__all__ = [
    "MarkovChain",
    "TDSetup",
    "TDCurve",
    "TDSpectrum",
    "MAX_TRANSITIONS",
    "make_chain",
    "stationary_distribution",
    "td_setup",
    "pair_occupancy",
    "noise_exact",
    "noise_gaussian",
    "noise_model",
    "check_exact_size",
    "td_curve",
    "td_spectrum",
    "td_plateau",
    "lr_schedule",
    "check_td_params",
]
