"""Optimizing the training measure: E_g(p→q) and its gradient over p, and L-BFGS-B on logits.

In pool coordinates the mean predictor is kernel regression with a per-point ridge k'/p_i,
so E_g(p→q) is a smooth function of the pool weights; k' moves with p, and its derivative
follows from the implicit function theorem on the κ equation. The training measure is
parametrized as p = softmax(θ), per point or per group (uniform within a group).
"""

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError
from kerncurve.theory.ridge import solve_kprime

from .problem import as_targets, check_measure, kept_modes, sym_eigh

__all__ = ["MeasureValue", "train_measure_value", "measure_from_theta", "TrainMeasureResult",
           "optimize_train_measure"]


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
    ∂F/∂k' = −Tr[M(M + k')⁻²] − λ/k'² (M = K D_p). Equal to `shift_curve` (eigen form) up to
    the round-off modes that form drops.

    Parameters
    ----------
    K_pp, K_qp, y_p, y_q
        As in `shift_problem_from_gram`.
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
    y_p = as_targets(y_p, K.shape[0], "train targets")
    y_q = as_targets(y_q, Kqp.shape[0], "test targets")
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if np.any(p <= 0):
        raise InputError("p must be a strictly positive training measure for train_measure_value", param="p")
    s = np.sqrt(p)
    A = s[:, None] * K * s[None, :]
    eta, U = sym_eigh(A)
    keep = kept_modes(eta, "train Gram")
    eta = np.maximum(eta, 0.0)
    kp = float(solve_kprime(np.sort(eta[keep])[::-1], P, ridge))
    if not kp > 0:
        raise InputError(
            f"ridge={ridge:g} at P = {P:g}: optimizing the training measure needs k' > 0; give a ridge > 0 or a P "
            "below the number of training points with non-zero kernel eigenvalues", param="ridge")
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
    """Result of `optimize_train_measure`.

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

    L-BFGS-B on θ with the analytic gradient of `train_measure_value` chained through
    the softmax (dE/dθ = π ⊙ (h − π·h), h the gradient over π). The result never has a
    larger predicted error than the start: the best measure evaluated is returned.

    Parameters
    ----------
    K_pp, K_qp, y_p, y_q
        As in `shift_problem_from_gram`.
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
    q = check_measure(q, np.asarray(K_qp).shape[0], "test weights", param="q")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_p,):
            raise InputError(f"groups has shape {groups.shape}; expected ({n_p},), one label per pool point",
                             param="groups")
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
