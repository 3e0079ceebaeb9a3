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
from .topk import spectrum_top

__all__ = ["bootstrap_spectra"]


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
                                route="gram", source_dtype=np.float64, where="bootstrap sample", seed=seed)
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
                            where="bootstrap sample", seed=seed)
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
