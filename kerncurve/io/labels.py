"""Labels read beside an input's kernel problem: group labels of the samples (``predict
--groups``), a file's sweep attribute and its feature dimension (``predict`` over several
inputs). Guarded reads, as every other input."""

import os

import numpy as np

from ..errors import InputError
from .h5 import check_meta, guard, lookup, open_h5, read_array

__all__ = ["dataset_key", "read_groups", "read_sweep_value", "feature_dimension"]


def dataset_key(name):
    """``trial`` → ``/trial``; a path is kept."""
    name = str(name).strip()
    return name if name.startswith("/") else "/" + name


def read_groups(path, names, n):
    """{name: int64 labels (n,)} of the datasets ``names`` of an input file.

    Each must be a 1-D (or (n, 1)) numeric dataset of n integer labels.
    """
    out = {}
    with open_h5(os.fspath(path)) as f:
        for name in names:
            key = dataset_key(name)
            found = lookup(f, key)
            if found is not None and getattr(found, "dtype", None) is not None and found.dtype.kind not in "iufb":
                raise InputError(f"groups dataset {f.filename}:{key} has non-numeric dtype {found.dtype}; store "
                                 "integer labels (a trial or session number per sample)", param="groups")
            obj = check_meta(f, key, ndim=(1, 2), option="groups=…", what="group labels (n,)")
            if obj.dtype.kind not in "iu":
                arr = read_array(f, key, ndim=(1, 2), option="groups=…", what="group labels (n,)")
            else:
                with guard(f.filename, key, obj):
                    arr = np.asarray(obj[()])
            out[name] = check_labels(arr, f"groups dataset {f.filename}:{key}", n)
    return out


def check_labels(arr, where, n):
    """Integer labels (n,) as int64, or an `InputError` saying what is wrong at ``where``."""
    arr = np.asarray(arr)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(f"{where} has shape {arr.shape}; group labels must be one integer per sample (n,)",
                         param="groups")
    if arr.shape[0] != n:
        raise InputError(f"{where} has {arr.shape[0]} labels but the input has n = {n} samples; give one group "
                         "label per sample", param="groups")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) \
            or np.max(np.abs(arr)) >= 2.0**53:
        bad = "non-numeric" if arr.dtype.kind not in "f" else "non-integer"
        raise InputError(f"{where} holds {bad} values; group labels must be integers (a trial or session "
                         "number per sample)", param="groups")
    return arr.astype(np.int64)


def read_sweep_value(path, name):
    """The numeric root attribute ``name`` of a file (its place in a sweep), or None if absent."""
    with open_h5(os.fspath(path)) as f:
        with guard(f.filename, "/"):
            v = f.attrs.get(name)
    if v is None:
        return None
    arr = np.asarray(v)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf" or not np.isfinite(arr):
        raise InputError(f"{os.fspath(path)}: root attribute sweep_attr={name!r} must be one finite number (the "
                         f"input's place in the sweep), got {v!r}", param="sweep_attr")
    return float(arr)


def feature_dimension(path, keys):
    """(key, d): the second dimension of the first of ``keys`` present in the file, or None."""
    with open_h5(os.fspath(path)) as f:
        for key in keys:
            obj = lookup(f, key)
            if obj is not None and hasattr(obj, "shape") and obj.shape is not None and len(obj.shape) == 2:
                return key, int(obj.shape[1])
    return None
