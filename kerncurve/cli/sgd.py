"""`kerncurve sgd`: expected test loss of SGD on a linear readout of the features."""

import click
import numpy as np

from ..api.sgd import sgd
from ..plots import plot_curves
from .common import input_argument, input_options, output_options, parse_float_list, parse_int_list, run_session

_INPUT_OPTIONS = ("features_key", "gram_key", "targets_key", "inputs_key", "kernel", "bandwidth", "degree", "depth")


@click.command("sgd", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--lr", "lr_spec", default=None,
              help="Learning rate(s) η > 0, comma list, or 'opt' (per batch, the η minimizing the final loss).")
@click.option("--lr-frac", type=float, default=None,
              help="Learning rate as a fraction F ∈ (0, 1) of the stability edge η_c of the model  "
                   "[default: 0.5 when --lr is not given]")
@click.option("--batch", "batch_spec", default="1", show_default=True, help="Batch size(s) m ≥ 1, comma list.")
@click.option("--steps", type=int, default=1000, show_default=True, help="Number of SGD steps T.")
@click.option("--points", type=click.IntRange(min=1), default=30, show_default=True,
              help="Log-spaced output steps between 1 and T (step 0 is always included).")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0, comma list (one curve per value; with several, a trailing "
                   "noise column).")
@click.option("--model", type=click.Choice(["auto", "empirical", "exact", "gaussian"]), default="auto",
              show_default=True,
              help="empirical (= exact): recursion with the samples' fourth moments, O(n·M²) per step; "
                   "gaussian: O(M) mode recursion; auto: empirical when n·M² ≤ 2e8, else gaussian.")
@click.option("--compute", type=int, default=None,
              help="Fixed compute C (samples): each batch m runs C // m steps; the summary names the best m.")
@click.option("--train-size", type=int, default=None,
              help="Multi-pass SGD on a fixed random training set of P points (adds train_loss).")
@click.option("--empirical", is_flag=True, help="Also simulate SGD on the same samples (drawn with replacement).")
@click.option("--runs", type=click.IntRange(min=2), default=400, show_default=True,
              help="Independent SGD runs for --empirical.")
@input_options
@output_options
@run_session
def command(s, input, lr_spec, lr_frac, batch_spec, steps, points, noise_spec, model, compute, train_size,
            empirical, runs, **_):
    """Expected test loss of SGD (w₀ = 0) on a linear readout of the features, step by step.

    loss is the expected test MSE against the labels (noisy when --noise > 0) over the n samples:
    tr(Σ C_t) + ⟨y⊥²⟩ + σ²; it includes the unlearnable part of the target, reported in the summary.
    Online SGD draws a fresh batch from the n samples each step; with --train-size it cycles through a
    fixed set of P of them. Diverging losses print as inf.
    """
    batches = parse_int_list(batch_spec, "--batch", minimum=1)
    lrs = None if lr_spec is None else parse_float_list(lr_spec, "--lr", minimum=0.0, strict=True, keywords=("opt",))
    noises = parse_float_list(noise_spec, "--noise")
    kw = dict(lr=lrs, lr_frac=lr_frac, batch=batches, steps=steps, points=points, noise=noises, model=model,
              compute=compute, train_size=train_size, empirical=empirical, runs=runs, seed=s.rng_seed,
              progress=s.reporter.progress)
    r = sgd(input, **kw, **{k: s.opts[k] for k in _INPUT_OPTIONS})
    s.reporter.summary("kerncurve sgd", [(k, _show(v)) for k, v in r.summary.items()])
    if s.target("plot"):
        _plot(s.target("plot"), r.curves, r.to_dict(), empirical)
    s.emit(r, params={**r.params, "lr": lr_spec})


def _show(v):
    if isinstance(v, list):
        return ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
    return v


def _plot(path, curves, data, empirical):
    lines, points = [], []
    start = 0
    for c in curves:
        sl = slice(start, start + c.out_steps.size)
        start += c.out_steps.size
        x, loss = data["step"][sl], data["loss"][sl]
        ok = (x > 0) & np.isfinite(loss) & (loss > 0)
        label = f"m={c.batch}, η={c.lr:.3g}" + (f", σ²={c.noise:g}" if c.noise else "")
        lines.append((f"theory {label}", x[ok], loss[ok]))
        if empirical:
            points.append((f"simulated {label}", x[ok], data["loss_empirical"][sl][ok],
                           data["loss_empirical_sem"][sl][ok]))
    plot_curves(path, lines=lines, points=points, xlabel="step t", ylabel="test loss", title="kerncurve sgd")
