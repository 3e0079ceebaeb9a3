"""The two modes of `kerncurve.align`: inputs, budgets, theory, experiment, table and summary."""

import contextlib
import warnings

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_float,
    check_int,
    check_targets,
)
from ..errors import InputError, KerncurveWarning, NumericalWarning
from ..io.sizes import check_bytes
from ..result import Result

__all__ = ["AlignResult", "linear_mode", "toy_mode"]

LINEAR_COLUMNS = ["time", "loss", "top_overlap", "anisotropy"]
LINEAR_EMPIRICAL = ["loss_empirical", "loss_empirical_sem", "top_overlap_empirical", "anisotropy_empirical",
                    "kernel_distance_empirical"]
TOY_COLUMNS = ["time", "loss", "loss_static", "alignment", "centered_alignment"]
TOY_CHECK = ["loss_ode"]
MAX_TOY_SAMPLES = 1000  # the closed form costs O(T·P³)
MAX_TOY_WORK = 101 * MAX_TOY_SAMPLES**3  # T·P³: the default 101 times at the largest P (minutes)
MAX_DEPTH = 1000
MAX_RUNS = 10_000
CAVEAT = ("exactly solvable model: on real two-layer μP networks it captures that feature learning speeds "
          "training but explains at most ~25 % of the kernel change (docs/theory/alignment.md)")
_KERNEL_INFO = ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth")


class AlignResult(Result):
    """`align`'s result. Deep linear: ``info`` (`SilentAlignment`), ``curve`` (`AlignmentCurve`),
    ``runs`` (trained networks); toy model: ``run`` (`ToyRun`), ``initial_kernel``.
    ``kernel_file`` = (datasets, attributes) of ``--kernel-output`` (None unless ``kernels=True``)."""


def _bar(progress, description, total):
    if progress is None:
        return contextlib.nullcontext(lambda n=1: None)
    return progress(description, total)


def _subsample(n, subsample, seed):
    """Sorted indices of ``subsample`` samples drawn with ``seed`` (None: keep all)."""
    if subsample is None or subsample >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, subsample, replace=False))


def _check_floats_held(budget, count, what, way_out):
    """Refuse, before allocating, ``count`` float64 values over ``budget`` bytes."""
    check_bytes(8.0 * count, budget, what, way_out=way_out)


# --------------------------------------------------------------------------- deep linear


def _linear_data(input, X, y, features_key, inputs_key, targets_key, budget):
    if input is not None:
        from ..io.alignment import read_linear_input

        return read_linear_input(input, inputs_key, features_key, targets_key, memory=budget)
    if X is None or y is None:
        raise InputError("input is needed: an HDF5 path, or the arrays X (n, d) and y (n,)", param="input")
    X = check_array(X, "X", ndim=(2,), what="(n, d)")
    Y = check_targets(y, X.shape[0], "y", "X")
    if Y.shape[1] != 1:
        raise InputError(f"y has {Y.shape[1]} channels; the deep linear network has one output: pass y of shape (n,)",
                         param="y")
    return X, Y[:, 0], "X"


def linear_mode(input, X, y, depth, init, width, runs, features_key, inputs_key, targets_key, *, times, empirical,
                subsample, seed, budget, kernels, progress):
    """Silent alignment of a deep linear network: prediction, and trained networks with ``empirical``."""
    from ..simulate.alignment import train_deep_linear
    from ..theory import alignment as th

    X, yv, key = _linear_data(input, X, y, features_key, inputs_key, targets_key, budget)
    idx = _subsample(X.shape[0], subsample, seed)
    if idx is not None:
        X, yv = X[idx], yv[idx]
    P, D = X.shape
    way_out = "use fewer inputs (subsample=) or dimensions, fewer time points or runs=, or raise memory="
    _check_floats_held(budget, 12.0 * D * D + 4.0 * P * D, f"the {D}×{D} second moments and final kernel", way_out)
    info = th.silent_alignment(X, yv, depth, init, width)
    if info.s_star == 0:
        raise InputError(f"{input or 'y'}: the least-squares solution β_∞ is zero (targets orthogonal to the inputs); "
                         "nothing to learn", param="y")
    prob = th.linear_problem(X, yv)
    if times is None:
        times = th.default_times(prob, info)
    T = times.size
    n_params = D if depth == 1 else width * D + (depth - 2) * width**2 + width
    held = 6.0 * T * D + (T * D * D if kernels else 0)
    if empirical:  # every run keeps M(t); the ODE solver keeps the weights at every time
        held += runs * (T * D * D + 3.0 * T * D) + 2.0 * T * D * D + n_params * (T + 20.0)
    _check_floats_held(budget, held, f"{T} times × {D}×{D} kernels" + (f", {runs} trained networks of width {width} "
                                                                       f"and depth {depth}" if empirical else ""),
                       way_out)
    if not info.whitened:
        warnings.warn(f"the inputs are not whitened (‖XᵀX/P − I‖₂ = {info.whitening_error:.3g}): t1 and t2 use the "
                      "whitened formulas and are only order-of-magnitude guides; the loss curve comes from the "
                      "balanced end-to-end flow started at s₀ĉ", NumericalWarning)
    cur = th.alignment_curve(X, yv, depth, init, width, times)
    data = {"time": times, "loss": cur.loss, "top_overlap": cur.top_overlap, "anisotropy": cur.anisotropy}
    columns = list(LINEAR_COLUMNS)
    trained = []
    if empirical:
        with _bar(progress, "training deep linear networks", runs) as advance:
            for r in range(runs):
                trained.append(train_deep_linear(X, yv, depth, init, width, times, seed=seed + r, rtol=1e-9))
                advance(1)
        data.update(_linear_empirical(trained, info, times, runs))
        columns += LINEAR_EMPIRICAL

    summary = {"input": input or "", "source": key, "n": P, "d": D, "depth": depth, "init": init, "width": width,
               "beta_norm": info.s_star, "silence": info.silence, "silent": bool(info.silence >= 0.99),
               "whitened": info.whitened, "whitening_error": info.whitening_error, "anisotropy_inf": info.anisotropy,
               "s0": info.s0, "t1": info.t1, "t2": info.t2, "loss_initial": float(cur.loss[0]),
               "loss_final": float(cur.loss[-1]), "loss_min": info.loss_min}
    if empirical:
        drop = np.flatnonzero(data["loss_empirical"] <= 0.9 * data["loss_empirical"][0])
        summary["kernel_distance_final"] = float(data["kernel_distance_empirical"][-1])
        summary["anisotropy_final_empirical"] = float(data["anisotropy_empirical"][-1])
        summary["top_overlap_at_10pct_loss_drop"] = (float(data["top_overlap_empirical"][drop[0]]) if drop.size
                                                     else float("nan"))
        summary["loss_final_empirical"] = float(data["loss_empirical"][-1])
    kernel_file = None
    if kernels:
        datasets = {"time": times, "kernel": th.predicted_kernels(cur, info), "kernel_inf": info.kernel_inf,
                    "beta_inf": info.beta_inf, "beta": cur.beta}
        if empirical:
            datasets["kernel_empirical"] = trained[0].kernel
        kernel_file = (datasets, {"mode": "deep-linear", "depth": depth, "init": init, "width": width,
                                  "input": input or ""})
    params = {"mode": "deep-linear", "depth": depth, "init": init, "width": width, "time": times.tolist(),
              "empirical": empirical, "runs": runs, "seed": seed, "subsample": subsample}
    return AlignResult("align", columns, data, summary=summary, params=params, info=info, curve=cur, runs=trained,
                       kernel_file=kernel_file)


def _linear_empirical(trained, info, times, runs):
    """Mean (and SEM) over the trained networks of the table's quantities."""
    loss = np.stack([r.loss for r in trained])
    norm_inf = np.linalg.norm(info.kernel_inf)
    dist = np.stack([np.linalg.norm(r.kernel - info.kernel_inf, axis=(1, 2)) / norm_inf for r in trained])
    return {
        "loss_empirical": loss.mean(0),
        "loss_empirical_sem": loss.std(0, ddof=1) / np.sqrt(runs) if runs > 1 else np.full(times.size, np.nan),
        "top_overlap_empirical": np.mean([r.top_overlap for r in trained], 0),
        "anisotropy_empirical": np.mean([r.anisotropy for r in trained], 0),
        "kernel_distance_empirical": dist.mean(0),
    }


# --------------------------------------------------------------------------- toy model


def _toy_data(input, X, y, gram, keys, budget):
    """(K0, Y (n, c), where, info, source dtype) of the toy model's kernel problem."""
    if input is not None:
        from ..io.problem import load_problem
        from ..kernels import KERNELS

        if keys["kernel"] is not None:
            check_choice(keys["kernel"], "kernel", tuple(KERNELS))
        if keys["bandwidth"] is not None:
            check_float(keys["bandwidth"], "bandwidth", minimum=0.0, strict=True)
        degree = check_int(keys["degree"], "degree", minimum=1, maximum=10_000)
        problem = load_problem(input, features_key=keys["features_key"], gram_key=keys["gram_key"],
                               targets_key=keys["targets_key"], inputs_key=keys["inputs_key"], kernel=keys["kernel"],
                               kernel_params={"bandwidth": keys["bandwidth"], "degree": degree, "depth": keys["depth"]},
                               memory=budget)
        if not problem.has_samples:
            raise InputError(f"{input!r} is a spectrum cache; the toy model needs the Gram matrix itself "
                             "(/gram, or /inputs with --kernel)")
        if problem.gram is None:
            n = problem.n
            check_bytes(16.0 * n * n, budget, f"the {n}×{n} linear Gram of {input}:{problem.info.get('source', '')}",
                        way_out="use a smaller input or raise memory=")
            K0 = problem.features @ problem.features.T
        else:
            K0 = problem.gram
        where = f"{input}:{problem.info.get('source', '')}"
        return K0, problem.targets, where, problem.info, problem.source_dtype
    if keys["kernel"] is not None:
        raise InputError(f"kernel={keys['kernel']} builds the Gram from an HDF5 input's raw inputs; with arrays pass "
                         "gram (n, n) or features X", param="kernel")
    if (gram is None) == (X is None) or y is None:
        raise InputError("input is needed: an HDF5 path, or the arrays gram (n, n) (or features X (n, d)) and y",
                         param="input")
    if gram is not None:
        K0 = check_array(gram, "gram", ndim=(2,), what="(n, n)")
        if K0.shape[0] != K0.shape[1]:
            raise InputError(f"gram must be square (n, n), got shape {K0.shape}", param="gram")
        name, source = "gram", "gram"
    else:
        F = check_array(X, "X", ndim=(2,), what="(n, d)")
        check_bytes(16.0 * F.shape[0] ** 2, budget, f"the {F.shape[0]}×{F.shape[0]} linear Gram of X",
                    way_out="pass fewer samples or raise memory=")
        K0, name, source = F @ F.T, "X", "linear kernel of X"
    return K0, check_targets(y, K0.shape[0], "y", name), name, {"source": source}, np.dtype(np.float64)


def toy_mode(input, X, y, gram, variant, lam, keys, *, max_samples, times, empirical, subsample, seed, budget,
             kernels, progress):
    """The NTK-alignment toy model in closed form, and its ODEs with ``empirical``."""
    from ..simulate.alignment import integrate_toy
    from ..spectral import check_gram as check_symmetric
    from ..theory import alignment as th
    from ..theory.alignment.checks import check_gram as check_psd

    K0, Y, where, info, dtype = _toy_data(input, X, y, gram, keys, budget)
    idx = _subsample(K0.shape[0], subsample, seed)
    if idx is not None:
        K0, Y = K0[np.ix_(idx, idx)], Y[idx]
    P = K0.shape[0]
    if P > max_samples:
        raise InputError(f"the toy model's closed form costs O(T·P³) and P = {P} exceeds {max_samples}; pass "
                         f"subsample={max_samples} or fewer", param="subsample")
    K0 = check_symmetric(K0, dtype, where)  # symmetric, not all zeros
    K0, Y = check_psd(K0, Y, name=where)
    if times is None:
        try:
            times = th.toy_default_times(K0, Y, lam, variant)
        except InputError as exc:
            raise InputError(f"{where}: the targets lie in the null space of the kernel; nothing to learn",
                             param=exc.param) from None
    T = times.size
    if T * float(P) ** 3 > MAX_TOY_WORK:
        raise InputError(f"time has {T} points at P = {P}: the closed form costs T·P³ = {T * float(P) ** 3:.3g}, "
                         f"more than the {MAX_TOY_WORK:.3g} allowed; use fewer time points or a smaller subsample=",
                         param="time")
    keep = kernels or empirical
    held = (T * P * P if keep else 0) + (3.0 * T * (P * P + P) if empirical else 0) + (256 << 20) / 8
    _check_floats_held(budget, held, f"{T} times × {P}×{P} kernels",
                       "use fewer time points or a smaller subsample=, or raise memory=")
    with _bar(progress, "toy model closed form", -(-T // th.toy_chunk_size(P))) as advance:
        run = th.toy_model(K0, Y, lam, times, variant, keep_kernels=keep, progress=advance)
    data = {"time": times, "loss": run.loss, "loss_static": run.loss_static, "alignment": run.alignment,
            "centered_alignment": run.centered_alignment}
    columns = list(TOY_COLUMNS)
    summary = {"input": input or "", "source": info.get("source", ""), "n": P, "channels": Y.shape[1],
               "variant": variant, "lam": lam, "loss_initial": float(run.loss[0]), "loss_final": float(run.loss[-1]),
               "loss_static_final": float(run.loss_static[-1]), "alignment_initial": float(run.alignment[0]),
               "alignment_final": float(run.alignment[-1]),
               "centered_alignment_initial": float(run.centered_alignment[0]),
               "centered_alignment_final": float(run.centered_alignment[-1]),
               "kernel_change_inf": float(np.linalg.norm(run.kernel_inf - K0) / np.linalg.norm(K0)),
               "max_conservation_error": run.conservation}
    summary.update({k: info[k] for k in _KERNEL_INFO if k in info})
    if empirical:
        if P > 60:
            warnings.warn(f"integrating the toy ODE for P = {P} ({P * P + P} variables) may take a while",
                          KerncurveWarning)
        with _bar(progress, f"integrating the toy ODE (P = {P})", 1) as advance:
            K, D = integrate_toy(K0, Y, lam, times, variant=1 if variant == "variant1" else 2, rtol=1e-11,
                                 atol=1e-13 * max(1.0, float(np.max(np.abs(K0)))))
            advance(1)
        data["loss_ode"] = 0.5 * np.sum(D**2, axis=(1, 2))
        columns += TOY_CHECK
        summary["max_kernel_deviation_ode"] = float(np.max(np.abs(K - run.kernel)) / np.max(np.abs(K)))
        summary["max_loss_deviation_ode"] = float(np.max(np.abs(data["loss_ode"] - run.loss)) / run.loss[0])
    summary["note"] = CAVEAT
    kernel_file = None
    if kernels:
        kernel_file = ({"time": times, "kernel": run.kernel, "kernel_inf": run.kernel_inf, "kernel_initial": K0},
                       {"mode": f"toy-{variant}", "lam": lam, "input": input or ""})
    params = {"mode": f"toy-{variant}", "lam": lam, "time": times.tolist(), "empirical": empirical,
              "kernel": keys["kernel"], "subsample": subsample, "seed": seed}
    return AlignResult("align", columns, data, summary=summary, params=params, run=run, initial_kernel=K0,
                       kernel_file=kernel_file)
