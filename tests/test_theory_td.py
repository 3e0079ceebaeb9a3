"""TD learning curves (docs/theory/td.md): closed forms, limits, and seeded TD(0) simulations."""

import warnings

import numpy as np
import pytest

from kerncurve.errors import InputError, NumericalWarning
from kerncurve.simulate.td import _global_cdf, sample_states, simulate_td
from kerncurve.theory import td
from kerncurve.theory.td import (
    check_td_params,
    make_chain,
    pair_occupancy,
    stationary_distribution,
    td_curve,
    td_plateau,
    td_setup,
    td_spectrum,
)


def _load_make_td():
    """The sample problems come from the generator that writes sample_data/ (one definition)."""
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sample_data", "make_td.py")
    spec = importlib.util.spec_from_file_location("make_td", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_make_td = _load_make_td()
gridworld, ring = _make_td.gridworld, _make_td.ring  # the problems of gridworld.h5 and ring.h5


# ----------------------------------------------------------------------------- problems


def random_chain(S=5, N=3, seed=0, sparse=True):
    rng = np.random.default_rng(seed)
    P = rng.random((S, S))
    if sparse:
        P[rng.random((S, S)) < 0.4] = 0.0
        P[np.arange(S), rng.integers(0, S, S)] += 0.3
    P /= P.sum(axis=1, keepdims=True)
    X = rng.standard_normal((S, N))
    r = rng.standard_normal(S)
    return P, X, r


# ----------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda P, X, r: (P[:, :-1], X, r), "square"),
        (lambda P, X, r: (P * 1.1, X, r), "row-stochastic"),
        (lambda P, X, r: (P - 0.5 * np.eye(len(P)) + 0.5 * np.eye(len(P))[::-1], X, r),
         "negative"),
        (lambda P, X, r: (P, X[:-1], r), "rows"),
        (lambda P, X, r: (P, X, r[:-1]), "^rewards "),
        (lambda P, X, r: (P, X, np.r_[r[:-1], np.nan]), "^rewards "),
    ],
)
def test_bad_chain_is_refused(mutate, words):
    P, X, r = random_chain()
    with pytest.raises(InputError, match=words) as err:
        make_chain(*mutate(P, X, r))
    assert err.value.param in ("transitions", "features", "rewards")
    with pytest.raises(InputError, match="f.h5:/"):  # a file's arrays are named by file and dataset
        make_chain(*mutate(P, X, r), labels={k: f"f.h5:/{k}" for k in ("transitions", "features", "rewards")})


def test_bad_start_is_refused():
    P, X, r = random_chain()
    with pytest.raises(InputError, match="^start "):
        make_chain(P, X, r, start=np.ones(len(P)))
    with pytest.raises(InputError, match="^start "):
        make_chain(P, X, r, start=np.ones(len(P) + 1) / (len(P) + 1))


@pytest.mark.parametrize(
    "kw",
    [{"gamma": 1.0}, {"gamma": -0.1}, {"lr": 0.0}, {"lr": -1.0}, {"batch": 0}, {"batch": 1.5},
     {"episode_length": 0}, {"reward_noise": -1.0}, {"lr_decay": -0.5}, {"steps": -1}],
)
def test_bad_params_are_refused_naming_the_parameter(kw):
    (name,) = kw
    with pytest.raises(InputError, match=f"^{name} ") as err:
        check_td_params(**kw)
    assert err.value.param == name


# ----------------------------------------------------------------------------- setup


def test_stationary_distribution():
    P, _, _ = random_chain(S=6, seed=3)
    pi = stationary_distribution(P)
    assert np.allclose(pi @ P, pi, atol=1e-12) and np.isclose(pi.sum(), 1) and pi.min() >= 0
    # Doubly stochastic walks (grid with walls that stay put, ring) are uniform.
    for prob in (gridworld(), ring()):
        assert np.allclose(stationary_distribution(prob[0]), 1 / len(prob[0]), atol=1e-12)


def test_reward_fit_residual():
    P, X, r = random_chain(S=6, N=6)
    ch = make_chain(P, X, r)
    assert ch.reward_residual < 1e-12 and np.allclose(ch.rewards, r)
    P, X, r = random_chain(S=6, N=2)
    ch = make_chain(P, X, r)
    expect = np.linalg.norm(r - X @ np.linalg.lstsq(X, r, rcond=None)[0]) / np.linalg.norm(r)
    assert np.isclose(ch.reward_residual, expect) and ch.reward_residual > 0.05


def test_setup_matches_brute_force_covariances():
    P, X, r = random_chain(S=5, N=3, seed=1)
    rho0 = np.array([0.5, 0.2, 0.1, 0.1, 0.1])
    T, gamma = 4, 0.7
    st = td_setup(make_chain(P, X, r, start=rho0), gamma, T)
    rho = [rho0 @ np.linalg.matrix_power(P, t) for t in range(T + 1)]
    sig = lambda t, u: X.T @ np.diag(rho[t]) @ np.linalg.matrix_power(P, u - t) @ X  # noqa
    Sb = sum(sig(t, t) for t in range(T))
    Sp = sum(sig(t, t + 1) for t in range(T))
    assert np.allclose(st.sigma_bar, Sb) and np.allclose(st.sigma_plus, Sp)
    assert np.allclose(st.A, Sb - gamma * Sp)
    assert np.allclose(st.A @ st.w_V, st.b) and st.fixed_point_residual < 1e-12


def test_gamma_zero_fixed_point_is_reward_weights():
    P, X, r = random_chain(S=6, N=4, seed=2)
    ch = make_chain(P, X, r)
    st = td_setup(ch, 0.0, 3)
    assert np.allclose(st.w_V, ch.reward_weights)


def test_tabular_spectrum_closed_form():
    # Tabular features, uniform stationary start, T = 1: A = (I - gamma P)/S.
    S, gamma = 8, 0.6
    P, _, _ = random_chain(S=S, seed=4, sparse=False)
    P = 0.5 * (P + P.T)
    P /= P.sum(axis=1, keepdims=True)  # not symmetric any more: use the general formula
    rho0 = np.full(S, 1 / S)
    st = td_setup(make_chain(P, np.eye(S), np.ones(S), start=rho0), gamma, 1)
    sp = td_spectrum(st)
    expect = np.sort_complex(np.linalg.eigvals((np.eye(S) - gamma * P) / S))
    assert np.allclose(np.sort_complex(sp.eigenvalues), expect)
    assert np.isclose(sp.timescale, 1 / expect.real.min())


def test_redundant_features_change_nothing():
    # TD(0) from w = 0 depends on the features only through the kernel Psi Psi^T: N = 5
    # rank-3 features Psi W^T (W^T W = I) give the same curves as Psi, and the theory runs
    # in the 3-dimensional range of Sigma_bar.
    P, X, r = random_chain(S=6, N=3, seed=5)
    W = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 3)))[0]
    X2 = X @ W.T
    st1 = td_setup(make_chain(P, X, r), 0.8, 5)
    st2 = td_setup(make_chain(P, X2, r), 0.8, 5)
    assert st2.A_r.shape == (3, 3) and st2.fixed_point_residual < 1e-12
    assert np.allclose(X @ st1.w_V, X2 @ st2.w_V)
    for model in ("exact", "gaussian"):
        a = td_curve(st1, 0.1, 2, 30, model=model).loss
        b = td_curve(st2, 0.1, 2, 30, model=model).loss
        assert np.allclose(a, b, rtol=1e-9)
    a = simulate_td(st1, 0.1, 2, 10, runs=4, seed=2).losses
    b = simulate_td(st2, 0.1, 2, 10, runs=4, seed=2).losses
    assert np.allclose(a, b, rtol=1e-9)


# ----------------------------------------------------------------------------- pair occupancy


def test_pair_occupancy_matches_enumeration():
    P, X, r = random_chain(S=4, N=2, seed=6)
    rho0 = np.array([0.4, 0.3, 0.2, 0.1])
    T = 5
    st = td_setup(make_chain(P, X, r, start=rho0), 0.5, T)
    a, a2, p, J = pair_occupancy(st)
    rho = [rho0 @ np.linalg.matrix_power(P, t) for t in range(T)]
    n_tr = a.size
    Jb = np.zeros((n_tr, n_tr))
    for t in range(T):
        for u in range(T):
            for i in range(n_tr):
                for j in range(n_tr):
                    if t == u:
                        Jb[i, j] += (i == j) * rho[t][a[i]] * p[i]
                    elif t < u:
                        Pk = np.linalg.matrix_power(P, u - t - 1)
                        Jb[i, j] += rho[t][a[i]] * p[i] * Pk[a2[i], a[j]] * p[j]
                    else:
                        Pk = np.linalg.matrix_power(P, t - u - 1)
                        Jb[i, j] += rho[u][a[j]] * p[j] * Pk[a2[j], a[i]] * p[i]
    assert np.allclose(J, Jb, atol=1e-14)
    # Conservation: sum_ij J_ij = T^2, sum_j J_ij = T n_i.
    n = sum(rho)[a] * p
    assert np.isclose(J.sum(), T * T) and np.allclose(J.sum(axis=1), T * n)


# ----------------------------------------------------------------------------- recursions


def test_deterministic_chain_has_no_variance():
    # A permutation chain from a fixed state: every episode is the same, so the exact
    # second moment stays the outer product of the mean error, and simulated runs are
    # identical to the mean recursion to round-off.
    S, N, T = 6, 4, 7
    P = np.roll(np.eye(S), 1, axis=1)
    rng = np.random.default_rng(7)
    X, r = rng.standard_normal((S, N)), rng.standard_normal(S)
    start = np.eye(S)[2]
    st = td_setup(make_chain(P, X, r, start=start), 0.8, T)
    c = td_curve(st, 0.05, 3, 40)
    assert np.allclose(c.loss, c.mean_loss, rtol=1e-9, atol=1e-14)
    sim = simulate_td(st, 0.05, 3, 40, runs=3, seed=1)
    assert np.allclose(sim.losses, c.loss[:, None], rtol=1e-9, atol=1e-14)


def test_infinite_batch_is_the_mean():
    P, X, r = random_chain(S=5, N=3, seed=8)
    st = td_setup(make_chain(P, X, r), 0.7, 4)
    for model in ("exact", "gaussian"):
        c = td_curve(st, 0.1, 10**12, 50, model=model)
        assert np.allclose(c.loss, c.mean_loss, rtol=1e-8)


def test_mean_recursion_converges_to_fixed_point():
    P, X, r = random_chain(S=5, N=3, seed=9)
    st = td_setup(make_chain(P, X, r), 0.7, 4)
    sp = td_spectrum(st)
    lr = 0.5 * sp.lr_max_mean
    c = td_curve(st, lr, 1, int(15 * sp.timescale / lr))
    assert c.mean_loss[-1] < 1e-10 * c.mean_loss[0]


def test_gamma_zero_single_step_is_sgd():
    # gamma = 0, T = 1: TD(0) is online SGD on samples s ~ rho0 (docs/sgd.md); the exact
    # recursion is C' = (I - eta S) C (I - eta S) + (eta^2/B) [F4(C) - S C S] with
    # F4(C) = Psi^T diag(rho0 q) Psi, q_s = psi_s^T C psi_s; the Gaussian-equivalence one
    # keeps only S tr(S C) of the noise.
    S, N, eta, B = 7, 3, 0.2, 2
    P, X, r = random_chain(S=S, N=N, seed=10)
    rng = np.random.default_rng(0)
    rho0 = rng.random(S)
    rho0 /= rho0.sum()
    st = td_setup(make_chain(P, X, r, start=rho0), 0.0, 1)
    Sig = X.T @ (rho0[:, None] * X)
    w_R = st.chain.reward_weights
    C_ex = np.outer(w_R, w_R)
    C_g = C_ex.copy()
    G = np.eye(N) - eta * Sig
    exact = [np.trace(Sig @ C_ex)]
    gauss = [np.trace(Sig @ C_g)]
    for _ in range(20):
        q = np.einsum("si,ij,sj->s", X, C_ex, X)
        F4 = X.T @ ((rho0 * q)[:, None] * X)
        C_ex = G @ C_ex @ G + eta**2 / B * (F4 - Sig @ C_ex @ Sig)
        C_g = G @ C_g @ G + eta**2 / B * Sig * np.trace(Sig @ C_g)
        exact.append(np.trace(Sig @ C_ex))
        gauss.append(np.trace(Sig @ C_g))
    assert np.allclose(td_curve(st, eta, B, 20).loss, exact, rtol=1e-10)
    assert np.allclose(td_curve(st, eta, B, 20, model="gaussian").loss, gauss, rtol=1e-10)


def test_gaussian_noise_matches_explicit_two_time_sum():
    # The state-space evaluation of sum_{t,u<T} Sigma_tu Q_tu against explicit loops over
    # (t, u) with the stacked covariances Sigma_tu.
    S, N, T, gamma = 5, 3, 4, 0.8
    P, X, r = random_chain(S=S, N=N, seed=11)
    rho0 = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    st = td_setup(make_chain(P, X, r, start=rho0), gamma, T)
    rng = np.random.default_rng(1)
    wbar = rng.standard_normal(N)
    L = rng.standard_normal((N, N))
    M = L @ L.T
    w_V, w_R = st.w_V_r, st.basis.T @ st.chain.reward_weights
    Xr = st.features_r
    W2 = M + np.outer(wbar, w_V) + np.outer(w_V, wbar) - np.outer(w_V, w_V)
    rho = [rho0 @ np.linalg.matrix_power(P, t) for t in range(T + 1)]

    def sig(t, u):
        if u >= t:
            return Xr.T @ np.diag(rho[t]) @ np.linalg.matrix_power(P, u - t) @ Xr
        return sig(u, t).T

    def avg(x_lin, x_c, Smat, y_lin, y_c):
        # E[(x_c + x_lin.w)(y_c + y_lin.w)] weighted by Smat: E[x^T Smat y] for affine x, y
        return (x_c @ Smat @ y_c + x_c @ Smat @ y_lin @ wbar + wbar @ x_lin.T @ Smat @ y_c
                + np.trace(x_lin.T @ Smat @ y_lin @ W2))

    I = np.eye(len(w_V))
    zero = np.zeros_like(w_R)
    expect = np.zeros((len(w_V), len(w_V)))
    for t in range(T):
        for u in range(T):
            # x = w_R - w, y = w.
            Q = (avg(-I, w_R, sig(t, u), -I, w_R)
                 + gamma * avg(-I, w_R, sig(t, u + 1), I, zero)
                 + gamma * avg(I, zero, sig(t + 1, u), -I, w_R)
                 + gamma**2 * avg(I, zero, sig(t + 1, u + 1), I, zero))
            expect += sig(t, u) * Q
    got = td.noise_gaussian(st)(wbar, M)
    assert np.allclose(got, expect, rtol=1e-10)


def test_exact_noise_is_conditional_covariance():
    # N(w) = E[g g^T] - A M A^T with g the one-episode update direction; for a deterministic
    # w (M = (w - w_V)(w - w_V)^T) it must equal Cov(g | w), computed here by enumerating
    # all episodes.
    S, N, T, gamma = 3, 2, 3, 0.6
    P, X, r = random_chain(S=S, N=N, seed=12, sparse=False)
    rho0 = np.array([0.5, 0.3, 0.2])
    st = td_setup(make_chain(P, X, r, start=rho0), gamma, T)
    rew = st.chain.rewards
    w = np.array([0.3, -0.7])
    Eg = np.zeros(N)
    Egg = np.zeros((N, N))
    import itertools

    for path in itertools.product(range(S), repeat=T + 1):
        prob = rho0[path[0]] * np.prod([P[path[k], path[k + 1]] for k in range(T)])
        g = sum(X[path[k]] * (rew[path[k]] + gamma * X[path[k + 1]] @ w - X[path[k]] @ w)
                for k in range(T))
        Eg += prob * g
        Egg += prob * np.outer(g, g)
    V = st.basis
    e = V.T @ w - st.w_V_r
    got = td.noise_exact(st)(V.T @ w, np.outer(e, e))
    cov = V.T @ (Egg - np.outer(Eg, Eg)) @ V
    assert np.allclose(Eg, st.b - st.A @ w)
    assert np.allclose(got, cov, rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- plateau


def test_plateau_is_the_long_time_limit():
    P, X, r = random_chain(S=5, N=3, seed=13)
    st = td_setup(make_chain(P, X, r), 0.7, 4)
    sp = td_spectrum(st)
    lr = 0.3 * sp.lr_max_mean
    for model in ("exact", "gaussian"):
        c = td_curve(st, lr, 2, int(80 * sp.timescale / lr), model=model, reward_noise=0.3)
        pl = td_plateau(st, lr, 2, model=model, reward_noise=0.3)
        assert np.isclose(c.loss[-1], pl, rtol=1e-6)


def test_plateau_proportional_to_lr_over_batch():
    # Must reach: plateau proportional to eta/B within 10 % over a 4x range of eta (and B).
    st = td_setup(make_chain(*gridworld()), 0.5, 20)
    edge = td_spectrum(st).lr_max_mean
    lrs = edge * np.array([0.0125, 0.025, 0.05])
    for B in (1, 8):
        ratio = np.array([td_plateau(st, lr, B) for lr in lrs]) * B / lrs
        assert np.ptp(ratio) / ratio.min() < 0.10, ratio
    assert abs(td_plateau(st, lrs[0], 8) * 8 / (td_plateau(st, lrs[0], 1)) - 1) < 0.10


def test_unstable_lr_has_infinite_plateau():
    P, X, r = random_chain(S=5, N=3, seed=14)
    st = td_setup(make_chain(P, X, r), 0.7, 4)
    with pytest.warns(NumericalWarning):
        assert td_plateau(st, 1.5 * td_spectrum(st).lr_max_mean, 1) == np.inf
    with pytest.warns(NumericalWarning, match="diverges"):
        c = td_curve(st, 1.5 * td_spectrum(st).lr_max_mean, 1, 3000)
    assert c.diverged and np.isinf(c.loss[-1])


# ----------------------------------------------------------------------------- simulation


def test_sampler_inverse_cdf_frequencies():
    P, _, _ = random_chain(S=5, seed=15)
    rng = np.random.default_rng(0)
    n = 200_000
    s = np.repeat(np.arange(5), n // 5)
    nxt = sample_states(_global_cdf(P), 5, s, rng.random(s.size))
    freq = np.zeros((5, 5))
    np.add.at(freq, (s, nxt), 1.0)
    freq /= n // 5
    se = np.sqrt(P * (1 - P) / (n // 5))
    assert np.all(np.abs(freq - P) <= 4 * se + 1e-12)
    assert np.all(freq[P == 0] == 0)


@pytest.mark.parametrize("B, noise, decay", [(1, 0.0, 0.0), (4, 0.5, 0.0), (2, 0.0, 0.6)])
def test_exact_model_matches_simulation_small_chain(B, noise, decay):
    P, X, r = random_chain(S=5, N=3, seed=16)
    st = td_setup(make_chain(P, X, r, start=np.full(5, 0.2)), 0.8, 5)
    lr = 0.3 * td_spectrum(st).lr_max_mean
    steps = [1, 5, 20, 60]
    c = td_curve(st, lr, B, 60, reward_noise=noise, lr_decay=decay)
    sim = simulate_td(st, lr, B, 60, runs=1000, record=steps, reward_noise=noise,
                      lr_decay=decay, seed=3)
    z = (c.loss[steps] - sim.mean) / sim.sem
    assert np.all(np.abs(z) < 3), z


def test_simulation_is_seeded():
    P, X, r = random_chain(S=5, N=3, seed=17)
    st = td_setup(make_chain(P, X, r), 0.5, 3)
    a = simulate_td(st, 0.1, 2, 10, runs=5, seed=4)
    b = simulate_td(st, 0.1, 2, 10, runs=5, seed=4)
    c = simulate_td(st, 0.1, 2, 10, runs=5, seed=5)
    assert np.array_equal(a.losses, b.losses) and not np.array_equal(a.losses, c.losses)


# ----------------------------------------------------------------------------- must reach


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gridworld", "ring"])
def test_must_reach_exact_within_3_sem(name):
    """Exact model within 3 SEM of 200 simulated runs at steps 10, 100, 300."""
    prob = gridworld() if name == "gridworld" else ring()
    ch = make_chain(*prob)
    steps = [10, 100, 300]
    for gamma in (0.5, 0.9):
        st = td_setup(ch, gamma, 20)
        for B in (1, 8):
            c = td_curve(st, 0.1, B, 300)
            sim = simulate_td(st, 0.1, B, 300, runs=200, record=steps, seed=1)
            z = (c.loss[steps] - sim.mean) / sim.sem
            assert np.all(np.abs(z) < 3), (gamma, B, z)


@pytest.mark.slow
def test_must_reach_gaussian_within_10_percent_on_gridworld():
    ch = make_chain(*gridworld())
    for gamma in (0.5, 0.9):
        st = td_setup(ch, gamma, 20)
        for B in (1, 8):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                ex = td_curve(st, 0.1, B, 300).loss
                ga = td_curve(st, 0.1, B, 300, model="gaussian").loss
            assert np.max(np.abs(ga / ex - 1)) < 0.10


def test_curve_progress_counts_every_update():
    P, X, r = random_chain(S=5, N=3, seed=8)
    st = td_setup(make_chain(P, X, r), 0.7, 4)
    done = []
    td_curve(st, 0.1, 2, 25, progress=done.append)
    assert sum(done) == 25
    done.clear()
    edge = td_spectrum(st).lr_max_mean
    with pytest.warns(NumericalWarning):
        c = td_curve(st, 50 * edge, 1, 3000, progress=done.append)
    assert c.diverged and sum(done) == 3000
