"""One command run: outputs planned before any work, warnings routed to stderr, flags in messages.

A command is written as::

    @click.command("name")
    @input_argument
    @output_options
    @run_session
    def command(s, input, ..., **opts):
        result = kc.name(...)                       # the library does the work
        s.reporter.summary("kerncurve name", ...)
        s.emit(result)                              # table → stdout or -o, atomically

`Session.__enter__` resolves every output option (``-o``, ``--plot``, ``--save``, every
``--*-output`` and ``--*-plot``) and refuses, before any work, one that names an input or
another output, or that cannot be written. The library's messages name Python parameters
(``p must be …``, ``top_eigen=80``); the session rewrites them with the command's flags
(``--p must be …``, ``--top-eigen 80``).
"""

import functools
import os
import re
import warnings

import click

from ..errors import InputError, KerncurveError, KerncurveWarning
from ..io.outputs import plan_outputs
from ..io.sizes import parse_size
from ..plots import FORMATS, save_figure
from .reporter import Reporter

__all__ = ["Session", "run_session", "flag_map", "to_flags", "PipeClosed", "spectrum_kwargs"]

_SPECTRUM_OPTIONS = ("features_key", "gram_key", "targets_key", "inputs_key", "kernel", "bandwidth", "degree",
                     "depth", "top_eigen", "landmarks", "landmark_rule", "memory", "engine", "scheduler",
                     "scheduler_timeout")


class PipeClosed(BaseException):
    """The reader of stdout went away. A BaseException so that click, which turns EPIPE into
    exit status 1, lets it through to the top level (exit 0, quietly)."""

_OUTPUT_NAMES = ("output", "plot", "save")


def flag_map(command):
    """{python name: flag} for a click command's options (``top_eigen`` → ``--top-eigen``)."""
    out = {}
    if command is None:
        return out
    for p in command.params:
        if not isinstance(p, click.Option):
            continue
        longs = [o for o in p.opts if o.startswith("--")]
        if not longs:
            continue
        flag = longs[0]
        out.setdefault(flag[2:].replace("-", "_"), flag)
        out.setdefault(p.name, flag)
    return out


def to_flags(text, flags, leading=None):
    """Rewrite a library message with the command line's flags.

    A leading ``param`` (``p must be …``), every ``name=value`` (``top_eigen=80``) and every
    bare name with an underscore (``top_eigen``) that the command has as an option become
    its flag; other words are left alone.
    """
    if leading and leading in flags and text.startswith(leading) and text[len(leading):len(leading) + 1] in (" ", ""):
        text = flags[leading] + text[len(leading):]

    def sub(m):
        name = m.group(1)
        if name not in flags:
            return m.group(0)
        nxt = text[m.end():m.end() + 1]
        return flags[name] + (" " if nxt and not nxt.isspace() and nxt not in ",;:)" else "")

    text = re.sub(r"(?<![\w-])([a-z][a-z0-9_]*)=", sub, text)
    # names with an underscore are unambiguous even without "=" (``omit top_eigen``)
    return re.sub(r"(?<![\w-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w=])",
                  lambda m: flags.get(m.group(1), m.group(1)), text)


def _output_options(command, opts):
    """[(flag, path)] for every output-like option of the command."""
    out = []
    if command is None:
        return [("-o/--output", opts.get("output")), ("--plot", opts.get("plot"))]
    for p in command.params:
        if not isinstance(p, click.Option):
            continue
        if p.name in _OUTPUT_NAMES or p.name.endswith("_output") or p.name.endswith("_plot"):
            flag = "/".join(p.opts) if p.name == "output" else [o for o in p.opts if o.startswith("--")][0]
            out.append((flag, opts.get(p.name)))
    return out


def _inputs(opts):
    inp = opts.get("input")
    if inp is None:
        return []
    if isinstance(inp, (list, tuple)):
        return [("INPUT", x) for x in inp]
    return [("INPUT", inp)]


class Session:
    """One command run: the reporter, the planned outputs, warning routing, input loading."""

    def __init__(self, opts, command=None):
        self.opts = opts
        self.command = command
        self.flags = flag_map(command)
        self.reporter = Reporter(quiet=opts.get("quiet", False))
        self.rng_seed = opts.get("seed", 0)
        self.targets = {}
        self._warn_ctx = None

    def __enter__(self):
        plot = self.opts.get("plot")
        if plot is not None:
            ext = os.path.splitext(plot)[1].lower()
            if ext not in FORMATS:
                raise InputError(f"--plot: unsupported file type {ext or '(none)'!r} for {plot!r}; use .png, .svg or .pdf")
        if self.opts.get("memory") is not None:
            parse_size(self.opts["memory"])  # a bad size is an error before any work
        self.targets = plan_outputs(_output_options(self.command, self.opts), _inputs(self.opts))
        self._warn_ctx = warnings.catch_warnings()
        self._warn_ctx.__enter__()
        warnings.simplefilter("always", KerncurveWarning)
        rep = self.reporter
        flags = self.flags

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, KerncurveWarning):
                rep.warn(to_flags(str(message), flags))
            elif not rep.quiet:
                rep.warn(f"{category.__name__}: {message}")

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        self._warn_ctx.__exit__(*exc)
        return False

    def target(self, option):
        """The planned `OutputTarget` of an option given by flag (``--plot``) or name, or None."""
        for flag, t in self.targets.items():
            parts = flag.split("/")
            if option in parts or any(p.lstrip("-").replace("-", "_") == option for p in parts):
                return t
        return None

    def load_problem(self, path):
        """The input's kernel problem with the command's spectrum options (keys, kernel, budgets)."""
        from ..io.problem import load_problem

        o = self.opts
        kparams = {"bandwidth": o.get("bandwidth"), "degree": o.get("degree", 2), "depth": o.get("depth", 1)}
        if o.get("bandwidth") is not None and not o["bandwidth"] > 0:
            raise InputError(f"--bandwidth must be positive, got {o['bandwidth']}")
        problem = load_problem(
            path,
            features_key=o.get("features_key", "/features"),
            gram_key=o.get("gram_key", "/gram"),
            targets_key=o.get("targets_key", "/targets"),
            inputs_key=o.get("inputs_key", "/inputs"),
            kernel=o.get("kernel"),
            kernel_params=kparams,
            memory=o.get("memory"),
            gram_free=o.get("kernel") is not None and (o.get("top_eigen") is not None
                                                      or o.get("landmarks") is not None),
        )
        problem.options.update(
            memory=o.get("memory"), engine=o.get("engine") or "numpy", scheduler=o.get("scheduler"),
            scheduler_timeout=o.get("scheduler_timeout"), top_eigen=o.get("top_eigen"), landmarks=o.get("landmarks"),
            landmark_rule=o.get("landmark_rule") or "uniform", seed=self.rng_seed,
            progress=self.reporter.progress,
        )
        if o.get("empirical") and problem.has_features and o.get("engine") != "dask":
            # the simulation needs every sample in memory: read them once, and let the
            # spectrum use them there instead of streaming the file a second time
            problem.features  # noqa: B018 - loads
        return problem

    def emit(self, table, *, command=None, params=None, summary=None, comment=None):
        """Write the table (a `Table` or a `Result`) to stdout or ``-o``."""
        from ..result import Result

        if isinstance(table, Result):
            command = command or table.command
            params = table.params if params is None else params
            summary = table.summary if summary is None else summary
            table = table.table
        self.reporter.emit(table, output=self.target("output"), as_json=self.opts.get("as_json", False),
                           command=command, params=params, summary=summary, comment=comment)

    def write_table(self, option, table, comment=None):
        """Write a side table (CSV, with ``# comment`` lines) to a planned output."""
        from ..io.outputs import write_bytes

        write_bytes(self.target(option), table.to_csv(comment).encode("utf-8"), option)

    def write_figure(self, option, fig):
        """Write a matplotlib figure to a planned output (png/svg/pdf by extension)."""
        save_figure(fig, self.target(option), option)

    def write_bytes(self, option, data):
        from ..io.outputs import write_bytes

        write_bytes(self.target(option), data, option)


def spectrum_kwargs(s):
    """The session's spectrum options as keywords of `kerncurve.spectrum` (and `load_input`)."""
    kw = {k: s.opts[k] for k in _SPECTRUM_OPTIONS if k in s.opts}
    kw.update(seed=s.rng_seed, progress=s.reporter.progress)
    return kw


def run_session(fn):
    """Decorator: call ``fn(session, **kwargs)`` inside a `Session`; library messages get flags."""

    @functools.wraps(fn)
    def wrapper(**kwargs):
        ctx = click.get_current_context(silent=True)
        command = ctx.command if ctx is not None else None
        s = Session(kwargs, command)
        try:
            with s:
                return fn(s, **kwargs)
        except BrokenPipeError:
            raise PipeClosed() from None
        except KerncurveError as exc:
            msg = str(exc)
            new = to_flags(msg, s.flags, getattr(exc, "param", None))
            if new != msg:
                exc.args = (new,) + exc.args[1:]
            raise

    return wrapper
