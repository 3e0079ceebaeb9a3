"""CLI tests of `kerncurve shift` and `kerncurve shift-optimize` on tiny HDF5 files."""

import json

import h5py
import numpy as np
import pytest

from conftest import read_csv, one_error


def _write(path, **datasets):
    with h5py.File(path, "w") as f:
        for key, val in datasets.items():
            f[key.replace("__", "/")] = val
    return str(path)


def _data(seed=0, n_p=60, n_q=40, d=6):
    rng = np.random.default_rng(seed)
    xp = rng.standard_normal((n_p, d))
    xq = rng.standard_normal((n_q, d)) * 1.2 + 0.3
    f = lambda x: np.sin(x[:, 0]) + 0.3 * x[:, 1]  # noqa: E731
    return xp, xq, f(xp), f(xq)


@pytest.fixture
def feat_file(tmp_path):
    xp, xq, yp, yq = _data()
    gp = (xp[:, 0] > 0).astype(np.int64)
    gq = (xq[:, 0] > 0).astype(np.int64) + 2 * (xq[:, 1] > 0)
    return _write(tmp_path / "shift.h5", train__features=xp, train__targets=yp, test__features=xq,
                  test__targets=yq, train__groups=gp, test__groups=gq,
                  train__weights=np.where(gp == 1, 2.0, 1.0))


@pytest.fixture
def gram_file(tmp_path):
    xp, xq, yp, yq = _data(1)
    rbf = lambda a, b: np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / 8)  # noqa: E731
    return _write(tmp_path / "gram.h5", train__gram=rbf(xp, xp), test__gram_cross=rbf(xq, xp),
                  train__targets=yp, test__targets=yq)


@pytest.fixture
def inputs_file(tmp_path):
    xp, xq, yp, yq = _data(2)
    return _write(tmp_path / "inputs.h5", train__inputs=xp, train__targets=yp, test__inputs=xq,
                  test__targets=yq, test__groups=np.arange(40) % 4)


def test_shift_csv_columns_and_values(run, feat_file):
    r = run("shift", feat_file, "--p", "5,20", "--ridge", "0,0.01", "--noise", "0.1")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t) == ["p", "ridge", "noise", "kappa", "gamma", "eg_test", "eg_train",
                       "eg_test_bias", "eg_test_variance", "gamma_test"]
    assert list(t["p"]) == [5, 5, 20, 20] and list(t["ridge"]) == [0, 0.01, 0, 0.01]
    np.testing.assert_allclose(t["eg_test_bias"] + t["eg_test_variance"], t["eg_test"], rtol=1e-12)
    # the library gives the same numbers
    from kerncurve.theory.shift import shift_curve, shift_problem_from_features

    xp, xq, yp, yq = _data()
    w = np.where(xp[:, 0] > 0, 2.0, 1.0)
    prob = shift_problem_from_features(xp, xq, yp, yq, w)
    np.testing.assert_allclose(t["eg_test"], shift_curve(prob, t["p"], t["ridge"], 0.1).eg_test,
                               rtol=1e-12)


def test_shift_json_gram_and_kernel(run, gram_file, inputs_file):
    r = run("shift", gram_file, "--p", "10", "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["command"] == "shift" and len(out["rows"]) == 1
    assert "test_residual_power" in out["summary"]
    r = run("shift", inputs_file, "--p", "10", "--kernel", "rbf", "--bandwidth", "2")
    assert r.exit_code == 0, r.stderr
    assert read_csv(r.stdout)["eg_test"][0] > 0


def test_shift_q_equals_p_matches_predict(run, tmp_path):
    xp, _, yp, _ = _data(3)
    f = _write(tmp_path / "same.h5", train__features=xp, train__targets=yp, test__features=xp,
               test__targets=yp)
    g = _write(tmp_path / "plain.h5", features=xp, targets=yp)
    a = read_csv(run("shift", f, "--p", "5,30,200", "--ridge", "0,0.1", "--noise", "0.2").stdout)
    b = read_csv(run("predict", g, "--p", "5,30,200", "--ridge", "0,0.1", "--noise", "0.2").stdout)
    np.testing.assert_allclose(a["eg_test"], b["eg"], rtol=1e-10)
    np.testing.assert_allclose(a["kappa"], b["kappa"], rtol=1e-10)
    np.testing.assert_allclose(a["eg_train"], b["e_train"], rtol=1e-9, atol=1e-15)


def test_shift_empirical_pointwise_and_groups(run, feat_file, tmp_path):
    pw = tmp_path / "pw.csv"
    out = tmp_path / "out.csv"
    r = run("shift", feat_file, "--p", "10", "--ridge", "0.01", "--empirical", "--trials", "5",
            "--pointwise-output", pw, "-o", out, "--train-groups", "0-1", "--test-groups", "3")
    assert r.exit_code == 0, r.stderr
    t = read_csv(out.read_text())
    assert t["eg_test_empirical"][0] > 0 and t["eg_test_empirical_sem"][0] > 0
    p = read_csv(pw.read_text())
    assert list(p)[:6] == ["p", "ridge", "noise", "index", "group", "error"]
    assert len(p["index"]) == 40
    q = (p["group"] == 3) / np.sum(p["group"] == 3)
    np.testing.assert_allclose(q @ p["error"], t["eg_test"][0], rtol=1e-10)
    # same seed, same bytes
    r2 = run("shift", feat_file, "--p", "10", "--ridge", "0.01", "--empirical", "--trials", "5",
             "--train-groups", "0-1", "--test-groups", "3")
    assert r2.stdout == out.read_text()


def test_shift_optimize_train_measure(run, feat_file):
    r = run("shift-optimize", feat_file, "--p", "10", "--ridge", "0.01", "--steps", "5", "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    w = np.array([row["weight"] for row in out["rows"]])
    assert w.shape == (60,) and abs(w.sum() - 1) < 1e-12
    assert out["summary"]["eg_optimized"] <= out["summary"]["eg_uniform"]
    r = run("shift-optimize", feat_file, "--p", "10", "--ridge", "0.01", "--per-group", "--steps", "5",
            "--empirical", "--trials", "4")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t) == ["group", "weight"] and list(t["group"]) == [0, 1]


def test_shift_optimize_test_measures(run, feat_file):
    r = run("shift-optimize", feat_file, "--p", "10", "--ridge", "0.01", "--objective",
            "adversarial-test", "--temperature", "0.1", "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)["summary"]
    assert s["eg_reference"] <= s["eg_tilted"] <= s["eg_vertex"]
    r = run("shift-optimize", feat_file, "--p", "10", "--ridge", "0.01", "--objective",
            "beneficial-test", "--per-group", "--empirical", "--trials", "6")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t) == ["group", "weight", "error", "error_empirical"]
    assert abs(t["weight"][np.argmin(t["error"])] - 1.0) < 1e-12


# --------------------------------------------------------------------------- bad input


def _bad(tmp_path, **overrides):
    xp, xq, yp, yq = _data()
    ds = dict(train__features=xp, train__targets=yp, test__features=xq, test__targets=yq)
    ds.update(overrides)
    return _write(tmp_path / "bad.h5", **{k: v for k, v in ds.items() if v is not None})


@pytest.mark.parametrize("over,match", [
    (dict(test__features=None, test__targets=None), "/test"),
    (dict(train__targets=None), "targets"),
    (dict(test__features=np.ones((40, 5))), "dimension"),
    (dict(train__weights=-np.ones(60)), "negative"),
    (dict(train__weights=np.r_[np.nan, np.ones(59)]), "NaN"),
    (dict(test__weights=np.zeros(40)), "all zero"),
    (dict(test__weights=np.ones(39)), "shape"),
    (dict(train__groups=np.full(60, 0.5)), "integer"),
    (dict(train__groups=np.array(["a"] * 60, dtype="S1")), "integer"),
])
def test_bad_input_files(run, tmp_path, over, match):
    f = _bad(tmp_path, **over)
    line = one_error(run("shift", f, "--p", "10", "-o", tmp_path / "never.csv"))
    assert match in line
    assert not (tmp_path / "never.csv").exists()


@pytest.mark.parametrize("name", ["weights", "groups"])
def test_weights_or_groups_stored_as_a_group(run, tmp_path, name):
    f = _bad(tmp_path, **{f"train__{name}__x": np.ones(60)})
    line = one_error(run("shift", f, "--p", "10", "--train-groups", "1"))
    assert f"/train/{name}" in line and "group" in line


def test_bad_gram_cross(run, tmp_path):
    xp, xq, yp, yq = _data()
    f = _write(tmp_path / "g.h5", train__gram=xp @ xp.T, test__gram_cross=xq @ xp[:50].T,
               train__targets=yp, test__targets=yq)
    assert "gram_cross" in one_error(run("shift", f, "--p", "10"))
    f = _write(tmp_path / "g2.h5", train__gram=xp @ xp.T, train__targets=yp, test__targets=yq)
    assert "gram_cross" in one_error(run("shift", f, "--p", "10"))


def test_bad_options(run, feat_file, tmp_path):
    out = tmp_path / "never.csv"
    assert "objective" in one_error(run("shift-optimize", feat_file, "--p", "10", "--objective",
                                         "worst", "-o", out))
    assert "temperature" in one_error(run("shift-optimize", feat_file, "--p", "10", "--objective",
                                           "adversarial-test", "--temperature", "0", "-o", out))
    assert "temperature" in one_error(run("shift-optimize", feat_file, "--p", "10", "--objective",
                                           "adversarial-test", "--temperature", "-1", "-o", out))
    assert "pool" in one_error(run("shift", feat_file, "--p", "61", "--empirical", "-o", out))
    assert "pool" in one_error(run("shift-optimize", feat_file, "--p", "61", "--empirical",
                                    "-o", out))
    assert "--test-groups" in one_error(run("shift", feat_file, "--p", "5", "--test-groups",
                                             "7-9", "-o", out))
    assert "single" in one_error(run("shift-optimize", feat_file, "--p", "5,6", "-o", out))
    assert not out.exists()
    r = one_error(run("shift", str(tmp_path / "missing.h5"), "--p", "5"))
    assert "does not exist" in r


def test_shift_multichannel_and_kl_budget(run, tmp_path):
    xp, xq, yp, yq = _data(4)
    f = _write(tmp_path / "mc.h5", train__features=xp, train__targets=np.stack([yp, -2 * yp], 1),
               test__features=xq, test__targets=np.stack([yq, -2 * yq], 1))
    g = _write(tmp_path / "one.h5", train__features=xp, train__targets=yp, test__features=xq,
               test__targets=yq)
    a = read_csv(run("shift", f, "--p", "10,30", "--ridge", "0.01").stdout)
    b = read_csv(run("shift", g, "--p", "10,30", "--ridge", "0.01").stdout)
    np.testing.assert_allclose(a["eg_test"], 5 * b["eg_test"], rtol=1e-10)
    r = run("shift-optimize", g, "--p", "10", "--ridge", "0.01", "--objective", "beneficial-test",
            "--kl-budget", "0.2", "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)["summary"]
    assert abs(s["kl"] - 0.2) < 1e-6 and s["eg_vertex"] <= s["eg_tilted"] <= s["eg_reference"]
