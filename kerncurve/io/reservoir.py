"""The codes file that ``reservoir`` writes: an input every command accepts.

Schema (M = trials × steps samples, sample index = trial·steps + step; N neurons):

==========================  ============  ===================================================
``/features``               (M, N)        rates r/√N (so the linear kernel is K = R Rᵀ/N)
``/targets``                (M, c)        every target signal, one column each
``/target_tau/<τ_y>``       (M,)          one target alone (built-in task; ``<τ_y>`` as
                                          given, e.g. ``/target_tau/0.5``; 0 = held)
``/target/<j>``             (M,)          one target alone (targets given as arrays, c > 1)
``/trial``, ``/time``       (M,) int64    the sample's trial and time step (for grouping)
``/stimulus``               (M, d_in)     the input x(t) at the sample
``/theta``                  (trials,)     the cue of each trial (built-in task)
==========================  ============  ===================================================

Root attributes: the format tag (``kerncurve-codes``, version 1), ``gain``, ``n``,
``trials``, ``steps``, ``dt``, ``tau``, ``seed``, ``task`` and, for the built-in task,
``target_tau``. With several gains, one file per gain: ``codes.h5`` becomes
``codes_g0.5.h5``, ``codes_g1.h5``…
"""

import os

import numpy as np

from ..errors import InputError
from .cache import dataset, write_h5

__all__ = ["CODES_FORMAT", "CODES_FORMAT_VERSION", "codes_paths", "write_codes"]

CODES_FORMAT = "kerncurve-codes"
CODES_FORMAT_VERSION = 1


def codes_paths(output, gains):
    """The file of each gain: ``output`` itself for one gain, else ``<stem>_g<gain><ext>``."""
    output = os.fspath(output)
    if len(gains) == 1:
        return [output]
    stem, ext = os.path.splitext(output)
    paths = [f"{stem}_g{g:g}{ext or '.h5'}" for g in gains]
    seen = {}
    for g, path in zip(gains, paths):
        if path in seen:
            raise InputError(f"gain values {seen[path]!r} and {g!r} give the same file name {path!r}; give gains that "
                             "differ in their first 6 significant digits", param="gain")
        seen[path] = g
    return paths


def write_codes(target, codes, attrs, option="OUTPUT"):
    """Write one gain's codes (a `kerncurve.api.reservoir.Codes`) atomically.

    ``attrs`` are the root attributes besides the format tag (gain, n, trials, …).
    """
    m, n = codes.features.shape

    def fill(f):
        dataset(f, "features", codes.features)
        dataset(f, "targets", codes.targets)
        if codes.target_taus is not None:
            g = f.create_group("target_tau", track_order=False)
            for j, tau_y in enumerate(codes.target_taus):
                ds = dataset(g, f"{tau_y:g}", codes.targets[:, j])
                ds.attrs["tau"] = float(tau_y)
        elif codes.targets.shape[1] > 1:
            g = f.create_group("target", track_order=False)
            for j in range(codes.targets.shape[1]):
                dataset(g, str(j), codes.targets[:, j])
        dataset(f, "trial", codes.trial)
        dataset(f, "time", codes.time)
        dataset(f, "stimulus", codes.stimulus)
        if codes.theta is not None:
            dataset(f, "theta", codes.theta)

    clean = {k: (np.asarray(v, float) if isinstance(v, (list, tuple)) else v) for k, v in attrs.items()}
    write_h5(target, fill, fmt=CODES_FORMAT, version=CODES_FORMAT_VERSION, attrs=clean, option=option)
