"""`kerncurve spectrum`: kernel eigenvalues and target power per mode."""

import click
import numpy as np

from ..api.spectrum import spectrum
from ..spectral import NOTE_LABELS
from ..table import Table
from .common import input_argument, input_options, output_options, run_session, spectrum_options
from .session import spectrum_kwargs

LABELS = {
    "eigenvalue_exponent_b": "eigenvalue exponent b (η_k ∝ k^-b)",
    "target_exponent_a": "target exponent a (v_k² ∝ k^-a)",
    "learning_curve_exponent": "implied learning-curve exponent −min(a−1, 2b)",
    **NOTE_LABELS,
}


@click.command("spectrum", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Only the top K modes in the table (all modes are still computed; see --top-eigen)  "
                   "[default: all]")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Write the spectrum to an HDF5 cache that every theory command accepts as INPUT.")
@click.option("--bootstrap", type=click.IntRange(min=2), default=None, metavar="B",
              help="Resample the n samples B times: per-mode eigenvalue_lo/hi and target_power_lo/hi (the --band "
                   "basic bootstrap interval) and the SEs of the fitted exponents.")
@click.option("--band", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True,
              help="Coverage of the --bootstrap interval.")
@input_options
@spectrum_options
@output_options
@run_session
def command(s, input, top, save, bootstrap, band, **_):
    """Eigenvalues of K/n, target power v_k² and cumulative power per mode.

    With --top-eigen K only the top K modes are computed; the table then shows those K
    (cumulative_power stays exact: the total target power is known), while --save and
    --plot include the modeled power-law tail, and the summary states it.
    """
    with s.reporter.status("eigendecomposition"):
        spec = spectrum(input, top=top, save=s.target("save"), bootstrap=bootstrap, band=band, **spectrum_kwargs(s))
    summary = spec.summary
    s.reporter.summary("kerncurve spectrum", [(LABELS.get(k, k), v) for k, v in summary.items()])
    if s.target("plot"):
        from ..plots import plot_curves

        k = np.arange(1, spec.rank + 1)
        v2 = spec.target_power
        plot_curves(s.target("plot"), lines=[("eigenvalue η_k", k, spec.eigenvalues),
                                             ("target power v_k²", k[v2 > 0], v2[v2 > 0])],
                    xlabel="mode k", ylabel="", title="kerncurve spectrum")
    rows = spec.to_dict()
    table = Table(list(rows), rows, int_columns=("k",))
    s.emit(table, command="spectrum", params={"top": top, "kernel": s.opts.get("kernel"),
                                              "top_eigen": s.opts.get("top_eigen"), "engine": s.opts.get("engine"),
                                              **({"bootstrap": bootstrap, "band": band} if bootstrap else {})},
           summary=summary)
