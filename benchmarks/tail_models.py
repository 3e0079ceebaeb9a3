"""How much of a top-k curve's error is its tail: the exact top-K modes with a fitted tail vs
the tail matched to the kernel's moments, against the exact spectrum.

    python benchmarks/tail_models.py INPUT.h5 [--kernel rbf] [--top 250,500,1000,2000]
                                     [--p 10,46,100,215,464,1000] [--cache SPECTRUM.h5]

The exact spectrum (all n modes, the Gram route) is computed once and kept in ``--cache``
(a ``kerncurve spectrum --save`` file; reused when it exists). For each K the first K exact
modes are kept and the rest replaced by (a) the fitted tail (power law over [K/2, K], target
power by a power law plus a floor over [K/4, K]) and (b) the moment-matched tail (remaining
Σ η, Σ η², Σ v², Σ η v² exact; the moments are those of the exact spectrum, which is what one
pass over the kernel gives). Prints the relative error of E_g at each P, and the spectrum's
local exponent (slope of log η_k against log k over k/1.2 … 1.2k), which shows why a fit over
the last computed modes can miss.
"""

import argparse
import os

import numpy as np

import kerncurve as kc
from kerncurve.spectral.topk import with_power_law_tail
from kerncurve.theory.ridge import learning_curve


def _eg(eta, power, p):
    order = np.argsort(-eta, kind="stable")
    return learning_curve(eta[order], power[order], 0.0, p, 0.0, 0.0).eg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("--kernel", default="rbf")
    ap.add_argument("--top", default="250,500,1000,2000")
    ap.add_argument("--p", default="10,46,100,215,464,1000")
    ap.add_argument("--cache", default=None)
    a = ap.parse_args(argv)
    p = np.array([float(v) for v in a.p.split(",")])
    if a.cache and os.path.exists(a.cache):
        spec = kc.Spectrum.load(a.cache)
    else:
        spec = kc.spectrum(a.input, kernel=a.kernel, save=a.cache)
    eta, v = spec.eigenvalues, spec.coefficients
    n = spec.n
    v2 = np.sum(v**2, 1)
    total = v2.sum() + spec.residual_power
    moments = (float(np.sum(eta**2)), np.einsum("k,kc,kc->c", eta, v, v))
    exact = learning_curve(eta, v2, spec.residual_power, p, 0.0, 0.0).eg
    print(f"n = {n}, modes = {eta.size}; relative error of E_g, exact top-K modes + tail")
    print("K     tail      " + " ".join(f"P={int(x):<7d}" for x in p))
    for k in (int(x) for x in a.top.split(",")):
        args = (eta[:k], v[:k], float(eta[k:].sum()), np.array([total]), n)
        for name, mom in (("fit", None), ("moments", moments)):
            e, c, info = with_power_law_tail(*args, mom)
            err = _eg(e, np.sum(c**2, 1), p) / exact - 1
            print(f"{k:<5d} {name:<9s} " + " ".join(f"{x:+.4f} " for x in err) +
                  f"  (b = {info['tail_eigenvalue_exponent']:.2f})")
    print("local exponent of η_k:")
    for k in (250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000):
        if 1.2 * k < eta.size:
            lo, hi = int(k / 1.2), int(k * 1.2)
            ks = np.arange(lo, hi) + 1.0
            slope = -np.polyfit(np.log(ks), np.log(eta[lo:hi]), 1)[0]
            print(f"  k = {k:<5d} {slope:.2f}")


if __name__ == "__main__":
    main()
