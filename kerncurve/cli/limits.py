"""`kerncurve limits`: how fast finite networks approach the joint width-and-depth limit."""

import json

import click
import numpy as np

from ..api.limits import limits
from .common import (
    network_kwargs,
    network_options,
    output_options,
    parse_int_list,
    run_session,
)


@click.command("limits", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="INPUT")
@network_options("param", "alpha", "activation", "optimizer", "batch", "gamma0", "beta0", "steps", "seeds", "lr",
                 "width", "depth", "memory", "test_frac", "inputs_key", "targets_key", "dtype",
                 param="depth-mup", seeds=4, lr="1.0", width="32:512:5", depth="2:32:5")
@click.option("--at", "at_spec", default=None, help="Fit at these steps (comma list, 1 … --steps)  "
                                                    "[default: four steps up to --steps]")
@click.option("--observable", type=click.Choice(["loss", "kernel"]), default="loss", show_default=True,
              help="What is fitted: the training loss, or 'kernel': the distance of each network's last-layer "
                   "kernel to the largest network's (columns kernel_distance, kernel_distance_sem; full batch).")
@click.option("--control", type=click.Choice(["mlp"]), default=None,
              help="Also train the grid as plain μP MLPs (no residual branches) and fit it: the negative control.")
@click.option("--theory", is_flag=True,
              help="Linear networks: overlay the exact N = ∞ curve at each depth and its L → ∞ limit (residual DMFT).")
@click.option("--fit-output", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE.json",
              help="Write every step's fits (coefficients, SEs, χ²/dof, limits both ways and along N = L, 4L, 16L "
                   "with 95 % intervals) as JSON.")
@output_options
@run_session
def command(s, input, at_spec, observable, control, theory, **opts):
    """Train one parameterization over widths × depths; fit O = O∞ + a/N + b/L + c/(NL) (+ d·L/N).

    The seed-mean training loss at each reported step is fitted by weighted least squares
    (weights from the seed SEMs); the summary gives O∞ with its 95 % interval, free power-law
    exponents in N and L, the coupling term's z, the worst χ²/dof, the limits taken both ways
    and along diagonals, and the verdict: do the limits N → ∞ and L → ∞ commute. Rows: param,
    width, depth, step, loss, loss_sem (+ loss_theory). Needs pip install 'kerncurve[nn]'.
    """
    at = None if at_spec is None else parse_int_list(at_spec, "--at", minimum=1)
    r = limits(input, **network_kwargs(opts), at=at, observable=observable, control=control, theory=theory,
               progress=s.reporter.progress)
    s.reporter.summary("kerncurve limits", _items(r.summary))
    if s.target("fit_output"):
        s.write_bytes("--fit-output", (json.dumps({"format": "kerncurve-limits-fit", "format-version": 1,
                                                   "fits": r.fits}, indent=1) + "\n").encode("utf-8"))
    if s.target("plot"):
        s.write_figure("--plot", _figure(r))
    s.emit(r)


def _items(sm):
    ci = sm["o_inf_ci"]
    items = [("input", sm["input"]), ("param, lr, steps, seeds", f"{sm['param']}, {sm['lr']:g}, {sm['steps']}, "
                                                                f"{sm['seeds']}"), ("observable", sm["observable"]),
             ("O∞ (last step, 95 %)", f"{sm['o_inf']:.5g} [{ci[0]:.5g}, {ci[1]:.5g}]"),
             ("N → ∞ then L → ∞", _iv(sm["width_then_depth"])), ("L → ∞ then N → ∞", _iv(sm["depth_then_width"]))]
    items += [(f"diagonal {k}", _iv(v)) for k, v in sm["diagonals"].items()]
    items += [("exponents in N, L (free fit)", f"{sm['exponent_width']:.2f}, {sm['exponent_depth']:.2f}"),
              ("coupling d/SE (last step)", f"{sm['coupling_z']:.2f}"), ("worst χ²/dof", f"{sm['chi2_dof']:.2f}"),
              ("largest network", f"N={sm['largest_network']['width']} L={sm['largest_network']['depth']}: "
                                  f"{sm['largest_network']['loss']:.5g}")]
    if "control" in sm:
        c = sm["control"]
        items += [("control mlp: O∞", f"{c['o_inf']:.5g} [{c['o_inf_ci'][0]:.5g}, {c['o_inf_ci'][1]:.5g}]"),
                  ("control mlp: coupling d/SE, χ²/dof", f"{c['coupling_z']:.2f}, {c['chi2_dof']:.2f}"),
                  ("control mlp: limits commute", str(c["limits_commute"]))]
    if "theory_o_inf" in sm:
        items.append(("theory O∞ (DMFT, L → ∞)", f"{sm['theory_o_inf']:.5g} ± {sm['theory_o_inf_error']:.2g}"
                                                 f" (agrees: {sm['theory_agrees']})"))
        items.append(("theory agrees at step", ", ".join(f"{b['step']}: {'yes' if b['agrees'] else 'no'}"
                                                         for b in sm["theory_by_step"])))
    items.append(("verdict", sm["verdict"]))
    return items


def _iv(v):
    return f"{v['value']:.5g} [{v['ci'][0]:.5g}, {v['ci'][1]:.5g}]"


def _figure(r):
    """Left: O against 1/N, a line per depth; right: O against 1/L, a line per width; the fitted
    additive surface dashed (theory dotted with --theory); the main param at the last step."""
    import matplotlib

    from ..plots import figure

    g = r.grid
    fit = r.fits[g.params[0]][-1]["additive"]["coef"]
    W, L = np.array(g.widths, float), np.array(g.depths, float)
    loss = g.train_loss[0, :, :, 0, -1]
    sem = g.train_loss_sem[0, :, :, 0, -1]
    ylabel = f"training loss at step {int(g.at[-1])}"
    if r.summary["observable"] == "kernel":
        shape = (len(g.params), len(g.widths), len(g.depths), len(g.at))
        loss = r.kernel_distance.reshape(shape)[0, :, :, -1]
        sem = r.kernel_distance_sem.reshape(shape)[0, :, :, -1]
        ylabel = f"kernel distance at step {int(g.at[-1])}"
    surf = lambda n, d: fit[0] + fit[1] / n + fit[2] / d + fit[3] / (n * d)
    fig, axes = figure(1, 2, figsize=(9.0, 3.8), squeeze=False)
    cmap = matplotlib.colormaps["viridis"]
    nn = np.linspace(0, 1 / W.min(), 50)[1:]
    ll = np.linspace(0, 1 / L.min(), 50)[1:]
    for j, d in enumerate(L):
        c = cmap(j / max(len(L) - 1, 1))
        axes[0, 0].errorbar(1 / W, loss[:, j], sem[:, j], fmt="o", color=c, ms=4, label=f"L={int(d)}")
        axes[0, 0].plot(nn, surf(1 / nn, d), "--", color=c, lw=1)
        if r.theory_curves is not None:
            axes[0, 0].plot(0, r.theory_curves[j, -1], "*", color=c, ms=9)
    for i, n in enumerate(W):
        c = cmap(i / max(len(W) - 1, 1))
        axes[0, 1].errorbar(1 / L, loss[i], sem[i], fmt="o", color=c, ms=4, label=f"N={int(n)}")
        axes[0, 1].plot(ll, surf(n, 1 / ll), "--", color=c, lw=1)
    if r.theory_curves is not None:
        axes[0, 1].plot(1 / L, r.theory_curves[:, -1], "k:", lw=1.5, label="N = ∞ (DMFT)")
        axes[0, 1].plot(0, r.summary["theory_o_inf"], "k*", ms=10)
    for ax, lab in zip(axes[0], ("1/N", "1/L")):
        ax.axhspan(*r.summary["o_inf_ci"], color="0.85", zorder=0)
        ax.set(xlabel=lab, ylabel=ylabel)
        ax.legend(fontsize=7)
    axes[0, 0].set_title(f"{g.params[0]}: O∞ = {r.summary['o_inf']:.4g} (band: 95 %)")
    axes[0, 1].set_title(r.summary["verdict"].split(" (")[0])
    return fig
