"""Theory against experiment: the deviation figures every command's summary reports."""

import numpy as np

__all__ = ["deviation_summary"]


def deviation_summary(theory, empirical, sem, floor=0.0):
    """Relative deviations of theory from experiment, and the largest in units of the SEM.

    Points where the theory is not finite or not above ``floor``, or the experiment is not
    positive, are left out (an exact fit's relative error means nothing).

    Returns
    -------
    dict
        ``max_relative_deviation`` (max |theory/experiment − 1|), ``mean_relative_deviation``
        (signed mean), ``max_deviation_in_sem`` (max |theory − experiment|/SEM where SEM > 0);
        empty if no point qualifies.
    """
    theory, empirical, sem = (np.asarray(a, float).ravel() for a in (theory, empirical, sem))
    ok = np.isfinite(theory) & (theory > floor) & (empirical > 0)
    if not ok.any():
        return {}
    dev = theory[ok] / empirical[ok] - 1
    s = sem[ok]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(theory[ok] - empirical[ok]) / s
    return {"max_relative_deviation": float(np.max(np.abs(dev))), "mean_relative_deviation": float(np.mean(dev)),
            "max_deviation_in_sem": float(np.max(np.where(s > 0, z, 0.0)))}
