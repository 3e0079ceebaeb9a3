"""`kerncurve shift`: the learning curve of kernel ridge regression under distribution shift.

INPUT holds two groups, ``/train`` (the pool the training points are drawn from) and
``/test`` (the points the error is measured on); the schema is in docs/shift.md and
`kerncurve.io.shift`. The ``--*-key`` options name the dataset *inside* each group.
"""

import click
import numpy as np

from ..api.shift import shift
from .common import input_argument, parse_float_list, parse_p, run_session, shift_options


@click.command("shift", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--p", "p_spec", required=True, help="Sample sizes: 10,20,50 or START:STOP:NUM (log-spaced).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True, help="Absolute ridge(s) λ ≥ 0, comma list.")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0 (summed over channels), comma list.")
@click.option("--empirical", is_flag=True, help="Also train kernel ridge regression on P points drawn from p.")
@click.option("--trials", type=click.IntRange(min=2), default=20, show_default=True,
              help="Random training sets per P for --empirical.")
@click.option("--pointwise-output", type=click.Path(dir_okay=False), default=None,
              help="Write the predicted error e(x) at every test point (p, ridge, noise, index, group, error) as CSV.")
@shift_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, empirical, trials, pointwise_output, train_groups, test_groups,
            memory, features_key, gram_key, targets_key, inputs_key, kernel, bandwidth, degree, depth, **_):
    """Predicted test error under distribution shift: train on P points drawn from the /train
    measure p, test on the /test points weighted by q.

    eg_test is the MSE against the clean test targets under q (summed over channels), split
    into eg_test_bias (the mean predictor's error on q) and eg_test_variance; eg_train is
    the training MSE on the noisy labels under p. With --empirical, training sets are drawn
    from p (distinct points when p is uniform on its support, i.i.d. with replacement
    otherwise) and the error is measured on the test points weighted by q.
    """
    r = shift(input, p=parse_p(p_spec), ridge=parse_float_list(ridge_spec, "--ridge"),
              noise=parse_float_list(noise_spec, "--noise"), empirical=empirical, trials=trials, seed=s.rng_seed,
              pointwise=pointwise_output is not None, train_groups=train_groups, test_groups=test_groups,
              features_key=features_key, gram_key=gram_key, targets_key=targets_key, inputs_key=inputs_key,
              kernel=kernel, bandwidth=bandwidth, degree=degree, depth=depth, memory=memory,
              progress=s.reporter.progress)
    s.reporter.summary("kerncurve shift", list(r.summary.items()))
    if s.target("pointwise_output"):
        s.write_table("--pointwise-output", r.pointwise(),
                      comment="predicted error e(x) at every /test point (pointwise form of the shift theory); "
                              "group -1 = no labels")
    if s.target("plot"):
        _plot(s.target("plot"), r.grid, r.curve, r.simulation)
    s.emit(r)


def _plot(path, grid, curve, sim):
    from ..plots import plot_curves

    lines, points = [], []
    for r, z in sorted({(r, z) for r, z in grid[:, 1:]}):
        idx = np.flatnonzero((grid[:, 1] == r) & (grid[:, 2] == z))
        label = f"λ={r:g}, σ²={z:g}"
        eg = curve.eg_test[idx]
        ok = np.isfinite(eg) & (eg > 0)
        lines.append((f"theory {label}", grid[idx, 0][ok], eg[ok]))
        if sim is not None:
            points.append((f"empirical {label}", grid[idx, 0], sim.eg_test.ravel()[idx], sim.eg_test_sem.ravel()[idx]))
    plot_curves(path, lines=lines, points=points, xlabel="P (training samples from p)", ylabel="test MSE under q",
                title="kerncurve shift")
