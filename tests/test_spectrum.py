"""The spectrum: the two routes agree; Parseval; validation of the Gram; the cache."""

import warnings

import h5py
import numpy as np
import pytest

from kerncurve.errors import InputError, InputWarning
from kerncurve.io import load_problem
from kerncurve.spectral import (
    compute_spectrum,
    power_law_fit,
    spectrum_from_features,
    spectrum_from_gram,
)
from kerncurve.io import write_spectrum

from conftest import gaussian_features, write_h5


def test_feature_and_gram_routes_agree():
    x, y = gaussian_features(300, 40, seed=5)
    y2 = np.stack([y, np.cos(y)], 1)  # two channels
    a = spectrum_from_features(x, y2)
    b = spectrum_from_gram(x @ x.T, y2)
    assert a.route == "features" and b.route == "gram"
    assert a.rank == b.rank == 40
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=1e-8)
    ca = np.cumsum(a.target_power) / a.total_power
    cb = np.cumsum(b.target_power) / b.total_power
    np.testing.assert_allclose(ca, cb, rtol=1e-8)
    np.testing.assert_allclose(a.residual_power, b.residual_power, atol=1e-10)


def test_parseval_and_residual_power():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 10))
    y = rng.standard_normal(50)  # not in the span of 10 features
    s = spectrum_from_features(x, y[:, None])
    assert s.target_power.sum() + s.residual_power == pytest.approx(np.mean(y**2), rel=1e-12)
    assert s.residual_power > 0.5 * np.mean(y**2)
    # the residual is exactly the power of y outside the column span of x
    proj = x @ np.linalg.lstsq(x, y, rcond=None)[0]
    assert s.residual_power == pytest.approx(np.mean((y - proj) ** 2), rel=1e-10)


def test_wide_features_use_the_gram():
    x, y = gaussian_features(30, 80, seed=1)
    s = spectrum_from_features(x, y[:, None])
    assert s.route == "gram" and s.rank == 30


def test_eigenfunction_normalization():
    x, y = gaussian_features(100, 8, seed=3)
    s = spectrum_from_gram(x @ x.T, y[:, None])
    # η are eigenvalues of K/n, not of K
    np.testing.assert_allclose(s.eigenvalues, np.sort(np.linalg.eigvalsh(x @ x.T / 100))[::-1][:8], rtol=1e-10)


def test_asymmetric_gram_refused_and_tiny_asymmetry_repaired():
    x, y = gaussian_features(40, 5)
    k = x @ x.T
    bad = k.copy()
    bad[0, 1] += 0.1 * np.abs(k).max()
    with pytest.raises(InputError, match="not symmetric"):
        spectrum_from_gram(bad, y[:, None])
    tiny = k.copy()
    tiny[0, 1] += 1e-11 * np.abs(k).max()
    with pytest.warns(InputWarning, match="asymmetric"):
        spectrum_from_gram(tiny, y[:, None])


@pytest.mark.parametrize("n,where", [(40, (3, 30)), (1100, (3, 900)), (1100, (900, 900))])
def test_nan_or_inf_in_a_gram_array_is_an_input_error(n, where):
    """Library callers bypass the HDF5 reader's finiteness check; the Gram scan catches it.

    (Python's max() drops a NaN that is not its first argument, so a NaN off the first tile
    used to reach LAPACK and come back as a LinAlgError.)
    """
    for bad in (np.nan, np.inf):
        k = np.eye(n)
        k[where] = k[where[::-1]] = bad
        with pytest.raises(InputError, match="NaN or inf"):
            spectrum_from_gram(k, np.ones((n, 1)))


def test_empty_gram_is_an_input_error():
    with pytest.raises(InputError):
        spectrum_from_gram(np.zeros((0, 0)), np.zeros((0, 1)))


def test_non_psd_refused_tiny_negative_repaired():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    ev = np.linspace(1, 0.1, 30)
    ev[-1] = -0.05
    with pytest.raises(InputError, match="positive semi-definite"):
        spectrum_from_gram((q * ev) @ q.T * 30, np.ones((30, 1)))
    ev[-1] = -1e-8
    with pytest.warns(InputWarning, match="slightly negative"):
        s = spectrum_from_gram((q * ev) @ q.T * 30, np.ones((30, 1)))
    assert s.rank == 29 and np.all(s.eigenvalues > 0)


def test_float32_gram_gets_looser_tolerance():
    x, y = gaussian_features(60, 60, seed=2)
    k32 = (x @ x.T).astype(np.float32).astype(np.float64)
    k32[0, 1] += 5e-6 * np.abs(k32).max()
    with pytest.raises(InputError):
        spectrum_from_gram(k32, y[:, None], source_dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        spectrum_from_gram(k32, y[:, None], source_dtype=np.float32)


def test_cache_round_trip(tmp_path):
    x, y = gaussian_features(100, 10)
    path = write_h5(tmp_path / "f.h5", features=x, targets=y)
    s = compute_spectrum(load_problem(path))
    write_spectrum(s, tmp_path / "cache.h5", input_sha256="abc")
    with h5py.File(tmp_path / "cache.h5") as f:
        assert f.attrs["format"] == "kerncurve-spectrum"
        assert f.attrs["format-version"] == 1
        assert f.attrs["input-sha256"] == "abc"
        assert "kerncurve-version" in f.attrs
    back = load_problem(tmp_path / "cache.h5")
    assert not back.has_samples
    np.testing.assert_array_equal(back.spectrum.eigenvalues, s.eigenvalues)
    np.testing.assert_array_equal(back.spectrum.coefficients, s.coefficients)
    assert back.n == 100


def test_power_law_fit_recovers_exponent():
    k = np.arange(1, 2001.0)
    assert power_law_fit(k**-1.7) == pytest.approx(1.7, abs=1e-9)
    assert np.isnan(power_law_fit(np.array([1.0, 0.5])))
