"""`kerncurve align`: kernels that move (docs/align.md).

Two modes:

* ``align INPUT --depth L --init SIGMA``: silent alignment of a deep linear network on
  ``/inputs`` (or ``/features``) and scalar ``/targets``: predicted final kernel M_∞, β_∞,
  time scales, the silence diagnostic cos(ĉ, β̂_∞), and the predicted loss, top-eigenvector
  overlap and anisotropy over time; ``--empirical`` trains width-N networks alongside.
* ``align INPUT --toy variant1|variant2 --lam LAMBDA``: the exactly solvable NTK-alignment
  toy model on a Gram (``/gram``, or built from ``/inputs`` with ``--kernel``) and
  ``/targets``: loss, static-kernel loss, alignment and centered alignment over time.
"""

import click
import numpy as np

from .._validation import MAX_POINTS
from ..api.align import (
    CAVEAT,
    LINEAR_COLUMNS,
    LINEAR_EMPIRICAL,
    MAX_TOY_SAMPLES,
    TOY_CHECK,
    TOY_COLUMNS,
    align,
)
from ..errors import InputError
from ..io.alignment import KERNEL_FORMAT, KERNEL_FORMAT_VERSION, write_align_kernels
from ..kernels import KERNELS
from ..plots import figure
from .common import (
    input_argument,
    output_options,
    parse_float_list,
    parse_range,
    run_session,
)

__all__ = ["command", "parse_times", "LINEAR_COLUMNS", "LINEAR_EMPIRICAL", "TOY_COLUMNS", "TOY_CHECK", "CAVEAT",
           "KERNEL_FORMAT", "KERNEL_FORMAT_VERSION", "MAX_TOY_SAMPLES"]

_LABELS = {
    "beta_norm": "|β_∞|", "silence": "silence cos(ĉ, β̂_∞)", "anisotropy_inf": "anisotropy of M_∞",
    "t1": "t₁ (alignment, whitened formula)", "t2": "t₂ (loss drop, whitened formula)",
    "kernel_distance_final": "‖M_T − M_∞‖/‖M_∞‖ (simulated)",
    "top_overlap_at_10pct_loss_drop": "top-eigenvector overlap when loss fell 10 % (simulated)",
}


def parse_times(text, option="--time"):
    """A comma list of times ≥ 0, or ``START:STOP:NUM`` (NUM evenly spaced, inclusive)."""
    text = (text or "").strip()
    if not text:
        raise InputError(f"{option} is empty; give a comma list like 0,1,5 or a range START:STOP:NUM")
    if ":" in text:
        start, stop, num = parse_range(text, option, "0:20:101")
        if not (np.isfinite(start) and np.isfinite(stop)) or start < 0 or stop <= start or num < 2:
            raise InputError(f"{option} {text!r}: need 0 ≤ START < STOP (finite, STOP > 0) and NUM ≥ 2")
        if num > MAX_POINTS:
            raise InputError(f"{option} {text!r}: NUM = {num} is more than the {MAX_POINTS} time points allowed; use "
                             f"a smaller NUM, e.g. {text.rsplit(':', 1)[0]}:101")
        return np.linspace(start, stop, num)
    t = np.array(sorted(set(parse_float_list(text, option, minimum=0.0))))
    if t[-1] <= 0:
        raise InputError(f"{option}: the times must include one > 0")
    return t


@click.command("align", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--depth", type=int, default=None,
              help="Deep linear mode: number of weight layers L ≥ 1 (required). Toy mode with "
                   "--kernel relu-nngp/relu-ntk: hidden layers of the kernel  [default: 1]")
@click.option("--init", "sigma", type=float, default=None,
              help="Deep linear mode: init scale σ > 0 (every weight i.i.d. N(0, σ²)).")
@click.option("--width", type=int, default=200, show_default=True,
              help="Hidden width N of the deep linear network (theory's s₀ and --empirical).")
@click.option("--toy", type=click.Choice(["variant1", "variant2"]), default=None,
              help="Toy-model mode: variant1 (dK/dt = λΔΔᵀ) or variant2 (dK/dt = λ(ΔΔᵀK + KΔΔᵀ)).")
@click.option("--lam", type=float, default=None, help="Toy mode: kernel speed λ ≥ 0 (required).")
@click.option("--time", "time_spec", default=None,
              help="Output times: 0,1,5 or START:STOP:NUM (evenly spaced)  "
                   "[default: 0 to a few relaxation times, 101 points]")
@click.option("--kernel-output", type=click.Path(dir_okay=False), default=None,
              help="Write the predicted kernels (final and at each time) to FILE.h5.")
@click.option("--empirical", is_flag=True,
              help="Deep linear: also train networks (gradient flow, DOP853). Toy: also "
                   "integrate the ODEs (column loss_ode).")
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Networks (seeds) for --empirical.")
@click.option("--subsample", type=click.IntRange(min=1), default=None,
              help="Use this many samples drawn at random (--seed)  [default: all]")
@click.option("--features-key", default="/features", show_default=True,
              help="Features (n, d): deep linear inputs when --inputs-key is absent; linear Gram.")
@click.option("--gram-key", default="/gram", show_default=True, help="Dataset of the Gram matrix (n, n).")
@click.option("--targets-key", default="/targets", show_default=True, help="Dataset of targets.")
@click.option("--inputs-key", default="/inputs", show_default=True, help="Dataset of raw inputs (n, d_in).")
@click.option("--kernel", default=None, help=f"Toy mode: build the Gram from raw inputs: {', '.join(KERNELS)}.")
@click.option("--bandwidth", type=float, default=None,
              help="rbf/laplace bandwidth h  [default: median pairwise distance]")
@click.option("--degree", type=int, default=2, show_default=True, help="poly kernel degree.")
@click.option("--memory", default=None, metavar="SIZE",
              help="Memory budget (512M, 2G…) for the arrays held whole (inputs, the Gram, kernels over time, "
                   "trained networks), checked before they are allocated  [default: 80% of physical memory]")
@output_options
@run_session
def command(s, input, depth, sigma, width, toy, lam, time_spec, kernel_output, empirical, runs, subsample,
            features_key, gram_key, targets_key, inputs_key, kernel, bandwidth, degree, memory, **_):
    """Kernels that move: deep-linear silent alignment, or the NTK-alignment toy model.

    Deep linear (--depth L --init σ): f(x) = β·x trained by gradient flow on
    (1/2P)|Xβ − y|² from small init. Predicted final kernel M_∞ = |β_∞|^{2(L−1)/L}(I +
    (L−1)β̂β̂ᵀ); the table's time course is the balanced end-to-end flow started after the
    early alignment (loss, |cos| of the kernel's top eigenvector with β̂_∞, λ₁/λ₂).

    Toy (--toy variant1|variant2 --lam λ): dΔ/dt = −KΔ with a kernel that grows along the
    residual; closed-form solutions; loss = ½|Δ|², loss_static with K frozen at K₀.
    """
    times = None if time_spec is None else parse_times(time_spec)
    r = align(input, depth=depth, init=sigma, width=width, toy=toy, lam=lam, time=times, empirical=empirical,
              runs=runs, subsample=subsample, features_key=features_key, gram_key=gram_key, targets_key=targets_key,
              inputs_key=inputs_key, kernel=kernel, bandwidth=bandwidth, degree=degree, memory=memory,
              seed=s.rng_seed, kernels=s.target("kernel_output") is not None, progress=s.reporter.progress,
              _max_samples=MAX_TOY_SAMPLES)
    if toy is None:
        s.reporter.summary("kerncurve align (deep linear)", [(_LABELS.get(k, k), v) for k, v in r.summary.items()])
    else:
        s.reporter.summary(f"kerncurve align (toy model, {toy})", list(r.summary.items()))
    if r.kernel_file is not None:
        write_align_kernels(s.target("kernel_output"), *r.kernel_file)
    if s.target("plot"):
        s.write_figure("--plot", _figure(r, toy))
    s.emit(r)


def _figure(r, toy):
    """Two panels sharing the time axis: losses (log scale) above, alignment measures below."""
    t = r.time
    if toy is None:
        depth, emp = r.info.depth, r.runs
        top = [("loss (theory)", r.loss, "-")] + ([("loss (networks)", r.loss_empirical, "o")] if emp else [])
        bottom = [("top overlap (theory)", r.top_overlap, "-"), ("anisotropy/L (theory)", r.anisotropy / depth, "--")]
        if emp:
            bottom += [("top overlap (networks)", r.top_overlap_empirical, "o"),
                       ("anisotropy/L (networks)", r.anisotropy_empirical / depth, "s")]
        title = f"deep linear L={depth}, σ={r.params['init']:g}, N={r.params['width']}"
    else:
        top = [("loss (toy model)", r.loss, "-"), ("loss (static kernel)", r.loss_static, "--")]
        bottom = [("alignment", r.alignment, "-"), ("centered alignment", r.centered_alignment, "--")]
        title = f"NTK-alignment toy model ({toy}, λ={r.params['lam']:g})"
    fig, (ax1, ax2) = figure(2, 1, sharex=True, figsize=(5.5, 5.5))
    for ax, series in ((ax1, top), (ax2, bottom)):
        for label, y, style in series:
            ok = np.isfinite(y) & ((y > 0) if ax is ax1 else True)
            ax.plot(t[ok], y[ok], style, ms=3, label=label, fillstyle="none")
        ax.legend(fontsize=7)
    ax1.set_yscale("log")
    ax1.set_ylabel("loss")
    ax2.set_ylabel("alignment")
    ax2.set_xlabel("time t")
    ax1.set_title(title)
    return fig
