"""Benchmark of the linear residual DMFT against training one finite linear ResNet.

At the sizes of the agreement check in docs/theory/limits.md: the problem of
tests/test_theory_dmft_resnet.py (P = 4, D = 8), depth-μP (α = ½), γ₀ = 1, dt = 0.1, 30
steps (t = 3), L = 16. Ours: the exact infinite-width solve
(`kerncurve.theory.dmft.deep_linear_resnet`); baseline: one N = 2048 linear ResNet of the same
depth trained for the same steps (`kerncurve.simulate.dmft_resnet.train_resnets`, numpy,
float64), measured in the same run. ``quick``: L = 4, N = 512. The ratio is baseline / ours
(> 1: the theory is cheaper than one network, and it answers the N = ∞ question that no
single network does).
"""

import numpy as np
from _timing import best_of

from kerncurve.simulate.dmft_resnet import train_resnets
from kerncurve.theory import dmft


def problem():
    """The problem of tests/test_theory_dmft_resnet.py: 4 Gaussian inputs (D = 8), a linear
    teacher, targets of unit mean square."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8))
    y = x @ rng.standard_normal(8)
    return x, y / np.sqrt(np.mean(y**2))


def run(quick: bool) -> list:
    depth, width = (4, 512) if quick else (16, 2048)
    steps, dt, gamma0 = 30, 0.1, 1.0
    x, y = problem()
    kx = dmft.input_kernel(x)
    ours, res = best_of(lambda: dmft.deep_linear_resnet(kx, y, gamma0, steps * dt, dt, depth=depth), repeats=3)
    baseline, net = best_of(lambda: train_resnets(x, y, gamma0, steps * dt, dt, width, depth, seeds=1), repeats=1)
    gap = float(np.max(np.abs(net.loss[0] - res.loss)) / res.loss[0])
    return [{
        "name": f"resnet dmft L={depth} P=4 {steps} steps vs N={width} linear net",
        "baseline_s": baseline,
        "ours_s": ours,
        "ratio": baseline / ours,
        "note": f"gamma0={gamma0}, alpha=0.5, dt={dt}; that one network's max |L_net - L_dmft|/L(0) = {gap:.2g}",
    }]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
