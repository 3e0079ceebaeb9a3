"""`kerncurve.report`: one self-contained document with the spectrum, the curve and the checks."""

import os
import shlex

import numpy as np

from .._validation import check_choice, check_float, check_floats, check_int, check_seed, check_sizes
from ..errors import InputError
from ..io.outputs import OutputTarget

__all__ = ["report", "Report", "report_format"]

FORMATS = ("html", "pdf")


class Report:
    """A built report: ``html`` (str) or ``pdf`` (bytes), and the learning-curve `Result` it shows.

    ``to_dict()`` and ``summary`` are the learning curve's (the table at the end of the report).
    """

    def __init__(self, data, format, content):
        self.data, self.format, self.content = data, format, content
        self.result = data.result

    @property
    def html(self):
        if self.format != "html":
            raise AttributeError("this report was built as PDF; its bytes are in .content")
        return self.content

    def to_dict(self):
        return self.result.to_dict()

    @property
    def summary(self):
        return self.result.summary

    def save(self, path):
        """Write the report atomically (an existing file is replaced only when the new one is complete)."""
        from ..io.outputs import plan_outputs, write_bytes

        target = plan_outputs([("output", path)], [("input", self.data.input)])["output"]
        write_bytes(target, self.content.encode("utf-8") if isinstance(self.content, str) else self.content, "output")


def _path(output):
    """The path as given, of a path or of an output planned by the command line (`OutputTarget`)."""
    return output.path if isinstance(output, OutputTarget) else os.fspath(output)


def report_format(output, format):
    """The report's format: ``format``, else ``output``'s extension (they must agree), else html."""
    if format is not None:
        check_choice(format, "format", FORMATS)
    if output is None:
        return format or "html"
    ext = os.path.splitext(_path(output))[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise InputError(f"output must end in .html or .pdf, got {_path(output)!r}", param="output")
    if format is not None and format != ext:
        raise InputError(f"format={format} disagrees with output {_path(output)!r}; make them agree",
                         param="format")
    return ext


def _number(v):
    """A float as the shortest text that reads back to it (``0``, ``0.01``, ``1e-05``)."""
    return repr(float(v)).removesuffix(".0")


def _command(input, output, fmt, p, ridge, noise, empirical, trials, bootstrap, band, seed, input_options):
    """The command line that reproduces the report: every option that differs from its default,
    numbers written so that they read back exactly."""
    import inspect

    from .spectrum import load_input

    defaults = {k: v.default for k, v in inspect.signature(load_input).parameters.items()}
    words = ["kerncurve", "report", os.fspath(input)]
    for key, val in sorted(input_options.items()):
        if val is not None and val is not False and key != "progress" and val != defaults.get(key):
            words += [f"--{key.replace('_', '-')}", _number(val) if isinstance(val, float) else str(val)]
    words += ["--p", ",".join(str(int(v)) for v in p)]
    for flag, vals in (("--ridge", ridge), ("--noise", noise)):
        if list(vals) != [0.0]:
            words += [flag, ",".join(_number(v) for v in vals)]
    if empirical:
        words += ["--empirical"] + (["--trials", str(trials)] if trials != 20 else [])
    if bootstrap is not None:
        words += ["--bootstrap", str(bootstrap)] + (["--band", _number(band)] if band != 0.9 else [])
    words += ["--seed", str(seed), "-o", _path(output) if output else f"report.{fmt}"]
    return shlex.join(words)


def report(input, *, output=None, format=None, p, ridge=0.0, noise=0.0, empirical=False, trials=20, bootstrap=None,
           band=0.9, seed=0, timestamp=False, progress=None, **input_options):
    """Build a learning-curve report of an HDF5 input (and write it to ``output`` if given).

    Sections: data and provenance (path, SHA-256, datasets, kernel, versions, the command
    that reproduces it), the spectrum (decay and target power with fitted exponents, the
    cumulative power curve), the learning curve (theory with the bootstrap band, experiment
    with error bars, ridge-optimal curve, last-decade slope against −min(a−1, 2b)), spectral
    bias (learnability over P and mode), where to trust it (P/n, deviation in SEM, the
    library's warnings) and the tables (with a CSV download).

    Parameters
    ----------
    input : str or path
        HDF5 input, as for `kerncurve.predict`; ``input_options`` are its spectrum keywords
        (``kernel``, ``bandwidth``, ``top_eigen``, ``landmarks``, keys, ``memory`` …).
    output : str or path, optional
        ``.html`` or ``.pdf``; written atomically.
    format : {"html", "pdf"}, optional
        Default: from ``output``'s extension, else html.
    p, ridge, noise, empirical, trials, bootstrap, band, seed
        As for `kerncurve.predict` (``ridge`` here: numbers; the ridge-optimal curve is added).
    timestamp : bool
        Stamp the report with the time it was made (off: the same run gives the same bytes).

    Returns
    -------
    Report
    """
    from ..reporting import gather, render_html, render_pdf

    if not isinstance(input, (str, os.PathLike)):
        raise InputError(f"input must be a path to an HDF5 file, got {type(input).__name__}", param="input")
    if output is not None and not isinstance(output, (str, os.PathLike, OutputTarget)):
        raise InputError(f"output must be a path ending in .html or .pdf, got {type(output).__name__}",
                         param="output")
    for name, flag in (("empirical", empirical), ("timestamp", timestamp)):
        if not isinstance(flag, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {flag!r}", param=name)
    fmt = report_format(output, format)
    p = check_sizes(p, "p")
    if isinstance(ridge, str) or (np.ndim(ridge) and any(isinstance(v, str) for v in ridge)):
        raise InputError(f"ridge must be numbers ≥ 0, got {ridge!r}; the report adds the ridge-optimal curve "
                         "itself", param="ridge")
    ridges = check_floats(ridge, "ridge", minimum=0.0)
    noises = check_floats(noise, "noise", minimum=0.0)
    trials = check_int(trials, "trials", minimum=1, maximum=10**7)
    seed = check_seed(seed)
    if bootstrap is not None:
        bootstrap = check_int(bootstrap, "bootstrap", minimum=2, maximum=10**6)
    band = check_float(band, "band", minimum=0.0, strict=True, maximum=1.0)
    if band >= 1.0:
        raise InputError(f"band must be < 1 (a coverage), got {band}", param="band")
    if output is not None:
        from ..io.outputs import plan_outputs

        plan_outputs([("output", output)], [("input", input)])  # refused before any work
    command = input_options.pop("_command", None) or _command(input, output, fmt, p, ridges, noises, empirical,
                                                              trials, bootstrap, band, seed, input_options)
    data = gather(input, p=p, ridge=ridges, noise=noises, empirical=empirical, trials=trials, bootstrap=bootstrap,
                  band=band, seed=seed, command=command, input_options=input_options, progress=progress)
    stamp = None
    if timestamp:
        import datetime

        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        content = render_html(data, stamp) if fmt == "html" else render_pdf(data, stamp)
    finally:
        for f in data.figures.values():
            f.close()
    out = Report(data, fmt, content)
    if output is not None:
        out.save(output)
    return out
