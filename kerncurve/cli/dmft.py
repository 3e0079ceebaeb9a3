"""`kerncurve dmft`: infinite-width feature-learning dynamics (DMFT; docs/dmft.md)."""

import click
import numpy as np

from ..api.dmft import dmft
from ..errors import InputError
from ..io.dmft import KERNEL_FORMAT, KERNEL_FORMAT_VERSION, write_dmft_kernels
from ..plots import plot_curves
from .common import output_options, parse_float_list, parse_int_list, run_session

__all__ = ["command", "KERNEL_FORMAT", "KERNEL_FORMAT_VERSION"]


@click.command("dmft", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", type=click.Path(dir_okay=True, path_type=str), metavar="INPUT")
@click.option("--gamma0", "gamma_spec", required=True,
              help="Richness value(s) γ₀ ≥ 0, comma list (0 = lazy/NTK limit).")
@click.option("--time", "t_max", type=float, required=True, help="Training time T (= η × steps).")
@click.option("--dt", type=float, required=True, help="Time step (= the networks' learning rate η).")
@click.option("--activation", type=click.Choice(["tanh", "relu", "linear"]), default="tanh",
              show_default=True, help="Hidden-layer nonlinearity φ.")
@click.option("--depth", "depth_spec", default="1", show_default=True,
              help="Hidden layers L: 1 = sampled two-layer solver (any φ); L > 1 needs --activation "
                   "linear (deep-linear matrix solver). With --arch resnet: residual blocks, one or a comma "
                   "list (two or more add the L → ∞ limit).")
@click.option("--arch", type=click.Choice(["mlp", "resnet"]), default="mlp", show_default=True,
              help="'resnet': deep linear residual network h^{ℓ+1} = h^ℓ + β₀L^{−α}W^ℓh^ℓ/√N with depth-μP "
                   "learning rates (needs --activation linear).")
@click.option("--alpha", type=float, default=0.5, show_default=True,
              help="--arch resnet: branch exponent α ∈ [0.5, 1] (½ = depth-μP).")
@click.option("--beta0", type=float, default=1.0, show_default=True,
              help="--arch resnet: branch multiplier β₀ ≥ 0.")
@click.option("--samples", type=int, default=2**14, show_default=True,
              help="Sampled hidden units (scrambled Sobol; a power of 2) for the two-layer solver.")
@click.option("--scheme", type=click.Choice(["gd", "euler"]), default=None,
              help="'gd' reads the output off the units/fields (the exact infinite-width limit of gradient "
                   "descent with η = dt); 'euler' steps Δ(t+dt) = Δ − dt·KΔ/P. They differ by "
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
def command(s, input, gamma_spec, t_max, dt, activation, depth_spec, arch, alpha, beta0, samples, scheme, method, damping, tol, max_iter,
            every, inputs_key, targets_key, test_key, test_targets_key, kernel_output, empirical, width,
            seeds, max_memory, **_):
    """Training loss and NTK of an infinitely wide network that learns features.

    Dynamical mean field theory of mean-field (μP) networks with richness γ₀ (Bordelon &
    Pehlevan 2022): f = w·φ(h)/(γ₀N), trained by gradient descent with learning rate ηγ₀²N
    on L = |y − f|²/(2P), time t = η·step, initial output subtracted. Rows: one per γ₀ and
    output time; alignment = yᵀKy/(‖K‖_F |y|²) of the NTK on the training points.
    """
    gammas = parse_float_list(gamma_spec, "--gamma0", minimum=0.0)
    depths = parse_int_list(depth_spec, "--depth", minimum=1)
    if len(depths) > 1 and arch != "resnet":
        raise InputError(f"--depth: {depth_spec!r} lists several depths; that needs --arch resnet (give one depth)")
    depth = depths if arch == "resnet" else depths[0]
    if kernel_output is not None and not kernel_output.lower().endswith((".h5", ".hdf5")):
        raise InputError(f"--kernel-output: {kernel_output!r} must end in .h5 or .hdf5")
    r = dmft(input, gamma0=gammas, time=t_max, dt=dt, activation=activation, depth=depth, arch=arch, alpha=alpha,
             beta0=beta0, samples=samples,
             scheme=scheme, method=method, damping=damping, tol=tol, max_iter=max_iter, every=every,
             inputs_key=inputs_key, targets_key=targets_key, test_key=test_key, test_targets_key=test_targets_key,
             empirical=empirical, width=width, seeds=seeds, max_memory=max_memory, seed=s.rng_seed,
             progress=s.reporter.progress)
    s.reporter.summary("kerncurve dmft", [(k, _show(v)) for k, v in r.summary.items()])
    if s.target("kernel_output"):
        write_dmft_kernels(s.target("kernel_output"), r.kernel_datasets(), n_train=r.n_train, source=input)
    if s.target("plot"):
        _plot(s.target("plot"), r, width)
    s.emit(r)


def _show(v):
    """Lists (one entry per γ₀) as short comma-separated numbers for the stderr summary."""
    if isinstance(v, list):
        return ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
    return v


def _plot(path, r, width):
    tags = [f"γ₀={x.gamma0:g}" for x in r.results]
    if r.summary.get("arch") == "resnet":
        depths = r.summary["depth"]
        tags = [f"{t} L={depths[i % len(depths)]}" for i, t in enumerate(tags)]
    lines = [(f"DMFT {tag}", x.time[1:], x.loss[1:]) for tag, x in zip(tags, r.results)]
    points = []
    if r.networks:
        steps = r.results[0].time.size - 1
        k = np.unique(np.r_[np.linspace(1, steps, min(steps, 12)).round().astype(int)])
        points = [(f"N={width} {tag}", n.time[k], n.loss_mean[k], n.loss_sem[k])
                  for tag, n in zip(tags, r.networks)]
    plot_curves(path, lines=lines, points=points, xlabel="time t = η·step", ylabel="training loss",
                title="kerncurve dmft", logx=False, logy=True)
