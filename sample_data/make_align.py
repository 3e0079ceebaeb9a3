"""Sample inputs of `kerncurve align`: ``python sample_data/make_align.py [OUTDIR]``.

* ``align_whitened.h5`` / ``align_anisotropic.h5``: a linear teacher on D = 20, P = 60
  inputs (``/inputs``, ``/targets``), with XᵀX/P = I exactly, or with a condition-200
  second moment and a teacher whose early-alignment direction ĉ has cos(ĉ, β̂*) = 0.19
  (the measured cases of docs/theory/alignment.md).
* ``align_toy.h5``: 60 points on a noisy circle in R² (``/inputs``), an RBF Gram
  (bandwidth 1, ``/gram``) and a target sin(3θ) (``/targets``) for the toy model.
"""

import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from kerncurve.simulate.alignment import linear_teacher_data  # noqa: E402


def _attrs(f, description):
    f.attrs["description"] = description
    f.attrs["source"] = "synthetic (seeded)"
    f.attrs["license"] = "CC0"
    f.attrs["generator"] = "sample_data/make_align.py"


def make(outdir=HERE):
    for kind in ("whitened", "anisotropic"):
        X, y = linear_teacher_data(20, 60, kind, seed=1)
        with h5py.File(os.path.join(outdir, f"align_{kind}.h5"), "w") as f:
            f["inputs"] = X
            f["targets"] = y
            _attrs(f, f"linear teacher |β*| = 1, D = 20, P = 60, {kind} inputs "
                      "(anisotropic: condition 200, cos(ĉ, β̂*) = 0.19); noise-free")
    rng = np.random.default_rng(0)
    theta = np.sort(rng.uniform(0, 2 * np.pi, 60))
    x = np.stack([np.cos(theta), np.sin(theta)], 1) + 0.05 * rng.standard_normal((60, 2))
    K = np.exp(-0.5 * np.sum((x[:, None] - x[None]) ** 2, -1))
    with h5py.File(os.path.join(outdir, "align_toy.h5"), "w") as f:
        f["inputs"] = x
        f["gram"] = 0.5 * (K + K.T)
        f["targets"] = np.sin(3 * theta)
        _attrs(f, "60 points on a noisy unit circle, RBF Gram (bandwidth 1), target sin(3θ)")


if __name__ == "__main__":
    make(sys.argv[1] if len(sys.argv) > 1 else HERE)
