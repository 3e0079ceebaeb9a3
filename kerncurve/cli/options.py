"""Click options shared by the subcommands."""

import click

from ..kernels import KERNELS

__all__ = ["input_argument", "input_options", "spectrum_options", "output_options", "group_selection_options",
           "shift_options"]


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
                          "reliable for P ≤ K/4. With --kernel on /inputs the Gram is never formed (kernel blocks "
                          "on the fly)  [default: all modes]"),
        click.option("--landmarks", type=click.IntRange(min=1), default=None, metavar="M",
                     help="Nyström with M landmark inputs (needs --kernel on /inputs; the Gram is never formed): "
                          "the M×M eigenproblem, the rest of the spectrum as the --top-eigen tail."),
        click.option("--landmark-rule", type=click.Choice(["uniform", "kmeans++"]), default="uniform",
                     show_default=True, help="How --landmarks are chosen (seeded by --seed)."),
        click.option("--memory", default=None, metavar="SIZE",
                     help="Memory budget (512M, 2G…): the row blocks of streamed /features (the plain feature "
                          "route is streamed unless the samples are needed in memory, as with --empirical), and "
                          "every array held whole (a Gram, a dataset read at once), checked before it is "
                          "allocated  [default: 512M for streaming blocks; 8G (at most 80% of physical memory) for arrays held whole]"),
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
        click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
                     help="Seed of every random choice (0 ≤ SEED < 2⁶³)."),
        click.option("--debug", is_flag=True, help="Show a traceback on unexpected errors."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def group_selection_options(f):
    """``--train-groups``, ``--test-groups`` and ``--memory`` of the distribution-shift commands."""
    opts = [
        click.option("--train-groups", default=None,
                     help="Restrict the training measure to these /train/groups labels, e.g. 0-6 or 0,2,4."),
        click.option("--test-groups", default=None,
                     help="Restrict the test measure to these /test/groups labels, e.g. 7-9."),
        click.option("--memory", default=None, metavar="SIZE",
                     help="Memory budget (512M, 2G…) for the arrays read and built, checked before they are "
                          "allocated  [default: 8G (at most 80% of physical memory)]"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def shift_options(f):
    """Everything the distribution-shift commands share after their own options: the group
    selections and ``--memory``, the input's dataset keys and kernel, and the output options."""
    return group_selection_options(input_options(output_options(f)))
