"""The Markov-chain schema of ``td``: ``/transitions`` (S, S), ``/features`` (S, N),
``/rewards`` (S,) and optionally ``/start`` (S,), read with the guarded readers of `h5`."""

import os

import numpy as np

from .h5 import check_meta, has_dataset, open_h5, read_array
from .sizes import check_bytes, memory_budget

__all__ = ["CHAIN_KEYS", "read_chain"]

#: Default dataset of each array of a chain file.
CHAIN_KEYS = {"transitions": "/transitions", "features": "/features", "rewards": "/rewards", "start": "/start"}

_WHAT = {"transitions": ("transitions (S, S)", (1, 2)), "features": ("features (S, N)", (1, 2)),
         "rewards": ("rewards (S,)", (1, 2)), "start": ("start (S,)", (1,))}


def read_chain(path, *, transitions_key="/transitions", features_key="/features", rewards_key="/rewards",
               start_key="/start", memory=None):
    """The arrays of a chain file, and what to call them in messages.

    Parameters
    ----------
    path : str or path
    transitions_key, features_key, rewards_key, start_key : str
        Dataset paths; ``start_key`` may be absent from the file (then ``start`` is None:
        the stationary distribution).
    memory : int, optional
        Budget in bytes for each array as read (default: 80 % of physical memory).

    Returns
    -------
    arrays : dict
        ``transitions``, ``features``, ``rewards``, ``start`` (float64 arrays; ``start`` may be
        None): the keyword arguments of `kerncurve.theory.td.make_chain`.
    labels : dict
        ``file:key`` of each array (the ``labels`` of `make_chain`).

    Raises
    ------
    InputError
        A missing, damaged, non-numeric, empty or non-finite dataset, or one over the budget.
    """
    path = os.fspath(path)
    budget = memory_budget(None) if memory is None else memory
    keys = {"transitions": transitions_key, "features": features_key, "rewards": rewards_key, "start": start_key}
    arrays, labels = {}, {}
    with open_h5(path) as f:
        for name, key in keys.items():
            labels[name] = f"{path}:{key}"
            if name == "start" and not has_dataset(f, key):
                arrays[name] = None
                continue
            what, ndim = _WHAT[name]
            option = f"{name}_key=..."
            shape = check_meta(f, key, ndim=ndim, option=option, what=what).shape
            check_bytes(float(np.prod(shape, dtype=np.float64)) * 8, budget, f"reading {path}:{key} (shape {shape})",
                        way_out="use a smaller chain")
            arrays[name] = read_array(f, key, ndim=ndim, option=option, what=what)
    return arrays, labels
