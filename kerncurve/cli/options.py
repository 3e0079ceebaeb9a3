"""Click options shared by the subcommands."""

import click

from ..kernels import KERNELS

__all__ = ["input_argument", "input_options", "spectrum_options", "output_options", "group_selection_options",
           "shift_options", "network_options", "network_kwargs", "NETWORK_OPTIONS"]


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


def _network_table(overrides):
    """Every shared option of the network commands (transfer, limits, heads), by Python name."""
    from ..api._network import NETWORK_DEFAULTS

    D = {"lr": None, **NETWORK_DEFAULTS, **overrides}
    comma = lambda v: v if isinstance(v, str) else ",".join(map(str, v))
    return {
        "param": click.option("--param", default=comma(D["param"]), show_default=True, metavar="LIST",
                              help="Parameterizations, comma list of sp, mup, depth-mup, depth-mup-1, mlp (plain MLP, no skip)."),
        "alpha": click.option("--alpha", type=float, default=D["alpha"],
                              help="Override the branch exponent α of h += β₀L^-α W φ(h)/√N  "
                                   "[default: the preset's: sp, mup 0; depth-mup ½; depth-mup-1 1]"),
        "activation": click.option("--activation", default=D["activation"], show_default=True,
                                   help="φ: tanh, relu, gelu or linear."),
        "optimizer": click.option("--optimizer", default=D["optimizer"], show_default=True,
                                  help="sgd or adam (learning rates scaled per preset)."),
        "batch": click.option("--batch", type=int, default=D["batch"],
                              help="Minibatch size (fresh permutation each epoch)  [default: full batch]"),
        "gamma0": click.option("--gamma0", type=float, default=D["gamma0"], show_default=True,
                               help="Richness γ₀ of the mean-field presets (γ₀ → 0: lazy limit)."),
        "beta0": click.option("--beta0", type=float, default=D["beta0"], show_default=True,
                              help="Branch multiplier β₀ of the mean-field presets."),
        "steps": click.option("--steps", type=int, default=D["steps"], show_default=True,
                              help="Training steps."),
        "seeds": click.option("--seeds", type=int, default=D["seeds"], show_default=True,
                              help="Independent networks (initial weights and batches) per grid point."),
        "lr": click.option("--lr", "lr_spec", default=None if D["lr"] is None else comma(D["lr"]),
                           show_default=D["lr"] is not None, metavar="SPEC",
                           help="Base learning rate(s) η₀: a comma list or START:STOP:NUM (log-spaced)."),
        "width": click.option("--width", "width_spec", default=comma(D["width"]), show_default=True,
                              metavar="SPEC", help="Widths N: comma list or START:STOP:NUM (log-spaced integers)."),
        "depth": click.option("--depth", "depth_spec", default=comma(D["depth"]), show_default=True,
                              metavar="SPEC", help="Residual blocks L: comma list or START:STOP:NUM."),
        "memory": click.option("--memory", default=None, metavar="SIZE",
                               help="Memory budget (512M, 2G…) for the largest batch of networks trained "
                                    "together, checked before training  [default: 8G (at most 80% of "
                                    "physical memory)]"),
        "test_frac": click.option("--test-frac", type=float, default=D["test_frac"], metavar="FRAC",
                                  help="Hold out this fraction of the training rows as the test set (seeded "
                                       "by --seed), for inputs without /test/inputs."),
        "inputs_key": click.option("--inputs-key", default="/inputs", show_default=True,
                                   help="Dataset of the inputs."),
        "targets_key": click.option("--targets-key", default="/targets", show_default=True,
                                    help="Dataset of the targets (n,) or (n, c); one-hot rows for classes."),
        "dtype": click.option("--dtype", default=D["dtype"], show_default=True,
                              help="float32 or float64 arithmetic in JAX."),
    }


NETWORK_OPTIONS = ("param", "alpha", "activation", "optimizer", "batch", "gamma0", "beta0", "steps", "seeds",
                   "lr", "width", "depth", "memory", "test_frac", "inputs_key", "targets_key", "dtype")


def network_options(*names, **defaults):
    """Decorator adding the shared network options ``names`` (all of `NETWORK_OPTIONS` if none).

    ``--seed`` comes with `output_options`. A keyword overrides an option's default
    (``network_options(steps=20)``). The command passes what it got through `network_kwargs`.
    """
    table = _network_table(defaults)
    chosen = names or NETWORK_OPTIONS
    unknown = [n for n in list(chosen) + list(defaults) if n not in table]
    if unknown:
        raise TypeError(f"network_options: unknown options {unknown}")

    def deco(f):
        for name in reversed(chosen):
            f = table[name](f)
        return f

    return deco


def network_kwargs(opts):
    """The shared network options a command received, as keywords of the Python API.

    ``--width``/``--depth`` and ``--lr`` specs are parsed (comma lists or START:STOP:NUM);
    everything is passed on as given for the library to validate, so the API and the command
    line refuse the same values with the same words.
    """
    from .parsing import parse_lr_grid, parse_sizes

    out = {}
    for name in NETWORK_OPTIONS:
        spec = {"lr": "lr_spec", "width": "width_spec", "depth": "depth_spec"}.get(name, name)
        if spec not in opts:
            continue
        value = opts[spec]
        if name in ("width", "depth") and value is not None:
            value = parse_sizes(value, f"--{name}")
        elif name == "lr" and value is not None:
            value = parse_lr_grid(value)
        if name == "lr" and value is None:
            continue  # the command's library default
        out[name] = value
    if "seed" in opts:
        out["seed"] = opts["seed"]
    return out
