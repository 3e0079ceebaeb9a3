"""Benchmark of the JAX training engine against the same training loop in plain numpy.

One depth-μP residual tanh network, N = 128, L = 16, P = 256, D = 16, 200 full-batch SGD
steps at η₀ = 1, float32 in both; and a small one, N = 64, L = 8, P = 128, 100 steps. The
baseline is a hand-written forward and backward pass in numpy (it lives only here), started from the very weights the engine draws, so the two loss
curves must agree to float32 rounding; the note reports how closely they do. Our time is a
warm call of `kerncurve.nn.train`; the compile time (first call minus warm call) is reported
on its own. ``quick``: a fifth of the steps.

Read the ratio with the machine's load in mind. Both loops spend their time in float32
matrix products of the same size, so on an idle machine they run at about the same speed
(measured 0.9-1.4x here, 2 cores). When other processes compete for the cores, numpy's
two-thread OpenBLAS slows down by up to 10x while XLA does not, and the ratio climbs to
5-9x; run with ``OPENBLAS_NUM_THREADS=1`` to take that out of the baseline.
"""

import time

import numpy as np

from _timing import best_of  # noqa: E402 (benchmarks/ is on sys.path)

D, LR = 16, 1.0
SIZES = ((128, 16, 256, 200), (64, 8, 128, 100))  # N, L, P, steps


def _problem(P, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P, D)).astype(np.float32)
    y = np.tanh(2 * x @ rng.standard_normal(D).astype(np.float32) / np.sqrt(D))
    return x, (y / np.sqrt(np.mean(y**2)))[:, None].astype(np.float32)


def numpy_train(x, y, W0, Ws, w, mult, lr, steps):
    """Full-batch SGD on the centred network with a hand-written backward pass; loss per step."""
    P, L = x.shape[0], Ws.shape[0]
    m_in, m_h, m_out = (np.float32(m) for m in mult)
    lr = [np.float32(v) for v in lr]
    W0, Ws, w = W0.copy(), Ws.copy(), w.copy()
    losses = np.empty(steps + 1)

    def forward():
        hs = [x @ W0.T * m_in]
        acts = []
        for W in Ws:
            acts.append(np.tanh(hs[-1]))
            hs.append(hs[-1] + acts[-1] @ W.T * m_h)
        top = np.tanh(hs[-1])
        return hs, acts, top, top @ w * m_out

    f0 = forward()[3]
    for t in range(steps + 1):
        hs, acts, top, out = forward()
        r = out - f0 - y
        losses[t] = 0.5 * np.mean(np.sum(r * r, axis=1))
        if t == steps:
            break
        e = r / np.float32(P)
        dw = top.T @ e * m_out
        g = (e @ w.T) * m_out * (1 - top * top)  # dL/dh^{L+1}
        dWs = np.empty_like(Ws)
        for l in range(L - 1, -1, -1):
            dWs[l] = g.T @ acts[l] * m_h
            g = g + (g @ Ws[l]) * m_h * (1 - acts[l] * acts[l])
        dW0 = g.T @ x * m_in
        W0 -= lr[0] * dW0
        Ws -= lr[1] * dWs
        w -= lr[2] * dw
    return losses


def run(quick: bool) -> list:
    try:
        import jax  # noqa: F401
    except ImportError:  # the extra kerncurve[nn] is not installed: nothing to compare
        return []
    from kerncurve.nn import scaling, train
    from kerncurve.nn.train import draws

    rows = []
    for N, L, P, steps in SIZES:
        steps = steps // 5 if quick else steps
        x, y = _problem(P)
        sc = scaling("depth-mup", N, L, D)
        kw = dict(param="depth-mup", width=N, depth=L, lr=LR, steps=steps, seeds=1, seed=0)
        t0 = time.perf_counter()
        train(x, y, **kw)
        first = time.perf_counter() - t0
        ours, res = best_of(lambda: train(x, y, **kw), repeats=3)
        p = {k: v[0] for k, v in draws(0, 1, D, N, L, 1)[0].items()}  # the engine's weights for seed 0
        base, losses = best_of(lambda: numpy_train(x, y, p["W0"], p["W"], p["w"], sc.mult,
                                                   np.array(sc.lr) * LR, steps), repeats=3)
        gap = float(np.max(np.abs(res.curve[0, 0] - losses)) / losses[0])
        rows.append({
            "name": f"train depth-mup N={N} L={L} P={P} {steps} SGD steps vs numpy backprop",
            "baseline_s": base,
            "ours_s": ours,
            "ratio": base / ours,
            "note": f"compile {first - ours:.2f} s on its own; max |L_jax - L_numpy|/L(0) = {gap:.1e} (float32)",
        })
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
