"""Arguments shared by the network commands (``transfer``, ``limits``, ``heads``): checks and data.

Each command validates its network options with `check_network_options` (only the names it
takes; every message starts with the Python name, which the command line maps to its flag)
and reads its data with `load_network_data` (a file, or arrays in memory). `require_nn`
turns a missing JAX into the one-line install hint before any work.
"""

import numpy as np

from .._validation import (check_choice, check_file_input, check_float, check_floats, check_int, check_seed,
                           check_sizes)
from ..errors import InputError

__all__ = ["NETWORK_DEFAULTS", "require_nn", "check_network_options", "check_batch", "load_network_data",
           "as_list"]

#: Defaults of the shared options, the same in the Python API and on the command line.
NETWORK_DEFAULTS = {
    "param": ("sp", "mup", "depth-mup"),
    "alpha": None,
    "activation": "tanh",
    "optimizer": "sgd",
    "batch": None,
    "gamma0": 1.0,
    "beta0": 1.0,
    "steps": 100,
    "seeds": 3,
    "width": (32, 64, 128),
    "depth": (2, 4, 8),
    "memory": None,
    "seed": 0,
    "test_frac": None,
    "dtype": "float32",
}

#: Most runs × steps × widths one call may train (each run costs at least a few µs a step).
MAX_RUN_STEPS = 10**9


def require_nn(what):
    """Raise InputError ``"<what> needs JAX: pip install 'kerncurve[nn]'"`` when the extra is missing."""
    from ..nn._jax import require_jax

    require_jax(what)


def as_list(value):
    """A comma string, a scalar or a sequence as a list (strings split on commas)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    if value is None or np.ndim(value) == 0:
        return [value]
    return list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)


def _params(value):
    from ..nn.scaling import PARAMS

    vals = as_list(value)
    if not vals or vals == [""]:
        raise InputError(f"param is empty; give one or more of {', '.join(PARAMS)}", param="param")
    out = tuple(check_choice(v, "param", PARAMS) for v in vals)
    if len(set(out)) != len(out):
        raise InputError(f"param has repeated entries: {', '.join(out)}", param="param")
    return out


def _sizes(name):
    def check(value):
        out = tuple(int(v) for v in check_sizes(as_list(value), name, minimum=1, maximum=1 << 20))
        if len(set(out)) != len(out):
            raise InputError(f"{name} has repeated entries: {list(out)}", param=name)
        return out
    return check


def _choice(name):
    def check(value):
        from ..nn.scaling import ACTIVATIONS, OPTIMIZERS

        return check_choice(value, name, {"activation": ACTIVATIONS, "optimizer": OPTIMIZERS,
                                          "dtype": ("float32", "float64")}[name])
    return check


def _test_frac(value):
    from ..io.nn_data import check_test_frac

    return check_test_frac(value)


def _memory(value):
    from ..io.sizes import memory_budget

    return memory_budget(value)


_CHECKS = {
    "param": _params,
    "alpha": lambda v: None if v is None else check_float(v, "alpha"),
    "activation": _choice("activation"),
    "optimizer": _choice("optimizer"),
    "dtype": _choice("dtype"),
    "batch": lambda v: None if v is None else check_int(v, "batch", minimum=1),
    "gamma0": lambda v: check_float(v, "gamma0", minimum=0.0, strict=True),
    "beta0": lambda v: check_float(v, "beta0", minimum=0.0, strict=True),
    "steps": lambda v: check_int(v, "steps", minimum=1, maximum=10**7),
    "seeds": lambda v: check_int(v, "seeds", minimum=1, maximum=10**4),
    "lr": lambda v: check_floats(v, "lr", minimum=0.0, strict=True),
    "width": _sizes("width"),
    "depth": _sizes("depth"),
    "memory": _memory,
    "seed": check_seed,
    "test_frac": _test_frac,
}


def check_network_options(**options):
    """Validate the given shared network options; return them in canonical form (a dict).

    ``param`` → tuple of presets; ``width``, ``depth`` → tuples of distinct ints ≥ 1 (a comma
    string or a list); ``lr`` → float64 array > 0; ``steps``, ``seeds``, ``batch`` → ints ≥ 1
    (``batch`` None = full batch); ``gamma0``, ``beta0`` → floats > 0; ``alpha`` → float or
    None; ``activation``, ``optimizer``, ``dtype`` → one of the engine's choices; ``memory``
    → the budget in bytes (None: the default budget); ``seed`` → 0 ≤ int < 2⁶³;
    ``test_frac`` → float in (0, 1) or None. Unknown names are a programming error
    (TypeError).
    """
    unknown = set(options) - set(_CHECKS)
    if unknown:
        raise TypeError(f"check_network_options: unknown options {sorted(unknown)}")
    return {k: _CHECKS[k](v) for k, v in options.items()}


def check_batch(batch, n_train):
    """``batch`` ≤ the training samples; None when it equals them (full batch)."""
    if batch is None:
        return None
    if batch > n_train:
        raise InputError(f"batch must be at most the {n_train} training samples, got {batch}", param="batch")
    return None if batch == n_train else batch


def load_network_data(input=None, *, x=None, y=None, x_test=None, y_test=None, test_frac=None, seed=0, ndim=2,
                      inputs_key="/inputs", targets_key="/targets", memory=None):
    """The training and test arrays of a network command: a `kerncurve.io.nn_data.NetworkData`.

    Give ``input`` (an HDF5 file with ``inputs_key``, ``targets_key`` and optionally
    ``/test/inputs`` + ``/test/targets``) or the arrays ``x``, ``y`` (and ``x_test``,
    ``y_test``), not both. ``test_frac`` splits the training set instead (seeded by ``seed``).
    """
    from ..io.nn_data import network_data, read_network_data

    arrays = {"x": x, "y": y, "x_test": x_test, "y_test": y_test}
    given = [k for k, v in arrays.items() if v is not None]
    if check_file_input(input, arrays, {"inputs_key": inputs_key, "targets_key": targets_key}):
        return read_network_data(input, ndim=ndim, inputs_key=inputs_key, targets_key=targets_key,
                                 test_frac=test_frac, seed=seed, memory=memory)
    if x is None or y is None:
        raise InputError("give input (an HDF5 file) or the arrays x and y", param="input" if not given else "x")
    return network_data(x, y, x_test, y_test, test_frac=test_frac, seed=seed, ndim=ndim)
