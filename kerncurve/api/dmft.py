"""`kerncurve.dmft`: feature-learning dynamics of infinitely wide networks, and their check."""

import contextlib
import os

import numpy as np

from .._validation import (
    MAX_POINTS,
    check_array,
    check_choice,
    check_count,
    check_float,
    check_floats,
    check_int,
    check_seed,
    check_targets,
)
from ..errors import InputError
from ..result import Result, numerics_guard
from .dmft_resnet import check_resnet, check_resnet_memory, resnet_summary, resnet_table, solve_resnet

__all__ = ["dmft", "DmftResult"]

COLUMNS = ["gamma0", "time", "loss", "alignment"]
MAX_STEPS = 1_000_000  # time steps of one solve (time / dt)
MAX_DEPTH = 1_000  # hidden layers (without residual scaling, deeper kernels overflow)
MAX_SAMPLES = 2**30  # sampled hidden units
MAX_SEEDS = 10_000  # networks per gamma0
MAX_ITER = 1_000_000
SOBOL_POINTS = 21_200  # dimensions the Sobol sampler supports, minus one for w
GIB = 2**30


class DmftResult(Result):
    """`dmft`'s result. ``results`` holds one `kerncurve.theory.dmft.DMFTResult` per γ₀ (every
    time step, the NTK at each), ``networks`` the trained networks (``empirical``),
    ``output_index`` the time steps of the table."""

    def kernel_datasets(self):
        """The NTKs at the table's times and the final ones, as ``--kernel-output`` writes them."""
        idx = self.output_index
        extra = {}
        if self.summary.get("arch") == "resnet":  # one group per (γ₀, depth), γ₀ major
            extra["depth"] = np.tile(np.asarray(self.summary["depth"], float), len(self.summary["gamma0"]))
        return {**extra, "gamma0": np.array([r.gamma0 for r in self.results]),
                "time": self.results[0].time[idx],
                "kernel": np.stack([r.kernel[idx] for r in self.results]),
                "final_kernel": np.stack([r.kernel[-1] for r in self.results])}


def _bar(progress, description, total):
    if progress is None:
        return contextlib.nullcontext(lambda n=1: None)
    return progress(description, total)


def _arrays(X, y, X_test, y_test):
    """Validated in-memory training (and test) data."""
    if X is None or y is None:
        raise InputError("input is needed: an HDF5 path, or the arrays X (P, D) and y (P,)", param="input")
    X = check_array(X, "X", ndim=(2,), what="(P, D)")
    y = check_targets(y, X.shape[0], "y", "X")
    if y.shape[1] != 1:
        raise InputError(f"y has {y.shape[1]} output channels; dmft supports one: pass y of shape (P,)", param="y")
    y = y[:, 0]
    if not np.any(y != 0):
        raise InputError("y is all zeros; the loss would stay at 0", param="y")
    if X_test is None:
        if y_test is not None:
            raise InputError("y_test needs the test inputs X_test (Q, D)", param="y_test")
        return X, y, None, None
    X_test = check_array(X_test, "X_test", ndim=(2,), what="(Q, D)")
    if X_test.shape[1] != X.shape[1]:
        raise InputError(f"X_test has {X_test.shape[1]} input dimensions but X has {X.shape[1]}; test points need "
                         "the same dimension", param="X_test")
    if y_test is not None:
        y_test = check_targets(y_test, X_test.shape[0], "y_test", "X_test")
        if y_test.shape[1] != 1:
            raise InputError("y_test must have one output channel, shape (Q,)", param="y_test")
        y_test = y_test[:, 0]
    return X, y, X_test, y_test


def _check_memory(P, Q, steps, depth, samples, max_memory, n_gamma, method, dt, time):
    """Refuse, before anything is allocated, a solve over the ``max_memory`` budget (GiB)."""
    from ..theory.dmft import deep_linear_memory, two_layer_memory

    budget = max_memory * GIB

    def need(m):  # the solver's working set, plus the kernels kept for the other γ₀
        kept = (n_gamma - 1) * 8 * (steps + 1) * m * m
        if depth == 1:
            return two_layer_memory(m, steps, samples) + kept
        return deep_linear_memory(m, steps, depth, method) + kept

    if depth == 1:
        what = f"the two-layer sampler ({samples} samples, {steps} steps)"
        smaller = f"fewer samples={samples}"
    else:
        what = f"the deep-linear solver (TP×TP matrices, T = {steps + 1} times, depth {depth})"
        smaller = f"a smaller depth={depth}"
    n = P + Q
    if need(n) > budget:
        lo, hi = 0, n  # need() grows with m: bisect for the largest m that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid - 1)
        fit = f"at most {lo} points fit" if lo else "not even one point fits"
        raise InputError(
            f"max_memory={max_memory:g} (GiB) is too small: P + Q = {n} points (P = {P} train, Q = {Q} test) are too "
            f"large for {what}, which needs {need(n) / GIB:.3g} GiB; {fit} — use fewer points, {smaller}, a larger "
            f"dt={dt:g} or a shorter time={time:g}, or raise max_memory={max_memory:g}", param="max_memory")


def _check_networks(P, Q, D, steps, depth, width, seeds, max_memory):
    """Refuse ``empirical`` networks over the budget: weights, updates, back-propagated copies,
    and the NTK every network keeps at every step."""
    n = P + Q
    net_bytes = 8 * seeds * (3 * (depth - 1) * width**2 + 3 * width * (D + 2 * n * depth) + (steps + 1) * n * n)
    if net_bytes > max_memory * GIB:
        raise InputError(f"empirical needs {seeds} networks of width {width} and depth {depth}: "
                         f"{net_bytes / GIB:.3g} GiB, over the budget max_memory={max_memory:g} (GiB); lower "
                         f"width={width} or seeds={seeds}, or raise max_memory={max_memory:g}", param="empirical")


@numerics_guard(allow_nan=("alignment", "alignment_empirical", "loss_empirical_sem"))
def dmft(input=None, *, gamma0, time, dt, activation="tanh", depth=1, samples=2**14, scheme=None, method="forward",
         damping=0.7, tol=1e-9, max_iter=200, every=1, inputs_key="/inputs", targets_key="/targets", test_key=None,
         test_targets_key=None, empirical=False, width=1000, seeds=3, max_memory=4.0, seed=0, X=None, y=None,
         X_test=None, y_test=None, arch="mlp", alpha=0.5, beta0=1.0, progress=None):
    """Training loss and NTK of an infinitely wide network that learns features.

    Dynamical mean field theory of mean-field (μP) networks with richness γ₀ (Bordelon &
    Pehlevan, NeurIPS 2022, arXiv:2205.09653): h¹ = W⁰x/√D, h^{ℓ+1} = W^ℓφ(h^ℓ)/√N,
    f = w·φ(h^L)/(γ₀N), trained by gradient descent with learning rate ηγ₀²N on
    L = |y − f|²/(2P), time t = η·step, initial output subtracted. At infinite width::

        ∂_t f = K(t) Δ(t) / P,   Δ = y − f,   K(t) = Σ_ℓ G^{ℓ+1}(t,t) ⊙ Φ^ℓ(t,t),

    Φ^0 = Kˣ = XXᵀ/D, G^{L+1} = 1, with the kernels Φ, G of the single-site equations
    (docs/theory/dmft.md). One hidden layer (``depth=1``, any activation): sampled hidden
    units, one exact causal pass. Deeper: linear activations only, closed (T+1)P-sided
    matrix equations (`kerncurve.theory.dmft.layers`). γ₀ = 0 is the lazy (NTK) limit.
    This is not the ridge κ equation: no spectrum enters, the kernel itself moves.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file with ``inputs_key`` (P, D) and ``targets_key`` (P,); test points with
        ``test_key`` (a group holding ``inputs`` and ``targets``, or a dataset of inputs and
        ``test_targets_key``). Or pass the arrays ``X``, ``y`` (and ``X_test``, ``y_test``).
    gamma0 : float or sequence of float
        Richness values γ₀ ≥ 0.
    time, dt : float
        Training time T = η × steps and the step (the networks' learning rate η);
        ``round(time / dt)`` steps, at most 10⁶.
    activation : {"tanh", "relu", "linear"}
    depth : int or sequence of int
        Hidden layers L; L > 1 needs ``activation="linear"``. With ``arch="resnet"``: residual
        blocks L (one or several depths; two or more add the L → ∞ limit).
    arch : {"mlp", "resnet"}
        "resnet": deep linear residual network h^{ℓ+1} = h^ℓ + β₀L^{−α}W^ℓh^ℓ/√N (ℓ = 1..L),
        f = w·h^{L+1}/(γ₀N), hidden learning rate ηγ₀²N·L^{2α−1} (the ``depth-mup`` SGD rates of
        `kerncurve.nn.scaling`); needs ``activation="linear"`` (docs/theory/limits.md).
    alpha : float
        Branch exponent α ∈ [0.5, 1] of ``arch="resnet"`` (½ = depth-μP).
    beta0 : float
        Branch multiplier β₀ ≥ 0 of ``arch="resnet"`` (0: the one-hidden-layer network).
    samples : int
        Sampled hidden units of the two-layer solver (a power of 2: a balanced Sobol net).
    scheme : {"gd", "euler"}, optional
        "gd" reads the output off the units/fields (the exact infinite-width limit of
        gradient descent with η = dt); "euler" steps Δ(t+dt) = Δ − dt·KΔ/P. They differ by
        O(γ₀ dt). Default "gd"; "euler" with ``method="iterate"``.
    method : {"forward", "iterate"}
        Deep-linear solver: the exact causal pass, or the damped fixed-point iteration
        (``damping``, ``tol``, ``max_iter``) over growing time windows.
    every : int
        Keep every K-th time step in the table (the last is always kept).
    empirical : bool
        Also train ``seeds`` centered μP networks of ``width`` N per γ₀ (η = dt).
    max_memory : float
        Budget in GiB for the solver and the networks; larger problems are refused.
    seed : int
        Seed of the Sobol scrambling and of the networks' weights.
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    DmftResult
        Columns ``gamma0, time, loss, alignment`` (+ ``test_loss``; with ``empirical``
        ``loss_empirical, loss_empirical_sem, alignment_empirical`` (+ ``test_loss_empirical``)),
        one row per γ₀ and output time; alignment = yᵀKy/(‖K‖_F|y|²) on the training points.

    Examples
    --------
    >>> r = kc.dmft(X=X, y=y, gamma0=[0, 1], time=5, dt=0.05, samples=2**12)   # doctest: +SKIP
    >>> r.loss, r.summary["final_loss"]                                         # doctest: +SKIP
    """
    from ..theory import dmft as theory

    t_max = check_float(time, "time", minimum=0.0, strict=True)
    dt = check_float(dt, "dt", minimum=0.0, strict=True)
    every = check_int(every, "every", minimum=1)
    ratio = t_max / dt
    check_count(ratio, "time", MAX_STEPS, unit="steps (time/dt)",
                way_out=f"raise dt={dt:g} or shorten time={t_max:g}")
    steps = int(round(ratio))
    if steps < 1:
        raise InputError(f"time={t_max:g} is shorter than one step dt={dt:g}; raise time or lower dt", param="time")
    out_rows = steps // every + 1 + (steps % every != 0)
    n_gamma = 1 if isinstance(gamma0, str) else int(np.size(gamma0))
    gammas = check_floats(gamma0, "gamma0", minimum=0.0).tolist()
    check_choice(activation, "activation", ("tanh", "relu", "linear"))
    arch = check_choice(arch, "arch", ("mlp", "resnet"))
    resnet = arch == "resnet"
    if resnet:
        depths, alpha, beta0 = check_resnet(depth, activation, alpha, beta0, method, MAX_DEPTH)
        depth = depths[-1]
        n_gamma *= len(depths)
    else:
        if np.ndim(depth) != 0:
            raise InputError(f"depth={list(np.ravel(depth))}: several depths need arch=resnet; give one depth",
                             param="depth")
        depth = check_int(depth, "depth", minimum=1, maximum=MAX_DEPTH)
    if n_gamma * out_rows > MAX_POINTS:
        raise InputError(f"every={every} keeps {out_rows} of {steps + 1} time steps for each of {n_gamma} gamma0 "
                         f"values{' and depths' if resnet else ''}: {n_gamma * out_rows} table rows, more than the "
                         f"{MAX_POINTS} allowed; raise every or use fewer gamma0 values", param="every")
    samples = check_int(samples, "samples", minimum=2, maximum=MAX_SAMPLES)
    if samples & (samples - 1):
        raise InputError(f"samples={samples} is not a power of 2 (needed for a balanced Sobol net); try "
                         f"samples={1 << int(round(np.log2(samples)))}", param="samples")
    method = check_choice(method, "method", ("forward", "iterate"))
    if scheme is None:
        scheme = "euler" if (method == "iterate" and depth > 1 and not resnet) else "gd"
    check_choice(scheme, "scheme", ("gd", "euler"))
    damping = check_float(damping, "damping", minimum=0.0, strict=True, maximum=1.0)
    tol = check_float(tol, "tol", minimum=0.0, strict=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1, maximum=MAX_ITER)
    width = check_int(width, "width", minimum=1)
    seeds = check_int(seeds, "seeds", minimum=1, maximum=MAX_SEEDS)
    max_memory = check_float(max_memory, "max_memory", minimum=0.0, strict=True)
    seed = check_seed(seed)
    if method == "iterate" and depth > 1 and scheme == "gd":
        raise InputError("method='iterate' solves scheme='euler' only; use scheme='euler' or method='forward'",
                         param="method")
    if depth > 1 and activation != "linear" and not resnet:
        raise InputError(f"depth={depth} with activation={activation} is not supported yet: deep DMFT is solved for "
                         "linear networks only; use activation=linear or depth=1", param="depth")

    if isinstance(input, (str, bytes, os.PathLike)):
        if any(a is not None for a in (X, y, X_test, y_test)):
            raise InputError("pass either an HDF5 input or the arrays X, y, not both", param="input")
        from ..io.dmft import read_dmft_input

        x, y, x_test, y_test = read_dmft_input(input, inputs_key, targets_key, test_key, test_targets_key,
                                               memory=int(max_memory * GIB))
        source = os.fspath(input)
    elif input is None:
        if test_key is not None or test_targets_key is not None:
            raise InputError("test_key and test_targets_key name datasets of an HDF5 input; with arrays pass X_test "
                             "and y_test", param="test_key")
        x, y, x_test, y_test = _arrays(X, y, X_test, y_test)
        source = ""
    else:
        raise InputError(f"input must be a path to an HDF5 file (or None with X, y), got {type(input).__name__}",
                         param="input")
    P, D = x.shape
    Q = 0 if x_test is None else x_test.shape[0]
    if resnet:
        check_resnet_memory(P, Q, D, steps, depths, len(gammas), max_memory, dt, t_max, empirical, width, seeds)
    else:
        _check_memory(P, Q, steps, depth, samples, max_memory, len(gammas), method, dt, t_max)
        if empirical:
            _check_networks(P, Q, D, steps, depth, width, seeds, max_memory)
    solver = "two-layer sampler" if depth == 1 else "deep-linear matrix solver"
    if resnet:
        solver = "residual deep-linear solver"
    if depth == 1 and P + Q > SOBOL_POINTS and not resnet:
        raise InputError(f"the Sobol sampler supports at most {SOBOL_POINTS} points (P + Q = {P + Q}); use fewer "
                         "points", param="input")

    kx = theory.input_kernel(np.vstack([x, x_test]) if Q else x)
    results, nets = [], []
    n_runs = len(gammas) * (len(depths) if resnet else 1)
    with _bar(progress, f"dmft ({solver})", steps * n_runs * (2 if empirical else 1)) as advance:
        if resnet:
            results, nets = solve_resnet(kx, x, y, x_test, y_test, gammas, depths, alpha, beta0, t_max, dt, scheme,
                                         empirical, width, seeds, seed, advance)
        for g in ([] if resnet else gammas):
            if depth == 1:
                r = theory.two_layer(kx, y, g, t_max, dt, activation, samples=samples, seed=seed, n_test=Q,
                                     y_test=y_test, scheme=scheme, progress=advance)
            else:
                r = theory.deep_linear(kx, y, g, t_max, dt, depth=depth, damping=damping, tol=tol, max_iter=max_iter,
                                       n_test=Q, y_test=y_test, method=method, scheme=scheme, progress=advance)
            results.append(r)
            if empirical:
                from ..simulate.dmft import train_networks

                nets.append(train_networks(x, y, g, t_max, dt, width, depth=depth, activation=activation, seeds=seeds,
                                           seed=seed, x_test=x_test, y_test=y_test, progress=advance))

    idx = np.unique(np.r_[np.arange(0, steps + 1, every), steps])
    if resnet:
        columns, data = resnet_table(gammas, depths, alpha, results, nets, idx, y_test is not None)
    else:
        columns, data = _table(gammas, results, nets, idx, y_test is not None)
    summary = {"input": source, "p": P, "d": D, "n_test": Q, "activation": activation, "depth": depth,
               "solver": solver, "steps": steps, "gamma0": gammas, "initial_loss": float(results[0].loss[0]),
               "final_loss": [float(r.loss[-1]) for r in results],
               "final_alignment": [float(r.alignment[-1]) for r in results], "scheme": scheme}
    if resnet:
        summary.update(resnet_summary(gammas, depths, alpha, beta0, results))
        summary["solver"] = solver
    elif depth == 1:
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
        summary["max_relative_deviation"] = [float(np.max(np.abs(n.loss_mean - r.loss)) / r.loss[0])
                                             for n, r in zip(nets, results)]
    params = {"gamma0": gammas, "time": t_max, "dt": dt, "activation": activation, "depth": depth, "samples": samples,
              "scheme": scheme, "method": method, "damping": damping, "tol": tol, "every": every, "test_key": test_key,
              "empirical": bool(empirical), "width": width, "seeds": seeds, "seed": seed, "arch": arch}
    if resnet:
        params.update(depth=list(depths), alpha=alpha, beta0=beta0)
    return DmftResult("dmft", columns, data, summary=summary, params=params, results=results, networks=nets,
                      output_index=idx, n_train=P)


def _table(gammas, results, nets, idx, with_test):
    """The CSV columns: one row per γ₀ and output time."""
    columns = list(COLUMNS)
    data = {
        "gamma0": np.repeat(np.asarray(gammas, float), idx.size),
        "time": np.concatenate([r.time[idx] for r in results]),
        "loss": np.concatenate([r.loss[idx] for r in results]),
        "alignment": np.concatenate([r.alignment[idx] for r in results]),
    }
    if with_test:
        columns.append("test_loss")
        data["test_loss"] = np.concatenate([r.test_loss[idx] for r in results])
    if nets:
        columns += ["loss_empirical", "loss_empirical_sem", "alignment_empirical"]
        data["loss_empirical"] = np.concatenate([n.loss_mean[idx] for n in nets])
        data["loss_empirical_sem"] = np.concatenate([n.loss_sem[idx] for n in nets])
        data["alignment_empirical"] = np.concatenate([n.alignment.mean(0)[idx] for n in nets])
        if with_test:
            columns.append("test_loss_empirical")
            data["test_loss_empirical"] = np.concatenate([n.test_loss.mean(0)[idx] for n in nets])
    return columns, data
