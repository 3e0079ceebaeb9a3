"""Our relu-nngp / relu-ntk convention, pinned: a depth-1 case computed by hand, and neural-tangents'
``stax`` layer rules (reimplemented here, since the library is not a dependency) giving the same
kernels with W_std = √2 on the hidden layers and W_std = 1 on the readout; √2 on the readout
too doubles both (docs/kernels.md)."""

import numpy as np
import pytest

from kerncurve.kernels import build_kernel

# x = (1, 0) and x' = (1, 1) in d_in = 2:  Σ⁰ = x·x'/d_in = [[1/2, 1/2], [1/2, 1]], and the angle
# between them is π/4.  Depth 1 by hand, with Σ¹ = (√(Σ⁰_xx Σ⁰_x'x')/π)(sin θ + (π − θ) cos θ)
# and Θ¹ = Σ¹ + Σ⁰ (π − θ)/π:
#   Σ¹_xx = (1/2)/π · π = 1/2,  Σ¹_x'x' = 1,  Σ¹_xx' = (1/√2)/π · (1/√2)(1 + 3π/4) = 1/(2π) + 3/8,
#   Θ¹_xx = 1/2 + 1/2 = 1,      Θ¹_x'x' = 2,  Θ¹_xx' = 1/(2π) + 3/8 + (1/2)(3/4) = 1/(2π) + 3/4.
X = np.array([[1.0, 0.0], [1.0, 1.0]])
NNGP = np.array([[0.5, 1 / (2 * np.pi) + 3 / 8], [1 / (2 * np.pi) + 3 / 8, 1.0]])
NTK = np.array([[1.0, 1 / (2 * np.pi) + 3 / 4], [1 / (2 * np.pi) + 3 / 4, 2.0]])


def test_depth_one_by_hand():
    np.testing.assert_allclose(build_kernel("relu-nngp", X, depth=1)[0], NNGP, rtol=1e-14)
    np.testing.assert_allclose(build_kernel("relu-ntk", X, depth=1)[0], NTK, rtol=1e-14)


def _stax(x, depth, hidden_w_std, readout_w_std):
    """neural-tangents' stax.serial([Dense(W_std=h), Relu()] * depth, Dense(W_std=r)) kernel rules
    (NTK parameterization, no biases): inputs nngp = x x'ᵀ/d_in, ntk = 0; Dense: nngp ← W_std²
    nngp, ntk ← nngp_new + W_std² ntk; Relu: nngp ← (√(k_xx k_x'x')/2π)(sin θ + (π − θ) cos θ),
    ntk ← ntk (π − θ)/2π."""
    nngp = x @ x.T / x.shape[1]
    ntk = np.zeros_like(nngp)

    def dense(nngp, ntk, w):
        nngp = w**2 * nngp
        return nngp, nngp + w**2 * ntk

    def relu(nngp, ntk):
        diag = np.diag(nngp)
        sin_d = np.sqrt(np.maximum(np.outer(diag, diag) - nngp**2, 0))  # d·sin θ; θ by atan2, as stax does
        theta = np.arctan2(sin_d, nngp)
        return (sin_d + (np.pi - theta) * nngp) / (2 * np.pi), ntk * (np.pi - theta) / (2 * np.pi)

    for _ in range(depth):
        nngp, ntk = relu(*dense(nngp, ntk, hidden_w_std))
    return dense(nngp, ntk, readout_w_std)


def test_the_stax_rules_reproduce_the_hand_computed_case():
    nngp, ntk = _stax(X, 1, np.sqrt(2), 1.0)
    np.testing.assert_allclose(nngp, NNGP, rtol=1e-14)
    np.testing.assert_allclose(ntk, NTK, rtol=1e-14)
    nngp2, ntk2 = _stax(X, 1, np.sqrt(2), np.sqrt(2))  # √2 on the readout too: the Gram doubles
    np.testing.assert_allclose(nngp2, 2 * NNGP, rtol=1e-14)
    np.testing.assert_allclose(ntk2, 2 * NTK, rtol=1e-14)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_stax_with_he_hidden_layers_and_a_unit_readout_is_our_kernel(depth):
    x = np.random.default_rng(depth).standard_normal((7, 3))
    nngp, ntk = _stax(x, depth, np.sqrt(2), 1.0)
    # 1e-12: both sides compute θ with atan2 (arccos would lose half the digits near θ = 0)
    np.testing.assert_allclose(build_kernel("relu-nngp", x, depth=depth)[0], nngp, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(build_kernel("relu-ntk", x, depth=depth)[0], ntk, rtol=1e-12, atol=1e-14)


def test_a_doubled_gram_with_a_doubled_ridge_is_the_same_predictor():
    x = np.random.default_rng(0).standard_normal((12, 3))
    k = build_kernel("relu-ntk", x, depth=2)[0]
    y = np.sin(x[:, 0])
    tr, te = np.arange(8), np.arange(8, 12)
    lam = 0.1

    def fit(k, lam):
        return k[np.ix_(te, tr)] @ np.linalg.solve(k[np.ix_(tr, tr)] + lam * np.eye(8), y[tr])

    np.testing.assert_allclose(fit(2 * k, 2 * lam), fit(k, lam), rtol=1e-10)
