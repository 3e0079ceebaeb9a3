"""`kerncurve.predict`: the learning curve of kernel ridge regression, and its experiment."""

import itertools
import os
import warnings

import numpy as np

from .._validation import check_float, check_floats, check_int, check_seed, check_sizes, check_targets
from ..errors import InputError, NumericalWarning
from ..result import Result, numerics_guard
from ..spectral import Spectrum, top_eigen_warning
from ..table import Table
from ..theory.ridge import heldout_error, learning_curve, modal_errors, optimal_ridge
from .compare import deviation_summary
from .groups import GROUP_COLUMNS, group_names, held_groups, load_groups

__all__ = ["predict", "PredictResult"]

COLUMNS = ["p", "ridge", "noise", "kappa", "gamma", "eg"]
EMPIRICAL = ["eg_empirical", "eg_empirical_sem"]
TRAILING = ["e_train", "residual"]
MODE_COLUMNS = ["p", "ridge", "noise", "k", "eigenvalue", "learnability", "modal_error"]


class PredictResult(Result):
    """`predict`'s result; `modes` gives the per-mode table (``--modes-output``)."""

    def modes(self, top=None):
        """Learnability and modal error of each mode at every curve point (a `Table`).

        Decomposition of E_g by predictor mode: E[(v̂_k − v_k)²] = b_k² + (L_k²/P)(Σ_l b_l² +
        v_⊥² + σ²)/(1 − γ); summed over k and added to the unlearnable v_⊥² it gives E_g.
        """
        spec, curve = self.spectrum, self.curve
        m = spec.rank if top is None else min(check_int(top, "modes_top", minimum=1), spec.rank)
        lk, modal, _ = modal_errors(spec.eigenvalues[:m], spec.target_power[:m], spec.residual_power, curve)
        npt = curve.p.size
        rep = np.repeat(np.arange(npt), m)
        data = {
            "p": curve.p.ravel()[rep].astype(np.int64),
            "ridge": curve.ridge.ravel()[rep],
            "noise": curve.noise.ravel()[rep],
            "k": np.tile(np.arange(1, m + 1), npt),
            "eigenvalue": np.tile(spec.eigenvalues[:m], npt),
            "learnability": lk.ravel(),
            "modal_error": modal.ravel(),
        }
        return Table(MODE_COLUMNS, data, int_columns=("p", "k"))


def _ridges(ridge):
    if isinstance(ridge, str):
        if ridge != "opt":
            raise InputError(f"ridge must be numbers ≥ 0 or 'opt', got {ridge!r}", param="ridge")
        return "opt", ["opt"]
    vals = list(ridge) if np.ndim(ridge) else [ridge]
    if vals == ["opt"]:
        return "opt", ["opt"]
    if "opt" in [v for v in vals if isinstance(v, str)]:
        raise InputError("ridge: 'opt' cannot be combined with other ridge values", param="ridge")
    return None, check_floats(vals, "ridge", minimum=0.0)


def _samples(spec, X, y, gram, problem, why="empirical"):
    """(features, gram, targets) for the experiment or the bootstrap."""
    if problem is not None:
        if not problem.has_samples:
            raise InputError(f"{why} needs samples (features, Gram or inputs); the input is a spectrum cache",
                             param=why)
        return (problem.features if problem.gram is None else None), problem.gram, problem.targets
    if (X is None) == (gram is None):
        raise InputError(f"{why} needs the samples: pass X=features (n, d) or gram=K (n, n), and y", param=why)
    if y is None:
        raise InputError(f"y is needed with {why} (the targets of X or gram)", param="y")
    from .._validation import check_array

    if X is not None:
        X = check_array(X, "X", ndim=(2,), what="(n, d)")
        n = X.shape[0]
    else:
        gram = check_array(gram, "gram", ndim=(2,), what="(n, n)")
        if gram.shape[0] != gram.shape[1]:
            raise InputError(f"gram must be square (n, n), got shape {gram.shape}", param="gram")
        n = gram.shape[0]
    y = check_targets(y, n, "y", "X" if X is not None else "gram")
    if n != spec.n:
        name = "X" if X is not None else "gram"
        raise InputError(f"{name} has n = {n} rows but the spectrum was computed from n = {spec.n}; pass the same "
                         "data", param=name)
    return X, gram, y


@numerics_guard(allow_inf=("eg", "eg_heldout", "eg_empirical", "eg_lo", "eg_hi", "eg_se"),
                allow_nan=("eg_empirical_sem", "eg_se"))
def predict(spectrum, *, p, ridge=0.0, noise=0.0, empirical=False, trials=20, seed=0, bootstrap=None, band=0.9,
            groups=None, heldout_by=None, heldout_fraction=0.25, sweep_attr="gain", X=None, y=None, gram=None,
            progress=None, _problem=None, **input_options):
    """Predicted test error of kernel ridge regression versus sample size P.

    For every (P, λ, σ²) at once: the self-consistent κ, the overfitting factor γ, the test
    error E_g against the clean target and the training error (Bordelon, Canatar & Pehlevan,
    ICML 2020; Canatar, Bordelon & Pehlevan, Nat. Commun. 12, 2021)::

        κ = λ + κ Σ_k η_k/(Pη_k + κ),   L_k = Pη_k/(Pη_k + κ),   γ = Σ_k L_k²/P,
        E_g = [Σ_k (1 − L_k)² v_k² + v_⊥² + γσ²]/(1 − γ),   E_train = (λ/κ)²(E_g + σ²).

    Parameters
    ----------
    spectrum : Spectrum, path, or a list of them
        A `Spectrum`, or an HDF5 input (then ``input_options`` are those of
        `kerncurve.spectrum`: keys, ``kernel``, ``top_eigen``, ``memory``…). A list (a
        sweep: codes at several gains…) gives one table of every input's rows with trailing
        columns ``input`` and the inputs' ``sweep_attr`` (see `kerncurve.api.sweep`).
    p : int or sequence of int
        Training-set sizes P ≥ 1.
    ridge : float, sequence of float, or "opt"
        Absolute ridge(s) λ ≥ 0 added to the P×P Gram; "opt" picks, per P and σ², the λ
        minimizing the predicted E_g.
    noise : float or sequence of float
        Label-noise variances σ² ≥ 0 (summed over channels).
    empirical : bool
        Also run exact kernel ridge regression on P points drawn without replacement,
        tested on the held-out points (needs ``X`` and ``y`` or ``gram`` and ``y`` with a
        `Spectrum`; an HDF5 input provides them).
    trials : int
        Training sets per P for the experiment.
    seed : int
        Seed of the experiment's draws and of the bootstrap.
    bootstrap : int, optional
        Error bars on the theory: resample the n samples with replacement this many times
        (≥ 2), recompute the spectrum and the curve, and report the ``band`` interval
        ``eg_lo, eg_hi`` (the basic bootstrap interval: the resampled quantiles reflected
        about the estimate) and the bootstrap standard error ``eg_se`` (needs the
        samples, like ``empirical``; with ``top_eigen`` each resample uses the top-k route).
    band : float
        Coverage of the bootstrap interval, in (0, 1).
    groups : str, list of str, or dict, optional
        Integer labels grouping the samples, e.g. ``"trial"`` or ``["trial", "time"]``
        (datasets of an HDF5 input, ``trial`` meaning ``/trial``), or ``{"trial": labels}``
        with a `Spectrum`. The summary counts the groups of each.
    heldout_by : str, optional
        With ``empirical``: also train on P samples of some groups and test on every sample
        of held-out groups (a ``heldout_fraction`` of them, drawn anew per trial), adding
        ``eg_empirical_groups, eg_empirical_groups_sem`` (`kerncurve.api.groups`).
    heldout_fraction : float
        Fraction of the groups held out per trial, in (0, 1] (at least one group, at most
        all but one).
    sweep_attr : str
        With a list of inputs: the numeric root attribute giving each file's place in the
        sweep (``gain`` for `kerncurve.reservoir` files).
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    PredictResult
        Columns ``p, ridge, noise, kappa, gamma, eg`` (+ ``eg_empirical,
        eg_empirical_sem``), ``e_train, residual`` (+ ``eg_heldout``: the theory for
        exactly the held-out points the experiment measures). ``eg`` is ``inf`` at the
        ridgeless interpolation point P = rank when noise or unlearnable power is present.
        With ``bootstrap``: trailing ``eg_lo, eg_hi, eg_se``; with ``heldout_by``:
        ``eg_empirical_groups, eg_empirical_groups_sem``. Attributes ``spectrum`` and
        ``curve``; ``modes()`` gives the per-mode table.

    Examples
    --------
    >>> spec = kc.Spectrum.from_features(X, y)                              # doctest: +SKIP
    >>> r = kc.predict(spec, p=[10, 100], ridge=[0, 1e-3], noise=0.1)       # doctest: +SKIP
    >>> r.eg                                                                 # doctest: +SKIP
    """
    from .spectrum import load_input

    if isinstance(spectrum, (list, tuple)):
        from .sweep import predict_inputs

        return predict_inputs(spectrum, p=p, ridge=ridge, noise=noise, empirical=empirical, trials=trials, seed=seed,
                              bootstrap=bootstrap, band=band, groups=groups, heldout_by=heldout_by,
                              heldout_fraction=heldout_fraction, sweep_attr=sweep_attr, X=X, y=y, gram=gram,
                              progress=progress, **input_options)
    heldout_fraction = check_float(heldout_fraction, "heldout_fraction", minimum=0.0, strict=True, maximum=1.0)
    if not isinstance(sweep_attr, str) or not sweep_attr:
        raise InputError(f"sweep_attr must be an attribute name like 'gain', got {sweep_attr!r}", param="sweep_attr")
    group_spec, heldout_by = group_names(groups, heldout_by)
    if heldout_by is not None and not empirical:
        raise InputError("heldout_by needs the experiment (empirical) on: it trains on some groups and tests on the "
                         "held-out ones", param="heldout_by")
    p = check_sizes(p, "p")
    mode, ridges = _ridges(ridge)
    noises = check_floats(noise, "noise", minimum=0.0)
    trials = check_int(trials, "trials", minimum=1, maximum=10**7)
    seed = check_seed(seed)
    if bootstrap is not None:
        bootstrap = check_int(bootstrap, "bootstrap", minimum=2, maximum=10**6)
    band = check_float(band, "band", minimum=0.0, strict=True, maximum=1.0)
    if band >= 1.0:
        raise InputError(f"band must be < 1 (a coverage), got {band}", param="band")
    problem = _problem
    if isinstance(spectrum, (str, bytes, os.PathLike)):
        problem, spec = load_input(spectrum, progress=progress, samples=empirical or bootstrap is not None,
                                   seed=seed, **input_options)
    elif isinstance(spectrum, Spectrum):
        if input_options:
            raise InputError(f"{', '.join(input_options)}: only for an HDF5 input; this spectrum is already "
                             "computed", param=next(iter(input_options)))
        spec = spectrum
    else:
        raise InputError(f"spectrum must be a Spectrum or a path to an HDF5 input, got {type(spectrum).__name__}",
                         param="spectrum")
    n = spec.n
    if empirical or bootstrap is not None:
        features, gram_s, targets = _samples(spec, X, y, gram, problem, "empirical" if empirical else "bootstrap")
        kernel_src = None  # the Gram-free route: kernel blocks on the fly in the experiment too
        if problem is not None and getattr(problem, "kernel_inputs", None) is not None:
            kernel_src = (problem.kernel_inputs, *problem.kernel)
    if empirical:
        if p.max() >= n:
            raise InputError(f"p={p.max()} with empirical: P must be < n = {n} to leave held-out test points",
                             param="p")
    if group_spec is not None:
        labels = load_groups(group_spec, problem.path if problem is not None else None, n)
        if heldout_by is not None:
            held = held_groups(labels[heldout_by], heldout_fraction, int(p.max()), heldout_by)
    use_opt = mode == "opt"
    top_msg = top_eigen_warning(spec, float(p.max()))
    if top_msg:
        warnings.warn(top_msg, NumericalWarning)
    if np.any(p > 0.2 * n):
        warnings.warn(f"P up to {p.max()} exceeds 0.2 n = {0.2 * n:g}: the theory assumes training sets much "
                      "smaller than the n samples and drifts beyond", NumericalWarning)

    ms, vperp = spec.mode_sums, spec.residual_power
    if use_opt:
        lam = optimal_ridge(None, None, vperp, p[:, None], noises[None, :], mode_sums=ms)  # (nP, nNoise)
        pg = np.broadcast_to(p[:, None], lam.shape).astype(float)
        ng = np.broadcast_to(noises[None, :], lam.shape)
        curve = learning_curve(None, None, vperp, pg.ravel(), lam.ravel(), ng.ravel(), mode_sums=ms)
    else:
        grid = np.array(list(itertools.product(p, ridges, noises)), float)
        curve = learning_curve(None, None, vperp, grid[:, 0], grid[:, 1], grid[:, 2], mode_sums=ms)

    data = {"p": curve.p.astype(np.int64), "ridge": curve.ridge, "noise": curve.noise, "kappa": curve.kappa,
            "gamma": curve.gamma, "eg": curve.eg, "e_train": curve.e_train, "residual": curve.residual}
    columns = list(COLUMNS)
    if empirical:
        data["eg_empirical"], data["eg_empirical_sem"] = _experiment(
            curve, p, ridges, noises, use_opt, features, gram_s, targets, trials, seed, progress, kernel=kernel_src)
        columns += EMPIRICAL
    columns += TRAILING
    if empirical:
        # the experiment tests on held-out points; the theory's E_g is over all n samples
        data["eg_heldout"] = heldout_error(curve, n).ravel()
        columns.append("eg_heldout")

    if bootstrap is not None:
        from ..spectral.bootstrap import gram_free_resampler

        data["eg_lo"], data["eg_hi"], data["eg_se"] = _bootstrap_band(
            curve, features, gram_s, targets, bootstrap, band, seed, spec.exact_modes, progress,
            gram_free_resampler(problem, targets, n))
        columns += ["eg_lo", "eg_hi", "eg_se"]

    if heldout_by is not None:
        from ..simulate.ridge import group_draw

        data[GROUP_COLUMNS[0]], data[GROUP_COLUMNS[1]] = _experiment(
            curve, p, ridges, noises, use_opt, features, gram_s, targets, trials, seed, progress,
            draw=group_draw(labels[heldout_by], held[0]), kernel=kernel_src)
        columns += GROUP_COLUMNS

    if np.any(np.isinf(curve.eg)):
        warnings.warn("E_g is inf at the ridgeless interpolation point P = rank (noise or unlearnable power present); "
                      "any ridge > 0 removes the divergence", NumericalWarning)
    max_res = float(np.max(curve.residual))
    if max_res > 1e-10:
        warnings.warn(f"κ equation residual {max_res:.2g} exceeds 1e-10", NumericalWarning)

    prov = spec.provenance
    summary = {"input": prov.get("input", ""), "source": prov.get("source", ""), "n": n, "rank": spec.rank,
               "trace": float(spec.eigenvalues.sum()), "total_power": spec.total_power,
               "unlearnable_power": vperp, "points": int(curve.p.size), "max_residual": max_res}
    if spec.exact_modes is not None:
        if spec.route != "nystrom":
            summary["top_eigen"] = spec.notes.get("top_eigen", spec.exact_modes)
        summary["computed_modes"] = spec.exact_modes
        summary["tail_modes"] = spec.rank - spec.exact_modes
        for key in ("landmarks", "landmark_rule", "refined_modes", "kernel_passes", "tail_model"):  # how
            if key in spec.notes:
                summary[key] = spec.notes[key]
    for key in ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth"):
        if key in prov:
            summary[key] = prov[key]
    if empirical:
        summary.update(deviation_summary(data["eg_heldout"], data["eg_empirical"], data["eg_empirical_sem"],
                                         floor=1e-12 * spec.total_power))
    if bootstrap is not None:
        summary.update(bootstrap_draws=bootstrap, bootstrap_band=band)
    if group_spec is not None:
        summary.update({f"{name}_groups": int(np.unique(lab).size) for name, lab in labels.items()})
    if heldout_by is not None:
        summary.update(heldout_by=heldout_by, heldout_groups=held[0])
        dev = deviation_summary(curve.eg.ravel(), data[GROUP_COLUMNS[0]], data[GROUP_COLUMNS[1]],
                                floor=1e-12 * spec.total_power)
        summary.update({f"{k}_groups": v for k, v in dev.items()})
    params = {"p": p.tolist(), "ridge": ["opt"] if use_opt else ridges.tolist(), "noise": noises.tolist(),
              "empirical": bool(empirical), "trials": trials, "seed": seed, "kernel": prov.get("kernel")}
    if bootstrap is not None:
        params.update(bootstrap=bootstrap, band=band)
    if group_spec is not None:
        params.update(groups=list(labels), heldout_by=heldout_by,
                      heldout_fraction=float(heldout_fraction) if heldout_by else None)
    return PredictResult("predict", columns, data, int_columns=("p",), summary=summary, params=params,
                         spectrum=spec, curve=curve)


def _bootstrap_band(curve, features, gram, targets, draws, band, seed, top_eigen, progress, spectrum_of=None):
    """Basic-interval band and standard error of E_g over bootstrap resamples of the samples."""
    import contextlib

    from ..spectral.bootstrap import basic_interval, bootstrap_spectra

    if spectrum_of is None and features is not None and features.shape[1] >= features.shape[0]:
        features, gram = None, features @ features.T
    ctx = contextlib.nullcontext(lambda n=1: None) if progress is None else progress("bootstrap", draws)
    egs = np.empty((draws, curve.p.size))
    with ctx as advance:
        for b, spec in enumerate(bootstrap_spectra(targets, features=features, gram=gram, draws=draws, seed=seed,
                                                   top_eigen=top_eigen, progress=advance,
                                                   spectrum_of=spectrum_of)):
            egs[b] = learning_curve(None, None, spec.residual_power, curve.p.ravel(), curve.ridge.ravel(),
                                    curve.noise.ravel(), mode_sums=spec.mode_sums).eg
    # the basic (reflected) interval: the plain percentile interval misses the population curve (docs/scale.md)
    return basic_interval(curve.eg.ravel(), egs, band)


def _experiment(curve, p, ridges, noises, use_opt, features, gram, targets, trials, seed, progress, draw=None,
                kernel=None):
    """Mean and SEM of the held-out error of exact kernel ridge regression, per curve point."""
    import contextlib

    from ..simulate.ridge import krr_learning_curve

    def bar(total):
        if progress is None:
            return contextlib.nullcontext(lambda n=1: None)
        return progress("kernel ridge regression", total)

    kw = dict(features=features, gram=gram, trials=trials, seed=seed, draw=draw, kernel=kernel)
    if use_opt:
        # the optimal ridge differs per (P, σ²): simulate each row's own ridge
        mean = np.empty(curve.p.size)
        sem = np.empty(curve.p.size)
        with bar(trials * curve.p.size) as advance:
            for i in range(curve.p.size):  # one row per (P, σ²): a handful of rows
                r = krr_learning_curve(targets, [int(curve.p[i])], [curve.ridge[i]], [curve.noise[i]],
                                       progress=advance, **kw)
                mean[i], sem[i] = r.mean.ravel()[0], r.sem.ravel()[0]
        return mean, sem
    with bar(trials * p.size) as advance:
        r = krr_learning_curve(targets, p, ridges, noises, progress=advance, **kw)
    return r.mean.ravel(), r.sem.ravel()
