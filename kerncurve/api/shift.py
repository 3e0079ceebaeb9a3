"""`kerncurve.shift`: the learning curve of kernel ridge regression under distribution shift."""

import itertools
import warnings

import numpy as np

from .._validation import MAX_POINTS, check_count, check_floats, check_sizes
from ..errors import NumericalWarning
from ..result import Result, numerics_guard
from ..table import Table
from .compare import deviation_summary
from .shift_checks import (
    bar,
    check_factorization,
    check_options,
    check_pool,
    check_simulation,
    check_theory,
    selection_param,
    support_warning,
)
from .shift_input import load_shift

__all__ = ["shift", "ShiftResult", "COLUMNS", "POINTWISE_COLUMNS"]

COLUMNS = ["p", "ridge", "noise", "kappa", "gamma", "eg_test", "eg_train"]
EMPIRICAL = ["eg_test_empirical", "eg_test_empirical_sem"]
TRAILING = ["eg_test_bias", "eg_test_variance", "gamma_test"]
POINTWISE_COLUMNS = ["p", "ridge", "noise", "index", "group", "error"]
#: bytes of the per-mode temporaries of one chunk of curve points
CHUNK_BYTES = 64 * 2**20
_KERNEL_KEYS = ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth")


class ShiftResult(Result):
    """`shift`'s result; `pointwise` gives the error at every test point (``--pointwise-output``)."""

    def pointwise(self):
        """e(x_j) at every test point for every curve point (a `Table`): columns ``p, ridge,
        noise, index, group, error`` (+ ``error_empirical`` when the experiment ran with
        ``pointwise=True``); group −1 where the test points have no labels.

        E_g is linear in q: Σ_j q_j e(x_j) = eg_test.
        """
        from ..theory.shift import pointwise_error

        grid, problem, data, sim = self.grid, self.problem, self.shift_data, self.simulation
        n_q = data.n_test
        step = max(1, CHUNK_BYTES // (8 * n_q * (2 * data.y_p.shape[1] + 4)))
        e = np.concatenate([pointwise_error(problem, g[:, 0], g[:, 1], g[:, 2])
                            for g in np.array_split(grid, range(step, len(grid), step))])
        rows = e.shape[0]
        rep = np.repeat(np.arange(rows), n_q)
        groups = data.groups_q if data.groups_q is not None else np.full(n_q, -1)
        out = {"p": grid[rep, 0].astype(np.int64), "ridge": grid[rep, 1], "noise": grid[rep, 2],
               "index": np.tile(np.arange(n_q), rows), "group": np.tile(groups, rows), "error": e.ravel()}
        cols = list(POINTWISE_COLUMNS)
        if sim is not None and sim.pointwise is not None:
            out["error_empirical"] = sim.pointwise.reshape(rows, n_q).ravel()
            cols.append("error_empirical")
        return Table(cols, out, int_columns=("p", "index", "group"))


def _curve(problem, grid):
    """`shift_curve` on the grid's rows, in chunks that bound the per-mode temporaries."""
    from ..theory.shift import ShiftCurve, shift_curve

    m, c = problem.n_modes, problem.coefficients.shape[1]
    step = max(1, CHUNK_BYTES // (8 * m * (6 + 3 * c)))
    if len(grid) <= step:
        return shift_curve(problem, grid[:, 0], grid[:, 1], grid[:, 2])
    parts = [shift_curve(problem, g[:, 0], g[:, 1], g[:, 2]) for g in np.array_split(grid, range(step, len(grid),
                                                                                                   step))]
    return ShiftCurve(**{f: np.concatenate([getattr(part, f) for part in parts])
                         for f in ShiftCurve.__dataclass_fields__})



@numerics_guard(allow_inf=("eg_test", "eg_test_bias", "eg_test_variance", "eg_train", "eg_test_empirical",
                           "eg_test_empirical_sem"),
                allow_nan=("eg_test_empirical", "eg_test_empirical_sem"))
def shift(input=None, *, p, ridge=0.0, noise=0.0, empirical=False, trials=20, seed=0, pointwise=False,
          train_groups=None, test_groups=None, features_key="/features", gram_key="/gram", targets_key="/targets",
          inputs_key="/inputs", kernel=None, bandwidth=None, degree=2, depth=1, train=None, test=None, memory=None,
          progress=None):
    """Predicted test error of kernel ridge regression under distribution shift.

    Training points are drawn from a measure p over a pool, the error is measured under a
    measure q over test points (Canatar, Bordelon & Pehlevan, *Out-of-Distribution
    Generalization in Kernel Regression*, NeurIPS 2021). With the kernel's eigenfunctions
    φ_k under p, b_k = (1 − L_k)v_k, the overlap O_kl = E_q[φ_k φ_l], the off-span residual r
    of the target (c_k = E_q[φ_k r], R² = E_q[r²]) and κ, L_k, γ of the clean curve::

        E_g(p→q) = Σ_kl b_k O_kl b_l + 2 Σ_k b_k c_k + R²  +  γ_t/(1−γ) · (Σ_k b_k² + E_p[r²] + σ²),

    γ_t = (1/P) Σ_k O_kk L_k²; with q = p it is `kerncurve.predict`'s E_g. Conventions and
    measured agreement: docs/theory/shift.md.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file with groups ``/train`` (the pool) and ``/test`` (docs/shift.md); or give
    train, test : dict, optional
        The same in memory: ``train`` with ``features`` (n, d), ``inputs`` (with ``kernel``)
        or ``gram`` (n, n); ``test`` with ``features``, ``inputs`` or ``gram_cross``
        (n_test, n); both with ``targets`` (n,) or (n, c) and optionally ``weights`` (a
        measure, uniform if absent) and ``groups`` (integer labels).
    p : int or sequence of int
        Training-set sizes P ≥ 1.
    ridge, noise : float or sequence of float
        Absolute ridges λ ≥ 0 and label-noise variances σ² ≥ 0 (summed over channels).
    empirical : bool
        Also train kernel ridge regression on P points drawn from p (distinct points when p
        is uniform on its support, i.i.d. with replacement otherwise), tested on the test
        points weighted by q.
    trials : int
        Training sets per P (≥ 2).
    seed : int
        Seed of the experiment.
    pointwise : bool
        Keep the experiment's error at every test point (for `ShiftResult.pointwise`).
    train_groups, test_groups : str or sequence of int, optional
        Restrict a measure to some group labels, e.g. ``"0-6"``, ``"0,2,4"`` or ``[7, 8, 9]``.
    features_key, gram_key, targets_key, inputs_key : str
        Dataset names inside each group of ``input``.
    kernel : {"linear", "rbf", "laplace", "poly", "relu-nngp", "relu-ntk"}, optional
        Build the kernel from raw inputs; ``bandwidth`` (rbf/laplace; default: median
        pairwise distance of the pool), ``degree`` (poly), ``depth`` (relu kernels).
    memory : str or int, optional
        Memory budget (``"2G"``; default 80 % of physical memory, at most 8G).
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    ShiftResult
        Columns ``p, ridge, noise, kappa, gamma, eg_test, eg_train`` (+
        ``eg_test_empirical, eg_test_empirical_sem``), ``eg_test_bias, eg_test_variance,
        gamma_test``, one row per (P, λ, σ²). ``eg_test`` is ``inf`` at the ridgeless
        interpolation point when noise or unlearnable power is present. Attributes
        ``problem`` (`ShiftProblem`), ``curve`` (`ShiftCurve`), ``simulation``, ``shift_data`` and
        ``grid``; ``pointwise()`` gives the error at every test point.

    Examples
    --------
    >>> r = kc.shift("sample_data/gaussian_shift.h5", p=[20, 100], ridge=0.1, noise=0.1)   # doctest: +SKIP
    >>> r.eg_test, r.summary["modes"]                                                      # doctest: +SKIP
    """
    ps = check_sizes(p, "p")
    ridges = check_floats(ridge, "ridge", minimum=0.0)
    noises = check_floats(noise, "noise", minimum=0.0)
    rows = float(ps.size) * ridges.size * noises.size
    check_count(rows, "p", MAX_POINTS, unit="curve points (p × ridge × noise)",
                way_out="use fewer p, ridge or noise values")
    bandwidth, degree, depth, trials, seed, budget = check_options(
        kernel=kernel, bandwidth=bandwidth, degree=degree, depth=depth, trials=trials, seed=seed, memory=memory)
    empirical, pointwise = bool(empirical), bool(pointwise)

    def budgets(layout):
        check_factorization(layout, budget)
        check_theory(layout, rows, pointwise, budget)
        if empirical:
            check_simulation(layout, ps, ridges.size, noises.size, trials, pointwise, budget)

    data = load_shift(input, train=train, test=test, features_key=features_key, gram_key=gram_key,
                      targets_key=targets_key, inputs_key=inputs_key, kernel=kernel, bandwidth=bandwidth,
                      degree=degree, depth=depth, train_groups=train_groups, test_groups=test_groups, memory=memory,
                      check=budgets)
    if empirical:
        check_pool(data, ps.max())
    support_warning(data, ps.max())
    problem = data.problem()
    grid = np.array(list(itertools.product(ps, ridges, noises)), float)
    curve = _curve(problem, grid)
    out = {"p": grid[:, 0].astype(np.int64), "ridge": grid[:, 1], "noise": grid[:, 2], "kappa": curve.kappa,
           "gamma": curve.gamma, "eg_test": curve.eg_test, "eg_train": curve.eg_train,
           "eg_test_bias": curve.eg_test_bias, "eg_test_variance": curve.eg_test_variance,
           "gamma_test": curve.gamma_test}
    columns = list(COLUMNS)
    sim = None
    if empirical:
        with bar(progress, "kernel ridge regression", trials * ps.size) as advance:
            sim = data.simulate(ps, ridges, noises, trials=trials, seed=seed, pointwise=pointwise, progress=advance)
        out["eg_test_empirical"], out["eg_test_empirical_sem"] = sim.eg_test.ravel(), sim.eg_test_sem.ravel()
        columns += EMPIRICAL
    columns += TRAILING
    if np.any(np.isinf(curve.eg_test)):
        warnings.warn("E_g is inf at the ridgeless interpolation point P = rank (noise or unlearnable power "
                      "present); any ridge > 0 removes the divergence", NumericalWarning)
    summary = {} if data.path is None else {"input": data.path}
    summary.update({
        "source": data.info.get("source", ""),
        "n_train": data.n_train,
        "n_test": data.n_test,
        "train_support": int(np.sum(data.p > 0)),
        "test_support": int(np.sum(data.q > 0)),
        "modes": problem.n_modes,
        "train_residual_power": problem.train_residual_power,
        "test_residual_power": problem.test_residual_power,
        "cross_norm": float(np.linalg.norm(problem.cross)),
        "points": len(grid),
    })
    summary.update({k: data.info[k] for k in _KERNEL_KEYS if k in data.info})
    if empirical:
        summary.update(deviation_summary(curve.eg_test, out["eg_test_empirical"], out["eg_test_empirical_sem"]))
    params = {"p": ps.tolist(), "ridge": ridges.tolist(), "noise": noises.tolist(), "empirical": empirical,
              "trials": trials, "seed": seed, "kernel": kernel,
              "train_groups": selection_param(train_groups), "test_groups": selection_param(test_groups)}
    return ShiftResult("shift", columns, out, int_columns=("p",), summary=summary, params=params, problem=problem,
                       curve=curve, simulation=sim, shift_data=data, grid=grid)

