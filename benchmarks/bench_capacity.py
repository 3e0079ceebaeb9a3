"""Benchmarks of `kerncurve capacity`.

1. The brute-force check the theory replaces: is each of 200 random labelings of 20 orbits
   of |G| = 16 (Z4 x Z4 circular shifts of 4x4 images, 3 channels) in R^48 separable by a
   G-invariant readout? One zero-objective HiGHS LP per labeling on the full orbit cloud
   (320 constraints x 48 unknowns) — the baseline. The theory answers with N0 (the group
   average, its projector and closure checks) and Cover's count at P = 20 — ours. The
   theory must cost under 1 % of the LP check: ratio > 100.
2. The simulator itself: the same 200 trials with the exact Ho–Kashyap certificates
   deciding most of them (ours) against an LP for every trial (baseline); both give the
   same answers.

``run(quick)`` returns rows with keys name, baseline_s, ours_s, ratio (= baseline_s /
ours_s, the speed-up, as in the other benchmarks), note; baselines are measured in the same
run.
"""


import numpy as np

from kerncurve.simulate.capacity import empirical_fraction
from kerncurve.theory.capacity import analyze_group, cover_fraction, parse_group
from _timing import best_of as _best  # noqa: E402 (benchmarks/ is on sys.path)


def run(quick=False):
    rep = parse_group("cyclic2d:4,4", channels=3)  # |G| = 16, d = 48, N0 = 3
    labelings = 50 if quick else 200
    P = 20

    def theory():
        g = analyze_group(rep.matrices)  # projector, N0, orthogonality and closure checks
        return cover_fraction(P, g.n0)

    t_theory, frac = _best(theory, 5)
    t_lp, emp_lp = _best(
        lambda: empirical_fraction([P], matrices=rep.matrices, labelings=labelings, seed=0, prefilter=False), 1
    )
    t_cert, emp = _best(
        lambda: empirical_fraction([P], matrices=rep.matrices, labelings=labelings, seed=0, prefilter=True), 1
    )
    if not np.array_equal(emp.separable, emp_lp.separable):
        raise AssertionError("certificates and LP disagree")
    return [
        {
            "name": f"capacity theory vs LP check ({labelings} labelings, P={P}, |G|=16, d=48)",
            "baseline_s": t_lp,
            "ours_s": t_theory,
            "ratio": t_lp / t_theory,
            "note": f"theory (N0 + Cover) costs {100 * t_theory / t_lp:.3g} % of the LP check (must be < 1 %); "
                    f"fraction {float(frac):.3g} (theory) vs {emp_lp.fraction[0]:.3g} (LP)",
        },
        {
            "name": f"capacity simulator: certificates + LP vs LP only ({labelings} labelings)",
            "baseline_s": t_lp,
            "ours_s": t_cert,
            "ratio": t_lp / t_cert,
            "note": f"same answers; {emp.n_lp} of {labelings} trials needed an LP",
        },
    ]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']}: baseline {row['baseline_s']:.4g} s, ours {row['ours_s']:.4g} s, "
              f"ratio {row['ratio']:.3g} ({row['note']})")
