"""Residual deep-linear DMFT (docs/theory/limits.md): limits, a hand computation, the depth
limit, and trained finite linear ResNets of the same parameterization."""

import numpy as np
import pytest

from kerncurve.simulate.dmft_resnet import train_resnets
from kerncurve.theory import dmft
from kerncurve.theory.dmft.depth_limit import correction_exponents, extrapolate_depth, fitted_exponent


def problem(P=4, D=8, seed=0):
    """Gaussian inputs, a linear teacher scaled to unit mean square."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P, D))
    y = x @ rng.standard_normal(D) / np.sqrt(D)
    return x, y / np.sqrt(np.mean(y**2))


def test_beta0_zero_is_the_one_hidden_layer_network():
    x, y = problem()
    kx = dmft.input_kernel(x)
    one = dmft.deep_linear(kx, y, 1.5, 2.0, 0.1, depth=1)
    for L in (1, 3):
        r = dmft.deep_linear_resnet(kx, y, 1.5, 2.0, 0.1, depth=L, beta0=0.0)
        np.testing.assert_allclose(r.loss, one.loss, rtol=0, atol=1e-13)
        np.testing.assert_allclose(r.kernel, one.kernel, rtol=0, atol=1e-12)
    # and continuously: the branches enter at order beta0^2
    small = dmft.deep_linear_resnet(kx, y, 1.5, 2.0, 0.1, depth=3, beta0=1e-3)
    assert 0 < np.max(np.abs(small.loss - one.loss)) / one.loss[0] < 1e-5


@pytest.mark.parametrize("L,alpha,beta0", [(1, 0.5, 0.8), (4, 0.5, 1.0), (6, 1.0, 1.3)])
def test_gamma0_zero_is_lazy_descent_with_the_closed_form_ntk(L, alpha, beta0):
    x, y = problem()
    kx = dmft.input_kernel(x)
    r = dmft.deep_linear_resnet(kx, y, 0.0, 2.0, 0.1, depth=L, alpha=alpha, beta0=beta0)
    K0 = dmft.resnet_initial_ntk(kx, L, alpha, beta0)
    np.testing.assert_allclose(r.kernel, np.broadcast_to(K0, r.kernel.shape), rtol=1e-12, atol=1e-12)
    ref = dmft.static_kernel_loss(K0, y, r.time, dt=0.1)
    np.testing.assert_allclose(r.loss, ref, rtol=1e-10, atol=1e-14)
    # small gamma0 approaches it continuously (feature learning enters at order gamma0)
    g = dmft.deep_linear_resnet(kx, y, 1e-3, 2.0, 0.1, depth=L, alpha=alpha, beta0=beta0)
    assert np.max(np.abs(g.loss - ref)) / ref[0] < 1e-3


def test_depth_one_hand_computation():
    # L = 1: Phi^1 = Kx, Phi^2 = (1 + b^2) Kx, G^2 = 1, G^1 = 1 + b^2 (b = beta0), so
    # K0 = (1 + b^2) Kx + (1 + b^2) Kx + b^2 Kx = (2 + 3 b^2) Kx; the first gradient step is
    # f(dt) = dt K0 y / P exactly (every second-order term averages to zero at N = inf).
    x, y = problem(P=5, D=7)
    kx = dmft.input_kernel(x)
    b, dt = 0.7, 0.05
    r = dmft.deep_linear_resnet(kx, y, 2.0, 2 * dt, dt, depth=1, beta0=b)
    np.testing.assert_allclose(r.kernel[0], (2 + 3 * b**2) * kx, rtol=1e-13)
    np.testing.assert_allclose(y - r.residual[1], dt * (2 + 3 * b**2) * kx @ y / 5, rtol=1e-12)
    # the kernel moves at the second step only through the learned features
    assert np.max(np.abs(r.kernel[1] - r.kernel[0])) > 1e-3


def test_gd_and_euler_differ_at_first_order_in_dt():
    x, y = problem()
    kx = dmft.input_kernel(x)
    gaps = []
    for dt in (0.1, 0.05):
        gd = dmft.deep_linear_resnet(kx, y, 1.0, 1.0, dt, depth=4)
        eu = dmft.deep_linear_resnet(kx, y, 1.0, 1.0, dt, depth=4, scheme="euler")
        gaps.append(np.max(np.abs(gd.loss - eu.loss)) / gd.loss[0])
    assert 1.6 < gaps[0] / gaps[1] < 2.4


def test_argument_checks():
    x, y = problem()
    kx = dmft.input_kernel(x)
    for kw, word in ((dict(alpha=0.4), "alpha"), (dict(alpha=1.1), "alpha"), (dict(beta0=-1.0), "beta0"),
                     (dict(depth=0), "depth")):
        args = dict(depth=2) | kw
        with pytest.raises(ValueError, match=word):
            dmft.deep_linear_resnet(kx, y, 1.0, 1.0, 0.1, **args)


# ------------------------------------------------------------------------ depth limit


def test_extrapolation_is_exact_on_its_model_and_exponents():
    assert correction_exponents(0.5) == (1.0, 2.0)
    assert correction_exponents(1.0) == (1.0, 2.0)
    assert correction_exponents(0.75) == (0.5, 1.0)
    L = np.array([8, 16, 32, 64])
    o = 0.3 + 0.7 / L - 2.0 / L**2
    lim, err = extrapolate_depth(L, o, 0.5)
    assert abs(lim - 0.3) < 1e-13 and err > 0
    lim2, err2 = extrapolate_depth(L[:2], o[:2], 0.5)
    assert abs(lim2 - 0.3) < 0.02 and err2 >= abs(lim2 - o[1]) - 1e-15
    assert abs(fitted_exponent(L, 0.3 + 0.7 / L**1.3) - 1.3) < 1e-8
    assert np.isnan(fitted_exponent(L, np.array([1.0, 2.0, 1.0, 2.0])))


def _depth_series(Ls):
    x, y = problem()
    kx = dmft.input_kernel(x)
    return np.array([dmft.deep_linear_resnet(kx, y, 1.0, 2.0, 0.2, depth=L).loss for L in Ls])


def test_depth_mup_curves_converge_like_one_over_depth_small():
    # alpha = 1/2: O(L) = O_inf + b/L + ... (docs/theory/limits.md); through L = 8, 16, 32
    # at t = 1 and t = 2 (measured 1.05 and 1.21; L = 4 is still preasymptotic: 1.33)
    loss = _depth_series([8, 16, 32])
    for k in (5, 10):
        assert abs(fitted_exponent([8, 16, 32], loss[:, k]) - 1.0) < 0.25
    assert np.all(np.diff(loss[:, -1]) < 0)  # deeper trains faster at fixed t, toward the limit


@pytest.mark.slow
def test_depth_mup_curves_converge_like_one_over_depth():
    # Measured on this problem (t = 2, dt = 0.2): exponent 1.12 through L = 16, 32, 64
    # (0.95 at t = 0.2, rising with t); the extrapolation error is at most 6 % of the
    # correction it removes at L = 64.
    Ls = [8, 16, 32, 64]
    loss = _depth_series(Ls)
    for k in range(1, loss.shape[1]):
        assert abs(fitted_exponent(Ls, loss[:, k]) - 1.0) < 0.25
    lim, err = extrapolate_depth(Ls, loss, 0.5)
    assert np.all(err[1:] < 0.1 * np.abs(loss[-1, 1:] - lim[1:]))
    assert np.all(np.diff(loss[:, -1]) < 0)


# --------------------------------------------------------------- trained networks


def _deviation(L, gamma0, width, seeds, alpha=0.5, time=3.0, dt=0.1):
    x, y = problem()
    kx = dmft.input_kernel(x)
    r = dmft.deep_linear_resnet(kx, y, gamma0, time, dt, depth=L, alpha=alpha)
    n = train_resnets(x, y, gamma0, time, dt, width, L, alpha=alpha, seeds=seeds, seed=1)
    return np.max(np.abs(n.loss_mean - r.loss)) / r.loss[0], np.max(n.loss_sem) / r.loss[0]


def test_matches_trained_linear_resnets_small():
    # fast version of the slow check below: N = 256, 8 seeds, L = 2
    dev, sem = _deviation(2, 1.0, 256, 8)
    assert dev < max(3 * sem, 1e-2), (dev, sem)


@pytest.mark.slow
@pytest.mark.parametrize("L,gamma0,alpha", [(4, 1.0, 0.5), (4, 2.0, 1.0), (16, 0.5, 0.5)])
def test_matches_trained_linear_resnets(L, gamma0, alpha):
    # seed mean of 8 networks, gradient descent with eta = dt: the gap is within 3 SEM and
    # below 1.5e-2 of L(0) at N = 1024 (measured values in docs/theory/limits.md)
    dev, sem = _deviation(L, gamma0, 1024, 8, alpha=alpha)
    assert dev < max(3 * sem, 2e-3) and dev < 1.5e-2, (dev, sem)
