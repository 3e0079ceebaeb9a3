"""Tables → CSV/JSON on stdout or a file; rich summaries, warnings and progress on stderr; plots.

CONTRACT §1: stdout carries only the table; numbers are written as Python ``repr(float)``
(round-trips exactly; ``inf``/``nan`` spelled so), integer columns as integers. JSON is an
object ``{"command", "params", "summary", "rows"}``; non-finite numbers are written as
``Infinity``/``NaN`` (Python's json module reads them back).
"""

import contextlib
import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from .io import atomic_open, atomic_path

__all__ = ["Table", "Reporter", "format_value", "plot_curves"]


def format_value(v):
    """A cell: ints as ints, floats as repr(float), strings as they are."""
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def _json_value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return v


@dataclass
class Table:
    """Named columns of equal length; ``int_columns`` are written as integers."""

    columns: list
    data: dict
    int_columns: tuple = ()
    _rows: int = field(init=False, default=0)

    def __post_init__(self):
        lengths = {len(np.atleast_1d(self.data[c])) for c in self.columns}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        self._rows = lengths.pop() if lengths else 0

    def __len__(self):
        return self._rows

    def rows(self):
        cols = []
        for c in self.columns:
            arr = np.atleast_1d(self.data[c])
            if c in self.int_columns:
                cols.append([int(x) for x in arr])
            elif arr.dtype.kind in "fc":
                cols.append([float(x) for x in arr])
            else:
                cols.append(arr.tolist())
        return list(zip(*cols))

    def write_csv(self, fh):
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(self.columns)
        for row in self.rows():
            w.writerow([format_value(v) for v in row])

    def to_json(self, command, params, summary):
        obj = {
            "command": command,
            "params": _json_value(params),
            "summary": _json_value(summary),
            "rows": [dict(zip(self.columns, (_json_value(v) for v in row))) for row in self.rows()],
        }
        return json.dumps(obj, indent=1, allow_nan=True)


class Reporter:
    """Everything a command says on stderr, and where its table goes.

    Parameters
    ----------
    quiet : bool
        Silence summaries, warnings and progress (errors still print).
    """

    def __init__(self, quiet=False):
        from rich.console import Console

        self.quiet = quiet
        tty = sys.stderr.isatty()
        self.console = Console(stderr=True, no_color=not tty, highlight=False, soft_wrap=not tty,
                               force_terminal=tty or None)

    def warn(self, message):
        if not self.quiet:
            self.console.print(f"warning: {message}", markup=False, highlight=False)

    def summary(self, title, items):
        """A two-column rich table of (label, value) pairs on stderr."""
        if self.quiet:
            return
        from rich.table import Table as RichTable

        t = RichTable(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
        t.add_column("what", style="bold")
        t.add_column("value")
        for label, value in items:
            t.add_row(str(label), _pretty(value))
        self.console.print(t)

    @contextlib.contextmanager
    def progress(self, description, total):
        """A progress bar on stderr (only on a terminal and without --quiet); yields advance(n)."""
        if self.quiet or not sys.stderr.isatty() or total <= 1:
            yield lambda n=1: None
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeRemainingColumn(), console=self.console, transient=True) as prog:
            task = prog.add_task(description, total=total)
            yield lambda n=1: prog.advance(task, n)

    @contextlib.contextmanager
    def status(self, description):
        """A spinner on stderr while a long step without measurable progress runs (terminal only)."""
        if self.quiet or not sys.stderr.isatty():
            yield
            return
        with self.console.status(description, spinner="dots"):
            yield

    def emit(self, table, *, output=None, as_json=False, command="", params=None, summary=None):
        """Write the table as CSV (or JSON) to ``output`` atomically, or to stdout."""
        if as_json:
            text = table.to_json(command, params or {}, summary or {}) + "\n"
        else:
            buf = io.StringIO()
            table.write_csv(buf)
            text = buf.getvalue()
        if output is not None:
            with atomic_open(output) as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()


def _pretty(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.4g}"
        return f"{v:.4g}"
    return str(v)


def plot_curves(path, *, lines=(), points=(), xlabel="P", ylabel="error", title=None, logx=True, logy=True):
    """Write a figure (png/svg/pdf by extension) atomically.

    Parameters
    ----------
    lines : iterable of (label, x, y)
        Theory curves.
    points : iterable of (label, x, y, yerr)
        Empirical points with error bars.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, x, y) in enumerate(lines):
        ax.plot(x, y, "-", color=colors[i % len(colors)], label=label)
    for i, (label, x, y, err) in enumerate(points):
        ax.errorbar(x, y, yerr=err, fmt="o", ms=4, capsize=2, color=colors[i % len(colors)], label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if lines or points:
        ax.legend(fontsize=7)
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt)
    finally:
        plt.close(fig)
