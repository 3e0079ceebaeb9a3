"""Sample chains for `kerncurve td`: gridworld.h5 and ring.h5 (seeded, deterministic).

gridworld.h5
    7 x 7 random walk. Policy: each of the four moves (up, down, left, right) with
    probability 1/4; a move into a wall leaves the agent where it is (so the walk is
    aperiodic and its stationary distribution is uniform). Features: 25 place cells,
    Gaussian bumps of width 1 centred on a 5 x 5 lattice spanning the grid. Reward: a
    unit Gaussian bump (width 1) at cell (5, 5). The reward is not exactly in the span of
    the 25 place cells (relative fit residual 0.115); kerncurve uses the fitted reward.
ring.h5
    30-state biased ring: clockwise with probability 0.7, counter-clockwise 0.3.
    Features: 20 random ReLU units relu(W x(s) + b)/sqrt(20) of x(s) = (cos th_s, sin th_s),
    W ~ N(0, 1), b ~ N(0, 0.25) (seed 0). Reward cos th + sin(2 th)/2.

No /start: episodes start from the stationary distribution (uniform for both).
"""

import os
import sys

import numpy as np

__all__ = ["gridworld", "ring", "make"]


def gridworld(n=7, cells=5, width=1.0):
    """Transitions (S, S), place-cell features (S, cells^2) and bump rewards (S,)."""
    S = n * n
    xy = np.array([(x, y) for x in range(n) for y in range(n)], dtype=float)
    P = np.zeros((S, S))
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nxt = xy + (dx, dy)
        inside = np.all((nxt >= 0) & (nxt <= n - 1), axis=1)
        target = np.where(inside, (nxt[:, 0] * n + nxt[:, 1]).astype(int), np.arange(S))
        np.add.at(P, (np.arange(S), target), 0.25)
    c = np.linspace(0, n - 1, cells)
    centers = np.array([(a, b) for a in c for b in c])
    d2 = ((xy[:, None, :] - centers[None]) ** 2).sum(-1)
    features = np.exp(-d2 / (2 * width**2))
    rewards = np.exp(-((xy - (n - 2)) ** 2).sum(-1) / 2.0)
    return P, features, rewards


def ring(S=30, N=20, p=0.7, seed=0):
    """Transitions (S, S), random ReLU features (S, N) and rewards (S,) of a biased ring."""
    rng = np.random.default_rng(seed)
    i = np.arange(S)
    P = np.zeros((S, S))
    P[i, (i + 1) % S] = p
    P[i, (i - 1) % S] = 1 - p
    th = 2 * np.pi * i / S
    x = np.stack([np.cos(th), np.sin(th)], axis=1)
    W = rng.standard_normal((2, N))
    b = 0.5 * rng.standard_normal(N)
    features = np.maximum(x @ W + b, 0.0) / np.sqrt(N)
    rewards = np.cos(th) + 0.5 * np.sin(2 * th)
    return P, features, rewards


def _write(path, P, X, r, description):
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["description"] = description
        f.attrs["made_by"] = "sample_data/make_td.py"
        f.create_dataset("transitions", data=P)
        f.create_dataset("features", data=X)
        f.create_dataset("rewards", data=r)


def make(outdir):
    """Write gridworld.h5 and ring.h5 into ``outdir``; return their paths."""
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for name, arrays, desc in [
        ("gridworld.h5", gridworld(), "7x7 random walk (walls: stay), 25 place cells, bump reward"),
        ("ring.h5", ring(), "30-state ring (p=0.7 clockwise), 20 random ReLU features"),
    ]:
        path = os.path.join(outdir, name)
        _write(path, *arrays, desc)
        paths.append(path)
    return paths


if __name__ == "__main__":
    print("\n".join(make(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__))))
