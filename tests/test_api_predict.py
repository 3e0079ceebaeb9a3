"""The Python API of `spectrum` and `predict`: equal to the command line, validated at entry."""

import json
import os
import warnings

import numpy as np
import pytest

import kerncurve as kc
from kerncurve.errors import InputError, NumericalWarning

from conftest import SAMPLES, gaussian_features, read_csv, write_h5


@pytest.fixture
def data(tmp_path):
    x, y = gaussian_features(300, 20, seed=4)
    return x, y, write_h5(tmp_path / "f.h5", features=x, targets=y)


def _same_columns(api, csv, rtol=1e-12):
    assert list(api) == list(csv)
    for c in csv:
        np.testing.assert_allclose(api[c], csv[c], rtol=rtol, atol=0, err_msg=c)


@pytest.mark.filterwarnings("ignore:E_g is inf")
def test_predict_from_arrays_equals_the_cli(run, data):
    x, y, path = data
    r = kc.predict(kc.Spectrum.from_features(x, y), p=[5, 20, 60], ridge=[0.0, 1e-3], noise=[0.0, 0.1])
    cli = run("predict", path, "--p", "5,20,60", "--ridge", "0,1e-3", "--noise", "0,0.1", "-q")
    assert cli.exit_code == 0, cli.stderr
    _same_columns(r.to_dict(), read_csv(cli.stdout))
    assert r.eg.shape == (12,) and r.columns[:6] == ["p", "ridge", "noise", "kappa", "gamma", "eg"]


def test_predict_from_a_path_with_an_experiment_equals_the_cli(run, data):
    _, _, path = data
    r = kc.predict(path, p=[10, 30], ridge="opt", noise=0.05, empirical=True, trials=4, seed=3)
    cli = run("predict", path, "--p", "10,30", "--ridge", "opt", "--noise", "0.05", "--empirical", "--trials", "4",
              "--seed", "3", "--json", "-q")
    obj = json.loads(cli.stdout)
    csv = {c: np.array([row[c] for row in obj["rows"]], float) for c in obj["rows"][0]}
    _same_columns(r.to_dict(), csv)
    assert r.summary == obj["summary"]
    assert json.loads(r.to_json()) == obj


def test_spectrum_of_digits_equals_the_cli(run):
    spec = kc.spectrum(os.path.join(SAMPLES, "digits.h5"), kernel="rbf", top=7)
    cli = run("spectrum", os.path.join(SAMPLES, "digits.h5"), "--kernel", "rbf", "--top", "7", "--json", "-q")
    obj = json.loads(cli.stdout)
    _same_columns(spec.to_dict(), {c: np.array([row[c] for row in obj["rows"]], float) for c in obj["rows"][0]})
    assert json.loads(json.dumps(kc.Result("spectrum", list(spec.COLUMNS), spec.to_dict()).to_dict().keys()
                                 .__len__())) == 4
    assert {k: v for k, v in spec.summary.items() if k != "input"} == {
        k: v for k, v in obj["summary"].items() if k != "input"}


def test_from_gram_equals_from_features_and_the_cache_round_trips(data, tmp_path):
    x, y, _ = data
    a = kc.Spectrum.from_features(x, y)
    b = kc.Spectrum.from_gram(x @ x.T, y)
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues[: a.rank], rtol=1e-9)
    np.testing.assert_allclose(a.target_power, b.target_power[: a.rank], rtol=1e-7, atol=1e-14)
    a.save(tmp_path / "c.h5")
    c = kc.Spectrum.load(tmp_path / "c.h5")
    np.testing.assert_array_equal(c.eigenvalues, a.eigenvalues)
    r1 = kc.predict(a, p=[10, 50], ridge=1e-3)
    r2 = kc.predict(c, p=[10, 50], ridge=1e-3)
    np.testing.assert_array_equal(r1.eg, r2.eg)


def test_the_factorization_is_built_once(data):
    x, y, _ = data
    spec = kc.Spectrum.from_features(x, y)
    kc.predict(spec, p=10)
    ms = spec.mode_sums
    kc.predict(spec, p=[20, 40], ridge=0.1)
    assert spec.mode_sums is ms


def test_basis_gives_orthonormal_eigenfunctions(data):
    x, y, _ = data
    for spec in (kc.Spectrum.from_features(x, y, basis=True), kc.Spectrum.from_gram(x @ x.T, y, basis=True)):
        phi = spec.basis
        np.testing.assert_allclose(phi.T @ phi / spec.n, np.eye(spec.rank), atol=1e-8)
        np.testing.assert_allclose(phi.T @ y[:, None] / spec.n, spec.coefficients, atol=1e-9)


def test_modes_sum_to_eg(data):
    x, y, _ = data
    r = kc.predict(kc.Spectrum.from_features(x, y), p=[10, 40], ridge=1e-3, noise=0.1)
    t = r.modes()
    per_point = np.add.reduceat(t.data["modal_error"], np.arange(0, len(t), r.spectrum.rank))
    np.testing.assert_allclose(per_point + r.spectrum.residual_power, r.eg, rtol=1e-10)


def test_library_warns_where_the_theory_drifts(data):
    x, y, _ = data
    spec = kc.Spectrum.from_features(x, y)
    with pytest.warns(NumericalWarning, match="0.2 n"):
        kc.predict(spec, p=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kc.predict(spec, p=10)


def _x():
    return gaussian_features(50, 4, seed=1)


@pytest.mark.parametrize("call,param", [
    (lambda x, y: kc.Spectrum.from_features(x[None], y), "X"),
    (lambda x, y: kc.Spectrum.from_features(x, y[:-1]), "y"),
    (lambda x, y: kc.Spectrum.from_features(np.where(x > 1, np.nan, x), y), "X"),
    (lambda x, y: kc.Spectrum.from_features(x, y * np.inf), "y"),
    (lambda x, y: kc.Spectrum.from_features(np.empty((0, 3)), []), "X"),
    (lambda x, y: kc.Spectrum.from_features("abc", y), "X"),
    (lambda x, y: kc.Spectrum.from_gram(x @ x.T[:, :10], y), "K"),
    (lambda x, y: kc.Spectrum.from_features(x, y, top_eigen=0), "top_eigen"),
    (lambda x, y: kc.Spectrum.from_features(x, y, top_eigen=2.5), "top_eigen"),
    (lambda x, y: kc.Spectrum.from_features(x, y, seed=-1), "seed"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=-5), "p"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=0), "p"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=[10.5]), "p"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=[]), "p"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=1e30), "p"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, ridge=-1), "ridge"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, ridge="best"), "ridge"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, ridge=["opt", 1.0]), "ridge"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, noise=-0.1), "noise"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, noise=float("nan")), "noise"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, trials=0), "trials"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=10, empirical=True), "empirical"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=60, empirical=True, X=x, y=y), "p"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=5, empirical=True, X=x[:40], y=y[:40]), "X"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=5, empirical=True, gram=x, y=y), "gram"),
    (lambda x, y: kc.predict(x, p=5), "spectrum"),
    (lambda x, y: kc.predict(kc.Spectrum.from_features(x, y), p=5, kernel="rbf"), "kernel"),
    (lambda x, y: kc.predict(os.path.join(SAMPLES, "digits.h5"), p=5, kernel="gauss"), "kernel"),
    (lambda x, y: kc.spectrum(os.path.join(SAMPLES, "digits.h5"), kernel="rbf", bandwidth=-1), "bandwidth"),
    (lambda x, y: kc.spectrum(os.path.join(SAMPLES, "digits.h5"), top=0), "top"),
    (lambda x, y: kc.spectrum(12), "input"),
])
def test_bad_arguments_are_input_errors_naming_the_parameter(call, param):
    x, y = _x()
    with pytest.raises(ValueError) as exc:
        call(x, y)
    assert isinstance(exc.value, InputError)
    assert param in str(exc.value), str(exc.value)


def test_errors_name_the_flag_on_the_command_line(run, data):
    _, _, path = data
    r = run("predict", path, "--p", "5", "--top-eigen", "500")
    assert "--top-eigen 500" in r.stderr and "top_eigen" not in r.stderr
