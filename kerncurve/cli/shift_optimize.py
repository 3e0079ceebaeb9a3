"""`kerncurve shift-optimize`: the training measure that minimizes the predicted test error, or
the best and worst test measures for the /train measure."""

import click
import numpy as np

from ..api.shift_optimize import OBJECTIVES, shift_optimize
from .common import input_argument, parse_float_list, parse_p, run_session, shift_options


@click.command("shift-optimize", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--p", "p_spec", required=True, help="The sample size P (one value).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True, help="Absolute ridge λ ≥ 0.")
@click.option("--noise", "noise_spec", default="0", show_default=True, help="Label-noise variance σ² ≥ 0.")
@click.option("--objective", default="train-measure", show_default=True,
              help=f"{OBJECTIVES[0]} (minimize predicted test error over p), {OBJECTIVES[1]} or {OBJECTIVES[2]} "
                   "(minimize / maximize it over q).")
@click.option("--per-group", is_flag=True, help="One weight per group (/train/groups or /test/groups), uniform within.")
@click.option("--steps", type=click.IntRange(min=1), default=50, show_default=True,
              help="Optimizer iterations (train-measure).")
@click.option("--temperature", type=float, default=None,
              help="τ > 0: also the tilted test measure q ∝ q₀·exp(∓e/τ).")
@click.option("--kl-budget", type=float, default=None,
              help="ρ > 0: the tilted test measure with KL(q‖q₀) = ρ (τ found by a 1-D search).")
@click.option("--empirical", is_flag=True, help="Also measure the error of the reference and optimized measures.")
@click.option("--trials", type=click.IntRange(min=2), default=20, show_default=True,
              help="Random training sets for --empirical.")
@shift_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, objective, per_group, steps, temperature, kl_budget, empirical,
            trials, train_groups, test_groups, memory, features_key, gram_key, targets_key, inputs_key, kernel,
            bandwidth, degree, depth, **_):
    """Optimize a measure: the training measure over the /train points that minimizes the
    predicted test error (L-BFGS-B, analytic gradient by implicit differentiation of κ), or
    the test measure over the /test points that is best (beneficial-test) or worst
    (adversarial-test) for the /train measure: the vertex (a point, or a group with
    --per-group) and, with --temperature or --kl-budget, the tilt q ∝ q₀·exp(∓e/τ).

    Output: index, weight (or group, weight with --per-group; then also each group's
    predicted error, and measured with --empirical). train-measure starts from, and reports
    against, the uniform measure over the training support. --plot draws the optimized
    measure (and the predicted errors it weighs).
    """
    r = shift_optimize(input, p=parse_p(p_spec), ridge=parse_float_list(ridge_spec, "--ridge"),
                       noise=parse_float_list(noise_spec, "--noise"), objective=objective, per_group=per_group,
                       steps=steps, temperature=temperature, kl_budget=kl_budget, empirical=empirical, trials=trials,
                       seed=s.rng_seed, train_groups=train_groups, test_groups=test_groups, features_key=features_key,
                       gram_key=gram_key, targets_key=targets_key, inputs_key=inputs_key, kernel=kernel,
                       bandwidth=bandwidth, degree=degree, depth=depth, memory=memory, progress=s.reporter.progress)
    s.reporter.summary("kerncurve shift-optimize", list(r.summary.items()))
    if s.target("plot"):
        s.write_figure("--plot", _figure(r))
    s.emit(r)


def _figure(r):
    """The optimized measure against the reference, and (test objectives) the predicted errors."""
    from ..plots import figure

    data, summary = r.to_dict(), r.summary
    key = "group" if "group" in data else "index"
    x = data[key]
    test_side = "error" in data
    fig, ax = figure(figsize=(6, 4))
    d = r.shift_data
    ref = d.q if test_side else np.where(d.p > 0, 1.0 / max(int(np.sum(d.p > 0)), 1), 0.0)
    if key == "group":
        labels = d.groups_q if test_side else d.groups_p
        ref = np.array([ref[labels == g].sum() for g in x])
        width = 0.4
        ax.bar(x - width / 2, ref, width, label="reference measure", color="0.7")
        ax.bar(x + width / 2, data["weight"], width, label="optimized measure")
        ax.set_xticks(x)
    else:
        ax.plot(x, ref, ".", ms=3, color="0.6", label="reference measure")
        ax.plot(x, data["weight"], ".", ms=3, label="optimized measure")
    ax.set_xlabel(f"{'test' if test_side else 'training'} {key}")
    ax.set_ylabel("weight")
    if test_side:
        ax2 = ax.twinx()
        ax2.plot(x, data["error"], "k_" if key == "group" else "k,", ms=12, label="predicted error e")
        if "error_empirical" in data:
            ax2.plot(x, data["error_empirical"], "r_" if key == "group" else "r,", ms=12, label="measured error")
        ax2.set_ylabel("error at the point (group)")
        ax2.legend(fontsize=7, loc="upper right")
        title = f"{summary['objective']}: E_g {summary['eg_reference']:.4g} → {summary['eg_vertex']:.4g} (vertex)"
    else:
        title = f"train-measure: E_g {summary['eg_uniform']:.4g} → {summary['eg_optimized']:.4g}"
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"kerncurve shift-optimize, P = {summary['p']}\n{title}", fontsize=9)
    return fig
