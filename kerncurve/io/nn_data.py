"""Training data of the network commands (``transfer``, ``limits``, ``heads``).

Schema: ``/inputs`` (n, D) for MLPs or (n, S, D) for sequence models (the caller says which
rank it needs), ``/targets`` (n,) or (n, c) trained with the MSE (classes as one-hot rows), and
a held-out set either stored as ``/test/inputs`` + ``/test/targets`` or split off the training
rows with a seeded ``test_frac``. Arrays given in memory go through the same checks
(`network_data`), so the Python API and the command line refuse the same inputs.
"""

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._validation import check_array, check_float, check_seed
from ..errors import InputError
from .h5 import check_meta, has_dataset, open_h5, read_array
from .sizes import check_bytes, memory_budget

__all__ = ["NetworkData", "read_network_data", "network_data", "split_test", "TEST_INPUTS", "TEST_TARGETS"]

TEST_INPUTS = "/test/inputs"
TEST_TARGETS = "/test/targets"
_SHAPES = {2: "(n, D)", 3: "(n, S, D)"}


@dataclass(frozen=True)
class NetworkData:
    """Training and held-out arrays of a network command (float64; targets always (n, c)).

    Attributes
    ----------
    x, y : ndarray
        Training inputs (n, D) or (n, S, D) and targets (n, c).
    x_test, y_test : ndarray or None
        Held-out set (None when there is none).
    source : str
        Where the training data came from (``file:/inputs`` or ``arrays``).
    test_source : str
        ``file:/test/inputs``, ``split test_frac=0.2 (seed 0)``, ``arrays`` or ``none``.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: Optional[np.ndarray]
    y_test: Optional[np.ndarray]
    source: str
    test_source: str

    @property
    def n_train(self):
        return self.x.shape[0]

    @property
    def n_test(self):
        return 0 if self.x_test is None else self.x_test.shape[0]

    @property
    def d_in(self):
        return self.x.shape[-1]

    @property
    def channels(self):
        return self.y.shape[1]

    def describe(self):
        """(label, value) pairs for a command's summary."""
        shape = "×".join(str(s) for s in self.x.shape[1:])
        return [("input", self.source), ("training samples", self.n_train), ("input shape", shape),
                ("output channels", self.channels), ("test samples", f"{self.n_test} ({self.test_source})")]


def check_test_frac(test_frac):
    """``test_frac`` as a float in (0, 1), or None."""
    if test_frac is None:
        return None
    v = check_float(test_frac, "test_frac")
    if not 0.0 < v < 1.0:
        raise InputError(f"test_frac must be a fraction strictly between 0 and 1, got {test_frac!r}",
                         param="test_frac")
    return v


def split_test(x, y, test_frac, seed=0):
    """Hold out ``round(test_frac · n)`` rows (at least one, leaving at least one), chosen by ``seed``.

    The permutation comes from ``numpy.random.default_rng((seed, 0x7e57))``, so the split does
    not share a stream with the network's initial weights.

    Returns
    -------
    x, y, x_test, y_test : ndarray
    """
    test_frac = check_test_frac(test_frac)
    n = x.shape[0]
    if n < 2:
        raise InputError(f"test_frac needs at least 2 samples to split, got {n}", param="test_frac")
    q = int(min(max(round(test_frac * n), 1), n - 1))
    perm = np.random.default_rng((check_seed(seed), 0x7E57)).permutation(n)
    test, train = np.sort(perm[:q]), np.sort(perm[q:])
    return x[train], y[train], x[test], y[test]


def _targets(y, n, name, xname):
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != n:
        raise InputError(f"{name} has {y.shape[0]} rows but {xname} has {n}; give one target row per sample")
    return y


def _pair(x, y, xname, yname, ndim):
    x = check_array(x, xname, ndim=(ndim,), what=_SHAPES.get(ndim))
    y = check_array(y, yname, ndim=(1, 2), what="(n,) or (n, c)")
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != x.shape[0]:
        raise InputError(f"{yname} has {y.shape[0]} rows but {xname} has {x.shape[0]}; give one target row per "
                         "sample", param=yname)
    return x, y


def _matching(x, y, xt, yt, xtname):
    if xt.shape[1:] != x.shape[1:] or yt.shape[1] != y.shape[1]:
        raise InputError(f"{xtname} must have inputs of shape {x.shape[1:]} and {y.shape[1]} target channels like "
                         f"the training set, got {xt.shape[1:]} and {yt.shape[1]}")


def network_data(x, y, x_test=None, y_test=None, *, test_frac=None, seed=0, ndim=2):
    """Check arrays given in memory and split off a test set if asked: a `NetworkData`.

    Parameters
    ----------
    x : array, shape (n, D) (``ndim`` 2) or (n, S, D) (``ndim`` 3)
    y : array, shape (n,) or (n, c)
    x_test, y_test : array, optional
        Held-out set (given together; not with ``test_frac``).
    test_frac : float in (0, 1), optional
        Hold out this fraction of (x, y) instead, chosen by ``seed``.
    ndim : {2, 3}
        Rank the inputs must have.
    """
    x, y = _pair(x, y, "x", "y", ndim)
    test_frac = check_test_frac(test_frac)
    if (x_test is None) != (y_test is None):
        raise InputError("x_test and y_test must be given together", param="x_test")
    if x_test is not None:
        if test_frac is not None:
            raise InputError("test_frac splits the training set; give it or x_test/y_test, not both",
                             param="test_frac")
        xt, yt = _pair(x_test, y_test, "x_test", "y_test", ndim)
        _matching(x, y, xt, yt, "x_test")
        return NetworkData(x, y, xt, yt, "arrays", "arrays")
    if test_frac is not None:
        x, y, xt, yt = split_test(x, y, test_frac, seed)
        return NetworkData(x, y, xt, yt, "arrays", f"split test_frac={test_frac:g} (seed {seed})")
    return NetworkData(x, y, None, None, "arrays", "none")


def read_network_data(path, *, ndim=2, inputs_key="/inputs", targets_key="/targets", test_inputs_key=TEST_INPUTS,
                      test_targets_key=TEST_TARGETS, test_frac=None, seed=0, memory=None):
    """Read a network command's input file: a `NetworkData`.

    Parameters
    ----------
    path : str or path
        HDF5 file with ``inputs_key`` and ``targets_key``, and optionally the held-out pair
        ``test_inputs_key`` + ``test_targets_key``.
    ndim : {2, 3}
        Rank the inputs must have: (n, D) or (n, S, D).
    test_frac : float in (0, 1), optional
        Hold out this fraction of the training rows (seeded by ``seed``); refused when the
        file has its own test set.
    memory : int or str, optional
        Budget for the arrays as read (default: most of physical memory).

    Raises
    ------
    InputError
        A missing, damaged, non-numeric, wrongly shaped or non-finite dataset; targets whose
        length differs from the inputs'; only one of the test pair present; a test set with
        other shapes; ``test_frac`` outside (0, 1) or together with a stored test set.
    """
    path = os.fspath(path)
    test_frac = check_test_frac(test_frac)
    budget = memory_budget(memory)
    what = f"inputs {_SHAPES.get(ndim, f'({ndim}-D)')}"
    with open_h5(path) as f:
        def read(key, rank, label, option):
            shape = check_meta(f, key, ndim=rank, option=option, what=label).shape
            check_bytes(float(np.prod(shape, dtype=np.float64)) * 8, budget, f"reading {path}:{key} (shape {shape})",
                        way_out="use a smaller input or raise --memory")
            return read_array(f, key, ndim=rank, option=option, what=label)

        x = read(inputs_key, (ndim,), what, "--inputs-key")
        y = _targets(read(targets_key, (1, 2), "targets (n,) or (n, c)", "--targets-key"), x.shape[0],
                     f"{path}:{targets_key}", f"{path}:{inputs_key}")
        has_xt, has_yt = has_dataset(f, test_inputs_key), has_dataset(f, test_targets_key)
        if has_xt != has_yt:
            have, lack = (test_inputs_key, test_targets_key) if has_xt else (test_targets_key, test_inputs_key)
            raise InputError(f"{path} has {have} but not {lack}; store both or neither (or use --test-frac)")
        xt = yt = None
        if has_xt:
            if test_frac is not None:
                raise InputError(f"test_frac splits the training set, but {path} has its own test set "
                                 f"{test_inputs_key}; drop test_frac", param="test_frac")
            xt = read(test_inputs_key, (ndim,), f"test {what}", None)
            yt = _targets(read(test_targets_key, (1, 2), "test targets (n,) or (n, c)", None), xt.shape[0],
                          f"{path}:{test_targets_key}", f"{path}:{test_inputs_key}")
            _matching(x, y, xt, yt, f"{path}:{test_inputs_key}")
    source = f"{path}:{inputs_key}"
    if xt is not None:
        return NetworkData(x, y, xt, yt, source, f"{path}:{test_inputs_key}")
    if test_frac is not None:
        x, y, xt, yt = split_test(x, y, test_frac, seed)
        return NetworkData(x, y, xt, yt, source, f"split test_frac={test_frac:g} (seed {seed})")
    return NetworkData(x, y, None, None, source, "none")
