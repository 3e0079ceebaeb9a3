"""Benchmarks of `kerncurve td` against straightforward baselines measured in the same run.

1. Simulator: vectorized TD(0) (all runs and episodes at once, inverse-CDF sampling) versus
   a loop over runs and episodes drawing each next state with ``rng.choice``.
2. Gaussian-equivalence noise term: the state-space evaluation in `kerncurve.theory.td`
   versus the explicit double sum over (t, u) of stacked covariances Sigma_tu Q_tu.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "sample_data"))

from make_td import gridworld  # noqa: E402

from kerncurve.simulate.td import simulate_td  # noqa: E402
from kerncurve.theory import td  # noqa: E402


def _naive_simulation(st, lr, batch, steps, runs, seed=0):
    rng = np.random.default_rng(seed)
    ch = st.chain
    P, X, rew = ch.transitions, ch.features, ch.rewards
    S = P.shape[0]
    T = st.episode_length
    out = np.empty(runs)
    for r in range(runs):
        w = np.zeros(X.shape[1])
        for _ in range(steps):
            g = np.zeros_like(w)
            for _b in range(batch):
                s = rng.choice(S, p=ch.start)
                for _t in range(T):
                    s2 = rng.choice(S, p=P[s])
                    g += X[s] * (rew[s] + st.gamma * X[s2] @ w - X[s] @ w)
                    s = s2
            w = w + lr / batch * g
        e = w - st.w_V
        out[r] = e @ st.sigma_bar @ e / T
    return out.mean()


def _naive_gaussian_noise(st, wbar, M):
    T, gamma = st.episode_length, st.gamma
    Xr = st.features_r
    rho = st.rho
    Pk = st.powers
    w_V = st.w_V_r
    w_R = np.linalg.lstsq(Xr, st.chain.rewards, rcond=None)[0]
    W2 = M + np.outer(wbar, w_V) + np.outer(w_V, wbar) - np.outer(w_V, w_V)

    def sig(t, u):
        if u >= t:
            return Xr.T @ (rho[t][:, None] * Pk[u - t]) @ Xr
        return sig(u, t).T

    def avg(a_lin, a_c, Sm, b_lin, b_c):
        return (a_c @ Sm @ b_c + a_c @ Sm @ b_lin @ wbar + wbar @ a_lin.T @ Sm @ b_c
                + np.trace(a_lin.T @ Sm @ b_lin @ W2))

    I = np.eye(len(w_V))
    z = np.zeros(len(w_V))
    out = np.zeros((len(w_V), len(w_V)))
    for t in range(T):
        for u in range(T):
            q = (avg(-I, w_R, sig(t, u), -I, w_R) + gamma * avg(-I, w_R, sig(t, u + 1), I, z)
                 + gamma * avg(I, z, sig(t + 1, u), -I, w_R)
                 + gamma**2 * avg(I, z, sig(t + 1, u + 1), I, z))
            out += sig(t, u) * q
    return out


def run(quick: bool = True) -> list:
    ch = td.make_chain(*gridworld())
    st = td.td_setup(ch, 0.9, 20)
    results = []

    runs, steps, batch = (4, 10, 2) if quick else (20, 50, 4)
    t0 = time.perf_counter()
    _naive_simulation(st, 0.1, batch, steps, runs)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate_td(st, 0.1, batch, steps, runs=runs, record=[steps])
    ours = time.perf_counter() - t0
    results.append({"name": "td simulate (gridworld, T=20)", "baseline_s": base, "ours_s": ours,
                    "ratio": base / ours,
                    "note": f"{runs} runs x {steps} updates x B={batch}; baseline loops over "
                            "runs/episodes with rng.choice"})

    rng = np.random.default_rng(0)
    r = st.A_r.shape[0]
    wbar = rng.standard_normal(r)
    L = rng.standard_normal((r, r)) / r
    M = L @ L.T
    noise = td.noise_gaussian(st)
    reps = 3 if quick else 10
    t0 = time.perf_counter()
    expect = _naive_gaussian_noise(st, wbar, M)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(reps):
        got = noise(wbar, M)
    ours = (time.perf_counter() - t0) / reps
    err = np.abs(got - expect).max() / np.abs(expect).max()
    results.append({"name": "td gaussian noise term (gridworld, T=20)", "baseline_s": base,
                    "ours_s": ours, "ratio": base / ours,
                    "note": f"one recursion step; baseline: explicit sum over (t,u) of Sigma_tu Q_tu;"
                            f" max relative difference {err:.1e}"})
    return results


if __name__ == "__main__":
    for row in run(quick="--full" not in sys.argv):
        print(row)
