"""`kerncurve shift` and `kerncurve shift-optimize`: learning curves under distribution shift
(THEORY §2).

INPUT holds two groups, ``/train`` (the pool the training points are drawn from) and
``/test`` (the points the error is measured on). Each holds ``features`` (linear kernel), or
``inputs`` with ``--kernel``, and ``targets``; or Gram blocks ``/train/gram`` (n×n) and
``/test/gram_cross`` (n_test×n). Optional ``weights`` (a measure over the group's points,
uniform if absent) and ``groups`` (integer labels, e.g. classes). The ``--*-key`` options
name the dataset *inside* each group (``--features-key /features`` reads
``/train/features`` and ``/test/features``).
"""

import itertools

import click
import numpy as np

from ..errors import InputError
from ..io import has_dataset, open_h5, read_array
from ..io.outputs import write_bytes
from ..kernels import build_kernel, kernel_matrix
from ..plots import plot_curves
from ..table import Table
from ..simulate.shift import simulate_shift
from ..spectral import check_gram
from ..theory.shift import (
    check_measure,
    optimize_test_measure,
    optimize_train_measure,
    pointwise_error,
    shift_curve,
    shift_problem_from_features,
    shift_problem_from_gram,
)
from .common import input_argument, input_options, output_options, parse_float_list, parse_p, run_session

COLUMNS = ["p", "ridge", "noise", "kappa", "gamma", "eg_test", "eg_train"]
EMPIRICAL = ["eg_test_empirical", "eg_test_empirical_sem"]
TRAILING = ["eg_test_bias", "eg_test_variance", "gamma_test"]
OBJECTIVES = ("train-measure", "beneficial-test", "adversarial-test")


class ShiftData:
    """Validated contents of a shift input: kernel blocks or features, targets, measures."""

    def __init__(self, path):
        self.path = path
        self.info = {}
        self.gram = self.cross = self.features = self.test_features = None

    @property
    def n_train(self):
        return self.y_p.shape[0]

    @property
    def n_test(self):
        return self.y_q.shape[0]

    def blocks(self):
        """(K_pp, K_qp), built from features when needed."""
        if self.gram is not None:
            return self.gram, self.cross
        return self.features @ self.features.T, self.test_features @ self.features.T

    def problem(self):
        """The ShiftProblem by the cheapest route (d×d when features have d < n)."""
        if self.features is not None and self.features.shape[1] < self.n_train:
            return shift_problem_from_features(self.features, self.test_features, self.y_p, self.y_q, self.p, self.q)
        K, C = self.blocks()
        return shift_problem_from_gram(K, C, self.y_p, self.y_q, self.p, self.q)

    def simulate(self, P, ridges, noises, p=None, **kw):
        kind = ({"features": self.features, "test_features": self.test_features} if self.gram is None
                else {"gram": self.gram, "cross": self.cross})
        return simulate_shift(self.y_p, self.y_q, P, ridges, noises, p=self.p if p is None else p, q=self.q,
                              **kind, **kw)


def _key(key):
    return key.strip("/")


def _require_group(f, name):
    import h5py

    if name not in f or not isinstance(f[name], h5py.Group):
        raise InputError(f"group '/{name}' not found in {f.filename!r}; a shift input needs /train and /test groups "
                         "(see README: HDF5 schema)")


def _read_groups(f, key, n):
    where = f"{f.filename}:{key}"
    if not has_dataset(f, key):
        raise InputError(f"{where} is a group, not a dataset; store the labels as a 1-D integer array")
    obj = f[key]
    if obj.dtype.kind not in "iuf" or obj.ndim != 1:
        raise InputError(f"{where} must be a 1-D array of integer group labels (dtype {obj.dtype}, shape {obj.shape})")
    g = obj[()]
    if g.shape[0] != n:
        raise InputError(f"{where} has {g.shape[0]} labels but the group has {n} points; give one label per point")
    if g.dtype.kind == "f":
        if not np.all(np.isfinite(g)) or np.any(g != np.round(g)):
            raise InputError(f"{where} holds non-integer values; group labels must be integers")
        g = g.astype(np.int64)
    return g.astype(np.int64)


def _parse_group_list(text, option):
    """'0-6' or '0,2,4' or '0-2,7' → set of ints."""
    out = set()
    for tok in text.split(","):
        tok = tok.strip()
        try:
            if "-" in tok[1:]:
                a, b = tok[0] + tok[1:].split("-", 1)[0], tok[1:].split("-", 1)[1]
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(tok))
        except ValueError:
            raise InputError(f"{option}: {tok!r} is not a group label or range like 0-6; give e.g. 0-6 or 0,2,4") from None
    return out


def load_shift(path, opts):
    """Read and validate a shift input (CONTRACT §2 ``/train``, ``/test``)."""
    d = ShiftData(path)
    fkey, gkey = _key(opts.get("features_key") or "/features"), _key(opts.get("gram_key") or "/gram")
    tkey, ikey = _key(opts.get("targets_key") or "/targets"), _key(opts.get("inputs_key") or "/inputs")
    kernel = opts.get("kernel")
    with open_h5(path) as f:
        _require_group(f, "train")
        _require_group(f, "test")
        tr, te = f["train"], f["test"]
        if kernel is not None:
            srcs = []
            for g, name in ((tr, "train"), (te, "test")):
                key = ikey if ikey in g else (fkey if fkey in g else None)
                if key is None:
                    raise InputError(f"--kernel {kernel} needs raw inputs, but {path!r} has neither /{name}/{ikey} nor "
                                     f"/{name}/{fkey}; add them or set --inputs-key")
                srcs.append(read_array(f, f"/{name}/{key}", ndim=(2,), option="--inputs-key", what="inputs (n, d_in)"))
            xp, xq = srcs
            _same_dim(xp, xq, path, "inputs")
            kp = {"bandwidth": opts.get("bandwidth"), "degree": opts.get("degree", 2), "depth": opts.get("depth", 1)}
            d.gram, info = build_kernel(kernel, xp, **kp)
            params = {k: info.get(k, kp[k]) for k in ("bandwidth", "degree", "depth")}
            d.cross = kernel_matrix(kernel, xq, xp, bandwidth=params["bandwidth"], degree=int(params["degree"]),
                                    depth=int(params["depth"]))
            d.info.update(info, source=f"{kernel} kernel of /train and /test inputs")
        elif gkey in tr:
            k = read_array(f, f"/train/{gkey}", ndim=(2,), option="--gram-key", what="the Gram (n, n)")
            if k.shape[0] != k.shape[1]:
                raise InputError(f"{path}:/train/{gkey} is not square (shape {k.shape}); a Gram matrix must be n×n")
            d.gram = check_gram(k, f[f"train/{gkey}"].dtype, f"{path}:/train/{gkey}")
            if "gram_cross" not in te:
                raise InputError(f"dataset '/test/gram_cross' not found in {path!r}; with /train/{gkey} the test "
                                 "group needs the cross Gram K(test, train) of shape (n_test, n_train)")
            c = read_array(f, "/test/gram_cross", ndim=(2,), what="the cross Gram (n_test, n_train)")
            if c.shape[1] != k.shape[0]:
                raise InputError(f"{path}:/test/gram_cross has shape {c.shape} but /train/{gkey} has "
                                 f"{k.shape[0]} points; it must be (n_test, {k.shape[0]})")
            d.cross = c
            d.info["source"] = f"/train/{gkey}, /test/gram_cross"
        elif fkey in tr:
            xp = read_array(f, f"/train/{fkey}", ndim=(2,), option="--features-key", what="features (n, d)")
            if fkey not in te:
                raise InputError(f"dataset '/test/{fkey}' not found in {path!r}; the test group needs features like "
                                 "/train (or set --features-key)")
            xq = read_array(f, f"/test/{fkey}", ndim=(2,), option="--features-key", what="features (n, d)")
            _same_dim(xp, xq, path, "features")
            d.features, d.test_features = xp, xq
            d.info["source"] = f"/train/{fkey}, /test/{fkey}"
        else:
            raise InputError(f"{path!r} has no /train/{gkey} or /train/{fkey} dataset (and no --kernel with "
                             f"/train/{ikey}); see README: HDF5 schema")
        n_p = d.gram.shape[0] if d.gram is not None else d.features.shape[0]
        n_q = d.cross.shape[0] if d.cross is not None else d.test_features.shape[0]
        ys = []
        for name, n in (("train", n_p), ("test", n_q)):
            y = read_array(f, f"/{name}/{tkey}", ndim=(1, 2), option="--targets-key", what="targets (n,) or (n, c)")
            y = y[:, None] if y.ndim == 1 else y
            if y.shape[0] != n:
                raise InputError(f"{path}:/{name}/{tkey} has {y.shape[0]} rows but /{name} has {n} points; give one "
                                 "target per point")
            ys.append(y)
        d.y_p, d.y_q = ys
        if d.y_p.shape[1] != d.y_q.shape[1]:
            raise InputError(f"{path}: /train/{tkey} has {d.y_p.shape[1]} channels but /test/{tkey} "
                             f"{d.y_q.shape[1]}; give both the same number of output channels")
        for name, n in (("train", n_p), ("test", n_q)):
            w = None
            if "weights" in f[name]:
                w = read_array(f, f"/{name}/weights", ndim=(1,), what="the weights (n,)")
            w = check_measure(w, n, f"{path}:/{name}/weights")
            g = _read_groups(f, f"/{name}/groups", n) if "groups" in f[name] else None
            setattr(d, "p" if name == "train" else "q", w)
            setattr(d, "groups_p" if name == "train" else "groups_q", g)
    for name, opt in (("train", "--train-groups"), ("test", "--test-groups")):
        sel = opts.get(name + "_groups")
        if sel is None:
            continue
        g = d.groups_p if name == "train" else d.groups_q
        if g is None:
            raise InputError(f"{opt} needs group labels, but {path!r} has no /{name}/groups dataset")
        keep = np.isin(g, sorted(_parse_group_list(sel, opt)))
        w = (d.p if name == "train" else d.q) * keep
        if not w.sum() > 0:
            raise InputError(f"{opt} {sel}: no /{name} point with positive weight is in these groups; "
                             f"labels present: {', '.join(map(str, np.unique(g)))}")
        setattr(d, "p" if name == "train" else "q", w / w.sum())
    return d


def _same_dim(a, b, path, what):
    if a.shape[1] != b.shape[1]:
        raise InputError(f"{path}: /train {what} have dimension {a.shape[1]} but /test {what} {b.shape[1]}; "
                         "both groups need the same dimension")


def shift_options(f):
    opts = [
        click.option("--train-groups", default=None,
                     help="Restrict the training measure to these /train/groups labels, e.g. 0-6 or 0,2,4."),
        click.option("--test-groups", default=None,
                     help="Restrict the test measure to these /test/groups labels, e.g. 7-9."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _support_warning(rep, d, pmax):
    n_eff = 1.0 / np.sum(d.p**2)
    if pmax > 0.2 * n_eff:
        rep.warn(f"P up to {int(pmax)} exceeds 0.2 × the effective training pool ({n_eff:.0f} points, 1/Σp²): the "
                 "theory assumes training sets much smaller than the pool and drifts beyond (THEORY §0)")


def _check_empirical(d, pmax):
    support = int(np.sum(d.p > 0))
    if pmax > support:
        raise InputError(f"--empirical: --p {int(pmax)} is larger than the training pool ({support} points with "
                         "positive weight); use P at most the pool size")


@click.command("shift", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--p", "p_spec", required=True, help="Sample sizes: 10,20,50 or START:STOP:NUM (log-spaced).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True, help="Absolute ridge(s) λ ≥ 0, comma list.")
@click.option("--noise", "noise_spec", default="0", show_default=True,
              help="Label-noise variance(s) σ² ≥ 0 (summed over channels), comma list.")
@click.option("--empirical", is_flag=True, help="Also train kernel ridge regression on P points drawn from p.")
@click.option("--trials", type=click.IntRange(min=2), default=20, show_default=True,
              help="Random training sets per P for --empirical.")
@click.option("--pointwise-output", type=click.Path(dir_okay=False), default=None,
              help="Write the predicted error e(x) at every test point (p, ridge, noise, index, group, error) as CSV.")
@shift_options
@input_options
@output_options
@run_session
def command(s, input, p_spec, ridge_spec, noise_spec, empirical, trials, pointwise_output, **opts):
    """Predicted test error under distribution shift: train on P points drawn from the /train
    measure p, test on the /test points weighted by q (THEORY §2).

    eg_test is the MSE against the clean test targets under q (summed over channels), split
    into eg_test_bias (the mean predictor's error on q) and eg_test_variance; eg_train is
    the training MSE on the noisy labels under p. With --empirical, training sets are drawn
    from p (distinct points when p is uniform on its support, i.i.d. with replacement
    otherwise) and the error is measured on the test points weighted by q.
    """
    rep = s.reporter
    p = parse_p(p_spec)
    ridges = parse_float_list(ridge_spec, "--ridge")
    noises = parse_float_list(noise_spec, "--noise")
    d = load_shift(input, s.opts)
    if empirical:
        _check_empirical(d, p.max())
    _support_warning(rep, d, p.max())
    with rep.status(f"eigendecomposition (n = {d.n_train})"):
        problem = d.problem()
    grid = np.array(list(itertools.product(p, ridges, noises)), float)
    curve = shift_curve(problem, grid[:, 0], grid[:, 1], grid[:, 2])
    data = {"p": grid[:, 0].astype(np.int64), "ridge": grid[:, 1], "noise": grid[:, 2], "kappa": curve.kappa,
            "gamma": curve.gamma, "eg_test": curve.eg_test, "eg_train": curve.eg_train,
            "eg_test_bias": curve.eg_test_bias, "eg_test_variance": curve.eg_test_variance,
            "gamma_test": curve.gamma_test}
    columns = list(COLUMNS)
    sim = None
    if empirical:
        with rep.progress("kernel ridge regression", trials * p.size) as advance:
            sim = d.simulate(p, ridges, noises, trials=trials, seed=s.rng_seed, pointwise=pointwise_output is not None,
                             progress=advance)
        data["eg_test_empirical"], data["eg_test_empirical_sem"] = sim.eg_test.ravel(), sim.eg_test_sem.ravel()
        columns += EMPIRICAL
    columns += TRAILING
    table = Table(columns, data, int_columns=("p",))
    if np.any(np.isinf(curve.eg_test)):
        rep.warn("E_g is inf at the ridgeless interpolation point P = rank (noise or unlearnable power present); "
                 "any ridge > 0 removes the divergence")

    summary = {
        "input": input,
        "source": d.info.get("source", ""),
        "n_train": d.n_train,
        "n_test": d.n_test,
        "train_support": int(np.sum(d.p > 0)),
        "test_support": int(np.sum(d.q > 0)),
        "modes": problem.n_modes,
        "train_residual_power": problem.train_residual_power,
        "test_residual_power": problem.test_residual_power,
        "cross_norm": float(np.linalg.norm(problem.cross)),
        "points": len(table),
    }
    for key in ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth"):
        if key in d.info:
            summary[key] = d.info[key]
    if empirical:
        th, em = curve.eg_test, sim.eg_test.ravel()
        ok = np.isfinite(th) & (em > 0) & (th > 0)
        if ok.any():
            dev = th[ok] / em[ok] - 1
            summary["max_relative_deviation"] = float(np.max(np.abs(dev)))
            summary["mean_relative_deviation"] = float(np.mean(dev))
    rep.summary("kerncurve shift", list(summary.items()))

    if pointwise_output is not None:
        _write_pointwise(pointwise_output, problem, d, grid, sim)
    if s.opts.get("plot"):
        _plot(s.opts["plot"], grid, curve, sim)
    params = {"p": p.tolist(), "ridge": ridges, "noise": noises, "empirical": empirical, "trials": trials,
              "seed": s.rng_seed, "kernel": s.opts.get("kernel"), "train_groups": s.opts.get("train_groups"),
              "test_groups": s.opts.get("test_groups")}
    s.emit(table, command="shift", params=params, summary=summary)


def _write_pointwise(path, problem, d, grid, sim):
    e = pointwise_error(problem, grid[:, 0], grid[:, 1], grid[:, 2])  # (rows, n_q)
    rows, n_q = e.shape
    rep = np.repeat(np.arange(rows), n_q)
    groups = d.groups_q if d.groups_q is not None else np.full(n_q, -1)
    data = {"p": grid[rep, 0].astype(np.int64), "ridge": grid[rep, 1], "noise": grid[rep, 2],
            "index": np.tile(np.arange(n_q), rows), "group": np.tile(groups, rows), "error": e.ravel()}
    cols = ["p", "ridge", "noise", "index", "group", "error"]
    if sim is not None and sim.pointwise is not None:
        data["error_empirical"] = sim.pointwise.reshape(rows, n_q).ravel()
        cols.append("error_empirical")
    table = Table(cols, data, int_columns=("p", "index", "group"))
    write_bytes(path, table.to_csv("predicted error e(x) at every /test point (pointwise form of the shift "
                                   "theory); group -1 = no labels").encode("utf-8"), "--pointwise-output")


def _plot(path, grid, curve, sim):
    lines, points = [], []
    keys = sorted({(r, z) for r, z in grid[:, 1:]})
    for r, z in keys:
        idx = np.flatnonzero((grid[:, 1] == r) & (grid[:, 2] == z))
        label = f"λ={r:g}, σ²={z:g}"
        eg = curve.eg_test[idx]
        ok = np.isfinite(eg) & (eg > 0)
        lines.append((f"theory {label}", grid[idx, 0][ok], eg[ok]))
        if sim is not None:
            points.append((f"empirical {label}", grid[idx, 0], sim.eg_test.ravel()[idx], sim.eg_test_sem.ravel()[idx]))
    plot_curves(path, lines=lines, points=points, xlabel="P (training samples from p)",
                ylabel="test MSE under q", title="kerncurve shift")


def _single(values, option):
    if len(values) != 1:
        raise InputError(f"{option}: shift-optimize takes a single value, got {len(values)}")
    return values[0]


@click.command("shift-optimize", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--p", "p_spec", required=True, help="The sample size P (one value).")
@click.option("--ridge", "ridge_spec", default="0", show_default=True, help="Absolute ridge λ ≥ 0.")
@click.option("--noise", "noise_spec", default="0", show_default=True, help="Label-noise variance σ² ≥ 0.")
@click.option("--objective", default="train-measure", show_default=True,
              help="train-measure (minimize predicted test error over p), beneficial-test or adversarial-test "
                   "(minimize / maximize it over q).")
@click.option("--per-group", is_flag=True, help="One weight per group (/train/groups or /test/groups), uniform within.")
@click.option("--steps", type=click.IntRange(min=1), default=50, show_default=True,
              help="Optimizer iterations (train-measure).")
@click.option("--temperature", type=float, default=None,
              help="τ > 0: also the tilted test measure q ∝ q₀·exp(∓e/τ).")
@click.option("--kl-budget", type=float, default=None,
              help="ρ > 0: the tilted test measure with KL(q‖q₀) = ρ (τ found by a 1-D search).")
@click.option("--empirical", is_flag=True, help="Also measure the error of the reference and optimized measures.")
@click.option("--trials", type=click.IntRange(min=2), default=20, show_default=True,
              help="Random training sets for --empirical.")
@shift_options
@input_options
@output_options
@run_session
def optimize_command(s, input, p_spec, ridge_spec, noise_spec, objective, per_group, steps, temperature, kl_budget,
                     empirical, trials, **opts):
    """Optimize a measure: the training measure over the /train points that minimizes the
    predicted test error (L-BFGS-B, analytic gradient by implicit differentiation of κ), or
    the test measure over the /test points that is best (beneficial-test) or worst
    (adversarial-test) for the /train measure: the vertex (a point, or a group with
    --per-group) and, with --temperature or --kl-budget, the tilt q ∝ q₀·exp(∓e/τ).

    Output: index, weight (or group, weight with --per-group; then also each group's
    predicted error, and measured with --empirical). train-measure starts from, and reports
    against, the uniform measure over the training support.
    """
    rep = s.reporter
    if objective not in OBJECTIVES:
        raise InputError(f"--objective: unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    if temperature is not None and not temperature > 0:
        raise InputError(f"--temperature must be positive, got {temperature}")
    if kl_budget is not None and not kl_budget > 0:
        raise InputError(f"--kl-budget must be positive, got {kl_budget}")
    P = int(_single(parse_p(p_spec), "--p"))
    ridge = float(_single(parse_float_list(ridge_spec, "--ridge"), "--ridge"))
    noise = float(_single(parse_float_list(noise_spec, "--noise"), "--noise"))
    d = load_shift(input, s.opts)
    if empirical:
        _check_empirical(d, P)
    if objective == "train-measure":
        table, summary = _optimize_train(s, d, P, ridge, noise, per_group, steps, empirical, trials)
    else:
        table, summary = _optimize_test(s, d, P, ridge, noise, objective, per_group, temperature, kl_budget,
                                        empirical, trials)
    summary = {"input": input, "objective": objective, "p": P, "ridge": ridge, "noise": noise, **summary}
    rep.summary("kerncurve shift-optimize", list(summary.items()))
    params = {"p": P, "ridge": ridge, "noise": noise, "objective": objective, "per_group": per_group,
              "steps": steps, "temperature": temperature, "kl_budget": kl_budget, "empirical": empirical,
              "trials": trials, "seed": s.rng_seed, "kernel": s.opts.get("kernel"),
              "train_groups": s.opts.get("train_groups"), "test_groups": s.opts.get("test_groups")}
    s.emit(table, command="shift-optimize", params=params, summary=summary)


def _optimize_train(s, d, P, ridge, noise, per_group, steps, empirical, trials):
    rep = s.reporter
    if per_group and d.groups_p is None:
        raise InputError(f"--per-group needs /train/groups in {d.path!r}")
    support = np.flatnonzero(d.p > 0)
    K, C = d.blocks()
    Ks = K[np.ix_(support, support)]
    Cs = C[:, support]
    groups = d.groups_p[support] if per_group else None
    _support_warning(rep, d, P)
    with rep.progress("optimizing the training measure", steps) as advance:
        res = optimize_train_measure(Ks, Cs, d.y_p[support], d.y_q, d.q, P, ridge, noise, groups=groups, steps=steps,
                                     callback=lambda i, e: advance(1))
    weights = np.zeros(d.n_train)
    weights[support] = res.weights
    n_eff = 1.0 / np.sum(res.weights**2)
    if P > 0.2 * n_eff:
        rep.warn(f"the optimized measure has {n_eff:.0f} effective points (1/Σp²) for P = {P}: the theory is less "
                 "reliable there (THEORY §0); check with --empirical")
    summary = {"n_train": d.n_train, "pool": int(support.size), "eg_uniform": res.eg_initial,
               "eg_optimized": res.eg_optimized, "relative_change": res.eg_optimized / res.eg_initial - 1,
               "iterations": res.n_iter, "effective_points": float(n_eff), "optimizer": res.message}
    uniform = np.zeros(d.n_train)
    uniform[support] = 1.0 / support.size
    if empirical:
        with rep.progress("kernel ridge regression", 2 * trials) as advance:
            su = d.simulate([P], [ridge], [noise], p=uniform, trials=trials, seed=s.rng_seed, progress=advance)
            so = d.simulate([P], [ridge], [noise], p=weights, trials=trials, seed=s.rng_seed, progress=advance)
        summary.update(eg_uniform_empirical=float(su.eg_test.ravel()[0]),
                       eg_uniform_empirical_sem=float(su.eg_test_sem.ravel()[0]),
                       eg_optimized_empirical=float(so.eg_test.ravel()[0]),
                       eg_optimized_empirical_sem=float(so.eg_test_sem.ravel()[0]))
    if per_group:
        labels = res.group_labels
        data = {"group": labels, "weight": res.group_weights}
        return Table(["group", "weight"], data, int_columns=("group",)), summary
    data = {"index": np.arange(d.n_train), "weight": weights}
    return Table(["index", "weight"], data, int_columns=("index",)), summary


def _optimize_test(s, d, P, ridge, noise, objective, per_group, temperature, kl_budget, empirical, trials):
    rep = s.reporter
    if per_group and d.groups_q is None:
        raise InputError(f"--per-group needs /test/groups in {d.path!r}")
    _support_warning(rep, d, P)
    with rep.status(f"eigendecomposition (n = {d.n_train})"):
        problem = d.problem()
    e = pointwise_error(problem, float(P), ridge, noise)
    groups = d.groups_q if per_group else None
    res = optimize_test_measure(e, d.q, objective, temperature=temperature, kl_budget=kl_budget, groups=groups)
    q_out = res.tilted if res.tilted is not None else res.vertex
    summary = {"n_test": d.n_test, "eg_reference": res.base_error, "eg_vertex": res.vertex_error}
    if per_group:
        summary["vertex_group"] = int(res.vertex_group)
    else:
        summary["vertex_index"] = int(np.argmax(res.vertex))
    if res.tilted is not None:
        summary.update(eg_tilted=res.tilted_error, temperature=res.temperature, kl=res.kl)
    e_emp = None
    if empirical:
        with rep.progress("kernel ridge regression", trials) as advance:
            sim = d.simulate([P], [ridge], [noise], trials=trials, seed=s.rng_seed, pointwise=True, progress=advance)
        e_emp = sim.pointwise.reshape(-1)
        summary.update(eg_reference_empirical=float(d.q @ e_emp), eg_vertex_empirical=float(res.vertex @ e_emp))
        if res.tilted is not None:
            summary["eg_tilted_empirical"] = float(res.tilted @ e_emp)
    if per_group:
        labels = res.group_labels
        inv = np.searchsorted(labels, d.groups_q)  # every label in supp q is in labels
        member = (inv < labels.size) & (labels[np.minimum(inv, labels.size - 1)] == d.groups_q)
        inv, n_g = inv[member], labels.size
        gw = np.bincount(inv, weights=q_out[member], minlength=n_g)
        data = {"group": labels, "weight": gw, "error": res.group_errors}
        cols = ["group", "weight", "error"]
        if e_emp is not None:
            qm = d.q[member]
            ge = np.bincount(inv, weights=qm * e_emp[member], minlength=n_g) / np.bincount(inv, weights=qm,
                                                                                           minlength=n_g)
            data["error_empirical"] = ge
            cols.append("error_empirical")
            summary.update(best_group=int(labels[np.argmin(res.group_errors)]),
                           worst_group=int(labels[np.argmax(res.group_errors)]),
                           best_group_empirical=int(labels[np.argmin(ge)]),
                           worst_group_empirical=int(labels[np.argmax(ge)]))
        return Table(cols, data, int_columns=("group",)), summary
    data = {"index": np.arange(d.n_test), "weight": q_out, "error": e}
    cols = ["index", "weight", "error"]
    if e_emp is not None:
        data["error_empirical"] = e_emp
        cols.append("error_empirical")
    return Table(cols, data, int_columns=("index",)), summary
