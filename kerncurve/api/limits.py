"""`kerncurve.limits`: how fast do finite networks approach the joint width-and-depth limit?

Trains one parameterization over a grid of widths N × depths L (extra ``kerncurve[nn]``, the
engine of `kc.transfer`), fits the seed means at every reported step with the finite-size
surface of `kerncurve.theory.finite_size`, and says whether the limits N → ∞ and L → ∞
commute. ``control="mlp"`` runs the same grid without residual branches; ``theory=True``
(linear networks) overlays the exact N = ∞ curves of `kerncurve.theory.dmft.deep_linear_resnet`
and their L → ∞ extrapolation (`kerncurve.theory.dmft.depth_limit`).
"""

import contextlib

import numpy as np

from .._validation import check_choice, check_sizes
from ..errors import InputError
from ..result import Result, numerics_guard
from ._limits_fit import analyse, theory_curves, theory_depths, theory_problem
from ._network import NETWORK_DEFAULTS as D
from ._network import check_batch, check_network_options, load_network_data, require_nn

__all__ = ["limits", "COLUMNS"]

COLUMNS = ["param", "width", "depth", "step", "loss", "loss_sem"]
SUMMARY_KEYS = ("o_inf", "o_inf_ci", "exponent_width", "exponent_depth", "coupling_z", "chi2_dof", "limits_commute")
#: Floating-point operations one call may ask for (as `kc.transfer`: about a day on two cores).
MAX_WORK = 1e15
MAX_THEORY_BYTES = 2 * 2**30


def _at(at, steps):
    if at is None:
        return np.unique(np.maximum(1, np.round(np.linspace(steps / 4, steps, 4)).astype(int)))
    out = np.unique(check_sizes(at, "at", minimum=1))
    if out.max() > steps:
        raise InputError(f"at has step {out.max()} beyond steps={steps}; raise steps or drop that step", param="at")
    return out


def _check(o, lr, control, theory, data):
    """The limits-specific refusals: a fit needs 3 widths, 3 depths, 2 seeds, one learning rate."""
    if len(o["width"]) < 3:
        raise InputError(f"width has {len(o['width'])} values; the finite-size fit a/N + c/(NL) needs at least 3 "
                         "widths", param="width")
    if len(o["depth"]) < 3:
        raise InputError(f"depth has {len(o['depth'])} values; the finite-size fit b/L + c/(NL) needs at least 3 "
                         "depths", param="depth")
    if o["seeds"] < 2:
        raise InputError(f"seeds={o['seeds']}: the fit weighs each point by its seed SEM, which needs at least 2 "
                         "seeds", param="seeds")
    if len(o["param"]) != 1:
        raise InputError(f"param: give one parameterization (the control is control='mlp'), got {list(o['param'])}",
                         param="param")
    if o["param"][0] == "mlp" and control is not None:
        raise InputError("param=mlp is the control itself; pick a residual param with control='mlp'", param="param")
    if lr.size != 1:
        raise InputError(f"lr: give one base learning rate, got {lr.size}", param="lr")
    if theory:
        if o["activation"] != "linear":
            raise InputError(f"theory with activation={o['activation']} is not solvable: the exact N = ∞ curves exist "
                             "for linear networks only; use activation=linear or drop theory", param="theory")
        if o["param"][0] not in ("depth-mup", "depth-mup-1") or o["optimizer"] != "sgd" or o["batch"] is not None:
            raise InputError("theory solves full-batch SGD under depth-mup or depth-mup-1; use those (no batch)",
                             param="theory")
        alpha = 0.5 if o["param"][0] == "depth-mup" else 1.0
        alpha = alpha if o["alpha"] is None else o["alpha"]
        if not 0.5 <= alpha <= 1.0:
            raise InputError(f"theory needs alpha in [0.5, 1], got {alpha:g}", param="alpha")
        if data.y.shape[1] != 1:
            raise InputError(f"theory needs one output channel, the targets have {data.y.shape[1]}", param="theory")
        return alpha
    return None


def _budgets(o, data, n_at, problem):
    from ..io.sizes import check_bytes
    from ..nn import memory_estimate

    n_param = 2 if o.get("control") else 1
    est = memory_estimate(widths=o["width"], depths=o["depth"], n_lr=1, seeds=o["seeds"], d_in=data.d_in,
                          n_train=data.n_train, n_test=data.n_test, channels=data.channels, optimizer=o["optimizer"],
                          batch=o["batch"], dtype=o["dtype"])
    check_bytes(est, o["memory"], f"training {o['seeds']} networks at once at width {max(o['width'])}, depth "
                f"{max(o['depth'])}", way_out="use fewer seeds, smaller networks, a --batch, or raise --memory")
    b = data.n_train if o["batch"] is None else o["batch"]
    work = sum(6.0 * (n * data.d_in + d * n * n + n * data.channels) * (b * o["steps"] + data.n_train * n_at)
               for n in o["width"] for d in o["depth"]) * o["seeds"] * n_param
    if work > MAX_WORK:
        raise InputError(f"steps: the grid asks for {work:.3g} floating-point operations, more than the "
                         f"{MAX_WORK:.0e} allowed (about a day on two cores); use fewer steps, seeds or sizes",
                         param="steps")
    if problem is not None:
        from ..theory.dmft import resnet_memory

        top = max(theory_depths(o["depth"]))
        need = resnet_memory(problem[1].size, o["steps"], top)
        check_bytes(need, min(o["memory"], MAX_THEORY_BYTES), f"the N = ∞ theory ({o['steps']} steps, depth up to "
                    f"{top}, {problem[1].size} distinct eigenvalues of the input kernel)",
                    way_out="use fewer steps or depths, or data with fewer distinct input-kernel eigenvalues")


@numerics_guard(allow_nan=("loss_sem", "loss_theory"))
def limits(input=None, *, param="depth-mup", width=(32, 64, 128), depth=(2, 4, 8), lr=1.0, steps=D["steps"],
           seeds=4, optimizer=D["optimizer"], activation=D["activation"], gamma0=D["gamma0"], beta0=D["beta0"],
           alpha=D["alpha"], batch=D["batch"], seed=D["seed"], at=None, observable="loss", control=None, theory=False,
           test_frac=D["test_frac"], memory=D["memory"], dtype=D["dtype"], inputs_key="/inputs",
           targets_key="/targets", x=None, y=None, x_test=None, y_test=None, progress=None):
    """Train a width × depth grid and fit its approach to the joint infinite limit.

    Networks as in `kc.transfer` (residual MLPs h^{ℓ+1} = h^ℓ + β₀L^{−α}W^ℓφ(h^ℓ)/√N, mean-field
    readout, presets sp, mup, depth-mup, depth-mup-1; ``mlp`` drops the skip connections). At
    every reported step the seed-mean training loss O(N, L) is fitted by weighted least
    squares (weights 1/SEM²)::

        O = O∞ + a/N + b/L + c/(NL)          and, with a coupling,   + d·L/N

    (Bordelon, Noci, Li, Hanin, Pehlevan, ICLR 2024, arXiv:2309.16620: under depth-μP the
    approach is additive, so the limits commute; a plain MLP is the counterexample.)

    Parameters
    ----------
    input, x, y, x_test, y_test, inputs_key, targets_key, test_frac
        The data, as in `kc.transfer`.
    param : str
        One preset (depth-mup by default).
    width, depth : sequence of int
        At least 3 of each.
    lr : float
        One base learning rate η₀ (pick it with `kc.transfer`).
    steps, seeds, optimizer, activation, gamma0, beta0, alpha, batch, seed, memory, dtype
        As in `kc.transfer`; seeds ≥ 2 (the fit weighs points by their SEM).
    at : sequence of int, optional
        Steps to fit (≥ 1; default four steps up to ``steps``).
    observable : {'loss', 'kernel'}
        What is fitted: the training loss, or (full batch) ``kernel_distance``, the relative
        Frobenius distance ‖K − K_ref‖/‖K_ref‖ of each seed's last-layer kernel
        φ(h^{L+1})φ(h^{L+1})ᵀ/N on the training inputs to the seed-mean kernel of the largest
        network (largest N and L of the grid, the same param; for its own seeds, the mean of
        the other seeds), at the same step. A zero SEM (two seeds of the largest network are
        equidistant from each other's mean) is replaced by the median SEM of that step.
    control : {None, 'mlp'}
        Also train the same grid as plain μP MLPs and fit it (reported side by side).
    theory : bool
        Linear networks (activation='linear', full-batch SGD, depth-mup or depth-mup-1): the exact
        N = ∞ loss at each depth (column ``loss_theory``) and the joint limit from the
        `kerncurve.theory.dmft.deep_linear_resnet` solves at the grid's depths and the largest
        doubled three times, extrapolated in 1/L (`kerncurve.theory.dmft.depth_limit`). Step k
        is the DMFT time k·lr.
    progress : callable, optional

    Returns
    -------
    Result
        Columns ``param, width, depth, step, loss, loss_sem`` (+ ``kernel_distance,
        kernel_distance_sem`` with ``observable='kernel'``, + ``loss_theory``). Summary
        ``o_inf``, ``o_inf_ci`` (95 %), ``exponent_width``, ``exponent_depth`` (free power-law
        fit), ``coupling_z`` (d/SE at the last step), ``chi2_dof`` (additive fit, worst step),
        ``limits_commute``, ``verdict`` with its evidence, the two orders of limits, the
        diagonals N = L, 4L, 16L, the largest network; ``control`` (same keys) and ``theory_o_inf``,
        ``theory_o_inf_error``, ``theory_agrees`` (last step) and ``theory_by_step`` (every fitted
        step: the fit's O∞ and interval, the theory's and its extrapolation error). Attributes ``fits`` ({param: per-step fit
        records}, what ``--fit-output`` writes), ``grid`` (`kerncurve.nn.TransferGrid`),
        ``theory_curves``.
    """
    o = check_network_options(param=param, width=width, depth=depth, optimizer=optimizer, activation=activation,
                              gamma0=gamma0, beta0=beta0, alpha=alpha, steps=steps, batch=batch, seeds=seeds,
                              seed=seed, test_frac=test_frac, memory=memory, dtype=dtype)
    lr = check_network_options(lr=lr)["lr"]
    control = None if control is None else check_choice(control, "control", ("mlp",))
    observable = check_choice(observable, "observable", ("loss", "kernel"))
    o["control"] = control
    at_steps = _at(at, o["steps"])
    require_nn("kerncurve limits")
    data = load_network_data(input, x=x, y=y, x_test=x_test, y_test=y_test, test_frac=o["test_frac"],
                             seed=o["seed"], inputs_key=inputs_key, targets_key=targets_key, memory=o["memory"])
    o["batch"] = check_batch(o["batch"], data.n_train)
    theory_alpha = _check(o, lr, control, bool(theory), data)
    if observable == "kernel" and o["batch"] is not None:
        raise InputError("observable='kernel' trains full batch (the kernel is read after each reported step); leave the "
                         "batch size unset", param="observable")
    o["width"], o["depth"] = tuple(sorted(o["width"])), tuple(sorted(o["depth"]))
    problem = None if theory_alpha is None else theory_problem(data)
    _budgets(o, data, at_steps.size, problem)

    from ..nn import transfer_sweep

    params = o["param"] + ((control,) if control else ())
    cells = len(params) * len(o["width"]) * len(o["depth"])
    bar = progress("training the grid", cells) if progress is not None else contextlib.nullcontext(lambda n=1: None)
    with bar as advance:
        grid = transfer_sweep(data.x, data.y, params=params, widths=o["width"], depths=o["depth"], lr=lr,
                              optimizer=o["optimizer"], activation=o["activation"], gamma0=o["gamma0"],
                              beta0=o["beta0"], alpha=o["alpha"], steps=o["steps"], batch=o["batch"],
                              seeds=o["seeds"], seed=o["seed"], at=at_steps, dtype=o["dtype"], progress=advance)
    loss = grid.train_loss[:, :, :, 0, :]  # (param, width, depth, step)
    sem = grid.train_loss_sem[:, :, :, 0, :]
    if not np.all(np.isfinite(loss)):
        raise InputError(f"lr={lr[0]:g}: some networks diverged ({int(grid.diverged.sum())} runs), so the grid has "
                         "no finite mean to fit; lower lr (find a stable one with kerncurve transfer)", param="lr")
    kd = None
    if observable == "kernel":
        kd = _kernel_distances(data, o, params, float(lr[0]), at_steps, progress)
    fits, summaries = {}, {}
    for k, p in enumerate(params):
        obs = (loss[k], sem[k]) if kd is None else (kd[0][k], kd[1][k])
        fits[p], summaries[p] = analyse(o["width"], o["depth"], at_steps, *obs)
    summary = {"input": data.source, "param": params[0], "observable": observable, "train_samples": data.n_train,
               "steps": o["steps"], "seeds": o["seeds"], "lr": float(lr[0]), "at": at_steps.tolist()}
    summary.update(summaries[params[0]])
    if control:
        summary["control"] = {key: summaries[control][key] for key in SUMMARY_KEYS + ("verdict",)}
    cols = _rows(params, o, at_steps, loss, sem)
    columns = list(COLUMNS)
    if kd is not None:
        cols["kernel_distance"], cols["kernel_distance_sem"] = kd[0].ravel(), kd[1].ravel()
        columns += ["kernel_distance", "kernel_distance_sem"]
    curves = None
    if theory_alpha is not None:
        curves, lim, err = theory_curves(problem, o["depth"], at_steps, float(lr[0]), o["gamma0"], o["beta0"],
                                         theory_alpha)
        th = np.broadcast_to(curves[None, :, :], loss[0].shape)
        cols["loss_theory"] = np.concatenate([th.ravel()] + ([np.full(loss[0].size, np.nan)] if control else []))
        columns.append("loss_theory")
        by_step = []
        for rec, v, e in zip(fits[params[0]], lim, err):
            lo, hi = rec["additive"]["o_inf"]["ci"]
            by_step.append({"step": rec["step"], "o_inf": rec["additive"]["o_inf"]["value"], "o_inf_ci": [lo, hi],
                            "theory": float(v), "theory_error": float(e), "agrees": bool(lo - e <= v <= hi + e)})
        summary.update({"theory_o_inf": by_step[-1]["theory"], "theory_o_inf_error": by_step[-1]["theory_error"],
                        "theory_agrees": by_step[-1]["agrees"], "theory_by_step": by_step})
    out_params = {"param": params[0], "width": list(o["width"]), "depth": list(o["depth"]), "lr": float(lr[0]),
                  "steps": o["steps"], "seeds": o["seeds"], "optimizer": o["optimizer"], "activation": o["activation"],
                  "gamma0": o["gamma0"], "beta0": o["beta0"], "alpha": o["alpha"], "batch": o["batch"],
                  "seed": o["seed"], "at": at_steps.tolist(), "observable": observable, "control": control,
                  "theory": bool(theory),
                  "test_frac": o["test_frac"], "dtype": o["dtype"]}
    return Result("limits", columns, cols, int_columns=("width", "depth", "step"), summary=summary,
                  params=out_params, fits=fits, grid=grid, theory_curves=curves, network_data=data)


def _kernel_distances(data, o, params, lr, at_steps, progress):
    """Seed mean and SEM of ‖K − K_ref‖_F/‖K_ref‖_F, shape (param, width, depth, step) each."""
    from ..nn.features import feature_kernels

    shape = (len(params), len(o["width"]), len(o["depth"]), at_steps.size)
    mean, sem = np.empty(shape), np.empty(shape)
    n = len(o["width"]) * len(o["depth"])
    bar = progress("last-layer kernels", n * len(params)) if progress is not None else \
        contextlib.nullcontext(lambda n=1: None)
    with bar as advance:
        for k, p in enumerate(params):
            kernels = {}
            for i, w in enumerate(o["width"]):
                for j, d in enumerate(o["depth"]):
                    kernels[i, j] = feature_kernels(data.x, data.y, param=p, width=w, depth=d, lr=lr, at=at_steps,
                                                    optimizer=o["optimizer"], activation=o["activation"],
                                                    gamma0=o["gamma0"], beta0=o["beta0"], alpha=o["alpha"],
                                                    seeds=o["seeds"], seed=o["seed"], dtype=o["dtype"])
                    advance(1)
            top = (len(o["width"]) - 1, len(o["depth"]) - 1)
            ref = kernels[top].mean(axis=1)  # (step, P, P)
            norm = np.linalg.norm(ref, axis=(-2, -1))
            S = o["seeds"]
            for (i, j), K in kernels.items():
                # the largest network against the mean of its other seeds (not against itself)
                r = ref[:, None] if (i, j) != top else (S * ref[:, None] - K) / (S - 1)
                dist = np.linalg.norm(K - r, axis=(-2, -1)) / norm[:, None]  # (step, seed)
                mean[k, i, j] = dist.mean(axis=1)
                sem[k, i, j] = dist.std(axis=1, ddof=1) / np.sqrt(S)
            for t in range(at_steps.size):  # equal distances (two seeds of the reference): a typical SEM instead
                cell = sem[k, :, :, t]
                pos = cell[cell > 0]
                cell[~(cell > 0)] = np.median(pos) if pos.size else 1.0
    return mean, sem


def _rows(params, o, at_steps, loss, sem):
    """The long table in the order param, width, depth, step."""
    idx = np.indices(loss.shape)
    cols = {"param": np.array(params, dtype=object)[idx[0]], "width": np.array(o["width"])[idx[1]],
            "depth": np.array(o["depth"])[idx[2]], "step": at_steps[idx[3]], "loss": loss, "loss_sem": sem}
    return {c: np.asarray(v).ravel() for c, v in cols.items()}
