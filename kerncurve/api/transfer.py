"""`kerncurve.transfer`: does the best learning rate carry over across width and depth?

Trains residual MLPs (extra ``kerncurve[nn]``) over a grid of widths, depths and base
learning rates under each parameterization, and reports where the optimum sits, how far it
drifts, and (with ``coords=True``) the coordinate check that explains why.
"""

import contextlib
import warnings

import numpy as np

from .._validation import check_float, check_floats, check_int, check_sizes
from ..errors import InputError, InputWarning
from ..result import Result, numerics_guard
from ._network import NETWORK_DEFAULTS as D
from ._network import check_batch, check_network_options, load_network_data, require_nn

__all__ = ["transfer", "COLUMNS", "MAX_WORK", "default_lr", "DIVERSITY_LAM", "DIVERSITY_EPS"]

COLUMNS = ["param", "width", "depth", "lr", "step", "train_loss", "train_loss_sem", "test_loss", "test_loss_sem",
           "diverged"]
#: Floating-point operations one call may ask for (forward + backward ≈ 6 per weight, sample and
#: step, every run of the grid): about a day on two CPU cores.
MAX_WORK = 1e15
#: Default η₀ grid per optimizer: (log10 first, log10 last, points), a quarter decade apart.
_DEFAULT_LR = {"sgd": (-2.0, 2.0, 17), "adam": (-4.0, 1.0, 21)}
#: Start λ and steps ε of the depth-diversity curve d(ε) = ‖h_{⌊(λ+ε)L⌋} − h_{⌊λL⌋}‖/√N.
DIVERSITY_LAM = 0.25
DIVERSITY_EPS = (0.0625, 0.125, 0.25, 0.5, 0.75)


def default_lr(optimizer):
    """The η₀ grid used when none is given: 10^-2 … 10^2 for SGD, 10^-4 … 10 for Adam."""
    lo, hi, n = _DEFAULT_LR[optimizer]
    return np.logspace(lo, hi, n)


def _lr_grid(lr, params, optimizer):
    """A (param, lr) array: one grid for all params, or a mapping param → grid (equal lengths)."""
    if lr is None:
        return np.tile(default_lr(optimizer), (len(params), 1))
    if isinstance(lr, dict):
        if set(lr) != set(params):
            raise InputError(f"lr must have one grid for each param {list(params)}, got keys {list(lr)}", param="lr")
        grids = [check_network_options(lr=lr[p])["lr"] for p in params]
        if len({g.size for g in grids}) != 1:
            raise InputError(f"lr grids must have equal lengths, got {[g.size for g in grids]}", param="lr")
        return np.array(grids)
    return np.tile(check_network_options(lr=lr)["lr"], (len(params), 1))


def _check_budgets(o, data, n_lr, at_size):
    from ..io.sizes import check_bytes
    from ..nn import memory_estimate

    runs = n_lr * o["seeds"]
    b = data.n_train if o["batch"] is None else o["batch"]
    est = memory_estimate(widths=o["width"], depths=o["depth"], n_lr=n_lr, seeds=o["seeds"], d_in=data.d_in,
                          n_train=data.n_train, n_test=data.n_test, channels=data.channels,
                          optimizer=o["optimizer"], batch=o["batch"], dtype=o["dtype"])
    big = (max(o["width"]), max(o["depth"]))
    check_bytes(est, o["memory"], f"training {runs} networks at once (learning rates × seeds) at width "
                f"{big[0]}, depth {big[1]}", way_out="use fewer learning rates or seeds, smaller networks, a "
                "--batch, or raise --memory")
    work = 0.0
    for n in o["width"]:
        for d in o["depth"]:
            weights = n * data.d_in + d * n * n + n * data.channels
            work += 6.0 * weights * (b * o["steps"] + (data.n_train + data.n_test) * at_size)
    work *= runs * len(o["param"])
    if work > MAX_WORK:
        raise InputError(f"steps {o['steps']} on this grid asks for {work:.3g} floating-point operations (runs × "
                         f"steps × weights × samples), more than the {MAX_WORK:.0e} allowed (about a day on two "
                         "cores); use fewer steps, learning rates, seeds or sizes", param="steps")


@numerics_guard(allow_inf=("train_loss", "train_loss_sem", "test_loss", "test_loss_sem"),
                allow_nan=("train_loss_sem", "test_loss", "test_loss_sem"))
def transfer(input=None, *, param=D["param"], width=D["width"], depth=D["depth"], lr=None,
             optimizer=D["optimizer"], activation=D["activation"], gamma0=D["gamma0"], beta0=D["beta0"],
             alpha=D["alpha"], steps=D["steps"], batch=D["batch"], seeds=D["seeds"], seed=D["seed"], at=None,
             test_frac=D["test_frac"], memory=D["memory"], dtype=D["dtype"], tolerance=0.3, coords=False,
             coord_steps=3, coord_lr=None, inputs_key="/inputs", targets_key="/targets", x=None, y=None,
             x_test=None, y_test=None, progress=None):
    """Train residual networks over widths × depths × learning rates and find each optimum.

    The network (Bordelon, Noci, Li, Hanin, Pehlevan, ICLR 2024, arXiv:2309.16620; all weights
    N(0, 1), scales as multipliers)::

        h¹ = W⁰x/√D,  h^{ℓ+1} = h^ℓ + β₀ L^{−α} W^ℓ φ(h^ℓ)/√N  (ℓ = 1..L),  f = w·φ(h^{L+1})/(γ₀N)

    trained on L = |f − f₀ − y|²/(2P) (``sp``: readout w·φ/√N, not centred). Presets: ``sp``
    (one learning rate for every tensor, fixed), ``mup`` (α = 0), ``depth-mup`` (α = ½),
    ``depth-mup-1`` (α = 1); SGD rates η = η₀γ₀²N·L^{2α−1} on the hidden weights, Adam rates
    per Tensor Programs VI (see `kerncurve.nn.scaling`). The optimal η₀ of each (width, depth)
    is the argmin of the seed-mean training loss at the last recorded step, refined by a
    parabola in log η₀; its spread over the grid, in decades, says whether the optimum
    transfers. A run whose loss turns non-finite or exceeds 10³·L(0) is stopped and flagged.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file with ``/inputs`` (n, D), ``/targets`` (n,) or (n, c) (one-hot rows for
        classes) and optionally ``/test/inputs`` + ``/test/targets``. Or give the arrays:
    x, y, x_test, y_test : array, optional
    param : str or sequence of str
        Presets among ``sp``, ``mup``, ``depth-mup``, ``depth-mup-1`` (a comma string works).
    width, depth : int or sequence of int
        Widths N and numbers of residual blocks L.
    lr : sequence of float or dict, optional
        Base learning rates η₀ (one grid for every param, or {param: grid}, equal lengths).
        Default: `default_lr` of the optimizer.
    optimizer : {'sgd', 'adam'}
    activation : {'tanh', 'relu', 'gelu', 'linear'}
    gamma0, beta0 : float
        Richness γ₀ and branch multiplier β₀ (mean-field presets).
    alpha : float, optional
        Overrides the presets' branch exponent α.
    steps : int
        Training steps.
    batch : int, optional
        Minibatch size (default: full batch).
    seeds : int
        Independent networks per grid point (initial weights and minibatch order).
    seed : int
        Master seed (also of the ``test_frac`` split).
    at : sequence of int, optional
        Steps reported in the table (default: the last); the optimum uses the last of them.
    test_frac : float in (0, 1), optional
        Hold out this fraction of the training rows when there is no test set.
    memory : str or int, optional
        Budget for the largest batch of networks trained together (``2G``).
    dtype : {'float32', 'float64'}
    tolerance : float
        Spread (decades) under which the verdict says the optimum transfers.
    coords : bool
        Also run the coordinate check and the depth-diversity curve at every (width, depth)
        (``coord_steps`` full-batch steps at ``coord_lr``, default: each param's optimum at
        the smallest width and depth).
    coord_steps : int
    coord_lr : float, sequence of float or dict, optional
        One η₀ for every param, one per param in order, or {param: η₀}.
    inputs_key, targets_key : str
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Result
        Columns ``param, width, depth, lr, step, train_loss, train_loss_sem, test_loss,
        test_loss_sem, diverged`` (``diverged``: seeds whose run had diverged by that step;
        their losses make the mean ``inf``; ``test_*`` are NaN without a test set). Summary
        keys ``optimal_lr`` {param: {"NxL": η₀}}, ``lr_spread_decades`` {param: decades},
        ``diverged`` {param: diverged runs}, the spreads across widths and across depths,
        ``wider_better``, ``deeper_better``, ``best_train_loss``, ``verdict``, and with
        ``coords`` ``coord_lr``, ``coord_delta_ratio``, ``coord_width_slope``. Attributes
        ``grid`` (`kerncurve.nn.TransferGrid`), ``optimal`` (param, width, depth),
        ``network_data`` (`kerncurve.io.nn_data.NetworkData`), ``coords`` ({param:
        `kerncurve.nn.CoordCheck`} or None) and ``coord_lrs`` ({param: η₀} or None).

    Examples
    --------
    >>> r = kc.transfer("sample_data/teacher.h5", param="mup,depth-mup", width=[32, 64], depth=[2, 8],
    ...                 lr=np.logspace(0, 2, 9), steps=20, gamma0=0.25)            # doctest: +SKIP
    >>> r.summary["lr_spread_decades"]                                             # doctest: +SKIP
    """
    o = check_network_options(param=param, width=width, depth=depth, optimizer=optimizer, activation=activation,
                              gamma0=gamma0, beta0=beta0, alpha=alpha, steps=steps, batch=batch, seeds=seeds,
                              seed=seed, test_frac=test_frac, memory=memory, dtype=dtype)
    lrs = _lr_grid(lr, o["param"], o["optimizer"])
    at_steps = np.array([o["steps"]]) if at is None else np.unique(check_sizes(at, "at", minimum=0))
    if at_steps.max() > o["steps"]:
        raise InputError(f"at has step {at_steps.max()} beyond steps={o['steps']}; raise steps or drop that step",
                         param="at")
    tolerance = check_float(tolerance, "tolerance", minimum=0.0)
    coord_steps = check_int(coord_steps, "coord_steps", minimum=1, maximum=1000)
    coord_lr = _coord_lrs(coord_lr, o["param"])
    require_nn("kerncurve transfer")
    data = load_network_data(input, x=x, y=y, x_test=x_test, y_test=y_test, test_frac=o["test_frac"],
                             seed=o["seed"], inputs_key=inputs_key, targets_key=targets_key, memory=o["memory"])
    o["batch"] = check_batch(o["batch"], data.n_train)
    _check_budgets(o, data, lrs.shape[1], at_steps.size)

    from ..nn import lr_spread, optimal_lr, size_trend, transfer_sweep, verdict

    cells = len(o["param"]) * len(o["width"]) * len(o["depth"])
    bar = (progress("training the grid", cells * (2 if coords else 1)) if progress is not None
           else contextlib.nullcontext(lambda n=1: None))
    with bar as advance:
        grid = transfer_sweep(data.x, data.y, params=o["param"], widths=o["width"], depths=o["depth"],
                              lr=dict(zip(o["param"], lrs)), optimizer=o["optimizer"], activation=o["activation"],
                              gamma0=o["gamma0"], beta0=o["beta0"], alpha=o["alpha"], steps=o["steps"],
                              batch=o["batch"], seeds=o["seeds"], seed=o["seed"], x_test=data.x_test,
                              y_test=data.y_test, at=at_steps, dtype=o["dtype"], progress=advance)
        optimal = optimal_lr(grid)
        checks = _coords(data, o, optimal, coord_steps, coord_lr, advance) if coords else None
    _warn_edges(grid, o)
    data_cols = _rows(grid, o)
    summary = {"input": data.source, "train_samples": data.n_train, "test_samples": data.n_test,
               "test_set": data.test_source, "optimizer": o["optimizer"], "steps": o["steps"], "seeds": o["seeds"]}
    spread = lr_spread(optimal)
    best, wider, deeper = size_trend(grid)
    names = [f"{n}x{d}" for n in o["width"] for d in o["depth"]]
    per = lambda arr, k: dict(zip(names, (float(v) for v in arr[k].ravel())))
    summary.update({
        "optimal_lr": {p: per(optimal, k) for k, p in enumerate(o["param"])},
        "lr_spread_decades": {p: float(spread[k]) for k, p in enumerate(o["param"])},
        "lr_spread_width_decades": {p: float(lr_spread(optimal, "width")[k].max()) for k, p in enumerate(o["param"])},
        "lr_spread_depth_decades": {p: float(lr_spread(optimal, "depth")[k].max()) for k, p in enumerate(o["param"])},
        "wider_better": {p: f"{int(wider[k].sum())}/{wider[k].size}" for k, p in enumerate(o["param"])},
        "deeper_better": {p: f"{int(deeper[k].sum())}/{deeper[k].size}" for k, p in enumerate(o["param"])},
        "best_train_loss": {p: per(best, k) for k, p in enumerate(o["param"])},
        "diverged": {p: int(grid.diverged[k].sum()) for k, p in enumerate(o["param"])},
        "verdict": verdict(grid, tolerance=tolerance),
    })
    if checks is not None:
        summary.update(_coord_summary(checks, o))
    params = {"param": list(o["param"]), "width": list(o["width"]), "depth": list(o["depth"]),
              "lr": {p: lrs[k].tolist() for k, p in enumerate(o["param"])}, "optimizer": o["optimizer"],
              "activation": o["activation"], "gamma0": o["gamma0"], "beta0": o["beta0"], "alpha": o["alpha"],
              "steps": o["steps"], "batch": o["batch"], "seeds": o["seeds"], "seed": o["seed"],
              "at": at_steps.tolist(), "test_frac": o["test_frac"], "dtype": o["dtype"], "tolerance": tolerance}
    if coords:
        params.update(coord_steps=coord_steps, coord_lr=coord_lr)
    return Result("transfer", COLUMNS, data_cols, int_columns=("width", "depth", "step", "diverged"),
                  summary=summary, params=params, grid=grid, optimal=optimal, network_data=data,
                  coords=None if checks is None else {p: cc for p, (_, cc) in checks.items()},
                  coord_lrs=None if checks is None else {p: eta for p, (eta, _) in checks.items()})


def _coord_lrs(coord_lr, params):
    """None, or {param: η₀ > 0} from one number, one per param (a sequence), or a mapping."""
    if coord_lr is None:
        return None
    if isinstance(coord_lr, dict):
        if set(coord_lr) != set(params):
            raise InputError(f"coord_lr must have one value for each param {list(params)}, got keys "
                             f"{list(coord_lr)}", param="coord_lr")
        return {p: check_float(coord_lr[p], "coord_lr", minimum=0.0, strict=True) for p in params}
    vals = check_floats(coord_lr, "coord_lr", minimum=0.0, strict=True) if np.ndim(coord_lr) else None
    if vals is None:
        return dict.fromkeys(params, check_float(coord_lr, "coord_lr", minimum=0.0, strict=True))
    if vals.size != len(params):
        raise InputError(f"coord_lr must be one value or one per param ({len(params)}), got {vals.size}",
                         param="coord_lr")
    return dict(zip(params, vals.tolist()))


def _rows(grid, o):
    """The long table, in the order param, width, depth, lr, step."""
    shape = grid.train_loss.shape  # (param, width, depth, lr, step)
    idx = np.indices(shape)
    nan = np.full(shape, np.nan)
    dead = (~np.isfinite(grid.train_loss_seeds)).sum(axis=-2)
    cols = {
        "param": np.array(o["param"], dtype=object)[idx[0]],
        "width": np.array(o["width"])[idx[1]],
        "depth": np.array(o["depth"])[idx[2]],
        "lr": grid.lr[idx[0], idx[3]],
        "step": grid.at[idx[4]],
        "train_loss": grid.train_loss,
        "train_loss_sem": grid.train_loss_sem,
        "test_loss": nan if grid.test_loss is None else grid.test_loss,
        "test_loss_sem": nan if grid.test_loss_sem is None else grid.test_loss_sem,
        "diverged": dead,
    }
    return {c: np.asarray(v).ravel() for c, v in cols.items()}


def _warn_edges(grid, o):
    """Warn where a cell's best η₀ is an end of the grid: its optimum may lie beyond it."""
    loss = np.where(np.isfinite(grid.train_loss[..., -1]), grid.train_loss[..., -1], np.inf)
    i = np.argmin(loss, axis=-1)
    finite = np.isfinite(loss).any(axis=-1)
    if loss.shape[-1] < 2:
        return  # one learning rate: nothing to optimize
    for k, p in enumerate(o["param"]):
        low = int(((i[k] == 0) & finite[k]).sum())
        high = int(((i[k] == loss.shape[-1] - 1) & finite[k]).sum())
        gone = int((~finite[k]).sum())
        if low or high or gone:
            parts = [f"{c} at the {w}" for c, w in ((low, "smallest"), (high, "largest")) if c]
            if gone:
                parts.append(f"{gone} with every learning rate diverged (counted at the smallest)")
            warnings.warn(f"param {p}: the best learning rate of {low + high + gone} of {loss[k, ..., 0].size} "
                          f"width × depth cells is an end of the lr grid ({'; '.join(parts)}); extend lr there "
                          "for a reliable optimum", InputWarning)


def _coords(data, o, optimal, steps, lr, advance):
    """The coordinate check of each param over the grid's widths and depths: {param: (η₀, CoordCheck)}."""
    from ..nn import coord_check

    out = {}
    for k, p in enumerate(o["param"]):
        eta = float(optimal[k, 0, 0]) if lr is None else lr[p]
        out[p] = eta, coord_check(data.x, data.y, param=p, widths=o["width"], depths=o["depth"], lr=eta,
                                  steps=steps, optimizer=o["optimizer"], activation=o["activation"],
                                  gamma0=o["gamma0"], beta0=o["beta0"], alpha=o["alpha"], seeds=o["seeds"],
                                  seed=o["seed"], dtype=o["dtype"], lam=DIVERSITY_LAM,
                                  diversity_eps=DIVERSITY_EPS)
        advance(len(o["width"]) * len(o["depth"]))
    return out


def _slope(x, y):
    """Least-squares slope of log y against log x (None with fewer than two usable points)."""
    ok = np.isfinite(y) & (y > 0)
    if ok.sum() < 2:
        return None
    return float(np.polyfit(np.log(np.asarray(x, float)[ok]), np.log(y[ok]), 1)[0])


def _coord_summary(checks, o):
    """Per param: the η₀ used, max/min of the last layer's ΔRMS over the grid, its mean slope in width."""
    used, ratio, slope = {}, {}, {}
    for p, (eta, cc) in checks.items():
        last = cc.last_layer("delta")  # (width, depth)
        ok = np.isfinite(last) & (last > 0)
        used[p] = eta
        ratio[p] = float(last[ok].max() / last[ok].min()) if ok.any() else None
        slopes = [v for v in (_slope(o["width"], last[:, j]) for j in range(last.shape[1])) if v is not None]
        slope[p] = float(np.mean(slopes)) if slopes else None
    return {"coord_lr": used, "coord_delta_ratio": ratio, "coord_width_slope": slope}
