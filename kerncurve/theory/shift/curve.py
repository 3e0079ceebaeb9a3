"""The predicted error under the shift p → q, vectorized over (P, λ, σ²), and its pointwise form.

κ, L_k, γ and b_k are those of the clean learning curve under the training measure (the
κ of `kerncurve.theory.ridge`); the test measure enters through the overlap O, the cross
term c and R² of a `ShiftProblem`::

    E_g(p→q) = Σ_kl b_k O_kl b_l + 2 Σ_k b_k c_k + R²  +  γ_t/(1−γ) · (Σ_k b_k² + E_p[r²] + σ²),
    γ = (1/P) Σ_k L_k²,   γ_t = (1/P) Σ_k O_kk L_k².

With q = p (O = I, c = 0, R² = E_p[r²]) it is exactly the clean E_g. A resolvent form for a
linear kernel on features (`shift_curve_features`) checks the eigen form independently.
"""

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError, NumericalError
from kerncurve.theory.ridge import solve_kprime

from .problem import DROP_RTOL, as_targets, check_measure, kept_modes

__all__ = ["ShiftCurve", "shift_curve", "pointwise_error", "shift_curve_features"]


@dataclass(frozen=True)
class ShiftCurve:
    """Predicted errors under shift, one entry per (P, λ, σ²) of the broadcast inputs.

    Attributes
    ----------
    p, ridge, noise : ndarray
        The broadcast inputs.
    kappa : ndarray
        Absolute κ (= P·k').
    gamma : ndarray
        γ = (1/P) Σ_k L_k² (training measure).
    gamma_test : ndarray
        γ_t = (1/P) Σ_k O_kk L_k².
    eg_test : ndarray
        E_g(p→q), test MSE against the clean target under q, summed over channels.
    eg_test_bias, eg_test_variance : ndarray
        Its bias part (mean predictor measured on q) and variance part.
    eg_train : ndarray
        Training error on the noisy labels (under p), (λ/κ)²(E_g(p→p) + σ²).
    eg_same : ndarray
        E_g(p→p), the in-distribution error (the clean learning curve).
    """

    p: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray
    kappa: np.ndarray
    gamma: np.ndarray
    gamma_test: np.ndarray
    eg_test: np.ndarray
    eg_test_bias: np.ndarray
    eg_test_variance: np.ndarray
    eg_train: np.ndarray
    eg_same: np.ndarray


def _modal(problem, P, ridge, noise):
    """Shared per-(P, λ, σ²) pieces: k', L, b, 1−γ, E_p[B²] + σ²."""
    P, ridge, noise = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64)
                                            for a in (P, ridge, noise)))
    for name, arr, ok in (("P", P, P > 0), ("ridge", ridge, ridge >= 0), ("noise", noise, noise >= 0)):
        if not np.all(ok):
            need = "positive sample sizes" if name == "P" else "non-negative"
            raise InputError(f"{name} must be {need}, got {arr[~ok].ravel()[0]!r}", param=name)
    eta = problem.eigenvalues
    kp = solve_kprime(eta, P, ridge, mode_sums=problem.spectrum.mode_sums)
    e = kp[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.where(e > 0, eta / (eta + e), 1.0)
        oneminusL = np.where(e > 0, e / (eta + e), 0.0)
        # the conservation law Σ L + λ/k' = P gives 1−γ without cancellation; in the
        # ridgeless interpolating regime (k' = 0) the slack is P − N₊ instead
        slack = np.where(kp > 0, ridge / np.where(kp > 0, kp, 1.0), P - eta.size)
    slack = np.where((kp > 0) & (ridge == 0), 0.0, slack)
    omg = ((L * oneminusL).sum(-1) + slack) / P
    omg = np.maximum(omg, 0.0)
    b = oneminusL[..., None] * problem.coefficients  # (..., M, c)
    EpB2 = (b**2).sum((-1, -2)) + problem.train_residual_power
    return P, ridge, noise, kp, L, b, omg, slack, EpB2


def _safe_ratio(num, den):
    """num/den with den = 0 giving inf where num > 0 and 0 where num = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out = np.where(den > 0, out, np.where(num > 0, np.inf, 0.0))
    return out


def shift_curve(problem, P, ridge=0.0, noise=0.0):
    """Predicted test error under the shift p → q, vectorized over (P, λ, σ²).

    κ = λ + κ Σ_k η_k/(Pη_k + κ), L_k = Pη_k/(Pη_k + κ), b_k = (1 − L_k) v_k,

    E_g(p→q) = Σ_kl b_k O_kl b_l + 2 Σ_k b_k c_k + R²
               + γ_t/(1−γ) · (Σ_k b_k² + E_p[r²] + σ²),

    γ = (1/P) Σ L_k², γ_t = (1/P) Σ O_kk L_k². With q = p it is exactly the clean E_g.

    Parameters
    ----------
    problem : ShiftProblem
    P, ridge, noise : array_like
        Broadcastable sample sizes, absolute ridges and label-noise variances (summed over
        channels).

    Returns
    -------
    ShiftCurve
        Arrays with the broadcast shape. E_g is ``inf`` at the ridgeless interpolation
        threshold when there is noise or unlearnable power.
    """
    P, ridge, noise, kp, L, b, omg, slack, EpB2 = _modal(problem, P, ridge, noise)
    O = problem.overlap
    bO = np.einsum("...kc,kl->...lc", b, O)
    bias = (bO * b).sum((-1, -2)) + 2 * (b * problem.cross).sum((-1, -2))
    bias = bias + problem.test_residual_power
    bias = np.maximum(bias, 0.0)
    gamma = (L**2).sum(-1) / P
    gamma_t = (np.diag(O) * L**2).sum(-1) / P
    variance = _safe_ratio(gamma_t * (EpB2 + noise), omg)
    eg_same = _safe_ratio(EpB2 + gamma * noise, omg)
    # E_train = (λ/κ)² (E_g + σ²) with λ/κ = slack/P (also right when κ = 0, λ = 0)
    ratio = slack / P
    eg_train = np.where(ratio > 0, ratio * _safe_ratio(ratio * (EpB2 + noise), omg), 0.0)
    return ShiftCurve(
        p=P, ridge=ridge, noise=noise, kappa=P * kp, gamma=gamma, gamma_test=gamma_t,
        eg_test=bias + variance, eg_test_bias=bias, eg_test_variance=variance,
        eg_train=eg_train, eg_same=eg_same,
    )


def pointwise_error(problem, P, ridge=0.0, noise=0.0):
    """Predicted error e(x_j) at every test point; E_g(p→q) = Σ_j q_j e(x_j).

    e(x) = |B(x)|² + [(1/P) Σ_k L_k² φ_k(x)²] · (E_p[B²] + σ²)/(1−γ),
    B(x) = Σ_k b_k φ_k(x) + r(x) (E_g is linear in q).

    Parameters
    ----------
    problem : ShiftProblem
    P, ridge, noise : array_like
        Broadcastable; their broadcast shape S.

    Returns
    -------
    ndarray (S..., n_q)
    """
    P, ridge, noise, _, L, b, omg, _, EpB2 = _modal(problem, P, ridge, noise)
    phi = problem.test_phi
    B = np.einsum("jk,...kc->...jc", phi, b) + problem.test_residual
    bias = (B**2).sum(-1)
    lever = np.einsum("jk,...k->...j", phi**2, L**2) / P[..., None]
    scale = _safe_ratio(EpB2 + noise, omg)[..., None]
    with np.errstate(invalid="ignore"):
        variance = np.where(lever > 0, lever * scale, 0.0)
    return bias + variance


def shift_curve_features(X_p, X_q, y_p, y_q, P, ridge=0.0, noise=0.0, p=None, q=None):
    """Resolvent form of E_g(p→q) for a linear kernel on features.

    With S_p = E_p[ψψᵀ], S_q = E_q[ψψᵀ], k' = κ/P, R = (S_p + k')⁻¹, w̄ the least-squares
    target weights under p and r = y − ψ·w̄:

    E = E_q[(k' ψᵀR w̄ + r)²] + (1/P) Tr[S_q S_p R²]/(1−γ) · (k'² w̄ᵀR S_p R w̄ + E_p[r²] + σ²),
    1−γ from Tr[S_p R] (conservation law), γ = Tr[(S_p R)²]/P.

    This is an independent route (no eigenfunctions) used to check the eigen form; it needs
    λ > 0 or P below the rank (k' > 0).

    Returns
    -------
    tuple of ndarray
        (eg_test, eg_test_bias, eg_test_variance), each with the broadcast shape.
    """
    X_p = np.asarray(X_p, dtype=np.float64)
    X_q = np.asarray(X_q, dtype=np.float64)
    n_p, d = X_p.shape
    y_p = as_targets(y_p, n_p, "train targets")
    y_q = as_targets(y_q, X_q.shape[0], "test targets")
    p = check_measure(p, n_p, "train weights")
    q = check_measure(q, X_q.shape[0], "test weights")
    S_p = X_p.T @ (p[:, None] * X_p)
    S_q = X_q.T @ (q[:, None] * X_q)
    eta = np.linalg.eigvalsh(S_p)[::-1]
    keep = kept_modes(eta, "train features")
    eta = eta[keep]
    # least-squares weights under p on the kept subspace
    w_bar = np.linalg.lstsq(np.sqrt(p)[:, None] * X_p, np.sqrt(p)[:, None] * y_p,
                            rcond=DROP_RTOL ** 0.5)[0]
    r_p = y_p - X_p @ w_bar
    r_q = y_q - X_q @ w_bar
    Er2 = np.sum(p[:, None] * r_p**2)
    P, ridge, noise = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64)
                                            for a in (P, ridge, noise)))
    kp = solve_kprime(eta, P, ridge)
    if np.any(kp <= 0):
        raise NumericalError("resolvent form needs k' > 0 (ridge > 0 or P below the rank)")
    R = np.linalg.inv(S_p + kp[..., None, None] * np.eye(d))
    Rw = R @ w_bar  # (..., d, c)
    Bq = kp[..., None, None] * (X_q @ Rw) + r_q  # (..., n_q, c)
    bias = np.einsum("j,...jc->...", q, Bq**2)
    SpR = S_p @ R
    trSpR = np.trace(SpR, axis1=-2, axis2=-1)
    trSpR2 = np.einsum("...ij,...ji->...", SpR, SpR)
    omg = (trSpR - trSpR2 + ridge / kp) / P
    lever = np.einsum("ij,...jk,...ki->...", S_q, SpR, R) / P
    EpB2 = kp**2 * np.einsum("...ic,ij,...jc->...", Rw, S_p, Rw) + Er2
    variance = lever / omg * (EpB2 + noise)
    return bias + variance, bias, variance
