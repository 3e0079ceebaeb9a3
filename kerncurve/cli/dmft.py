"""`kerncurve dmft`: infinite-width feature-learning dynamics (DMFT, THEORY §8)."""

import click
import numpy as np

from ..errors import InputError
from ..io import has_dataset, open_h5, read_array
from ..io.cache import dataset, write_h5
from ..plots import plot_curves
from ..table import Table
from ..theory import dmft as theory
from .common import output_options, parse_float_list, run_session

COLUMNS = ["gamma0", "time", "loss", "alignment"]
KERNEL_FORMAT = "kerncurve-dmft-kernel"
KERNEL_FORMAT_VERSION = 1


@click.command("dmft", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="INPUT")
@click.option("--gamma0", "gamma_spec", required=True,
              help="Richness value(s) γ₀ ≥ 0, comma list (0 = lazy/NTK limit).")
@click.option("--time", "t_max", type=float, required=True, help="Training time T (= η × steps).")
@click.option("--dt", type=float, required=True, help="Time step (= the networks' learning rate η).")
@click.option("--activation", type=click.Choice(["tanh", "relu", "linear"]), default="tanh",
              show_default=True, help="Hidden-layer nonlinearity φ.")
@click.option("--depth", type=int, default=1, show_default=True,
              help="Hidden layers L: 1 = sampled two-layer solver (any φ); L > 1 needs --activation "
                   "linear (deep-linear matrix solver).")
@click.option("--samples", type=int, default=2**14, show_default=True,
              help="Sampled hidden units (scrambled Sobol; a power of 2) for the two-layer solver.")
@click.option("--scheme", type=click.Choice(["gd", "euler"]), default=None,
              help="'gd' reads the output off the units/fields (the exact infinite-width limit of gradient "
                   "descent with η = dt); 'euler' steps Δ(t+dt) = Δ − dt·KΔ/P (THEORY §8). They differ by "
                   "O(γ₀ dt).  [default: gd; euler with --method iterate]")
@click.option("--method", type=click.Choice(["forward", "iterate"]), default="forward", show_default=True,
              help="Deep-linear solver: 'forward' = exact causal pass over time; 'iterate' = damped fixed-point "
                   "iteration of the TP×TP equations over growing time windows (--damping, --tol, --max-iter).")
@click.option("--damping", type=float, default=0.7, show_default=True,
              help="Deep-linear solver: mixing weight α of the damped iteration (kernel ← (1−α) kernel + α new).")
@click.option("--tol", type=float, default=1e-9, show_default=True,
              help="Deep-linear solver: convergence tolerance (largest relative change).")
@click.option("--max-iter", type=int, default=200, show_default=True,
              help="Deep-linear solver: iterations allowed per time window.")
@click.option("--every", type=int, default=1, show_default=True,
              help="Write every K-th time step (rows and --kernel-output); the last step is always written.")
@click.option("--inputs-key", default="/inputs", show_default=True, help="Dataset of training inputs (P, D).")
@click.option("--targets-key", default="/targets", show_default=True, help="Dataset of training targets (P,).")
@click.option("--test-key", default=None,
              help="Test points: a dataset of inputs (Q, D), or a group holding 'inputs' and 'targets'.")
@click.option("--test-targets-key", default=None,
              help="Dataset of test targets (Q,)  [default: 'targets' beside --test-key]")
@click.option("--kernel-output", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Write the NTK K(t) at the output times and the final kernel to this .h5 file.")
@click.option("--empirical", is_flag=True, help="Also train centered μP networks (η = dt) and report their mean loss.")
@click.option("--width", type=int, default=1000, show_default=True, help="Width N of the --empirical networks.")
@click.option("--seeds", type=int, default=3, show_default=True, help="Networks per γ₀ for --empirical.")
@click.option("--max-memory", type=float, default=4.0, show_default=True,
              help="Memory budget of the solver in GiB; larger problems are refused.")
@output_options
@run_session
def command(s, input, gamma_spec, t_max, dt, activation, depth, samples, scheme, method, damping, tol, max_iter,
            every, inputs_key, targets_key, test_key, test_targets_key, kernel_output, empirical, width,
            seeds, max_memory, **_):
    """Training loss and NTK of an infinitely wide network that learns features.

    Dynamical mean field theory of mean-field (μP) networks with richness γ₀ (Bordelon &
    Pehlevan 2022): f = w·φ(h)/(γ₀N), trained by gradient descent with learning rate ηγ₀²N
    on L = |y − f|²/(2P), time t = η·step, initial output subtracted. Rows: one per γ₀ and
    output time; alignment = yᵀKy/(‖K‖_F |y|²) of the NTK on the training points.
    """
    rep = s.reporter
    gammas = parse_float_list(gamma_spec, "--gamma0", minimum=0.0)
    if scheme is None:
        scheme = "euler" if (method == "iterate" and depth > 1) else "gd"
    if method == "iterate" and depth > 1 and scheme == "gd":
        raise InputError("--method iterate solves the euler scheme only; use --scheme euler or --method forward")
    _check_options(t_max, dt, depth, activation, samples, damping, tol, max_iter, every, width, seeds,
                   max_memory, empirical)
    if kernel_output is not None:
        if not kernel_output.lower().endswith((".h5", ".hdf5")):
            raise InputError(f"--kernel-output: {kernel_output!r} must end in .h5 or .hdf5")
    x, y, x_test, y_test = _read(input, inputs_key, targets_key, test_key, test_targets_key)
    P, D = x.shape
    Q = 0 if x_test is None else x_test.shape[0]
    steps = int(round(t_max / dt))
    if steps < 1:
        raise InputError(f"--time {t_max:g} is shorter than one step --dt {dt:g}; raise --time or lower --dt")
    _check_memory(P, Q, steps, depth, samples, max_memory, len(gammas), method)
    if empirical:
        # weights, their update and the back-propagated copy, for every seed at once
        net_bytes = 8 * seeds * (3 * (depth - 1) * width**2 + 3 * width * (D + 2 * (P + Q) * depth))
        if net_bytes > max_memory * 2**30:
            raise InputError(f"--empirical: {seeds} networks of width {width} and depth {depth} need "
                             f"{net_bytes / 2**30:.3g} GiB, over the --max-memory budget of {max_memory:g} GiB; "
                             "lower --width or --seeds, or raise --max-memory")
    solver = "two-layer sampler" if depth == 1 else "deep-linear matrix solver"
    if depth == 1 and P + Q + 1 > 21201:
        raise InputError(f"the Sobol sampler supports at most 21200 points (P + Q = {P + Q}); use fewer points")

    kx = theory.input_kernel(np.vstack([x, x_test]) if Q else x)
    results, nets = [], []
    total = steps * len(gammas) * (2 if empirical else 1)
    with rep.progress(f"dmft ({solver})", total) as advance:
        for g in gammas:
            if depth == 1:
                r = theory.two_layer(kx, y, g, t_max, dt, activation, samples=samples, seed=s.rng_seed,
                                     n_test=Q, y_test=y_test, scheme=scheme, progress=advance)
            else:
                r = theory.deep_linear(kx, y, g, t_max, dt, depth=depth, damping=damping, tol=tol,
                                       max_iter=max_iter, n_test=Q, y_test=y_test, method=method,
                                       scheme=scheme, progress=advance)
            results.append(r)
            if empirical:
                from ..simulate.dmft import train_networks

                nets.append(train_networks(x, y, g, t_max, dt, width, depth=depth, activation=activation,
                                           seeds=seeds, seed=s.rng_seed, x_test=x_test, y_test=y_test,
                                           progress=advance))

    idx = np.unique(np.r_[np.arange(0, steps + 1, every), steps])
    columns = list(COLUMNS)
    data = {
        "gamma0": np.repeat(np.asarray(gammas, float), idx.size),
        "time": np.concatenate([r.time[idx] for r in results]),
        "loss": np.concatenate([r.loss[idx] for r in results]),
        "alignment": np.concatenate([r.alignment[idx] for r in results]),
    }
    if y_test is not None:
        columns.append("test_loss")
        data["test_loss"] = np.concatenate([r.test_loss[idx] for r in results])
    if empirical:
        columns += ["loss_empirical", "loss_empirical_sem"]
        data["loss_empirical"] = np.concatenate([n.loss_mean[idx] for n in nets])
        data["loss_empirical_sem"] = np.concatenate([n.loss_sem[idx] for n in nets])
        columns.append("alignment_empirical")
        data["alignment_empirical"] = np.concatenate([n.alignment.mean(0)[idx] for n in nets])
        if y_test is not None:
            columns.append("test_loss_empirical")
            data["test_loss_empirical"] = np.concatenate([n.test_loss.mean(0)[idx] for n in nets])
    table = Table(columns, data)

    summary = {
        "input": input,
        "p": P,
        "d": D,
        "n_test": Q,
        "activation": activation,
        "depth": depth,
        "solver": solver,
        "steps": steps,
        "gamma0": gammas,
        "initial_loss": float(results[0].loss[0]),
        "final_loss": [float(r.loss[-1]) for r in results],
        "final_alignment": [float(r.alignment[-1]) for r in results],
    }
    summary["scheme"] = scheme
    if depth == 1:
        summary["samples"] = samples
    else:
        summary["method"] = method
        if method == "iterate":
            summary["iterations"] = [int(r.iterations) for r in results]
    if y_test is not None:
        summary["final_test_loss"] = [float(r.test_loss[-1]) for r in results]
    if empirical:
        summary["width"] = width
        summary["seeds"] = seeds
        summary["max_relative_deviation"] = [
            float(np.max(np.abs(n.loss_mean - r.loss)) / r.loss[0]) for n, r in zip(nets, results)
        ]
    rep.summary("kerncurve dmft", [(k, _show(v)) for k, v in summary.items()])

    if kernel_output is not None:
        _write_kernels(kernel_output, results, idx, P, input)
    if s.opts.get("plot"):
        lines = [(f"DMFT γ₀={g:g}", r.time[1:], r.loss[1:]) for g, r in zip(gammas, results)]
        points = []
        if empirical:
            k = np.unique(np.r_[np.linspace(1, steps, min(steps, 12)).round().astype(int)])
            points = [(f"N={width} γ₀={g:g}", n.time[k], n.loss_mean[k], n.loss_sem[k])
                      for g, n in zip(gammas, nets)]
        plot_curves(s.opts["plot"], lines=lines, points=points, xlabel="time t = η·step",
                    ylabel="training loss", title="kerncurve dmft", logx=False, logy=True)
    params = {"gamma0": gammas, "time": t_max, "dt": dt, "activation": activation, "depth": depth,
              "samples": samples, "scheme": scheme, "method": method, "damping": damping, "tol": tol, "every": every,
              "test_key": test_key, "empirical": empirical, "width": width, "seeds": seeds, "seed": s.rng_seed}
    s.emit(table, command="dmft", params=params, summary=summary)


def _show(v):
    """Lists (one entry per γ₀) as short comma-separated numbers for the stderr summary."""
    if isinstance(v, list):
        return ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
    return v


def _check_options(t_max, dt, depth, activation, samples, damping, tol, max_iter, every, width, seeds,
                   max_memory, empirical):
    def finite_positive(v, opt):
        if not (np.isfinite(v) and v > 0):
            raise InputError(f"{opt} must be a positive number, got {v:g}")

    finite_positive(t_max, "--time")
    finite_positive(dt, "--dt")
    finite_positive(tol, "--tol")
    finite_positive(max_memory, "--max-memory")
    if depth < 1:
        raise InputError(f"--depth must be ≥ 1 (hidden layers), got {depth}")
    if depth > 1 and activation != "linear":
        raise InputError(f"--depth {depth} with --activation {activation} is not supported yet: deep DMFT is "
                         "solved for linear networks only; use --activation linear or --depth 1")
    if samples < 2:
        raise InputError(f"--samples must be ≥ 2, got {samples}")
    if samples & (samples - 1):
        raise InputError(f"--samples {samples} is not a power of 2 (needed for a balanced Sobol net); "
                         f"try {1 << int(round(np.log2(samples)))}")
    if not 0 < damping <= 1:
        raise InputError(f"--damping must be in (0, 1], got {damping:g}")
    if max_iter < 1:
        raise InputError(f"--max-iter must be ≥ 1, got {max_iter}")
    if every < 1:
        raise InputError(f"--every must be ≥ 1, got {every}")
    if empirical and width < 1:
        raise InputError(f"--width must be ≥ 1, got {width}")
    if empirical and seeds < 1:
        raise InputError(f"--seeds must be ≥ 1, got {seeds}")


def _check_memory(P, Q, steps, depth, samples, max_memory, n_gamma, method):
    budget = max_memory * 2**30
    if depth == 1:
        def need(m):  # the sampler, plus the kernels kept for every γ₀
            return theory.two_layer_memory(m, steps, samples) + (n_gamma - 1) * 8 * (steps + 1) * m * m

        what = f"the two-layer sampler ({samples} samples, {steps} steps)"
    else:
        def need(m):
            return theory.deep_linear_memory(m, steps, depth, method)

        what = f"the deep-linear solver (TP×TP matrices, T = {steps + 1} times, depth {depth})"
    n = P + Q
    if need(n) > budget:
        lo, hi = 0, n  # need() grows with m: bisect for the largest m that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid - 1)
        raise InputError(
            f"P + Q = {n} points (P = {P} train, Q = {Q} test) is too large for {what}: it needs "
            f"{need(n) / 2**30:.3g} GiB, over the --max-memory budget of {max_memory:g} GiB; at most {lo} points "
            "fit — use fewer points, a larger --dt or shorter --time, or raise --max-memory"
        )


def _read(path, inputs_key, targets_key, test_key, test_targets_key):
    with open_h5(path) as f:
        x = read_array(f, inputs_key, ndim=(2,), option="--inputs-key", what="inputs (P, D)")
        y = _targets(f, targets_key, x.shape[0], "--targets-key")
        x_test = y_test = None
        if test_key is not None:
            tk = test_key
            if tk in f and not has_dataset(f, tk):  # a group: inputs + targets inside
                grp = tk.rstrip("/")
                tk = f"{grp}/inputs"
                tt = test_targets_key or f"{grp}/targets"
            else:
                parent = tk.rsplit("/", 1)[0] if "/" in tk.strip("/") else ""
                tt = test_targets_key or f"{parent}/targets"
                if test_targets_key is None and tt == targets_key:
                    raise InputError(f"--test-key {test_key}: name the test targets with --test-targets-key "
                                     f"(the default {tt!r} is the training targets)")
            x_test = read_array(f, tk, ndim=(2,), option="--test-key", what="test inputs (Q, D)")
            if x_test.shape[1] != x.shape[1]:
                raise InputError(f"{path}:{tk} has {x_test.shape[1]} input dimensions but {inputs_key} has "
                                 f"{x.shape[1]}; test points need the same dimension")
            if not has_dataset(f, tt):
                raise InputError(f"test targets {tt!r} not found in {path!r}; set --test-targets-key")
            y_test = _targets(f, tt, x_test.shape[0], "--test-targets-key")
    return x, y, x_test, y_test


def _targets(f, key, n, option):
    y = read_array(f, key, ndim=(1, 2), option=option, what="targets (n,)")
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise InputError(f"{f.filename}:{key} has {y.shape[1]} output channels; dmft supports one "
                             "output channel — store a single target column")
        y = y[:, 0]
    if y.shape[0] != n:
        raise InputError(f"{f.filename}:{key} has {y.shape[0]} targets but there are {n} inputs; "
                         "give one target per input row")
    if not np.any(y != 0):
        raise InputError(f"{f.filename}:{key} is all zeros; the loss would stay at 0")
    return y


def _write_kernels(path, results, idx, P, source):
    def fill(f):
        dataset(f, "gamma0", np.array([r.gamma0 for r in results]))
        dataset(f, "time", results[0].time[idx])
        k = dataset(f, "kernel", np.stack([r.kernel[idx] for r in results]))
        dataset(f, "final_kernel", np.stack([r.kernel[-1] for r in results]))
        k.attrs["axes"] = "gamma0, time, point, point (train first, then test)"

    write_h5(path, fill, fmt=KERNEL_FORMAT, version=KERNEL_FORMAT_VERSION,
             attrs={"source": str(source), "n_train": P}, option="--kernel-output")
