"""`kerncurve dynamics`: finite width, finite data and training time; compute frontier."""

import click
import numpy as np

from .._validation import MAX_POINTS
from ..api.dynamics import dynamics
from ..errors import InputError
from ..plots import plot_curves
from .common import (
    input_argument,
    input_options,
    output_options,
    parse_float_list,
    parse_p,
    parse_range,
    run_session,
    spectrum_options,
)

_INPUT_OPTIONS = ("features_key", "gram_key", "targets_key", "inputs_key", "kernel", "bandwidth", "degree", "depth",
                  "top_eigen", "memory", "engine", "scheduler", "scheduler_timeout")
_FRONTIER_LABELS = {"width_exponent": "fitted N* ∝ C^x", "time_exponent": "fitted t* ∝ C^x",
                    "loss_exponent": "fitted L* ∝ C^x", "predicted_width_exponent": "predicted N* exponent (b, a)",
                    "predicted_time_exponent": "predicted t* exponent",
                    "predicted_loss_exponent": "predicted L* exponent"}


def parse_spec(text, option, *, allow_inf=True):
    """Positive numbers: a comma list (``inf`` allowed) or ``START:STOP:NUM`` (NUM log-spaced, at most 10⁶)."""
    text = (text or "").strip()
    if ":" in text:
        start, stop, num = parse_range(text, option, "1:1e5:20")
        if not (np.isfinite(start) and np.isfinite(stop)) or start <= 0 or stop < start or num < 1:
            raise InputError(f"{option} {text!r}: need 0 < START ≤ STOP (finite) and NUM ≥ 1")
        if num > MAX_POINTS:
            raise InputError(f"{option} {text!r}: NUM = {num} is more than the {MAX_POINTS} values allowed; use a "
                             f"smaller NUM, e.g. {text.rsplit(':', 1)[0]}:100")
        return np.unique(np.geomspace(start, stop, num))
    return np.asarray(parse_float_list(text, option, minimum=0.0, strict=True, allow_inf=allow_inf), dtype=float)


@click.command("dynamics", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--width", "width_spec", default=None,
              help="Model sizes N: comma list (inf allowed) or START:STOP:NUM. With --compute: the range "
                   "searched  [default there: 1 to 100·M]")
@click.option("--p", "p_spec", default="inf", show_default=True,
              help="Training-set sizes P: comma list of integers (inf allowed) or START:STOP:NUM.")
@click.option("--time", "time_spec", default=None,
              help="Training times t (gradient-flow time, ≈ learning rate × steps): comma list (inf allowed) "
                   "or START:STOP:NUM (log-spaced). With --compute: the range searched  [default there: any]")
@click.option("--compute", "compute_spec", default=None,
              help="Compute budgets C = N·t: for each, the width and time minimizing the predicted loss.")
@click.option("--empirical", is_flag=True, help="Also run exact gradient flow of the random-feature model.")
@click.option("--draws", type=click.IntRange(min=2), default=40, show_default=True,
              help="Random draws of projection and data per (width, p) for --empirical.")
@input_options
@spectrum_options
@output_options
@run_session
def command(s, input, width_spec, p_spec, time_spec, compute_spec, empirical, draws, **_):
    """Test loss of a random-feature model of width N trained by gradient flow on P samples for time t.

    The model: teacher y = w*·ψ on the input's kernel eigenfeatures ψ (eigenvalues λ_k, target
    power λ_k w*_k² = v_k²), student (1/√N) w·Aψ with a Gaussian projection A, gradient flow
    on the mean squared error from w = 0. loss is the expected test MSE against the learnable
    target (summed over channels); inf marks the interpolation peak N = P at t = inf. With
    --compute, each row is the compute-optimal split of C = N·t.
    """
    p = parse_p(p_spec, "--p", allow_inf=True)
    compute = None if compute_spec is None else parse_spec(compute_spec, "--compute", allow_inf=False)
    widths = None if width_spec is None else parse_spec(width_spec, "--width")
    times = None if time_spec is None else parse_spec(time_spec, "--time")
    r = dynamics(input, width=widths, p=p, time=times, compute=compute, empirical=empirical, draws=draws,
                 seed=s.rng_seed, progress=s.reporter.progress, **{k: s.opts[k] for k in _INPUT_OPTIONS})
    if compute is None:
        s.reporter.summary("kerncurve dynamics", list(r.summary.items()))
        if s.target("plot"):
            _plot_grid(s.target("plot"), r.to_dict(), empirical)
    else:
        s.reporter.summary("kerncurve dynamics --compute",
                           [(_FRONTIER_LABELS.get(k, k), v) for k, v in r.summary.items()])
        if s.target("plot"):
            _plot_frontier(s.target("plot"), r.frontiers)
    s.emit(r)


def _plot_grid(path, data, empirical):
    lines, points = [], []
    keys = list(dict.fromkeys(zip(data["width"], data["p"])))
    for nw, pp in keys:
        sel = (data["width"] == nw) & (data["p"] == pp) & np.isfinite(data["time"])
        label = f"N={nw:g}, P={pp:g}"
        x, y = data["time"][sel], data["loss"][sel]
        ok = np.isfinite(y) & (y > 0)
        lines.append((f"theory {label}", x[ok], y[ok]))
        if empirical:
            points.append((f"empirical {label}", x, data["loss_empirical"][sel], data["loss_empirical_sem"][sel]))
    plot_curves(path, lines=lines, points=points, xlabel="training time t", ylabel="test loss",
                title="kerncurve dynamics")


def _plot_frontier(path, frontiers):
    lines = []
    for fr in frontiers:
        tag = "" if len(frontiers) == 1 else f", P={fr.p:g}"
        e = fr.fitted
        lines += [(f"N* (slope {e.width:.3f}){tag}", fr.compute, fr.width_opt),
                  (f"t* (slope {e.time:.3f}){tag}", fr.compute, fr.time_opt),
                  (f"L* (slope {e.loss:.3f}){tag}", fr.compute, fr.loss_opt)]
    plot_curves(path, lines=lines, xlabel="compute C = N·t", ylabel="optimal N, t and loss",
                title="kerncurve dynamics: compute-optimal frontier")
