"""Built-in kernels: formulas, PSD-ness, the arc-cosine recursion against wide random networks."""

import numpy as np
import pytest

from kerncurve.errors import InputError
from kerncurve.kernels import KERNELS, build_kernel, median_distance


def test_rbf_and_laplace_formulas():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    k, info = build_kernel("rbf", x, bandwidth=2.0)
    assert k[0, 1] == pytest.approx(np.exp(-25 / 8))
    k, _ = build_kernel("laplace", x, bandwidth=2.0)
    assert k[0, 1] == pytest.approx(np.exp(-5 / 2))
    k, info = build_kernel("rbf", x)
    assert info["bandwidth"] == pytest.approx(5.0) and info["bandwidth_rule"] == "median pairwise distance"


def test_median_distance():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    # distances 1, 3, 7, 2, 6, 4 -> median 3.5
    assert median_distance(x) == pytest.approx(3.5)


@pytest.mark.parametrize("name", KERNELS)
def test_kernels_are_psd(name):
    x = np.random.default_rng(0).standard_normal((60, 4))
    k, _ = build_kernel(name, x, bandwidth=1.5, degree=3, depth=2)
    assert np.allclose(k, k.T)
    assert np.linalg.eigvalsh(k).min() > -1e-10 * np.abs(k).max()


@pytest.mark.parametrize("depth", [1, 2])
def test_relu_nngp_and_ntk_match_wide_networks(depth):
    """Monte Carlo: a width-4000 ReLU network with He init vs the arc-cosine recursion."""
    rng = np.random.default_rng(depth)
    d, width = 3, 4000
    x = rng.standard_normal((5, d))
    nngp, _ = build_kernel("relu-nngp", x, depth=depth)
    ntk, _ = build_kernel("relu-ntk", x, depth=depth)
    # empirical NNGP: covariance of last hidden features; NTK from the parameter Jacobian
    draws_nngp, draws_ntk = [], []
    for _ in range(6):
        h = x.T  # (d, n)
        fan = d
        acts = []
        ws = []
        for _layer in range(depth):
            w = rng.standard_normal((width, fan)) / np.sqrt(fan)  # NTK parametrization
            ws.append(w)
            pre = w @ h
            acts.append((h, pre))
            h = np.sqrt(2.0) * np.maximum(pre, 0)  # √2 ReLU: He scaling
            fan = width
        v = rng.standard_normal(width) / np.sqrt(width)
        draws_nngp.append(h.T @ h / width)
        # NTK = Σ over layers of (∂f/∂W_ℓ)·(∂f/∂W_ℓ) + readout term
        ntk_emp = h.T @ h / width
        back = v[:, None] * np.ones((1, x.shape[0]))  # ∂f/∂h_L
        for layer in reversed(range(depth)):
            h_in, pre = acts[layer]
            g = back * np.sqrt(2.0) * (pre > 0)  # ∂f/∂pre
            scale = 1.0 / h_in.shape[0]
            ntk_emp += (g.T @ g) * (h_in.T @ h_in) * scale
            back = ws[layer].T @ g
        draws_ntk.append(ntk_emp)
    emp_nngp = np.mean(draws_nngp, 0)
    emp_ntk = np.mean(draws_ntk, 0)
    # nngp here is Σ^L with Σ⁰ = x·x'/d; the network's features give the same
    np.testing.assert_allclose(emp_nngp, nngp, rtol=0.05, atol=0.03 * np.abs(nngp).max())
    np.testing.assert_allclose(emp_ntk, ntk, rtol=0.05, atol=0.03 * np.abs(ntk).max())


def test_bad_kernel_parameters():
    x = np.zeros((3, 2))
    with pytest.raises(InputError, match="unknown"):
        build_kernel("gauss", x)
    with pytest.raises(InputError, match="bandwidth"):
        build_kernel("rbf", np.ones((3, 2)), bandwidth=-1.0)
    with pytest.raises(InputError, match="median pairwise distance is 0"):
        build_kernel("rbf", x)
    with pytest.raises(InputError, match="degree"):
        build_kernel("poly", x, degree=0)
