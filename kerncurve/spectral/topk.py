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

__all__ = ["with_power_law_tail", "spectrum_top", "top_eigen_warning", "dense_moments", "feature_moments",
           "converged_count"]


def with_power_law_tail(eta_top, coeffs_top, rest_trace, total_power, n_modes, moments=None):
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

    With ``moments`` = (tr A², [Σ_k η_k v_kc²]_c) of the whole operator A (one pass over the
    kernel gives both: the sum of its squared entries, and A applied to the target), the tail
    is not fitted but matched to what is known exactly about it (`_moment_tail`): its
    eigenvalues η_k = min(η_K, A k^(−b)) carry the remaining Σ η and Σ η² (A and b solved
    for; the cap keeps the tail below the computed modes), and its
    target power v_kc² = f_c + a_c η_k the remaining Σ v² and Σ η v² per channel. Real spectra
    bend (an RBF kernel's local exponent can run 1 → 2.2 → 1.2 over a decade of modes), and a
    fit over the last computed modes extrapolates the bend wrongly; the moments see the whole
    tail. On a 15000-sample RBF kernel the moments put E_g at P = K within 0.3 % of exact
    (the fit: 3 % low).

    Returns
    -------
    eta, coeffs : ndarrays (n_modes,), (n_modes, c)
    info : dict
        tail_modes, tail_model ("moments" or "fit"), tail_eigenvalue_exponent,
        tail_target_exponent, tail_target_floor (the floor's share of R(K)), remaining_trace,
        remaining_power.
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
    if moments is not None:
        tail = _moment_tail(eta_top, coeffs_top, rest_trace, rest_ch, k, *moments)
        if tail is not None:
            eta_tail, v2_tail, b, floor = tail
            info.update(tail_model="moments", tail_eigenvalue_exponent=b, tail_target_exponent=b,
                        tail_target_floor=floor)
            return np.concatenate([eta_top, eta_tail]), np.vstack([coeffs_top, np.sqrt(v2_tail)]), info
    info["tail_model"] = "fit"
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
_MAX_TAIL_EXPONENT = 60.0  # beyond it the tail is one mode carrying everything
RITZ_RTOL = 0.05  # a computed mode's Ritz residual, relative to its eigenvalue, at most
_MIN_KEPT = 8


def _moment_tail(eta_top, coeffs_top, rest_trace, rest_ch, k, trace2, target1):
    """The tail matched to the operator's moments (see `with_power_law_tail`), or None.

    Returns (η_tail (m,), v²_tail (m, c), b, floor share).
    """
    from scipy.optimize import brentq

    t2 = float(trace2) - float(np.sum(eta_top**2))
    ratio = t2 / rest_trace**2  # Σ η² / (Σ η)² over the tail: 1/m when flat, → 1 when steep
    if not (np.isfinite(ratio) and ratio > 0):
        return None

    cap = float(eta_top[-1])
    if rest_trace > k.size * cap:  # more trace than modes below η_K can hold: spread it evenly
        return None

    def shape(bb):  # η_k = min(η_K, A (k/k_0)^(−b)) with Σ η = rest_trace
        w = (k / k[0]) ** (-bb)
        # with the first j modes at the cap, A = (rest − j·cap) / Σ_{i≥j} w_i; the right j is the
        # one where A w_{j−1} ≥ cap > A w_j (w decreasing): all j at once, O(m)
        suffix = np.cumsum(w[::-1])[::-1]
        j = np.arange(w.size)
        amp = (rest_trace - j * cap) / suffix
        ok = (amp * w <= cap * (1 + 1e-12)) & ((j == 0) | (amp * np.roll(w, 1) >= cap * (1 - 1e-12)))
        jj = int(np.flatnonzero(ok)[0]) if ok.any() else 0
        return np.minimum(cap, amp[jj] * w)

    def excess(bb):
        e = shape(bb)
        return float(e @ e) / rest_trace**2 - ratio

    if excess(0.0) >= 0:
        b = 0.0
    elif excess(_MAX_TAIL_EXPONENT) <= 0:
        b = _MAX_TAIL_EXPONENT
    else:
        b = brentq(excess, 0.0, _MAX_TAIL_EXPONENT, xtol=1e-10)
    eta_tail = shape(b)
    m, s1, s2 = float(k.size), float(rest_trace), float(eta_tail @ eta_tail)
    # per channel: v² = f + a η with Σ v² = R_c and Σ η v² = S_c (2×2, Cauchy–Schwarz: det ≥ 0)
    s_c = np.asarray(target1, dtype=float) - np.einsum("k,kc,kc->c", eta_top, coeffs_top, coeffs_top)
    det = m * s2 - s1 * s1
    if det > 1e-12 * m * s2:
        f = (s2 * rest_ch - s1 * s_c) / det
        a = (m * s_c - s1 * rest_ch) / det
    else:  # a flat tail: the power can only be spread evenly
        f, a = rest_ch / m, np.zeros_like(rest_ch)
    neg_a, neg_f = a < 0, f < 0  # keep both parts non-negative and Σ v² = R_c exact
    f, a = np.where(neg_a, rest_ch / m, f), np.where(neg_a, 0.0, a)
    f, a = np.where(neg_f, 0.0, f), np.where(neg_f, rest_ch / s1, a)
    v2_tail = f[None, :] + a[None, :] * eta_tail[:, None]
    floor = float(np.sum(f) * m / max(float(np.sum(rest_ch)), 1e-300))
    return eta_tail, v2_tail, float(b), floor if np.sum(rest_ch) > 0 else float("nan")


def dense_moments(a, t):
    """(tr A², tᵀAt per channel) of a symmetric matrix ``a`` held whole, for targets ``t`` (dim, c)."""
    return float(np.einsum("ij,ij->", a, a)), np.einsum("ic,ic->c", t, a @ t)


def feature_moments(c, b):
    """(tr C², Σ_k η_k v_k² per channel) from the d × d moments C and b = Xᵀy/n (v_k = V_kᵀb/√η_k)."""
    return float(np.einsum("ij,ij->", c, c)), np.sum(b**2, 0)


def converged_count(rel_residuals):
    """How many leading modes to keep: those before the first whose Ritz residual exceeds RITZ_RTOL
    of its own eigenvalue (at least ``_MIN_KEPT``, or all there are)."""
    rel = np.asarray(rel_residuals)
    loose = np.flatnonzero(~(rel <= RITZ_RTOL))  # NaN counts as loose
    kept = int(loose[0]) if loose.size else rel.size
    return max(kept, min(rel.size, _MIN_KEPT))


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
                 seed=0, tol=1e-6, progress=None, block=None, max_subspace=None, project=None, moments=None):
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
    moments : tuple or callable, optional
        (tr A², Σ_k η_k v_k² per channel) of the whole operator, or a callable returning them
        once the products are done; the tail is then matched to them (`with_power_law_tail`).
    """
    r = top_eigenpairs(matmat, dim, top, seed=seed, tol=tol, progress=progress, block=block,
                       max_subspace=max_subspace, project=project)
    coeffs = coefficients(r.values, r.vectors)
    tp = np.atleast_1d(np.asarray(total_power, float))
    if callable(moments):
        moments = moments()
    values, kept = r.values, top
    if moments is not None:
        # the Krylov tolerance is relative to η_1: the last of K modes can be far from converged
        # (a 25 % low η_K at a residual of 1e-5 η_1). Modes whose residual exceeds RITZ_RTOL of
        # their own eigenvalue are left to the tail, which the moments make exact in Σ η, Σ η²
        kept = converged_count(np.asarray(r.residuals) * abs(values[0]) / np.maximum(np.abs(values), 1e-300))
        values, coeffs = values[:kept], coeffs[:kept]
    eta, coeffs, info = with_power_law_tail(values, coeffs, trace - float(values.sum()), tp, n_modes, moments)
    if kept < top:
        info["converged_modes"] = kept
    if not r.converged:
        warnings.warn(
            f"top_eigen={top}: the Krylov iteration stopped at a {r.subspace}-dimensional subspace with "
            f"residual {float(np.max(r.residuals)):.2g} (relative to η_1); the top modes are approximate",
            NumericalWarning,
        )
    notes = {"top_eigen": top, "krylov_subspace": r.subspace, "krylov_residual": float(np.max(r.residuals)), **info}
    spec = _finish(eta, coeffs, float(tp.sum()), n, route, source_dtype, where, exact_modes=kept, notes=notes)
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
    if p_max <= limit:
        return None
    k = spec.exact_modes
    nys = spec.route == "nystrom"
    option = "landmarks" if nys else "top_eigen"
    asked = spec.notes.get(option, k)
    if nys:
        what = f"the {k} converged Nyström modes (of {asked} landmarks)" if k < asked else f"the {k} Nyström modes"
    else:
        what = f"the {k} converged of the top_eigen={asked} modes" if k < asked else f"top_eigen={k}"
    more = int(np.ceil(p_max / limit * asked))
    if more < spec.n:
        fix = f"raise {option}={more}" + ("" if nys else " (or drop it)")
    else:
        fix = f"drop {option}=" + (" (the exact route)" if nys else "")
    return (f"P up to {p_max:g} exceeds K/4 = {limit:g} for {what}: these predictions depend on the modeled "
            f"tail; {fix} for {'more exact' if nys else 'exact'} ones")
