"""Regenerate kerncurve's sample data: ``python sample_data/make_samples.py [OUTDIR]``.

scikit-learn is used here only (for its bundled digits); it is not a runtime dependency.
Every random choice is seeded, so the files are reproducible bit for bit on one platform.
Other commands' sample files are written by ``make_<command>.py`` beside this file, each
exposing ``make(outdir)``; this script runs them all.
"""

import importlib.util
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _attrs(f, description, source, license_):
    f.attrs["description"] = description
    f.attrs["source"] = source
    f.attrs["license"] = license_
    f.attrs["generator"] = "sample_data/make_samples.py"


def make_digits(outdir):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    labels = d.target.astype(np.int64)
    parity = np.where(labels % 2 == 0, 1.0, -1.0)
    onehot = np.eye(10)[labels]
    with h5py.File(os.path.join(outdir, "digits.h5"), "w") as f:
        f["inputs"] = x
        f["targets"] = parity
        f["labels"] = labels
        f["labels_onehot"] = onehot
        _attrs(f, "8x8 handwritten digits (1797 images, pixels/16); targets = parity (+1 even, -1 odd)",
               "scikit-learn bundled copy of the UCI Optical Recognition of Handwritten Digits test set",
               "CC BY 4.0 (UCI); scikit-learn BSD-3-Clause")


def make_powerlaw(outdir, n=4000, d=1000, b=1.5, a=2.0, seed=0):
    """Gaussian features with population eigenvalues k^-b and target power λ_k w_k² = k^-a."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, d + 1, dtype=np.float64)
    lam = k**-b
    w = np.sqrt(k**-a / lam)
    x = (rng.standard_normal((n, d)) * np.sqrt(lam)).astype(np.float32)
    y = x.astype(np.float64) @ w
    with h5py.File(os.path.join(outdir, "powerlaw.h5"), "w") as f:
        f.create_dataset("features", data=x, compression="gzip", shuffle=True)
        f["targets"] = y
        f["population_eigenvalues"] = lam
        f["teacher"] = w
        _attrs(f, f"Gaussian features, n={n}, d={d}, population eigenvalues k^-{b}, target power k^-{a}; "
                  "targets = features @ teacher (noise-free)", "synthetic (seed 0)", "CC0")


def make_v1(outdir, neurons=300, stimuli=1000, seed=0):
    """A model V1 population: orientation-tuned neurons responding to oriented gratings.

    Neuron i has preferred orientation θ_i, gain g_i and sharpness s_i; its response to a
    grating of orientation θ is g_i exp(s_i (cos 2(θ − θ_i) − 1)) (von Mises tuning, period π).
    Two tasks on the same code: a smooth one, y = cos 2θ, aligned with the code's top
    modes, and a fine one, y = sign(cos 12θ), carried by weak high-frequency modes (after
    Bordelon & Pehlevan, eLife 2022).
    """
    rng = np.random.default_rng(seed)
    pref = np.sort(rng.uniform(0, np.pi, neurons))
    gain = rng.lognormal(0.0, 0.3, neurons)
    sharp = rng.uniform(2.0, 20.0, neurons)
    theta = np.sort(rng.uniform(0, np.pi, stimuli))
    r = gain * np.exp(sharp * (np.cos(2 * (theta[:, None] - pref[None, :])) - 1.0))
    with h5py.File(os.path.join(outdir, "v1.h5"), "w") as f:
        f["features"] = r
        f["targets"] = np.cos(2 * theta)
        f["targets_fine"] = np.sign(np.cos(12 * theta))
        f["orientation"] = theta
        f["preferred_orientation"] = pref
        _attrs(f, f"model V1: {neurons} orientation-tuned neurons x {stimuli} gratings; /targets = cos(2θ) "
                  "(smooth), /targets_fine = sign(cos 12θ) (fine)", "synthetic (seed 0)", "CC0")


def _run_others(outdir):
    for name in sorted(os.listdir(HERE)):
        if name.startswith("make_") and name.endswith(".py") and name != "make_samples.py":
            spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mod.make(outdir)


def main(outdir=HERE):
    os.makedirs(outdir, exist_ok=True)
    make_digits(outdir)
    make_powerlaw(outdir)
    make_v1(outdir)
    _run_others(outdir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
