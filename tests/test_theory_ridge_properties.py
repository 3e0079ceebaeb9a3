"""Property tests of the ridge learning curve on random spectra (hypothesis): invariants that must always hold."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kerncurve.theory.ridge import learning_curve, modal_errors, solve_kappa

spectra = st.builds(
    lambda m, b, a, seed: (
        np.sort(np.random.default_rng(seed).uniform(0.5, 1.5, m) * np.arange(1, m + 1.0) ** -b)[::-1],
        np.random.default_rng(seed + 1).uniform(0, 1, m) * np.arange(1, m + 1.0) ** -a,
    ),
    st.integers(1, 300),
    st.floats(0.0, 4.0),
    st.floats(0.0, 4.0),
    st.integers(0, 10_000),
)


@settings(max_examples=60, deadline=None)
@given(spec=spectra, p=st.floats(0.5, 1e4), lam=st.floats(1e-8, 1e2), s2=st.floats(0, 1), vperp=st.floats(0, 1))
# a well-learned mode (1 − L ≈ 1e-8): modal errors once computed 1 − L by subtraction, 1e-9 off
@example(spec=(np.array([1.13696169]), np.array([0.51182162])), p=2.0, lam=1e-8, s2=0.0, vperp=0.0)
def test_ridge_invariants(spec, p, lam, s2, vperp):
    eta, v2 = spec
    c = learning_curve(eta, v2, vperp, p, lam, s2)
    kappa, gamma, eg = float(c.kappa), float(c.gamma), float(c.eg)
    # κ ≥ λ and the self-consistency holds; conservation Σ L_k + λ/k' = P
    assert kappa >= lam * (1 - 1e-12)
    kp = kappa / p
    assert abs(np.sum(eta / (eta + kp)) + lam / kp - p) <= 1e-9 * p
    # with a ridge γ ∈ [0, 1): the error is finite and at least the irreducible v_⊥²
    assert 0 <= gamma < 1
    assert np.isfinite(eg) and eg >= vperp * (1 - 1e-12)
    # without noise, never worse than predicting zero (total power), with a ridge
    if s2 == 0:
        assert eg <= (v2.sum() + vperp) / (1 - gamma) * (1 + 1e-9)
    # modal errors (decomposition a) add up to E_g with the unlearnable bin
    lk, modal, unl = modal_errors(eta, v2, vperp, c)
    assert abs(modal.sum() + unl - eg) <= 1e-9 * max(eg, 1e-300)


@settings(max_examples=40, deadline=None)
@given(spec=spectra, lam=st.floats(0, 10))
def test_kappa_decreases_with_p(spec, lam):
    eta, _ = spec
    p = np.geomspace(0.5, 2 * eta.size + 5, 30)
    if lam == 0:
        p = p[p < eta.size]
        if p.size < 2:
            return
    k = solve_kappa(eta, p, lam).kprime  # κ/P falls as P grows
    assert np.all(np.diff(k) <= 1e-12 * k[:-1])


@settings(max_examples=40, deadline=None)
@given(spec=spectra, p=st.floats(1, 500))
def test_noise_only_adds_error(spec, p):
    eta, v2 = spec
    lam = 1e-3
    clean = learning_curve(eta, v2, 0.0, p, lam, 0.0)
    noisy = learning_curve(eta, v2, 0.0, p, lam, 0.3)
    assert float(noisy.eg) >= float(clean.eg)
    added = 0.3 * float(clean.gamma) / (1 - float(clean.gamma))  # the variance term γσ²/(1 − γ)
    assert abs(float(noisy.eg) - float(clean.eg) - added) <= 1e-9 * max(1.0, float(noisy.eg))
