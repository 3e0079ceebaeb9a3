"""--top-eigen, --memory, --engine, --scheduler through the CLI, and their bad inputs."""

import sys

import h5py
import numpy as np
import pytest

from conftest import gaussian_features, read_csv, write_h5, one_error


@pytest.fixture
def big_features(tmp_path):
    x, y = gaussian_features(2000, 40, seed=7)
    path = str(tmp_path / "big.h5")
    with h5py.File(path, "w") as f:
        f["features"] = x.astype(np.float32)
        f["targets"] = y
    return path


def test_streamed_spectrum_equals_in_memory_table(run, big_features):
    a = run("spectrum", big_features, "--memory", "64K")
    b = run("spectrum", big_features, "--memory", "512M")
    assert a.exit_code == 0 and b.exit_code == 0, a.stderr
    ta, tb = read_csv(a.stdout), read_csv(b.stdout)
    np.testing.assert_allclose(ta["eigenvalue"], tb["eigenvalue"], rtol=1e-12)
    np.testing.assert_allclose(ta["cumulative_power"], tb["cumulative_power"], rtol=1e-9)
    assert "memory budget" in a.stderr and "64K" in a.stderr


def test_spectrum_top_eigen_table_summary_and_cache(run, big_features, tmp_path):
    r = run("spectrum", big_features, "--top-eigen", "12", "--json", "--save", tmp_path / "s.h5")
    assert r.exit_code == 0, r.stderr
    import json

    out = json.loads(r.stdout)
    assert len(out["rows"]) == 12  # the computed modes only
    s = out["summary"]
    assert s["top_eigen"] == 12 and s["tail_modes"] == 28
    for key in ("tail_eigenvalue_exponent", "tail_target_exponent", "remaining_trace", "remaining_power"):
        assert np.isfinite(s[key])
    full = json.loads(run("spectrum", big_features, "--json").stdout)
    np.testing.assert_allclose([row["eigenvalue"] for row in out["rows"]],
                               [row["eigenvalue"] for row in full["rows"][:12]], rtol=1e-8)
    np.testing.assert_allclose(s["trace"], full["summary"]["trace"], rtol=1e-10)
    # the spectrum table's --top still only truncates rows
    r = run("spectrum", big_features, "--top", "3")
    assert len(read_csv(r.stdout)["k"]) == 3
    with h5py.File(tmp_path / "s.h5") as f:
        assert f["spectrum"].attrs["exact_modes"] == 12
        assert f["spectrum/eigenvalues"].shape == (40,)


def test_predict_top_eigen_close_to_full_and_warns_beyond_k_over_4(run, tmp_path):
    from test_speed import laplace_gram

    k, y = laplace_gram(800, seed=2)
    path = write_h5(tmp_path / "g.h5", gram=k, targets=y[:, 0])
    full = read_csv(run("predict", path, "--p", "2,5,10,20", "--ridge", "1e-3").stdout)
    r = run("predict", path, "--p", "2,5,10,20", "--ridge", "1e-3", "--top-eigen", "80")
    assert r.exit_code == 0, r.stderr
    top = read_csv(r.stdout)
    np.testing.assert_allclose(top["eg"], full["eg"], rtol=0.01)
    assert "K/4" not in r.stderr
    r = run("predict", path, "--p", "10,40", "--top-eigen", "80")
    assert r.exit_code == 0 and "exceeds K/4 = 20" in r.stderr


def test_predict_empirical_with_streamable_features(run, big_features):
    r = run("predict", big_features, "--p", "10,20", "--ridge", "0.01", "--empirical", "--trials", "3")
    assert r.exit_code == 0, r.stderr
    assert np.all(np.isfinite(read_csv(r.stdout)["eg_empirical"]))


def test_options_that_do_not_apply_warn(run, tmp_path):
    x, y = gaussian_features(60, 8)
    g = write_h5(tmp_path / "g.h5", gram=x @ x.T, targets=y)
    r = run("spectrum", g, "--memory", "1G")
    assert r.exit_code == 0 and "--memory ignored" in r.stderr


# ---------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("k", ["40", "41", "1000"])
def test_top_eigen_at_or_beyond_n(run, big_features, k):
    one_error(run("spectrum", big_features, "--top-eigen", k), "--top-eigen", "between 1 and 39")


def test_top_eigen_beyond_n_gram(run, gram_file):
    one_error(run("predict", gram_file, "--p", "5", "--top-eigen", "120"), "--top-eigen", "120")


def test_top_eigen_on_a_single_sample(run, tmp_path):
    path = write_h5(tmp_path / "one.h5", gram=np.ones((1, 1)), targets=np.ones(1))
    one_error(run("spectrum", path, "--top-eigen", "1"), "--top-eigen", "single mode")


@pytest.mark.parametrize("k", ["0", "-3"])
def test_top_eigen_below_one(run, big_features, k):
    one_error(run("spectrum", big_features, "--top-eigen", k), "--top-eigen")


def test_memory_too_small_for_one_block(run, big_features):
    line = one_error(run("predict", big_features, "--p", "10", "--memory", "4K"), "--memory", "too small")
    assert "at least" in line


@pytest.mark.parametrize("size", ["lots", "12Q", "0"])
def test_memory_not_a_size(run, big_features, size):
    one_error(run("spectrum", big_features, "--memory", size), "--memory")


def test_engine_dask_without_dask_names_the_extra(run, big_features, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    one_error(run("spectrum", big_features, "--engine", "dask"), "kerncurve[dask]")


def test_engine_dask_on_a_gram(run, gram_file):
    one_error(run("spectrum", gram_file, "--engine", "dask"), "--engine dask", "feature route")


def test_scheduler_without_dask_engine(run, big_features):
    one_error(run("spectrum", big_features, "--scheduler", "tcp://127.0.0.1:1"), "--engine dask")


def test_unreachable_scheduler_times_out(run, big_features):
    pytest.importorskip("distributed")
    import time

    t0 = time.perf_counter()
    r = run("spectrum", big_features, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1",
            "--scheduler-timeout", "1")
    assert time.perf_counter() - t0 < 30
    one_error(r, "--scheduler tcp://127.0.0.1:1", "1 s")


@pytest.mark.slow
def test_engine_dask_default_local_cluster(run, big_features):
    pytest.importorskip("distributed")
    a = run("spectrum", big_features, "--engine", "dask", "--memory", "200K")
    assert a.exit_code == 0, a.stderr
    b = run("spectrum", big_features)
    np.testing.assert_allclose(read_csv(a.stdout)["eigenvalue"], read_csv(b.stdout)["eigenvalue"], rtol=1e-10)
    assert "LocalCluster" in a.stderr
