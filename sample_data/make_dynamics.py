"""Sample data of `kerncurve dynamics`: an exact power-law spectrum (the frontier's test case in docs/theory/dynamics.md).

``make(outdir)`` writes ``powerlaw_spectrum.h5``, a spectrum cache (the format written by
``kerncurve spectrum --save``) with M = 10 000 modes, eigenvalues λ_k = k^-1.5 and target power
λ_k w_k² = k^-2 (b = 1.5, a = 2): the spectrum on which the compute-optimal frontier
N* ∝ C^0.4, t* ∝ C^0.6 is predicted. Deterministic (no random choice).
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def make(outdir, modes=10_000, b=1.5, a=2.0):
    sys.path.insert(0, os.path.dirname(HERE))  # run from a source tree
    from kerncurve.io import write_spectrum
    from kerncurve.spectral import Spectrum

    k = np.arange(1, modes + 1, dtype=np.float64)
    spec = Spectrum(eigenvalues=k**-b, coefficients=np.sqrt(k**-a)[:, None], residual_power=0.0, n=modes,
                    route="cache")
    path = os.path.join(outdir, "powerlaw_spectrum.h5")
    write_spectrum(spec, path, extra_attrs={
        "description": f"exact power-law spectrum: {modes} modes, eigenvalues k^-{b}, target power k^-{a}",
        "source": "synthetic (closed form)",
        "license": "CC0",
        "generator": "sample_data/make_dynamics.py",
    })
    return path


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else HERE))
