"""`kerncurve td`: learning curves of TD(0) value estimation on a Markov chain."""

import click
import numpy as np

from ..api.td import td
from .common import output_options, parse_float_list, parse_int_list, run_session


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
    r = td(input, gamma=parse_float_list(gamma_spec, "--gamma", minimum=-np.inf),
           lr=parse_float_list(lr_spec, "--lr", minimum=-np.inf),
           batch=parse_float_list(batch_spec, "--batch", minimum=-np.inf),
           at=None if at is None else parse_int_list(at, "--at", minimum=0),
           episode_length=episode_length, steps=steps, points=points, model=model, reward_noise=reward_noise,
           lr_decay=lr_decay, empirical=empirical, runs=runs, seed=s.rng_seed, transitions_key=transitions_key,
           features_key=features_key, rewards_key=rewards_key, start_key=start_key,
           progress=s.reporter.progress)
    s.reporter.summary("kerncurve td", _items(r.summary, r.params["lr"]))
    if s.target("plot"):
        _plot(s.target("plot"), r.curves)
    s.emit(r)


_DEVIATIONS = ("max_relative_deviation", "max_abs_z")


def _items(summary, lrs):
    """The human summary: the figures, then per discount and per plateau, then the deviations."""
    items = [(k, v) for k, v in summary.items() if k not in ("per_gamma", "plateaus") + _DEVIATIONS]
    for row in summary["per_gamma"]:
        g = row["gamma"]
        items += [(f"γ={g:g}: TD fixed-point residual", row["fixed_point_residual"]),
                  (f"γ={g:g}: Re eig(A) min … max", f"{row['a_min_real']:.4g} … {row['a_max_real']:.4g}"),
                  (f"γ={g:g}: slowest timescale 1/(η·min Re λ)",
                   ", ".join(f"η={lr:g}: {row['slowest_timescale'] / lr:.4g} steps" for lr in lrs)),
                  (f"γ={g:g}: mean stable for η <", row["lr_max_mean"])]
    for row in summary["plateaus"]:
        if row["plateau"] is not None:
            items.append((f"plateau γ={row['gamma']:g} η={row['lr']:g} B={row['batch']}", row["plateau"]))
    return items + [(k, summary[k]) for k in _DEVIATIONS if k in summary]


def _plot(path, curves):
    from ..plots import plot_curves

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
