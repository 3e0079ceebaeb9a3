"""`kerncurve predict`: the learning curve of kernel regression."""

import click
import numpy as np

from ..api.predict import predict
from ..api.spectrum import load_input
from .common import (
    input_argument,
    input_options,
    output_options,
    parse_float_list,
    parse_p,
    run_session,
    spectrum_options,
)
from .session import spectrum_kwargs

@click.command("predict", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
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
@input_options
@spectrum_options
@output_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, empirical, trials, bootstrap, band, modes_output, modes_top,
            **_):
    """Predicted test error of kernel ridge regression versus sample size P.

    eg is the expected test MSE against the clean target over the n samples (the population),
    summed over output channels; e_train is the training MSE on the noisy labels; residual
    is the relative residual of the κ equation (Σ_k L_k + λ/k' = P). With --empirical,
    eg_empirical is measured on the held-out points, and eg_heldout is the theory's
    prediction for exactly that (the summary's deviations compare those two).
    """
    p = parse_p(p_spec)
    ridges = parse_float_list(ridge_spec, "--ridge", keywords=("opt",))
    noises = parse_float_list(noise_spec, "--noise")
    with s.reporter.status("eigendecomposition"):
        problem, spec = load_input(input, samples=empirical or bootstrap is not None, **spectrum_kwargs(s))
    r = predict(spec, p=p, ridge=ridges, noise=noises, empirical=empirical, trials=trials, seed=s.rng_seed,
                bootstrap=bootstrap, band=band, progress=s.reporter.progress, _problem=problem)
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
