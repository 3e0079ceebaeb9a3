"""`kerncurve td`: learning curves of TD(0) value estimation on a Markov chain (THEORY §5)."""

import itertools

import click
import numpy as np

from ..errors import InputError, InputWarning, NumericalWarning
from ..io import open_h5, read_array
from ..plots import plot_curves
from ..table import Table
from ..simulate.td import simulate_td
from ..theory.td import check_td_params, make_chain, td_curve, td_plateau, td_setup, td_spectrum
from .common import output_options, parse_float_list, parse_int_list, run_session

COLUMNS = ["gamma", "lr", "batch", "step", "loss"]
EMPIRICAL = ["loss_empirical", "loss_empirical_sem"]


def load_chain(path, transitions_key="/transitions", features_key="/features",
               rewards_key="/rewards", start_key="/start"):
    """Read and validate a chain file (CONTRACT §2) into a `MarkovChain`."""
    with open_h5(path) as f:
        P = read_array(f, transitions_key, ndim=(1, 2), option="--transitions-key",
                       what="transitions (S, S)")
        X = read_array(f, features_key, ndim=(1, 2), option="--features-key",
                       what="features (S, N)")
        r = read_array(f, rewards_key, ndim=(1, 2), option="--rewards-key", what="rewards (S,)")
        start = None
        if start_key in f:
            start = read_array(f, start_key, ndim=(1,), option="--start-key", what="start (S,)")
    return make_chain(P, X, r, start=start, source=path)


def record_steps(steps, points, at):
    """Steps to report: ``at`` if given, else 0, ``points`` log-spaced in 1..steps, and steps."""
    if at is not None:
        rec = np.unique(np.asarray(parse_int_list(at, "--at", minimum=0), dtype=np.int64))
        if rec.max() > steps:
            raise InputError(f"--at: step {rec.max()} is beyond --steps {steps}; raise --steps")
        return rec
    rec = [0, steps]
    if steps >= 1 and points > 0:
        rec += np.round(np.geomspace(1, steps, points)).astype(np.int64).tolist()
    return np.unique(np.asarray(rec, dtype=np.int64))


@click.command("td", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="INPUT")
@click.option("--gamma", "gamma_spec", required=True, help="Discount(s) 0 ≤ γ < 1, comma list.")
@click.option("--lr", "lr_spec", required=True, help="Learning rate(s) η₀ > 0, comma list.")
@click.option("--batch", "batch_spec", default="1", show_default=True,
              help="Episodes per update B, comma list.")
@click.option("--episode-length", "episode_length", type=int, default=20, show_default=True,
              help="Transitions per episode T.")
@click.option("--steps", type=int, required=True, help="Number of TD updates K.")
@click.option("--points", type=int, default=25, show_default=True,
              help="Report this many log-spaced steps in 1..K (plus 0 and K).")
@click.option("--at", default=None, help="Report exactly these steps instead (comma list, ≤ K).")
@click.option("--model", type=click.Choice(["exact", "gaussian"]), default="exact",
              show_default=True, help="Exact recursion over transitions, or Gaussian equivalence.")
@click.option("--reward-noise", type=float, default=0.0, show_default=True,
              help="Std σ_r of i.i.d. noise added to every reward.")
@click.option("--lr-decay", type=float, default=0.0, show_default=True,
              help="χ in the schedule η_n = η₀ n^-χ (0: constant rate).")
@click.option("--empirical", is_flag=True, help="Also simulate TD(0) (runs vectorized).")
@click.option("--runs", type=click.IntRange(min=2), default=200, show_default=True,
              help="Independent simulated runs for --empirical.")
@click.option("--transitions-key", default="/transitions", show_default=True,
              help="Dataset of the transition matrix (S, S).")
@click.option("--features-key", default="/features", show_default=True,
              help="Dataset of features (S, N).")
@click.option("--rewards-key", default="/rewards", show_default=True, help="Dataset of rewards (S,).")
@click.option("--start-key", default="/start", show_default=True,
              help="Dataset of the start distribution (S,); absent: stationary distribution.")
@output_options
@run_session
def command(s, input, gamma_spec, lr_spec, batch_spec, episode_length, steps, points, at, model,
            reward_noise, lr_decay, empirical, runs, transitions_key, features_key, rewards_key,
            start_key, **_):
    """Expected value error of TD(0) learning versus the number of updates.

    loss is E[(w_n − w_V)ᵀ(Σ̄/T)(w_n − w_V)] with w_V the TD fixed point, from w₀ = 0; each
    update averages B episodes of T transitions. The reward is the least-squares fit ψ·w_R
    of /rewards on the features (its residual is in the summary).
    """
    rep = s.reporter
    gammas = parse_float_list(gamma_spec, "--gamma", minimum=-np.inf)
    lrs = parse_float_list(lr_spec, "--lr", minimum=-np.inf)
    batches = parse_float_list(batch_spec, "--batch", minimum=-np.inf)
    for g in gammas:
        check_td_params(gamma=g)
    for lr in lrs:
        check_td_params(lr=lr)
    for b in batches:
        check_td_params(batch=b)
    batches = [int(b) for b in batches]
    check_td_params(episode_length=episode_length, steps=steps, reward_noise=reward_noise,
                    lr_decay=lr_decay)
    if points < 0:
        raise InputError(f"--points {points} must be >= 0")
    rec = record_steps(steps, points, at)

    chain = load_chain(input, transitions_key, features_key, rewards_key, start_key)
    if chain.reward_residual > 1e-6:
        import warnings

        warnings.warn(
            f"{rewards_key} is not in the span of the features (relative residual "
            f"{chain.reward_residual:.3g}); theory and simulation use the fitted reward ψ·w_R",
            InputWarning,
        )

    combos = list(itertools.product(gammas, lrs, batches))
    cols = {c: [] for c in COLUMNS + EMPIRICAL}
    gamma_rows, plateau_rows = [], []
    curves = []
    setups = {g: td_setup(chain, g, episode_length) for g in gammas}
    total = len(combos) * steps * (2 if empirical else 1)
    with rep.progress("TD(0) recursion" + (" and simulation" if empirical else ""), total) as advance:
        for i, (g, lr, b) in enumerate(combos):
            st = setups[g]
            curve = td_curve(st, lr, b, steps, model=model, reward_noise=reward_noise,
                             lr_decay=lr_decay, progress=advance)
            loss = curve.loss[rec]
            cols["gamma"] += [g] * rec.size
            cols["lr"] += [lr] * rec.size
            cols["batch"] += [b] * rec.size
            cols["step"] += rec.tolist()
            cols["loss"] += loss.tolist()
            sim = None
            if empirical:
                sim = simulate_td(st, lr, b, steps, runs=runs, record=rec,
                                  reward_noise=reward_noise, lr_decay=lr_decay,
                                  seed=(s.rng_seed, i), progress=lambda n: advance(1))
                cols["loss_empirical"] += sim.mean.tolist()
                cols["loss_empirical_sem"] += sim.sem.tolist()
            curves.append((g, lr, b, curve, sim))
            plateau = None
            if lr_decay == 0:
                plateau = td_plateau(st, lr, b, model=model, reward_noise=reward_noise)
            plateau_rows.append({"gamma": g, "lr": lr, "batch": b, "plateau": plateau,
                                 "plateau_times_batch_over_lr": None if plateau is None
                                 else plateau * b / lr})

    columns = COLUMNS + (EMPIRICAL if empirical else [])
    table = Table(columns, {c: np.asarray(cols[c]) for c in columns},
                  int_columns=("batch", "step"))

    summary = {
        "input": input,
        "states": chain.n_states,
        "features": chain.n_features,
        "start": "stationary distribution" if chain.start_is_stationary else start_key,
        "episode_length": episode_length,
        "model": model,
        "reward_fit_residual": chain.reward_residual,
    }
    items = list(summary.items())
    for g in gammas:
        st = setups[g]
        sp = td_spectrum(st)
        if sp.min_real <= 0:
            import warnings

            warnings.warn(f"at gamma={g!r} A has an eigenvalue with real part {sp.min_real:.3g} "
                          "≤ 0: the mean of TD diverges at every learning rate",
                          NumericalWarning)
        row = {"gamma": g, "rank": int(st.A_r.shape[0]),
               "fixed_point_residual": st.fixed_point_residual,
               "a_min_real": sp.min_real, "a_max_real": sp.max_real,
               "slowest_timescale": sp.timescale, "lr_max_mean": sp.lr_max_mean,
               "initial_loss": st.initial_loss}
        gamma_rows.append(row)
        items += [(f"γ={g:g}: TD fixed-point residual", st.fixed_point_residual),
                  (f"γ={g:g}: Re eig(A) min … max", f"{sp.min_real:.4g} … {sp.max_real:.4g}"),
                  (f"γ={g:g}: slowest timescale 1/(η·min Re λ)",
                   ", ".join(f"η={lr:g}: {sp.timescale / lr:.4g} steps" for lr in lrs)),
                  (f"γ={g:g}: mean stable for η <", sp.lr_max_mean)]
    for row in plateau_rows:
        if row["plateau"] is not None:
            items.append((f"plateau γ={row['gamma']:g} η={row['lr']:g} B={row['batch']}",
                          row["plateau"]))
    summary["per_gamma"] = gamma_rows
    summary["plateaus"] = plateau_rows
    if empirical:
        loss = np.asarray(cols["loss"])
        emp = np.asarray(cols["loss_empirical"])
        sem = np.asarray(cols["loss_empirical_sem"])
        ok = np.isfinite(loss) & (emp > 0)
        if ok.any():
            summary["max_relative_deviation"] = float(np.max(np.abs(loss[ok] / emp[ok] - 1)))
            zok = ok & (sem > 0)
            if zok.any():
                summary["max_abs_z"] = float(np.max(np.abs(loss[zok] - emp[zok]) / sem[zok]))
        items += [(k, summary[k]) for k in ("max_relative_deviation", "max_abs_z") if k in summary]
    rep.summary("kerncurve td", items)

    if s.opts.get("plot"):
        _plot(s.opts["plot"], curves, rec)
    params = {"gamma": gammas, "lr": lrs, "batch": batches, "episode_length": episode_length,
              "steps": steps, "model": model, "reward_noise": reward_noise,
              "lr_decay": lr_decay, "empirical": empirical, "runs": runs, "seed": s.rng_seed}
    s.emit(table, command="td", params=params, summary=summary)


def _plot(path, curves, rec):
    lines, points = [], []
    for g, lr, b, curve, sim in curves:
        label = f"γ={g:g}, η={lr:g}, B={b}"
        n = curve.steps[1:]
        y = curve.loss[1:]
        ok = np.isfinite(y) & (y > 0)
        lines.append((f"theory {label}", n[ok], y[ok]))
        if sim is not None:
            keep = sim.steps > 0
            points.append((f"empirical {label}", sim.steps[keep], sim.mean[keep], sim.sem[keep]))
    plot_curves(path, lines=lines, points=points, xlabel="TD update n",
                ylabel="value error $L_n$", title="kerncurve td")
