"""`kerncurve.dynamics`: loss versus width, data and training time; the compute-optimal split."""

import contextlib
import itertools
import os
import warnings

import numpy as np

from .._validation import MAX_POINTS, MAX_SAMPLES, check_count, check_int, check_seed
from ..errors import InputError, NumericalWarning
from ..result import Result, numerics_guard
from ..spectral import Spectrum, spectrum_summary
from ..theory import dynamics as theory

__all__ = ["dynamics"]

COLUMNS = ["width", "p", "time", "loss"]
EMPIRICAL = ["loss_empirical", "loss_empirical_sem"]
FRONTIER = ["compute", "width_opt", "time_opt", "loss_opt", "p"]
MAX_DRAWS = 10**6
# one contour point costs about as much as 100·max(M, 10⁴) mode sums of a closed form; ~10⁷ mode sums a second
THEORY_BUDGET = 1e10  # (a quarter of an hour)
WORK_BUDGET = 1e12  # floating-point operations of the simulation (tens of minutes)
_FRONTIER_EVALS = 26  # loss evaluations per compute value (16 grid points, 10 refinements)


def _values(values, param, *, integer=False, allow_inf=True, minimum=0.0, strict=True):
    """A 1-D float array of numbers > ``minimum`` (≥ without ``strict``), checked vectorized (10⁶ values at once).

    ``integer``: finite values must be whole numbers in [1, 2⁵³] (sample sizes).
    """
    if isinstance(values, (str, bytes)) or (np.ndim(values) == 0 and isinstance(values, (bool, np.bool_))):
        raise InputError(f"{param} must be numbers, got {values!r}", param=param)
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{param} must be numbers, got {values!r}", param=param) from None
    if arr.size == 0:
        raise InputError(f"{param} is empty; give at least one value", param=param)
    check_count(arr.size, param, MAX_POINTS, unit="values")
    bad = np.isnan(arr) | (arr < minimum)
    if not allow_inf:
        bad |= np.isinf(arr)
    if strict:
        bad |= arr == minimum
    if integer:
        fin = np.isfinite(arr)
        bad |= fin & ((arr != np.round(arr)) | (arr < 1) | (arr > MAX_SAMPLES))
    if bad.any():
        kind = "positive integers" if integer else (f"numbers {'>' if strict else '≥'} {minimum:g}")
        raise InputError(f"{param} must be {kind}{' (or inf)' if allow_inf else ''}, got {arr[bad][0]!r}",
                         param=param)
    return arr


def _bar(progress, description, total):
    if progress is None:
        return contextlib.nullcontext(lambda n=1: None)
    return progress(description, total)


def _spectrum(spectrum, X, y, gram, seed, progress, input_options):
    """The input's `Spectrum`: a path (the command line's route), a Spectrum, or arrays."""
    given = [name for name, v in (("spectrum", spectrum), ("X", X), ("gram", gram)) if v is not None]
    if len(given) != 1:
        raise InputError("give one of spectrum= (a Spectrum or an HDF5 path), X= (features) or gram= (a kernel "
                         f"matrix), with y; got {', '.join(given) or 'none'}", param=given[-1] if given else "spectrum")
    if input_options and not isinstance(spectrum, (str, bytes, os.PathLike)):
        raise InputError(f"{', '.join(input_options)}: only for an HDF5 input", param=next(iter(input_options)))
    if isinstance(spectrum, (str, bytes, os.PathLike)):
        from .spectrum import load_input

        with _bar(progress, "eigendecomposition", 2) as advance:
            advance(1)
            spec = load_input(spectrum, seed=seed, progress=progress, **input_options)[1]
            advance(1)
        return spec
    if isinstance(spectrum, Spectrum):
        return spectrum
    if spectrum is not None:
        raise InputError(f"spectrum must be a Spectrum or a path to an HDF5 input, got {type(spectrum).__name__}",
                         param="spectrum")
    if y is None:
        raise InputError(f"y is needed with {given[0]}= (the targets of the samples)", param="y")
    return Spectrum.from_features(X, y) if X is not None else Spectrum.from_gram(gram, y)


def _check_theory_work(points_contour, points_closed, modes, what):
    """Refuse an absurd amount of theory (``modes`` = 1 before the spectrum is known: a lower bound)."""
    work = points_contour * 100.0 * max(modes, 10_000) + points_closed * float(modes)
    way = "compute= or p=" if what == "compute" else "width=, p= or time="
    check_count(work, what, THEORY_BUDGET, unit="mode sums (about 10⁷ a second)",
                way_out=f"use fewer {way} values" + (" or a spectrum with fewer modes (top_eigen=)" if modes > 1
                                                      else ""))


def _check_simulation(spec, pairs, ntimes, draws, memory):
    """Memory of one draw and arithmetic of all draws of the exact gradient flow, before any."""
    from ..io.sizes import check_bytes, memory_budget

    M = spec.rank
    flops = 0.0
    for nw, pp in pairs:
        ne = M if np.isinf(nw) else nw
        pe = M if np.isinf(pp) else pp
        r = min(ne, pe)
        nbytes = 8.0 * (M * ne + pe * M + pe * ne + pe * r + r * ne + M * r + 3 * ntimes * M + ntimes * r)
        check_bytes(nbytes, memory_budget(memory), f"one draw of the simulation at width {nw:g}, p {pp:g}",
                    way_out="use a smaller width= or p=, fewer modes (top_eigen=), or raise memory=")
        flops += draws * (2.0 * pe * M * ne + 4.0 * pe * ne * r + 2.0 * ntimes * r * M)
    check_count(flops, "draws", WORK_BUDGET, unit="floating-point operations in the simulation",
                way_out="use fewer draws= or smaller width= and p= values")


@numerics_guard(allow_inf=("width", "p", "time", "loss", "loss_empirical", "loss_empirical_sem"))
def dynamics(spectrum=None, *, width=None, p=np.inf, time=None, compute=None, empirical=False, draws=40, seed=0,
             X=None, y=None, gram=None, progress=None, **input_options):
    """Test loss of a random-feature model of width N trained by gradient flow on P samples for time t.

    Teacher y = w*·ψ on the kernel's eigenfeatures (⟨ψψᵀ⟩ = diag λ_k, target power
    λ_k w*_k² = v_k²), student (1/√N) w·Aψ with A ∈ R^{N×M} i.i.d. N(0, 1), gradient flow on
    (1/2P) Σ_μ (f − y)² from w = 0 (Bordelon, Atanasov & Pehlevan, *A Dynamical Model of
    Neural Scaling Laws*, ICML 2024). With df(κ) = Σ λ_k/(λ_k + κ), κ(z) solves
    κ(1 − df/N)(1 − df/P) = z, and L(t) is the double inverse Laplace transform of
    L̂(z, z') (docs/theory/dynamics.md); with ``compute``, each C = N·t is split to minimize L.

    Parameters
    ----------
    spectrum : Spectrum or path, optional
        A `Spectrum`, or an HDF5 input (then ``input_options`` are those of
        `kerncurve.spectrum`: keys, ``kernel``, ``top_eigen``, ``memory``…).
    X, gram, y : array_like, optional
        Features (n, d) or a Gram (n, n) with targets y, instead of ``spectrum``.
    width : float or sequence of float
        Model sizes N > 0 (``inf`` allowed). With ``compute``: the range searched
        [default there: 1 to 100·M].
    p : int or sequence of int
        Training-set sizes P (``inf`` allowed; default inf).
    time : float or sequence of float
        Gradient-flow times t ≥ 0 (≈ learning rate × steps; ``inf`` allowed). With
        ``compute``: the range searched [default there: any].
    compute : float or sequence of float, optional
        Compute budgets C = N·t: the compute-optimal frontier instead of the grid.
    empirical : bool
        Also run exact gradient flow of the model (Gaussian features with the spectrum).
    draws : int
        Random draws of projection and data per (width, p) for ``empirical``.
    seed : int
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Result
        Grid: columns ``width, p, time, loss`` (+ ``loss_empirical, loss_empirical_sem``),
        one row per combination (width outer, then p, then time); ``loss`` is the expected
        test MSE against the learnable target, ``inf`` at the interpolation peak N = P,
        t = ∞. Frontier: columns ``compute, width_opt, time_opt, loss_opt, p`` and the
        attribute ``frontiers`` (one `Frontier` per P). Attribute ``spectrum``.

    Examples
    --------
    >>> r = kc.dynamics(spec, width=[200, np.inf], p=400, time=[10, 1e3])      # doctest: +SKIP
    >>> r = kc.dynamics(spec, compute=np.logspace(2, 7, 6))                     # doctest: +SKIP
    """
    p = _values(p, "p", integer=True)
    widths = None if width is None else _values(width, "width")
    times = None if time is None else _values(time, "time", strict=False)
    draws = check_int(draws, "draws", minimum=2, maximum=MAX_DRAWS)
    seed = check_seed(seed)
    if compute is None:
        if widths is None or times is None:
            raise InputError("dynamics needs width= and time= (or compute= for the compute-optimal frontier)",
                             param="time" if widths is not None else "width")
        check_count(widths.size * p.size * times.size, "time", MAX_POINTS, unit="rows (width × p × time)",
                    way_out="use fewer width=, p= or time= values")
        if empirical and np.any(np.isfinite(widths) & (widths != np.round(widths))):
            raise InputError("width must be whole numbers of features (or inf) with empirical=", param="width")
    else:
        compute = _values(compute, "compute", allow_inf=False)
        check_count(compute.size * p.size, "compute", MAX_POINTS, unit="rows (compute × p)",
                    way_out="use fewer compute= or p= values")
        if empirical:
            raise InputError("empirical= is not available with compute=; check a frontier point on a grid "
                             "(width=, time=, empirical=)", param="empirical")

    if compute is None:
        grid = np.stack([g.ravel() for g in np.meshgrid(widths, p, times, indexing="ij")], axis=1)
        contour = np.isfinite(grid[:, 2]) & (grid[:, 2] > 0) & ~(np.isinf(grid[:, 0]) & np.isinf(grid[:, 1]))
        work = (int(contour.sum()), int((~contour).sum()))
        _check_theory_work(*work, 1, "time")
    else:
        work = (compute.size * p.size * _FRONTIER_EVALS, 0)
        _check_theory_work(*work, 1, "compute")

    spec = _spectrum(spectrum, X, y, gram, seed, progress, input_options)
    lam, v2 = spec.eigenvalues, spec.target_power
    if spec.rank == 0 or not np.any(lam > 0):
        raise InputError("the spectrum has no positive eigenvalue, so no model can learn anything; check the "
                         "features/Gram (all zero?)", param="spectrum")
    prov = spec.provenance
    if spec.residual_power > 1e-9 * max(spec.total_power, 1e-300):
        warnings.warn(f"target power {spec.residual_power:.4g} lies outside the kernel's modes; the model's teacher "
                      "lives in the modes, so loss excludes it", NumericalWarning)
    if spec.route in ("gram", "features") and np.any(np.isfinite(p) & (p > 0.2 * spec.n)):
        warnings.warn(f"P up to {p[np.isfinite(p)].max():g} exceeds 0.2 n = {0.2 * spec.n:g}: the spectrum of n "
                      "samples stands for the population only for P ≪ n", NumericalWarning)
    fit = spectrum_summary(spec)
    summary = {"input": prov.get("input", ""), "source": prov.get("source", ""), "modes": spec.rank,
               "trace": float(lam.sum()), "target_power": float(v2.sum()), "unlearnable_power": spec.residual_power,
               "eigenvalue_exponent_b": fit["eigenvalue_exponent_b"], "target_exponent_a": fit["target_exponent_a"]}
    kernel = input_options.get("kernel", prov.get("kernel"))
    if compute is not None:
        _check_theory_work(*work, spec.rank, "compute")
        return _frontier(spec, compute, widths, times, p, summary, kernel, progress)

    _check_theory_work(*work, spec.rank, "time")
    if empirical:
        pairs = list(itertools.product(widths, p))
        _check_simulation(spec, pairs, times.size, draws, input_options.get("memory"))
    loss = theory.loss(spec, None, grid[:, 0], grid[:, 1], grid[:, 2])
    data = {"width": grid[:, 0], "p": grid[:, 1], "time": grid[:, 2], "loss": loss}
    columns = list(COLUMNS)
    if np.any(np.isinf(loss)):
        warnings.warn("loss is inf at N = P, t = inf (the interpolation peak); any finite time or N ≠ P stays finite",
                      NumericalWarning)
    if empirical:
        from ..simulate.dynamics import simulate_loss

        mean, sem = np.empty(loss.size), np.empty(loss.size)
        nt = times.size
        with _bar(progress, "gradient flow draws", len(pairs)) as advance:
            for i, (nw, pp) in enumerate(pairs):  # one simulation per (N, P); all times at once
                r = simulate_loss(lam, v2, nw, pp, times, draws=draws, seed=seed)
                mean[i * nt:(i + 1) * nt], sem[i * nt:(i + 1) * nt] = r.mean, r.sem
                advance()
        data["loss_empirical"], data["loss_empirical_sem"] = mean, sem
        columns += EMPIRICAL
        ok = np.isfinite(loss) & (loss > 1e-12 * v2.sum()) & np.isfinite(mean)
        if ok.any():
            summary["max_relative_deviation"] = float(np.max(np.abs(mean[ok] / loss[ok] - 1)))
            summary["max_deviation_in_sem"] = float(np.max(np.abs(mean[ok] - loss[ok]) / np.maximum(sem[ok], 1e-300)))
    summary["points"] = int(loss.size)
    params = {"width": widths.tolist(), "p": p.tolist(), "time": times.tolist(), "empirical": bool(empirical),
              "draws": draws, "seed": seed, "kernel": kernel}
    return Result("dynamics", columns, data, summary=summary, params=params, spectrum=spec)


def _frontier(spec, compute, widths, times, p, summary, kernel, progress):
    wb = (1.0, np.inf) if widths is None else (float(widths.min()), float(widths.max()))
    tb = (0.0, np.inf) if times is None else (float(times.min()), float(times.max()))
    fitted = []
    with _bar(progress, "compute-optimal split", p.size) as advance:
        for pp in p:
            fitted.append(theory.compute_frontier(spec, None, compute, p=pp, width_bounds=wb, time_bounds=tb))
            advance()
    data = {"compute": np.concatenate([fr.compute for fr in fitted]),
            "width_opt": np.concatenate([fr.width_opt for fr in fitted]),
            "time_opt": np.concatenate([fr.time_opt for fr in fitted]),
            "loss_opt": np.concatenate([fr.loss_opt for fr in fitted]),
            "p": np.concatenate([np.full(fr.compute.size, fr.p) for fr in fitted])}
    b, a = summary["eigenvalue_exponent_b"], summary["target_exponent_a"]
    pred = theory.predicted_frontier_exponents(b, a) if np.isfinite(a) and np.isfinite(b) else None
    first = fitted[0].fitted
    several = compute.size >= 2
    summary.update({
        "width_exponent": first.width if several else float("nan"),
        "time_exponent": first.time if several else float("nan"),
        "loss_exponent": first.loss if several else float("nan"),
        "predicted_width_exponent": pred.width if pred else float("nan"),
        "predicted_time_exponent": pred.time if pred else float("nan"),
        "predicted_loss_exponent": pred.loss if pred else float("nan"),
        "p": float(p[0]),
    })
    params = {"compute": compute.tolist(), "p": p.tolist(), "width_bounds": list(wb), "time_bounds": list(tb),
              "kernel": kernel}
    return Result("dynamics", FRONTIER, data, summary=summary, params=params, spectrum=spec, frontiers=fitted)
