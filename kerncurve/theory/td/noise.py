"""The gradient-noise term of the TD second-moment recursion: exact, or Gaussian-equivalent.

Both models return ``N(w_bar, M)``, the covariance of one episode's TD update given the
mean ``w_bar`` and the second moment ``M = E[(w - w_V)(w - w_V)^T]`` (reduced coordinates,
see `kerncurve.theory.td.chain`), so that
``M' = (I - eta A) M (I - eta A)^T + (eta^2 / B) N(w_bar, M)``.

* exact — a sum over the chain's transitions with their pair occupancy ``J`` (derived for
  kerncurve; docs/theory/td.md): exact for any chain, features and episode length;
* gaussian — the Gaussian-equivalence form of Bordelon, Masset, Kuo & Pehlevan (NeurIPS
  2023): the features' two-time covariances ``Sigma_tu`` and the mean TD-error products
  ``Q_tu``, exact only for Gaussian codes.
"""

from __future__ import annotations

import numpy as np

from kerncurve.errors import InputError

from .chain import TDSetup

__all__ = ["MAX_TRANSITIONS", "check_exact_size", "pair_occupancy", "noise_exact", "noise_gaussian", "noise_model", "MODELS"]

#: Largest number of transitions the exact model accepts (its pair occupancy is n_tr x n_tr).
MAX_TRANSITIONS = 4000


def _transitions(P: np.ndarray):
    """Transitions i = (a_i -> a'_i) with p_i > 0, sorted by a_i."""
    a, a2 = np.nonzero(P)
    return a, a2, P[a, a2]


def check_exact_size(n_tr: int) -> None:
    """Refuse the exact model for more than `MAX_TRANSITIONS` transitions (before any work)."""
    if n_tr > MAX_TRANSITIONS:
        raise InputError(
            f"model=exact needs the {n_tr} x {n_tr} pair occupancy of the chain's {n_tr} nonzero transitions "
            f"(over the limit of {MAX_TRANSITIONS}); use model=gaussian", param="model")


def pair_occupancy(setup: TDSetup) -> tuple:
    """Pair occupancy ``J_ij = sum_{t,u<T} Pr(transition i at t, transition j at u)``.

    ``J = diag(n) + U + U^T`` with ``n_i = sum_{t<T} rho_t(a_i) p_i`` and, for t < u,
    ``U_ij = p_i p_j G(a_i, a'_i, a_j)``, ``G(a, a', b) = sum_{t<=T-2} rho_t(a)
    [sum_{k=0}^{T-2-t} P^k](a', b)``.

    Returns
    -------
    a, a2, p : (n_tr,) ndarrays
        Source state, target state and probability of each transition.
    J : (n_tr, n_tr) ndarray
    """
    P = setup.chain.transitions
    T = setup.episode_length
    a, a2, p = _transitions(P)
    n_tr = a.size
    check_exact_size(n_tr)
    occ = setup.rho[:T].sum(axis=0)
    J = np.diag(occ[a] * p)
    if T >= 2:
        cum = np.cumsum(setup.powers[: T - 1], axis=0)  # cum[m] = sum_{k<=m} P^k
        G = np.zeros((n_tr, P.shape[0]))
        # A loop over time (not states): G_tr(i, b) = sum_t rho_t(a_i) C_{T-2-t}(a'_i, b).
        for t in range(T - 1):
            G += setup.rho[t, a][:, None] * cum[T - 2 - t][a2, :]
        U = (p[:, None] * G[:, a]) * p[None, :]
        J += U + U.T
    return a, a2, p, J


def _augmented_moment(wbar, M, w_V):
    """E[(1, w)(1, w)ᵀ] from the mean w̄ and M = E[(w − w_V)(w − w_V)ᵀ] (reduced coordinates)."""
    r = wbar.size
    Wt = np.empty((r + 1, r + 1))
    Wt[0, 0] = 1.0
    Wt[0, 1:] = wbar
    Wt[1:, 0] = wbar
    Wt[1:, 1:] = M + np.outer(wbar, w_V) + np.outer(w_V, wbar) - np.outer(w_V, w_V)  # E[wwᵀ]
    return Wt


def noise_exact(setup: TDSetup):
    """Return ``f(wbar_r, M) -> E[g g^T] - A M A^T`` (reduced coordinates), exact chain.

    ``Psi_tr^T (J o Q) Psi_tr - A M A^T`` with ``Q_ij = E[(r_i + d_i.w)(r_j + d_j.w)]``,
    ``d_i = gamma psi(a'_i) - psi(a_i)``.
    """
    a, a2, p, J = pair_occupancy(setup)
    Xr = setup.features_r
    S, r = Xr.shape
    gamma = setup.gamma
    # delta_i = utilde_i . (1, w): utilde_i = (r(a_i), gamma psi(a'_i) - psi(a_i)).
    U = np.hstack([setup.chain.rewards[a][:, None], gamma * Xr[a2] - Xr[a]])
    starts = np.searchsorted(a, np.arange(S))
    A = setup.A_r
    w_V = setup.w_V_r

    def noise(wbar, M):
        Wt = _augmented_moment(wbar, M, w_V)
        Q = (U @ Wt) @ U.T
        H = J * Q
        # Sum rows and columns of transitions sharing a source state: Psi_tr^T H Psi_tr.
        Y = np.add.reduceat(np.add.reduceat(H, starts, axis=0), starts, axis=1)
        return Xr.T @ Y @ Xr - A @ M @ A.T

    return noise


def noise_gaussian(setup: TDSetup):
    """Return ``f(wbar_r, M) -> sum_{t,u<T} Sigma_tu Q_tu`` (reduced coordinates).

    ``Q_tu = E[delta_t delta_u]`` over w (via wbar and W2), evaluated on states:
    with ``x = r - Psi w`` and ``y = gamma Psi w``, ``delta_t = x(s_t) + y(s_{t+1})`` and
    ``E[k(s_t, s_u)] = rho_t^T (P^(u-t) o k) 1`` for u >= t.
    """
    T = setup.episode_length
    Pk = setup.powers  # (T+1, S, S)
    rho = setup.rho  # (T+1, S)
    Xr = setup.features_r
    S, r = Xr.shape
    Xa = np.hstack([setup.chain.rewards[:, None], -Xr])  # x_s = Xa[s] . (1, w)
    Ya = np.hstack([np.zeros((S, 1)), setup.gamma * Xr])  # y_s = Ya[s] . (1, w)
    w_V = setup.w_V_r
    tt, uu = np.meshgrid(np.arange(T + 1), np.arange(T + 1), indexing="ij")
    upper = uu >= tt
    lag = np.abs(uu - tt)
    lo = np.minimum(tt, uu)

    def pair_mean(K):
        # C[t, u] = sum_ab Pr(s_t = a, s_u = b) K[a, b], t, u = 0..T.
        G = rho @ np.einsum("kab,ab->ka", Pk, K).T  # G[t, k] = rho_t . (P^k o K) 1
        GT = rho @ np.einsum("kab,ba->ka", Pk, K).T
        return np.where(upper, G[lo, lag], GT[lo, lag])

    def noise(wbar, M):
        Wt = _augmented_moment(wbar, M, w_V)
        XW = Xa @ Wt
        Cxx = pair_mean(XW @ Xa.T)
        Cxy = pair_mean(XW @ Ya.T)
        Cyy = pair_mean(Ya @ Wt @ Ya.T)
        Q = Cxx[:T, :T] + Cxy[:T, 1:] + Cxy[:T, 1:].T + Cyy[1:, 1:]
        # sum_{t,u<T} Q_tu Pi_tu = Z + Z^T - diag part, Z = sum_k diag(v_k) P^k,
        # v_k = sum_t Q_{t,t+k} rho_t.
        Qk = np.zeros((T, T))  # Qk[k, t] = Q[t, t+k]
        idx_t, idx_u = np.triu_indices(T)
        Qk[idx_u - idx_t, idx_t] = Q[idx_t, idx_u]
        v = Qk @ rho[:T]  # (T, S)
        v[0] *= 0.5
        Z = np.einsum("ka,kab->ab", v, Pk[:T])
        Y = Z + Z.T
        return Xr.T @ Y @ Xr

    return noise


MODELS = {"exact": noise_exact, "gaussian": noise_gaussian}


def noise_model(setup, model, reward_noise):
    """The noise term of ``model`` plus ``sigma_r^2 Sigma_bar`` for reward noise."""
    if model not in MODELS:
        raise InputError(f"model must be one of exact, gaussian; got {model!r}", param="model")
    base = MODELS[model](setup)
    if reward_noise:
        extra = reward_noise ** 2 * setup.sigma_bar_r

        def noise(wbar, M):
            return base(wbar, M) + extra

        return noise
    return base
