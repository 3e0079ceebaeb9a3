"""Learning curves of kernel ridge regression under distribution shift.

Training points are drawn from a measure p over a pool of points, the test error is measured
under another measure q (THEORY.md §2). The expensive part -- the eigendecomposition under p,
the eigenfunctions on the test points, the overlap matrix -- is built once as a
:class:`ShiftProblem`; :func:`shift_curve` and :func:`pointwise_error` are then cheap
functions of the sample size P, the ridge λ and the noise σ², vectorized over all of them.

Source: Canatar, Bordelon, Pehlevan, *Out-of-Distribution Generalization in Kernel
Regression*, NeurIPS 2021 (arXiv:2106.02261). The form implemented was derived for kerncurve
and reduces exactly to the clean learning curve of §1 when q = p.

Measure optimization is at the end of this module: the training measure by L-BFGS-B with the
gradient from implicit differentiation of κ (:func:`optimize_train_measure`), and the
beneficial/adversarial test measures, a vertex or a tilt (:func:`optimize_test_measure`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from kerncurve.errors import InputError, NumericalError
from kerncurve.theory.ridge import solve_kappa

__all__ = [
    "ShiftProblem",
    "ShiftCurve",
    "check_measure",
    "shift_problem_from_gram",
    "shift_problem_from_features",
    "shift_curve",
    "pointwise_error",
    "shift_curve_features",
    "solve_kprime",
    "MeasureValue",
    "train_measure_value",
    "measure_from_theta",
    "TrainMeasureResult",
    "optimize_train_measure",
    "TestMeasureResult",
    "tilt",
    "kl_divergence",
    "optimize_test_measure",
]

#: eigenvalues below this fraction of the largest are round-off and dropped (their target
#: power stays in the residual r)
DROP_RTOL = 1e-12
#: an eigenvalue below -NEG_RTOL * largest means the kernel is not positive semi-definite
NEG_RTOL = 1e-5


def check_measure(w, n, name):
    """Validate a measure over ``n`` points and return it normalized to sum 1.

    Parameters
    ----------
    w : array_like or None
        Non-negative weights of length ``n``; None means uniform.
    n : int
        Number of points.
    name : str
        Where the weights come from (used in error messages), e.g. ``"/train/weights"``.

    Returns
    -------
    numpy.ndarray
        float64 weights summing to 1.

    Raises
    ------
    InputError
        Wrong length, NaN/inf, negative entries or all zero.
    """
    if w is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise InputError(
            f"{name} has shape {w.shape} but there are {n} points; give one weight per point"
        )
    if not np.all(np.isfinite(w)):
        raise InputError(f"{name} contains NaN or inf; give finite non-negative weights")
    if np.any(w < 0):
        raise InputError(f"{name} has negative entries; weights must be non-negative")
    total = w.sum()
    if not total > 0:
        raise InputError(f"{name} is all zero; at least one weight must be positive")
    return w / total


@dataclass(frozen=True)
class ShiftProblem:
    """The factorization of a distribution-shift problem (independent of P, λ, σ²).

    Attributes
    ----------
    eigenvalues : ndarray (M,)
        Kernel eigenvalues η_k under the training measure p, descending, all > 0.
    coefficients : ndarray (M, c)
        Target coefficients v_k = E_p[φ_k y] per channel.
    train_residual_power : float
        E_p[r²] = v_⊥², the target power outside the kept modes (summed over channels).
    overlap : ndarray (M, M)
        O_kl = E_q[φ_k φ_l].
    cross : ndarray (M, c)
        c_k = E_q[φ_k r].
    test_residual_power : float
        R² = E_q[r²] (summed over channels).
    test_phi : ndarray (n_q, M)
        Eigenfunctions φ_k at the test points (Nyström extension).
    test_residual : ndarray (n_q, c)
        r at the test points.
    test_weights : ndarray (n_q,)
        The test measure q.
    n_modes_dropped : int
        Eigenvalues dropped as round-off (below 1e-12 of the largest).
    """

    eigenvalues: np.ndarray
    coefficients: np.ndarray
    train_residual_power: float
    overlap: np.ndarray
    cross: np.ndarray
    test_residual_power: float
    test_phi: np.ndarray
    test_residual: np.ndarray
    test_weights: np.ndarray
    n_modes_dropped: int = 0

    @property
    def n_modes(self):
        """Number of kept modes M."""
        return self.eigenvalues.shape[0]


def _as_targets(y, n, name):
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise InputError(f"{name} has shape {y.shape}; expected ({n},) or ({n}, c)")
    return y


def _eigh(A):
    """Ascending eigendecomposition of the symmetric part of A (divide and conquer)."""
    return scipy.linalg.eigh(0.5 * (A + A.T), check_finite=False, driver="evd")


def _split_spectrum(eta, where):
    """Return the mask of kept eigenvalues; refuse a kernel that is not PSD."""
    top = eta.max() if eta.size else 0.0
    if not top > 0:
        raise InputError(f"{where}: the kernel is zero under the training measure; "
                         "give a non-zero kernel or put weight on more training points")
    if eta.min() < -NEG_RTOL * top:
        raise InputError(
            f"{where}: the kernel is not positive semi-definite under the training measure "
            f"(eigenvalue {eta.min():.3g} vs largest {top:.3g}); check the Gram matrix"
        )
    return eta > DROP_RTOL * top


def _roundoff_zero(value, scale):
    # power left by projection round-off (~1e-30) must count as zero, or the ridgeless
    # threshold P = N₊ would report inf for a perfectly learnable target
    return 0.0 if value <= 1e-13 * scale else float(value)


def _finish_problem(eta, v, vperp2, phi_q, y_q, q, dropped):
    vperp2 = _roundoff_zero(vperp2, np.sum(v**2) + vperp2)
    r_q = y_q - phi_q @ v
    weighted = phi_q * q[:, None]
    overlap = phi_q.T @ weighted
    overlap = 0.5 * (overlap + overlap.T)
    cross = weighted.T @ r_q
    R2 = _roundoff_zero(np.sum(q[:, None] * r_q**2), np.sum(q[:, None] * y_q**2))
    if R2 == 0.0:
        cross = np.zeros_like(cross)
    return ShiftProblem(
        eigenvalues=eta, coefficients=v, train_residual_power=float(vperp2),
        overlap=overlap, cross=cross, test_residual_power=R2, test_phi=phi_q,
        test_residual=r_q, test_weights=q, n_modes_dropped=int(dropped),
    )



def _check_pairs(y_p, y_q, p, q, n_p, n_q):
    """Validated train/test targets (2-D, same channels) and measures."""
    y_p = _as_targets(y_p, n_p, "train targets")
    y_q = _as_targets(y_q, n_q, "test targets")
    if y_p.shape[1] != y_q.shape[1]:
        raise InputError(f"train targets have {y_p.shape[1]} channels but test targets "
                         f"{y_q.shape[1]}; give the same number of channels")
    return y_p, y_q, check_measure(p, n_p, "train weights"), check_measure(q, n_q, "test weights")

def shift_problem_from_gram(K_pp, K_qp, y_p, y_q, p=None, q=None):
    """Build a :class:`ShiftProblem` from Gram blocks (weighted-measure route, THEORY §0).

    A = D_p^{1/2} K_pp D_p^{1/2} = U diag(η) Uᵀ,  v = Uᵀ D_p^{1/2} y_p,
    Φ_q = K_qp D_p^{1/2} U diag(1/η),  O = Φ_qᵀ D_q Φ_q,  r_q = y_q − Φ_q v,
    c = Φ_qᵀ D_q r_q,  R² = Σ_j q_j r_qj².

    Eigenvalues below 1e-12·η_max are dropped; their target power stays in r
    (v_⊥² = |D_p^{1/2} y_p − U v|²).

    Parameters
    ----------
    K_pp : ndarray (n_p, n_p)
        Kernel among the training pool.
    K_qp : ndarray (n_q, n_p)
        Kernel between test points and training pool.
    y_p, y_q : ndarray (n_p,) / (n_p, c) and (n_q,) / (n_q, c)
        Clean targets on the pool and on the test points.
    p, q : ndarray or None
        Training and test measures (uniform if None).

    Returns
    -------
    ShiftProblem
    """
    K_pp = np.asarray(K_pp, dtype=np.float64)
    K_qp = np.asarray(K_qp, dtype=np.float64)
    n_p = K_pp.shape[0]
    if K_pp.ndim != 2 or K_pp.shape != (n_p, n_p):
        raise InputError(f"train Gram has shape {K_pp.shape}; it must be square")
    if K_qp.ndim != 2 or K_qp.shape[1] != n_p:
        raise InputError(
            f"test cross Gram has shape {K_qp.shape}; expected (n_test, {n_p})"
        )
    n_q = K_qp.shape[0]
    y_p, y_q, p, q = _check_pairs(y_p, y_q, p, q, n_p, n_q)
    s = np.sqrt(p)
    A = s[:, None] * K_pp * s[None, :]
    eta, U = _eigh(A)
    eta, U = eta[::-1], U[:, ::-1]
    keep = _split_spectrum(eta, "train Gram")
    eta, U = eta[keep], U[:, keep]
    sy = s[:, None] * y_p
    v = U.T @ sy
    vperp2 = np.sum((sy - U @ v) ** 2)
    phi_q = (K_qp * s[None, :]) @ U / eta[None, :]
    return _finish_problem(eta, v, vperp2, phi_q, y_q, q, (~keep).sum())


def shift_problem_from_features(X_p, X_q, y_p, y_q, p=None, q=None):
    """Build a :class:`ShiftProblem` from feature vectors (linear kernel, d×d route).

    S_p = X_pᵀ D_p X_p = V diag(η) Vᵀ, φ_k(x) = x·V_k/√η_k, v_k = V_kᵀ(X_pᵀ D_p y_p)/√η_k.
    Costs O(n d² + d³); identical to :func:`shift_problem_from_gram` with K = X Xᵀ.

    Parameters
    ----------
    X_p : ndarray (n_p, d)
        Features of the training pool.
    X_q : ndarray (n_q, d)
        Features of the test points.
    y_p, y_q, p, q
        As in :func:`shift_problem_from_gram`.

    Returns
    -------
    ShiftProblem
    """
    X_p = np.asarray(X_p, dtype=np.float64)
    X_q = np.asarray(X_q, dtype=np.float64)
    if X_p.ndim != 2 or X_q.ndim != 2 or X_p.shape[1] != X_q.shape[1]:
        raise InputError(
            f"train features {X_p.shape} and test features {X_q.shape} differ in dimension; "
            "give both groups the same feature dimension"
        )
    n_p, n_q = X_p.shape[0], X_q.shape[0]
    y_p, y_q, p, q = _check_pairs(y_p, y_q, p, q, n_p, n_q)
    S_p = X_p.T @ (X_p * p[:, None])
    eta, V = _eigh(S_p)
    eta, V = eta[::-1], V[:, ::-1]
    keep = _split_spectrum(eta, "train features")
    eta, V = eta[keep], V[:, keep]
    scale = 1.0 / np.sqrt(eta)
    v = (V.T @ (X_p.T @ (p[:, None] * y_p))) * scale[:, None]
    r_p = y_p - (X_p @ V) * scale[None, :] @ v
    vperp2 = np.sum(p[:, None] * r_p**2)
    phi_q = (X_q @ V) * scale[None, :]
    return _finish_problem(eta, v, vperp2, phi_q, y_q, q, (~keep).sum())


def solve_kprime(eigenvalues, P, ridge, polish=2):
    """κ/P for every (P, λ), from the spine's solver, polished by Newton steps in log k'.

    The polish makes k' exact to round-off, which finite-difference checks and the
    measure optimizer rely on. Returns k' = 0 in the ridgeless regime P ≥ N₊.

    Parameters
    ----------
    eigenvalues : ndarray (M,)
        Positive eigenvalues, descending.
    P, ridge : array_like
        Broadcastable sample sizes and absolute ridges.
    polish : int
        Safeguarded Newton steps on F(t) = Σ η/(η+eᵗ) + λe⁻ᵗ − P.

    Returns
    -------
    ndarray
        k' with the broadcast shape of P and ridge.
    """
    eta = np.asarray(eigenvalues, dtype=np.float64)
    P, ridge = np.broadcast_arrays(np.asarray(P, dtype=np.float64),
                                   np.asarray(ridge, dtype=np.float64))
    kp = np.array(solve_kappa(eta, P, ridge).kprime, dtype=np.float64, copy=True)
    kp = np.broadcast_to(kp, P.shape).copy()
    pos = kp > 0
    if polish and np.any(pos):
        t = np.log(kp[pos])
        Pp, lp = P[pos], ridge[pos]

        def F(t):
            e = np.exp(t)[..., None]
            return (eta / (eta + e)).sum(-1) + lp * np.exp(-t) - Pp

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(polish):
                e = np.exp(t)[..., None]
                f = F(t)
                df = -(eta * e / (eta + e) ** 2).sum(-1) - lp * np.exp(-t)
                t_new = t - f / df
                better = np.isfinite(t_new) & (np.abs(F(t_new)) < np.abs(f))
                t = np.where(better, t_new, t)
        kp[pos] = np.exp(t)
    return kp


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
        E_g(p→p), the in-distribution error (§1).
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
    if np.any(P <= 0) or np.any(ridge < 0) or np.any(noise < 0):
        raise InputError("sample sizes must be positive, ridge and noise non-negative")
    eta = problem.eigenvalues
    kp = solve_kprime(eta, P, ridge)
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
    """Predicted test error under the shift p → q (THEORY §2), vectorized over (P, λ, σ²).

    κ = λ + κ Σ_k η_k/(Pη_k + κ), L_k = Pη_k/(Pη_k + κ), b_k = (1 − L_k) v_k,

    E_g(p→q) = Σ_kl b_k O_kl b_l + 2 Σ_k b_k c_k + R²
               + γ_t/(1−γ) · (Σ_k b_k² + E_p[r²] + σ²),

    γ = (1/P) Σ L_k², γ_t = (1/P) Σ O_kk L_k². With q = p it is exactly §1's E_g.

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
    B(x) = Σ_k b_k φ_k(x) + r(x) (THEORY §2, pointwise form).

    Parameters
    ----------
    problem : ShiftProblem
    P, ridge, noise : array_like
        Broadcastable; their broadcast shape S.

    Returns
    -------
    ndarray (S..., n_q)
    """
    P, ridge, noise, kp, L, b, omg, slack, EpB2 = _modal(problem, P, ridge, noise)
    phi = problem.test_phi
    B = np.einsum("jk,...kc->...jc", phi, b) + problem.test_residual
    bias = (B**2).sum(-1)
    lever = np.einsum("jk,...k->...j", phi**2, L**2) / P[..., None]
    scale = _safe_ratio(EpB2 + noise, omg)[..., None]
    with np.errstate(invalid="ignore"):
        variance = np.where(lever > 0, lever * scale, 0.0)
    return bias + variance


def shift_curve_features(X_p, X_q, y_p, y_q, P, ridge=0.0, noise=0.0, p=None, q=None):
    """Resolvent form of E_g(p→q) for a linear kernel on features (THEORY §2).

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
    y_p = _as_targets(y_p, n_p, "train targets")
    y_q = _as_targets(y_q, X_q.shape[0], "test targets")
    p = check_measure(p, n_p, "train weights")
    q = check_measure(q, X_q.shape[0], "test weights")
    S_p = X_p.T @ (p[:, None] * X_p)
    S_q = X_q.T @ (q[:, None] * X_q)
    eta = np.linalg.eigvalsh(S_p)[::-1]
    keep = _split_spectrum(eta, "train features")
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


# ---------------------------------------------------------------------------------------
# Optimizing the training measure (implicit differentiation of κ)


@dataclass(frozen=True)
class MeasureValue:
    """E_g(p→q) at one training measure, with its gradient over the pool weights.

    Attributes
    ----------
    eg_test : float
        Predicted test error under q.
    grad : ndarray (n_p,) or None
        dE_g/dp_i (total derivative: κ moves with p).
    kprime : float
        κ/P at this measure.
    """

    eg_test: float
    grad: np.ndarray
    kprime: float


def train_measure_value(K_pp, K_qp, y_p, y_q, p, q, P, ridge, noise=0.0, grad=True):
    """E_g(p→q) and its gradient over a strictly positive training measure p.

    Works in pool coordinates, with G = K + k' D_p⁻¹ and H = G⁻¹ (the mean predictor is
    kernel regression with per-point ridge k'/p_i): α = H y, B_q = y_q − K_qp α,

    E = Σ_j q_j |B_qj|² + s_q (k'² αᵀD⁻¹α + σ²) / (P(1−γ)),   s_q = Tr[D⁻¹ H K_pq Q K_qp H],
    P(1−γ) = Σ_k η_k k'/(η_k + k')² + λ/k'.

    k' moves with p; by the implicit function theorem on F(k', p) = Tr[KH] + λ/k' − P,
    dk'/dp_i = −(∂F/∂p_i)/(∂F/∂k') with ∂F/∂p_i = (k'/p_i²)(HKH)_ii and
    ∂F/∂k' = −Tr[M(M + k')⁻²] − λ/k'² (THEORY §2). Equal to :func:`shift_curve` (eigen
    form) up to the round-off modes that form drops.

    Parameters
    ----------
    K_pp, K_qp, y_p, y_q
        As in :func:`shift_problem_from_gram`.
    p : ndarray (n_p,)
        Training measure, every entry > 0.
    q : ndarray (n_q,)
        Test measure.
    P, ridge, noise : float
        Sample size, absolute ridge, noise variance.
    grad : bool
        Also return dE/dp.

    Returns
    -------
    MeasureValue
    """
    K = np.asarray(K_pp, dtype=np.float64)
    Kqp = np.asarray(K_qp, dtype=np.float64)
    y_p = _as_targets(y_p, K.shape[0], "train targets")
    y_q = _as_targets(y_q, Kqp.shape[0], "test targets")
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if np.any(p <= 0):
        raise InputError("train_measure_value needs a strictly positive training measure")
    s = np.sqrt(p)
    A = s[:, None] * K * s[None, :]
    eta, U = _eigh(A)
    keep = _split_spectrum(eta, "train Gram")
    eta = np.maximum(eta, 0.0)
    kp = float(solve_kprime(np.sort(eta[keep])[::-1], P, ridge))
    if not kp > 0:
        raise InputError(
            "optimizing the training measure needs k' > 0: give --ridge > 0 or a P below "
            "the number of training points with non-zero kernel eigenvalues"
        )
    SU = s[:, None] * U
    den = eta + kp
    H = (SU / den) @ SU.T
    alpha = H @ y_p
    Bq = y_q - Kqp @ alpha
    bias_q = float(np.sum(q[:, None] * Bq**2))
    Bp = kp**2 * float(np.sum(alpha**2 / p[:, None]))
    beta = H @ Kqp.T  # (n_p, n_q)
    s_q = float(np.sum((beta**2 / p[:, None]) * q[None, :]))
    W = float(np.sum(eta * kp / den**2)) + ridge / kp
    num = Bp + noise
    E = bias_q + s_q * num / W
    if not grad:
        return MeasureValue(eg_test=E, grad=None, kprime=kp)
    ip2 = 1.0 / p**2
    # bias on q
    a = H @ (Kqp.T @ (q[:, None] * Bq))
    aa = np.sum(a * alpha, axis=1)
    dBq_dp = -2 * kp * ip2 * aa
    dBq_dk = 2 * np.sum(aa / p)
    # E_p[B²]
    g = H @ (alpha / p[:, None])
    ga = np.sum(g * alpha, axis=1)
    a2 = np.sum(alpha**2, axis=1)
    dBp_dp = -kp**2 * a2 * ip2 + 2 * kp**3 * ga * ip2
    dBp_dk = 2 * kp * np.sum(a2 / p) - 2 * kp**2 * np.sum(ga / p)
    # leverage of the test measure s_q
    Zii = np.sum(beta**2 * q[None, :], axis=1)
    ZDH = np.sum(beta * (H @ (beta / p[:, None])) * q[None, :], axis=1)
    ds_dp = -Zii * ip2 + 2 * kp * ZDH * ip2
    ds_dk = -2 * np.sum(ZDH / p)
    # P(1−γ) = Tr[KH] − Tr[(KH)²] + λ/k'
    U2 = U**2
    d1 = p * (U2 @ (eta / den**2))
    d2 = p * (U2 @ (eta**2 / den**3))
    dW_dp = kp * ip2 * (d1 - 2 * d2)
    dW_dk = -float(np.sum(eta / den**2 - 2 * eta**2 / den**3)) - ridge / kp**2
    # implicit function theorem for k'(p)
    dF_dp = kp * ip2 * d1
    dF_dk = -float(np.sum(eta / den**2)) - ridge / kp**2
    dk_dp = -dF_dp / dF_dk
    dE_dp = dBq_dp + (ds_dp * num + s_q * dBp_dp) / W - s_q * num * dW_dp / W**2
    dE_dk = dBq_dk + (ds_dk * num + s_q * dBp_dk) / W - s_q * num * dW_dk / W**2
    return MeasureValue(eg_test=E, grad=dE_dp + dE_dk * dk_dp, kprime=kp)


def _softmax(theta):
    z = np.exp(theta - theta.max())
    return z / z.sum()


def measure_from_theta(theta, groups=None):
    """Training measure from logits: p = softmax(θ) per point, or per group
    p_i = softmax(θ)_{g(i)} / n_{g(i)}.

    Parameters
    ----------
    theta : ndarray
        One logit per point, or one per group (in the order of ``numpy.unique(groups)``).
    groups : ndarray of int or None
        Group label of every pool point.

    Returns
    -------
    ndarray
        The measure over the pool points.
    """
    pi = _softmax(np.asarray(theta, dtype=np.float64))
    if groups is None:
        return pi
    _, inv, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return pi[inv] / counts[inv]


@dataclass(frozen=True)
class TrainMeasureResult:
    """Result of :func:`optimize_train_measure`.

    Attributes
    ----------
    weights : ndarray (n_p,)
        Optimized training measure over the pool points.
    group_weights : ndarray or None
        softmax(θ) per group (with ``groups``), in ``numpy.unique`` order.
    group_labels : ndarray or None
    eg_initial, eg_optimized : float
        Predicted E_g(p→q) at the start (uniform) and at the optimum.
    history : ndarray
        Predicted E_g after each optimizer iteration.
    n_iter : int
    message : str
        The optimizer's message.
    """

    weights: np.ndarray
    group_weights: np.ndarray
    group_labels: np.ndarray
    eg_initial: float
    eg_optimized: float
    history: np.ndarray
    n_iter: int
    message: str


def optimize_train_measure(K_pp, K_qp, y_p, y_q, q, P, ridge, noise=0.0, groups=None,
                           steps=100, theta0=None, callback=None):
    """Minimize the predicted test error over the training measure p = softmax(θ).

    L-BFGS-B on θ with the analytic gradient of :func:`train_measure_value` chained through
    the softmax (dE/dθ = π ⊙ (h − π·h), h the gradient over π). The result never has a
    larger predicted error than the start: the best measure evaluated is returned.

    Parameters
    ----------
    K_pp, K_qp, y_p, y_q
        As in :func:`shift_problem_from_gram`.
    q : ndarray (n_q,) or None
        Test measure (uniform if None).
    P, ridge, noise : float
    groups : ndarray of int (n_p,) or None
        Optimize one weight per group, uniform within each group.
    steps : int
        Maximum optimizer iterations.
    theta0 : ndarray or None
        Start logits (default zeros: the uniform measure over points or over groups).
    callback : callable or None
        Called as ``callback(iteration, eg)`` after each iteration (progress bars).

    Returns
    -------
    TrainMeasureResult
    """
    from scipy.optimize import minimize

    n_p = np.asarray(K_pp).shape[0]
    q = check_measure(q, np.asarray(K_qp).shape[0], "test weights")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_p,):
            raise InputError(f"train groups have shape {groups.shape}; expected ({n_p},)")
        labels, inv, counts = np.unique(groups, return_inverse=True, return_counts=True)
        n_theta = labels.size
    else:
        labels = None
        n_theta = n_p
    theta = np.zeros(n_theta) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    best = {"E": np.inf, "theta": theta.copy()}

    def fun(th):
        pi = _softmax(th)
        p = pi if groups is None else pi[inv] / counts[inv]
        try:
            val = train_measure_value(K_pp, K_qp, y_p, y_q, p, q, P, ridge, noise)
        except InputError:
            # the measure collapsed onto fewer than P effective points (k' = 0): a barrier
            # that makes the line search step back
            return 1e6, np.zeros_like(th)
        h = val.grad if groups is None else np.bincount(inv, val.grad, n_theta) / counts
        g = pi * (h - np.dot(pi, h))
        if val.eg_test < best["E"]:
            best["E"], best["theta"] = val.eg_test, th.copy()
        return val.eg_test / scale, g / scale

    e0 = train_measure_value(K_pp, K_qp, y_p, y_q, measure_from_theta(theta, groups), q, P,
                             ridge, noise, grad=False).eg_test
    scale = e0 if e0 > 0 else 1.0
    history = []

    def cb(th):
        history.append(best["E"])
        if callback is not None:
            callback(len(history), best["E"])

    res = minimize(fun, theta, jac=True, method="L-BFGS-B", callback=cb,
                   options={"maxiter": int(steps), "gtol": 1e-10, "ftol": 1e-12})
    theta_best = best["theta"] if best["E"] <= e0 else theta
    p_best = measure_from_theta(theta_best, groups)
    return TrainMeasureResult(
        weights=p_best,
        group_weights=None if groups is None else _softmax(theta_best),
        group_labels=labels,
        eg_initial=float(e0),
        eg_optimized=float(min(best["E"], e0)),
        history=np.asarray(history),
        n_iter=int(res.nit),
        message=str(res.message),
    )


# ---------------------------------------------------------------------------------------
# Beneficial / adversarial test measures (E_g is linear in q)


@dataclass(frozen=True)
class TestMeasureResult:
    """Result of :func:`optimize_test_measure`.

    Attributes
    ----------
    vertex : ndarray (n_q,)
        The unconstrained optimum: a point mass (or q₀ restricted to the best/worst group).
    vertex_error : float
    vertex_group : object or None
        The chosen group label (with ``groups``).
    group_labels, group_errors : ndarray or None
        Every group's error under q₀ restricted to it.
    tilted : ndarray (n_q,) or None
        q ∝ q₀·exp(∓e/τ) (with a temperature or a KL budget).
    tilted_error : float or None
    temperature : float or None
        τ used (found by a 1-D search with a KL budget).
    kl : float or None
        KL(tilted ‖ q₀).
    base_error : float
        Σ q₀ e, the error under the reference measure.
    """

    vertex: np.ndarray
    vertex_error: float
    vertex_group: object
    group_labels: np.ndarray
    group_errors: np.ndarray
    tilted: np.ndarray
    tilted_error: float
    temperature: float
    kl: float
    base_error: float


def tilt(errors, q0, temperature, sign):
    """q ∝ q₀·exp(sign·e/τ), computed in log space (sign +1 adversarial, −1 beneficial)."""
    errors = np.asarray(errors, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logq = np.log(q0) + sign * errors / temperature
    logq = logq - logq.max()
    w = np.exp(logq)
    return w / w.sum()


def kl_divergence(q, q0):
    """KL(q ‖ q₀) = Σ q log(q/q₀) over supp q."""
    m = q > 0
    return float(np.sum(q[m] * (np.log(q[m]) - np.log(q0[m]))))


def optimize_test_measure(errors, q0=None, objective="adversarial-test", temperature=None,
                          kl_budget=None, groups=None):
    """Best or worst test measure for a fixed training measure (THEORY §2).

    E_g(p→q) = Σ_j q_j e_j is linear in q, so the optimum over the simplex is a vertex: the
    point (or group) of smallest/largest error, within the support of q₀. With an entropy
    penalty τ the optimum is the tilt q ∝ q₀·exp(∓e/τ); with a KL budget ρ, τ is found by a
    1-D search on log τ so that KL(q‖q₀) = ρ (KL decreases monotonically in τ).

    Parameters
    ----------
    errors : ndarray (n_q,)
        Pointwise predicted errors e_j (:func:`pointwise_error`).
    q0 : ndarray or None
        Reference test measure (uniform if None).
    objective : {"beneficial-test", "adversarial-test"}
    temperature : float or None
        τ > 0 for the tilted measure.
    kl_budget : float or None
        ρ > 0; overrides ``temperature``.
    groups : ndarray or None
        Group labels: the vertex is then q₀ restricted to the best/worst group.

    Returns
    -------
    TestMeasureResult
    """
    from scipy.optimize import brentq

    e = np.asarray(errors, dtype=np.float64)
    n = e.shape[0]
    q0 = check_measure(q0, n, "test weights")
    if objective not in ("beneficial-test", "adversarial-test"):
        raise InputError(f"unknown test objective {objective!r}; use beneficial-test or "
                         "adversarial-test")
    sign = 1.0 if objective == "adversarial-test" else -1.0
    if temperature is not None and not temperature > 0:
        raise InputError(f"--temperature must be positive, got {temperature}")
    if kl_budget is not None and not kl_budget > 0:
        raise InputError(f"KL budget must be positive, got {kl_budget}")
    supp = q0 > 0
    base = float(np.dot(q0, e))
    labels = gerr = None
    vgroup = None
    if groups is not None:
        groups = np.asarray(groups)
        labels, inv = np.unique(groups, return_inverse=True)
        mass = np.bincount(inv, weights=q0)
        seen = mass > 0  # groups meeting supp q0
        labels = labels[seen]
        gerr = np.bincount(inv, weights=q0 * e)[seen] / mass[seen]
        k = int(np.argmax(sign * gerr))
        vgroup = labels[k]
        vertex = np.where(groups == vgroup, q0, 0.0)
        vertex = vertex / vertex.sum()
    else:
        score = np.where(supp, sign * e, -np.inf)
        vertex = np.zeros(n)
        vertex[int(np.argmax(score))] = 1.0
    vertex_error = float(np.dot(vertex, e))
    tilted = t_err = kl = None
    tau = temperature
    if kl_budget is not None:
        spread = float(e[supp].max() - e[supp].min())
        top = (sign * e == np.max(sign * e[supp])) & supp
        kl_max = -np.log(q0[top].sum())
        if spread == 0 or kl_budget >= kl_max:
            tau = spread * 1e-12 if spread > 0 else np.inf
        else:
            def f(logt):
                return kl_divergence(tilt(e, q0, np.exp(logt), sign), q0) - kl_budget

            lo, hi = np.log(spread * 1e-6), np.log(spread * 1e6)
            while f(lo) < 0:
                lo -= 5.0
            tau = float(np.exp(brentq(f, lo, hi, xtol=1e-12)))
    if tau is not None:
        tilted = q0.copy() if np.isinf(tau) else tilt(e, q0, tau, sign)
        t_err = float(np.dot(tilted, e))
        kl = kl_divergence(tilted, q0)
    return TestMeasureResult(
        vertex=vertex, vertex_error=vertex_error, vertex_group=vgroup, group_labels=labels,
        group_errors=gerr, tilted=tilted, tilted_error=t_err, temperature=tau, kl=kl,
        base_error=base,
    )
