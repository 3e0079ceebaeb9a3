"""`kerncurve report`: a learning-curve report a person can read (one HTML or PDF file)."""

import click

from ..api.report import report
from .common import input_argument, input_options, parse_float_list, parse_p, run_session, spectrum_options
from .session import spectrum_kwargs


@click.command("report", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--p", "p_spec", required=True, help="Sample sizes: 10,20,50 or START:STOP:NUM (log-spaced).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True, help="Absolute ridge(s) λ ≥ 0, comma list.")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0 (summed over channels), comma list.")
@click.option("--empirical", is_flag=True, help="Also run exact kernel ridge regression on the data.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random training sets per P for --empirical.")
@click.option("--bootstrap", type=click.IntRange(min=2), default=None, metavar="B",
              help="A band on the theory from B bootstrap resamples of the samples.")
@click.option("--band", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True,
              help="Coverage of the --bootstrap band.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), required=True,
              help="The report: FILE.html (self-contained) or FILE.pdf; written atomically.")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default=None,
              help="html or pdf  [default: from -o's extension]")
@click.option("--timestamp", is_flag=True, help="Stamp the report with the time it was made (changes its bytes).")
@click.option("-q", "--quiet", is_flag=True, help="Silence the summary, warnings and progress.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed of every random choice (0 ≤ SEED < 2⁶³).")
@click.option("--debug", is_flag=True, help="Show a traceback on unexpected errors.")
@input_options
@spectrum_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, empirical, trials, bootstrap, band, output, fmt, timestamp,
            **_):
    """One self-contained document: data and provenance, the spectrum, the learning curve next
    to the experiment, spectral bias, where to trust it, and the tables.

    HTML has its figures (SVG) and styles inline and needs no network or JavaScript; PDF has
    the same content on pages. The same run gives the same bytes unless --timestamp.
    """
    p = parse_p(p_spec)
    ridges = parse_float_list(ridge_spec, "--ridge")
    noises = parse_float_list(noise_spec, "--noise")
    r = report(input, output=s.target("output"), format=fmt, p=p, ridge=ridges, noise=noises, empirical=empirical,
               trials=trials, bootstrap=bootstrap, band=band, timestamp=timestamp, **spectrum_kwargs(s))
    d, summary = r.data, r.summary
    items = [("report", output), ("format", r.format), ("input", d.input), ("n", d.n),
             ("points", len(r.to_dict()["p"])), ("figures", len(d.figures)),
             ("effective_dimension", d.spectrum_summary["effective_dimension"]),
             ("learning_curve_exponent", d.slope["predicted"]), ("last_decade_slope", d.slope["measured"])]
    items += [(k, summary[k]) for k in ("max_relative_deviation", "max_deviation_in_sem") if k in summary]
    s.reporter.summary("kerncurve report", items + [("warnings", len(d.warnings))])
