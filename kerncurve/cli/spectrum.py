"""`kerncurve spectrum`: kernel eigenvalues and target power per mode (THEORY §0)."""

import click
import numpy as np

from ..io import check_output_path, file_sha256
from ..report import Table, plot_curves
from ..spectrum import compute_spectrum, spectrum_summary, write_spectrum
from .common import input_argument, input_options, output_options, run_session, spectrum_options


@click.command("spectrum", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Only the top K modes in the table (all modes are still computed; see --top-eigen)  "
                   "[default: all]")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Write the spectrum to an HDF5 cache that every theory command accepts as INPUT.")
@input_options
@spectrum_options
@output_options
@run_session
def command(s, input, top, save, **_):
    """Eigenvalues of K/n, target power v_k² and cumulative power per mode.

    With --top-eigen K only the top K modes are computed; the table then shows those K
    (cumulative_power stays exact: the total target power is known), while --save and
    --plot include the modeled power-law tail, and the summary states it.
    """
    check_output_path(save, "--save")
    problem = s.load_problem(input)
    with s.reporter.status(f"eigendecomposition (n = {problem.n})"):
        spec = compute_spectrum(problem)
    v2 = spec.target_power
    total = v2.sum() + spec.residual_power
    cum = np.cumsum(v2) / total if total > 0 else np.zeros_like(v2)
    shown = spec.rank if spec.exact_modes is None else min(spec.exact_modes, spec.rank)
    m = shown if top is None else min(top, shown)
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
    summary.update(spectrum_notes(spec))
    labels = {
        "eigenvalue_exponent_b": "eigenvalue exponent b (η_k ∝ k^-b)",
        "target_exponent_a": "target exponent a (v_k² ∝ k^-a)",
        "learning_curve_exponent": "implied learning-curve exponent −min(a−1, 2b)",
        **NOTE_LABELS,
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
    s.emit(table, command="spectrum", params={"top": top, "kernel": s.opts.get("kernel"),
                                              "top_eigen": s.opts.get("top_eigen"), "engine": s.opts.get("engine")},
           summary=summary)


NOTE_LABELS = {
    "engine": "engine",
    "scheduler": "dask scheduler",
    "memory_budget": "memory budget (streamed features)",
    "rows_per_block": "rows per block",
    "top_eigen": "computed modes (--top-eigen)",
    "tail_modes": "modeled tail modes",
    "tail_eigenvalue_exponent": "tail eigenvalue exponent (η_k ∝ k^-b, k > K)",
    "tail_target_exponent": "tail target exponent (v_k² ∝ k^-a, k > K)",
    "remaining_trace": "remaining trace (in the tail)",
    "remaining_power": "remaining target power (in the tail)",
    "krylov_residual": "Krylov residual (relative to η_1)",
}


def spectrum_notes(spec):
    """Summary entries that say how the spectrum was computed (engine, budget, top-k tail)."""
    out = {k: spec.notes[k] for k in NOTE_LABELS if k in spec.notes}
    if spec.exact_modes is not None:
        out.setdefault("top_eigen", spec.exact_modes)
    return out
