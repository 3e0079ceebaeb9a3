"""What a command says on stderr (summary, warnings, progress), and where its table goes.

stdout carries only the table (CSV, or JSON with --json), written with checked writes;
``-o FILE`` writes it atomically instead. With --quiet, or when stderr is closed, nothing
but errors is printed.
"""

import contextlib
import math
import sys

import numpy as np

from ..io.outputs import write_bytes, write_stdout

__all__ = ["Reporter"]


class Reporter:
    """Everything a command says on stderr, and where its table goes.

    Parameters
    ----------
    quiet : bool
        Silence summaries, warnings and progress (errors still print).
    """

    def __init__(self, quiet=False):
        from rich.console import Console

        self.quiet = quiet or sys.stderr is None
        try:
            tty = sys.stderr.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        self.tty = tty
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
        if self.quiet or not self.tty or total <= 1:
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
        if self.quiet or not self.tty:
            yield
            return
        with self.console.status(description, spinner="dots"):
            yield

    def emit(self, table, *, output=None, as_json=False, command="", params=None, summary=None, comment=None):
        """Write the table as CSV (or JSON) to ``output`` (an `OutputTarget`) atomically, or to stdout."""
        if as_json:
            text = table.to_json(command, params or {}, summary or {}) + "\n"
        else:
            text = table.to_csv(comment)
        if output is not None:
            write_bytes(output, text.encode("utf-8"))
        else:
            write_stdout(text)


def _pretty(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.4g}"
        return f"{v:.4g}"
    return str(v)


