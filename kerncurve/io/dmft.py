"""The HDF5 schema of ``dmft``: training (and test) inputs and targets in, NTKs out.

Input: ``/inputs`` (P, D) and ``/targets`` (P,) or (P, 1); test points are a group holding
``inputs`` and ``targets`` (``--test-key /test``), or a dataset of inputs plus
``--test-targets-key``. Output (``--kernel-output``): format ``kerncurve-dmft-kernel``,
datasets ``gamma0`` (G,), ``time`` (T,), ``kernel`` (G, T, n, n) with train then test
points, ``final_kernel`` (G, n, n); root attributes ``source`` and ``n_train``.
"""

import numpy as np

from ..errors import InputError
from .cache import dataset, write_h5
from .h5 import check_meta, has_dataset, open_h5, read_array
from .sizes import check_bytes

__all__ = ["KERNEL_FORMAT", "KERNEL_FORMAT_VERSION", "read_dmft_input", "write_dmft_kernels", "check_read_size"]

KERNEL_FORMAT = "kerncurve-dmft-kernel"
KERNEL_FORMAT_VERSION = 1


def read_dmft_input(path, inputs_key="/inputs", targets_key="/targets", test_key=None, test_targets_key=None,
                    memory=None):
    """``(x (P, D), y (P,), x_test (Q, D) or None, y_test (Q,) or None)`` from an HDF5 input.

    ``memory`` (bytes) bounds the arrays read, together (checked on their declared shapes
    before anything is read).
    """
    with open_h5(path) as f:
        keys = [(inputs_key, "--inputs-key"), (targets_key, "--targets-key")]
        tk = tt = None
        if test_key is not None:
            tk, tt = _test_keys(f, test_key, test_targets_key, targets_key)
            keys += [(tk, "--test-key"), (tt, "--test-targets-key")]
        check_read_size(f, keys, memory, "raise --max-memory or use a smaller input")
        x = read_array(f, inputs_key, ndim=(2,), option="--inputs-key", what="inputs (P, D)")
        y = _targets(f, targets_key, x.shape[0], "--targets-key")
        x_test = y_test = None
        if tk is not None:
            x_test = read_array(f, tk, ndim=(2,), option="--test-key", what="test inputs (Q, D)")
            if x_test.shape[1] != x.shape[1]:
                raise InputError(f"{path}:{tk} has {x_test.shape[1]} input dimensions but {inputs_key} has "
                                 f"{x.shape[1]}; test points need the same dimension")
            y_test = _targets(f, tt, x_test.shape[0], "--test-targets-key")
    return x, y, x_test, y_test


def _test_keys(f, test_key, test_targets_key, targets_key):
    """The datasets of the test inputs and targets: inside a group, or a dataset and its targets."""
    if test_key in f and not has_dataset(f, test_key):  # a group: inputs + targets inside
        grp = test_key.rstrip("/")
        tk, tt = f"{grp}/inputs", test_targets_key or f"{grp}/targets"
    else:
        parent = test_key.rsplit("/", 1)[0] if "/" in test_key.strip("/") else ""
        tk, tt = test_key, test_targets_key or f"{parent}/targets"
        if test_targets_key is None and tt == targets_key:
            raise InputError(f"--test-key {test_key}: name the test targets with --test-targets-key "
                             f"(the default {tt!r} is the training targets)")
    if not has_dataset(f, tt):
        raise InputError(f"test targets {tt!r} not found in {f.filename!r}; set --test-targets-key")
    return tk, tt


def check_read_size(f, keys, memory, way_out):
    """Refuse datasets ``keys`` ([(key, option)]) whose declared sizes, read as float64, exceed
    ``memory`` bytes together (before anything is read)."""
    if memory is None:
        return
    total, shapes = 0.0, []
    for key, option in keys:
        obj = check_meta(f, key, ndim=(1, 2), option=option)
        total += 8.0 * float(np.prod(obj.shape, dtype=np.float64))
        shapes.append(f"{key} {obj.shape}")
    check_bytes(total, memory, f"reading {', '.join(shapes)} of {f.filename}", way_out=way_out)


def _targets(f, key, n, option):
    y = read_array(f, key, ndim=(1, 2), option=option, what="targets (n,)")
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise InputError(f"{f.filename}:{key} has {y.shape[1]} output channels; dmft supports one "
                             "output channel — store a single target column")
        y = y[:, 0]
    if y.shape[0] != n:
        raise InputError(f"{f.filename}:{key} has {y.shape[0]} targets but there are {n} inputs; "
                         "give one target per input row")
    if not np.any(y != 0):
        raise InputError(f"{f.filename}:{key} is all zeros; the loss would stay at 0")
    return y


def write_dmft_kernels(target, datasets, *, n_train, source, option="--kernel-output"):
    """Write the NTKs of a `dmft` result (``datasets``: gamma0, time, kernel, final_kernel; with
    residual networks also depth, one entry per (gamma0, depth) group)."""

    grouped = "depth" in datasets  # residual networks: one group per (gamma0, depth), gamma0 major

    def fill(f):
        for name in ("gamma0", "depth", "time", "kernel", "final_kernel"):
            if name not in datasets:
                continue
            d = dataset(f, name, np.asarray(datasets[name], dtype=np.float64))
            if name == "kernel":
                first = "group (gamma0, depth: the datasets of those names)" if grouped else "gamma0"
                d.attrs["axes"] = f"{first}, time, point, point (train first, then test)"

    write_h5(target, fill, fmt=KERNEL_FORMAT, version=KERNEL_FORMAT_VERSION,
             attrs={"source": str(source), "n_train": int(n_train)}, option=option)
