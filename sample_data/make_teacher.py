"""Sample data for ``kerncurve transfer``: ``python sample_data/make_teacher.py [OUTDIR]``.

``teacher.h5``: P = 256 training and 256 test points in D = 16 dimensions (standard Gaussian
inputs) labelled by a random two-layer tanh teacher with K = 4 hidden units,
``y = Σ_k a_k tanh(2 w_k·x/√D)`` (w_k, a_k ~ N(0, 1)), scaled to unit mean square on the
training points. Small enough that a grid of residual networks trains on it in minutes,
rich enough that wider and deeper students fit it better. Seeded: reproducible bit for bit
on one platform.
"""

import os
import sys

import h5py
import numpy as np

P, Q, D, K = 256, 256, 16, 4


def _teacher(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P + Q, D))
    w = rng.standard_normal((K, D))
    a = rng.standard_normal(K)
    y = np.tanh(2 * x @ w.T / np.sqrt(D)) @ a
    return x, y / np.sqrt(np.mean(y[:P] ** 2)), w, a


def make(outdir):
    """Write ``teacher.h5`` into ``outdir``; return its path."""
    x, y, w, a = _teacher()
    path = os.path.join(outdir, "teacher.h5")
    with h5py.File(path, "w") as f:
        f["inputs"] = x[:P]
        f["targets"] = y[:P]
        f["test/inputs"] = x[P:]
        f["test/targets"] = y[P:]
        f["teacher/hidden"] = w
        f["teacher/readout"] = a
        f.attrs["description"] = (f"P={P} train + {Q} test Gaussian inputs (D={D}); targets of a random tanh "
                                  f"teacher sum_k a_k tanh(2 w_k.x/sqrt(D)), K={K}, unit mean square on the "
                                  "training points; for kerncurve transfer")
        f.attrs["source"] = "synthetic (seed 0)"
        f.attrs["license"] = "CC0"
        f.attrs["generator"] = "sample_data/make_teacher.py"
    return path


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))))
