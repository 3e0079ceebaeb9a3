"""The chain of TD learning: validated transitions, features and reward; occupancies and A.

Setting. A Markov chain ``P`` (policy included) is run in episodes of ``T`` transitions
from a start distribution ``rho0``; ``psi(s)`` in R^N are the features, the reward is
``r(s) = psi(s).w_R`` with ``w_R`` the least-squares fit of the given rewards (uniform
weight on states).

Occupancies ``rho_t = rho0 P^t``; two-time covariances ``Sigma_tu = Psi^T diag(rho_t)
P^(u-t) Psi`` (u >= t); ``Sigma_bar = sum_{t<T} Sigma_tt``, ``Sigma_plus = sum_{t<T}
Sigma_{t,t+1}``, ``A = Sigma_bar - gamma Sigma_plus``, ``b = Sigma_bar w_R``; TD fixed point
``A w_V = b``.

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

from kerncurve._validation import check_float, check_int
from kerncurve.errors import InputError, NumericalWarning

__all__ = [
    "MarkovChain",
    "TDSetup",
    "TDSpectrum",
    "make_chain",
    "stationary_distribution",
    "check_td_params",
    "td_setup",
    "td_spectrum",
]

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
        Start distribution ``rho0`` (the given one or the stationary distribution).
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

    @property
    def n_transitions(self) -> int:
        """Number of nonzero transition probabilities (the exact model's unit)."""
        return int(np.count_nonzero(self.transitions))


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
            "transitions: the chain mixes too slowly for a reliable stationary distribution; "
            "give the start distribution explicitly",
            NumericalWarning,
            stacklevel=2,
        )
    return pi / pi.sum()


_NAMES = ("transitions", "features", "rewards", "start")


def make_chain(transitions, features, rewards, start=None, labels=None) -> MarkovChain:
    """Validate a chain and fit the reward on the features.

    Parameters
    ----------
    transitions : (S, S) array_like
        Row-stochastic (non-negative, rows sum to 1 within 1e-8).
    features : (S, N) array_like
    rewards : (S,) array_like
    start : (S,) array_like, optional
        A probability vector; default the stationary distribution.
    labels : dict, optional
        What to call each array in messages (``{"transitions": "chain.h5:/transitions"}``);
        by default the parameter names, and the `InputError` names the parameter.

    Returns
    -------
    MarkovChain

    Raises
    ------
    InputError
        Naming the array, what is wrong and how to fix it.
    """
    names = {k: k for k in _NAMES}
    names.update(labels or {})

    def fail(key, msg):
        raise InputError(f"{names[key]} {msg}", param=None if labels and key in labels else key)

    P = _as_float(transitions, names["transitions"], "transitions")
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        fail("transitions", f"has shape {P.shape}, must be square (S, S); give the S x S transition matrix "
                            "of the chain under its policy")
    S = P.shape[0]
    if not np.all(np.isfinite(P)):
        fail("transitions", "holds nan or inf; give finite probabilities")
    if P.min() < 0:
        i, j = np.unravel_index(np.argmin(P), P.shape)
        fail("transitions", f"has a negative entry [{i}, {j}] = {float(P[i, j])!r}; transition probabilities "
                            "must be >= 0")
    rows = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(rows - 1.0) > _STOCHASTIC_ATOL)
    if bad.size:
        i = int(bad[0])
        fail("transitions", f"is not row-stochastic: row {i} sums to {float(rows[i])!r} ({bad.size} bad rows); "
                            "each row must sum to 1 (normalize the rows)")
    P = P / rows[:, None]

    X = _as_float(features, names["features"], "features")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != S:
        fail("features", f"has {X.shape[0] if X.ndim else 0} rows but {names['transitions']} has S = {S} states; give "
                         f"one feature row per state, shape ({S}, N)")
    if X.shape[1] == 0 or not np.all(np.isfinite(X)):
        fail("features", "must be finite with at least one column")

    r = _as_float(rewards, names["rewards"], "rewards")
    if r.ndim == 2 and r.shape[1] == 1:
        r = r[:, 0]
    if r.ndim != 1 or r.shape[0] != S:
        fail("rewards", f"has shape {r.shape}, must be ({S},): one reward per state")
    if not np.all(np.isfinite(r)):
        fail("rewards", "holds nan or inf; give finite rewards")

    if start is None:
        rho0 = stationary_distribution(P)
        stationary = True
    else:
        rho0 = _as_float(start, names["start"], "start").ravel()
        stationary = False
        if rho0.shape[0] != S:
            fail("start", f"has length {rho0.shape[0]}, must be {S} (one probability per state)")
        if not np.all(np.isfinite(rho0)) or rho0.min() < 0 or abs(rho0.sum() - 1) > 1e-6:
            fail("start", f"must be a probability vector (non-negative, sum 1), got sum {float(rho0.sum())!r}; "
                          "normalize it or leave it out for the stationary distribution")
        rho0 = rho0 / rho0.sum()

    w_R = np.linalg.lstsq(X, r, rcond=None)[0]
    r_fit = X @ w_R
    norm = np.linalg.norm(r)
    residual = float(np.linalg.norm(r - r_fit) / norm) if norm > 0 else 0.0
    return MarkovChain(P, X, r_fit, r, w_R, residual, rho0, stationary)


def _as_float(x, label, param):
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{label} must be a numeric array, got {type(x).__name__}", param=param) from None


def check_td_params(gamma=None, lr=None, batch=None, episode_length=None, steps=None,
                    reward_noise=None, lr_decay=None) -> None:
    """Raise `InputError` naming the parameter when a TD hyper-parameter is out of range."""
    if gamma is not None:
        g = check_float(gamma, "gamma")
        if not 0.0 <= g < 1.0:
            raise InputError(f"gamma must be a discount 0 <= gamma < 1, got {gamma!r}", param="gamma")
    if lr is not None:
        check_float(lr, "lr", minimum=0.0, strict=True)
    if batch is not None:
        check_int(batch, "batch", minimum=1)
    if episode_length is not None:
        check_int(episode_length, "episode_length", minimum=1)
    if steps is not None:
        check_int(steps, "steps", minimum=0)
    if reward_noise is not None:
        check_float(reward_noise, "reward_noise", minimum=0.0)
    if lr_decay is not None:
        check_float(lr_decay, "lr_decay", minimum=0.0)


# ----------------------------------------------------------------------------- setup


def td_setup(chain: MarkovChain, gamma: float, episode_length: int) -> TDSetup:
    """Occupancies, covariances, ``A`` and the TD fixed point.

    ``rho_t = rho0 P^t``; ``Sigma_bar = Psi^T diag(sum_{t<T} rho_t) Psi``;
    ``Sigma_plus = Psi^T diag(sum_{t<T} rho_t) P Psi``; ``A = Sigma_bar - gamma Sigma_plus``;
    ``w_V = V (V^T A V)^{-1} V^T Sigma_bar w_R`` (docs/theory/td.md).
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
