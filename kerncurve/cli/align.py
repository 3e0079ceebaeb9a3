"""`kerncurve align`: kernels that move (THEORY §7).

Two modes:

* ``align INPUT --depth L --init SIGMA``: silent alignment of a deep linear network on
  ``/inputs`` (or ``/features``) and scalar ``/targets``: predicted final kernel M_∞, β_∞,
  time scales, the silence diagnostic cos(ĉ, β̂_∞), and the predicted loss, top-eigenvector
  overlap and anisotropy over time; ``--empirical`` trains width-N networks alongside.
* ``align INPUT --toy variant1|variant2 --lam LAMBDA``: the exactly solvable NTK-alignment
  toy model on a Gram (``/gram``, or built from ``/inputs`` with ``--kernel``) and
  ``/targets``: loss, static-kernel loss, alignment and centered alignment over time.
"""

import click
import numpy as np

from ..errors import InputError
from ..io import open_h5, read_array
from ..io.cache import dataset, write_h5
from ..plots import figure, save_figure
from ..kernels import KERNELS
from ..table import Table
from ..simulate.alignment import integrate_toy, train_deep_linear
from ..spectral import check_gram
from ..theory import alignment as th
from .common import input_argument, output_options, parse_float_list, parse_range, run_session

LINEAR_COLUMNS = ["time", "loss", "top_overlap", "anisotropy"]
LINEAR_EMPIRICAL = ["loss_empirical", "loss_empirical_sem", "top_overlap_empirical",
                    "anisotropy_empirical", "kernel_distance_empirical"]
TOY_COLUMNS = ["time", "loss", "loss_static", "alignment", "centered_alignment"]
TOY_CHECK = ["loss_ode"]
KERNEL_FORMAT = "kerncurve-align-kernel"
KERNEL_FORMAT_VERSION = 1
MAX_TOY_SAMPLES = 1000
CAVEAT = ("exactly solvable model: on real two-layer μP networks it captures that feature "
          "learning speeds training but explains at most ~25 % of the kernel change (THEORY §7.2)")


def parse_times(text, option="--time"):
    """A comma list of times ≥ 0, or ``START:STOP:NUM`` (NUM evenly spaced, inclusive)."""
    text = (text or "").strip()
    if not text:
        raise InputError(f"{option} is empty; give a comma list like 0,1,5 or a range START:STOP:NUM")
    if ":" in text:
        start, stop, num = parse_range(text, option, "0:20:101")
        if not (np.isfinite(start) and np.isfinite(stop)) or start < 0 or stop <= start or num < 2:
            raise InputError(f"{option} {text!r}: need 0 ≤ START < STOP (finite, STOP > 0) and NUM ≥ 2")
        return np.linspace(start, stop, num)
    t = np.array(sorted(set(parse_float_list(text, option, minimum=0.0))))
    if t[-1] <= 0:
        raise InputError(f"{option}: the times must include one > 0")
    return t


@click.command("align", context_settings={"help_option_names": ["-h", "--help"]})
@input_argument
@click.option("--depth", type=int, default=None,
              help="Deep linear mode: number of weight layers L ≥ 1 (required). Toy mode with "
                   "--kernel relu-nngp/relu-ntk: hidden layers of the kernel  [default: 1]")
@click.option("--init", "sigma", type=float, default=None,
              help="Deep linear mode: init scale σ > 0 (every weight i.i.d. N(0, σ²)).")
@click.option("--width", type=int, default=200, show_default=True,
              help="Hidden width N of the deep linear network (theory's s₀ and --empirical).")
@click.option("--toy", type=click.Choice(["variant1", "variant2"]), default=None,
              help="Toy-model mode: variant1 (dK/dt = λΔΔᵀ) or variant2 (dK/dt = λ(ΔΔᵀK + KΔΔᵀ)).")
@click.option("--lam", type=float, default=None, help="Toy mode: kernel speed λ ≥ 0 (required).")
@click.option("--time", "time_spec", default=None,
              help="Output times: 0,1,5 or START:STOP:NUM (evenly spaced)  "
                   "[default: 0 to a few relaxation times, 101 points]")
@click.option("--kernel-output", type=click.Path(dir_okay=False), default=None,
              help="Write the predicted kernels (final and at each time) to FILE.h5.")
@click.option("--empirical", is_flag=True,
              help="Deep linear: also train networks (gradient flow, DOP853). Toy: also "
                   "integrate the ODEs (column loss_ode).")
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Networks (seeds) for --empirical.")
@click.option("--subsample", type=click.IntRange(min=1), default=None,
              help="Use this many samples drawn at random (--seed)  [default: all]")
@click.option("--features-key", default="/features", show_default=True,
              help="Features (n, d): deep linear inputs when --inputs-key is absent; linear Gram.")
@click.option("--gram-key", default="/gram", show_default=True, help="Dataset of the Gram matrix (n, n).")
@click.option("--targets-key", default="/targets", show_default=True, help="Dataset of targets.")
@click.option("--inputs-key", default="/inputs", show_default=True, help="Dataset of raw inputs (n, d_in).")
@click.option("--kernel", default=None, help=f"Toy mode: build the Gram from raw inputs: {', '.join(KERNELS)}.")
@click.option("--bandwidth", type=float, default=None,
              help="rbf/laplace bandwidth h  [default: median pairwise distance]")
@click.option("--degree", type=int, default=2, show_default=True, help="poly kernel degree.")
@output_options
@run_session
def command(s, input, depth, sigma, width, toy, lam, time_spec, kernel_output, empirical, runs,
            subsample, **_):
    """Kernels that move: deep-linear silent alignment, or the NTK-alignment toy model.

    Deep linear (--depth L --init σ): f(x) = β·x trained by gradient flow on
    (1/2P)|Xβ − y|² from small init. Predicted final kernel M_∞ = |β_∞|^{2(L−1)/L}(I +
    (L−1)β̂β̂ᵀ); the table's time course is the balanced end-to-end flow started after the
    early alignment (loss, |cos| of the kernel's top eigenvector with β̂_∞, λ₁/λ₂).

    Toy (--toy variant1|variant2 --lam λ): dΔ/dt = −KΔ with a kernel that grows along the
    residual; closed-form solutions; loss = ½|Δ|², loss_static with K frozen at K₀.
    """
    times = None if time_spec is None else parse_times(time_spec)
    if toy is not None:
        if sigma is not None:
            raise InputError("--init belongs to the deep linear mode; drop it or drop --toy")
        if lam is None:
            raise InputError("--toy needs --lam LAMBDA (the kernel speed λ ≥ 0)")
        return _toy(s, input, toy, lam, times, kernel_output, empirical, subsample, depth)
    if lam is not None:
        raise InputError("--lam belongs to the toy model; add --toy variant1|variant2")
    if sigma is None or depth is None:
        raise InputError("give --depth L and --init SIGMA (deep linear network), "
                         "or --toy variant1|variant2 --lam LAMBDA (toy model)")
    if depth < 1:
        raise InputError(f"--depth must be an integer ≥ 1 (number of weight layers), got {depth}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"--init must be a positive number (the weights' standard deviation), got {sigma}")
    if width < 1:
        raise InputError(f"--width must be a positive integer, got {width}")
    return _linear(s, input, depth, sigma, width, times, kernel_output, empirical, runs, subsample)


# --------------------------------------------------------------------------- deep linear


def _read_linear(s, path, subsample):
    o = s.opts
    with open_h5(path) as f:
        key = o["inputs_key"] if o["inputs_key"] in f else (o["features_key"] if o["features_key"] in f else None)
        if key is None:
            raise InputError(f"{path!r} has neither {o['inputs_key']!r} nor {o['features_key']!r}; the deep "
                             "linear network needs inputs (n, d) (set --inputs-key)")
        X = read_array(f, key, ndim=(2,), option="--inputs-key", what="inputs (n, d)")
        y = read_array(f, o["targets_key"], ndim=(1, 2), option="--targets-key", what="targets (n,)")
    if y.shape[0] != X.shape[0]:
        raise InputError(f"{path}:{o['targets_key']} has {y.shape[0]} samples but {key} has {X.shape[0]}; "
                         "they need one row per sample")
    if y.ndim == 2 and y.shape[1] != 1:
        raise InputError(f"{path}:{o['targets_key']} has {y.shape[1]} channels; the deep linear network has "
                         "one output: store a single column (n,)")
    y = y.reshape(-1)
    idx = _subsample_index(s, X.shape[0], subsample)
    if idx is not None:
        X, y = X[idx], y[idx]
    return X, y, key


def _subsample_index(s, n, subsample):
    """Sorted indices of ``subsample`` samples drawn with --seed (None: keep all)."""
    if subsample is None or subsample >= n:
        return None
    return np.sort(np.random.default_rng(s.rng_seed).choice(n, subsample, replace=False))


def _linear(s, input, depth, sigma, width, times, kernel_output, empirical, runs, subsample):
    rep = s.reporter
    X, y, key = _read_linear(s, input, subsample)
    P, D = X.shape
    info = th.silent_alignment(X, y, depth, sigma, width)
    if info.s_star == 0:
        raise InputError(f"{input}: the least-squares solution β_∞ is zero (targets orthogonal to the inputs); "
                         "nothing to learn")
    prob = th.linear_problem(X, y)
    if times is None:
        ev = np.linalg.eigvalsh(prob.sigma)
        pos = ev[ev > 1e-10 * ev[-1]]
        rate = pos[0] * info.s_star ** (2.0 * (depth - 1) / depth)
        times = np.linspace(0.0, info.t1 + info.t2 + 8.0 / rate, 101)
    if not info.whitened:
        rep.warn(f"the inputs are not whitened (‖XᵀX/P − I‖₂ = {info.whitening_error:.3g}): t1 and t2 use the "
                 "whitened formulas and are only order-of-magnitude guides; the loss curve comes from the "
                 "balanced end-to-end flow started at s₀ĉ")
    cur = th.alignment_curve(X, y, depth, sigma, width, times)
    data = {"time": times, "loss": cur.loss, "top_overlap": cur.top_overlap, "anisotropy": cur.anisotropy}
    columns = list(LINEAR_COLUMNS)
    emp = None
    if empirical:
        trained = []
        with rep.progress("training deep linear networks", runs) as advance:
            for r in range(runs):
                trained.append(train_deep_linear(X, y, depth, sigma, width, times, seed=s.rng_seed + r, rtol=1e-9))
                advance(1)
        loss = np.stack([r.loss for r in trained])
        norm_inf = np.linalg.norm(info.kernel_inf)
        dist = np.stack([np.linalg.norm(r.kernel - info.kernel_inf, axis=(1, 2)) / norm_inf for r in trained])
        emp = {
            "loss_empirical": loss.mean(0),
            "loss_empirical_sem": loss.std(0, ddof=1) / np.sqrt(runs) if runs > 1 else np.full(times.size, np.nan),
            "top_overlap_empirical": np.mean([r.top_overlap for r in trained], 0),
            "anisotropy_empirical": np.mean([r.anisotropy for r in trained], 0),
            "kernel_distance_empirical": dist.mean(0),
        }
        data.update(emp)
        columns += LINEAR_EMPIRICAL
    table = Table(columns, data)

    summary = {
        "input": input,
        "source": key,
        "n": P,
        "d": D,
        "depth": depth,
        "init": sigma,
        "width": width,
        "beta_norm": info.s_star,
        "silence": info.silence,
        "silent": bool(info.silence >= 0.99),
        "whitened": info.whitened,
        "whitening_error": info.whitening_error,
        "anisotropy_inf": info.anisotropy,
        "s0": info.s0,
        "t1": info.t1,
        "t2": info.t2,
        "loss_initial": float(cur.loss[0]),
        "loss_final": float(cur.loss[-1]),
        "loss_min": info.loss_min,
    }
    if emp is not None:
        i10 = _first(data["loss_empirical"] <= 0.9 * data["loss_empirical"][0])
        summary["kernel_distance_final"] = float(emp["kernel_distance_empirical"][-1])
        summary["anisotropy_final_empirical"] = float(emp["anisotropy_empirical"][-1])
        summary["top_overlap_at_10pct_loss_drop"] = float(emp["top_overlap_empirical"][i10]) if i10 is not None else float("nan")
        summary["loss_final_empirical"] = float(emp["loss_empirical"][-1])
    labels = {
        "beta_norm": "|β_∞|", "silence": "silence cos(ĉ, β̂_∞)", "anisotropy_inf": "anisotropy of M_∞",
        "t1": "t₁ (alignment, whitened formula)", "t2": "t₂ (loss drop, whitened formula)",
        "kernel_distance_final": "‖M_T − M_∞‖/‖M_∞‖ (simulated)",
        "top_overlap_at_10pct_loss_drop": "top-eigenvector overlap when loss fell 10 % (simulated)",
    }
    rep.summary("kerncurve align (deep linear)", [(labels.get(k, k), v) for k, v in summary.items()])

    if kernel_output is not None:
        pred = th.balanced_kernel(cur.beta, depth) + info.m0 * np.eye(D)
        datasets = {"time": times, "kernel": pred, "kernel_inf": info.kernel_inf, "beta_inf": info.beta_inf,
                    "beta": cur.beta}
        if empirical:
            datasets["kernel_empirical"] = trained[0].kernel
        _write_kernels(kernel_output, datasets, {"mode": "deep-linear", "depth": depth, "init": sigma,
                                                 "width": width, "input": input})
    if s.opts.get("plot"):
        _plot(s.opts["plot"], times, [("loss (theory)", cur.loss, "-")]
              + ([("loss (networks)", emp["loss_empirical"], "o")] if emp else []),
              [("top overlap (theory)", cur.top_overlap, "-"), ("anisotropy/L (theory)", cur.anisotropy / depth, "--")]
              + ([("top overlap (networks)", emp["top_overlap_empirical"], "o"),
                  ("anisotropy/L (networks)", emp["anisotropy_empirical"] / depth, "s")] if emp else []),
              f"deep linear L={depth}, σ={sigma:g}, N={width}")
    params = {"mode": "deep-linear", "depth": depth, "init": sigma, "width": width, "time": times.tolist(),
              "empirical": empirical, "runs": runs, "seed": s.rng_seed, "subsample": subsample}
    s.emit(table, command="align", params=params, summary=summary)


# --------------------------------------------------------------------------- toy model


def _toy(s, input, variant, lam, times, kernel_output, empirical, subsample, depth):
    rep = s.reporter
    if not np.isfinite(lam) or lam < 0:
        raise InputError(f"--lam must be ≥ 0 (the kernel speed λ), got {lam}")
    if depth is not None and depth < 1:
        raise InputError(f"--depth must be a positive integer (hidden layers of the kernel), got {depth}")
    s.opts["depth"] = 1 if depth is None else depth
    problem = s.load_problem(input)
    if not problem.has_samples:
        raise InputError(f"{input!r} is a spectrum cache; the toy model needs the Gram matrix itself "
                         "(/gram, or /inputs with --kernel)")
    K0 = problem.gram if problem.gram is not None else problem.features @ problem.features.T
    Y = problem.targets
    idx = _subsample_index(s, K0.shape[0], subsample)
    if idx is not None:
        K0, Y = K0[np.ix_(idx, idx)], Y[idx]
    P = K0.shape[0]
    if P > MAX_TOY_SAMPLES:
        raise InputError(f"the toy model's closed form costs O(T·P³) and P = {P} exceeds {MAX_TOY_SAMPLES}; "
                         f"pass --subsample {MAX_TOY_SAMPLES} or fewer")
    where = f"{input}:{problem.info.get('source', '')}"
    K0 = check_gram(K0, problem.source_dtype, where)  # symmetric, not all zeros
    try:
        th.checks.check_gram(K0, Y)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    fn = th.toy_variant1 if variant == "variant1" else th.toy_variant2
    if times is None:
        K_inf = fn(K0, Y, lam, [0.0]).kernel_inf
        rate = np.sum(Y * (K_inf @ Y)) / np.sum(Y * Y)
        if not rate > 0:
            raise InputError(f"{where}: the targets lie in the null space of the kernel; nothing to learn")
        times = np.linspace(0.0, 5.0 / rate, 101)
    cur = _chunked(fn, K0, Y, lam, times, rep)
    data = {"time": times, "loss": cur["loss"], "loss_static": cur["loss_static"],
            "alignment": cur["alignment"], "centered_alignment": cur["centered_alignment"]}
    columns = list(TOY_COLUMNS)
    summary = {
        "input": input,
        "source": problem.info.get("source", ""),
        "n": P,
        "channels": Y.shape[1],
        "variant": variant,
        "lam": lam,
        "loss_initial": float(cur["loss"][0]),
        "loss_final": float(cur["loss"][-1]),
        "loss_static_final": float(cur["loss_static"][-1]),
        "alignment_initial": float(cur["alignment"][0]),
        "alignment_final": float(cur["alignment"][-1]),
        "centered_alignment_initial": float(cur["centered_alignment"][0]),
        "centered_alignment_final": float(cur["centered_alignment"][-1]),
        "kernel_change_inf": float(np.linalg.norm(cur["kernel_inf"] - K0) / np.linalg.norm(K0)),
        "max_conservation_error": cur["conservation"],
    }
    for k in ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth"):
        if k in problem.info:
            summary[k] = problem.info[k]
    if empirical:
        if P > 60:
            rep.warn(f"integrating the toy ODE for P = {P} ({P * P + P} variables) may take a while")
        with rep.status(f"integrating the toy ODE (P = {P})"):
            K, D = integrate_toy(K0, Y, lam, times, variant=1 if variant == "variant1" else 2,
                                 rtol=1e-11, atol=1e-13 * max(1.0, float(np.max(np.abs(K0)))))
        data["loss_ode"] = 0.5 * np.sum(D**2, axis=(1, 2))
        columns += TOY_CHECK
        summary["max_kernel_deviation_ode"] = float(np.max(np.abs(K - cur["kernel"])) / np.max(np.abs(K)))
        summary["max_loss_deviation_ode"] = float(np.max(np.abs(data["loss_ode"] - cur["loss"])) / cur["loss"][0])
    summary["note"] = CAVEAT
    table = Table(columns, data)
    rep.summary(f"kerncurve align (toy model, {variant})", list(summary.items()))
    if kernel_output is not None:
        _write_kernels(kernel_output, {"time": times, "kernel": cur["kernel"], "kernel_inf": cur["kernel_inf"],
                                       "kernel_initial": K0},
                       {"mode": f"toy-{variant}", "lam": lam, "input": input})
    if s.opts.get("plot"):
        _plot(s.opts["plot"], times,
              [("loss (toy model)", cur["loss"], "-"), ("loss (static kernel)", cur["loss_static"], "--")],
              [("alignment", cur["alignment"], "-"), ("centered alignment", cur["centered_alignment"], "--")],
              f"NTK-alignment toy model ({variant}, λ={lam:g})")
    params = {"mode": f"toy-{variant}", "lam": lam, "time": times.tolist(), "empirical": empirical,
              "kernel": s.opts.get("kernel"), "subsample": subsample, "seed": s.rng_seed}
    s.emit(table, command="align", params=params, summary=summary)


def _chunked(fn, K0, Y, lam, times, rep, budget_bytes=256 << 20):
    """Evaluate the closed form in time chunks so that O(T·P²) arrays stay within a budget."""
    P = K0.shape[0]
    step = max(1, int(budget_bytes // (8 * 8 * P * P)))
    starts = range(0, times.size, step)
    parts = []
    with rep.progress("toy model closed form", len(starts)) as advance:
        for i in starts:
            parts.append(fn(K0, Y, lam, times[i:i + step]))
            advance(1)
    lam_dd = []
    for c in parts:
        if c.residual is not None:
            DD = np.einsum("tpc,tqc->tpq", c.residual, c.residual)
            cons = c.kernel @ c.kernel + lam * DD if fn is th.toy_variant1 else c.kernel + lam * DD
            lam_dd.append(np.max(np.abs(cons - c.conserved)) / np.max(np.abs(c.conserved)))
    cat = {k: np.concatenate([getattr(c, k) for c in parts]) for k in
           ("loss", "loss_static", "alignment", "centered_alignment", "kernel")}
    cat["kernel_inf"] = parts[0].kernel_inf
    cat["conservation"] = float(max(lam_dd)) if lam_dd else float("nan")
    return cat


# --------------------------------------------------------------------------- output


def _first(mask):
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _write_kernels(path, datasets, attrs):
    def fill(f):
        for k, v in datasets.items():
            dataset(f, k, np.asarray(v, dtype=np.float64))

    write_h5(path, fill, fmt=KERNEL_FORMAT, version=KERNEL_FORMAT_VERSION, attrs=attrs, option="--kernel-output")


def _plot(path, t, top, bottom, title):
    """Two panels sharing the time axis: losses (log scale) above, alignment measures below."""
    fig, (ax1, ax2) = figure(2, 1, sharex=True, figsize=(5.5, 5.5))
    for ax, series in ((ax1, top), (ax2, bottom)):
        for label, y, style in series:
            ok = np.isfinite(y) & ((y > 0) if ax is ax1 else True)
            ax.plot(t[ok], y[ok], style, ms=3, label=label, fillstyle="none")
        ax.legend(fontsize=7)
    ax1.set_yscale("log")
    ax1.set_ylabel("loss")
    ax2.set_ylabel("alignment")
    ax2.set_xlabel("time t")
    ax1.set_title(title)
    save_figure(fig, path)
