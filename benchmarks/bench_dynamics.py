"""Benchmark of `kerncurve dynamics`: one theory point vs the simulation that checks it.

Ours: the theory loss at one (N, P, t) on a power-law spectrum with 10⁴ modes (κ(z)
continuation + 32×32 Talbot sum). Baseline: the 40-draw exact gradient-flow simulation at
M = 2000 modes that the theory is checked against (the theory should be ≥ 20× cheaper). Both are timed
in the same run, as the best of ``repeats`` (CPU-bound, single-threaded BLAS recommended).
"""


import numpy as np

from kerncurve.simulate.dynamics import simulate_loss
from kerncurve.theory import dynamics as theory
from _timing import best_time as _best  # noqa: E402 (benchmarks/ is on sys.path)


def _spectrum(M, b=1.5, a=2.0):
    k = np.arange(1, M + 1, dtype=float)
    return k**-b, k**-a


def run(quick: bool) -> list:
    """Return one row per (N, P, t) point: name, baseline_s, ours_s, ratio, note."""
    points = [(200, 400, 1e3)] if quick else [(200, 400, 1e3), (100, 1000, 1e5), (np.inf, 200, 10.0)]
    lam_t, pw_t = _spectrum(10_000)
    lam_s, pw_s = _spectrum(2000)
    theory.loss(lam_t, pw_t, 100, 200, 10.0)  # warm-up (imports, caches)
    rows = []
    for N, P, t in points:
        ours = _best(lambda: theory.loss(lam_t, pw_t, N, P, t), 3 if quick else 5)
        base = _best(lambda: simulate_loss(lam_s, pw_s, N, P, [t], draws=40, seed=0), 1 if quick else 2)
        rows.append({
            "name": f"dynamics theory point N={N:g} P={P:g} t={t:g}",
            "baseline_s": base,
            "ours_s": ours,
            "ratio": base / ours,
            "note": "baseline: 40-draw exact gradient flow, M=2000; ours: theory with 1e4 modes",
        })
    return rows


if __name__ == "__main__":
    import sys

    for row in run("--quick" in sys.argv):
        print(f"{row['name']}: baseline {row['baseline_s']:.3f} s, ours {row['ours_s']:.4f} s, "
              f"ratio {row['ratio']:.1f}x")
