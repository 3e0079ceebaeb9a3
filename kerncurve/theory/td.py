"""Learning curves of TD(0) value estimation on a known Markov chain.

Source: Bordelon, Masset, Kuo, Pehlevan, *Loss Dynamics of Temporal Difference
Reinforcement Learning*, NeurIPS 2023 (arXiv:2307.04841). The Gaussian-equivalence
recursion follows the authors' notebook; the exact recursion over transitions and its
pair occupancy ``J`` were derived for kerncurve (THEORY.md §5).

Setting. A Markov chain ``P`` (policy included) is run in episodes of ``T`` transitions
from a start distribution ``rho0``; ``psi(s)`` in R^N are the features, the reward is
``r(s) = psi(s).w_R`` with ``w_R`` the least-squares fit of the given rewards (uniform
weight on states), and TD(0) with ``B`` episodes per update does::

    w <- w + (eta_n / B) sum_b sum_{t<T} psi(s_t) delta_t,
    delta_t = r(s_t) + gamma psi(s_{t+1}).w - psi(s_t).w  (+ reward noise sigma_r).

Occupancies ``rho_t = rho0 P^t``; two-time covariances ``Sigma_tu = Psi^T diag(rho_t)
P^(u-t) Psi`` (u >= t); ``Sigma_bar = sum_{t<T} Sigma_tt``, ``Sigma_plus = sum_{t<T}
Sigma_{t,t+1}``, ``A = Sigma_bar - gamma Sigma_plus``, ``b = Sigma_bar w_R``; TD fixed point
``A w_V = b``; value error ``L_n = E[(w_n - w_V)^T (Sigma_bar / T) (w_n - w_V)]``.

Coordinates. Starting from ``w_0 = 0`` every update lies in ``range(Sigma_bar)`` (the span of
the features of states visited before time T), so the weights never leave it. All moments
are tracked in an orthonormal basis ``V`` of that subspace (``r <= N`` coordinates), which
makes ``A`` invertible there even when features are redundant; ``w_V`` is reported in the
original coordinates (``V c``), and it is the point TD(0) started at zero converges to.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from kerncurve.errors import InputError, KerncurveError, NumericalWarning

__all__ = [
    "MarkovChain",
    "TDSetup",
    "TDCurve",
    "TDSpectrum",
    "make_chain",
    "stationary_distribution",
    "td_setup",
    "pair_occupancy",
    "td_curve",
    "td_spectrum",
    "td_plateau",
    "lr_schedule",
    "check_td_params",
]

#: Largest number of transitions the exact model accepts (its pair occupancy is n_tr x n_tr).
MAX_TRANSITIONS = 4000
_STOCHASTIC_ATOL = 1e-8
_RANK_RTOL = 1e-10


@dataclass(frozen=True)
class MarkovChain:
    """A validated chain with features and its least-squares reward weights.

    Attributes
    ----------
    transitions : (S, S) ndarray
        Row-stochastic transition matrix (rows renormalized to sum exactly to 1).
    features : (S, N) ndarray
        ``psi(s)`` as rows.
    rewards : (S,) ndarray
        The fitted reward ``Psi w_R`` used by the theory and the simulator.
    rewards_given : (S,) ndarray
        The rewards as given.
    reward_weights : (N,) ndarray
        ``w_R``, minimum-norm least-squares fit of ``rewards_given`` on the features.
    reward_residual : float
        ``||r - Psi w_R|| / ||r||`` (0 when the rewards are exactly representable).
    start : (S,) ndarray
        Start distribution ``rho0`` (the given ``/start`` or the stationary distribution).
    start_is_stationary : bool
        True when ``start`` was computed as the stationary distribution.
    """

    transitions: np.ndarray
    features: np.ndarray
    rewards: np.ndarray
    rewards_given: np.ndarray
    reward_weights: np.ndarray
    reward_residual: float
    start: np.ndarray
    start_is_stationary: bool

    @property
    def n_states(self) -> int:
        return self.transitions.shape[0]

    @property
    def n_features(self) -> int:
        return self.features.shape[1]


@dataclass(frozen=True)
class TDSetup:
    """Everything fixed by (chain, gamma, T): occupancies, covariances, fixed point.

    Attributes
    ----------
    chain : MarkovChain
    gamma : float
    episode_length : int
        ``T``, the number of transitions per episode.
    rho : (T + 1, S) ndarray
        ``rho_t = rho0 P^t`` for t = 0..T.
    powers : (T + 1, S, S) ndarray
        ``P^k`` for k = 0..T.
    sigma_bar, sigma_plus, A : (N, N) ndarray
        In the original feature coordinates.
    b : (N,) ndarray
        ``Sigma_bar w_R``.
    w_V : (N,) ndarray
        TD fixed point in the original coordinates.
    fixed_point_residual : float
        ``||A w_V - b|| / ||b||``.
    basis : (N, r) ndarray
        Orthonormal basis ``V`` of ``range(Sigma_bar)``.
    features_r : (S, r) ndarray
        ``Psi V``.
    A_r, sigma_bar_r : (r, r) ndarray
        ``V^T A V`` and ``V^T Sigma_bar V``.
    b_r, w_V_r : (r,) ndarray
    """

    chain: MarkovChain
    gamma: float
    episode_length: int
    rho: np.ndarray
    powers: np.ndarray
    sigma_bar: np.ndarray
    sigma_plus: np.ndarray
    A: np.ndarray
    b: np.ndarray
    w_V: np.ndarray
    fixed_point_residual: float
    basis: np.ndarray
    features_r: np.ndarray
    A_r: np.ndarray
    sigma_bar_r: np.ndarray
    b_r: np.ndarray
    w_V_r: np.ndarray

    @property
    def initial_loss(self) -> float:
        """``L_0 = w_V^T (Sigma_bar / T) w_V``."""
        return float(self.w_V_r @ self.sigma_bar_r @ self.w_V_r) / self.episode_length


@dataclass(frozen=True)
class TDCurve:
    """A predicted learning curve.

    Attributes
    ----------
    steps : (K + 1,) ndarray of int
        0..K.
    loss : (K + 1,) ndarray
        ``L_n``; ``inf`` from the step where the recursion overflowed.
    mean_loss : (K + 1,) ndarray
        ``(w_bar_n - w_V)^T (Sigma_bar/T) (w_bar_n - w_V)``, the part due to the mean.
    lr : (K,) ndarray
        The learning rate used at update n = 1..K.
    model : str
    diverged : bool
    """

    steps: np.ndarray
    loss: np.ndarray
    mean_loss: np.ndarray
    lr: np.ndarray
    model: str
    diverged: bool


@dataclass(frozen=True)
class TDSpectrum:
    """Spectrum of ``A`` restricted to ``range(Sigma_bar)``.

    Attributes
    ----------
    eigenvalues : (r,) complex ndarray
        Sorted by increasing real part.
    min_real, max_real : float
    timescale : float
        ``1 / min_real``: the slowest mode of the mean relaxes as ``exp(-n eta / timescale)``,
        i.e. over ``timescale / eta`` updates. ``inf`` when ``min_real <= 0``.
    lr_max_mean : float
        Largest constant learning rate for which the mean converges
        (``|1 - eta lambda| < 1`` for every eigenvalue): ``min 2 Re(lambda)/|lambda|^2``.
    """

    eigenvalues: np.ndarray
    min_real: float
    max_real: float
    timescale: float
    lr_max_mean: float


# ----------------------------------------------------------------------------- input


def _fail(msg: str) -> None:
    raise InputError(msg)


def stationary_distribution(transitions: np.ndarray) -> np.ndarray:
    """Stationary distribution ``pi = pi P`` of a row-stochastic matrix.

    Solves ``[P^T - I; 1^T] pi = [0; 1]`` by least squares; when that is not a probability
    vector (a reducible chain has many stationary laws) falls back to the Cesaro average
    of the uniform distribution, ``(1/K) sum_k u P^k``, which is always stationary in the
    limit and is the law of a chain started uniformly and observed at a random time.
    """
    P = np.asarray(transitions, dtype=float)
    S = P.shape[0]
    lhs = np.vstack([P.T - np.eye(S), np.ones((1, S))])
    rhs = np.zeros(S + 1)
    rhs[-1] = 1.0
    pi = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    if np.all(pi > -1e-10) and np.linalg.norm(pi @ P - pi, 1) < 1e-8:
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum()
    # Cesaro average by repeated squaring of the averaging operator.
    u = np.full(S, 1.0 / S)
    acc = np.zeros(S)
    x = u
    K = 4096
    for _ in range(K):
        acc += x
        x = x @ P
    pi = acc / K
    if np.linalg.norm(pi @ P - pi, 1) > 1e-3:
        warnings.warn(
            "/transitions: the chain mixes too slowly for a reliable stationary distribution; "
            "give /start explicitly",
            NumericalWarning,
            stacklevel=2,
        )
    return pi / pi.sum()


def make_chain(transitions, features, rewards, start=None, source: str = "input") -> MarkovChain:
    """Validate a chain and fit the reward on the features.

    Parameters
    ----------
    transitions : (S, S) array_like
        Row-stochastic (non-negative, rows sum to 1 within 1e-8).
    features : (S, N) array_like
    rewards : (S,) array_like
    start : (S,) array_like, optional
        A probability vector; default the stationary distribution.
    source : str
        Where the arrays came from (a file name), for error messages.

    Returns
    -------
    MarkovChain

    Raises
    ------
    InputError
        Naming the dataset, what is wrong and how to fix it.
    """
    P = np.asarray(transitions, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        _fail(f"{source}: /transitions has shape {P.shape}, must be square (S, S); "
              "store the S x S transition matrix of the chain under its policy")
    S = P.shape[0]
    if not np.all(np.isfinite(P)):
        _fail(f"{source}: /transitions holds nan or inf; store finite probabilities")
    if P.min() < 0:
        i, j = np.unravel_index(np.argmin(P), P.shape)
        _fail(f"{source}: /transitions[{i}, {j}] = {float(P[i, j])!r} is negative; "
              "transition probabilities must be >= 0")
    rows = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(rows - 1.0) > _STOCHASTIC_ATOL)
    if bad.size:
        i = int(bad[0])
        _fail(f"{source}: /transitions is not row-stochastic: row {i} sums to {float(rows[i])!r} "
              f"({bad.size} bad rows); each row must sum to 1 (normalize the rows)")
    P = P / rows[:, None]

    X = np.asarray(features, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != S:
        _fail(f"{source}: /features has {X.shape[0] if X.ndim else 0} rows but /transitions "
              f"has S = {S} states; store one feature row per state, shape ({S}, N)")
    if X.shape[1] == 0 or not np.all(np.isfinite(X)):
        _fail(f"{source}: /features must be finite with at least one column")

    r = np.asarray(rewards, dtype=float)
    if r.ndim == 2 and r.shape[1] == 1:
        r = r[:, 0]
    if r.ndim != 1 or r.shape[0] != S:
        _fail(f"{source}: /rewards has shape {r.shape}, must be ({S},): one reward per state")
    if not np.all(np.isfinite(r)):
        _fail(f"{source}: /rewards holds nan or inf; store finite rewards")

    if start is None:
        rho0 = stationary_distribution(P)
        stationary = True
    else:
        rho0 = np.asarray(start, dtype=float).ravel()
        stationary = False
        if rho0.shape[0] != S:
            _fail(f"{source}: /start has length {rho0.shape[0]}, must be {S} (one probability "
                  "per state)")
        if not np.all(np.isfinite(rho0)) or rho0.min() < 0 or abs(rho0.sum() - 1) > 1e-6:
            _fail(f"{source}: /start must be a probability vector (non-negative, sum 1), "
                  f"got sum {float(rho0.sum())!r}; normalize it or omit it for the stationary "
                  "distribution")
        rho0 = rho0 / rho0.sum()

    w_R = np.linalg.lstsq(X, r, rcond=None)[0]
    r_fit = X @ w_R
    norm = np.linalg.norm(r)
    residual = float(np.linalg.norm(r - r_fit) / norm) if norm > 0 else 0.0
    return MarkovChain(P, X, r_fit, r, w_R, residual, rho0, stationary)


def check_td_params(gamma=None, lr=None, batch=None, episode_length=None, steps=None,
                    reward_noise=None, lr_decay=None) -> None:
    """Raise `InputError` naming the option when a TD hyper-parameter is out of range."""
    if gamma is not None and not (0.0 <= gamma < 1.0):
        _fail(f"--gamma {gamma!r} is outside [0, 1); give a discount 0 <= gamma < 1")
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        _fail(f"--lr {lr!r} must be positive; give a learning rate > 0")
    if batch is not None and (int(batch) != batch or batch < 1):
        _fail(f"--batch {batch!r} must be a positive integer (episodes per update)")
    if episode_length is not None and (int(episode_length) != episode_length
                                       or episode_length < 1):
        _fail(f"--episode-length {episode_length!r} must be a positive integer "
              "(transitions per episode)")
    if steps is not None and (int(steps) != steps or steps < 0):
        _fail(f"--steps {steps!r} must be a non-negative integer")
    if reward_noise is not None and not (np.isfinite(reward_noise) and reward_noise >= 0):
        _fail(f"--reward-noise {reward_noise!r} must be >= 0")
    if lr_decay is not None and not (np.isfinite(lr_decay) and lr_decay >= 0):
        _fail(f"--lr-decay {lr_decay!r} must be >= 0 (eta_n = eta0 n^-chi)")


# ----------------------------------------------------------------------------- setup


def td_setup(chain: MarkovChain, gamma: float, episode_length: int) -> TDSetup:
    """Occupancies, covariances, ``A`` and the TD fixed point.

    ``rho_t = rho0 P^t``; ``Sigma_bar = Psi^T diag(sum_{t<T} rho_t) Psi``;
    ``Sigma_plus = Psi^T diag(sum_{t<T} rho_t) P Psi``; ``A = Sigma_bar - gamma Sigma_plus``;
    ``w_V = V (V^T A V)^{-1} V^T Sigma_bar w_R`` (THEORY.md §5).
    """
    check_td_params(gamma=gamma, episode_length=episode_length)
    T = int(episode_length)
    P, X = chain.transitions, chain.features
    S = P.shape[0]
    powers = np.empty((T + 1, S, S))
    powers[0] = np.eye(S)
    for k in range(1, T + 1):
        powers[k] = powers[k - 1] @ P
    rho = chain.start @ powers  # (T+1, S): rho0 P^t
    occ = rho[:T].sum(axis=0)
    sigma_bar = X.T @ (occ[:, None] * X)
    sigma_plus = X.T @ (occ[:, None] * (P @ X))
    A = sigma_bar - gamma * sigma_plus
    b = X.T @ (occ * chain.rewards)

    evals, evecs = np.linalg.eigh(sigma_bar)
    keep = evals > _RANK_RTOL * max(evals.max(), np.finfo(float).tiny)
    V = evecs[:, keep][:, ::-1]
    A_r = V.T @ A @ V
    sigma_bar_r = V.T @ sigma_bar @ V
    b_r = V.T @ b
    try:
        w_V_r = np.linalg.solve(A_r, b_r)
    except np.linalg.LinAlgError:
        w_V_r = np.linalg.lstsq(A_r, b_r, rcond=None)[0]
    w_V = V @ w_V_r
    nb = np.linalg.norm(b)
    resid = float(np.linalg.norm(A @ w_V - b) / nb) if nb > 0 else float(np.linalg.norm(A @ w_V))
    return TDSetup(chain, float(gamma), T, rho, powers, sigma_bar, sigma_plus, A, b, w_V,
                   resid, V, X @ V, A_r, sigma_bar_r, b_r, w_V_r)


def td_spectrum(setup: TDSetup) -> TDSpectrum:
    """Eigenvalues of ``A`` on ``range(Sigma_bar)``, slowest timescale, mean-stability edge."""
    ev = np.linalg.eigvals(setup.A_r)
    ev = ev[np.argsort(ev.real)]
    min_re = float(ev.real.min())
    max_re = float(ev.real.max())
    tau = 1.0 / min_re if min_re > 0 else np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        edge = 2.0 * ev.real / np.abs(ev) ** 2
    lr_max = float(edge.min()) if min_re > 0 else 0.0
    return TDSpectrum(ev, min_re, max_re, float(tau), lr_max)


def lr_schedule(lr: float, steps: int, lr_decay: float = 0.0) -> np.ndarray:
    """``eta_n = eta0 n^-chi`` for updates n = 1..steps."""
    n = np.arange(1, int(steps) + 1, dtype=float)
    return lr * n ** (-float(lr_decay))


# ----------------------------------------------------------------------------- exact model


def _transitions(P: np.ndarray):
    """Transitions i = (a_i -> a'_i) with p_i > 0, sorted by a_i."""
    a, a2 = np.nonzero(P)
    return a, a2, P[a, a2]


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
    if n_tr > MAX_TRANSITIONS:
        raise KerncurveError(
            f"the exact TD model needs the {n_tr} x {n_tr} pair occupancy of the chain's "
            f"{n_tr} transitions (over the limit {MAX_TRANSITIONS}); use --model gaussian")
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

def _noise_exact(setup: TDSetup):
    """Return ``f(wbar_r, M) -> E[g g^T] - A M A^T`` (reduced coordinates), exact chain."""
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


# ----------------------------------------------------------------------------- Gaussian model


def _noise_gaussian(setup: TDSetup):
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


_MODELS = {"exact": _noise_exact, "gaussian": _noise_gaussian}


def _noise_fn(setup, model, reward_noise):
    if model not in _MODELS:
        raise InputError(f"--model {model!r} is unknown; use exact or gaussian")
    base = _MODELS[model](setup)
    if reward_noise:
        extra = reward_noise ** 2 * setup.sigma_bar_r

        def noise(wbar, M):
            return base(wbar, M) + extra

        return noise
    return base


# ----------------------------------------------------------------------------- curves


def td_curve(setup: TDSetup, lr: float, batch: int, steps: int, model: str = "exact",
             reward_noise: float = 0.0, lr_decay: float = 0.0, progress=None) -> TDCurve:
    """Expected value error of TD(0) after n = 0..steps updates.

    Mean ``w_bar' = w_bar + eta_n (b - A w_bar)``, ``w_bar_0 = 0``. Second moment
    ``M = E[(w - w_V)(w - w_V)^T]``, ``M_0 = w_V w_V^T``::

        M' = (I - eta_n A) M (I - eta_n A)^T + (eta_n^2 / B) N(w_bar, M)

    exact: ``N = Psi_tr^T (J o Q) Psi_tr - A M A^T + sigma_r^2 Sigma_bar``,
    ``Q_ij = E[(r_i + d_i.w)(r_j + d_j.w)]``, ``d_i = gamma psi(a'_i) - psi(a_i)``;
    gaussian: ``N = sum_{t,u<T} Sigma_tu Q_tu``, ``Q_tu = E[delta_t delta_u] + sigma_r^2
    delta_tu`` (THEORY.md §5). ``M`` is symmetrized every step. Loss
    ``L_n = tr(Sigma_bar M_n) / T``.

    Parameters
    ----------
    setup : TDSetup
    lr : float
        ``eta0``.
    batch : int
        Episodes per update ``B``.
    steps : int
        Number of updates ``K``.
    model : {"exact", "gaussian"}
    reward_noise : float
        Standard deviation ``sigma_r`` of i.i.d. noise added to each reward.
    lr_decay : float
        ``chi`` in ``eta_n = eta0 n^-chi``.
    progress : callable, optional
        Called as ``progress(k)`` with the number of updates just computed (all that are
        left when the recursion stops at a divergence).

    Returns
    -------
    TDCurve
    """
    check_td_params(lr=lr, batch=batch, steps=steps, reward_noise=reward_noise,
                    lr_decay=lr_decay)
    noise = _noise_fn(setup, model, reward_noise)
    T = setup.episode_length
    A, b, w_V = setup.A_r, setup.b_r, setup.w_V_r
    Sb = setup.sigma_bar_r / T
    r = A.shape[0]
    I = np.eye(r)
    etas = lr_schedule(lr, steps, lr_decay)
    loss = np.full(steps + 1, np.inf)
    mean_loss = np.full(steps + 1, np.inf)
    wbar = np.zeros(r)
    M = np.outer(w_V, w_V)
    e = wbar - w_V
    loss[0] = np.sum(Sb * M)
    mean_loss[0] = e @ Sb @ e
    diverged = False
    for n, eta in enumerate(etas, start=1):
        G = I - eta * A
        M_new = G @ M @ G.T + (eta * eta / batch) * noise(wbar, M)
        wbar = wbar + eta * (b - A @ wbar)
        M = 0.5 * (M_new + M_new.T)
        e = wbar - w_V
        L = float(np.sum(Sb * M))
        if not np.isfinite(L) or abs(L) > 1e200:
            diverged = True
            if progress is not None:
                progress(steps - n + 1)
            break
        loss[n] = L
        mean_loss[n] = e @ Sb @ e
        if progress is not None:
            progress(1)
    if diverged:
        warnings.warn(
            f"TD {model} model diverges at lr={lr!r}, batch={batch}, gamma={setup.gamma!r} "
            f"(loss overflows at step {n}); lower --lr",
            NumericalWarning,
            stacklevel=2,
        )
    return TDCurve(np.arange(steps + 1), loss, mean_loss, etas, model, diverged)


def td_plateau(setup: TDSetup, lr: float, batch: int, model: str = "exact",
               reward_noise: float = 0.0) -> float:
    """Asymptotic loss at constant learning rate: the fixed point of the M recursion.

    At ``w_bar = w_V`` the recursion's fixed point solves the linear equation
    ``A M + M A^T = eta A M A^T + (eta / B) N(w_V, M)``. Writing ``N = N_0 + N_1(M)`` it is
    solved by GMRES on ``(I - L) M = Lyap^{-1}((eta/B) N_0)`` with
    ``L(M) = Lyap^{-1}(eta A M A^T + (eta/B) N_1(M))`` and ``Lyap^{-1}(C)`` the solution X
    of ``A X + X A^T = C``. To leading order ``L_inf = (eta/B) tr(Sigma_bar X_0)/T``,
    ``A X_0 + X_0 A^T = N_0``: proportional to ``eta / B``.

    Returns
    -------
    float
        ``inf`` (with a `NumericalWarning`) when the constant-rate recursion has no stable
        fixed point.
    """
    check_td_params(lr=lr, batch=batch, reward_noise=reward_noise)
    noise = _noise_fn(setup, model, reward_noise)
    A, w_V = setup.A_r, setup.w_V_r
    r = A.shape[0]
    spec = td_spectrum(setup)
    if not (spec.min_real > 0 and lr < spec.lr_max_mean):
        warnings.warn(f"TD mean diverges at lr={lr!r} (edge {spec.lr_max_mean:.4g}); "
                      "no plateau", NumericalWarning, stacklevel=2)
        return float("inf")
    zero = np.zeros((r, r))
    N0 = noise(w_V, zero)
    lyap = scipy.linalg.solve_continuous_lyapunov

    def lin(M):
        return lyap(A, lr * A @ M @ A.T + (lr / batch) * (noise(w_V, M) - N0))

    rhs = lyap(A, (lr / batch) * N0)

    def matvec(v):
        M = v.reshape(r, r)
        M = 0.5 * (M + M.T)
        return (M - lin(M)).ravel()

    op = scipy.sparse.linalg.LinearOperator((r * r, r * r), matvec=matvec, dtype=float)
    sol, info = scipy.sparse.linalg.gmres(op, rhs.ravel(), rtol=1e-12, atol=0.0,
                                          restart=min(r * r, 200), maxiter=50)
    M = sol.reshape(r, r)
    M = 0.5 * (M + M.T)
    L = float(np.sum(setup.sigma_bar_r * M)) / setup.episode_length
    ok = info == 0 and L >= 0 and np.linalg.eigvalsh(M).min() >= -1e-8 * max(
        abs(np.linalg.eigvalsh(M)).max(), 1e-300)
    if not ok:
        warnings.warn(f"TD {model} model has no stable plateau at lr={lr!r}, batch={batch} "
                      "(the second moment diverges); lower --lr", NumericalWarning,
                      stacklevel=2)
        return float("inf")
    return L
