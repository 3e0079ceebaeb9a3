"""`kerncurve.sgd`: expected test loss of SGD on a linear readout of features, and its simulation."""

import contextlib
import warnings
from typing import NamedTuple

import numpy as np

from .._validation import (
    MAX_POINTS,
    check_choice,
    check_count,
    check_float,
    check_floats,
    check_int,
    check_seed,
    check_sizes,
)
from ..errors import InputError, NumericalWarning
from ..result import Result, numerics_guard
from ..spectral import power_law_fit
from ..theory import sgd as th
from .sgd_input import SGDData, load_sgd

__all__ = ["sgd", "load_sgd", "SGDData", "SGDRun"]

COLUMNS = ["batch", "lr", "step", "samples", "loss"]
EMPIRICAL = ["loss_empirical", "loss_empirical_sem", "loss_empirical_median"]
AUTO_BUDGET = 2e8  # the exact model costs O(n r²) per step; beyond this n·r² the default model is gaussian
MAX_STEPS = 10**9  # steps of one curve (a Python-level loop)
MAX_RUNS = 10**6
WORK_BUDGET = 1e12  # floating-point operations of the recursions, and of the simulation (tens of minutes)
STEP_COST = 3e3  # the Python overhead of one step (~3 µs), in floating-point operations' worth of time
OPT_EVALS = 20  # final-loss evaluations of one lr='opt' search (bounded scalar search: 13–16 measured)


class SGDRun(NamedTuple):
    """One curve: batch m, learning rate η, steps T, the output steps, label noise σ²."""

    batch: int
    lr: float
    steps: int
    out_steps: np.ndarray
    noise: float


def _learning_rates(lr, lr_frac):
    """(lrs, use_opt, lr_frac) with the default lr_frac = 0.5 when neither is given."""
    if lr is not None and lr_frac is not None:
        raise InputError("give either lr= or lr_frac=, not both", param="lr")
    if lr_frac is not None:
        lr_frac = check_float(lr_frac, "lr_frac")
        if not 0 < lr_frac < 1:
            raise InputError(f"lr_frac must lie in (0, 1) (a fraction of the stability edge), got {lr_frac!r}",
                             param="lr_frac")
        return [], False, lr_frac
    if lr is None:
        return [], False, 0.5
    vals = [lr] if isinstance(lr, str) or np.ndim(lr) == 0 else list(lr)
    if "opt" in [v for v in vals if isinstance(v, str)]:
        if len(vals) > 1:
            raise InputError("lr: 'opt' cannot be combined with other learning rates", param="lr")
        return [], True, None
    return check_floats(vals, "lr", minimum=0.0, strict=True).tolist(), False, None


def _out_steps(t, points):
    """Step 0 and ``points`` log-spaced steps between 1 and t (duplicates dropped)."""
    return np.unique(np.r_[0, np.round(np.geomspace(1, t, points)).astype(np.int64)])


def _bar(progress, description, total):
    if progress is None:
        return contextlib.nullcontext(lambda n=1: None)
    return progress(description, total)


def _check_work(data, model, curves, train_size, empirical, runs, compute_given, use_opt):
    """Refuse, before any recursion runs, a call whose arithmetic or simulation memory is absurd.

    ``curves``: (batch, steps) of every curve.
    """
    from ..io.sizes import check_bytes, memory_budget

    r, n, dim = data.spectrum.rank, data.n, data.dim
    per_step = {"gaussian": r, "empirical": 2.0 * n * r * r,
                "multipass": 2.0 * (train_size or 0) * dim * dim + 2.0 * dim**3}[model]
    work = sum(t for _, t in curves) * (per_step + STEP_COST) * (1 + OPT_EVALS * use_opt)
    name = "compute" if compute_given else "steps"
    check_count(work, name, WORK_BUDGET, unit="floating-point operations in the recursions (tens of minutes per 1e12)",
                way_out=f"use fewer {name}= or fewer lr=, batch= or noise= values"
                        + (", a given lr= instead of the search lr=opt" if use_opt else "")
                        + ("" if model == "gaussian" else ", or model=gaussian"))
    if empirical:
        m_max = max(m for m, _ in curves)
        # per run: the drawn batch (m, d) and its residuals, the readout and its population loss
        check_bytes(8.0 * runs * (2 * m_max * (dim + 1) + 3 * dim), memory_budget(None),
                    f"runs={runs} simulated runs with batches of {m_max}",
                    way_out="use fewer runs= or a smaller batch=")
        sim = sum(t * (3.0 * runs * m * dim + STEP_COST) for m, t in curves)
        check_count(sim, "runs", WORK_BUDGET,
                    unit="floating-point operations in the simulation (tens of minutes per 1e12)",
                    way_out="use fewer runs= or steps=")


@numerics_guard(allow_inf=("loss", "train_loss", "loss_empirical", "loss_empirical_sem", "loss_empirical_median",
                           "train_loss_empirical", "train_loss_empirical_sem"))
def sgd(input=None, *, X=None, y=None, gram=None, lr=None, lr_frac=None, batch=1, steps=1000, points=30, noise=0.0,
        model="auto", compute=None, train_size=None, empirical=False, runs=400, seed=0, progress=None,
        **input_options):
    """Expected test loss of SGD (w₀ = 0) on a linear readout of features, step by step.

    Online SGD, w ← w − (η/m) Σ_batch ψ(ψ·w − y), a fresh batch of m samples each step from
    the population (the n samples); Δ = w − w*, μ = E[Δ], C = E[ΔΔᵀ] in the eigenbasis of
    Σ = ⟨ψψᵀ⟩ (Bordelon & Pehlevan, *Learning Curves for SGD on Structured Features*, ICLR
    2022). The exact model uses the samples' fourth moments::

        μ' = (I − ηΣ)μ,   C' = (I − ηΣ)C(I − ηΣ) + (η²/m)[F4(C) − ΣCΣ − 2X3(μ) + ⟨ψψᵀy⊥²⟩ + σ²Σ],

    the Gaussian model closes on the modes: c_k' = a_k c_k + (η²/m)λ_k L_t,
    a_k = (1 − ηλ_k)² + η²λ_k²/m. ``loss`` is the expected test MSE against the (noisy)
    labels, L_t = tr(ΣC_t) + ⟨y⊥²⟩ + σ²; the stability edge η_c, κ_sgd and the plateau
    σ²/(1 − κ_sgd) are in the summary. Derivations and measured agreement:
    docs/theory/sgd.md.

    Parameters
    ----------
    input : str, path, Spectrum or SGDData, optional
        An HDF5 file (``input_options``: ``features_key``, ``gram_key``, ``targets_key``,
        ``inputs_key``, ``kernel``, ``bandwidth``, ``degree``, ``depth``); a one-channel
        `Spectrum` (the Gaussian model; the exact one too with ``basis=True`` and ``y``); or
        the result of `load_sgd` (loaded once, reused).
    X, gram, y : array_like, optional
        Features (n, d) or a Gram (n, n), and one target column y (n,), instead of ``input``.
    lr : float, sequence of float, or "opt"
        Learning rate(s) η > 0; "opt" picks, per batch and noise, the η minimizing the final
        loss. Default: ``lr_frac`` = 0.5.
    lr_frac : float
        Learning rate as a fraction in (0, 1) of the model's stability edge η_c.
    batch : int or sequence of int
        Batch sizes m ≥ 1.
    steps : int
        Number of steps T.
    points : int
        Log-spaced output steps between 1 and T (step 0 is always included).
    noise : float or sequence of float
        Label-noise variances σ² ≥ 0 (one curve per value).
    model : {"auto", "empirical", "exact", "gaussian"}
        "empirical" (= "exact"): the fourth-moment recursion, O(n·M²) per step; "gaussian":
        O(M) per step; "auto": empirical when the samples are there and n·M² ≤ 2e8.
    compute : int, optional
        Fixed compute C (samples): each batch m runs C // m steps; the summary names the best.
    train_size : int, optional
        Multi-pass SGD on a fixed random training set of P of the samples (adds ``train_loss``).
    empirical : bool
        Also simulate SGD on the same samples (``runs`` runs, drawn with replacement).
    runs : int
        Independent simulated runs (≥ 2).
    seed : int
        Seed of the training set and the simulation.
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Result
        Columns ``batch, lr, step, samples, loss`` (+ ``loss_empirical, loss_empirical_sem,
        loss_empirical_median``; + ``train_loss`` (and its simulation) with ``train_size``;
        + ``noise`` with several noise levels). Diverging losses are ``inf``. Attributes
        ``sgd_data`` (`SGDData`), ``curves`` (one `SGDRun` per curve) and ``edges`` (η_c per batch).

    Examples
    --------
    >>> r = kc.sgd(X=X, y=y, lr_frac=0.4, batch=[1, 8], steps=200)         # doctest: +SKIP
    >>> r.loss, r.summary["lr_edge"]                                        # doctest: +SKIP
    """
    batches = [int(m) for m in check_sizes(batch, "batch")]
    lrs, use_opt, lr_frac = _learning_rates(lr, lr_frac)
    steps = check_int(steps, "steps", minimum=1, maximum=MAX_STEPS)
    points = check_int(points, "points", minimum=1, maximum=MAX_POINTS)
    noises = check_floats(noise, "noise", minimum=0.0).tolist()
    model = check_choice(model, "model", ("auto", "empirical", "exact", "gaussian"))
    if compute is not None:
        compute = check_int(compute, "compute", minimum=1)
        if compute < max(batches):
            raise InputError(f"compute={compute} is smaller than the largest batch={max(batches)}; each batch size "
                             "needs at least one step", param="compute")
        check_count(compute // min(batches), "compute", MAX_STEPS, unit=f"steps (batch {min(batches)})",
                    way_out="use a smaller compute= or larger batches")
    if train_size is not None:
        train_size = check_int(train_size, "train_size", minimum=1)
        if max(batches) > train_size:
            raise InputError(f"batch={max(batches)} is larger than train_size={train_size}; batches are drawn "
                             "from the training set", param="train_size")
    runs = check_int(runs, "runs", minimum=2, maximum=MAX_RUNS)
    seed = check_seed(seed)
    curves_per_batch = (1 if use_opt or not lrs else len(lrs)) * len(noises)
    check_count(len(batches) * curves_per_batch * (min(points, steps if compute is None else compute) + 1), "points",
                MAX_POINTS, unit="rows", way_out="use fewer points= or fewer lr=, batch= or noise= values")

    if isinstance(input, SGDData):
        extra = [k for k, v in (("X", X), ("y", y), ("gram", gram)) if v is not None] + list(input_options)
        if extra:
            raise InputError(f"{extra[0]}: the input is already loaded (SGDData)", param=extra[0])
        data = input
    else:
        with _bar(progress, "reading and eigendecomposition", 2) as advance:
            data = load_sgd(input, X=X, y=y, gram=gram, progress=advance, **input_options)
    return _run(data, lrs, use_opt, lr_frac, batches, steps, points, noises, model, compute, train_size, empirical,
                runs, seed, progress)


def _resolve_model(data, model, train_size, empirical):
    if train_size is not None and not data.has_samples:
        raise InputError("train_size= needs samples (features or a Gram); the input is a spectrum without samples",
                         param="train_size")
    if empirical and not data.has_samples:
        raise InputError("empirical= needs samples (features or a Gram); the input is a spectrum without samples",
                         param="empirical")
    if train_size is not None and train_size > data.n:
        of = f" of {data.provenance['input']}" if data.provenance.get("input") else ""
        raise InputError(f"train_size={train_size} exceeds the {data.n} samples{of}", param="train_size")
    if model == "exact":
        model = "empirical"
    if model == "auto":
        model = "empirical" if data.has_samples and data.n * data.spectrum.rank**2 <= AUTO_BUDGET else "gaussian"
    if model == "empirical" and not data.has_samples:
        raise InputError("model=empirical needs samples (features or a Gram); the input is a spectrum without "
                         "samples; use model=gaussian", param="model")
    return "multipass" if train_size is not None else model


def _run(data, lrs, use_opt, lr_frac, batches, steps, points, noises, model, compute, train_size, empirical, runs,
         seed, progress):
    model = _resolve_model(data, model, train_size, empirical)
    lam, w2, unl = th.gaussian_terms(data.problem if data.has_samples else data.spectrum)
    psi, y = data.features, data.targets

    train, train_problem = None, None
    if train_size is not None:
        if use_opt:
            raise InputError("lr=opt is not available with train_size=; give lr= or lr_frac=", param="lr")
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(data.n, train_size, replace=False))
        eps = rng.standard_normal(train_size)  # one draw, scaled for every noise level
        train = {z: (psi[idx], y[idx] + (np.sqrt(z) * eps if z > 0 else 0.0)) for z in noises}
        train_problem = th.prepare(psi[idx], y[idx])  # the edge depends on the training features only

    def steps_of(m):
        return compute // m if compute is not None else steps

    n_curves = (1 if use_opt or lr_frac is not None else len(lrs)) * len(noises)
    _check_work(data, model, [(m, steps_of(m)) for m in batches for _ in range(n_curves)], train_size,
                empirical, runs, compute is not None, use_opt)

    edges = {}
    with _bar(progress, "stability edges", len(batches)) as advance:
        for m in batches:
            edges[m] = (th.gaussian_edge(lam, m) if model == "gaussian"
                        else th.exact_edge(train_problem if train is not None else data.problem, m))
            advance()

    combos = []  # in the order batch, lr, noise
    with _bar(progress, "optimizing lr", len(batches) * len(noises) if use_opt else 0) as advance:
        for m in batches:
            t = steps_of(m)
            out_steps = _out_steps(t, points)
            if use_opt:
                source = data.problem if data.has_samples else data.spectrum
                for z in noises:
                    bs = th.batch_search(source, t * m, [m], lr="opt",
                                         model="gaussian" if model == "gaussian" else "exact", noise=z)
                    combos.append(SGDRun(m, float(bs.lr[0]), t, out_steps, z))
                    advance()
            else:
                etas = [lr_frac * edges[m]] if lr_frac is not None else lrs
                combos.extend(SGDRun(m, float(eta), t, out_steps, z) for eta in etas for z in noises)

    def curve(c, advance):
        if model == "gaussian":  # O(M) per step: one tick per curve
            loss = th.gaussian_loss(lam, w2, unl + c.noise, c.lr, c.batch, c.out_steps).loss
            advance(1)
            return loss, None
        if model == "multipass":
            x_tr, y_tr = train[c.noise]
            mp = th.multipass_loss(x_tr, y_tr, psi, y, c.lr, c.batch, c.out_steps, c.noise, progress=advance)
            return mp.test_loss, mp.train_loss
        return th.exact_loss(data.problem, c.lr, c.batch, c.out_steps, c.noise, progress=advance).loss, None

    cols = {k: [] for k in ["batch", "lr", "step", "samples", "loss", "train_loss", "noise"]}
    finals, slopes = [], []
    total = len(combos) if model == "gaussian" else sum(int(c.out_steps.max()) for c in combos)
    with _bar(progress, "SGD recursion", total) as advance:
        for c in combos:
            if c.lr >= edges[c.batch]:
                warnings.warn(f"lr={c.lr!r} is at or above the stability edge η_c = {edges[c.batch]:.6g} of batch "
                              f"{c.batch} ({model} model): the loss diverges", NumericalWarning)
            with np.errstate(over="ignore", invalid="ignore"):
                loss, train_loss = curve(c, advance)
            k = c.out_steps.size
            cols["batch"].append(np.full(k, c.batch))
            cols["lr"].append(np.full(k, c.lr))
            cols["step"].append(c.out_steps)
            cols["samples"].append(c.out_steps * c.batch)
            cols["noise"].append(np.full(k, c.noise))
            cols["loss"].append(loss)
            cols["train_loss"].append(train_loss if train_loss is not None else np.full(k, np.nan))
            finals.append(float(loss[-1]))
            late = c.out_steps >= max(1, c.steps // 100)
            slopes.append(th.fit_powerlaw(c.out_steps[late], loss[late], floor=unl + c.noise))
    table = {k: np.concatenate(v) for k, v in cols.items()}
    columns = list(COLUMNS)
    if empirical:
        table.update(_simulate(combos, model, psi, y, train, runs, seed, progress))
        columns += EMPIRICAL
    if model == "multipass":
        columns.append("train_loss")
        if empirical:
            columns += ["train_loss_empirical", "train_loss_empirical_sem"]
    if len(noises) > 1:  # one curve per noise level: say which row is which
        columns.append("noise")

    summary = _summary(data, model, lam, w2, unl, noises, batches, edges, combos, finals, slopes, compute,
                       table if empirical else None)
    params = {"lr": "opt" if use_opt else (lrs or None), "lr_frac": lr_frac, "batch": batches, "steps": steps,
              "points": points, "noise": noises, "model": model, "compute": compute, "train_size": train_size,
              "empirical": bool(empirical), "runs": runs, "seed": seed}
    return Result("sgd", columns, table, int_columns=("batch", "step", "samples"), summary=summary, params=params,
                  sgd_data=data, curves=combos, edges=edges)


def _simulate(combos, model, psi, y, train, runs, seed, progress):
    """Mean, SEM and median of simulated SGD per output step (+ train loss for multi-pass)."""
    from ..simulate.sgd import simulate_multipass, simulate_online

    emp = {k: [] for k in ["mean", "sem", "median", "tmean", "tsem"]}
    with _bar(progress, "simulated SGD", len(combos)) as advance:
        for i, c in enumerate(combos):
            if model == "multipass":
                x_tr, y_tr = train[c.noise]
                te, tr = simulate_multipass(x_tr, y_tr, psi, y, c.lr, c.batch, c.out_steps, runs=runs, noise=c.noise,
                                            seed=seed + i)
                emp["tmean"].append(tr.mean), emp["tsem"].append(tr.sem)
            else:
                te = simulate_online(psi, y, c.lr, c.batch, c.out_steps, runs=runs, noise=c.noise, seed=seed + i)
            emp["mean"].append(te.mean), emp["sem"].append(te.sem), emp["median"].append(te.median)
            advance()
    out = {"loss_empirical": np.concatenate(emp["mean"]), "loss_empirical_sem": np.concatenate(emp["sem"]),
           "loss_empirical_median": np.concatenate(emp["median"])}
    if model == "multipass":
        out["train_loss_empirical"] = np.concatenate(emp["tmean"])
        out["train_loss_empirical_sem"] = np.concatenate(emp["tsem"])
    return out


def _summary(data, model, lam, w2, unl, noises, batches, edges, combos, finals, slopes, compute, emp):
    b = power_law_fit(lam)
    tail = np.cumsum((lam * w2)[::-1])[::-1]
    a = power_law_fit(tail) + 1
    summary = {
        "input": data.provenance.get("input", ""),
        "source": data.provenance.get("source", ""),
        "n": data.n,
        "features": data.dim,
        "rank": int(lam.size),
        "model": model,
        "noise": noises if len(noises) > 1 else noises[0],
        "unlearnable_power": unl,
        "batch": list(batches),
        "lr_edge": [edges[m] for m in batches],
        "lr_edge_gaussian": [th.gaussian_edge(lam, m) for m in batches],
        "critical_batch": th.critical_batch(lam),
        "lr": [c.lr for c in combos],
        "lr_batch": [c.batch for c in combos],
        "kappa_sgd": [th.kappa_sgd(lam, c.lr, c.batch) for c in combos],
        "plateau": [th.plateau(lam, c.lr, c.batch, unl + c.noise) for c in combos],
        "final_loss": finals,
        "fitted_exponent": slopes,
        "predicted_exponent": th.powerlaw_exponent(a, b) if np.isfinite(a) and np.isfinite(b) else float("nan"),
    }
    if compute is not None:
        best = int(np.argmin(finals))
        summary.update(compute=compute, best_batch=combos[best].batch, best_lr=combos[best].lr,
                       best_loss=finals[best])
    if emp is not None:
        # rows whose spread is round-off (step 0: every run starts at w = 0) carry no information
        ok = (np.isfinite(emp["loss"]) & np.isfinite(emp["loss_empirical"])
              & (emp["loss_empirical_sem"] > 1e-9 * np.abs(emp["loss_empirical"])))
        if ok.any():
            z = np.abs(emp["loss"][ok] - emp["loss_empirical"][ok]) / emp["loss_empirical_sem"][ok]
            summary["max_deviation_sem"] = float(z.max())
    return summary

