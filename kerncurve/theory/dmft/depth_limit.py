"""The infinite-depth limit of residual DMFT curves: Richardson extrapolation over depth L.

At fixed time an observable of the residual network approaches its L -> infinity value as
``O(L) = O_inf + b L^-p + c L^-q + ...`` (derivation in docs/theory/limits.md): ``p = 1``
at ``alpha = 1/2`` (the branch noise stays O(1) and the layer sum is a first-order
discretization of the continuum in ``tau = l / L``), ``p = 2 alpha - 1`` for
``1/2 < alpha <= 1`` (the branch noise, of total variance ``beta0^2 L^(1 - 2 alpha)``,
vanishes that slowly); the next term is ``q = 2p`` at ``p = 1``, else ``min(2p, 1)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["correction_exponents", "extrapolate_depth", "fitted_exponent"]


def correction_exponents(alpha: float) -> tuple:
    """``(p, q)``: the leading and next exponents of the ``1/L`` expansion at branch exponent ``alpha``."""
    p = 1.0 if alpha == 0.5 else 2.0 * alpha - 1.0
    q = 2.0 * p if p >= 1.0 else min(2.0 * p, 1.0)
    return p, q


def _fit(depths, values, exps):
    """Exact (square) fit of ``O = O_inf + sum_k b_k L^-exps[k]``; returns ``O_inf`` per column."""
    A = np.column_stack([np.ones(len(depths))] + [np.asarray(depths, float) ** -e for e in exps])
    return np.linalg.solve(A, values)[0]


def extrapolate_depth(depths, values, alpha):
    """The ``L -> infinity`` limit of ``values`` (shape (n_depths, ...)) and an error estimate.

    With the two largest depths, one correction term ``b L^-p`` is removed (Richardson);
    with three or more, two terms (``b L^-p + c L^-q``) from the three largest, and the
    error is the difference between the two extrapolations. With only two depths the error
    is the whole correction removed, ``|O_inf - O(L_max)|`` (a bound, not an estimate).

    Returns
    -------
    limit, error : ndarray (values.shape[1:])
    """
    depths = np.asarray(depths, float)
    values = np.asarray(values, float)
    if depths.size < 2:
        raise ValueError("extrapolating in depth needs at least two depths")
    order = np.argsort(depths)
    depths, values = depths[order], values[order]
    flat = values.reshape(len(depths), -1)
    p, q = correction_exponents(alpha)
    one = _fit(depths[-2:], flat[-2:], [p])
    if len(depths) == 2:
        return one.reshape(values.shape[1:]), np.abs(one - flat[-1]).reshape(values.shape[1:])
    two = _fit(depths[-3:], flat[-3:], [p, q])
    return two.reshape(values.shape[1:]), np.abs(two - one).reshape(values.shape[1:])


def fitted_exponent(depths, values):
    """The convergence exponent ``p`` of ``O = O_inf + b L^-p`` through the three largest
    depths: the root of ``(O1 - O2) / (O2 - O3) = (L1^-p - L2^-p) / (L2^-p - L3^-p)``, by
    bisection on ``p`` in [0.01, 8]; NaN when the differences change sign (not monotone) or
    no root lies in the bracket."""
    depths = np.asarray(depths, float)
    values = np.asarray(values, float)
    order = np.argsort(depths)
    (L1, L2, L3), (o1, o2, o3) = depths[order][-3:], values[order][-3:]
    d1, d2 = o1 - o2, o2 - o3
    if d1 * d2 <= 0:
        return float("nan")
    target = d1 / d2

    def g(p):
        return (L1**-p - L2**-p) / (L2**-p - L3**-p) - target

    lo, hi = 0.01, 8.0
    if g(lo) * g(hi) > 0:
        return float("nan")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(lo) * g(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)
