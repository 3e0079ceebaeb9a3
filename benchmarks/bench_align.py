"""Benchmarks of `kerncurve align`: closed forms against the ODE integration they replace.

``run(quick)`` returns rows with name, baseline_s, ours_s, ratio (baseline/ours), note; the
baseline is measured in the same run.
"""


import numpy as np

from kerncurve.simulate.alignment import integrate_toy
from kerncurve.theory.alignment import toy_variant1, toy_variant2
from _timing import best_time as _time  # noqa: E402 (benchmarks/ is on sys.path)


def run(quick: bool = True) -> list:
    P = 30 if quick else 60
    T = 51 if quick else 101
    repeat = 1 if quick else 3
    rng = np.random.default_rng(0)
    G = rng.standard_normal((P, P // 2))
    K0 = G @ G.T / (P // 2) + 0.05 * np.eye(P)
    y = rng.standard_normal(P)
    t = np.linspace(0, 10, T)
    rows = []
    for name, fn, var in (("toy_variant1", toy_variant1, 1), ("toy_variant2", toy_variant2, 2)):
        ours = _time(lambda: fn(K0, y, 1.0, t), repeat)
        base = _time(lambda: integrate_toy(K0, y, 1.0, t, variant=var, rtol=1e-10, atol=1e-12), repeat)
        err = np.max(np.abs(fn(K0, y, 1.0, t).kernel - integrate_toy(K0, y, 1.0, t, variant=var)[0]))
        rows.append({"name": f"{name} P={P} T={T}", "baseline_s": base, "ours_s": ours,
                     "ratio": base / ours,
                     "note": f"closed form vs DOP853 (rtol 1e-10) on the {P * P + P}-variable ODE; "
                             f"max |ΔK| = {err:.1e}"})
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
