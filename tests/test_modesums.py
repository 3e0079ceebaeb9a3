"""ModeSums: the blocked series evaluation equals the direct sum to round-off."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerncurve.theory.modesums import FUNCTIONS, ModeSums


def direct(eta, w, fname, k):
    return FUNCTIONS[fname][0](eta[None, :] / k[:, None]) @ w


@pytest.mark.parametrize("m", [100, 5000, 60000])
def test_matches_direct_sum(m):
    rng = np.random.default_rng(m)
    eta = np.sort(rng.pareto(1.0, m) + 1e-3)[::-1] ** 2
    w = rng.uniform(0, 1, m)
    ms = ModeSums(eta, {"one": 1.0, "w": w})
    k = np.geomspace(eta[-1] * 1e-3, eta[0] * 1e3, 57)
    for fname in FUNCTIONS:
        for wname, wv in (("one", np.ones(m)), ("w", w)):
            (fast,) = ms(k, [(fname, wname)])
            ref = direct(eta, wv, fname, k)
            np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=0)


@settings(max_examples=25, deadline=None)
@given(b=st.floats(1.05, 4.0), m=st.integers(4097, 20000), logk=st.floats(-30, 3))
def test_power_law_property(b, m, logk):
    eta = np.arange(1, m + 1, dtype=float) ** -b
    ms = ModeSums(eta, {"one": 1.0})
    k = np.array([np.exp(logk)])
    for fname in FUNCTIONS:
        (fast,) = ms(k, [(fname, "one")])
        ref = direct(eta, np.ones(m), fname, k)
        assert abs(fast[0] - ref[0]) <= 1e-12 * abs(ref[0]) + 1e-300


def test_rejects_bad_eigenvalues():
    with pytest.raises(ValueError):
        ModeSums(np.array([1.0, 2.0]), {"one": 1.0})
    with pytest.raises(ValueError):
        ModeSums(np.array([1.0, 0.0]), {"one": 1.0})
