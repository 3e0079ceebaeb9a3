"""`kerncurve.reservoir`: the codes of a random recurrent network, as inputs every command reads."""

import contextlib
import os
from dataclasses import dataclass

import numpy as np

from .._validation import MAX_SAMPLES, check_array, check_float, check_floats, check_int, check_seed
from ..errors import InputError
from ..result import Result, numerics_guard

__all__ = ["reservoir", "ReservoirResult", "Codes"]

COLUMNS = ["gain", "samples", "neurons", "rate_rms", "effective_dimension", "top_eigenvalue", "file"]
MAX_GAINS = 1000
MAX_WORK = 1e13  # multiply-adds of the simulation (hours on one core)


@dataclass(frozen=True)
class Codes:
    """One gain's codes: the arrays a codes file holds (see `kerncurve.io.reservoir`).

    ``features`` (M, N) are the rates over √N, ``targets`` (M, c), ``trial`` and ``time``
    (M,) int64, ``stimulus`` (M, d_in); ``theta`` (trials,) and ``target_taus`` for the
    built-in task, else None.
    """

    gain: float
    features: np.ndarray
    targets: np.ndarray
    trial: np.ndarray
    time: np.ndarray
    stimulus: np.ndarray
    theta: np.ndarray = None
    target_taus: tuple = None

    def spectrum(self, target=None):
        """The `Spectrum` of these codes (feature route) for all targets, or column ``target``."""
        from ..spectral import Spectrum

        y = self.targets if target is None else self.targets[:, check_int(target, "target", minimum=0,
                                                                            maximum=self.targets.shape[1] - 1)]
        return Spectrum.from_features(self.features, y)


class ReservoirResult(Result):
    """`reservoir`'s result: one row per gain; ``codes`` holds the arrays when no file was written."""


def _task_arrays(x, y):
    x = check_array(x, "x", ndim=(2, 3), what="(trials, steps) or (trials, steps, d_in)")
    if x.ndim == 2:
        x = x[:, :, None]
    if y is None:
        raise InputError("y is needed with x: the target of every (trial, step) sample", param="y")
    y = check_array(y, "y", ndim=(2, 3), what="(trials, steps) or (trials, steps, c)")
    if y.ndim == 2:
        y = y[:, :, None]
    if y.shape[:2] != x.shape[:2]:
        raise InputError(f"y has (trials, steps) = {y.shape[:2]} but x has {x.shape[:2]}; give one target per "
                         "input sample", param="y")
    return x, y


def _check_sizes(n, trials, steps, d_in, gains, budget, keep):
    from ..io.sizes import check_bytes

    m = trials * steps
    if m > MAX_SAMPLES:
        raise InputError(f"trials={trials} × steps={steps} = {m:.3g} samples is more than float64 counts exactly",
                         param="trials")
    work = float(len(gains)) * steps * trials * (float(n) * n + n * d_in) + len(gains) * m * float(n) * n
    if work > MAX_WORK:
        raise InputError(f"n={n} asks for {work:.3g} multiply-adds ({len(gains)} gain(s) × trials={trials} × "
                         f"steps={steps} × n²), more than the {MAX_WORK:.0e} allowed (hours of computing); use a "
                         "smaller n, or fewer trials, steps or gains", param="n")
    per_gain = 8.0 * (3 * m * n + 3 * n * n + trials * n + m * (d_in + 4))
    total = per_gain * (len(gains) if keep else 1) + 8.0 * n * n
    check_bytes(total, budget, f"the network (n={n}) and its codes ({trials} trials × {steps} steps"
                               f"{f' × {len(gains)} gains kept in memory' if keep and len(gains) > 1 else ''})",
                way_out="use a smaller n, fewer trials or steps" + (", write files (output=…)" if keep and len(gains) > 1
                                                                    else "") + " or raise the budget (memory=…)")


@numerics_guard()
def reservoir(output=None, *, n=1000, gain=1.5, trials=None, steps=None, dt=0.04, tau=0.08, target_tau=0.0, seed=0,
              x=None, y=None, memory=None, progress=None):
    """Simulate a random rate RNN and return (or write) its codes, one per gain.

    The network and task are those of Bordelon & Pehlevan (eLife 11:e78606, 2022): N tanh
    rate units, Euler steps of the rate equation (docs/theory/codes.md)::

        z ← z + (Δt/τ)(−z + W r + w_in x_t),   r = tanh z,   W = g G/√N,   G_ij ~ N(0, 1),

    from a random initial state z(0) ~ N(0, 1), all trials at once. Every (trial, step) pair
    is a sample; its features are the rates over √N, so that the linear kernel of a codes
    file is K = R Rᵀ/N and every command reads it by the feature route (an N×N moment
    when N < M = trials·steps). Built-in task: a cue θ ~ U(−π/2, π/2) as input during the
    first half of the trial, and targets θ·e^{−(t − t_on)/τ_y} after it (τ_y = 0: held),
    each scaled to unit RMS. The same random draws serve every gain.

    Parameters
    ----------
    output : str or path, optional
        Write the codes there (HDF5, see `kerncurve.io.reservoir`); with several gains one
        file per gain, ``<stem>_g<gain>.h5``. Without it the codes stay in memory
        (``result.codes``).
    n : int
        Neurons N ≥ 2.
    gain : float or sequence of float
        Gains g ≥ 0 of the recurrent weights (g > 1: chaotic).
    trials, steps : int
        Trials (each with its own cue and initial state) and time steps per trial
        (default 40 and 50; taken from ``x`` when it is given).
    dt, tau : float
        Euler step Δt > 0 and time constant τ > 0 with Δt ≤ τ (a larger step is unstable).
    target_tau : float or sequence of float
        Decay time constants τ_y ≥ 0 of the built-in task's targets (0: held), one target
        column each.
    seed : int
        Seed of the cues, the connectivity, the input weights and the initial states.
    x, y : array_like, optional
        Your own task instead of the built-in one: inputs (trials, steps[, d_in]) and
        targets (trials, steps[, c]) (``target_tau`` is then unused).
    memory : str or int, optional
        Budget (``"2G"``) for the network and its codes, checked before anything is built.
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    ReservoirResult
        One row per gain: ``gain, samples, neurons, rate_rms, effective_dimension,
        top_eigenvalue, file``. ``effective_dimension`` is the participation ratio
        (Σ η_k)²/Σ η_k² of the eigenvalues η_k of K/M (``top_eigenvalue`` is η_1);
        ``file`` is the path written ("" in memory). Attribute ``codes``: a list of `Codes`
        (only without ``output``).
    """
    from ..io.sizes import memory_budget
    from ..simulate.reservoir import delay_task, draw_network, simulate_rates

    n = check_int(n, "n", minimum=2, maximum=10**6)
    gains = check_floats(gain, "gain", minimum=0.0)
    if gains.size > MAX_GAINS:
        raise InputError(f"gain has {gains.size} values, more than the {MAX_GAINS} allowed (one file each)",
                         param="gain")
    dt = check_float(dt, "dt", minimum=0.0, strict=True)
    tau = check_float(tau, "tau", minimum=0.0, strict=True)
    if dt > tau:
        raise InputError(f"dt={dt:g} is larger than tau={tau:g}: the Euler step Δt/τ = {dt / tau:.3g} > 1 is "
                         "unstable; use dt ≤ tau", param="dt")
    seed = check_seed(seed)
    budget = memory_budget(memory)
    if x is not None or y is not None:
        if x is None:
            raise InputError("x is needed with y: the input of every (trial, step) sample", param="x")
        x, y_arr = _task_arrays(x, y)
        for name, given, have in (("trials", trials, x.shape[0]), ("steps", steps, x.shape[1])):
            if given is not None and check_int(given, name, minimum=1) != have:
                raise InputError(f"{name}={given} but x has {have}; leave {name} out with x", param=name)
        trials, steps = x.shape[:2]
        taus = None
    else:
        trials = check_int(40 if trials is None else trials, "trials", minimum=1, maximum=MAX_SAMPLES)
        steps = check_int(50 if steps is None else steps, "steps", minimum=1, maximum=MAX_SAMPLES)
        taus = tuple(float(t) for t in check_floats(target_tau, "target_tau", minimum=0.0))
        names = [f"{t:g}" for t in taus]
        if len(set(names)) < len(names):
            raise InputError(f"target_tau has repeated values ({', '.join(names)}); give each time constant once",
                             param="target_tau")
    d_in = 1 if x is None else x.shape[2]
    paths = None
    if output is not None:
        from ..io.outputs import plan_outputs
        from ..io.reservoir import codes_paths

        paths = codes_paths(output, [float(g) for g in gains])
        labels = ["OUTPUT" if len(paths) == 1 else f"OUTPUT ({os.path.basename(p)})" for p in paths]
        planned = plan_outputs(list(zip(labels, paths)))  # before any work
        paths = [planned[label] for label in labels]
    _check_sizes(n, trials, steps, d_in, gains, budget, keep=output is None)

    rng = np.random.default_rng(seed)
    if x is None:
        theta, x, y_arr = delay_task(rng, trials, steps, dt, taus)
    else:
        theta = None
    network = draw_network(rng, n, trials, d_in)
    m = trials * steps
    trial_idx = np.repeat(np.arange(trials, dtype=np.int64), steps)
    time_idx = np.tile(np.arange(steps, dtype=np.int64), trials)
    targets_flat = y_arr.reshape(m, -1)
    stimulus = x.reshape(m, d_in)

    rows = {c: [] for c in COLUMNS}
    codes_list = []
    rates = np.empty((trials, steps, n))
    ctx = contextlib.nullcontext(lambda k=1: None) if progress is None else progress("reservoir", len(gains))
    with ctx as advance:
        for i, g in enumerate(gains):
            simulate_rates(network, x, float(g), dt, tau, out=rates)
            features = rates.reshape(m, n) / np.sqrt(n)
            eta = _code_eigenvalues(features)
            codes = Codes(gain=float(g), features=features, targets=targets_flat, trial=trial_idx, time=time_idx,
                          stimulus=stimulus, theta=theta, target_taus=taus)
            file = ""
            if paths is not None:
                from ..io.reservoir import write_codes

                attrs = {"gain": float(g), "n": n, "trials": trials, "steps": steps, "dt": dt, "tau": tau,
                         "seed": seed, "task": "delay" if taus is not None else "custom",
                         "description": f"rate RNN codes: {n} tanh units, gain {g:g}, {trials} trials x {steps} "
                                        f"steps (dt {dt:g}, tau {tau:g}); kerncurve reservoir"}
                if taus is not None:
                    attrs["target_tau"] = list(taus)
                write_codes(paths[i], codes, attrs)
                file = paths[i].path
            else:
                codes_list.append(codes)  # features is a new array: the next gain does not overwrite it
            rows["gain"].append(float(g))
            rows["samples"].append(m)
            rows["neurons"].append(n)
            rows["rate_rms"].append(float(np.sqrt(np.mean(features**2) * n)))
            rows["effective_dimension"].append(float(eta.sum() ** 2 / np.sum(eta**2)) if eta.size else 0.0)
            rows["top_eigenvalue"].append(float(eta[0]) if eta.size else 0.0)
            rows["file"].append(file)
            advance(1)

    data = {c: np.array(v) if c != "file" else np.array(v, dtype=object) for c, v in rows.items()}
    summary = {"neurons": n, "trials": trials, "steps": steps, "samples": m, "dt": dt, "tau": tau,
               "task": "delay" if taus is not None else "custom", "files": len(gains) if output is not None else 0}
    if taus is not None:
        summary["target_tau"] = list(taus)
    params = {"n": n, "gain": gains.tolist(), "trials": trials, "steps": steps, "dt": dt, "tau": tau,
              "target_tau": list(taus) if taus is not None else None, "seed": seed}
    return ReservoirResult("reservoir", COLUMNS, data, int_columns=("samples", "neurons"), summary=summary,
                           params=params, codes=codes_list if output is None else None)


def _code_eigenvalues(features):
    """Eigenvalues η_k of K/M for the codes, by the smaller of the two Gram matrices (descending)."""
    m, n = features.shape
    mat = features.T @ features if n <= m else features @ features.T
    eta = np.linalg.eigvalsh(mat / m)[::-1]
    return eta[eta > 1e-12 * max(eta[0], 0.0)] if eta.size and eta[0] > 0 else eta[:0]
