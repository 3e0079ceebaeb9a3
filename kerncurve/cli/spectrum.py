"""`kerncurve spectrum`: kernel eigenvalues and target power per mode (THEORY §0)."""

import click
import numpy as np

from ..io import check_output_path, file_sha256
from ..report import Table, plot_curves
from ..spectrum import compute_spectrum, spectrum_summary, write_spectrum
from .common import input_argument, input_options, output_options, run_session


@click.command("spectrum", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the top K modes in the table  [default: all]")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Write the spectrum to an HDF5 cache that every theory command accepts as INPUT.")
@input_options
@output_options
@run_session
def command(s, input, top, save, **_):
    """Eigenvalues of K/n, target power v_k² and cumulative power per mode."""
    check_output_path(save, "--save")
    problem = s.load_problem(input)
    with s.reporter.status(f"eigendecomposition (n = {problem.n})"):
        spec = compute_spectrum(problem)
    v2 = spec.target_power
    total = v2.sum() + spec.residual_power
    cum = np.cumsum(v2) / total if total > 0 else np.zeros_like(v2)
    m = spec.rank if top is None else min(top, spec.rank)
    table = Table(
        ["k", "eigenvalue", "target_power", "cumulative_power"],
        {"k": np.arange(1, m + 1), "eigenvalue": spec.eigenvalues[:m], "target_power": v2[:m],
         "cumulative_power": cum[:m]},
        int_columns=("k",),
    )
    summary = spectrum_summary(spec)
    summary = {"input": input, "source": problem.info.get("source", ""), "route": spec.route, **summary}
    for key in ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth"):
        if key in problem.info:
            summary[key] = problem.info[key]
    labels = {
        "eigenvalue_exponent_b": "eigenvalue exponent b (η_k ∝ k^-b)",
        "target_exponent_a": "target exponent a (v_k² ∝ k^-a)",
        "learning_curve_exponent": "implied learning-curve exponent −min(a−1, 2b)",
    }
    s.reporter.summary("kerncurve spectrum", [(labels.get(k, k), v) for k, v in summary.items()])
    if save is not None:
        sha = file_sha256(input) if problem.has_samples else ""
        write_spectrum(spec, save, input_sha256=sha, extra_attrs={"source": f"{input} ({summary['source']})"})
    if s.opts.get("plot"):
        k = np.arange(1, spec.rank + 1)
        plot_curves(s.opts["plot"], lines=[("eigenvalue η_k", k, spec.eigenvalues),
                                           ("target power v_k²", k[v2 > 0], v2[v2 > 0])],
                    xlabel="mode k", ylabel="", title="kerncurve spectrum")
    s.emit(table, command="spectrum", params={"top": top, "kernel": s.opts.get("kernel")}, summary=summary)
