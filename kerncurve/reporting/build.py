"""Gather what a report shows: provenance, spectrum, learning curve, spectral bias, trust.

Everything numeric comes from the library (`kerncurve.spectrum`, `kerncurve.predict`); this
module only arranges it, fits the curve's last-decade slope and states the trust checks in
plain sentences.
"""

import importlib.metadata
import os
import warnings

import numpy as np

from .. import __version__
from ..errors import KerncurveWarning
from ..theory.ridge import learning_curve, modal_errors
from .figures import alignment_figure, bias_figure, curve_figure, spectrum_figure

__all__ = ["ReportData", "gather", "datasets_of", "last_decade_slope"]

_HEAT_P = 40  # P values of the spectral-bias map
_HEAT_K = 400  # modes shown in it (at most)


class ReportData:
    """Everything the templates render (plain attributes; figures as SVG bytes)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def datasets_of(path):
    """[(name, shape, dtype)] of the datasets in an HDF5 file, by a guarded walk."""
    import h5py

    from ..io.h5 import guard

    out = []
    with guard(os.fspath(path), "/"), h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out.append(("/" + name, tuple(obj.shape), str(obj.dtype)))

        f.visititems(visit)
    return out


def last_decade_slope(p, eg, a, b):
    """Slope of log E_g against log P over the last decade of P (or the last half of the points),
    next to the spectrum's prediction −min(a − 1, 2b)."""
    p, eg = np.asarray(p, float), np.asarray(eg, float)
    ok = (eg > 0) & np.isfinite(eg)
    p, eg = p[ok], eg[ok]
    predicted = -min(a - 1, 2 * b) if np.isfinite(a) and np.isfinite(b) else float("nan")
    if p.size < 2:
        return {"measured": float("nan"), "predicted": predicted, "p_from": float("nan")}
    sel = p >= max(p.max() / 10, np.sort(p)[p.size // 2])
    if sel.sum() < 2:
        sel = p >= np.sort(p)[-2]
    slope = float(np.polyfit(np.log(p[sel]), np.log(eg[sel]), 1)[0])
    return {"measured": slope, "predicted": predicted, "p_from": float(p[sel].min())}


def _versions():
    out = {"kerncurve": __version__}
    for pkg in ("numpy", "scipy", "h5py", "matplotlib", "jinja2"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _bias_map(spec, p_max, ridge, noise):
    """(P grid, k, learnability (nP, nk)) of the spectral-bias map at one ridge and noise."""
    p = np.unique(np.geomspace(1, max(p_max, 2), _HEAT_P).round())
    m = min(spec.rank, _HEAT_K)
    curve = learning_curve(None, None, spec.residual_power, p, np.full(p.size, ridge), np.full(p.size, noise),
                           mode_sums=spec.mode_sums)
    lk, _, _ = modal_errors(spec.eigenvalues[:m], spec.target_power[:m], spec.residual_power, curve)
    return p, np.arange(1, m + 1), np.asarray(lk).reshape(p.size, m)


def _trust_sentences(result, n, recorded, slope):
    """The 'where to trust it' section as plain sentences."""
    d, s = result.to_dict(), result.summary
    out = []
    frac = float(d["p"].max()) / n
    if frac <= 0.2:
        out.append(f"The largest training set is P/n = {frac:.3g} of the n = {n} samples: the theory treats the "
                   "samples as the population, which is accurate while P is well below n (below 0.2 n).")
    else:
        out.append(f"The largest training set is P/n = {frac:.3g} of the n = {n} samples, beyond 0.2 n: there the "
                   "samples no longer stand for the population, and the prediction drifts from experiments.")
    if "max_relative_deviation" in s:
        z = s.get("max_deviation_in_sem", float("nan"))
        verdict = ("within the experiment's noise" if z <= 3 else
                   "larger than the experiment's noise, so it is a real gap")
        out.append(f"Against exact kernel ridge regression on held-out points, the theory deviates by "
                   f"{100 * s['mean_relative_deviation']:+.1f} % on average and {100 * s['max_relative_deviation']:.1f} % "
                   f"at most; the largest deviation is {z:.2g} SEM, {verdict}.")
    else:
        out.append("No experiment was run: add --empirical to compare the theory with kernel ridge regression "
                   "on the same data.")
    if "eg_se" in d:
        rel = np.nanmax(d["eg_se"] / np.where(d["eg"] > 0, d["eg"], np.nan))
        out.append(f"Resampling the samples moves the predicted error by up to {100 * rel:.2g} % (bootstrap "
                   "standard error): smaller gaps than that are spectrum noise.")
    if np.isfinite(slope["measured"]) and np.isfinite(slope["predicted"]):
        out.append(f"Over its last decade the predicted curve falls as P^{slope['measured']:.3g}; the fitted spectrum "
                   f"exponents imply P^{slope['predicted']:.3g} asymptotically (−min(a−1, 2b)), reached only when "
                   "P is large compared with the modes that carry the task.")
    if recorded:
        out.append(f"The library issued {len(recorded)} warning(s), listed below; each says what it means for "
                   "these numbers.")
    else:
        out.append("The library issued no warnings for this run.")
    return out


def gather(input, *, p, ridge, noise, empirical, trials, bootstrap, band, seed, command, input_options, progress):
    """Run the library and collect a `ReportData` (warnings recorded and kept for the report)."""
    from ..api.predict import predict
    from ..api.spectrum import load_input
    from ..io.h5 import file_sha256

    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always", KerncurveWarning)
        problem, spec = load_input(input, samples=empirical or bootstrap is not None, seed=seed, progress=progress,
                                   **input_options)
        result = predict(spec, p=p, ridge=ridge, noise=noise, empirical=empirical, trials=trials, seed=seed,
                         bootstrap=bootstrap, band=band, progress=progress, _problem=problem)
        noises = sorted(set(result.to_dict()["noise"].tolist()))
        optimal = predict(spec, p=sorted(set(result.to_dict()["p"].tolist())), ridge="opt", noise=noises[:1])
    mine = [w for w in recorded if issubclass(w.category, KerncurveWarning)]
    for w in recorded:  # warnings not ours go on to the caller as usual
        if not issubclass(w.category, KerncurveWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for w in mine:  # ours are in the report, and the caller sees them too
        warnings.warn(str(w.message), w.category, stacklevel=2)
    ssum = spec.summary
    d = result.to_dict()
    slope = last_decade_slope(d["p"][d["ridge"] == d["ridge"][0]], d["eg"][d["ridge"] == d["ridge"][0]],
                              ssum.get("target_exponent_a", np.nan), ssum.get("eigenvalue_exponent_b", np.nan))
    align, k50, k90 = alignment_figure(spec, ssum)
    bp, bk, lk = _bias_map(spec, float(d["p"].max()), float(d["ridge"][0]), float(d["noise"][0]))
    figures = [spectrum_figure(spec, ssum), align, curve_figure(result, optimal, slope), bias_figure(bp, bk, lk)]
    path = os.fspath(input)
    return ReportData(
        input=path, sha256=file_sha256(path), datasets=datasets_of(path), provenance=spec.provenance,
        spectrum_summary=ssum, n=spec.n, rank=spec.rank, k50=k50, k90=k90, result=result, optimal=optimal,
        slope=slope, figures={f.key: f for f in figures}, warnings=[str(w.message) for w in mine],
        trust=_trust_sentences(result, spec.n, mine, slope), versions=_versions(), command=command, seed=seed)
