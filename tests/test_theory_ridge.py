"""The ridge learning curve: closed forms, limits, conservation law and power-law exponents."""

import numpy as np
import pytest
from scipy.optimize import brentq

from kerncurve.theory.ridge import heldout_error, learning_curve, modal_errors, optimal_ridge, solve_kappa


def powerlaw(m, b=1.5, a=2.0):
    k = np.arange(1, m + 1, dtype=float)
    return k**-b, k**-a


@pytest.mark.parametrize("m", [300, 50000])
@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5])
def test_kappa_matches_brentq_and_conservation(m, lam):
    eta, _ = powerlaw(m)
    p = np.array([1, 3, 10, 100, 299, 1000, 5e4 - 1])
    p = p[(lam > 0) | (p < m)]
    sol = solve_kappa(eta, p, lam)
    for i, pp in enumerate(p):
        ref = brentq(lambda kp: np.sum(eta / (eta + kp)) + lam / kp - pp, 1e-300, 1e3, xtol=1e-300, rtol=1e-15)
        assert sol.kprime[i] == pytest.approx(ref, rel=1e-11)
        # conservation law Σ L_k + λ/k' = P, by direct summation
        kp = sol.kprime[i]
        assert abs(np.sum(eta / (eta + kp)) + lam / kp - pp) <= 1e-10 * pp
    assert np.all(sol.residual < 1e-10)
    assert np.all(sol.kappa >= lam)


def test_ridgeless_beyond_rank_closed_form():
    eta, v2 = powerlaw(50)
    vperp, s2 = 0.3, 0.1
    p = np.array([60.0, 100.0, 1000.0])
    c = learning_curve(eta, v2, vperp, p, 0.0, s2)
    n = 50
    np.testing.assert_array_equal(c.kappa, 0.0)
    np.testing.assert_allclose(c.gamma, n / p)
    np.testing.assert_allclose(c.eg, (vperp + s2 * n / p) / (1 - n / p), rtol=1e-14)
    np.testing.assert_allclose(c.e_train, (1 - n / p) * (vperp + s2), rtol=1e-14)


def test_interpolation_point():
    eta, v2 = powerlaw(50)
    assert learning_curve(eta, v2, 0.0, 50, 0.0, 0.1).eg == np.inf
    assert learning_curve(eta, v2, 0.2, 50, 0.0, 0.0).eg == np.inf
    assert learning_curve(eta, v2, 0.0, 50, 0.0, 0.0).eg == 0.0
    # any ridge removes the divergence
    assert np.isfinite(learning_curve(eta, v2, 0.2, 50, 1e-6, 0.1).eg)
    # just below the interpolation point the error is finite and large
    assert 1 < learning_curve(eta, v2, 0.0, 49, 0.0, 0.1).eg < np.inf


def test_small_and_large_p_limits():
    eta, v2 = powerlaw(1000)
    total = v2.sum()
    c = learning_curve(eta, v2, 0.0, np.array([1e-9]), 0.1, 0.0)
    assert c.eg[0] == pytest.approx(total, rel=1e-6)  # nothing learned yet
    c = learning_curve(eta, v2, 0.0, np.array([1e9]), 1e-3, 0.0)
    assert c.eg[0] < 1e-6 * total


def test_matches_direct_formulas():
    eta, v2 = powerlaw(400)
    p, lam, s2, vperp = 37.0, 0.01, 0.2, 0.05
    c = learning_curve(eta, v2, vperp, p, lam, s2)
    kappa = c.kappa
    lk = p * eta / (p * eta + kappa)
    gamma = np.sum(lk**2) / p
    eg = (np.sum((1 - lk) ** 2 * v2) + vperp + gamma * s2) / (1 - gamma)
    assert kappa == pytest.approx(lam + kappa * np.sum(eta / (p * eta + kappa)), rel=1e-12)
    assert c.gamma == pytest.approx(gamma, rel=1e-12)
    assert c.eg == pytest.approx(eg, rel=1e-12)
    assert c.e_train == pytest.approx((lam / kappa) ** 2 * (eg + s2), rel=1e-12)


def test_modal_errors_sum_to_eg():
    eta, v2 = powerlaw(300)
    c = learning_curve(eta, v2, 0.07, np.array([5.0, 50.0, 500.0]), 1e-3, 0.1)
    lk, modal, unlearnable = modal_errors(eta, v2, 0.07, c)
    np.testing.assert_allclose(modal.sum(1) + unlearnable, c.eg, rtol=1e-12)
    assert np.all((lk > 0) & (lk <= 1))


@pytest.mark.parametrize("b,a,lam,slope", [(1.5, 2.0, 0.0, -1.0), (1.5, 5.0, 0.0, -3.0), (2.0, 3.0, 0.0, -2.0)])
def test_power_law_slopes(b, a, lam, slope):
    eta, v2 = powerlaw(200_000, b, a)
    p = np.geomspace(100, 1000, 6)
    c = learning_curve(eta, v2, 0.0, p, lam, 0.0)
    fit = np.polyfit(np.log(p), np.log(c.eg), 1)[0]
    assert fit == pytest.approx(slope, abs=0.05)


def test_ridge_slope():
    eta, v2 = powerlaw(200_000, 1.5, 2.0)
    p = np.geomspace(1e4, 1e6, 6)  # λ = 1 well above the implicit ridge; slope → −(a−1)/b slowly
    c = learning_curve(eta, v2, 0.0, p, 1.0, 0.0)
    fit = np.polyfit(np.log(p), np.log(c.eg), 1)[0]
    assert fit == pytest.approx(-2 / 3, abs=0.05)


def test_optimal_ridge_beats_grid():
    eta, v2 = powerlaw(500)
    p = np.array([10.0, 100.0, 400.0])
    for s2 in (0.0, 0.5):
        lam = optimal_ridge(eta, v2, 0.0, p, s2)
        best = learning_curve(eta, v2, 0.0, p, lam, s2).eg
        grid = np.concatenate([[0.0], np.geomspace(1e-8, 1e3, 300)])
        eg_grid = learning_curve(eta, v2, 0.0, p[:, None], grid[None, :], s2).eg
        assert np.all(best <= eg_grid.min(1) * (1 + 1e-6))
    # with noise the optimal ridge is positive
    assert np.all(optimal_ridge(eta, v2, 0.0, p, 0.5) > 0)


def test_heldout_reduces_to_population_for_small_p():
    eta, v2 = powerlaw(300)
    c = learning_curve(eta, v2, 0.0, np.array([10.0, 100.0]), 0.0, 0.0)
    ho = heldout_error(c, 1000)
    np.testing.assert_allclose(ho, c.eg * 1000 / (1000 - c.p), rtol=1e-12)  # ridgeless noise-free
    c = learning_curve(eta, v2, 0.0, np.array([10.0]), 1e-2, 0.1)
    assert heldout_error(c, 10**9)[0] == pytest.approx(c.eg[0], rel=1e-6)


@pytest.mark.parametrize("lam", [2.2e-308, 1e-280, 1e-200])
def test_tiny_ridge_is_the_ridgeless_limit(lam):
    eta, v2 = powerlaw(40)
    p = np.array([10.0, 40.0, 80.0])
    tiny = learning_curve(eta, v2, 0.1, p, lam, 0.1)
    zero = learning_curve(eta, v2, 0.1, p, 0.0, 0.1)
    assert np.all(np.isfinite(tiny.kappa))
    np.testing.assert_allclose(tiny.eg[[0, 2]], zero.eg[[0, 2]], rtol=1e-10)
    assert tiny.eg[1] > 1e10 or tiny.eg[1] == np.inf  # at the rank: the divergence, approached
