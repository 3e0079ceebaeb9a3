"""The HDF5 schema of ``align``: a deep linear network's data in, predicted kernels out.

Deep-linear input: ``/inputs`` (n, d) — or ``/features`` when there are no inputs — and
scalar ``/targets`` (n,) or (n, 1). (The toy model reads a kernel problem through
`kerncurve.io.problem.load_problem`.) Output (``--kernel-output``): format
``kerncurve-align-kernel``; every dataset float64, root attributes naming the mode and
its parameters.
"""

import numpy as np

from ..errors import InputError
from .cache import dataset, write_h5
from .dmft import check_read_size
from .h5 import lookup, open_h5, read_array

__all__ = ["KERNEL_FORMAT", "KERNEL_FORMAT_VERSION", "read_linear_input", "write_align_kernels"]

KERNEL_FORMAT = "kerncurve-align-kernel"
KERNEL_FORMAT_VERSION = 1


def read_linear_input(path, inputs_key="/inputs", features_key="/features", targets_key="/targets", memory=None):
    """``(X (n, d), y (n,), key)``: the deep linear network's inputs, its scalar targets, and
    which dataset held the inputs. ``memory`` (bytes) bounds every array read whole."""
    with open_h5(path) as f:
        key = inputs_key if lookup(f, inputs_key) is not None else (
            features_key if lookup(f, features_key) is not None else None)
        if key is None:
            raise InputError(f"{path!r} has neither {inputs_key!r} nor {features_key!r}; the deep "
                             "linear network needs inputs (n, d) (set --inputs-key)")
        check_read_size(f, [(key, "--inputs-key"), (targets_key, "--targets-key")], memory,
                        "raise --memory or use a smaller input (--subsample does not help: it draws after reading)")
        X = read_array(f, key, ndim=(2,), option="--inputs-key", what="inputs (n, d)")
        y = read_array(f, targets_key, ndim=(1, 2), option="--targets-key", what="targets (n,)")
    if y.shape[0] != X.shape[0]:
        raise InputError(f"{path}:{targets_key} has {y.shape[0]} samples but {key} has {X.shape[0]}; "
                         "they need one row per sample")
    if y.ndim == 2 and y.shape[1] != 1:
        raise InputError(f"{path}:{targets_key} has {y.shape[1]} channels; the deep linear network has "
                         "one output: store a single column (n,)")
    return X, y.reshape(-1), key


def write_align_kernels(target, datasets, attrs, option="--kernel-output"):
    """Write ``datasets`` (name → array, as float64) with the format tag and ``attrs``."""

    def fill(f):
        for name, value in datasets.items():
            dataset(f, name, np.asarray(value, dtype=np.float64))

    write_h5(target, fill, fmt=KERNEL_FORMAT, version=KERNEL_FORMAT_VERSION, attrs=attrs, option=option)
