"""`kerncurve.shift_optimize`: the training measure that minimizes the predicted test error, or
the best and worst test measures for a given training measure."""

import warnings

import numpy as np

from .._validation import (
    check_choice,
    check_float,
    check_floats,
    check_int,
    check_sizes,
)
from ..errors import InputError, NumericalWarning
from ..result import Result, numerics_guard
from .shift_checks import (
    OPTIMIZER_BUDGET,
    bar,
    check_factorization,
    check_options,
    check_pool,
    check_simulation,
    selection_param,
    support_warning,
)
from .shift_input import load_shift

__all__ = ["shift_optimize", "OBJECTIVES", "MAX_STEPS"]

OBJECTIVES = ("train-measure", "beneficial-test", "adversarial-test")
MAX_STEPS = 10**6


def _single(values, param, check, **bounds):
    """One value of a parameter the command line parses as a list (``--p 5`` → [5])."""
    vals = check(values, param, **bounds)
    if vals.size != 1:
        raise InputError(f"{param} must be a single value (shift-optimize optimizes at one point), got "
                         f"{vals.size} values", param=param)
    return vals[0]



@numerics_guard(allow_nan=("error_empirical",))
def shift_optimize(input=None, *, p, ridge=0.0, noise=0.0, objective="train-measure", per_group=False, steps=50,
                   temperature=None, kl_budget=None, empirical=False, trials=20, seed=0, train_groups=None,
                   test_groups=None, features_key="/features", gram_key="/gram", targets_key="/targets",
                   inputs_key="/inputs", kernel=None, bandwidth=None, degree=2, depth=1, train=None, test=None,
                   memory=None, progress=None):
    """Optimize a measure of the distribution-shift problem at one (P, λ, σ²).

    ``objective="train-measure"``: the training measure p over the pool that minimizes the
    predicted E_g(p→q), by L-BFGS-B on p = softmax(θ) (per point, or per group with
    ``per_group``) with the analytic gradient (implicit differentiation of κ); it starts
    from, and reports against, the uniform measure over the training support, and never
    returns a larger predicted error than that.

    ``"beneficial-test"`` / ``"adversarial-test"``: E_g(p→q) = Σ_j q_j e(x_j) is linear in
    q, so the best (worst) test measure is a vertex: the test point (or the group, with
    ``per_group``) of smallest (largest) predicted error. With ``temperature`` τ or
    ``kl_budget`` ρ also the tilt q ∝ q₀·exp(∓e/τ) (τ found so that KL(q‖q₀) = ρ).
    Equations: docs/theory/shift.md.

    Parameters
    ----------
    input, train, test, features_key, gram_key, targets_key, inputs_key, kernel, bandwidth, degree, depth, \
train_groups, test_groups, memory, progress
        As in `kerncurve.shift`.
    p : int
        The sample size P (one value).
    ridge, noise : float
        Absolute ridge λ ≥ 0 and label-noise variance σ² ≥ 0 (one value each).
    objective : {"train-measure", "beneficial-test", "adversarial-test"}
    per_group : bool
        One weight per group of ``/train/groups`` (train-measure) or ``/test/groups`` (test
        objectives), uniform within a group.
    steps : int
        Optimizer iterations (train-measure).
    temperature, kl_budget : float, optional
        τ > 0 or ρ > 0 for the tilted test measure.
    empirical : bool
        Also measure the error of the reference and the optimized measures (``trials``
        training sets, ``seed``).

    Returns
    -------
    Result
        train-measure: columns ``index, weight`` (``group, weight`` with ``per_group``);
        test objectives: ``index, weight, error`` (``group, weight, error``), +
        ``error_empirical`` with ``empirical``. ``weight`` is the optimized measure (the
        tilt when asked for, else the vertex). Attributes ``optimum``
        (`TrainMeasureResult` or `TestMeasureResult`) and ``shift_data`` (`ShiftData`).
    """
    objective = check_choice(objective, "objective", OBJECTIVES)
    P = int(_single(p, "p", check_sizes))
    ridge = float(_single(ridge, "ridge", check_floats, minimum=0.0))
    noise = float(_single(noise, "noise", check_floats, minimum=0.0))
    if temperature is not None:
        temperature = check_float(temperature, "temperature", minimum=0.0, strict=True)
    if kl_budget is not None:
        kl_budget = check_float(kl_budget, "kl_budget", minimum=0.0, strict=True)
    steps = check_int(steps, "steps", minimum=1, maximum=MAX_STEPS)
    per_group, empirical = bool(per_group), bool(empirical)
    bandwidth, degree, depth, trials, seed, budget = check_options(
        kernel=kernel, bandwidth=bandwidth, degree=degree, depth=depth, trials=trials, seed=seed, memory=memory)
    train_side = objective == "train-measure"

    def budgets(layout):
        check_factorization(layout, budget, gram=train_side)
        if train_side:
            _check_optimizer(layout, steps, budget)
        if empirical:
            check_simulation(layout, [P], 1, 1, (2 if train_side else 1) * trials, not train_side, budget)

    data = load_shift(input, train=train, test=test, features_key=features_key, gram_key=gram_key,
                      targets_key=targets_key, inputs_key=inputs_key, kernel=kernel, bandwidth=bandwidth,
                      degree=degree, depth=depth, train_groups=train_groups, test_groups=test_groups, memory=memory,
                      check=budgets)
    if empirical:
        check_pool(data, P)
    run = _optimize_train if train_side else _optimize_test
    table, summary, optimum = run(data, P, ridge, noise, objective=objective, per_group=per_group, steps=steps,
                                  temperature=temperature, kl_budget=kl_budget, empirical=empirical, trials=trials,
                                  seed=seed, progress=progress)
    columns, out, ints = table
    summary = {**({} if data.path is None else {"input": data.path}), "objective": objective, "p": P,
               "ridge": ridge, "noise": noise, **summary}
    params = {"p": P, "ridge": ridge, "noise": noise, "objective": objective, "per_group": per_group, "steps": steps,
              "temperature": temperature, "kl_budget": kl_budget, "empirical": empirical, "trials": trials,
              "seed": seed, "kernel": kernel, "train_groups": selection_param(train_groups),
              "test_groups": selection_param(test_groups)}
    return Result("shift-optimize", columns, out, int_columns=ints, summary=summary, params=params, optimum=optimum,
                  shift_data=data)



def _check_optimizer(layout, steps, budget):
    """The optimizer evaluates E_g and its gradient in pool coordinates: n×n work per evaluation."""
    from ..io.sizes import check_bytes

    n, m = float(layout.n_train), float(layout.n_test)
    check_bytes(8.0 * (10 * n * n + 5 * n * m), budget,
                f"optimizing the training measure over {int(n)} pool points ({int(m)} test points)",
                way_out="use a smaller pool, or raise memory=")
    work = (2.0 * steps + 1) * (11 * n**3 + 6 * n * n * m)
    if work > OPTIMIZER_BUDGET:
        raise InputError(f"steps={steps} asks for about {work:.3g} floating-point operations (each optimizer step "
                         f"evaluates E_g and its gradient over {int(n)} pool points), more than the "
                         f"{OPTIMIZER_BUDGET:.3g} allowed; use fewer steps or a smaller pool", param="steps")


def _optimize_train(data, P, ridge, noise, *, per_group, steps, empirical, trials, seed, progress, **_):
    from ..theory.shift import optimize_train_measure

    if per_group and data.groups_p is None:
        where = f" in {data.path!r}" if data.path else " (train['groups'])"
        raise InputError(f"per_group needs /train/groups{where}", param="per_group")
    support = np.flatnonzero(data.p > 0)
    K, C = data.blocks()
    Ks = K[np.ix_(support, support)]
    Cs = C[:, support]
    groups = data.groups_p[support] if per_group else None
    # start from the uniform measure over the support (per group: weights ∝ the group sizes)
    theta0 = None if groups is None else np.log(np.unique(groups, return_counts=True)[1].astype(float))
    support_warning(data, P)
    with bar(progress, "optimizing the training measure", steps) as advance:
        res = optimize_train_measure(Ks, Cs, data.y_p[support], data.y_q, data.q, P, ridge, noise, groups=groups,
                                     steps=steps, theta0=theta0, callback=lambda i, e: advance(1))
    weights = np.zeros(data.n_train)
    weights[support] = res.weights
    n_eff = 1.0 / np.sum(res.weights**2)
    if P > 0.2 * n_eff:
        warnings.warn(f"the optimized measure has {n_eff:.0f} effective points (1/Σp²) for P = {P}: the theory is "
                      "less reliable there; check with empirical=True", NumericalWarning)
    summary = {"n_train": data.n_train, "pool": int(support.size), "eg_uniform": res.eg_initial,
               "eg_optimized": res.eg_optimized, "relative_change": res.eg_optimized / res.eg_initial - 1,
               "iterations": res.n_iter, "effective_points": float(n_eff), "optimizer": res.message}
    if empirical:
        uniform = np.zeros(data.n_train)
        uniform[support] = 1.0 / support.size
        with bar(progress, "kernel ridge regression", 2 * trials) as advance:
            su = data.simulate([P], [ridge], [noise], p=uniform, trials=trials, seed=seed, progress=advance)
            so = data.simulate([P], [ridge], [noise], p=weights, trials=trials, seed=seed, progress=advance)
        summary.update(eg_uniform_empirical=float(su.eg_test.ravel()[0]),
                       eg_uniform_empirical_sem=float(su.eg_test_sem.ravel()[0]),
                       eg_optimized_empirical=float(so.eg_test.ravel()[0]),
                       eg_optimized_empirical_sem=float(so.eg_test_sem.ravel()[0]))
    if per_group:
        return (["group", "weight"], {"group": res.group_labels, "weight": res.group_weights}, ("group",)), \
            summary, res
    return (["index", "weight"], {"index": np.arange(data.n_train), "weight": weights}, ("index",)), summary, res


def _optimize_test(data, P, ridge, noise, *, objective, per_group, temperature, kl_budget, empirical, trials, seed,
                   progress, **_):
    from ..theory.shift import optimize_test_measure, pointwise_error

    if per_group and data.groups_q is None:
        where = f" in {data.path!r}" if data.path else " (test['groups'])"
        raise InputError(f"per_group needs /test/groups{where}", param="per_group")
    support_warning(data, P)
    problem = data.problem()
    e = pointwise_error(problem, float(P), ridge, noise)
    groups = data.groups_q if per_group else None
    res = optimize_test_measure(e, data.q, objective, temperature=temperature, kl_budget=kl_budget, groups=groups)
    q_out = res.tilted if res.tilted is not None else res.vertex
    summary = {"n_test": data.n_test, "eg_reference": res.base_error, "eg_vertex": res.vertex_error}
    if per_group:
        summary["vertex_group"] = int(res.vertex_group)
    else:
        summary["vertex_index"] = int(np.argmax(res.vertex))
    if res.tilted is not None:
        summary.update(eg_tilted=res.tilted_error, temperature=res.temperature, kl=res.kl)
    e_emp = None
    if empirical:
        with bar(progress, "kernel ridge regression", trials) as advance:
            sim = data.simulate([P], [ridge], [noise], trials=trials, seed=seed, pointwise=True, progress=advance)
        e_emp = sim.pointwise.reshape(-1)
        summary.update(eg_reference_empirical=float(data.q @ e_emp), eg_vertex_empirical=float(res.vertex @ e_emp))
        if res.tilted is not None:
            summary["eg_tilted_empirical"] = float(res.tilted @ e_emp)
    if not per_group:
        out = {"index": np.arange(data.n_test), "weight": q_out, "error": e}
        cols = ["index", "weight", "error"]
        if e_emp is not None:
            out["error_empirical"] = e_emp
            cols.append("error_empirical")
        return (cols, out, ("index",)), summary, res
    labels = res.group_labels
    inv = np.searchsorted(labels, data.groups_q)  # every label in supp q is in labels
    member = (inv < labels.size) & (labels[np.minimum(inv, labels.size - 1)] == data.groups_q)
    inv, n_g = inv[member], labels.size
    out = {"group": labels, "weight": np.bincount(inv, weights=q_out[member], minlength=n_g),
           "error": res.group_errors}
    cols = ["group", "weight", "error"]
    if e_emp is not None:
        qm = data.q[member]
        ge = np.bincount(inv, weights=qm * e_emp[member], minlength=n_g) / np.bincount(inv, weights=qm, minlength=n_g)
        out["error_empirical"] = ge
        cols.append("error_empirical")
        summary.update(best_group=int(labels[np.argmin(res.group_errors)]),
                       worst_group=int(labels[np.argmax(res.group_errors)]),
                       best_group_empirical=int(labels[np.argmin(ge)]),
                       worst_group_empirical=int(labels[np.argmax(ge)]))
    return (cols, out, ("group",)), summary, res
