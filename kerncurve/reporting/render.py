"""Render a `ReportData` as one self-contained HTML file (Jinja2) or a multi-page PDF.

The HTML has its CSS inline and its figures as SVG data URIs: no network, no JavaScript,
and the same run gives the same bytes (no timestamp unless asked for).
"""

import base64
import importlib.resources
import math

import numpy as np

__all__ = ["render_html", "render_pdf"]


def fmt(v, digits=4):
    """A number as the report prints it (4 significant digits; inf/nan spelled out)."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}"
    return str(v)


def _template(name):
    return importlib.resources.files("kerncurve.reporting").joinpath("templates", name).read_text("utf-8")


def _figure_html(fig):
    from markupsafe import Markup, escape

    data = base64.b64encode(fig.svg).decode("ascii")
    return Markup(f'<figure id="fig-{escape(fig.key)}"><img src="data:image/svg+xml;base64,{data}" '
                  f'alt="{escape(fig.alt)}" width="640"><figcaption>{escape(fig.caption)}</figcaption></figure>')


def render_html(d, timestamp=None):
    """The report as an HTML string."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    tpl = env.from_string(_template("report.html.j2"))
    table = d.result.table
    cols = list(table.columns)
    data = d.result.to_dict()
    rows = [[fmt(data[c][i], 6) for c in cols] for i in range(len(data[cols[0]]))]
    csv = d.result.to_csv().encode("utf-8")
    summary = [(k, fmt(v)) for k, v in d.result.summary.items()]
    modes = spectrum_table(d.result.spectrum, _CSV_MODES)
    shown = {c: v[:_SHOWN_MODES] for c, v in modes.to_dict().items()}
    return tpl.render(d=d, css=Markup(_template("report.css")), fmt=fmt, figure=_figure_html, columns=cols, rows=rows,
                      csv_b64=base64.b64encode(csv).decode("ascii"), csv_name="learning_curve.csv", summary=summary,
                      modes_columns=modes.columns, modes_total=len(modes),
                      modes_rows=[[fmt(shown[c][i], 6) for c in modes.columns] for i in range(len(shown["k"]))],
                      modes_b64=base64.b64encode(modes.to_csv().encode("utf-8")).decode("ascii"), timestamp=timestamp)


_SHOWN_MODES = 20  # rows of the spectrum table in the page
_CSV_MODES = 5000  # rows of its CSV download (the whole spectrum of most inputs)


def spectrum_table(spec, top):
    """The `spectrum` command's table of the top modes (a `Table`)."""
    from ..table import Table

    return Table(list(spec.COLUMNS), spec.to_dict(top), int_columns=("k",))


def render_pdf(d, timestamp=None):
    """The same content as a multi-page PDF (matplotlib): text pages, one page per figure, the tables."""
    import io
    import textwrap

    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    from ..plots import _METADATA, _pyplot

    plt = _pyplot()
    buf = io.BytesIO()
    lines = ["Learning-curve report", "", f"Input: {d.input}", f"SHA-256: {d.sha256}",
             f"Kernel: {d.provenance.get('source', '')}", f"n = {d.n}, rank = {d.rank}, seed = {d.seed}",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in d.versions.items()), "", "Reproduce:", d.command, "",
             f"b = {fmt(d.spectrum_summary.get('eigenvalue_exponent_b'))}, "
             f"a = {fmt(d.spectrum_summary.get('target_exponent_a'))}, "
             f"effective dimension = {fmt(d.spectrum_summary.get('effective_dimension'))}", "", "Where to trust it:"]
    lines += [f"- {s}" for s in d.trust] + [f"! {w}" for w in d.warnings]
    if timestamp:
        lines.append(f"Made {timestamp}")
    lines += ["", "Datasets:"] + [f"  {name}  {' x '.join(map(str, shape)) or 'scalar'}  {dtype}"
                                  for name, shape, dtype in d.datasets]
    intro = [w for line in lines for w in (textwrap.wrap(line, 95) or [""])]
    tables = ["Learning curve:"] + _text_table(d.result.table)
    tables += ["", f"Spectrum (top {_SHOWN_MODES} of {d.rank} modes):"]
    tables += _text_table(spectrum_table(d.result.spectrum, _SHOWN_MODES))

    def text_pages(pdf, text):
        for start in range(0, len(text), 52):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.06, 0.96, "\n".join(text[start:start + 52]), va="top", family="monospace", fontsize=8)
            pdf.savefig(fig)
            plt.close(fig)

    with matplotlib.rc_context({"pdf.compression": 6}), PdfPages(buf, metadata=_METADATA["pdf"]) as pdf:
        text_pages(pdf, intro)
        for f in d.figures.values():
            pdf.savefig(f.fig)
        text_pages(pdf, tables)
    return buf.getvalue()


def _text_table(table):
    """A table as aligned monospace lines (numbers as the HTML shows them); wide tables wrap by columns."""
    data = {c: np.atleast_1d(table.data[c]) for c in table.columns}
    cells = [list(table.columns)] + [[fmt(data[c][i], 6) for c in table.columns] for i in range(len(table))]
    widths = [max(len(row[j]) for row in cells) for j in range(len(table.columns))]
    out, start = [], 0
    while start < len(widths):  # at most ~95 characters per line
        stop, used = start, 0
        while stop < len(widths) and (stop == start or used + widths[stop] + 2 <= 95):
            used += widths[stop] + 2
            stop += 1
        out += ["  ".join(row[j].rjust(widths[j]) for j in range(start, stop)) for row in cells]
        start = stop
        if start < len(widths):
            out.append("")
    return out
