"""Bootstrap spectra: how much a curve predicted from n samples moves when the samples do.

A bootstrap sample draws the n samples again with replacement. Drawing sample i c_i times
is the same as giving it weight w_i = c_i/n in the empirical measure, so the resampled
kernel K*/n has the eigenvalues of A = W^{1/2} K_SS W^{1/2} over the distinct samples S
(about 63 % of them: the eigenproblem is 4× cheaper than on the resampled n × n Gram), with
target coefficients v = Uᵀ W^{1/2} y_S and total power Σ_S w_i |y_i|². For features the
weighted moments XᵀWX and XᵀWy give the same spectrum at d × d cost. For a built-in kernel
on raw inputs (the Gram-free routes) the caller passes ``spectrum_of(keep, w, seed)``, which
runs the same top-k or Nyström computation on the distinct samples with weights w.
"""

import numpy as np

from .spectrum import _finish
from .topk import dense_moments, feature_moments, spectrum_top

__all__ = ["bootstrap_spectra", "gram_free_resampler", "basic_interval", "mode_band"]


def _one(features, gram, y, counts, n, top_eigen, seed, spectrum_of=None):
    keep = counts > 0
    w = counts[keep] / n
    if spectrum_of is not None:
        return spectrum_of(keep, w, seed)
    ys = y[keep]
    total = float(np.einsum("i,ic,ic->", w, ys, ys))
    if gram is not None:
        sw = np.sqrt(w)
        a = gram[np.ix_(keep, keep)] * sw[:, None] * sw[None, :]
        ysw = ys * sw[:, None]
        if top_eigen is not None and top_eigen < a.shape[0]:
            return spectrum_top(lambda v: a @ v, a.shape[0], top_eigen, coefficients=lambda th, u: u.T @ ysw,
                                trace=float(np.trace(a)), total_power=np.sum(ysw**2, 0), n_modes=a.shape[0], n=n,
                                route="gram", source_dtype=np.float64, where="bootstrap sample", seed=seed,
                                moments=dense_moments(a, ysw))
        from ..linalg import eigh_project

        eta, proj = eigh_project(a, ysw, overwrite_a=True)
        return _finish(eta, proj, total, n, "gram", np.float64, "bootstrap sample")
    xs = features[keep]
    xw = xs * w[:, None]
    c = xs.T @ xw
    b = xw.T @ ys
    from .spectrum import spectrum_from_moments

    if top_eigen is not None and top_eigen < c.shape[0]:
        return spectrum_top(lambda v: c @ v, c.shape[0], top_eigen,
                            coefficients=lambda th, vv: (vv.T @ b) / np.sqrt(np.maximum(th, 1e-300))[:, None],
                            trace=float(np.trace(c)), total_power=np.einsum("i,ic,ic->c", w, ys, ys),
                            n_modes=c.shape[0], n=n, route="features", source_dtype=np.float64,
                            where="bootstrap sample", seed=seed, moments=feature_moments(c, b))
    return spectrum_from_moments(c, b, total, n, where="bootstrap sample", overwrite=True)


def bootstrap_spectra(y, *, features=None, gram=None, draws=100, seed=0, top_eigen=None, progress=None,
                      spectrum_of=None):
    """Yield ``draws`` spectra of bootstrap resamples of the n samples.

    Parameters
    ----------
    y : ndarray (n, c)
    features, gram : ndarray
        The samples: features (n, d) or the Gram (n, n); exactly one, unless ``spectrum_of``.
    draws : int
    seed : int
        Seed of the resampling (``numpy.random.default_rng``).
    top_eigen : int, optional
        Compute only the top K modes of each resample (with the modeled tail).
    progress : callable, optional
        Called with 1 after each resample.
    spectrum_of : callable, optional
        ``spectrum_of(keep, w, seed)``: the spectrum of the samples ``keep`` (a boolean mask)
        weighted by ``w`` (summing to 1); replaces the features/Gram route.
    """
    n = y.shape[0]
    rng = np.random.default_rng(seed)
    for b in range(draws):  # one eigenproblem per resample: the loop is over draws only
        counts = rng.multinomial(n, np.full(n, 1.0 / n))
        spec = _one(features, gram, y, counts, n, top_eigen, seed + b, spectrum_of)
        if progress is not None:
            progress(1)
        yield spec


def gram_free_resampler(problem, targets, n):
    """``spectrum_of(keep, w, seed)`` on the Gram-free route of ``problem`` (None on other routes).

    ``problem`` holds ``kernel_inputs`` (n, d), ``kernel`` (name, params) and the route's
    ``options`` (``landmarks``/``landmark_rule`` or ``top_eigen``, ``memory``).
    """
    if problem is None or getattr(problem, "kernel_inputs", None) is None:
        return None
    from .kernelfree import kernelfree_top, nystrom

    x, (name, params), opts = problem.kernel_inputs, problem.kernel, problem.options

    def spectrum_of(keep, w, seed):
        rows = int(keep.sum())
        kw = dict(memory=opts.get("memory"), seed=seed, where="bootstrap sample", weights=w, n=n)
        if opts.get("landmarks") is not None:  # a resample holds ~63 % distinct samples: fewer landmarks if need be
            return nystrom(x[keep], targets[keep], name, params, min(opts["landmarks"], rows - 1),
                           rule=opts.get("landmark_rule", "uniform"), **kw)
        return kernelfree_top(x[keep], targets[keep], name, params, min(opts["top_eigen"], rows - 1), **kw)

    return spectrum_of


def basic_interval(estimate, draws, band):
    """The basic (reflected) bootstrap interval and standard error of ``estimate`` from ``draws`` (B, ...).

    A resample holds only ~63 % distinct samples, so its statistics are biased; reflecting the
    resampled quantiles about the estimate removes that bias to first order, where the plain
    percentile interval would miss the population value.
    """
    q_lo, q_hi = np.percentile(draws, [50 * (1 - band), 50 * (1 + band)], axis=0)
    with np.errstate(invalid="ignore"):
        lo = np.maximum(2 * estimate - q_hi, 0.0)
        hi = np.maximum(2 * estimate - q_lo, 0.0)  # the statistics here are non-negative
        se = np.std(draws, axis=0, ddof=1)
    return lo, hi, se


def mode_band(spec, spectra, modes, band):
    """Per-mode intervals of η_k and v_k² (k ≤ ``modes``) and SEs of the fitted exponents, from resampled spectra."""
    from .summary import spectrum_summary

    eta, v2, ab = [], [], []
    for s in spectra:  # one resample at a time: the loop is over draws only
        e = np.zeros(modes)
        t = np.zeros(modes)
        m = min(modes, s.rank)
        e[:m], t[:m] = s.eigenvalues[:m], s.target_power[:m]
        eta.append(e)
        v2.append(t)
        fit = spectrum_summary(s)
        ab.append((fit["eigenvalue_exponent_b"], fit["target_exponent_a"]))
    eta_lo, eta_hi, _ = basic_interval(spec.eigenvalues[:modes], np.array(eta), band)
    v2_lo, v2_hi, _ = basic_interval(spec.target_power[:modes], np.array(v2), band)
    ab = np.array(ab)
    finite = np.isfinite(ab)
    se = np.full(2, np.nan)
    for j in np.flatnonzero(finite.sum(0) > 1):  # the two exponents; nan where fits failed (too few modes)
        se[j] = np.std(ab[finite[:, j], j], ddof=1)
    columns = {"eigenvalue_lo": eta_lo, "eigenvalue_hi": eta_hi, "target_power_lo": v2_lo, "target_power_hi": v2_hi}
    return columns, {"eigenvalue_exponent_b_se": float(se[0]), "target_exponent_a_se": float(se[1])}
