"""Top-k spectra: the K leading modes by block Krylov, the rest as a modeled power-law tail.

For P well below K the modes that P samples can learn are all among the computed ones and
the learning curve depends on the tail only through its (exact) trace and target power;
beyond P ≈ K/4 the modeled tail's shape matters, and `top_eigen_warning` says so.
"""

import warnings

import numpy as np

from ..errors import NumericalWarning
from ..linalg import top_eigenpairs
from .spectrum import _finish
from .summary import power_law_fit

__all__ = ["with_power_law_tail", "spectrum_top", "top_eigen_warning"]


def with_power_law_tail(eta_top, coeffs_top, rest_trace, total_power, n_modes):
    """Append a power-law tail to the K computed modes.

    The tail has the ``n_modes − K`` modes the computation skipped. Its eigenvalues are
    η_k = A k^(−b) for k = K+1 … n_modes, with b fitted to the computed η_k over
    k ∈ [K/2, K] (log-log least squares) and A set so that Σ_tail η = ``rest_trace``
    (= tr(K/n) − Σ_{k≤K} η_k, exact); b is lowered if needed so that the tail starts below
    η_K. Its target power follows the remaining power R(k) = E|y|² − Σ_{l≤k} v_l²,
    known exactly for k ≤ K: R is fitted over k ∈ [K/4, K] as A·k^(1−a) + f·(n − k), a
    decaying power law (a smooth target's modes) plus a flat floor f per mode (the part of the
    target spread evenly over all modes, as label noise is), with A, f ≥ 0 and a on a grid
    (relative least squares). The tail's v_k² are the increments of that fit, scaled so that
    Σ_tail v_k² = R(K) (exact) and split over channels like R(K); a = b when the fit has too
    few points. Spreading the remaining power as a pure power law instead puts too much of it
    on the first tail modes, which P ≈ K samples partly learn: on RBF kernels of noisy labels
    that made E_g 6–9 % low at P = K.

    Returns
    -------
    eta, coeffs : ndarrays (n_modes,), (n_modes, c)
    info : dict
        tail_modes, tail_eigenvalue_exponent, tail_target_exponent, tail_target_floor (the
        floor's share of R(K)), remaining_trace, remaining_power.
    """
    from scipy.optimize import brentq

    kk_top = eta_top.size
    c = coeffs_top.shape[1]
    v2 = np.einsum("kc,kc->k", coeffs_top, coeffs_top)
    rest_ch = np.maximum(_channel_rest(coeffs_top, total_power), 0.0)
    rest_power = float(rest_ch.sum())
    total = float(np.sum(total_power))
    m = int(n_modes) - kk_top
    info = {"tail_modes": max(m, 0), "remaining_trace": float(max(rest_trace, 0.0)), "remaining_power": rest_power}
    if m <= 0 or rest_trace <= 0:
        info.update(tail_eigenvalue_exponent=float("nan"), tail_target_exponent=float("nan"),
                    tail_target_floor=float("nan"))
        return eta_top, coeffs_top, info
    k = np.arange(kk_top + 1, kk_top + m + 1, dtype=float)
    b = power_law_fit(eta_top, lo_frac=0.5, hi_frac=1.0)
    if not np.isfinite(b) or b < 0:
        b = 1.0

    def first(bb):  # first tail eigenvalue for exponent bb, minus η_K
        w = (k / k[0]) ** (-bb)
        return rest_trace / w.sum() - eta_top[-1]

    if first(b) > 0:  # the fitted tail would start above η_K: flatten it until it does not
        b = brentq(first, 0.0, b, xtol=1e-10) if first(0.0) < 0 else 0.0
    w = (k / k[0]) ** (-b)
    eta_tail = rest_trace * w / w.sum()
    rem = total - np.cumsum(v2)
    fit = _remaining_power_fit(rem, int(n_modes))
    if fit is None:
        a, floor = b, 0.0
        u = (k / k[0]) ** (-a)
    else:
        s_exp, amp, f = fit
        a, floor = 1.0 + s_exp, f * m / max(amp * kk_top ** (-s_exp) + f * m, 1e-300)
        u = amp * ((k - 1) ** (-s_exp) - k ** (-s_exp)) + f
    v2_tail = u / u.sum()
    coeffs_tail = np.sqrt(v2_tail[:, None] * rest_ch[None, :])
    info.update(tail_eigenvalue_exponent=float(b), tail_target_exponent=float(a), tail_target_floor=float(floor))
    return np.concatenate([eta_top, eta_tail]), np.vstack([coeffs_top, coeffs_tail.reshape(m, c)]), info


_TARGET_EXPONENTS = np.linspace(0.05, 4.0, 80)  # s in R(k) ≈ A k^(−s) + f (n − k)


def _remaining_power_fit(rem, n_modes):
    """Fit R(k) ≈ A k^(−s) + f (n − k), A, f ≥ 0, over k ∈ [K/4, K]; (s, A, f) or None."""
    from scipy.optimize import nnls

    kk = rem.size
    ks = np.arange(1, kk + 1, dtype=float)
    sel = (ks >= max(2, kk // 4)) & (rem > 1e-14 * max(rem[0], 1e-300))
    if sel.sum() < 5:
        return None
    ks, r = ks[sel], rem[sel]
    best = None
    for s_exp in _TARGET_EXPONENTS:  # 80 two-variable problems, not a loop over modes
        design = np.column_stack([ks ** (-s_exp), n_modes - ks]) / r[:, None]
        coef, res = nnls(design, np.ones(r.size))
        if coef.sum() > 0 and (best is None or res < best[0]):
            best = (res, s_exp, coef)
    if best is None:
        return None
    _, s_exp, (amp, f) = best
    return float(s_exp), float(amp), float(f)


def _channel_rest(coeffs_top, total_power_per_channel):
    """Remaining power per channel (total_power_per_channel: array (c,) or scalar split evenly)."""
    tp = np.atleast_1d(np.asarray(total_power_per_channel, dtype=float))
    if tp.size == 1 and coeffs_top.shape[1] > 1:
        tp = np.full(coeffs_top.shape[1], tp[0] / coeffs_top.shape[1])
    return tp - np.sum(coeffs_top**2, axis=0)


def spectrum_top(matmat, dim, top, *, coefficients, trace, total_power, n_modes, n, route, source_dtype, where,
                 seed=0, tol=1e-6, progress=None, block=None, max_subspace=None, project=None):
    """Top-``top`` eigenpairs of an operator (block Krylov) plus the modeled tail, as a `Spectrum`.

    Parameters
    ----------
    matmat : callable
        V ↦ A V for the operator whose eigenvalues are η (K/n, or XᵀX/n).
    coefficients : callable
        Ritz values (k,), Ritz vectors (dim, k) ↦ target coefficients (k, c); with
        ``project`` (dim, c) it receives the projections (k, c) of the Ritz vectors on it
        instead of the vectors.
    trace : float
        tr(A) = Σ of all η.
    total_power : ndarray (c,)
        E|y_c|² per channel.
    (``with_power_law_tail`` takes the same per-channel array.)
    n_modes : int
        Number of modes of the full spectrum (n, or min(n, d) for features).
    """
    r = top_eigenpairs(matmat, dim, top, seed=seed, tol=tol, progress=progress, block=block,
                       max_subspace=max_subspace, project=project)
    coeffs = coefficients(r.values, r.vectors)
    tp = np.atleast_1d(np.asarray(total_power, float))
    eta, coeffs, info = with_power_law_tail(r.values, coeffs, trace - float(r.values.sum()), tp, n_modes)
    if not r.converged:
        warnings.warn(
            f"top_eigen={top}: the Krylov iteration stopped at a {r.subspace}-dimensional subspace with "
            f"residual {float(np.max(r.residuals)):.2g} (relative to η_1); the top modes are approximate",
            NumericalWarning,
        )
    notes = {"top_eigen": top, "krylov_subspace": r.subspace, "krylov_residual": float(np.max(r.residuals)), **info}
    spec = _finish(eta, coeffs, float(tp.sum()), n, route, source_dtype, where, exact_modes=top, notes=notes)
    return spec


def top_eigen_warning(spec, p_max):
    """A warning text when P exceeds what ``top_eigen=K`` resolves (P > K/4), else None.

    For P ≤ K/4 the modes that P samples can learn are all among the computed ones and the
    curve depends on the tail only through its (exact) trace and power; beyond that the
    modeled tail's shape matters.
    """
    if spec.exact_modes is None or p_max is None:
        return None
    limit = spec.exact_modes / 4
    if p_max > limit and spec.route == "nystrom":
        return (f"P up to {p_max:g} exceeds M/4 = {limit:g} for the {spec.exact_modes} Nyström modes: these "
                f"predictions depend on the modeled power-law tail; raise landmarks={4 * int(np.ceil(p_max))} for "
                "more exact ones")
    if p_max > limit:
        return (f"P up to {p_max:g} exceeds K/4 = {limit:g} for top_eigen={spec.exact_modes}: these predictions "
                f"depend on the modeled power-law tail; raise top_eigen={4 * int(np.ceil(p_max))} (or drop it) for "
                "exact ones")
    return None

