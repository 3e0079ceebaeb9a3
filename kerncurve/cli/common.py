"""Options, parsing and plumbing shared by every subcommand (CONTRACT §1).

A command is written as::

    @click.command("name")
    @input_argument
    @input_options            # keys and --kernel (for commands that read a kernel problem)
    @spectrum_options         # --top-eigen, --memory, --engine, --scheduler (commands that compute a spectrum)
    @output_options           # -o/--output, --json, --plot, --quiet, --seed, --debug
    def command(input, ..., **opts):
        with Session(opts) as s:              # reporter, warnings → stderr, output checks
            problem = s.load_problem(input)   # validated Problem
            ...
            s.emit(table, command="name", params=..., summary=...)
"""

import functools
import os
import warnings

import click
import numpy as np

from ..errors import InputError, KerncurveWarning
from ..io import check_output_path, load_problem
from ..kernels import KERNELS
from ..report import Reporter

__all__ = [
    "input_argument",
    "input_options",
    "spectrum_options",
    "output_options",
    "Session",
    "parse_p",
    "parse_float_list",
    "parse_int_list",
    "parse_range",
]


def input_argument(f):
    return click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="INPUT")(f)


def input_options(f):
    opts = [
        click.option("--features-key", default="/features", show_default=True, help="Dataset of features (n, d)."),
        click.option("--gram-key", default="/gram", show_default=True, help="Dataset of the Gram matrix (n, n)."),
        click.option("--targets-key", default="/targets", show_default=True, help="Dataset of targets (n,) or (n, c)."),
        click.option("--inputs-key", default="/inputs", show_default=True, help="Dataset of raw inputs for --kernel."),
        click.option("--kernel", default=None, help=f"Build the kernel from raw inputs: {', '.join(KERNELS)}."),
        click.option("--bandwidth", type=float, default=None,
                     help="rbf/laplace bandwidth h  [default: median pairwise distance]"),
        click.option("--degree", type=int, default=2, show_default=True, help="poly kernel degree."),
        click.option("--depth", type=int, default=1, show_default=True, help="Hidden layers of relu-nngp/relu-ntk."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def spectrum_options(f):
    """How the spectrum is computed: top-k, the streaming budget, the engine (`compute_spectrum`)."""
    opts = [
        click.option("--top-eigen", type=click.IntRange(min=1), default=None, metavar="K",
                     help="Compute only the top K eigenpairs (block Krylov) and model the rest of the spectrum as "
                          "a power-law tail with the exact remaining trace and target power; predictions are "
                          "reliable for P ≤ K/4  [default: all modes]"),
        click.option("--memory", default=None, metavar="SIZE",
                     help="Memory budget for streaming /features from the file in row blocks (512M, 2G…); the "
                          "plain feature route is streamed unless the samples are needed in memory "
                          "(--empirical)  [default: 512M]"),
        click.option("--engine", type=click.Choice(["numpy", "dask"]), default="numpy", show_default=True,
                     help="dask: sum the feature route's XᵀX and Xᵀy with dask.array "
                          "(pip install 'kerncurve[dask]')."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="dask.distributed scheduler (tcp://HOST:PORT) for --engine dask  [default: a local cluster]"),
        click.option("--scheduler-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
                     show_default=True, metavar="SECONDS", help="Give up connecting to --scheduler after this long."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def output_options(f):
    opts = [
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), default=None,
                     help="Write the table to FILE (atomically) instead of stdout."),
        click.option("--json", "as_json", is_flag=True, help="Write JSON instead of CSV."),
        click.option("--plot", type=click.Path(dir_okay=False, path_type=str), default=None,
                     help="Write a figure (.png, .svg or .pdf)."),
        click.option("-q", "--quiet", is_flag=True, help="Silence summaries, warnings and progress."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random choice."),
        click.option("--debug", is_flag=True, help="Show a traceback on unexpected errors."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


class Session:
    """One command run: the reporter, warning routing, output checks and input loading."""

    def __init__(self, opts):
        self.opts = opts
        self.reporter = Reporter(quiet=opts.get("quiet", False))
        self.rng_seed = opts.get("seed", 0)
        self._warn_ctx = None

    def __enter__(self):
        check_output_path(self.opts.get("output"), "-o/--output")
        plot = self.opts.get("plot")
        if plot is not None:
            ext = os.path.splitext(plot)[1].lower()
            if ext not in (".png", ".svg", ".pdf"):
                raise InputError(f"--plot: unsupported file type {ext or '(none)'!r} for {plot!r}; use .png, .svg or .pdf")
            check_output_path(plot, "--plot")
        self._warn_ctx = warnings.catch_warnings()
        self._warn_ctx.__enter__()
        warnings.simplefilter("always", KerncurveWarning)
        rep = self.reporter

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, KerncurveWarning):
                rep.warn(str(message))
            elif not rep.quiet:
                rep.warn(f"{category.__name__}: {message}")

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        self._warn_ctx.__exit__(*exc)
        return False

    def load_problem(self, path):
        o = self.opts
        kparams = {"bandwidth": o.get("bandwidth"), "degree": o.get("degree", 2), "depth": o.get("depth", 1)}
        if o.get("bandwidth") is not None and not o["bandwidth"] > 0:
            raise InputError(f"--bandwidth must be positive, got {o['bandwidth']}")
        if o.get("memory") is not None:
            from ..stream import parse_size

            parse_size(o["memory"])  # a bad size is an error before any work
        problem = load_problem(
            path,
            features_key=o.get("features_key", "/features"),
            gram_key=o.get("gram_key", "/gram"),
            targets_key=o.get("targets_key", "/targets"),
            inputs_key=o.get("inputs_key", "/inputs"),
            kernel=o.get("kernel"),
            kernel_params=kparams,
        )
        problem.options.update(
            memory=o.get("memory"), engine=o.get("engine") or "numpy", scheduler=o.get("scheduler"),
            scheduler_timeout=o.get("scheduler_timeout"), top_eigen=o.get("top_eigen"), seed=self.rng_seed,
            progress=self.reporter.progress,
        )
        if o.get("empirical") and problem.has_features and o.get("engine") != "dask":
            # the simulation needs every sample in memory: read them once, and let the
            # spectrum use them there instead of streaming the file a second time
            problem.features  # noqa: B018 - loads
        return problem

    def emit(self, table, *, command, params=None, summary=None):
        self.reporter.emit(table, output=self.opts.get("output"), as_json=self.opts.get("as_json", False),
                           command=command, params=params, summary=summary)


def run_session(fn):
    """Decorator: call ``fn(session, **kwargs)`` inside a `Session`."""

    @functools.wraps(fn)
    def wrapper(**kwargs):
        with Session(kwargs) as s:
            return fn(s, **kwargs)

    return wrapper


def parse_range(text, option, example="10:1000:25"):
    """Split ``START:STOP:NUM`` into (float, float, int), or raise one clear `InputError`."""
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        return float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(
            f"{option} {text!r}: a range is START:STOP:NUM (numbers, NUM an integer), e.g. {example}"
        ) from None


def parse_p(text, option="--p", allow_inf=False):
    """Sample sizes: a comma list ``10,20,50`` or ``START:STOP:NUM`` (NUM log-spaced integers).

    Returns an int64 array (float with ``inf`` entries when ``allow_inf``).
    """
    text = (text or "").strip()
    if not text:
        raise InputError(f"{option} is empty; give a comma list like 10,20,50 or a range START:STOP:NUM")
    if ":" in text:
        start, stop, num = parse_range(text, option)
        if not (np.isfinite(start) and np.isfinite(stop)) or start < 1 or stop < start or num < 1:
            raise InputError(f"{option} {text!r}: need 1 ≤ START ≤ STOP (finite) and NUM ≥ 1")
        vals = np.unique(np.round(np.geomspace(start, stop, num)).astype(np.int64))
        return vals
    out = []
    for tok in text.split(","):
        tok = tok.strip()
        try:
            v = float(tok)
        except ValueError:
            raise InputError(f"{option}: {tok!r} is not a number; give positive integers like 10,20,50") from None
        if np.isinf(v) and v > 0 and allow_inf:
            out.append(v)
            continue
        if not np.isfinite(v) or v <= 0 or v != int(v):
            raise InputError(f"{option}: {tok!r} is not a positive integer sample size")
        out.append(int(v))
    if allow_inf and any(np.isinf(out)):
        return np.array(out, dtype=float)
    return np.array(out, dtype=np.int64)


def parse_float_list(text, option, *, minimum=0.0, strict=False, allow_inf=False, keywords=()):
    """A comma list of floats ≥ ``minimum`` (> if ``strict``); ``keywords`` pass through as strings."""
    text = (str(text) if text is not None else "").strip()
    if not text:
        raise InputError(f"{option} is empty; give a number or a comma list")
    out = []
    for tok in text.split(","):
        tok = tok.strip()
        if tok in keywords:
            out.append(tok)
            continue
        try:
            v = float(tok)
        except ValueError:
            extra = f" or {'/'.join(keywords)}" if keywords else ""
            raise InputError(f"{option}: {tok!r} is not a number{extra}") from None
        if np.isnan(v) or (np.isinf(v) and not allow_inf):
            raise InputError(f"{option}: {tok!r} must be finite")
        if v < minimum or (strict and v == minimum):
            cmp = ">" if strict else "≥"
            raise InputError(f"{option}: {tok} must be {cmp} {minimum:g}")
        out.append(v)
    return out


def parse_int_list(text, option, *, minimum=1):
    """A comma list of integers ≥ ``minimum``."""
    vals = parse_float_list(text, option, minimum=minimum)
    if any(v != int(v) for v in vals):
        raise InputError(f"{option}: {text!r} must be integers")
    return [int(v) for v in vals]
