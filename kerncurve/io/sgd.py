"""An SGD input file: the kernel problem of the standard schema, with one target channel.

SGD trains one linear readout, so the targets (or a spectrum cache's coefficients) must have
a single column. Features, a Gram (or ``kernel`` on raw inputs) and spectrum caches are read
by `kerncurve.io.problem.load_problem`.
"""

import os

from ..errors import InputError
from .problem import load_problem

__all__ = ["read_sgd_input"]


def read_sgd_input(path, *, features_key="/features", gram_key="/gram", targets_key="/targets", inputs_key="/inputs",
                   kernel=None, kernel_params=None):
    """(problem, y): the input's `Problem` and its single target column (n,), or None for a spectrum cache.

    Raises
    ------
    InputError
        The targets or the cached coefficients have more than one channel.
    """
    path = os.fspath(path)
    problem = load_problem(path, features_key=features_key, gram_key=gram_key, targets_key=targets_key,
                           inputs_key=inputs_key, kernel=kernel, kernel_params=kernel_params)
    if problem.spectrum is not None:
        c = problem.spectrum.channels
        if c != 1:
            raise InputError(f"{path}: sgd takes one target channel, the spectrum cache has {c}")
        return problem, None
    y = problem.targets
    if y.shape[1] != 1:
        raise InputError(f"{path}: sgd takes one target channel, the targets have {y.shape[1]}; set "
                         "targets_key= to a single column", param="targets_key")
    return problem, y[:, 0]
