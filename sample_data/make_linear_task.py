"""Sample data for ``kerncurve limits --theory``: ``python sample_data/make_linear_task.py [OUTDIR]``.

``linear_task.h5``: P = 64 training and 64 test points in D = 8 dimensions, whitened on the
training points (``XᵀX/P = I``: the input kernel ``XXᵀ/D`` has 8 equal eigenvalues), a linear
teacher ``y = x·β/√D`` scaled to unit mean square on the training points. On such data the
residual DMFT runs in one direction (the residual only visits the teacher's), so the N = ∞
curves of deep linear ResNets cost milliseconds. Seeded: reproducible bit for bit on one platform.
"""

import os
import sys

import h5py
import numpy as np

P, Q, D = 64, 64, 8


def _task(seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((P, D)))
    x = q * np.sqrt(P)  # XᵀX/P = I
    x_test = rng.standard_normal((Q, D))
    beta = rng.standard_normal(D)
    y, y_test = x @ beta / np.sqrt(D), x_test @ beta / np.sqrt(D)
    scale = np.sqrt(np.mean(y**2))
    return x, y / scale, x_test, y_test / scale, beta


def make(outdir):
    """Write ``linear_task.h5`` into ``outdir``; return its path."""
    x, y, xt, yt, beta = _task()
    path = os.path.join(outdir, "linear_task.h5")
    with h5py.File(path, "w") as f:
        f["inputs"] = x
        f["targets"] = y
        f["test/inputs"] = xt
        f["test/targets"] = yt
        f["teacher"] = beta
        f.attrs.update({
            "description": f"P={P} train inputs whitened (X^T X/P = I, D={D}) + {Q} Gaussian test inputs, linear "
                           "teacher scaled to unit mean square on the training points; for kerncurve limits --theory",
            "source": "synthetic (seed 0)", "license": "CC0", "generator": "sample_data/make_linear_task.py"})
    return path


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))))
