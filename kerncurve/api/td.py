"""`kerncurve.td`: learning curves of TD(0) value estimation on a Markov chain, and their check."""

import contextlib
import itertools
import os
import warnings

import numpy as np

from .._validation import (
    MAX_POINTS,
    check_array,
    check_choice,
    check_count,
    check_file_input,
    check_float,
    check_floats,
    check_int,
    check_seed,
    check_sizes,
)
from ..errors import InputError, InputWarning, NumericalWarning
from ..result import Result, numerics_guard

__all__ = ["td", "MAX_UPDATES", "MAX_SIMULATED_TRANSITIONS"]

COLUMNS = ["gamma", "lr", "batch", "step", "loss"]
EMPIRICAL = ["loss_empirical", "loss_empirical_sem"]

#: Recursion updates per call (steps × combinations of gamma, lr, batch): about 1 ms each on
#: the 49-state sample grid, so the largest request takes hours, not years.
MAX_UPDATES = 10**7
#: Transitions simulated per call (combinations × steps × runs × batch × episode_length):
#: the simulator runs a few million a second.
MAX_SIMULATED_TRANSITIONS = 10**10


def record_steps(steps, points, at):
    """Steps to report: ``at`` if given, else 0, ``points`` log-spaced in 1..steps, and steps."""
    if at is not None:
        rec = np.unique(check_sizes(at, "at", minimum=0))
        if rec.max() > steps:
            raise InputError(f"at has step {rec.max()} beyond steps={steps}; raise steps or drop that step",
                             param="at")
        return rec
    rec = [0, steps]
    if steps >= 1 and points > 0:
        rec += np.round(np.geomspace(1, steps, points)).astype(np.int64).tolist()
    return np.unique(np.asarray(rec, dtype=np.int64))


def _chain_arrays(input, arrays, keys):
    """The chain's arrays, read from a file or checked in memory, and their labels (or None)."""
    given = [k for k, v in arrays.items() if v is not None]
    if check_file_input(input, arrays, keys):
        from ..io.td import read_chain

        return read_chain(input, **keys)
    missing = [k for k in ("transitions", "features", "rewards") if arrays[k] is None]
    if missing:
        raise InputError(f"give input (an HDF5 file) or the arrays transitions, features and rewards; "
                         f"{', '.join(missing)} missing", param="input" if len(given) == 0 else missing[0])
    shapes = {"transitions": ((2,), "(S, S)"), "features": ((1, 2), "(S, N)"), "rewards": ((1, 2), "(S,)"),
              "start": ((1,), "(S,)")}
    data = {k: None if v is None else check_array(v, k, ndim=shapes[k][0], what=shapes[k][1])
            for k, v in arrays.items()}
    return data, None


def _check_sizes(data, n_gamma, T, model, runs, batch_max, n_rec, empirical):
    """Refuse, before the chain is solved for its stationary law and set up, what would not fit."""
    from ..io.sizes import check_bytes, memory_budget
    from ..theory.td import check_exact_size

    P = data["transitions"]
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        return  # make_chain says what is wrong
    S, n_tr = P.shape[0], int(np.count_nonzero(P))
    N = data["features"].shape[-1] if data["features"].ndim == 2 else 1
    if model == "exact":
        check_exact_size(n_tr)
    budget = memory_budget(None)
    # P^k for k ≤ T per discount (+ one working copy; the stationary law's least squares needs
    # about as much); the exact model's n_tr × n_tr pair occupancy and n_tr × S partial sums,
    # or the Gaussian model's (T+1)² time grids
    extra = n_tr * (n_tr + S) if model == "exact" else 12.0 * (T + 1) ** 2
    setup = 8.0 * ((n_gamma + 1) * (T + 1) * S * S + 3.0 * S * S + extra)
    check_bytes(setup, budget, f"the TD moments of {n_gamma} discount(s) with episode_length={T} on {S} states",
                way_out="use shorter episodes, fewer discounts or a smaller chain")
    if empirical:
        sim = 8.0 * (4 * runs * batch_max * (T + 1) + 3 * runs * S + runs * N + n_rec * runs)
        check_bytes(sim, budget, f"simulating runs={runs} × batch={batch_max} episodes of episode_length={T}",
                    way_out="simulate fewer runs, episodes per batch or transitions per episode")


@numerics_guard(allow_inf=("loss", "loss_empirical", "loss_empirical_sem"),
                allow_nan=("loss_empirical", "loss_empirical_sem"))
def td(input=None, *, gamma, lr, steps, batch=1, episode_length=20, points=25, at=None, model="exact",
       reward_noise=0.0, lr_decay=0.0, empirical=False, runs=200, seed=0, transitions_key="/transitions",
       features_key="/features", rewards_key="/rewards", start_key="/start", transitions=None, features=None,
       rewards=None, start=None, progress=None):
    """Expected value error of TD(0) learning versus the number of updates.

    A Markov chain P (policy included) runs episodes of T transitions from ρ₀; features ψ(s),
    reward r = ψ·w_R (the least-squares fit of the given rewards). TD(0) with B episodes per
    update and w₀ = 0 (Bordelon, Masset, Kuo & Pehlevan, NeurIPS 2023, arXiv:2307.04841)::

        w ← w + (η_n/B) Σ_b Σ_{t<T} ψ(s_t) δ_t,   δ_t = r(s_t) + γψ(s_{t+1})·w − ψ(s_t)·w,
        A = Σ̄ − γΣ̄₊,   A w_V = Σ̄ w_R,   L_n = E[(w_n − w_V)ᵀ(Σ̄/T)(w_n − w_V)],
        w̄' = w̄ + η_n(b − A w̄),   M' = (I − η_n A) M (I − η_n A)ᵀ + (η_n²/B) N(w̄, M),

    with Σ̄ = Σ_{t<T} E[ψ(s_t)ψ(s_t)ᵀ], Σ̄₊ = Σ_{t<T} E[ψ(s_t)ψ(s_{t+1})ᵀ], M the second moment
    of w − w_V and N the update noise: exact (a sum over the chain's transitions with their
    pair occupancy) or Gaussian-equivalent. See docs/theory/td.md.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file with ``/transitions`` (S, S), ``/features`` (S, N), ``/rewards`` (S,) and
        optionally ``/start`` (S,) (paths set by ``*_key``). Or give the arrays instead:
    transitions, features, rewards, start : array_like, optional
        Row-stochastic (S, S); (S, N); (S,); a probability vector (S,) (default: the
        stationary distribution).
    gamma : float or sequence of float
        Discounts 0 ≤ γ < 1.
    lr : float or sequence of float
        Learning rates η₀ > 0.
    steps : int
        Number of TD updates K ≥ 0.
    batch : int or sequence of int
        Episodes per update B ≥ 1.
    episode_length : int
        Transitions per episode T ≥ 1.
    points : int
        Report this many log-spaced steps in 1..K (plus 0 and K).
    at : sequence of int, optional
        Report exactly these steps instead (each ≤ K).
    model : {"exact", "gaussian"}
        Exact recursion over transitions, or Gaussian equivalence.
    reward_noise : float
        Standard deviation σ_r ≥ 0 of i.i.d. noise added to every reward.
    lr_decay : float
        χ ≥ 0 in the schedule η_n = η₀ n^−χ (0: constant rate).
    empirical : bool
        Also simulate TD(0) (``runs`` independent runs, vectorized).
    runs : int
        Simulated runs (≥ 2).
    seed : int
        Seed of the simulation.
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Result
        Columns ``gamma, lr, batch, step, loss`` (+ ``loss_empirical, loss_empirical_sem``),
        one block of rows per (γ, η, B) in the order given; ``loss`` is ``inf`` from the step
        where a diverging recursion overflowed. Attributes ``chain``, ``setups`` (γ →
        `TDSetup`), ``curves`` (a list of (γ, η, B, `TDCurve`, `TDSimulation` or None)) and
        ``record`` (the reported steps).

    Examples
    --------
    >>> r = kc.td("sample_data/gridworld.h5", gamma=0.5, lr=0.1, steps=300, at=[10, 100, 300])  # doctest: +SKIP
    >>> r.loss, r.summary["plateaus"]                                                      # doctest: +SKIP
    """
    from ..theory.td import make_chain, td_curve, td_plateau, td_setup, td_spectrum

    gammas = check_floats(gamma, "gamma")
    for g in gammas:
        if not 0.0 <= g < 1.0:
            raise InputError(f"gamma must be discounts 0 <= gamma < 1, got {float(g)!r}", param="gamma")
    lrs = check_floats(lr, "lr", minimum=0.0, strict=True)
    batches = check_sizes(batch, "batch")
    steps = check_int(steps, "steps", minimum=0)
    episode_length = check_int(episode_length, "episode_length", minimum=1)
    points = check_int(points, "points", minimum=0)
    check_count(points, "points", MAX_POINTS, unit="reported steps",
                way_out="report fewer points, or give the steps to report with at=...")
    model = check_choice(model, "model", ("exact", "gaussian"))
    reward_noise = check_float(reward_noise, "reward_noise", minimum=0.0)
    lr_decay = check_float(lr_decay, "lr_decay", minimum=0.0)
    runs = check_int(runs, "runs", minimum=2)
    seed = check_seed(seed)
    empirical = bool(empirical)

    combos = len(gammas) * len(lrs) * len(batches)
    many = f" ({combos} combinations of discount, learning rate and batch × steps)" if combos > 1 else ""
    fewer = "give fewer discounts, learning rates or batch sizes"
    check_count(float(combos) * steps, "steps", MAX_UPDATES, unit=f"recursion updates{many}",
                way_out=f"take fewer steps or {fewer}")
    rec = record_steps(steps, points, at)
    check_count(float(combos) * rec.size, "at" if at is not None else "points", MAX_POINTS,
                unit=f"table rows ({rec.size} reported steps × {combos} combinations)",
                way_out=f"report fewer steps or {fewer}")
    if empirical:
        sim = float(combos) * steps * runs * float(batches.max()) * episode_length
        check_count(sim, "runs", MAX_SIMULATED_TRANSITIONS,
                    unit="simulated transitions (combinations × steps × runs × batch × episode length)",
                    way_out="simulate fewer runs, steps, episodes per batch or transitions per episode")

    keys = {"transitions_key": transitions_key, "features_key": features_key, "rewards_key": rewards_key,
            "start_key": start_key}
    arrays = {"transitions": transitions, "features": features, "rewards": rewards, "start": start}
    data, labels = _chain_arrays(input, arrays, keys)
    _check_sizes(data, len(gammas), episode_length, model, runs, int(batches.max()), rec.size, empirical)
    chain = make_chain(**data, labels=labels)
    if chain.reward_residual > 1e-6:
        name = rewards_key if input is not None else "rewards"
        warnings.warn(f"{name} is not in the span of the features (relative residual {chain.reward_residual:.3g}); "
                      "theory and simulation use the fitted reward ψ·w_R", InputWarning)

    setups = {g: td_setup(chain, g, episode_length) for g in gammas}
    cols = {c: [] for c in COLUMNS + EMPIRICAL}
    curves, plateau_rows = [], []
    total = combos * steps * (2 if empirical else 1)
    bar = (progress("TD(0) recursion" + (" and simulation" if empirical else ""), total) if progress is not None
           else contextlib.nullcontext(lambda n=1: None))
    with bar as advance:
        for i, (g, eta, b) in enumerate(itertools.product(gammas, lrs, batches.tolist())):
            g, eta = float(g), float(eta)
            st = setups[g]
            curve = td_curve(st, eta, b, steps, model=model, reward_noise=reward_noise, lr_decay=lr_decay,
                             progress=advance)
            cols["gamma"] += [g] * rec.size
            cols["lr"] += [eta] * rec.size
            cols["batch"] += [b] * rec.size
            cols["step"] += rec.tolist()
            cols["loss"] += curve.loss[rec].tolist()
            sim = None
            if empirical:
                from ..simulate.td import simulate_td

                sim = simulate_td(st, eta, b, steps, runs=runs, record=rec, reward_noise=reward_noise,
                                  lr_decay=lr_decay, seed=(seed, i), progress=lambda n: advance(1))
                cols["loss_empirical"] += sim.mean.tolist()
                cols["loss_empirical_sem"] += sim.sem.tolist()
            curves.append((g, eta, b, curve, sim))
            plateau = td_plateau(st, eta, b, model=model, reward_noise=reward_noise) if lr_decay == 0 else None
            plateau_rows.append({"gamma": g, "lr": eta, "batch": b, "plateau": plateau,
                                 "plateau_times_batch_over_lr": None if plateau is None else plateau * b / eta})

    columns = COLUMNS + (EMPIRICAL if empirical else [])
    data = {c: np.asarray(cols[c]) for c in columns}
    data["batch"] = data["batch"].astype(np.int64)
    summary = {} if input is None else {"input": os.fspath(input)}
    summary.update({
        "states": chain.n_states,
        "features": chain.n_features,
        "start": "stationary distribution" if chain.start_is_stationary else (start_key if input is not None
                                                                               else "given"),
        "episode_length": episode_length,
        "model": model,
        "reward_fit_residual": chain.reward_residual,
    })
    gamma_rows = []
    for g in gammas:
        st = setups[float(g)]
        sp = td_spectrum(st)
        if sp.min_real <= 0:
            warnings.warn(f"at gamma={float(g)!r} A has an eigenvalue with real part {sp.min_real:.3g} ≤ 0: the mean "
                          "of TD diverges at every learning rate", NumericalWarning)
        gamma_rows.append({"gamma": float(g), "rank": int(st.A_r.shape[0]),
                           "fixed_point_residual": st.fixed_point_residual, "a_min_real": sp.min_real,
                           "a_max_real": sp.max_real, "slowest_timescale": sp.timescale,
                           "lr_max_mean": sp.lr_max_mean, "initial_loss": st.initial_loss})
    summary["per_gamma"] = gamma_rows
    summary["plateaus"] = plateau_rows
    if empirical:
        summary.update(_deviations(data["loss"], data["loss_empirical"], data["loss_empirical_sem"]))
    params = {"gamma": gammas.tolist(), "lr": lrs.tolist(), "batch": batches.tolist(),
              "episode_length": episode_length, "steps": steps, "model": model, "reward_noise": reward_noise,
              "lr_decay": lr_decay, "empirical": empirical, "runs": runs, "seed": seed}
    return Result("td", columns, data, int_columns=("batch", "step"), summary=summary, params=params,
                  chain=chain, setups=setups, curves=curves, record=rec)


def _deviations(loss, emp, sem):
    """Largest relative deviation and |z| of theory against simulation, over finite rows."""
    out = {}
    ok = np.isfinite(loss) & (emp > 0)
    if ok.any():
        out["max_relative_deviation"] = float(np.max(np.abs(loss[ok] / emp[ok] - 1)))
        zok = ok & (sem > 0)
        if zok.any():
            out["max_abs_z"] = float(np.max(np.abs(loss[zok] - emp[zok]) / sem[zok]))
    return out
