"""`kerncurve predict`: the learning curve of kernel regression."""

import os

import click
import numpy as np

from ..api.predict import predict
from ..api.spectrum import load_input
from ..errors import InputError
from .common import (
    input_options,
    output_options,
    parse_float_list,
    parse_p,
    run_session,
    spectrum_options,
)
from .session import spectrum_kwargs

@click.command("predict", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str), metavar="INPUT...")
@click.option("--p", "p_spec", required=True, help="Sample sizes: 10,20,50 or START:STOP:NUM (log-spaced).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True,
              help="Absolute ridge(s) λ ≥ 0, comma list, or 'opt' (per P, the λ minimizing predicted error).")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0 (summed over channels), comma list.")
@click.option("--empirical", is_flag=True, help="Also run exact kernel ridge regression on the data.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random training sets per P for --empirical.")
@click.option("--bootstrap", type=click.IntRange(min=2), default=None, metavar="B",
              help="Error bars on the theory: resample the samples B times, recompute spectrum and curve; adds "
                   "eg_lo, eg_hi (the --band basic bootstrap interval) and eg_se.")
@click.option("--band", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True,
              help="Coverage of the --bootstrap interval.")
@click.option("--modes-output", type=click.Path(dir_okay=False), default=None,
              help="Write per-mode learnability and modal error (decomposition (a)) as CSV.")
@click.option("--modes-top", type=click.IntRange(min=1), default=None,
              help="Only the top K modes in --modes-output  [default: all]")
@click.option("--groups", "groups_spec", default=None, metavar="NAMES",
              help="Integer datasets labelling the samples' groups, comma list (trial,time: the files of "
                   "'kerncurve reservoir'); the summary counts them.")
@click.option("--heldout-by", default=None, metavar="NAME",
              help="With --empirical: also train on P samples of some groups and test on every sample of held-out "
                   "groups of NAME (e.g. trial), adding eg_empirical_groups, eg_empirical_groups_sem.")
@click.option("--heldout-fraction", type=float, default=0.25, show_default=True,
              help="Fraction of the --heldout-by groups held out per trial.")
@click.option("--sweep-attr", default="gain", show_default=True,
              help="With several inputs: the numeric root attribute giving each input's place in the sweep "
                   "(a trailing column, and the contour's axis in --plot).")
@input_options
@spectrum_options
@output_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, empirical, trials, bootstrap, band, modes_output, modes_top,
            groups_spec, heldout_by, heldout_fraction, sweep_attr, **_):
    """Predicted test error of kernel ridge regression versus sample size P.

    eg is the expected test MSE against the clean target over the n samples (the population),
    summed over output channels; e_train is the training MSE on the noisy labels; residual
    is the relative residual of the κ equation (Σ_k L_k + λ/k' = P). With --empirical,
    eg_empirical is measured on the held-out points, and eg_heldout is the theory's
    prediction for exactly that (the summary's deviations compare those two).

    Several INPUTs (or a quoted glob, 'codes_g*.h5') give one table with trailing columns
    input and --sweep-attr (gain), and the summary names the best input per P.
    """
    p = parse_p(p_spec)
    ridges = parse_float_list(ridge_spec, "--ridge", keywords=("opt",))
    noises = parse_float_list(noise_spec, "--noise")
    group_kw = dict(groups=groups_spec, heldout_by=heldout_by, heldout_fraction=heldout_fraction)
    inputs = expand_inputs(input, s)
    if len(inputs) > 1:
        if modes_output:
            raise InputError("--modes-output takes one INPUT (the per-mode table of one spectrum); give one file")
        r = predict(inputs, p=p, ridge=ridges, noise=noises, empirical=empirical, trials=trials, bootstrap=bootstrap,
                    band=band, sweep_attr=sweep_attr, **group_kw, **spectrum_kwargs(s))  # seed, progress among them
        s.reporter.summary("kerncurve predict", sweep_items(r))
        if s.target("plot"):
            plot_sweep(s.target("plot"), r)
        s.emit(r)
        return
    with s.reporter.status("eigendecomposition"):
        problem, spec = load_input(inputs[0], samples=empirical or bootstrap is not None, **spectrum_kwargs(s))
    r = predict(spec, p=p, ridge=ridges, noise=noises, empirical=empirical, trials=trials, seed=s.rng_seed,
                bootstrap=bootstrap, band=band, progress=s.reporter.progress, _problem=problem, **group_kw)
    s.reporter.summary("kerncurve predict", list(r.summary.items()))
    if s.target("modes_output"):
        unlearnable = spec.residual_power
        s.write_table("--modes-output", r.modes(modes_top),
                      comment=f"modal errors (decomposition by predictor mode); unlearnable bin v_perp^2 = "
                              f"{unlearnable!r}")
    if s.target("plot"):
        _plot(s.target("plot"), r.curve, r.to_dict() if empirical else None,
              r.to_dict() if bootstrap is not None else None)
    s.emit(r)


def _plot(path, curve, data, boot=None):
    from ..plots import plot_curves

    lines, points, bands = [], [], []
    keys = sorted({(r, z) for r, z in zip(curve.ridge.ravel(), curve.noise.ravel())})
    if len(keys) > 8:  # --ridge opt: one ridge per row; group by noise only
        keys = None
    groups = {}
    for i in range(curve.p.size):
        key = (curve.noise.ravel()[i],) if keys is None else (curve.ridge.ravel()[i], curve.noise.ravel()[i])
        groups.setdefault(key, []).append(i)
    for key, idx in groups.items():
        idx = np.array(idx)
        label = f"σ²={key[-1]:g}" + ("" if len(key) == 1 else f", λ={key[0]:g}")
        # with an experiment, draw the theory of exactly what it measures (held-out error)
        eg = data["eg_heldout"][idx] if data is not None else curve.eg.ravel()[idx]
        ok = np.isfinite(eg) & (eg > 0)
        kind = "theory (held-out)" if data is not None else "theory"
        lines.append((f"{kind} {label}", curve.p.ravel()[idx][ok], eg[ok]))
        if boot is not None:
            bands.append((f"bootstrap band {label}", curve.p.ravel()[idx], boot["eg_lo"][idx], boot["eg_hi"][idx]))
        if data is not None:
            points.append((f"empirical {label}", curve.p.ravel()[idx], data["eg_empirical"][idx],
                           data["eg_empirical_sem"][idx]))
    plot_curves(path, lines=lines, points=points, bands=bands, xlabel="P (training samples)",
                ylabel="test MSE $E_g$", title="kerncurve predict")


def expand_inputs(inputs, s):
    """INPUTs with quoted globs expanded (sorted); outputs checked again against the files found."""
    import glob

    from ..io.outputs import plan_outputs

    out, expanded = [], False
    for item in inputs:
        if not os.path.exists(item) and glob.has_magic(item):
            found = sorted(glob.glob(item))
            if not found:
                raise InputError(f"INPUT {item!r}: no file matches this pattern")
            out += found
            expanded = True
        else:
            out.append(item)
    if expanded:
        plan_outputs([(flag, t.path) for flag, t in s.targets.items()], [("INPUT", x) for x in out])
    return out


def sweep_items(r):
    """The human summary of a sweep: the figures, then the best input per curve point."""
    items = [(k, v) for k, v in r.summary.items() if k not in ("best", "per_input")]
    attr = r.summary.get("sweep")
    if attr:
        items.insert(2, (f"{attr} values", ", ".join(f"{v:g}" for v in sorted(r.sweep))))
    for i, sub in enumerate(r.summary["per_input"]):
        name = f"{attr} {r.sweep[i]:g}" if attr else r.inputs[i]
        items += [(f"{name}: {k.replace('_', ' ')}", sub[k]) for k in ("mean_relative_deviation",
                                                                        "mean_relative_deviation_groups") if k in sub]
    ridges = {b["ridge"] for b in r.summary["best"]}
    noises = {b["noise"] for b in r.summary["best"]}
    for b in r.summary["best"]:
        where = f"best at p={b['p']}" + (f", λ={b['ridge']:g}" if len(ridges) > 1 and r.params["ridge"] != ["opt"]
                                          else "") + (f", σ²={b['noise']:g}" if len(noises) > 1 else "")
        what = f"{attr} {b[attr]:g}" if attr else b["input"]
        items.append((where, f"{what} (eg {b['eg']:.4g})"))
    return items


def plot_sweep(path, r):
    """E_g over (P, sweep value) as a contour of log10 E_g, with the best value per P as a line."""
    from ..plots import figure, save_figure

    n_in = len(r.inputs)
    values = np.arange(n_in, dtype=float) if r.sweep is None else np.asarray(r.sweep, float)
    ylabel = r.summary.get("sweep") or "input #"
    per = len(r) // n_in
    p = r.p[:per]
    keys = list(zip(r.noise[:per], r.ridge[:per])) if r.params["ridge"] != ["opt"] else [(z, 0.0) for z in
                                                                                         r.noise[:per]]
    panels = list(dict.fromkeys(keys))[:6]
    order = np.argsort(values, kind="stable")
    eg = r.eg.reshape(n_in, per)[order]
    fig, axes = figure(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, key in zip(axes[0], panels):
        cols = [j for j in range(per) if keys[j] == key]
        pk, z = p[cols], eg[:, cols]
        label = f"σ²={key[0]:g}" + (f", λ={key[1]:g}" if r.params["ridge"] != ["opt"] else ", λ opt")
        with np.errstate(divide="ignore", invalid="ignore"):
            logz = np.log10(np.where(np.isfinite(z) & (z > 0), z, np.nan))
        best = values[order][np.argmin(np.where(np.isfinite(z), z, np.inf), axis=0)]
        if len(pk) >= 2 and n_in >= 2 and np.isfinite(logz).any():
            cs = ax.contourf(pk, values[order], logz, levels=20, cmap="viridis")
            fig.colorbar(cs, ax=ax, label="log$_{10}$ $E_g$")
            ax.plot(pk, best, "k-", lw=1.5, label=f"best {ylabel}")
            ax.legend(fontsize=7, loc="upper right")
        else:
            for i in range(n_in):
                ax.plot(pk, z[i], "o-", label=f"{ylabel} {values[order][i]:g}")
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("P (training samples)")
        ax.set_ylabel(ylabel if len(pk) >= 2 and n_in >= 2 else "test MSE $E_g$")
        ax.set_title(f"kerncurve predict: {label}", fontsize=9)
    save_figure(fig, path)
