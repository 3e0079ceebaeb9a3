"""`kerncurve dynamics`: finite width, finite data and training time; compute frontier (THEORY §4)."""

import itertools

import click
import numpy as np

from ..errors import InputError
from ..plots import plot_curves
from ..table import Table
from ..simulate.dynamics import simulate_loss
from ..spectral import compute_spectrum, spectrum_summary
from ..theory import dynamics as theory
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

COLUMNS = ["width", "p", "time", "loss"]
EMPIRICAL = ["loss_empirical", "loss_empirical_sem"]
FRONTIER = ["compute", "width_opt", "time_opt", "loss_opt"]


def parse_spec(text, option, *, allow_inf=True):
    """Positive numbers: a comma list (``inf`` allowed) or ``START:STOP:NUM`` (NUM log-spaced)."""
    text = (text or "").strip()
    if ":" in text:
        start, stop, num = parse_range(text, option, "1:1e5:20")
        if not (np.isfinite(start) and np.isfinite(stop)) or start <= 0 or stop < start or num < 1:
            raise InputError(f"{option} {text!r}: need 0 < START ≤ STOP (finite) and NUM ≥ 1")
        return np.unique(np.geomspace(start, stop, num))
    vals = parse_float_list(text, option, minimum=0.0, strict=True, allow_inf=allow_inf)
    return np.asarray(vals, dtype=float)


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

    The model (THEORY §4): teacher y = w*·ψ on the input's kernel eigenfeatures ψ (eigenvalues
    λ_k, target power λ_k w*_k² = v_k²), student (1/√N) w·Aψ with a Gaussian projection A,
    gradient flow on the mean squared error from w = 0. loss is the expected test MSE
    against the learnable target (summed over channels); inf marks the interpolation peak
    N = P at t = inf. With --compute, each row is the compute-optimal split of C = N·t.
    """
    rep = s.reporter
    p = parse_p(p_spec, "--p", allow_inf=True).astype(float)
    if compute_spec is None:
        if width_spec is None or time_spec is None:
            raise InputError("dynamics needs --width and --time (or --compute C for the compute-optimal frontier)")
        widths = parse_spec(width_spec, "--width")
        times = parse_spec(time_spec, "--time")
    else:
        compute = parse_spec(compute_spec, "--compute", allow_inf=False)
        widths = parse_spec(width_spec, "--width") if width_spec is not None else None
        times = parse_spec(time_spec, "--time") if time_spec is not None else None
        if empirical:
            raise InputError("--empirical is not available with --compute; check a frontier point with "
                             "--width N --time T --empirical")
    if empirical and (np.any(np.isfinite(widths) & (widths != np.round(widths)))):
        raise InputError("--width: --empirical needs whole numbers of features (or inf)")

    problem = s.load_problem(input)
    with rep.status(f"eigendecomposition (n = {problem.n})"):
        spec = compute_spectrum(problem)
    if spec.rank == 0 or not np.any(spec.eigenvalues > 0):
        raise InputError(f"{input}: the spectrum has no positive eigenvalue, so no model can learn anything; "
                         "check the features/Gram (all zero?)")
    lam, v2 = spec.eigenvalues, spec.target_power
    dspec = theory.as_spectrum(lam, v2)
    if spec.residual_power > 1e-9 * max(spec.total_power, 1e-300):
        rep.warn(f"target power {spec.residual_power:.4g} lies outside the kernel's modes; the model's teacher "
                 "lives in the modes, so loss excludes it")
    if problem.has_samples and np.any(np.isfinite(p) & (p > 0.2 * problem.n)):
        rep.warn(f"P up to {p[np.isfinite(p)].max():g} exceeds 0.2 n = {0.2 * problem.n:g}: the spectrum of "
                 "n samples stands for the population only for P ≪ n (THEORY §0)")
    fit = spectrum_summary(spec)
    b, a = fit["eigenvalue_exponent_b"], fit["target_exponent_a"]
    summary = {"input": input, "source": problem.info.get("source", ""), "modes": spec.rank,
               "trace": float(lam.sum()), "target_power": float(v2.sum()),
               "unlearnable_power": spec.residual_power, "eigenvalue_exponent_b": b, "target_exponent_a": a}

    if compute_spec is not None:
        _frontier(s, input, dspec, compute, widths, times, p, summary, b, a)
        return

    grid = np.array(list(itertools.product(widths, p, times)), float)
    loss = theory.loss(dspec, None, grid[:, 0], grid[:, 1], grid[:, 2])
    data = {"width": grid[:, 0], "p": grid[:, 1], "time": grid[:, 2], "loss": loss}
    columns = list(COLUMNS)
    if np.any(np.isinf(loss)):
        rep.warn("loss is inf at N = P, t = inf (the interpolation peak); any finite time or N ≠ P stays finite")
    if empirical:
        mean = np.empty(loss.size)
        sem = np.empty(loss.size)
        pairs = list(itertools.product(widths, p))
        nt = times.size
        with rep.progress("gradient flow draws", len(pairs)) as advance:
            for i, (nw, pp) in enumerate(pairs):  # one simulation per (N, P); all times at once
                r = simulate_loss(lam, v2, nw, pp, times, draws=draws, seed=s.rng_seed)
                mean[i * nt:(i + 1) * nt], sem[i * nt:(i + 1) * nt] = r.mean, r.sem
                advance()
        data["loss_empirical"], data["loss_empirical_sem"] = mean, sem
        columns += EMPIRICAL
        ok = np.isfinite(loss) & (loss > 1e-12 * dspec.total_power) & np.isfinite(mean)
        if ok.any():
            dev = mean[ok] / loss[ok] - 1
            summary["max_relative_deviation"] = float(np.max(np.abs(dev)))
            summary["max_deviation_in_sem"] = float(np.max(np.abs(mean[ok] - loss[ok]) / np.maximum(sem[ok], 1e-300)))
    summary["points"] = int(loss.size)
    rep.summary("kerncurve dynamics", list(summary.items()))
    if s.opts.get("plot"):
        _plot_grid(s.opts["plot"], data, empirical)
    params = {"width": widths.tolist(), "p": p.tolist(), "time": times.tolist(), "empirical": empirical,
              "draws": draws, "seed": s.rng_seed, "kernel": s.opts.get("kernel")}
    s.emit(Table(columns, data), command="dynamics", params=params, summary=summary)


def _frontier(s, input, dspec, compute, widths, times, p, summary, b, a):
    wb = (1.0, np.inf) if widths is None else (float(widths.min()), float(widths.max()))
    tb = (0.0, np.inf) if times is None else (float(times.min()), float(times.max()))
    rows = {c: [] for c in FRONTIER + ["p"]}
    fitted = []
    with s.reporter.progress("compute-optimal split", p.size) as advance:
        for pp in p:
            fr = theory.compute_frontier(dspec, None, compute, p=pp, width_bounds=wb, time_bounds=tb)
            rows["compute"].append(fr.compute)
            rows["width_opt"].append(fr.width_opt)
            rows["time_opt"].append(fr.time_opt)
            rows["loss_opt"].append(fr.loss_opt)
            rows["p"].append(np.full(fr.compute.size, pp))
            fitted.append(fr)
            advance()
    data = {k: np.concatenate(v) for k, v in rows.items()}
    pred = theory.predicted_frontier_exponents(b, a) if np.isfinite(a) and np.isfinite(b) else None
    first = fitted[0].fitted
    summary.update({
        "width_exponent": first.width, "time_exponent": first.time, "loss_exponent": first.loss,
        "predicted_width_exponent": pred.width if pred else float("nan"),
        "predicted_time_exponent": pred.time if pred else float("nan"),
        "predicted_loss_exponent": pred.loss if pred else float("nan"),
        "p": float(p[0]),
    })
    if compute.size < 2:
        for key in ("width_exponent", "time_exponent", "loss_exponent"):
            summary[key] = float("nan")
    labels = {"width_exponent": "fitted N* ∝ C^x", "time_exponent": "fitted t* ∝ C^x",
              "loss_exponent": "fitted L* ∝ C^x", "predicted_width_exponent": "predicted N* exponent (b, a)",
              "predicted_time_exponent": "predicted t* exponent", "predicted_loss_exponent": "predicted L* exponent"}
    s.reporter.summary("kerncurve dynamics --compute", [(labels.get(k, k), v) for k, v in summary.items()])
    if s.opts.get("plot"):
        lines = []
        for fr in fitted:
            tag = "" if len(fitted) == 1 else f", P={fr.p:g}"
            e = fr.fitted
            lines += [(f"N* (slope {e.width:.3f}){tag}", fr.compute, fr.width_opt),
                      (f"t* (slope {e.time:.3f}){tag}", fr.compute, fr.time_opt),
                      (f"L* (slope {e.loss:.3f}){tag}", fr.compute, fr.loss_opt)]
        plot_curves(s.opts["plot"], lines=lines, xlabel="compute C = N·t", ylabel="optimal N, t and loss",
                    title="kerncurve dynamics: compute-optimal frontier")
    params = {"compute": compute.tolist(), "p": p.tolist(), "width_bounds": list(wb), "time_bounds": list(tb),
              "kernel": s.opts.get("kernel")}
    s.emit(Table(FRONTIER + ["p"], data), command="dynamics", params=params, summary=summary)


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
