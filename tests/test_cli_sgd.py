"""CLI tests of `kerncurve sgd` on tiny HDF5 files."""

import json

import numpy as np
import pytest

from conftest import gaussian_features, read_csv, write_h5
from kerncurve.theory import sgd as th


@pytest.fixture
def relu_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 4))
    psi = np.maximum(x @ rng.standard_normal((4, 8)), 0)
    return write_h5(tmp_path / "relu.h5", features=psi, targets=np.sign(x[:, 0]))


def test_csv_columns_and_values(run, relu_file):
    r = run("sgd", relu_file, "--lr-frac", "0.4", "--batch", "1,4", "--steps", "50", "--points", "5")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t) == ["batch", "lr", "step", "samples", "loss"]
    assert set(t["batch"]) == {1, 4}
    np.testing.assert_array_equal(t["samples"], t["step"] * t["batch"])
    import h5py

    with h5py.File(relu_file) as f:
        p = th.prepare(f["features"][()], f["targets"][()])
    sel = t["batch"] == 4
    lr = 0.4 * th.exact_edge(p, 4)
    assert t["lr"][sel][0] == pytest.approx(lr, rel=1e-8)
    ref = th.exact_loss(p, lr, 4, t["step"][sel].astype(int)).loss
    np.testing.assert_allclose(t["loss"][sel], ref, rtol=1e-10)
    assert "lr_edge" in r.stderr and "kappa_sgd" in r.stderr


def test_json_and_gaussian_model(run, features_file):
    r = run("sgd", features_file, "--lr", "0.1,0.2", "--steps", "20", "--points", "4", "--model", "gaussian",
            "--noise", "0.1", "--json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "sgd" and obj["summary"]["model"] == "gaussian"
    assert [row["lr"] for row in obj["rows"]].count(0.1) == len(obj["rows"]) // 2
    for key in ("lr_edge", "kappa_sgd", "plateau", "fitted_exponent", "predicted_exponent", "critical_batch"):
        assert key in obj["summary"]


def test_empirical_columns(run, relu_file):
    r = run("sgd", relu_file, "--lr-frac", "0.4", "--steps", "30", "--points", "4", "--empirical", "--runs", "50")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t)[-3:] == ["loss_empirical", "loss_empirical_sem", "loss_empirical_median"]
    assert np.all(np.abs(t["loss"] - t["loss_empirical"]) <= 4 * t["loss_empirical_sem"] + 1e-12)
    r2 = run("sgd", relu_file, "--lr-frac", "0.4", "--steps", "30", "--points", "4", "--empirical", "--runs", "50")
    assert r2.stdout == r.stdout  # seeded


def test_compute_and_lr_opt(run, features_file):
    r = run("sgd", features_file, "--compute", "64", "--batch", "1,4,16", "--lr", "opt", "--model", "gaussian",
            "--json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    last = {}
    for row in obj["rows"]:
        last[row["batch"]] = row
    assert {b: last[b]["step"] for b in last} == {1: 64, 4: 16, 16: 4}
    best = min(last, key=lambda b: last[b]["loss"])
    assert obj["summary"]["best_batch"] == best


def test_train_size(run, relu_file):
    r = run("sgd", relu_file, "--lr-frac", "0.4", "--batch", "2", "--steps", "40", "--points", "4",
            "--train-size", "30", "--empirical", "--runs", "20")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert "train_loss" in t and np.all(np.isfinite(t["train_loss"]))


def test_gram_input_matches_features(run, tmp_path):
    x, y = gaussian_features(60, 8, seed=4)
    f1 = write_h5(tmp_path / "f.h5", features=x, targets=y)
    f2 = write_h5(tmp_path / "g.h5", gram=x @ x.T, targets=y)
    a = read_csv(run("sgd", f1, "--lr", "0.3", "--steps", "10", "--points", "3").stdout)
    b = read_csv(run("sgd", f2, "--lr", "0.3", "--steps", "10", "--points", "3").stdout)
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-8)


def test_lr_above_edge_warns_and_prints_inf(run, relu_file):
    r = run("sgd", relu_file, "--lr", "50", "--steps", "3000", "--points", "3")
    assert r.exit_code == 0
    assert "warning:" in r.stderr and "edge" in r.stderr
    assert "inf" in r.stdout.splitlines()[-1]


def _bad(run, *args):
    r = run("sgd", *args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.mark.parametrize("args,word", [
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--batch", "0"], "--batch"),
    (["--batch", "-2"], "--batch"),
    (["--lr-frac", "1.2"], "--lr-frac"),
    (["--lr-frac", "0"], "--lr-frac"),
    (["--steps", "0"], "--steps"),
    (["--batch", "40", "--train-size", "20"], "--train-size"),
])
def test_bad_options(run, relu_file, args, word):
    assert word in _bad(run, relu_file, *args)


def test_bad_features_nan(run, tmp_path):
    x, y = gaussian_features(30, 4)
    x[2, 1] = np.nan
    assert "NaN" in _bad(run, write_h5(tmp_path / "nan.h5", features=x, targets=y))


def test_noise_list_gives_one_curve_per_level(run, relu_file):
    r = run("sgd", relu_file, "--lr-frac", "0.4", "--steps", "20", "--points", "3", "--noise", "0,0.5", "-q")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t)[-1] == "noise"
    assert sorted(set(t["noise"])) == [0.0, 0.5]
    one = read_csv(run("sgd", relu_file, "--lr-frac", "0.4", "--steps", "20", "--points", "3", "--noise", "0.5",
                       "-q").stdout)
    np.testing.assert_allclose(t["loss"][t["noise"] == 0.5], one["loss"], rtol=1e-12)
    # label noise adds to the loss against the labels
    assert np.all(t["loss"][t["noise"] == 0.5] > t["loss"][t["noise"] == 0.0])
    r = run("sgd", relu_file, "--noise", "-1", "-q")
    assert r.exit_code == 2 and r.stderr.startswith("error: --noise")
