"""`kerncurve predict`: the learning curve of kernel regression (THEORY §1)."""

import itertools

import click
import numpy as np

from ..errors import InputError, NumericalWarning
from ..report import Table, plot_curves
from ..simulate.ridge import krr_learning_curve
from ..spectrum import compute_spectrum, top_eigen_warning
from ..theory.modesums import ModeSums
from ..theory.ridge import heldout_error, learning_curve, modal_errors, optimal_ridge
from .common import (
    input_argument,
    input_options,
    output_options,
    parse_float_list,
    parse_p,
    run_session,
    spectrum_options,
)

COLUMNS = ["p", "ridge", "noise", "kappa", "gamma", "eg"]
EMPIRICAL = ["eg_empirical", "eg_empirical_sem"]
TRAILING = ["e_train", "residual"]


@click.command("predict", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--p", "p_spec", required=True, help="Sample sizes: 10,20,50 or START:STOP:NUM (log-spaced).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True,
              help="Absolute ridge(s) λ ≥ 0, comma list, or 'opt' (per P, the λ minimizing predicted error).")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0 (summed over channels), comma list.")
@click.option("--empirical", is_flag=True, help="Also run exact kernel ridge regression on the data.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random training sets per P for --empirical.")
@click.option("--modes-output", type=click.Path(dir_okay=False), default=None,
              help="Write per-mode learnability and modal error (decomposition (a)) as CSV.")
@click.option("--modes-top", type=click.IntRange(min=1), default=None,
              help="Only the top K modes in --modes-output  [default: all]")
@input_options
@spectrum_options
@output_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, empirical, trials, modes_output, modes_top, **_):
    """Predicted test error of kernel ridge regression versus sample size P.

    eg is the expected test MSE against the clean target over the n samples (the population),
    summed over output channels; e_train is the training MSE on the noisy labels; residual
    is the relative residual of the κ equation (Σ_k L_k + λ/k' = P). With --empirical,
    eg_empirical is measured on the held-out points, and eg_heldout is the theory's
    prediction for exactly that (the summary's deviations compare those two).
    """
    rep = s.reporter
    p = parse_p(p_spec)
    ridges = parse_float_list(ridge_spec, "--ridge", keywords=("opt",))
    noises = parse_float_list(noise_spec, "--noise")
    use_opt = "opt" in ridges
    if use_opt and len(ridges) > 1:
        raise InputError("--ridge: 'opt' cannot be combined with other ridge values")
    if modes_output is not None:
        from ..io import check_output_path

        check_output_path(modes_output, "--modes-output")
    problem = s.load_problem(input)
    n = problem.n
    if empirical:
        if not problem.has_samples:
            raise InputError("--empirical needs samples (features, Gram or inputs); the input is a spectrum cache")
        if p.max() >= n:
            raise InputError(f"--empirical: largest --p is {p.max()} but n = {n}; P must be < n to leave test points")
    with s.reporter.status(f"eigendecomposition (n = {problem.n})"):
        spec = compute_spectrum(problem)
    eta, v2, vperp = spec.eigenvalues, spec.target_power, spec.residual_power
    ms = ModeSums(eta, {"one": 1.0, "power": v2})
    top_msg = top_eigen_warning(spec, float(p.max()))
    if top_msg:
        rep.warn(top_msg)
    if np.any(p > 0.2 * n):
        rep.warn(
            f"P up to {p.max()} exceeds 0.2 n = {0.2 * n:g}: the theory assumes training sets much smaller than the "
            "n samples and drifts beyond (THEORY §0)"
        )

    nn = np.asarray(noises, float)
    if use_opt:
        lam = optimal_ridge(None, None, vperp, p[:, None], nn[None, :], mode_sums=ms)  # (nP, nNoise)
        pg = np.broadcast_to(p[:, None], lam.shape).astype(float)
        ng = np.broadcast_to(nn[None, :], lam.shape)
        curve = learning_curve(None, None, vperp, pg.ravel(), lam.ravel(), ng.ravel(), mode_sums=ms)
    else:
        grid = np.array(list(itertools.product(p, ridges, noises)), float)
        curve = learning_curve(None, None, vperp, grid[:, 0], grid[:, 1], grid[:, 2], mode_sums=ms)

    data = {"p": curve.p.astype(np.int64), "ridge": curve.ridge, "noise": curve.noise, "kappa": curve.kappa,
            "gamma": curve.gamma, "eg": curve.eg, "e_train": curve.e_train, "residual": curve.residual}
    columns = list(COLUMNS)
    if empirical:
        if use_opt:
            # the optimal ridge differs per (P, noise): simulate each row's own ridge
            mean = np.empty(curve.p.size)
            sem = np.empty(curve.p.size)
            with rep.progress("kernel ridge regression", trials * curve.p.size) as advance:
                for i in range(curve.p.size):  # one row per (P, σ²): a handful of rows
                    r = krr_learning_curve(problem, [int(curve.p[i])], [curve.ridge[i]], [curve.noise[i]],
                                           trials=trials, seed=s.rng_seed, progress=advance)
                    mean[i], sem[i] = r.mean.ravel()[0], r.sem.ravel()[0]
        else:
            with rep.progress("kernel ridge regression", trials * p.size) as advance:
                r = krr_learning_curve(problem, p, ridges, noises, trials=trials, seed=s.rng_seed, progress=advance)
            mean, sem = r.mean.ravel(), r.sem.ravel()
        data["eg_empirical"], data["eg_empirical_sem"] = mean, sem
        columns += EMPIRICAL
    columns += TRAILING
    if empirical:
        # the experiment tests on held-out points; the theory's E_g is over all n samples
        data["eg_heldout"] = heldout_error(curve, n).ravel()
        columns.append("eg_heldout")
    table = Table(columns, data, int_columns=("p",))

    if np.any(np.isinf(curve.eg)):
        rep.warn("E_g is inf at the ridgeless interpolation point P = rank (noise or unlearnable power present); "
                 "any ridge > 0 removes the divergence")
    max_res = float(np.max(curve.residual))
    if max_res > 1e-10:
        import warnings

        warnings.warn(f"κ equation residual {max_res:.2g} exceeds 1e-10", NumericalWarning)

    summary = {
        "input": input,
        "source": problem.info.get("source", ""),
        "n": n,
        "rank": spec.rank,
        "trace": float(eta.sum()),
        "total_power": spec.total_power,
        "unlearnable_power": vperp,
        "points": len(table),
        "max_residual": max_res,
    }
    if spec.exact_modes is not None:
        summary["top_eigen"] = spec.exact_modes
        summary["tail_modes"] = spec.rank - spec.exact_modes
    for key in ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth"):
        if key in problem.info:
            summary[key] = problem.info[key]
    if empirical:
        ho = data["eg_heldout"]
        finite = np.isfinite(ho) & (ho > 1e-12 * spec.total_power) & (data["eg_empirical"] > 0)
        if finite.any():
            dev = ho[finite] / data["eg_empirical"][finite] - 1
            summary["max_relative_deviation"] = float(np.max(np.abs(dev)))
            summary["mean_relative_deviation"] = float(np.mean(dev))
            sem = data["eg_empirical_sem"][finite]
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.abs(ho[finite] - data["eg_empirical"][finite]) / sem
            summary["max_deviation_in_sem"] = float(np.max(np.where(sem > 0, z, 0.0)))
    rep.summary("kerncurve predict", list(summary.items()))

    if modes_output is not None:
        _write_modes(modes_output, spec, curve, modes_top)
    if s.opts.get("plot"):
        _plot(s.opts["plot"], curve, data if empirical else None)
    params = {"p": p.tolist(), "ridge": ridges, "noise": noises, "empirical": empirical, "trials": trials,
              "seed": s.rng_seed, "kernel": s.opts.get("kernel")}
    s.emit(table, command="predict", params=params, summary=summary)


def _write_modes(path, spec, curve, top):
    from ..io import atomic_open

    m = spec.rank if top is None else min(top, spec.rank)
    lk, modal, unlearnable = modal_errors(spec.eigenvalues[:m], spec.target_power[:m], spec.residual_power, curve)
    # modal_errors on a truncated spectrum would change nothing: L_k depends on κ only
    npt = curve.p.size
    k = np.tile(np.arange(1, m + 1), npt)
    rep = np.repeat(np.arange(npt), m)
    table = Table(
        ["p", "ridge", "noise", "k", "eigenvalue", "learnability", "modal_error"],
        {
            "p": curve.p.ravel()[rep].astype(np.int64),
            "ridge": curve.ridge.ravel()[rep],
            "noise": curve.noise.ravel()[rep],
            "k": k,
            "eigenvalue": np.tile(spec.eigenvalues[:m], npt),
            "learnability": lk.ravel(),
            "modal_error": modal.ravel(),
        },
        int_columns=("p", "k"),
    )
    with atomic_open(path) as fh:
        fh.write(f"# modal errors, decomposition (a) of THEORY §1; unlearnable bin v_perp^2 = {unlearnable!r}\n")
        table.write_csv(fh)


def _plot(path, curve, data):
    lines, points = [], []
    keys = sorted({(r, z) for r, z in zip(curve.ridge.ravel(), curve.noise.ravel())})
    if len(keys) > 8:  # --ridge opt: one ridge per row; group by noise only
        keys = None
    groups = {}
    for i in range(curve.p.size):
        key = (curve.noise.ravel()[i],) if keys is None else (curve.ridge.ravel()[i], curve.noise.ravel()[i])
        groups.setdefault(key, []).append(i)
    for key, idx in groups.items():
        idx = np.array(idx)
        label = f"σ²={key[-1]:g}" + ("" if len(key) == 1 else f", λ={key[0]:g}")
        # with an experiment, draw the theory of exactly what it measures (held-out error)
        eg = data["eg_heldout"][idx] if data is not None else curve.eg.ravel()[idx]
        ok = np.isfinite(eg) & (eg > 0)
        kind = "theory (held-out)" if data is not None else "theory"
        lines.append((f"{kind} {label}", curve.p.ravel()[idx][ok], eg[ok]))
        if data is not None:
            points.append((f"empirical {label}", curve.p.ravel()[idx], data["eg_empirical"][idx],
                           data["eg_empirical_sem"][idx]))
    plot_curves(path, lines=lines, points=points, xlabel="P (training samples)", ylabel="test MSE $E_g$",
                title="kerncurve predict")
