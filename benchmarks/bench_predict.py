"""Benchmarks of `kerncurve predict` and `spectrum`, as ratios within one run.

1. κ and the learning curve for 10⁶ modes × 200 P values: ours (`learning_curve`, all P at
   once through the blocked mode sums) vs a per-P `scipy.optimize.brentq` loop on the same
   equation followed by the direct sums for γ and E_g. Target: ≥ 10×.
2. The spectrum from features (n = 20000, d = 1024): `spectrum_from_features` (eigenvalues
   and target coefficients) vs bare ``X.T @ X`` + ``numpy.linalg.eigh`` on the same array.
   Target: ours ≤ 1.3× the baseline.
"""


import numpy as np
from scipy.optimize import brentq

from kerncurve.spectral import spectrum_from_features
from kerncurve.theory.ridge import learning_curve
from _timing import best_time as _best  # noqa: E402 (benchmarks/ is on sys.path)


def _brentq_curve(eta, v2, p_values, lam, noise):
    out = []
    for p in p_values:  # the baseline: one scalar root find per P
        f = lambda kp: np.sum(eta / (eta + kp)) + lam / kp - p  # noqa: E731
        kp = brentq(f, lam / p if lam > 0 else eta[-1] * 1e-6, (eta.sum() + lam) / p, xtol=1e-300, rtol=1e-15)
        lk = eta / (eta + kp)
        gamma = np.sum(lk**2) / p
        out.append((np.sum((1 - lk) ** 2 * v2) + gamma * noise) / (1 - gamma))
    return np.array(out)


def bench_curve(modes, npoints, repeats):
    k = np.arange(1, modes + 1, dtype=float)
    eta, v2 = k**-1.5, k**-2.0
    p = np.unique(np.round(np.geomspace(50, 50_000 * npoints // 200, npoints)).astype(int)).astype(float)
    lam, noise = 1e-6, 0.1
    ours = _best(lambda: learning_curve(eta, v2, 0.0, p, lam, noise), repeats)
    base = _best(lambda: _brentq_curve(eta, v2, p, lam, noise), 1)
    a = learning_curve(eta, v2, 0.0, p, lam, noise).eg
    b = _brentq_curve(eta, v2, p, lam, noise)
    return {
        "name": f"predict: κ + curve, {modes:.0e} modes x {p.size} P",
        "baseline_s": base,
        "ours_s": ours,
        "ratio": base / ours,
        "note": f"baseline: per-P brentq loop; max rel. diff {np.max(np.abs(a / b - 1)):.1e}; target >= 10",
    }


def bench_features(n, d, repeats):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -0.75
    y = x @ rng.standard_normal(d)

    def bare():
        c = x.T @ x
        np.linalg.eigh(c)

    ours = _best(lambda: spectrum_from_features(x, y[:, None]), repeats)
    base = _best(bare, repeats)
    return {
        "name": f"spectrum: feature route, n={n} d={d}",
        "baseline_s": base,
        "ours_s": ours,
        "ratio": base / ours,
        "note": "baseline: bare X.T @ X + numpy eigh; target: ours <= 1.3x baseline (ratio >= 0.77)",
    }


def run(quick: bool = True) -> list:
    if quick:
        return [bench_curve(100_000, 50, 2), bench_features(4000, 256, 2)]
    return [bench_curve(1_000_000, 200, 3), bench_features(20_000, 1024, 3)]
