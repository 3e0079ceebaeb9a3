"""The schema of ``capacity``: ``/representation`` (G, d, d) and/or ``/orbits`` (P, G, d),
read with the guarded readers of `h5`, sizes checked before anything is read."""

import os

import numpy as np

from ..errors import InputError
from .h5 import check_meta, guard, has_dataset, open_h5, read_array
from .sizes import check_bytes, memory_budget

__all__ = ["read_capacity", "REPRESENTATION_COPIES"]

#: Arrays of the representation's size the group analysis holds at once (the matrices, their
#: Gram ρᵀρ, the closure products), counted in the memory check before the read.
REPRESENTATION_COPIES = 3


def read_capacity(path, *, representation_key="/representation", orbits_key="/orbits", memory=None):
    """The representation and/or orbits of a capacity input.

    Parameters
    ----------
    path : str or path
    representation_key, orbits_key : str
        Dataset paths; at least one must be present.
    memory : int, optional
        Budget in bytes (default: 80 % of physical memory); a representation must fit
        `REPRESENTATION_COPIES` times, the orbits once.

    Returns
    -------
    matrices : ndarray (G, d, d) or None
    orbits : ndarray (P, G, d) or None
    orbit_dtype : numpy.dtype
        The stored float dtype of the orbits (float32 files carry ~1e-7 round-off).

    Raises
    ------
    InputError
        Neither dataset, a damaged/non-numeric/non-finite one, wrong shapes, orbits whose
        dimension differs from the representation's, or over the budget.
    """
    path = os.fspath(path)
    budget = memory_budget(None) if memory is None else memory
    with open_h5(path) as f:
        has_rep, has_orb = has_dataset(f, representation_key), has_dataset(f, orbits_key)
        if not (has_rep or has_orb):
            raise InputError(
                f"{path!r} has neither {representation_key!r} (G, d, d) nor {orbits_key!r} (P, G, d); add one, set "
                "representation_key=... or orbits_key=..., or use a built-in group", param="input")
        matrices = orbits = None
        dtype = np.dtype(np.float64)
        if has_rep:
            matrices = _read_representation(f, path, representation_key, budget)
        if has_orb:
            opt = "orbits_key=..."
            meta = check_meta(f, orbits_key, ndim=(3,), option=opt, what="the orbits (P, G, d)")
            with guard(f.filename, orbits_key):
                stored = meta.dtype
            check_bytes(float(np.prod(meta.shape, dtype=np.float64)) * 8, budget,
                        f"reading {path}:{orbits_key} (shape {meta.shape})", way_out="store fewer orbits")
            orbits = read_array(f, orbits_key, ndim=(3,), option=opt, what="the orbits (P, G, d)")
            if stored.kind == "f":
                dtype = np.dtype(stored)
        if matrices is not None and orbits is not None and orbits.shape[2] != matrices.shape[1]:
            raise InputError(
                f"{path}:{orbits_key} has points of dimension {orbits.shape[2]} but {representation_key} acts on "
                f"R^{matrices.shape[1]}; the last axis of the orbits must equal d")
    return matrices, orbits, dtype


def _read_representation(f, path, key, budget):
    opt = "representation_key=..."
    meta = check_meta(f, key, ndim=(2, 3), option=opt, what="the representation (G, d, d)")
    shape = meta.shape
    if len(shape) == 2:
        raise InputError(f"{path}:{key} is one {shape[0]}x{shape[1]} matrix; store every group element as a stack "
                         "of shape (G, d, d)")
    if shape[1] != shape[2]:
        raise InputError(f"{path}:{key} holds {shape[1]}x{shape[2]} matrices, not square; each rho(g) must be "
                         "d x d (shape (G, d, d))")
    check_bytes(REPRESENTATION_COPIES * float(np.prod(shape, dtype=np.float64)) * 8, budget,
                f"the representation {path}:{key} ({shape[0]} matrices of {shape[1]}x{shape[2]}, held "
                f"{REPRESENTATION_COPIES} times by the group analysis)",
                way_out="store a smaller representation (fewer elements or a smaller d), or give only /orbits")
    return read_array(f, key, ndim=(3,), option=opt, what="the representation (G, d, d)")
