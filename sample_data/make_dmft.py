"""Sample data for ``kerncurve dmft``: ``python sample_data/make_dmft.py [OUTDIR]``.

``dmft.h5``: P = 8 training and Q = 32 test points in D = 16 dimensions (standard Gaussian
inputs), a single-index tanh teacher ``y = tanh(2 x.beta / sqrt(D))`` scaled to unit mean
square on the training points — the setting of the measurements in docs/theory/dmft.md
(two-layer tanh, P = 8, D = 16). ``dmft_linear.h5``: the same inputs with a linear teacher, for the
deep-linear solver. Seeded: reproducible bit for bit on one platform.
"""

import os
import sys

import h5py
import numpy as np


def _teacher(P=8, Q=32, D=16, seed=0, linear=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P + Q, D))
    beta = rng.standard_normal(D)
    proj = x @ beta / np.sqrt(D)
    y = proj if linear else np.tanh(2 * proj)
    y = y / np.sqrt(np.mean(y[:P] ** 2))
    return x, y, beta


def make(outdir):
    """Write ``dmft.h5`` and ``dmft_linear.h5`` into ``outdir``; return their paths."""
    paths = []
    for name, linear in (("dmft.h5", False), ("dmft_linear.h5", True)):
        x, y, beta = _teacher(linear=linear)
        path = os.path.join(outdir, name)
        with h5py.File(path, "w") as f:
            f["inputs"] = x[:8]
            f["targets"] = y[:8]
            f["test/inputs"] = x[8:]
            f["test/targets"] = y[8:]
            f["teacher"] = beta
            kind = "linear" if linear else "tanh(2 x.beta/sqrt(D))"
            f.attrs["description"] = (f"P=8 train + 32 test Gaussian inputs (D=16), {kind} teacher scaled to "
                                      "unit mean square on the training points; for kerncurve dmft")
            f.attrs["source"] = "synthetic (seed 0)"
            f.attrs["license"] = "CC0"
            f.attrs["generator"] = "sample_data/make_dmft.py"
        paths.append(path)
    return paths


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for p in make(out):
        print(p)
