"""CLI tests of `kerncurve dynamics` on tiny HDF5 files."""

import json

import numpy as np
import pytest

from conftest import read_csv, write_h5, one_error
from kerncurve.io import load_problem
from kerncurve.spectral import compute_spectrum
from kerncurve.theory import dynamics as dyn


def _spectrum(path):
    spec = compute_spectrum(load_problem(path))
    return spec.eigenvalues, spec.target_power


def test_grid_table_matches_the_theory(run, features_file):
    r = run("dynamics", features_file, "--width", "10,inf", "--p", "20,inf", "--time", "1,100,inf")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "width,p,time,loss"
    t = read_csv(r.stdout)
    assert len(t["loss"]) == 2 * 2 * 3
    # one row per combination, in the order given: width outer, then p, then time
    assert list(t["width"][:6]) == [10.0] * 6 and np.isinf(t["width"][6:]).all()
    assert list(t["time"][:3]) == [1.0, 100.0, np.inf]
    lam, v2 = _spectrum(features_file)
    expect = dyn.loss(lam, v2, t["width"], t["p"], t["time"])
    np.testing.assert_array_equal(t["loss"], expect)
    assert t["loss"][-1] == 0.0  # N = P = t = ∞


def test_infinite_width_and_time_is_predicts_ridgeless_curve(run, features_file):
    a = run("dynamics", features_file, "--width", "inf", "--p", "5,12,20", "--time", "inf")
    b = run("predict", features_file, "--p", "5,12,20")
    assert a.exit_code == 0 and b.exit_code == 0, (a.stderr, b.stderr)
    np.testing.assert_allclose(read_csv(a.stdout)["loss"], read_csv(b.stdout)["eg"], rtol=1e-6)


def test_interpolation_peak_is_inf_with_a_warning(run, features_file):
    r = run("dynamics", features_file, "--width", "10", "--p", "10", "--time", "1e3,inf")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert np.isfinite(t["loss"][0]) and np.isinf(t["loss"][1])
    assert "interpolation peak" in r.stderr


def test_json_output(run, features_file):
    r = run("dynamics", features_file, "--width", "10", "--p", "inf", "--time", "1:100:3", "--json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "dynamics"
    assert [row["time"] for row in obj["rows"]] == [1.0, 10.0, 100.0]
    assert set(obj["rows"][0]) == {"width", "p", "time", "loss"}
    assert obj["summary"]["modes"] == 30
    assert "eigenvalue_exponent_b" in obj["summary"]


def test_compute_frontier(run, tmp_path):
    k = np.arange(1, 2001, dtype=float)
    path = write_h5(tmp_path / "spec.h5", spectrum__eigenvalues=k**-1.5, spectrum__coefficients=k**-1.0)
    import h5py

    with h5py.File(path, "a") as f:
        f.attrs["format"] = "kerncurve-spectrum"
        f.attrs["format-version"] = 1
    r = run("dynamics", path, "--compute", "1e2:1e6:5", "--json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    rows = obj["rows"]
    assert list(rows[0])[:4] == ["compute", "width_opt", "time_opt", "loss_opt"]
    for row in rows:
        assert row["width_opt"] * row["time_opt"] == pytest.approx(row["compute"], rel=1e-12)
    s = obj["summary"]
    assert s["width_exponent"] == pytest.approx(0.4, abs=0.03)
    assert s["time_exponent"] == pytest.approx(0.6, abs=0.03)
    assert s["predicted_width_exponent"] == pytest.approx(0.4, abs=0.01)


def test_empirical_columns_and_plot(run, features_file, tmp_path):
    png = tmp_path / "curve.png"
    r = run("dynamics", features_file, "--width", "10", "--p", "40", "--time", "1,100",
            "--empirical", "--draws", "6", "--plot", png)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "width,p,time,loss,loss_empirical,loss_empirical_sem"
    t = read_csv(r.stdout)
    assert np.all(t["loss_empirical_sem"] > 0)
    assert np.all(np.abs(t["loss_empirical"] - t["loss"]) < 5 * t["loss_empirical_sem"] + 0.1 * t["loss"])
    assert png.stat().st_size > 1000
    again = run("dynamics", features_file, "--width", "10", "--p", "40", "--time", "1,100",
                "--empirical", "--draws", "6")
    assert again.stdout == r.stdout  # same seed, same bytes


def test_frontier_plot(run, features_file, tmp_path):
    png = tmp_path / "frontier.svg"
    r = run("dynamics", features_file, "--compute", "10,100,1000", "--plot", png, "-q")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("args,what", [
    (["--width", "0", "--time", "1"], "--width"),
    (["--width", "-5", "--time", "1"], "--width"),
    (["--width", "10", "--p", "0", "--time", "1"], "--p"),
    (["--width", "10", "--p", "-3", "--time", "1"], "--p"),
    (["--width", "10", "--time", "0"], "--time"),
    (["--width", "10", "--time", "-1,5"], "--time"),
    (["--compute", "10", "--width", "100,1000", "--time", "1,10"], "no feasible split"),
    (["--compute", "0"], "--compute"),
    (["--width", "10"], "--time"),
    (["--width", "10.5", "--time", "1", "--empirical"], "whole numbers"),
])
def test_bad_input(run, features_file, args, what):
    line = one_error(run("dynamics", features_file, *args))
    assert what in line


def test_spectrum_without_positive_eigenvalue(run, tmp_path):
    path = write_h5(tmp_path / "zeros.h5", features=np.zeros((20, 4)), targets=np.ones(20))
    line = one_error(run("dynamics", path, "--width", "10", "--time", "1"))
    assert "eigenvalue" in line
