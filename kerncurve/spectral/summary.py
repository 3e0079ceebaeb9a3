"""Summary figures of a spectrum: rank, trace, effective dimension, power-law exponents."""

import numpy as np

__all__ = ["power_law_fit", "spectrum_summary", "NOTE_LABELS", "spectrum_notes"]


def power_law_fit(y, lo_frac=0.01, hi_frac=0.5, min_points=5, full=False):
    """Fit y_k ∝ k^(−s) by least squares in log-log over k ∈ [lo_frac·M, hi_frac·M].

    Returns s (nan when there are too few positive points); with ``full=True`` the tuple
    (s, c, k_lo, k_hi) of the fitted line y_k ≈ c·k^(−s) and the range of k it was fitted
    on (c, k_lo, k_hi nan when s is).
    """
    y = np.asarray(y, float)
    m = y.size
    k = np.arange(1, m + 1)
    sel = (k >= max(2, int(np.ceil(lo_frac * m)))) & (k <= int(hi_frac * m)) & (y > 0)
    if sel.sum() < min_points:
        return (float("nan"),) * 4 if full else float("nan")
    slope, intercept = np.polyfit(np.log(k[sel]), np.log(y[sel]), 1)
    if full:
        return float(-slope), float(np.exp(intercept)), float(k[sel][0]), float(k[sel][-1])
    return float(-slope)


def spectrum_summary(spec):
    """Figures for the `spectrum` summary: rank, trace, effective dimension, exponents."""
    eta = spec.eigenvalues
    v2 = spec.target_power
    tail = np.cumsum(v2[::-1])[::-1]  # Σ_{l≥k} v_l² ∝ k^(1−a)
    b = power_law_fit(eta)
    a_minus_1 = power_law_fit(tail)
    a = a_minus_1 + 1
    return {
        "n": spec.n,
        "rank": spec.rank,
        "trace": float(eta.sum()),
        "effective_dimension": float(eta.sum() ** 2 / np.sum(eta**2)),
        "total_power": spec.total_power,
        "unlearnable_power": spec.residual_power,
        "eigenvalue_exponent_b": b,
        "target_exponent_a": a,
        "learning_curve_exponent": -min(a - 1, 2 * b) if np.isfinite(a) and np.isfinite(b) else float("nan"),
    }


NOTE_LABELS = {
    "engine": "engine",
    "scheduler": "dask scheduler",
    "memory_budget": "memory budget (streamed features)",
    "rows_per_block": "rows per block",
    "top_eigen": "computed modes (--top-eigen)",
    "converged_modes": "computed modes kept (Ritz residual ≤ 5 % of η_k)",
    "nystrom_modes": "Nyström modes",
    "refined_modes": "Nyström modes refined (one exact kernel pass)",
    "tail_modes": "modeled tail modes",
    "tail_model": "tail model (moments: matched to tr K², yᵀKy; fit: power law)",
    "tail_eigenvalue_exponent": "tail eigenvalue exponent (η_k ∝ k^-b, k > K)",
    "tail_target_exponent": "tail target exponent (v_k² ∝ k^-a, k > K)",
    "tail_target_floor": "tail target power on a flat floor (share)",
    "remaining_trace": "remaining trace (in the tail)",
    "remaining_power": "remaining target power (in the tail)",
    "krylov_residual": "Krylov residual (relative to η_1)",
    "kernel_passes": "passes over the kernel (Gram-free)",
    "landmarks": "Nyström landmarks",
    "landmark_rule": "landmark rule",
    "bootstrap_draws": "bootstrap resamples",
    "bootstrap_band": "bootstrap band",
    "eigenvalue_exponent_b_se": "bootstrap SE of b",
    "target_exponent_a_se": "bootstrap SE of a",
}


def spectrum_notes(spec):
    """Summary entries that say how the spectrum was computed (engine, budget, top-k tail)."""
    out = {k: spec.notes[k] for k in NOTE_LABELS if k in spec.notes}
    if spec.exact_modes is not None:
        out.setdefault("top_eigen", spec.exact_modes)
    return out
