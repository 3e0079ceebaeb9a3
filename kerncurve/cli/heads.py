"""`kerncurve heads`: infinite head dimension vs infinitely many heads in multi-head attention."""

import click
import numpy as np

from ..api.heads import heads
from ..errors import InputError
from .common import network_kwargs, network_options, output_options, parse_float_list, parse_int_list, run_session


@click.command("heads", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="[INPUT]", required=False)
@click.option("--heads", "heads_spec", default=None, metavar="LIST",
              help="Head counts H, comma list  [default: 2,8; --toy: 6 gates]")
@click.option("--head-dim", "head_dim_spec", default=None, metavar="LIST",
              help="Key/query dimension per head N, comma list (model width NH)  [default: 4,16; --toy: 256,1024,4096]")
@click.option("--attn-exp", "attn_exp_spec", default=None, metavar="LIST",
              help="α_A of the logits q·k/N^α_A in [0.5, 1]: 1 μP-style, 0.5 standard  [default: 1,0.5; --toy: 1]")
@network_options("depth", depth=(1,))
@click.option("--depth-exp", "depth_exp_spec", default="1", show_default=True, metavar="LIST",
              help="α_L of the residual branches β₀(L/L₀)^-α_L in [0.5, 1], comma list.")
@click.option("--base-depth", type=float, default=1.0, show_default=True, help="L₀, the depth where the branch is β₀.")
@click.option("--lr", "lr_spec", default=None, metavar="LR",
              help="Base learning rate η₀ (one value)  [default: sgd 1, adam 0.01; --toy 0.002]")
@click.option("--steps", type=int, default=None, help="Training steps  [default: 100; --toy: 1000]")
@click.option("--gamma0", type=float, default=None, help="Richness γ₀ (output divided by γ₀)  [default: 1; --toy: 2.5]")
@click.option("--seeds", type=int, default=3, show_default=True,
              help="Initializations per model (every seed sees the same minibatches).")
@network_options("optimizer", "activation", "beta0", "batch", "memory", "inputs_key", "targets_key", "dtype",
                 activation="gelu")
@click.option("--at", "at_spec", default=None, metavar="LIST",
              help="Report these steps (comma list, ≤ --steps)  [default: 0 and 6 log-spaced steps]")
@click.option("--toy", is_flag=True,
              help="No INPUT: the gated-attention toy (XOR, P = 4) at each N beside its solved N → ∞ limit.")
@click.option("--toy-start", type=click.Choice(["warm", "cold"]), default="warm", show_default=True,
              help="Toy initialization: warm (each gate starts from its own O(1) attention) or cold (A = 0).")
@click.option("--attention-output", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE.h5",
              help="Write the attention matrices of every head on the probe sequences at initialization and at "
                   "the end (HDF5).")
@output_options
@run_session
def command(s, input, heads_spec, head_dim_spec, attn_exp_spec, depth_exp_spec, base_depth, lr_spec, steps, gamma0,
            seeds, at_spec, toy, toy_start, **opts):
    """Train multi-head attention models over heads × head dimension; how different are the heads?

    Pre-LayerNorm blocks (attention with logits q·k/N^α_A, then a 2-layer MLP) on INPUT's
    /inputs (n, S, D) sequences and /targets (n,) or (n, c), mean-pooled readout, the μP-style
    scalings of Bordelon, Chaudhry & Pehlevan (2024). Rows per model and step: the loss (seed
    mean, SEM), head_spread (variance across heads of the attention matrices) and
    kernel_spread (variance across seeds of the final-layer kernel, normalized). The summary
    fits head_spread ∝ N^-p, ∝ H^-q and kernel_spread ∝ H^-r per α_A. Needs
    pip install 'kerncurve[nn]'.
    """
    if toy and s.target("attention_output") is not None:
        raise InputError("--attention-output needs attention models; --toy trains gated toy networks, which have none")
    if input is None and not toy:
        raise InputError("INPUT is missing: give an HDF5 file with /inputs (n, S, D) and /targets, or use --toy")
    lists = lambda text, flag: None if text is None else parse_float_list(text, flag, minimum=-np.inf)
    r = heads(input, heads=lists(heads_spec, "--heads"), head_dim=lists(head_dim_spec, "--head-dim"),
              attn_exp=lists(attn_exp_spec, "--attn-exp"), depth_exp=lists(depth_exp_spec, "--depth-exp"),
              base_depth=base_depth, lr=lists(lr_spec, "--lr"), steps=steps, gamma0=gamma0, seeds=seeds,
              at=None if at_spec is None else parse_int_list(at_spec, "--at", minimum=0), toy=toy, toy_start=toy_start,
              progress=s.reporter.progress, **network_kwargs(opts))
    s.reporter.summary("kerncurve heads", _items(r.summary, toy))
    if s.target("attention_output"):
        from ..io.heads import write_attention
        from ..nn.heads import PROBE

        data = r.network_data
        write_attention(s.target("attention_output"), r.runs, data.x[:PROBE], source=r.summary["input"],
                        lr=r.params["lr"], steps=r.params["steps"])
    if s.target("plot"):
        s.write_figure("--plot", _toy_figure(r) if toy else _heads_figure(r))
    s.emit(r)


def _items(sm, toy):
    """The human summary: the setting, the exponents per α_A, the verdict lines."""
    if toy:
        items = [("toy", f"{sm['task']}, {sm['start']} start; lr {sm['lr']:g}, γ₀ {sm['gamma0']:g}, "
                         f"{sm['steps']} steps, {sm['seeds']} seeds")]
        for G, dev in sm["max_rel_deviation"].items():
            items.append((f"G={G}: max |ΔL|/L(0) by N", ", ".join(f"{n}: {v:.3g}" for n, v in dev.items())))
        return items + [("verdict", line) for line in sm["verdict"]]
    items = [("input", sm["input"]), ("sequences × length × token dim",
                                      f"{sm['train_samples']} × {sm['sequence_length']} × {sm['token_dim']}"),
             ("optimizer, lr, steps, seeds", f"{sm['optimizer']}, {sm['lr']:g}, {sm['steps']}, {sm['seeds']}"),
             ("diverged runs", sm["diverged"])]
    for key, label in (("head_spread_exponent_n", "head_spread ∝ N^-p"), ("head_spread_exponent_h", "head_spread ∝ H^-q"),
                       ("kernel_spread_exponent_h", "kernel_spread ∝ H^-r"),
                       ("kernel_spread_exponent_h_init", "kernel_spread ∝ H^-r at step 0"),
                       ("kernel_spread_exponent_n", "kernel_spread ∝ N^-s")):
        vals = [f"α_A={a}: " + ("n/a" if e is None else f"{e:.3g}" + ("" if sm[key + "_se"][a] is None
                                                                        else f" ± {sm[key + '_se'][a]:.2g}"))
                for a, e in sm.get(key, {}).items()]
        items.append((label, "; ".join(vals)))
    if len({m["depth"] for m in sm["models"]}) > 1:
        for m0 in sm["models"]:
            if m0["depth"] == min(m["depth"] for m in sm["models"]):
                same = [m for m in sm["models"] if all(m[k] == m0[k] for k in ("attn_exp", "depth_exp", "heads",
                                                                                  "head_dim"))]
                tag = f"α_A={m0['attn_exp']:g} α_L={m0['depth_exp']:g} H={m0['heads']} N={m0['head_dim']}"
                items += [(f"{tag}: final loss by L", ", ".join(f"{m['depth']}: {m['final_loss']:.4g}" for m in same)),
                          (f"{tag}: W_Q movement by L (block mean)",
                           ", ".join(f"{m['depth']}: {np.mean([b[0] for b in m['qk_movement']]):.3g}" for m in same))]
    return items + [("verdict", line) for line in sm["verdict"]]


def _last(r, key):
    """{model key: value at the last recorded step} from the table."""
    d = r.to_dict()
    last = d["step"] == d["step"].max()
    names = ("attn_exp", "depth_exp", "heads", "head_dim", "depth")
    return {tuple(d[c][i].item() for c in names): d[key][i] for i in np.flatnonzero(last)}


def _spread_panel(ax, values, size, label_of, title, xlabel):
    """One line per group of the other factors: value against the size factor (0..4 of the model key)."""
    groups = {}
    for k, v in values.items():
        groups.setdefault(tuple(x for i, x in enumerate(k) if i != size), []).append((k[size], v))
    ticks = sorted({k[size] for k in values})
    for g, pts in groups.items():
        pts = sorted(p for p in pts if np.isfinite(p[1]) and p[1] > 0)
        if len(pts) > 1:
            ax.plot(*zip(*pts), "o-", ms=3, label=label_of(g))
    ax.set(xscale="log", yscale="log", xlabel=xlabel)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)


def _maps_row(sub, runs, a, H, ends, shown):
    """The final attention of ``shown`` heads (seed 0, block 1, first probe sequence) at each N in ``ends``."""
    axes = sub.subplots(1, shown * len(ends), squeeze=False)[0]
    keys = {N: next(k for k in runs if k[0] == a and k[2] == H and k[3] == N) for N in ends}
    maps = {N: runs[k].attention_final[0, 0, 0] for N, k in keys.items()}
    top = max(float(m[:shown].max()) for m in maps.values())
    for j, N in enumerate(ends):
        for h in range(shown):
            ax = axes[j * shown + h]
            image = ax.imshow(maps[N][h], vmin=0.0, vmax=top, cmap="viridis")
            ax.set_title(f"N={N}, head {h + 1}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    sub.colorbar(image, ax=list(axes), shrink=0.8, label="A(s, s′)")
    k = keys[ends[0]]
    sub.suptitle(f"α_A = {a:g} (α_L = {k[1]:g}, L = {k[4]}, seed 1, block 1): final attention of {shown} of {H} heads "
                 "on the first probe sequence (rows: query position)", fontsize=9)


def _heads_figure(r):
    """Top: a few heads' final attention maps at the smallest and largest N, one row per α_A.
    Bottom: head_spread against N and H, kernel_spread against H, the loss curves."""
    from ..plots import figure

    runs = r.runs
    a_As = list(dict.fromkeys(k[0] for k in runs))
    Ns = sorted({k[3] for k in runs})
    H = max(k[2] for k in runs)
    shown = min(H, 4)
    ends = [Ns[0], Ns[-1]] if len(Ns) > 1 else [Ns[0]]
    hs, ks = _last(r, "head_spread"), _last(r, "kernel_spread")
    name = lambda fixed: lambda g: f"α_A={g[0]:g} α_L={g[1]:g} {fixed}={g[2]} L={g[3]}"
    Hs, Ls = {k[2] for k in runs}, {k[4] for k in runs}
    panels = [p for p, show in (
        (lambda ax: _spread_panel(ax, hs, 3, name("H"), "head_spread vs head dim", "N"), len(Ns) > 1),
        (lambda ax: _spread_panel(ax, hs, 2, name("N"), "head_spread vs heads", "H"), len(Hs) > 1),
        (lambda ax: _spread_panel(ax, ks, 2, name("N"), "kernel_spread vs heads", "H"), len(Hs) > 1),
        (lambda ax: _spread_panel(ax, ks, 3, name("H"), "kernel_spread vs head dim", "N"), len(Ns) > 1),
        (lambda ax: _movement_panel(ax, r), len(Ls) > 1),
        (lambda ax: _loss_panel(ax, r), True)) if show]
    width = max(2.0 * shown * len(ends) + 1.0, 2.9 * len(panels), 8.0)
    fig, ax0 = figure(1, 1, figsize=(width, 2.3 * len(a_As) + 3.4))
    ax0.remove()
    top, low = fig.subfigures(2, 1, height_ratios=[2.3 * len(a_As), 3.4])
    for sub, a in zip(np.atleast_1d(top.subfigures(len(a_As), 1)), a_As):
        _maps_row(sub, runs, a, H, ends, shown)
    for draw, ax in zip(panels, np.atleast_1d(low.subplots(1, len(panels)))):
        draw(ax)
    return fig


def _rows_of(d, key):
    return np.all([d[c] == v for c, v in zip(("attn_exp", "depth_exp", "heads", "head_dim", "depth"), key)], axis=0)


def _loss_panel(ax, r):
    d = r.to_dict()
    label = len(r.runs) <= 8
    for key in r.runs:
        ok = _rows_of(d, key) & np.isfinite(d["loss"]) & (d["step"] > 0)
        ax.plot(d["step"][ok], d["loss"][ok], "-", lw=1,
                label=f"α_A={key[0]:g} α_L={key[1]:g} H={key[2]} N={key[3]} L={key[4]}" if label else None)
    ax.set(xscale="log", yscale="log", xlabel="step")
    ax.set_title("training loss (seed mean)", fontsize=9)
    if label:
        ax.legend(fontsize=6)


def _movement_panel(ax, r):
    """‖ΔW_Q‖/‖W_Q(0)‖ per block against the block's depth fraction ℓ/L, a line per model."""
    for m in r.summary["models"]:
        move = np.array(m["qk_movement"])[:, 0]
        L = len(move)
        ax.plot((np.arange(L) + 1) / L, move, "o-", ms=3,
                label=f"α_L={m['depth_exp']:g} L={L}" + (f" H={m['heads']} N={m['head_dim']}" if len(r.runs) > 8 else ""))
    ax.set(yscale="log", xlabel="block ℓ/L")
    ax.set_title("W_Q movement ‖ΔW‖/‖W(0)‖", fontsize=9)
    ax.legend(fontsize=6)


def _toy_figure(r):
    """Left: the toy's loss at each N (seed mean) and its N → ∞ limit. Right: max |ΔL|/L(0) against N."""
    from ..plots import figure

    d = r.to_dict()
    fig, (left, right) = figure(1, 2, figsize=(9.0, 3.6))
    for G in dict.fromkeys(d["heads"].tolist()):
        for N in dict.fromkeys(d["head_dim"].tolist()):
            rows = (d["heads"] == G) & (d["head_dim"] == N) & (d["step"] > 0)
            left.plot(d["step"][rows], d["loss"][rows], "o-", ms=3, lw=1, label=f"G={G}, N={N}")
        rows = (d["heads"] == G) & (d["head_dim"] == d["head_dim"][0]) & (d["step"] > 0)
        left.plot(d["step"][rows], d["loss_dmft"][rows], "k--", lw=1.5, label=f"G={G}, N = ∞")
        dev = r.summary["max_rel_deviation"][str(G)]
        right.plot([int(n) for n in dev], list(dev.values()), "o-", label=f"G={G}")
    left.set(xscale="log", yscale="log", xlabel="step", ylabel="training loss", title="toy: networks vs N → ∞")
    right.set(xscale="log", yscale="log", xlabel="N", ylabel="max_t |L_N − L_∞| / L(0)", title="distance to the limit")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    return fig
