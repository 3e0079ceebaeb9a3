"""The finite-size fit against synthetic grids with known coefficients and known noise."""

import numpy as np
import pytest

from kerncurve.theory.finite_size import (
    Z95,
    fit_surface,
    iterated_limits,
    power_law_exponents,
)


def _grid(coef, noise=0.0, seed=0, widths=(32, 64, 128, 256, 512), depths=(2, 4, 8, 16, 32)):
    N, L = np.meshgrid(np.array(widths, float), np.array(depths, float), indexing="ij")
    N, L = N.ravel(), L.ravel()
    o, a, b, c, d = coef
    y = o + a / N + b / L + c / (N * L) + d * L / N
    sem = np.full(y.size, noise if noise else 1e-9)
    y = y + np.random.default_rng(seed).standard_normal(y.size) * noise
    return N, L, y, sem


def test_exact_coefficients_are_recovered():
    N, L, y, s = _grid((0.3, 2.0, 0.5, -1.0, 0.0))
    fit = fit_surface(N, L, y, s)
    np.testing.assert_allclose(fit.coef, [0.3, 2.0, 0.5, -1.0], atol=1e-8)
    coupled = fit_surface(N, L, *_grid((0.3, 2.0, 0.5, -1.0, 0.01))[2:], coupled=True)
    np.testing.assert_allclose(coupled.coef, [0.3, 2.0, 0.5, -1.0, 0.01], atol=1e-8)


def test_standard_errors_and_chi2_are_calibrated():
    # 400 noisy grids: the o_inf estimates scatter by their SE, χ²/dof ≈ 1, 95 % intervals cover ≈ 95 %
    est, se, chi, cover = [], [], [], 0
    for k in range(400):
        N, L, y, s = _grid((0.3, 2.0, 0.5, -1.0, 0.0), noise=1e-3, seed=k)
        fit = fit_surface(N, L, y, s)
        est.append(fit.coef[0])
        se.append(fit.se[0])
        chi.append(fit.chi2_dof)
        o, lo, hi = fit.interval([1, 0, 0, 0])
        cover += lo <= 0.3 <= hi
    assert np.std(est) == pytest.approx(np.mean(se), rel=0.1)
    assert np.mean(chi) == pytest.approx(1.0, abs=0.05)
    assert 0.92 <= cover / 400 <= 0.98
    N, L, y, s = _grid((0.3, 2.0, 0.5, -1.0, 0.0), noise=1e-3)
    fit = fit_surface(N, L, y, s, coupled=True)
    assert abs(fit.value("d") / fit.se[4]) < 3  # no coupling: d consistent with 0


def test_a_coupling_is_detected_and_separates_the_orders():
    N, L, y, s = _grid((0.3, 2.0, 0.5, -1.0, 0.05), noise=1e-3)
    add = fit_surface(N, L, y, s)
    cpl = fit_surface(N, L, y, s, coupled=True)
    assert add.chi2_dof > 10 and cpl.chi2_dof < 2
    assert cpl.value("d") / cpl.se[4] > 10
    est, lo, hi = cpl.interval([1, 0, 0, 0, 1 / 4.0])  # diagonal N = 4L → O∞ + d/4
    assert lo <= 0.3 + 0.05 / 4 <= hi
    # on a finite grid the fixed-N bias d·L/N is itself ∝ 1/N and extrapolates away: the
    # iterated orders still meet; the coupling shows in d, in χ² and along the diagonals
    w = iterated_limits(N, L, y, s)["width_first"]
    assert w[1] <= 0.3 <= w[2]


def test_iterated_limits_agree_without_coupling():
    N, L, y, s = _grid((0.3, 2.0, 0.5, -1.0, 0.0), noise=1e-3, seed=3)
    lim = iterated_limits(N, L, y, s)
    for est, lo, hi in lim.values():
        assert lo <= 0.3 <= hi and hi - lo < 20 * Z95 * 1e-3


def test_power_law_exponents():
    N, L = np.meshgrid([32.0, 64, 128, 256, 512], [2.0, 4, 8, 16, 32], indexing="ij")
    N, L = N.ravel(), L.ravel()
    y = 0.1 + 3.0 * N**-1.0 + 0.4 * L**-0.5
    out = power_law_exponents(N, L, y, np.full(y.size, 1e-6))
    assert out["exponent_width"] == pytest.approx(1.0, abs=0.06)
    assert out["exponent_depth"] == pytest.approx(0.5, abs=0.06)
    lo, hi = out["exponent_width_range"]
    assert lo <= out["exponent_width"] <= hi


def test_too_few_points():
    with pytest.raises(ValueError):
        fit_surface([32, 64, 128], [2, 4, 8], [1, 2, 3], [1, 1, 1])
