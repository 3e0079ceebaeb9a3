"""Checks shared by `kerncurve.shift` and `kerncurve.shift_optimize`: the input options at entry,
memory and work budgets on the input's layout (before anything is read or built), the pool
an experiment draws from, and the regime where the theory drifts."""

import contextlib
import warnings

import numpy as np

from .._validation import check_float, check_int, check_seed
from ..errors import InputError, NumericalWarning
from ..io.sizes import check_bytes, memory_budget, parse_size

__all__ = ["WORK_BUDGET", "OPTIMIZER_BUDGET", "MAX_TRIALS", "check_options", "check_factorization", "check_theory", "check_simulation",
           "check_pool", "support_warning", "selection_param", "bar"]

#: floating-point operations of the curve and of the experiment (numpy loops: tens of minutes to hours)
WORK_BUDGET = 1e13
#: floating-point operations of the training-measure optimizer (eigendecompositions: about an hour)
OPTIMIZER_BUDGET = 1e14
MAX_TRIALS = 10**7


def check_options(*, kernel, bandwidth, degree, depth, trials, seed, memory):
    """The input and experiment options, in canonical form (before any file is opened)."""
    from ..kernels import KERNELS

    if kernel is not None and kernel not in KERNELS:
        raise InputError(f"unknown kernel={kernel!r}; choose one of {', '.join(KERNELS)}", param="kernel")
    if bandwidth is not None:
        bandwidth = check_float(bandwidth, "bandwidth", minimum=0.0, strict=True)
    degree = check_int(degree, "degree", minimum=1, maximum=10_000)
    depth = check_int(depth, "depth", minimum=1, maximum=10_000)
    trials = check_int(trials, "trials", minimum=2, maximum=MAX_TRIALS)
    seed = check_seed(seed)
    budget = memory_budget(None) if memory is None else parse_size(memory, "memory")
    return bandwidth, degree, depth, trials, seed, budget


def _modes(layout):
    return min(layout.n_train, layout.dim)


def check_factorization(layout, budget, *, gram=False):
    """Refuse a factorization that does not fit: the d×d route for features with d < n (unless
    ``gram``), else the n×n Gram blocks and their eigendecomposition."""
    n, m, d = float(layout.n_train), float(layout.n_test), float(layout.dim)
    if layout.route == "features" and d < n and not gram:
        need = 8.0 * (3 * n * d + 4 * m * d + 4 * d * d)
        what = f"the {int(d)}×{int(d)} second moment of {int(n)} + {int(m)} feature rows"
    else:
        need = 8.0 * (6 * n * n + 4 * m * n)
        what = f"the {int(n)}×{int(n)} training Gram, the {int(m)}×{int(n)} cross Gram and the eigendecomposition"
    check_bytes(need, budget, what, way_out="use a smaller pool or fewer test points, or raise memory=")


def check_theory(layout, rows, pointwise, budget):
    """Work of the curve (and of the pointwise errors) on ``rows`` (P, λ, σ²) points."""
    m, c, nq = float(_modes(layout)), float(layout.channels), float(layout.n_test)
    work = rows * (2 * m * m * c + 20 * m)
    if pointwise:
        work += rows * nq * m * (2 * c + 2)
        check_bytes(8.0 * 8 * rows * nq, budget, f"the pointwise table of {int(rows)} points × {int(nq)} test points",
                    way_out="use fewer p, ridge or noise values, or raise memory=")
    if work > WORK_BUDGET:
        raise InputError(f"p, ridge and noise ask for {rows:.6g} curve points on {int(m)} modes, about {work:.3g} "
                         f"floating-point operations, more than the {WORK_BUDGET:.3g} allowed; use fewer p, ridge or "
                         "noise values", param="p")


def check_simulation(layout, ps, n_ridges, n_noises, trials, pointwise, budget):
    """Refuse an experiment whose arithmetic or memory is absurd (before anything is drawn)."""
    ps = np.asarray(ps, dtype=float)
    c, nq = float(layout.channels), float(layout.n_test)
    feat = layout.route == "features"
    per_trial = (10 * ps**3 + n_ridges * (4 * ps**2 * (c + 1) + 4 * nq * ps * (c + 1))
                 + n_ridges * n_noises * 4 * (nq + ps) * c + (2 * ps * layout.dim * (nq + ps) if feat else 0))
    work = float(trials) * float(per_trial.sum())
    if work > WORK_BUDGET:
        raise InputError(f"trials={trials} asks for about {work:.3g} floating-point operations in the experiment "
                         f"(kernel ridge regression on up to {int(ps.max())} points), more than the {WORK_BUDGET:.3g} "
                         "allowed; use fewer trials or smaller p", param="trials")
    rows = float(ps.size) * n_ridges * n_noises
    need = 8.0 * (trials * ps.max() * (c + 1) * 2 + 2 * rows * trials + (rows * nq if pointwise else 0))
    check_bytes(need, budget, f"trials={trials} training sets of up to {int(ps.max())} points and their errors",
                way_out="use fewer trials or raise memory=")


def check_pool(data, p_max):
    """An experiment draws P points from the training pool: P may not exceed it."""
    support = int(np.sum(data.p > 0))
    if p_max > support:
        raise InputError(f"p={int(p_max)}: the experiment draws P points from the training pool, which has only "
                         f"{support} points with positive weight; use P at most the pool size", param="p")


def support_warning(data, p_max):
    """The theory takes the pool as the population: warn when P is not much smaller than it."""
    n_eff = 1.0 / np.sum(data.p**2)
    if p_max > 0.2 * n_eff:
        warnings.warn(f"P up to {int(p_max)} exceeds 0.2 × the effective training pool ({n_eff:.0f} points, 1/Σp²): "
                      "the theory assumes training sets much smaller than the pool and drifts beyond",
                      NumericalWarning)


def selection_param(value):
    """A group selection as the ``--json`` params record it (the text as given, or a list)."""
    if value is None or isinstance(value, str):
        return value
    return np.atleast_1d(np.asarray(value)).tolist()


def bar(progress, description, total):
    """``progress(description, total)``, or a no-op context yielding ``advance(n)``."""
    if progress is None:
        return contextlib.nullcontext(lambda n=1: None)
    return progress(description, total)
