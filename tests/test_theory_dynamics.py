"""Tests of kerncurve.theory.dynamics against closed forms, limits and exact gradient flow."""

import numpy as np
import pytest
from scipy.optimize import brentq

from kerncurve.errors import InputError
from kerncurve.simulate.dynamics import simulate_loss
from kerncurve.theory import dynamics as dyn


def power_law(M, b=1.5, a=2.0):
    k = np.arange(1, M + 1, dtype=float)
    return k**-b, k**-a  # eigenvalues λ_k, target power λ_k w_k²


LAM, PW = power_law(500)


# ----------------------------------------------------------------------------- references
def ref_df_root(lam, m):
    """κ with Σ λ/(λ+κ) = m, by scipy's brentq on log κ (independent of the module)."""
    f = lambda u: np.sum(lam / (lam + np.exp(u))) - m  # noqa: E731
    return np.exp(brentq(f, np.log(1e-30), np.log(lam.sum() / m) + 1, xtol=1e-14, rtol=1e-15))


def ref_ridgeless(lam, pw, P):
    """The ridgeless, noise-free kernel learning curve written the plain way (γ = Σ L²/P)."""
    k = ref_df_root(lam, P)
    L = lam / (lam + k)
    gamma = np.sum(L**2) / P
    return np.sum((1 - L) ** 2 * pw) / (1 - gamma)


def ref_width_limited(lam, pw, N):
    k = ref_df_root(lam, N)
    return k * np.sum(pw / (lam + k))


# ----------------------------------------------------------------------------- limits
def test_contour_reproduces_gradient_flow_at_infinite_width_and_data():
    t = np.logspace(-2, 5, 15)
    exact = dyn.loss_gradient_flow(LAM, PW, t)
    got = dyn.loss(LAM, PW, np.inf, np.inf, t, method="contour")
    big = exact > 1e-6 * PW.sum()
    np.testing.assert_allclose(got[big], exact[big], rtol=1e-6)
    assert np.all(np.abs(got - exact) <= 1e-10 * PW.sum())
    # the Talbot inversion is accurate to ~1e-11 relative where L is not tiny
    assert np.max(np.abs(got[big] / exact[big] - 1)) < 1e-8


def test_finite_but_huge_width_and_data_reduce_to_gradient_flow():
    # Exercises every N-, P-dependent term of the contour (they vanish only as 1/N, 1/P).
    t = np.array([0.1, 10.0, 1e3])
    got = dyn.loss(LAM, PW, 1e12, 1e12, t)
    np.testing.assert_allclose(got, dyn.loss_gradient_flow(LAM, PW, t), rtol=1e-6)


@pytest.mark.parametrize("P", [5, 37.5, 100, 499])
def test_infinite_time_at_infinite_width_is_ridgeless_curve(P):
    got = dyn.loss(LAM, PW, np.inf, P, np.inf)
    assert got == pytest.approx(ref_ridgeless(LAM, PW, P), rel=1e-6)
    assert dyn.ridgeless_loss(LAM, PW, P) == pytest.approx(ref_ridgeless(LAM, PW, P), rel=1e-6)


@pytest.mark.parametrize("N", [3, 50, 250, 499])
def test_infinite_time_at_infinite_data_is_width_limited_plateau(N):
    got = dyn.loss(LAM, PW, N, np.inf, np.inf)
    assert got == pytest.approx(ref_width_limited(LAM, PW, N), rel=1e-6)
    assert dyn.width_limited_loss(LAM, PW, N) == pytest.approx(got, rel=1e-12)


@pytest.mark.parametrize("N,P", [(np.inf, 100), (100, np.inf), (50, 200), (200, 50)])
def test_contour_converges_to_the_infinite_time_limit(N, P):
    late = dyn.loss(LAM, PW, N, P, [1e8, 1e10], method="contour")
    np.testing.assert_allclose(late, dyn.loss(LAM, PW, N, P, np.inf), rtol=1e-6)


@pytest.mark.parametrize("N,P", [(1e10, 100), (100, 1e10)])
def test_one_huge_factor_matches_the_infinite_one(N, P):
    t = np.array([1.0, 100.0, 1e4, np.inf])
    Ni, Pi = (np.inf, P) if N > 1e9 else (N, np.inf)
    np.testing.assert_allclose(dyn.loss(LAM, PW, N, P, t), dyn.loss(LAM, PW, Ni, Pi, t), rtol=1e-6)


def test_zero_time_is_total_power():
    assert dyn.loss(LAM, PW, 100, 200, 0.0) == pytest.approx(PW.sum(), rel=1e-15)
    # and the contour agrees at a tiny time
    assert dyn.loss(LAM, PW, 100, 200, 1e-6) == pytest.approx(PW.sum(), rel=1e-5)


def test_interpolation_peak_at_equal_width_and_data():
    assert dyn.loss(LAM, PW, 100, 100, np.inf) == np.inf
    # fully learnable: N = P ≥ M learns the target exactly
    assert dyn.loss(LAM, PW, 600, 600, np.inf) == 0.0
    # a target with no power has nothing to get wrong
    assert dyn.loss(LAM, np.zeros_like(PW), 100, 100, np.inf) == 0.0
    # finite times stay finite and grow towards the peak
    late = dyn.loss(LAM, PW, 100, 100, [1e3, 1e5, 1e7])
    assert np.all(np.isfinite(late)) and np.all(np.diff(late) > 0)


def test_more_data_or_width_helps_at_infinite_time_away_from_the_peak():
    P = np.array([10.0, 30.0, 100.0, 300.0])
    L = dyn.loss(LAM, PW, np.inf, P, np.inf)
    assert np.all(np.diff(L) < 0)
    L = dyn.loss(LAM, PW, P, np.inf, np.inf)
    assert np.all(np.diff(L) < 0)


# ----------------------------------------------------------------------------- κ(z)
def test_kappa_real_solves_the_equation_on_the_physical_branch():
    spec = dyn.as_spectrum(LAM, PW)
    for N, P in [(50, 200), (200, 50), (100, 100), (np.inf, 30), (1000, 2000)]:
        for z in [0.0, 1e-9, 1e-3, 1.0, 1e3]:
            k = dyn.kappa_real(spec, width=N, p=P, z=z)
            df = np.sum(LAM / (LAM + k))
            rn = 1 - df / N
            rp = 1 - df / P
            assert rn >= -1e-12 and rp >= -1e-12  # physical: above df = min(N, P)
            assert k * rn * rp == pytest.approx(z, rel=1e-9, abs=1e-15 * max(k, 1))
            if z == 0 and min(N, P) < LAM.size:
                assert df == pytest.approx(min(N, P), rel=1e-12)
    assert dyn.kappa_real(LAM, width=50, p=200, z=1e8) == pytest.approx(1e8, rel=1e-6)


def test_kappa_contour_solves_the_equation_at_every_node():
    spec = dyn.as_spectrum(LAM, PW)
    invN, invP = np.array([1 / 50, 1 / 200, 0.0]), np.array([1 / 50, 0.0, 1 / 80])
    r = np.array([32 / (5 * 1e5), 32 / (5 * 10.0), 32 / 5e3])
    k = dyn.kappa_contour(spec, invN, invP, r)
    _, zeta, _ = dyn._talbot_upper()
    z = r[:, None] * zeta
    df = (1.0 / (LAM + k[..., None])) @ LAM
    g = k * (1 - df * invN[:, None]) * (1 - df * invP[:, None])
    np.testing.assert_allclose(g, z, rtol=1e-9)
    # κ(z) ~ z far out on the contour
    assert abs(k[1, -1] / z[1, -1] - 1) < 1e-2  # |z| ≈ 20 ≫ λ_max


# ----------------------------------------------------------------------------- robustness
def _grid(points):
    g = np.logspace(1, 5, points)
    t = np.logspace(-2, 7, points + 1)
    return np.meshgrid(g, g, t, indexing="ij")


def test_no_negative_or_nan_loss_on_a_coarse_grid():
    lam, pw = power_law(1000)
    N, P, T = _grid(4)
    L = dyn.loss(lam, pw, N, P, T)
    assert not np.any(np.isnan(L))
    assert np.all(L >= 0)
    assert np.all(L <= pw.sum() * (1 + 1e-9) + 1e3 * (N == P))


@pytest.mark.slow
def test_no_negative_or_nan_loss_on_the_full_grid():
    lam, pw = power_law(2000)
    N, P, T = _grid(9)
    L = dyn.loss(lam, pw, N, P, T)
    assert not np.any(np.isnan(L))
    assert np.all(L >= 0)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="no positive eigenvalue"):
        dyn.loss([0.0, -1e-20], [1.0, 1.0], 10, 10, 1.0)
    with pytest.raises(InputError, match="width"):
        dyn.loss(LAM, PW, 0, 10, 1.0)
    with pytest.raises(InputError, match="p must be positive"):
        dyn.loss(LAM, PW, 10, -5, 1.0)
    with pytest.raises(InputError, match="time"):
        dyn.loss(LAM, PW, 10, 10, -1.0)
    with pytest.raises(InputError, match="no feasible split"):
        dyn.compute_frontier(LAM, PW, [1e3], width_bounds=(100, 1000), time_bounds=(100, np.inf))
    with pytest.raises(InputError, match="positive"):
        dyn.compute_frontier(LAM, PW, [0.0])


def test_dropped_modes_keep_their_power_apart():
    spec = dyn.as_spectrum([1.0, 0.0, 0.5], [0.2, 0.3, 0.1])
    np.testing.assert_array_equal(spec.eigenvalues, [1.0, 0.5])
    assert spec.residual_power == pytest.approx(0.3)


# ----------------------------------------------------------------------------- scaling
def test_width_plateau_exponent_saturates_at_b():
    # P = ∞ plateau ∝ N^{-min(a-1, b)}, slope −1.50 at b = 1.5, a ∈ {3.5, 5}.
    for a, slope in [(2.0, -1.0), (3.5, -1.5), (5.0, -1.5)]:
        lam, pw = power_law(200_000, 1.5, a)
        N = np.array([100.0, 1000.0])
        L = dyn.width_limited_loss(lam, pw, N)
        assert np.log(L[1] / L[0]) / np.log(10) == pytest.approx(slope, abs=0.05)


def test_time_exponent_of_gradient_flow():
    lam, pw = power_law(200_000, 1.5, 2.0)
    L = dyn.loss(lam, pw, np.inf, np.inf, [1e3, 1e5])
    assert np.log(L[1] / L[0]) / np.log(100) == pytest.approx(-1 / 1.5, abs=0.03)


def test_predicted_frontier_exponents():
    e = dyn.predicted_frontier_exponents(1.5, 2.0)
    assert (e.width, e.time, e.loss) == pytest.approx((0.4, 0.6, -0.4))
    e = dyn.predicted_frontier_exponents(1.5, 5.0)  # a − 1 > b: m = b
    assert (e.width, e.time, e.loss) == pytest.approx((4 / 6.25, 2.25 / 6.25, -6 / 6.25))


def test_spectrum_fit_predicts_the_frontier_exponents():
    from kerncurve.spectral import Spectrum, spectrum_summary

    lam, pw = power_law(10_000)
    s = spectrum_summary(Spectrum(lam, np.sqrt(pw)[:, None], 0.0, lam.size))
    pred = dyn.predicted_frontier_exponents(s["eigenvalue_exponent_b"], s["target_exponent_a"])
    assert (pred.width, pred.time) == pytest.approx((0.4, 0.6), abs=0.01)


def _check_frontier(M, C):
    lam, pw = power_law(M)
    fr = dyn.compute_frontier(lam, pw, C)
    assert np.allclose(fr.width_opt * fr.time_opt, C)
    # each optimum beats its neighbours at the same compute
    for f in (0.8, 1.25):
        n = fr.width_opt * f
        assert np.all(dyn.loss(lam, pw, n, np.inf, C / n) >= fr.loss_opt * (1 - 1e-9))
    assert fr.fitted.width == pytest.approx(0.4, abs=0.02)
    assert fr.fitted.time == pytest.approx(0.6, abs=0.02)
    assert fr.fitted.loss == pytest.approx(-0.4, abs=0.02)
    return fr


def test_compute_frontier_exponents_small():
    _check_frontier(2000, np.logspace(2, 7, 6))


@pytest.mark.slow
def test_compute_frontier_exponents_large():
    fr = _check_frontier(10_000, np.logspace(2, 7, 11))
    # measured 0.403 / 0.597 / −0.397 (docs/theory/dynamics.md)
    assert fr.fitted.width == pytest.approx(0.403, abs=0.01)


# ----------------------------------------------------------------------------- simulation
def test_simulation_is_exact_without_randomness_and_reproducible():
    t = np.array([0.0, 1.0, 100.0, np.inf])
    sim = simulate_loss(LAM, PW, np.inf, np.inf, t, draws=5)
    np.testing.assert_allclose(sim.mean, dyn.loss(LAM, PW, np.inf, np.inf, t), rtol=1e-10, atol=1e-14)
    a = simulate_loss(LAM, PW, 30, 60, t, draws=3, seed=4)
    b = simulate_loss(LAM, PW, 30, 60, t, draws=3, seed=4)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert a.mean[0] == pytest.approx(PW.sum(), rel=1e-12)
    # full rank (N, P > M): gradient flow reaches the target exactly
    lam, pw = power_law(40)
    full = simulate_loss(lam, pw, 80, 90, [np.inf], draws=3)
    assert full.mean[0] < 1e-20


def _agree(M, draws, cases, times, seed, tol=0.04):
    lam, pw = power_law(M)
    for N, P in cases:
        sim = simulate_loss(lam, pw, N, P, times, draws=draws, seed=seed)
        th = dyn.loss(lam, pw, N, P, times)
        allowed = np.maximum(tol * th, 3 * sim.sem)
        assert np.all(np.abs(sim.mean - th) <= allowed), (N, P, th, sim.mean, sim.sem)


def test_theory_matches_gradient_flow_small():
    _agree(400, 16, [(np.inf, 80), (80, np.inf), (80, 160), (160, 80), (40, 400)],
           np.array([10.0, 1e3, 1e5]), seed=11)


@pytest.mark.slow
def test_theory_matches_gradient_flow_at_2000_modes():
    # M = 2000, 40 draws, b = 1.5, a = 2, within max(4 %, 3 SEM).
    _agree(2000, 40, [(np.inf, 200), (200, np.inf), (200, 400), (400, 200), (100, 1000)],
           np.array([10.0, 1e3, 1e5]), seed=0)
