"""Sample data for `kerncurve capacity`: ``python sample_data/make_capacity.py [OUTDIR]``.

Writes ``cyclic_orbits.h5``: Z_8 acting by circular shifts on 4-channel signals of length 8
(d = 32, |G| = 8, N0 = 4), with the representation and 40 orbits of Gaussian signals.
Seeded, so the file is reproducible bit for bit on one platform.
"""

import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a source tree without installation

from kerncurve.theory.capacity import cyclic, orbits_from_representation  # noqa: E402


def make(outdir, n=8, channels=4, orbits=40, seed=0):
    rep = cyclic(n, channels)
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((orbits, rep.d))
    with h5py.File(os.path.join(outdir, "cyclic_orbits.h5"), "w") as f:
        f.create_dataset("representation", data=rep.matrices, compression="gzip", shuffle=True)
        f["orbits"] = orbits_from_representation(rep.matrices, base)
        f.attrs["description"] = (
            f"Z_{n} circular shifts acting identically on {channels} channels of length-{n} signals "
            f"(d = {rep.d}, |G| = {n}, N0 = {channels}); /representation (G, d, d) and /orbits "
            f"({orbits}, G, d): every shift of {orbits} Gaussian signals (channel-major layout)"
        )
        f.attrs["source"] = f"synthetic (seed {seed})"
        f.attrs["license"] = "CC0"
        f.attrs["generator"] = "sample_data/make_capacity.py"


if __name__ == "__main__":
    make(sys.argv[1] if len(sys.argv) > 1 else HERE)
