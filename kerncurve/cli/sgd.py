"""`kerncurve sgd`: expected test loss of SGD on a linear readout of the features (THEORY §3)."""

import warnings

import click
import numpy as np

from ..errors import InputError, NumericalWarning
from ..plots import plot_curves
from ..table import Table
from ..simulate.sgd import simulate_multipass, simulate_online
from ..spectral import power_law_fit
from ..theory import sgd as th
from .common import input_argument, input_options, output_options, parse_float_list, parse_int_list, run_session

COLUMNS = ["batch", "lr", "step", "samples", "loss"]
EMPIRICAL = ["loss_empirical", "loss_empirical_sem"]
# the exact model costs O(n r²) per step; beyond this n·r² the default model is gaussian
AUTO_BUDGET = 2e8


@click.command("sgd", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--lr", "lr_spec", default=None,
              help="Learning rate(s) η > 0, comma list, or 'opt' (per batch, the η minimizing the final loss).")
@click.option("--lr-frac", type=float, default=None,
              help="Learning rate as a fraction F ∈ (0, 1) of the stability edge η_c of the model  "
                   "[default: 0.5 when --lr is not given]")
@click.option("--batch", "batch_spec", default="1", show_default=True, help="Batch size(s) m ≥ 1, comma list.")
@click.option("--steps", type=int, default=1000, show_default=True, help="Number of SGD steps T.")
@click.option("--points", type=click.IntRange(min=1), default=30, show_default=True,
              help="Log-spaced output steps between 1 and T (step 0 is always included).")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0, comma list (one curve per value; with several, a trailing "
                   "noise column).")
@click.option("--model", type=click.Choice(["auto", "empirical", "exact", "gaussian"]), default="auto",
              show_default=True,
              help="empirical (= exact): recursion with the samples' fourth moments, O(n·M²) per step; "
                   "gaussian: O(M) mode recursion; auto: empirical when n·M² ≤ 2e8, else gaussian.")
@click.option("--compute", type=int, default=None,
              help="Fixed compute C (samples): each batch m runs C // m steps; the summary names the best m.")
@click.option("--train-size", type=int, default=None,
              help="Multi-pass SGD on a fixed random training set of P points (adds train_loss).")
@click.option("--empirical", is_flag=True, help="Also simulate SGD on the same samples (drawn with replacement).")
@click.option("--runs", type=click.IntRange(min=2), default=400, show_default=True,
              help="Independent SGD runs for --empirical.")
@input_options
@output_options
@run_session
def command(s, input, lr_spec, lr_frac, batch_spec, steps, points, noise_spec, model, compute, train_size,
            empirical, runs, **_):
    """Expected test loss of SGD (w₀ = 0) on a linear readout of the features, step by step.

    loss is the expected test MSE against the labels (noisy when --noise > 0) over the n samples:
    tr(Σ C_t) + ⟨y⊥²⟩ + σ²; it includes the unlearnable part of the target, reported in the summary.
    Online SGD draws a fresh batch from the n samples each step; with --train-size it cycles through a
    fixed set of P of them. Diverging losses print as inf.
    """
    rep = s.reporter
    batches = parse_int_list(batch_spec, "--batch", minimum=1)
    lrs, use_opt = _parse_lr(lr_spec, lr_frac)
    if lr_spec is None and lr_frac is None:
        lr_frac = 0.5
    if steps < 1:
        raise InputError(f"--steps must be ≥ 1, got {steps}")
    noises = parse_float_list(noise_spec, "--noise")
    if compute is not None and compute < max(batches):
        raise InputError(f"--compute {compute} is smaller than the largest --batch {max(batches)}; "
                         "each batch size needs at least one step")
    if train_size is not None and train_size < 1:
        raise InputError(f"--train-size must be ≥ 1, got {train_size}")
    if train_size is not None and max(batches) > train_size:
        raise InputError(f"--batch {max(batches)} is larger than --train-size {train_size}; "
                         "batches are drawn from the training set")

    problem = s.load_problem(input)
    with rep.status(f"eigendecomposition (n = {problem.n})"):
        psi, y, info = _features(problem, input)
    if train_size is not None and psi is None:
        raise InputError("--train-size needs samples (features or a Gram); the input is a spectrum cache")
    if empirical and psi is None:
        raise InputError("--empirical needs samples (features or a Gram); the input is a spectrum cache")
    if train_size is not None and train_size > info["n"]:
        raise InputError(f"--train-size {train_size} exceeds the {info['n']} samples of {input}")

    if psi is not None:
        with rep.status(f"feature covariance eigendecomposition (d = {psi.shape[1]})"):
            prob = th.prepare(psi, y)
        lam, w2, unl = prob.eigenvalues, prob.w_star**2, prob.unlearnable
    else:
        prob = None
        lam, w2, unl = info["eigenvalues"], info["w2"], info["unlearnable"]
    if model == "exact":
        model = "empirical"
    if model == "auto":
        model = "empirical" if prob is not None and info["n"] * lam.size**2 <= AUTO_BUDGET else "gaussian"
    if model == "empirical" and prob is None:
        raise InputError("--model empirical needs samples (features or a Gram); the input is a spectrum cache; "
                         "use --model gaussian")

    train = None
    if train_size is not None:
        rng = np.random.default_rng(s.rng_seed)
        idx = np.sort(rng.choice(info["n"], train_size, replace=False))
        eps = rng.standard_normal(train_size)  # one draw, scaled for every noise level
        train = {}
        for noise in noises:
            ytr = y[idx] + (np.sqrt(noise) * eps if noise > 0 else 0.0)
            train[noise] = (psi[idx], ytr, th.prepare(psi[idx], ytr))
        model = "multipass"

    def edge(m):
        if model == "gaussian":
            return th.gaussian_edge(lam, m)
        # the edge depends on the training features only, not on the label noise
        return th.exact_edge(train[noises[0]][2] if train is not None else prob, m)

    with rep.progress("stability edges", len(batches)) as advance:
        edges = {}
        for m in batches:
            edges[m] = edge(m)
            advance()

    def curve(eta, m, out_steps, noise, advance):
        if model == "gaussian":  # O(M) per step: one tick per curve
            loss = th.gaussian_loss(lam, w2, unl + noise, eta, m, out_steps).loss
            advance(1)
            return loss, None
        if model == "multipass":
            tr = train[noise]
            c = th.multipass_loss(tr[0], tr[1], psi, y, eta, m, out_steps, noise, progress=advance)
            return c.test_loss, c.train_loss
        return th.exact_loss(prob, eta, m, out_steps, noise, progress=advance).loss, None

    def grid(m):
        t = compute // m if compute is not None else steps
        return t, np.unique(np.r_[0, np.round(np.geomspace(1, t, points)).astype(np.int64)])

    combos = []  # (batch, lr, steps, output steps, noise), in the order batch, lr, noise
    for m in batches:
        t, out_steps = grid(m)
        if use_opt:
            if model == "multipass":
                raise InputError("--lr opt is not available with --train-size; give --lr or --lr-frac")
            for noise in noises:
                with rep.status(f"optimizing lr (batch {m}, noise {noise:g})"):
                    bs = th.batch_search(prob if prob is not None else _Spec(lam, w2, unl), t * m, [m],
                                         lr="opt", model="gaussian" if model == "gaussian" else "exact",
                                         noise=noise)
                combos.append((m, float(bs.lr[0]), t, out_steps, noise))
        else:
            etas = [lr_frac * edges[m]] if lr_frac is not None else lrs
            combos.extend((m, eta, t, out_steps, noise) for eta in etas for noise in noises)

    cols = {k: [] for k in ["batch", "lr", "step", "samples", "loss", "train_loss", "noise"]}
    finals, slopes = [], []
    total = len(combos) if model == "gaussian" else sum(int(c[3].max()) for c in combos)
    with rep.progress("SGD recursion", total) as advance:
        for m, eta, t, out_steps, noise in combos:
            if eta >= edges[m]:
                warnings.warn(f"--lr {eta!r} is at or above the stability edge η_c = {edges[m]:.6g} of batch {m} "
                              f"({model} model): the loss diverges", NumericalWarning)
            with np.errstate(over="ignore", invalid="ignore"):
                loss, train_loss = curve(eta, m, out_steps, noise, advance)
            cols["batch"].append(np.full(out_steps.size, m))
            cols["lr"].append(np.full(out_steps.size, eta))
            cols["step"].append(out_steps)
            cols["samples"].append(out_steps * m)
            cols["noise"].append(np.full(out_steps.size, noise))
            cols["loss"].append(loss)
            cols["train_loss"].append(train_loss if train_loss is not None else np.full(out_steps.size, np.nan))
            finals.append(float(loss[-1]))
            late = out_steps >= max(1, t // 100)
            slopes.append(th.fit_powerlaw(out_steps[late], loss[late], floor=unl + noise))
    data = {k: np.concatenate(v) for k, v in cols.items()}
    columns = list(COLUMNS)

    if empirical:
        emp = {k: [] for k in ["mean", "sem", "median", "tmean", "tsem", "tmedian"]}
        with rep.progress("simulated SGD", len(combos)) as advance:
            for i, (m, eta, t, out_steps, noise) in enumerate(combos):
                seed = s.rng_seed + i
                if model == "multipass":
                    tr_set = train[noise]
                    te, tr = simulate_multipass(tr_set[0], tr_set[1], psi, y, eta, m, out_steps, runs=runs,
                                                noise=noise, seed=seed)
                    emp["tmean"].append(tr.mean), emp["tsem"].append(tr.sem), emp["tmedian"].append(tr.median)
                else:
                    te = simulate_online(psi, y, eta, m, out_steps, runs=runs, noise=noise, seed=seed)
                emp["mean"].append(te.mean), emp["sem"].append(te.sem), emp["median"].append(te.median)
                advance()
        data["loss_empirical"] = np.concatenate(emp["mean"])
        data["loss_empirical_sem"] = np.concatenate(emp["sem"])
        data["loss_empirical_median"] = np.concatenate(emp["median"])
        columns += EMPIRICAL + ["loss_empirical_median"]
    if model == "multipass":
        columns.append("train_loss")
        if empirical:
            data["train_loss_empirical"] = np.concatenate(emp["tmean"])
            data["train_loss_empirical_sem"] = np.concatenate(emp["tsem"])
            columns += ["train_loss_empirical", "train_loss_empirical_sem"]
    if len(noises) > 1:  # one curve per noise level: say which row is which
        columns.append("noise")
    table = Table(columns, data, int_columns=("batch", "step", "samples"))

    summary = _summary(input, info, model, lam, w2, unl, noises, batches, edges, combos, finals, slopes,
                       compute, data if empirical else None)
    rep.summary("kerncurve sgd", [(k, _show(v)) for k, v in summary.items()])
    if s.opts.get("plot"):
        _plot(s.opts["plot"], combos, data, empirical)
    params = {"lr": lr_spec, "lr_frac": lr_frac, "batch": batches, "steps": steps, "points": points,
              "noise": noises, "model": model, "compute": compute, "train_size": train_size,
              "empirical": empirical, "runs": runs, "seed": s.rng_seed}
    s.emit(table, command="sgd", params=params, summary=summary)


def _show(v):
    if isinstance(v, list):
        return ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v)
    return v


class _Spec:
    """A spectrum-only problem for the Gaussian batch search."""

    def __init__(self, lam, w2, unl):
        self.eigenvalues, self.w_star, self.unlearnable = lam, np.sqrt(w2), unl


def _parse_lr(lr_spec, lr_frac):
    if lr_spec is not None and lr_frac is not None:
        raise InputError("give either --lr or --lr-frac, not both")
    if lr_frac is not None:
        if not (np.isfinite(lr_frac) and 0 < lr_frac < 1):
            raise InputError(f"--lr-frac must lie in (0, 1) (a fraction of the stability edge), got {lr_frac}")
        return [], False
    if lr_spec is None:
        return [], False
    lrs = parse_float_list(lr_spec, "--lr", minimum=0.0, strict=True, keywords=("opt",))
    if "opt" in lrs:
        if len(lrs) > 1:
            raise InputError("--lr: 'opt' cannot be combined with other learning rates")
        return [], True
    return lrs, False


def _features(problem, input):
    """Features (n, r) and targets (n,) from /features or a Gram (Φ = √n U √η); or a spectrum."""
    from ..spectral import check_gram

    if problem.spectrum is not None:
        spec = problem.spectrum
        if spec.coefficients.shape[1] != 1:
            raise InputError(f"{input}: sgd takes one target channel, the spectrum has {spec.coefficients.shape[1]}")
        lam = spec.eigenvalues
        return None, None, {"n": spec.n, "dim": lam.size, "eigenvalues": lam,
                            "w2": spec.coefficients[:, 0] ** 2 / lam, "unlearnable": spec.residual_power,
                            "source": "spectrum cache"}
    y = problem.targets
    if y.shape[1] != 1:
        raise InputError(f"{input}: sgd takes one target channel, the targets have {y.shape[1]}; "
                         "point --targets-key at a single column")
    y = y[:, 0]
    if problem.features is not None:
        psi = problem.features
    else:
        k = check_gram(problem.gram, problem.source_dtype, where=f"{input}: Gram")
        n = k.shape[0]
        eta, u = np.linalg.eigh(k / n)
        if eta.min() < -1e-5 * eta.max():
            raise InputError(f"{input}: the Gram has a significantly negative eigenvalue ({eta.min():.3g}); "
                             "it is not positive semi-definite")
        keep = eta > 1e-12 * eta.max()
        psi = np.sqrt(n) * u[:, keep] * np.sqrt(eta[keep])
    return psi, y, {"n": psi.shape[0], "dim": psi.shape[1], "source": problem.info.get("source", "")}


def _summary(input, info, model, lam, w2, unl, noises, batches, edges, combos, finals, slopes, compute, emp):
    b = power_law_fit(lam)
    tail = np.cumsum((lam * w2)[::-1])[::-1]
    a = power_law_fit(tail) + 1
    summary = {
        "input": input,
        "source": info.get("source", ""),
        "n": info["n"],
        "features": info["dim"],
        "rank": int(lam.size),
        "model": model,
        "noise": noises if len(noises) > 1 else noises[0],
        "unlearnable_power": unl,
        "batch": list(batches),
        "lr_edge": [edges[m] for m in batches],
        "lr_edge_gaussian": [th.gaussian_edge(lam, m) for m in batches],
        "critical_batch": th.critical_batch(lam),
        "lr": [c[1] for c in combos],
        "lr_batch": [c[0] for c in combos],
        "kappa_sgd": [th.kappa_sgd(lam, c[1], c[0]) for c in combos],
        "plateau": [th.plateau(lam, c[1], c[0], unl + c[4]) for c in combos],
        "final_loss": finals,
        "fitted_exponent": slopes,
        "predicted_exponent": th.powerlaw_exponent(a, b) if np.isfinite(a) and np.isfinite(b) else float("nan"),
    }
    if compute is not None:
        best = int(np.argmin(finals))
        summary["compute"] = compute
        summary["best_batch"] = combos[best][0]
        summary["best_lr"] = combos[best][1]
        summary["best_loss"] = finals[best]
    if emp is not None:
        # rows whose spread is round-off (step 0: every run starts at w = 0) carry no information
        ok = (np.isfinite(emp["loss"]) & np.isfinite(emp["loss_empirical"])
              & (emp["loss_empirical_sem"] > 1e-9 * np.abs(emp["loss_empirical"])))
        if ok.any():
            z = np.abs(emp["loss"][ok] - emp["loss_empirical"][ok]) / emp["loss_empirical_sem"][ok]
            summary["max_deviation_sem"] = float(z.max())
    return summary


def _plot(path, combos, data, empirical):
    lines, points = [], []
    start = 0
    for m, eta, _, out_steps, noise in combos:
        sl = slice(start, start + out_steps.size)
        start += out_steps.size
        x, loss = data["step"][sl], data["loss"][sl]
        ok = (x > 0) & np.isfinite(loss) & (loss > 0)
        label = f"m={m}, η={eta:.3g}" + (f", σ²={noise:g}" if noise else "")
        lines.append((f"theory {label}", x[ok], loss[ok]))
        if empirical:
            points.append((f"simulated {label}", x[ok], data["loss_empirical"][sl][ok],
                           data["loss_empirical_sem"][sl][ok]))
    plot_curves(path, lines=lines, points=points, xlabel="step t", ylabel="test loss", title="kerncurve sgd")
