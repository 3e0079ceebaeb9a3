"""DMFT (docs/theory/dmft.md): limits, solver agreement, and trained muP networks."""

import numpy as np
import pytest

from kerncurve.errors import NumericalError
from kerncurve.simulate.dmft import train_networks
from kerncurve.theory import dmft
from kerncurve.theory.dmft import iterate


def problem(P=8, D=16, Q=0, seed=0, linear=False):
    """Gaussian inputs, a single-index target scaled to unit mean square."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P + Q, D))
    beta = rng.standard_normal(D)
    proj = x @ beta / np.sqrt(D)
    t = proj if linear else np.tanh(2 * proj)
    scale = np.sqrt(np.mean(t[:P] ** 2))
    return x[:P], t[:P] / scale, x[P:], t[P:] / scale


# ----------------------------------------------------------------------------- pieces


def test_sobol_gaussians_moments_and_seed():
    z = dmft.sobol_gaussians(2**12, 5, seed=3)
    assert np.all(np.isfinite(z))
    assert np.max(np.abs(z.mean(0))) < 2e-3  # plain MC would give ~1.6e-2
    assert np.max(np.abs(np.cov(z.T) - np.eye(5))) < 2e-2
    np.testing.assert_array_equal(z, dmft.sobol_gaussians(2**12, 5, seed=3))
    assert not np.array_equal(z, dmft.sobol_gaussians(2**12, 5, seed=4))


def test_initial_ntk_closed_forms():
    x, *_ = problem(P=5, D=7)
    kx = dmft.input_kernel(x)
    # linear: Phi = Kx, G = 1 -> K0 = 2 Kx
    np.testing.assert_allclose(dmft.initial_ntk(kx, "linear"), 2 * kx, rtol=1e-12, atol=1e-12)
    # relu arc-cosine closed form (Cho & Saul): E[relu relu] and E[step step]
    n = np.sqrt(np.diag(kx))
    cos = np.clip(kx / np.outer(n, n), -1, 1)
    th = np.arccos(cos)
    Phi = np.outer(n, n) * (np.sin(th) + (np.pi - th) * cos) / (2 * np.pi)
    G = (np.pi - th) / (2 * np.pi)
    np.testing.assert_allclose(dmft.initial_ntk(kx, "relu"), Phi + G * kx, rtol=1e-12)
    # tanh by quadrature against an independent Sobol estimate with 2^16 samples
    z = dmft.sobol_gaussians(2**16, 5, seed=9) @ np.linalg.cholesky(kx).T
    t = np.tanh(z)
    sampled = (t.T @ t + ((1 - t**2).T @ (1 - t**2)) * kx) / len(z)
    k0 = dmft.initial_ntk(kx, "tanh")
    assert np.max(np.abs(k0 - sampled)) / np.max(k0) < 1e-3


def test_sampled_kernel_matches_quadrature():
    x, y, *_ = problem()
    kx = dmft.input_kernel(x)
    r = dmft.two_layer(kx, y, 0.0, 0.05, 0.05, "tanh", samples=2**14)
    k0 = dmft.initial_ntk(kx, "tanh")
    err = np.max(np.abs(r.kernel[0] - k0)) / np.max(np.abs(k0))
    # 4e-4 was measured at 2^17 samples; Sobol error shrinks roughly like 1/n
    assert err < 3e-3


# ---------------------------------------------------------------------- lazy limit


def test_gamma0_zero_is_static_kernel_descent():
    x, y, *_ = problem()
    kx = dmft.input_kernel(x)
    r = dmft.two_layer(kx, y, 0.0, 10.0, 0.05, "tanh", samples=2**14)
    assert np.allclose(r.kernel, r.kernel[0])
    k0 = dmft.initial_ntk(kx, "tanh")
    ref = dmft.static_kernel_loss(k0, y, r.time, dt=0.05)
    assert np.max(np.abs(r.loss - ref)) / r.loss[0] < 1e-3
    # the exact static kernel with the sampled kernel: same to round-off
    same = dmft.static_kernel_loss(r.kernel[0], y, r.time, dt=0.05)
    assert np.max(np.abs(r.loss - same)) / r.loss[0] < 1e-12


def test_gamma0_zero_small_dt_is_gradient_flow():
    x, y, *_ = problem()
    kx = dmft.input_kernel(x)
    r = dmft.two_layer(kx, y, 0.0, 5.0, 0.005, "tanh", samples=2**13)
    ref = dmft.static_kernel_loss(dmft.initial_ntk(kx, "tanh"), y, r.time)
    assert np.max(np.abs(r.loss - ref)) / r.loss[0] < 1e-3


def test_test_points_follow_kernel_regression_in_lazy_limit():
    # static kernel: f_test(t) = K_tP K_PP^-1 f_train(t) exactly, for any step size
    x, y, xt, yt = problem(P=6, D=10, Q=3)
    kx = dmft.input_kernel(np.vstack([x, xt]))
    r = dmft.two_layer(kx, y, 0.0, 3.0, 0.05, "relu", samples=2**12, n_test=3, y_test=yt)
    K = r.kernel[0]
    f_train = y - r.residual
    pred = f_train @ np.linalg.solve(K[:6, :6], K[:6, 6:])
    np.testing.assert_allclose(r.test_prediction, pred, atol=1e-10)
    np.testing.assert_allclose(r.test_loss, 0.5 * np.mean((yt - pred) ** 2, axis=1), atol=1e-10)


# ------------------------------------------------------------------ feature learning


def test_richness_speeds_training_and_aligns_kernel():
    x, y, *_ = problem()
    kx = dmft.input_kernel(x)
    res = [dmft.two_layer(kx, y, g, 5.0, 0.1, "tanh", samples=2**12) for g in (0, 0.5, 1, 2)]
    final = [r.loss[-1] for r in res]
    assert all(a > b for a, b in zip(final, final[1:]))
    # the kernel turns toward y y^T: the peak alignment grows with gamma0 (at gamma0 = 2 it
    # later relaxes a little once the loss is small)
    assert np.all(res[0].alignment == res[0].alignment[0])
    align = [r.alignment.max() for r in res]
    assert all(a < b for a, b in zip(align, align[1:]))
    for r in res:
        np.testing.assert_allclose(r.kernel, np.swapaxes(r.kernel, -1, -2), atol=1e-12)
        assert np.all(np.linalg.eigvalsh(r.kernel) > -1e-10)


def test_gd_and_euler_schemes_differ_at_first_order_in_dt():
    x, y, *_ = problem()
    kx = dmft.input_kernel(x)
    gaps = []
    for dt in (0.1, 0.05):
        a = dmft.two_layer(kx, y, 2.0, 4.0, dt, "tanh", samples=2**11, scheme="gd")
        b = dmft.two_layer(kx, y, 2.0, 4.0, dt, "tanh", samples=2**11, scheme="euler")
        gaps.append(np.max(np.abs(a.loss - b.loss)) / a.loss[0])
    assert 0 < gaps[1] < gaps[0]
    assert 1.6 < gaps[0] / gaps[1] < 2.5


# ----------------------------------------------------------------------- deep linear


def test_two_layer_sampler_agrees_with_deep_linear_at_depth_one():
    x, y, xt, yt = problem(P=4, D=6, Q=2, linear=True)
    kx = dmft.input_kernel(np.vstack([x, xt]))
    for g, scheme in ((0.5, "euler"), (2.0, "euler"), (0.5, "gd"), (2.0, "gd")):
        a = dmft.two_layer(kx, y, g, 2.0, 0.05, "linear", samples=2**15, n_test=2,
                           y_test=yt, scheme=scheme)
        b = dmft.deep_linear(kx, y, g, 2.0, 0.05, depth=1, n_test=2, y_test=yt, scheme=scheme)
        assert np.max(np.abs(a.loss - b.loss)) / a.loss[0] < 1e-4
        assert np.max(np.abs(a.test_loss - b.test_loss)) / a.loss[0] < 1e-4
        assert np.max(np.abs(a.kernel - b.kernel)) / np.max(np.abs(b.kernel)) < 1e-3


def test_deep_linear_forward_pass_equals_damped_iteration():
    x, y, xt, yt = problem(P=3, D=5, Q=1, linear=True)
    kx = dmft.input_kernel(np.vstack([x, xt]))
    for depth, g in ((2, 2.0), (3, 1.0)):
        a = dmft.deep_linear(kx, y, g, 1.0, 0.05, depth=depth, n_test=1, y_test=yt, scheme="euler")
        b = dmft.deep_linear(kx, y, g, 1.0, 0.05, depth=depth, n_test=1, y_test=yt, method="iterate",
                             window=7)
        assert a.iterations == 0 and b.iterations > 0
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9)
        np.testing.assert_allclose(a.test_loss, b.test_loss, rtol=1e-9)
        np.testing.assert_allclose(a.kernel, b.kernel, atol=1e-8 * np.max(np.abs(a.kernel)))


def test_deep_linear_lazy_limit_is_static_kernel():
    x, y, *_ = problem(P=3, D=5, linear=True)
    kx = dmft.input_kernel(x)
    for method in ("forward", "iterate"):
        r = dmft.deep_linear(kx, y, 0.0, 1.0, 0.05, depth=3, method=method)
        np.testing.assert_allclose(r.kernel, np.broadcast_to(4 * kx, r.kernel.shape), atol=1e-12)
    np.testing.assert_allclose(r.kernel, np.broadcast_to(4 * kx, r.kernel.shape), atol=1e-12)
    ref = dmft.static_kernel_loss(4 * kx, y, r.time, dt=0.05)
    np.testing.assert_allclose(r.loss, ref, rtol=1e-12)


def test_deep_linear_converges_and_reports_failure():
    x, y, *_ = problem(P=3, D=5, linear=True)
    kx = dmft.input_kernel(x)
    r = dmft.deep_linear(kx, y, 1.0, 1.0, 0.05, depth=2, window=5, method="iterate")
    assert r.loss[-1] < r.loss[0] and r.iterations > 0
    with pytest.raises(NumericalError) as info:
        dmft.deep_linear(kx, y, 1.0, 1.0, 0.05, depth=2, window=5, max_iter=3, method="iterate")
    assert "did not converge" in str(info.value)
    # a first horizon that fails has no partial result; a later one keeps the earlier
    assert info.value.partial is None


def test_deep_linear_partial_result_on_later_failure(monkeypatch):
    x, y, *_ = problem(P=3, D=5, linear=True)
    kx = dmft.input_kernel(x)
    calls = {"n": 0}
    orig = iterate._deep_step

    def flaky(state, *args):
        calls["n"] += 1
        new, K, f = orig(state, *args)
        if state.residual.shape[0] > 6:  # break the second horizon
            new.residual[:] = np.nan
        return new, K, f

    monkeypatch.setattr(iterate, "_deep_step", flaky)
    with pytest.raises(NumericalError) as info:
        dmft.deep_linear(kx, y, 1.0, 1.0, 0.05, depth=2, window=5, method="iterate")
    part = info.value.partial
    assert isinstance(part, dmft.DMFTResult) and part.time[-1] == pytest.approx(0.25)


def test_divergent_step_is_an_error_with_partial_curve():
    x, y, *_ = problem(P=3, D=5, linear=True)
    kx = dmft.input_kernel(x)
    with np.errstate(all="ignore"):
        with pytest.raises(NumericalError, match="overflowed") as info:
            dmft.deep_linear(kx, y, 1.0, 400.0, 4.0, depth=2)
        part = info.value.partial
        assert part is not None and np.all(np.isfinite(part.loss)) and part.loss[-1] > part.loss[0]
        with pytest.raises(NumericalError, match="overflowed"):
            dmft.two_layer(kx, y, 1.0, 400.0, 4.0, "linear", samples=256)


# ------------------------------------------------------------------ networks (simulator)


def test_network_lazy_limit_is_small_gamma0_limit():
    x, y, *_ = problem(P=6, D=8)
    lazy = train_networks(x, y, 0.0, 3.0, 0.05, 300, seeds=2, seed=4)
    small = train_networks(x, y, 1e-3, 3.0, 0.05, 300, seeds=2, seed=4)
    assert np.max(np.abs(lazy.loss - small.loss)) / lazy.loss[0, 0] < 1e-3
    assert np.max(np.abs(lazy.kernel[:, 0] - small.kernel[:, 0])) < 1e-12


def test_network_seeds_are_reproducible_and_distinct():
    x, y, *_ = problem(P=4, D=6)
    a = train_networks(x, y, 1.0, 0.5, 0.05, 50, seeds=2, seed=1)
    b = train_networks(x, y, 1.0, 0.5, 0.05, 50, seeds=2, seed=1)
    np.testing.assert_array_equal(a.loss, b.loss)
    assert not np.allclose(a.loss[0], a.loss[1]) or not np.allclose(a.kernel[0], a.kernel[1])
    assert a.loss_sem.shape == a.time.shape


def test_two_layer_dmft_matches_small_networks():
    # fast version of the slow check below: P = 6, N = 2000, 4 seeds, t = 3. Measured: loss
    # 2e-3 of L(0), final kernel 1.4e-2 / 0.9e-2 (Frobenius, relative), alignment 4e-3.
    x, y, *_ = problem(P=6, D=10)
    kx = dmft.input_kernel(x)
    for g in (0.0, 1.0):
        r = dmft.two_layer(kx, y, g, 3.0, 0.05, "tanh", samples=2**13)
        net = train_networks(x, y, g, 3.0, 0.05, 2000, seeds=4, seed=2)
        assert np.max(np.abs(net.loss_mean - r.loss)) / r.loss[0] < 1e-2
        k_net = net.kernel[:, -1].mean(0)
        assert np.linalg.norm(k_net - r.kernel[-1]) / np.linalg.norm(r.kernel[-1]) < 3e-2
        assert np.max(np.abs(net.alignment.mean(0) - r.alignment)) < 1e-2


@pytest.mark.slow
def test_two_layer_tanh_matches_networks_and_gap_shrinks_with_width():
    """Must reach: P = 8, dt = 0.05, gamma0 in {0, .5, 1, 2}: max_t |dL|/L(0) < 1.5e-2 at
    N = 2000 (3 seeds), shrinking from N = 500. Measured earlier: 1.2e-2 / 7.7e-3 (N = 500 /
    2000). The shrinkage is asserted on the worst gamma0 and on the root mean square over
    gamma0: with 3 seeds a single gamma0 is within seed noise of its neighbour widths."""
    x, y, *_ = problem()
    kx = dmft.input_kernel(x)
    gaps = {500: [], 2000: []}
    for g in (0.0, 0.5, 1.0, 2.0):
        r = dmft.two_layer(kx, y, g, 10.0, 0.05, "tanh", samples=2**14)
        for N in gaps:
            net = train_networks(x, y, g, 10.0, 0.05, N, seeds=3, seed=1)
            gaps[N].append(np.max(np.abs(net.loss_mean - r.loss)) / r.loss[0])
    small, large = np.array(gaps[500]), np.array(gaps[2000])
    assert np.all(large < 1.5e-2), large
    assert large.max() < small.max()
    assert np.sqrt(np.mean(large**2)) < np.sqrt(np.mean(small**2))


@pytest.mark.slow
@pytest.mark.parametrize("depth, gamma0", [(2, 1.5), (3, 2.0)])
def test_deep_linear_matches_trained_deep_linear_networks(depth, gamma0):
    # Depth 2 has matched trained networks up to gamma0 = 2 (gap 3.3e-3 at N = 8000), and
    # the damped iteration diverged at depth 3, gamma0 = 2; the forward pass has no such
    # trouble. Here N = 2000, 4 seeds: measured 4-5e-3 (N = 500: 1.8-2.4e-2). Without the
    # response terms A, B the gap would be ~6e-2.
    x, y, *_ = problem(P=4, D=8, linear=True)
    kx = dmft.input_kernel(x)
    r = dmft.deep_linear(kx, y, gamma0, 3.0, 0.05, depth=depth)
    net = train_networks(x, y, gamma0, 3.0, 0.05, 2000, depth=depth, activation="linear", seeds=4,
                         seed=2)
    assert np.max(np.abs(net.loss_mean - r.loss)) / r.loss[0] < 1e-2
