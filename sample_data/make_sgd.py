"""Build sample_data/digits_relu.h5: 128 random ReLU features of the sklearn digits.

Features ψ(x) = max(0, x W / √64) with x the 8×8 pixels / 16 and W ~ N(0, 1) (64 × 128,
seed 0); target the parity of the digit, +1 for even and −1 for odd. scikit-learn is needed
here only (it ships the digits); kerncurve itself never imports it.

    python sample_data/make_sgd.py [OUTDIR]
"""

import sys
from pathlib import Path

import numpy as np

WIDTH = 128
SEED = 0


def digits_relu(width=WIDTH, seed=SEED):
    """Return (features (1797, width), targets (1797,)) as written to digits_relu.h5."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data / 16.0
    w = np.random.default_rng(seed).standard_normal((x.shape[1], width))
    features = np.maximum(x @ w / np.sqrt(x.shape[1]), 0.0)
    targets = np.where(digits.target % 2 == 0, 1.0, -1.0)
    return features, targets


def make(outdir):
    """Write digits_relu.h5 into outdir; return its path."""
    import h5py

    features, targets = digits_relu()
    path = Path(outdir) / "digits_relu.h5"
    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("features", data=features)
        f.create_dataset("targets", data=targets)
        f.attrs["description"] = (
            f"{WIDTH} random ReLU features max(0, x W/8) of sklearn digits (pixels/16, "
            f"W ~ N(0,1), seed {SEED}); targets: parity, +1 even / -1 odd"
        )
        f.attrs["made_by"] = "sample_data/make_sgd.py"
    tmp.replace(path)
    return path


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent))
