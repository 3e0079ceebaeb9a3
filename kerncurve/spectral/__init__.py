"""The data-dependent kernel eigenproblem (used by every command).

`Spectrum` holds the eigenvalues of K/n, the target coefficients and the power outside the
modes; `compute_spectrum` picks the cheapest route for an input's problem; `topk` computes
only the leading modes with a modeled tail; `summary` fits the power laws.
"""

from .compute import compute_spectrum, spectrum_of_arrays
from .spectrum import (
    DROP_RTOL,
    Spectrum,
    check_gram,
    spectrum_from_features,
    spectrum_from_gram,
    spectrum_from_moments,
)
from .summary import NOTE_LABELS, power_law_fit, spectrum_notes, spectrum_summary
from .topk import spectrum_top, top_eigen_warning, with_power_law_tail

__all__ = [
    "DROP_RTOL",
    "Spectrum",
    "check_gram",
    "compute_spectrum",
    "spectrum_of_arrays",
    "spectrum_from_features",
    "spectrum_from_gram",
    "spectrum_from_moments",
    "NOTE_LABELS",
    "power_law_fit",
    "spectrum_notes",
    "spectrum_summary",
    "spectrum_top",
    "top_eigen_warning",
    "with_power_law_tail",
]
