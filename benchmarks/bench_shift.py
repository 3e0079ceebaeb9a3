"""Benchmarks of the distribution-shift code against straightforward baselines, measured in
the same run: ``run(quick) -> list[dict]`` with keys name, baseline_s, ours_s, ratio, note.

1. theory curve: `shift_curve` on a (P × λ) grid at once vs a Python loop over the grid that
   solves κ by scipy's brentq and forms the bias quadratic form per point.
2. simulator: `simulate_shift` (one batched eigendecomposition per trial serves every ridge)
   vs a loop of `numpy.linalg.solve` per trial and ridge.
3. gradient: the analytic gradient of E_g(p→q) over the training measure vs central finite
   differences (2n evaluations).
"""


import numpy as np
from _timing import best_of as _timed  # noqa: E402 (benchmarks/ is on sys.path)


def _data(n_p, n_q, d, seed=0):
    rng = np.random.default_rng(seed)
    Xp = rng.standard_normal((n_p, d)) * np.arange(1, d + 1) ** -0.75
    Xq = rng.standard_normal((n_q, d)) * np.arange(1, d + 1) ** -0.6
    w = rng.standard_normal(d)
    return Xp, Xq, Xp @ w + 0.1 * np.sin(Xp[:, 0]), Xq @ w + 0.1 * np.sin(Xq[:, 0])


def bench_curve(quick):
    from scipy.optimize import brentq

    from kerncurve.theory.shift import shift_curve, shift_problem_from_gram

    n = 300 if quick else 1000
    Xp, Xq, yp, yq = _data(n, n // 2, 60)
    K = np.exp(-((Xp[:, None] - Xp[None]) ** 2).sum(-1) / 2)
    C = np.exp(-((Xq[:, None] - Xp[None]) ** 2).sum(-1) / 2)
    prob = shift_problem_from_gram(K, C, yp, yq)
    P, lam = np.meshgrid(np.unique(np.geomspace(5, n // 3, 40).astype(int)).astype(float),
                         [1e-4, 1e-2, 1.0], indexing="ij")
    ours, cur = _timed(lambda: shift_curve(prob, P, lam, 0.1), 3)

    def baseline():
        eta, v, O, c = prob.eigenvalues, prob.coefficients[:, 0], prob.overlap, prob.cross[:, 0]
        out = []
        for pp, ll in zip(P.ravel(), lam.ravel()):
            f = lambda t: np.sum(eta / (eta + np.exp(t))) + ll * np.exp(-t) - pp  # noqa: E731
            kp = np.exp(brentq(f, np.log(ll / pp) - 1, np.log((eta.sum() + ll) / pp) + 1, xtol=1e-14))
            L = eta / (eta + kp)
            b = (1 - L) * v
            bias = b @ O @ b + 2 * b @ c + prob.test_residual_power
            g, gt = np.sum(L**2) / pp, np.sum(np.diag(O) * L**2) / pp
            out.append(bias + gt / (1 - g) * (np.sum(b**2) + prob.train_residual_power + 0.1))
        return np.array(out)

    base, ref = _timed(baseline)
    err = np.max(np.abs(ref / cur.eg_test.ravel() - 1))
    return dict(name="shift_curve grid", baseline_s=base, ours_s=ours, ratio=base / ours,
                note=f"{P.size} (P, λ) points, {prob.n_modes} modes; max rel diff {err:.1e}")


def bench_simulator(quick):
    from kerncurve.simulate.shift import draw_training_sets, simulate_shift

    n, trials = (600, 10) if quick else (1500, 30)
    Xp, Xq, yp, yq = _data(n, 400, 80)
    K, C = Xp @ Xp.T, Xq @ Xp.T
    ridges = [1e-3, 1e-2, 0.1, 1.0]
    noises = [0.0, 0.1, 0.5]
    P = 150
    ours, sim = _timed(lambda: simulate_shift(yp, yq, [P], ridges, noises, gram=K, cross=C,
                                              trials=trials, seed=0))

    def baseline():
        rng = np.random.default_rng(0)
        idx, _ = draw_training_sets(rng, np.full(n, 1 / n), P, trials)
        xi = rng.standard_normal((trials, P, 1))[..., 0]
        out = np.zeros((len(ridges), len(noises)))
        for r, z in zip(idx, xi):
            for j, lr in enumerate(ridges):
                for k, s2 in enumerate(noises):
                    a = np.linalg.solve(K[np.ix_(r, r)] + lr * np.eye(P), yp[r] + np.sqrt(s2) * z)
                    out[j, k] += np.mean((C[:, r] @ a - yq) ** 2) / trials
        return out

    base, ref = _timed(baseline)
    err = np.max(np.abs(ref.ravel() / sim.eg_test.ravel() - 1))
    return dict(name="simulate_shift", baseline_s=base, ours_s=ours, ratio=base / ours,
                note=f"P={P}, {trials} trials × {len(ridges)} ridges × {len(noises)} noise levels "
                     f"(baseline: one solve each); max rel diff {err:.1e}")


def bench_gradient(quick):
    from kerncurve.theory.shift import train_measure_value

    n = 60 if quick else 150
    Xp, Xq, yp, yq = _data(n, 80, 8)
    K = np.exp(-((Xp[:, None] - Xp[None]) ** 2).sum(-1) / 4)
    C = np.exp(-((Xq[:, None] - Xp[None]) ** 2).sum(-1) / 4)
    p = np.full(n, 1 / n)
    q = np.full(80, 1 / 80)
    ours, val = _timed(lambda: train_measure_value(K, C, yp, yq, p, q, 20, 1e-2, 0.1), 3)

    def baseline():
        g = np.empty(n)
        h = 1e-6 / n
        for i in range(n):
            e = np.zeros(n)
            e[i] = h
            g[i] = (train_measure_value(K, C, yp, yq, p + e, q, 20, 1e-2, 0.1, grad=False).eg_test
                    - train_measure_value(K, C, yp, yq, p - e, q, 20, 1e-2, 0.1, grad=False).eg_test
                    ) / (2 * h)
        return g

    base, ref = _timed(baseline)
    err = np.max(np.abs(ref - val.grad)) / np.max(np.abs(val.grad))
    return dict(name="train-measure gradient", baseline_s=base, ours_s=ours, ratio=base / ours,
                note=f"n={n} pool points, analytic vs central differences; max rel diff {err:.1e}")


def run(quick: bool = True) -> list:
    """Run every benchmark; ``quick`` uses small sizes."""
    return [bench_curve(quick), bench_simulator(quick), bench_gradient(quick)]


if __name__ == "__main__":
    import sys

    for row in run(quick="--full" not in sys.argv):
        print(row)
