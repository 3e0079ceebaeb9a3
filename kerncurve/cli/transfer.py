"""`kerncurve transfer`: does the best learning rate carry over across width and depth?"""

import click
import numpy as np

from ..api.transfer import transfer
from .common import network_kwargs, network_options, output_options, parse_float_list, parse_int_list, run_session


@click.command("transfer", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="INPUT")
@network_options()
@click.option("--at", "at_spec", default=None, help="Report these steps (comma list, ≤ --steps)  [default: the last]")
@click.option("--tolerance", type=float, default=0.3, show_default=True,
              help="Spread of the optimal lr (decades) under which the verdict says it transfers.")
@click.option("--coords-output", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE.h5",
              help="Run the coordinate check (RMS of every layer and of its change over --coord-steps steps) and "
                   "the depth-diversity curve at every width and depth; write them there (HDF5).")
@click.option("--coords-plot", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
              help="Plot the coordinate check and the depth-diversity curve (.png, .svg or .pdf).")
@click.option("--coord-steps", type=int, default=3, show_default=True, help="Steps K of the coordinate check.")
@click.option("--coord-lr", "coord_lr_spec", default=None, metavar="LIST",
              help="η₀ of the coordinate check: one value, or one per --param  [default: each param's optimum at "
                   "the smallest width and depth]")
@output_options
@run_session
def command(s, input, at_spec, tolerance, coord_steps, coord_lr_spec, **opts):
    """Train residual networks over widths × depths × learning rates; find where the optimum sits.

    h¹ = W⁰x/√D, h^{ℓ+1} = h^ℓ + β₀L^-α W^ℓ φ(h^ℓ)/√N, f = w·φ(h^{L+1})/(γ₀N) (sp: standard
    1/√fan-in everywhere, one learning rate), trained on the MSE of INPUT's /inputs (n, D) and
    /targets (n,) or (n, c); the test set is /test/inputs + /test/targets or --test-frac.
    Rows: param, width, depth, lr, step, train/test loss (seed mean and SEM), diverged seeds.
    The summary gives each param's optimal lr per width × depth (parabola in log lr), its spread
    in decades, whether wider and deeper are better at the optimum, and the verdict. Needs
    pip install 'kerncurve[nn]'.
    """
    coords = s.target("coords_output") is not None or s.target("coords_plot") is not None
    coord_lr = None if coord_lr_spec is None else parse_float_list(coord_lr_spec, "--coord-lr", minimum=-np.inf)
    r = transfer(input, **network_kwargs(opts), at=None if at_spec is None else parse_int_list(at_spec, "--at",
                                                                                             minimum=0),
                 tolerance=tolerance, coords=coords, coord_steps=coord_steps, coord_lr=coord_lr,
                 progress=s.reporter.progress)
    s.reporter.summary("kerncurve transfer", _items(r))
    if s.target("coords_output"):
        from ..api.transfer import DIVERSITY_LAM
        from ..io.transfer import write_coords

        write_coords(s.target("coords_output"), r.coords, r.coord_lrs, source=r.summary["input"], lam=DIVERSITY_LAM)
    if s.target("plot"):
        s.write_figure("--plot", _loss_figure(r))
    if s.target("coords_plot"):
        s.write_figure("--coords-plot", _coords_figure(r))
    s.emit(r)


def _items(r):
    """The human summary: the data, then per param the optimum's range and spread, then the verdict."""
    sm = r.summary
    items = [("input", sm["input"]), ("training / test samples", f"{sm['train_samples']} / {sm['test_samples']}"),
             ("test set", sm["test_set"]), ("optimizer, steps, seeds", f"{sm['optimizer']}, {sm['steps']}, "
                                                                       f"{sm['seeds']}")]
    for p, opt in sm["optimal_lr"].items():
        vals = np.array(list(opt.values()))
        items += [(f"{p}: optimal lr", f"{vals.min():.4g} … {vals.max():.4g}"),
                  (f"{p}: spread all / widths / depths",
                   f"{sm['lr_spread_decades'][p]:.3f} / {sm['lr_spread_width_decades'][p]:.3f} / "
                   f"{sm['lr_spread_depth_decades'][p]:.3f} decades"),
                  (f"{p}: wider / deeper better", f"{sm['wider_better'][p]}, {sm['deeper_better'][p]}"),
                  (f"{p}: diverged runs", sm["diverged"][p])]
        if "coord_delta_ratio" in sm:
            slope = sm["coord_width_slope"][p]
            items.append((f"{p}: coordinates at lr {sm['coord_lr'][p]:.4g}",
                          f"last-layer ΔRMS max/min {sm['coord_delta_ratio'][p]:.3g}, width slope "
                          + ("n/a" if slope is None else f"{slope:.3g}")))
    items.append(("verdict", sm["verdict"]))
    return items


def _styles(n):
    return ["-", "--", ":", "-."][:n] if n <= 4 else ["-"] * n


def _loss_figure(r):
    """Loss at the last step against η₀: one panel per param, colour by depth, line style by width."""
    from ..plots import figure

    fig, axes = figure(1, len(r.grid.params), figsize=(4.2 * len(r.grid.params), 3.6), squeeze=False, sharey=True)
    import matplotlib
    from matplotlib.lines import Line2D

    g = r.grid
    cmap = matplotlib.colormaps["viridis"]
    styles = _styles(len(g.widths))
    for k, p in enumerate(g.params):
        ax = axes[0, k]
        for j, d in enumerate(g.depths):
            colour = cmap(j / max(len(g.depths) - 1, 1))
            for i, n in enumerate(g.widths):
                loss = g.train_loss[k, i, j, :, -1]
                ok = np.isfinite(loss)
                ax.plot(g.lr[k][ok], loss[ok], styles[i], color=colour, lw=1.2,
                        label=f"L={d}" if i == 0 else None)
                ax.axvline(r.optimal[k, i, j], color=colour, ls=styles[i], lw=0.5, alpha=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("base learning rate η₀")
        ax.set_title(f"{p} (spread {r.summary['lr_spread_decades'][p]:.2f} decades)")
    axes[0, 0].set_ylabel(f"train loss at step {int(g.at[-1])}")
    handles = [Line2D([], [], color="k", ls=st, label=f"N={n}") for n, st in zip(g.widths, styles)]
    axes[0, 0].legend(fontsize=7, loc="best")
    axes[0, -1].legend(handles=handles, fontsize=7, loc="best")
    return fig


def _coords_figure(r):
    """Top: the last layer's ΔRMS after K steps against width, a line per depth. Bottom: d(ε)."""
    from ..plots import figure

    params = list(r.coords)
    fig, axes = figure(2, len(params), figsize=(4.2 * len(params), 6.6), squeeze=False)
    import matplotlib
    import matplotlib.ticker

    cmap = matplotlib.colormaps["viridis"]
    for k, p in enumerate(params):
        cc = r.coords[p]
        last = cc.last_layer("delta")
        for j, d in enumerate(cc.depths):
            colour = cmap(j / max(len(cc.depths) - 1, 1))
            axes[0, k].plot(cc.widths, last[:, j], "o-", color=colour, label=f"L={d}")
            div = cc.diversity[-1, j, 1]
            ok = div > 0  # ε below one block of a shallow network: no step yet
            axes[1, k].plot(cc.eps[ok], div[ok], "o-", color=colour, label=f"L={d}")
        axes[0, k].set(xscale="log", yscale="log", xlabel="width N", title=f"{p} (η₀ = {r.coord_lrs[p]:.3g})")
        axes[1, k].set(xscale="log", yscale="log", xlabel="depth fraction ε",
                       title=f"depth diversity at N = {cc.widths[-1]}")
    for ax in axes.ravel():  # x: a few decades, minor labels would collide; y keeps them (ranges within a decade)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[0, 0].set_ylabel(f"last layer: RMS of Δh after {r.coords[params[0]].steps} steps")
    axes[1, 0].set_ylabel("d(ε) = ‖h(λ+ε) − h(λ)‖/√N")
    axes[0, 0].legend(fontsize=7)
    return fig
