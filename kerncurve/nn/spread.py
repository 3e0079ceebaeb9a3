"""How different the heads are, how random the kernel is, and power laws fitted to both (numpy only).

``head_spread``: the variance across heads of the attention matrices A_h(s, s′), averaged
over probe sequences, positions and blocks (per network; `kerncurve.nn.heads`).
``kernel_spread``: the variance across seeds of the final-layer kernel K(μ, ν), summed over
entries and divided by the sum of the squared seed-mean kernel — 0 for a deterministic
limit, about 1/(width) for independent random features.

Exponents: log spread = a_group − e·log size by least squares, one intercept per group of
the other grid factors (so N-slopes at several H share one exponent, and vice versa). The
standard error combines in quadrature the least-squares error (from the residuals, when
there are more points than parameters) and the seed jackknife (the fit repeated with each
seed left out), when there are enough seeds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kernel_spread", "jackknife_kernel_spread", "power_law", "verdicts"]


def kernel_spread(kernels):
    """Σ Var_seeds K / Σ (mean_seeds K)² over entries, for kernels (seeds, P, P); NaN with < 2 seeds."""
    k = np.asarray(kernels, dtype=float)
    if k.shape[0] < 2 or not np.all(np.isfinite(k)):
        return np.nan
    mean = k.mean(axis=0)
    return float(np.sum(k.var(axis=0, ddof=1)) / np.sum(mean * mean))


def jackknife_kernel_spread(kernels):
    """`kernel_spread` with each seed left out in turn, (seeds,); empty with < 3 seeds."""
    k = np.asarray(kernels, dtype=float)
    if k.shape[0] < 3:
        return np.empty(0)
    return np.array([kernel_spread(np.delete(k, i, axis=0)) for i in range(k.shape[0])])


def _slope(size, value, group):
    """(exponent e, its least-squares SE or None, points used) of value ∝ size^{−e}, intercept per group."""
    size, value = np.asarray(size, float), np.asarray(value, float)
    ids = {}
    group = np.array([ids.setdefault(g, len(ids)) for g in group])
    ok = np.isfinite(value) & (value > 0) & np.isfinite(size) & (size > 0)
    labels = [g for g in dict.fromkeys(group[ok].tolist()) if len(set(size[ok & (group == g)])) > 1]
    keep = ok & np.isin(group, labels)
    n = int(keep.sum())
    if n < 2:
        return None, None, 0
    X = np.column_stack([-np.log(size[keep])] + [(group[keep] == g).astype(float) for g in labels])
    yv = np.log(value[keep])
    coef, *_ = np.linalg.lstsq(X, yv, rcond=None)
    dof = n - X.shape[1]
    se = None
    if dof > 0:
        resid = yv - X @ coef
        cov = np.linalg.pinv(X.T @ X) * float(resid @ resid) / dof
        se = float(np.sqrt(max(cov[0, 0], 0.0)))
    return float(coef[0]), se, n


def power_law(size, value, group, replicates=None):
    """Fit value ∝ size^{−e}: returns (e, standard error) or (None, None) when not estimable.

    Parameters
    ----------
    size, value : array, shape (K,)
        Sizes (N or H) and the spread at each.
    group : sequence, shape (K,)
        Label of the other grid factors at each point (separate intercepts).
    replicates : array, shape (R, K), optional
        The spread recomputed with each of R seeds left out (jackknife).
    """
    e, se_ls, n = _slope(size, value, group)
    if e is None:
        return None, None
    parts = [] if se_ls is None else [se_ls ** 2]
    if replicates is not None and len(replicates) >= 2:
        reps = [_slope(size, r, group)[0] for r in replicates]
        if all(r is not None for r in reps):
            R = len(reps)
            parts.append((R - 1) / R * float(np.sum((np.array(reps) - np.mean(reps)) ** 2)))
    return e, (float(np.sqrt(sum(parts))) if parts else None)


def _fmt(e, se):
    return f"{e:.2f}" + ("" if se is None else f" ± {se:.2f}")


def verdicts(p, q, r, r0=None):
    """The verdict lines: per attention exponent, do the heads collapse with N, stay diverse with H,
    does the kernel concentrate with H. ``p``, ``q``, ``r`` map α_A → (exponent, SE) at the last
    step, ``r0`` the kernel's H exponent at initialization (quoted next to r)."""
    r0 = r0 or {}
    lines = []
    for a in sorted(set(p) | set(q) | set(r), reverse=True):
        parts = []
        e, se = p.get(a, (None, None))
        if e is not None:
            word = ("the heads collapse as N grows" if e >= 0.5 else
                    "the heads stay diverse as N grows" if abs(e) < 0.25 else
                    "the heads grow more diverse as N grows" if e <= -0.25 else "the heads converge slowly with N")
            parts.append(f"head_spread ∝ N^-p, p = {_fmt(e, se)}: {word}")
        e, se = q.get(a, (None, None))
        if e is not None:
            word = "diversity kept as H grows" if abs(e) < 0.25 else "diversity changes with H"
            parts.append(f"head_spread ∝ H^-q, q = {_fmt(e, se)}: {word}")
        e, se = r.get(a, (None, None))
        if e is not None:
            word = "the kernel concentrates as H grows" if e >= 0.5 else "the kernel stays random as H grows"
            e0, se0 = r0.get(a, (None, None))
            at0 = "" if e0 is None else f" (at step 0 r = {_fmt(e0, se0)})"
            parts.append(f"kernel_spread ∝ H^-r, r = {_fmt(e, se)}{at0}: {word}")
        if parts:
            lines.append(f"attn_exp {a:g}: " + "; ".join(parts))
    return lines
