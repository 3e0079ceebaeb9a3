"""Build the distribution-shift sample inputs: digits_shift.h5 and gaussian_shift.h5.

Run ``python sample_data/make_shift.py [OUTDIR]`` (default: this folder); the lead's
``make_samples.py`` calls :func:`make`. Both files are deterministic (fixed seeds).

digits_shift.h5
    sklearn's bundled 8×8 digits (n = 1797, pixels / 16), split at random into a training
    pool of 900 and a test pool of 897 points (``/train/inputs``, ``/test/inputs``; use
    ``--kernel rbf --bandwidth 3`` for the kernel exp(−|x − x'|²/(2·3²))). Target:
    parity (+1 even, −1 odd, as in digits.h5). Class-mix shift: ``/train/weights`` puts 4:1
    mass on classes 0–4 vs 5–9, ``/test/weights`` 1:9. ``/train/groups`` and
    ``/test/groups`` hold the digit classes; ``/train/index``, ``/test/index`` the rows of
    sklearn's digits.
gaussian_shift.h5
    Gaussian features, d = 200, train covariance diag(k^−1.5) (4000 points); test features
    (1000 points) with the same spectrum but rotated by a random orthogonal matrix in the top
    10-dimensional subspace. Linear teacher w_k ~ N(0, k^−0.5); targets y = ψ·w (clean).
"""

from __future__ import annotations

import os
import sys

import h5py
import numpy as np

def _attrs(f, description, source, license_):
    f.attrs["description"] = description
    f.attrs["source"] = source
    f.attrs["license"] = license_
    f.attrs["generator"] = "sample_data/make_shift.py"


def make_digits(path, seed=0, n_train=900):
    """Write digits_shift.h5 (see module docstring)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data / 16.0
    cls = digits.target.astype(np.int64)
    y = np.where(cls % 2 == 0, 1.0, -1.0)
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    tr, te = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    w_tr = np.where(cls[tr] <= 4, 4.0, 1.0)
    w_te = np.where(cls[te] <= 4, 1.0, 9.0)
    with h5py.File(path, "w") as f:
        _attrs(f, "sklearn digits (pixels/16), parity target (+1 even), class-mix shift 4:1 "
                  "(train) vs 1:9 (test) on classes 0-4 vs 5-9; use --kernel rbf --bandwidth 3",
               "scikit-learn bundled copy of the UCI Optical Recognition of Handwritten Digits test set",
               "CC BY 4.0 (UCI); scikit-learn BSD-3-Clause")
        for name, idx, w in (("train", tr, w_tr), ("test", te, w_te)):
            g = f.create_group(name)
            g["inputs"] = X[idx]
            g["targets"] = y[idx]
            g["groups"] = cls[idx]
            g["weights"] = w / w.sum()
            g["index"] = idx
    return path


def make_gaussian(path, seed=0, n_train=4000, n_test=1000, d=200, top=10):
    """Write gaussian_shift.h5 (see module docstring)."""
    rng = np.random.default_rng(seed)
    scale = np.arange(1, d + 1) ** -0.75
    Xp = rng.standard_normal((n_train, d)) * scale
    Xq = rng.standard_normal((n_test, d)) * scale
    Q, _ = np.linalg.qr(rng.standard_normal((top, top)))
    Xq[:, :top] = Xq[:, :top] @ Q
    w = rng.standard_normal(d) * np.arange(1, d + 1) ** -0.25
    Xp, Xq = Xp.astype(np.float32), Xq.astype(np.float32)
    with h5py.File(path, "w") as f:
        _attrs(f, f"Gaussian features d={d}, train covariance diag(k^-1.5); test covariance "
                  f"rotated in its top-{top} subspace; linear teacher, clean targets",
               f"synthetic (seed {seed})", "CC0")
        f.create_dataset("train/features", data=Xp, compression="gzip", shuffle=True)
        f["train/targets"] = Xp.astype(np.float64) @ w
        f.create_dataset("test/features", data=Xq, compression="gzip", shuffle=True)
        f["test/targets"] = Xq.astype(np.float64) @ w
    return path


def make(outdir):
    """Write digits_shift.h5 and gaussian_shift.h5 into ``outdir``; return their paths."""
    os.makedirs(outdir, exist_ok=True)
    return [make_digits(os.path.join(outdir, "digits_shift.h5")),
            make_gaussian(os.path.join(outdir, "gaussian_shift.h5"))]


if __name__ == "__main__":
    for p in make(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))):
        print(p)
