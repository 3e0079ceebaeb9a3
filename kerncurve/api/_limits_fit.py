"""The analysis behind `kc.limits`: the finite-size fits at every reported step, the limits
taken both ways and along diagonals, the verdict, and the linear theory overlay."""

import numpy as np

from ..theory.finite_size import (
    DIAGONALS,
    fit_surface,
    iterated_limits,
    power_law_exponents,
)

__all__ = ["analyse", "theory_problem", "theory_depths", "theory_curves", "EXTRA_DEPTHS"]

#: Doublings of the largest depth added to the theory's depth sequence for the L → ∞ limit.
EXTRA_DEPTHS = 3


def _interval(t):
    est, lo, hi = t
    return {"value": est, "ci": [lo, hi]}


def _step_fits(N, L, o, s, step):
    add = fit_surface(N, L, o, s)
    cpl = fit_surface(N, L, o, s, coupled=True)
    diag = {f"N={int(k)}L": _interval(cpl.interval([1, 0, 0, 0, 1 / k])) for k in DIAGONALS}
    it = iterated_limits(N, L, o, s)
    return {
        "step": int(step),
        "additive": {"terms": list(add.terms), "coef": add.coef.tolist(), "se": add.se.tolist(),
                     "chi2_dof": add.chi2_dof, "o_inf": _interval(add.interval([1, 0, 0, 0]))},
        "coupled": {"terms": list(cpl.terms), "coef": cpl.coef.tolist(), "se": cpl.se.tolist(),
                    "chi2_dof": cpl.chi2_dof, "coupling_z": float(cpl.coef[4] / cpl.se[4])},
        "limits": {"width_then_depth": _interval(it["width_first"]), "depth_then_width": _interval(it["depth_first"]),
                   "diagonals": diag},
    }


def _agree(a, b):
    """Two 95 % intervals are compatible: their difference is within the combined half-widths."""
    ha, hb = (a["ci"][1] - a["ci"][0]) / 2, (b["ci"][1] - b["ci"][0]) / 2
    return abs(a["value"] - b["value"]) <= float(np.hypot(ha, hb))


def analyse(widths, depths, steps, loss, sem, z_max=2.0, chi2_max=2.0):
    """Fits of one parameterization's grid.

    ``loss``, ``sem``: (width, depth, step) seed means and SEMs. Returns ``(per_step, summary)``:
    the fit record of every step and the summary figures at the last step (o_inf, o_inf_ci,
    exponents, coupling_z, chi2_dof = the worst step's, limits_commute and the evidence).
    """
    N, L = np.meshgrid(np.asarray(widths, float), np.asarray(depths, float), indexing="ij")
    N, L = N.ravel(), L.ravel()
    per_step = [_step_fits(N, L, loss[..., k].ravel(), sem[..., k].ravel(), st) for k, st in enumerate(steps)]
    last = per_step[-1]
    exps = power_law_exponents(N, L, loss[..., -1].ravel(), sem[..., -1].ravel())
    z = [abs(p["coupled"]["coupling_z"]) for p in per_step]
    chi = [p["additive"]["chi2_dof"] for p in per_step]
    lim = last["limits"]
    orders_agree = all(_agree(p["limits"]["width_then_depth"], p["limits"]["depth_then_width"]) for p in per_step)
    diag_agree = all(_agree(d, p["additive"]["o_inf"]) for p in per_step for d in p["limits"]["diagonals"].values())
    coupling_ok = max(z) <= z_max
    commute = bool(coupling_ok and orders_agree and diag_agree)
    big = loss[-1, -1, -1], sem[-1, -1, -1]
    o = last["additive"]["o_inf"]
    evidence = (f"coupling d·L/N: max |d/SE| = {max(z):.2f} over {len(steps)} steps (≤ {z_max:g} needed); "
                f"the two orders {'agree' if orders_agree else 'disagree'} and the diagonals N = 1, 4, 16 L "
                f"{'agree' if diag_agree else 'disagree'} with O∞ within their 95 % intervals; worst χ²/dof of the "
                f"additive fit {max(chi):.2f}{'' if max(chi) <= chi2_max else ' (the additive form misfits)'}")
    summary = {
        "o_inf": o["value"], "o_inf_ci": o["ci"],
        "exponent_width": exps["exponent_width"], "exponent_depth": exps["exponent_depth"],
        "exponent_width_range": exps["exponent_width_range"], "exponent_depth_range": exps["exponent_depth_range"],
        "coupling_z": last["coupled"]["coupling_z"], "chi2_dof": float(max(chi)),
        "limits_commute": commute,
        "width_then_depth": lim["width_then_depth"], "depth_then_width": lim["depth_then_width"],
        "diagonals": lim["diagonals"],
        "largest_network": {"width": int(widths[-1]), "depth": int(depths[-1]), "loss": float(big[0]),
                            "ci": [float(big[0] - 1.96 * big[1]), float(big[0] + 1.96 * big[1])],
                            "agrees_with_o_inf": _agree(o, {"value": float(big[0]),
                                                            "ci": [float(big[0] - 1.96 * big[1]),
                                                                   float(big[0] + 1.96 * big[1])]})},
        "evidence": evidence,
        "verdict": ("the limits commute" if commute else "the limits do not commute") + f" ({evidence})",
    }
    return per_step, summary


def theory_problem(data):
    """The N = ∞ problem of the linear theory: (kx, y, loss_offset), reduced to one point per
    eigenvalue of the input kernel that the targets see (`kerncurve.theory.dmft.reduce`)."""
    from ..theory.dmft import input_kernel
    from ..theory.dmft.reduce import spectral_reduction

    return spectral_reduction(input_kernel(data.x), data.y[:, 0])


def theory_depths(depths, extra_depths=EXTRA_DEPTHS):
    """The grid's depths and the largest one doubled ``extra_depths`` times (the L → ∞ extrapolation)."""
    top = int(max(depths))
    return sorted({int(d) for d in depths} | {top * 2**k for k in range(1, extra_depths + 1)})


def theory_curves(problem, depths, steps, lr, gamma0, beta0, alpha, extra_depths=EXTRA_DEPTHS):
    """N = ∞ training loss of the linear residual network at each grid depth and reported step,
    and the joint limit: the L → ∞ extrapolation (`kerncurve.theory.dmft.depth_limit`) of the
    grid's depths and the largest doubled ``extra_depths`` times, with its error.

    The network's SGD step k with base rate η₀ = ``lr`` is the DMFT time ``t = k·lr`` with
    ``dt = lr`` (the solver's exact gradient-descent scheme). Returns
    ``(curves (depth, step), limit (step,), limit_error (step,))``.
    """
    from ..theory.dmft import deep_linear_resnet
    from ..theory.dmft.depth_limit import extrapolate_depth

    kx, y, offset = problem
    idx = np.asarray(steps, int)
    T = int(idx.max())
    if y.size == 0:  # nothing the network can fit: the loss stays at its initial value
        flat = np.full(idx.size, offset)
        return np.tile(flat, (len(depths), 1)), flat, np.zeros(idx.size)
    seq = theory_depths(depths, extra_depths)
    solved = {L: deep_linear_resnet(kx, y, gamma0, T * lr, lr, depth=L, alpha=alpha, beta0=beta0).loss[idx] + offset
              for L in seq}
    curves = np.stack([solved[int(L)] for L in depths])
    lim, err = extrapolate_depth(seq, np.stack([solved[L] for L in seq]), alpha)
    return curves, lim, err
