"""CLI tests of `kerncurve align` (deep linear silent alignment and the toy model)."""

import json

import h5py
import numpy as np
import pytest
from conftest import read_csv, write_h5, one_error

from kerncurve.cli import align as align_cli
from kerncurve.simulate.alignment import linear_teacher_data


@pytest.fixture
def linear_file(tmp_path):
    X, y = linear_teacher_data(4, 10, "whitened", seed=0)
    return write_h5(tmp_path / "lin.h5", inputs=X, targets=y)


@pytest.fixture
def aniso_file(tmp_path):
    X, y = linear_teacher_data(4, 10, "anisotropic", seed=0, silence=0.4, condition=30)
    return write_h5(tmp_path / "aniso.h5", inputs=X, targets=y)


@pytest.fixture
def toy_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 3))
    K = np.exp(-0.5 * np.sum((x[:, None] - x[None]) ** 2, -1))
    return write_h5(tmp_path / "toy.h5", gram=K, inputs=x, targets=np.sin(2 * x[:, 0]))


def test_deep_linear_table(run, linear_file):
    r = run("align", linear_file, "--depth", 2, "--init", 1e-3, "--width", 10, "--time", "0:30:7")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "time,loss,top_overlap,anisotropy"
    t = read_csv(r.stdout)
    np.testing.assert_allclose(t["time"], np.linspace(0, 30, 7))
    assert t["loss"][-1] < 1e-10 * t["loss"][0]
    np.testing.assert_allclose(t["top_overlap"], 1.0, atol=1e-12)  # whitened: silent
    assert t["anisotropy"][-1] == pytest.approx(2.0, rel=1e-3)
    assert "silence" in r.stderr


def test_deep_linear_json_empirical_and_kernel_output(run, aniso_file, tmp_path):
    out = tmp_path / "k.h5"
    r = run("align", aniso_file, "--depth", 2, "--init", 1e-3, "--width", 10, "--time", "0,5,20,200",
            "--empirical", "--runs", 2, "--kernel-output", out, "--json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "align"
    assert list(obj["rows"][0]) == align_cli.LINEAR_COLUMNS + align_cli.LINEAR_EMPIRICAL
    s = obj["summary"]
    assert s["silence"] == pytest.approx(0.4, abs=1e-9) and not s["silent"] and not s["whitened"]
    assert s["anisotropy_inf"] == pytest.approx(2.0)
    last = obj["rows"][-1]
    assert last["kernel_distance_empirical"] < 1e-3
    assert last["loss_empirical"] == pytest.approx(last["loss"], rel=0.1, abs=1e-12)
    assert obj["rows"][0]["top_overlap"] == pytest.approx(0.4, abs=1e-9)
    with h5py.File(out) as f:
        assert f.attrs["format"] == align_cli.KERNEL_FORMAT
        M = f["kernel_inf"][()]
        assert f["kernel"].shape == (4, 4, 4) and f["kernel_empirical"].shape == (4, 4, 4)
    ev = np.linalg.eigvalsh(M)
    assert ev[-1] / ev[-2] == pytest.approx(2.0)
    assert "not whitened" in r.stderr


def test_toy_table_and_checks(run, toy_file, tmp_path):
    out = tmp_path / "toy_k.h5"
    r = run("align", toy_file, "--toy", "variant1", "--lam", 1.5, "--time", "0:3:7", "--empirical",
            "--kernel-output", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == ",".join(align_cli.TOY_COLUMNS + align_cli.TOY_CHECK)
    t = read_csv(r.stdout)
    with h5py.File(toy_file) as f:
        y = f["targets"][()]
        K0 = f["gram"][()]
    assert t["loss"][0] == pytest.approx(0.5 * y @ y)
    assert np.all(t["loss"][1:] < t["loss_static"][1:])
    np.testing.assert_allclose(t["loss_ode"], t["loss"], rtol=1e-8)
    assert t["alignment"][-1] > t["alignment"][0]
    assert "25 %" in r.stderr
    with h5py.File(out) as f:
        np.testing.assert_allclose(f["kernel"][0], K0, atol=1e-12)
        S = f["kernel_inf"][()]
    np.testing.assert_allclose(S @ S, K0 @ K0 + 1.5 * np.outer(y, y), atol=1e-10)


def test_toy_variant2_from_inputs_with_kernel(run, toy_file):
    r = run("align", toy_file, "--toy", "variant2", "--lam", 0.5, "--kernel", "rbf", "--bandwidth", 1.0,
            "--json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert len(obj["rows"]) == 101 and obj["summary"]["source"] == "rbf kernel of /inputs"
    assert obj["summary"]["max_conservation_error"] < 1e-10
    assert obj["rows"][-1]["loss"] < obj["rows"][-1]["loss_static"]


@pytest.mark.parametrize("args, needle", [
    (["--depth", 0, "--init", 0.01], "--depth"),
    (["--depth", 2, "--init", 0], "--init"),
    (["--depth", 2, "--init", -1e-3], "--init"),
    (["--depth", 2], "--init"),
    (["--depth", 2, "--init", 0.01, "--time", "0"], "--time"),
    (["--depth", 2, "--init", 0.01, "--time", "-1,2"], "--time"),
    (["--depth", 2, "--init", 0.01, "--time", "5:1:10"], "--time"),
    (["--depth", 2, "--init", 0.01, "--lam", 1], "--lam"),
])
def test_deep_linear_bad_inputs(run, linear_file, args, needle):
    assert needle in one_error(run("align", linear_file, *args))


def test_deep_linear_rejects_several_channels(run, tmp_path):
    X, y = linear_teacher_data(3, 6, "whitened")
    path = write_h5(tmp_path / "two.h5", inputs=X, targets=np.stack([y, y], 1))
    assert "one output" in one_error(run("align", path, "--depth", 2, "--init", 0.01))


@pytest.mark.parametrize("args, needle", [
    (["--toy", "variant1", "--lam", -0.5], "--lam"),
    (["--toy", "variant2"], "--lam"),
    (["--toy", "variant3", "--lam", 1], "variant"),
    (["--toy", "variant1", "--lam", 1, "--init", 0.1], "--init"),
    (["--toy", "variant1", "--lam", 1, "--time", "-2"], "--time"),
])
def test_toy_bad_options(run, toy_file, args, needle):
    assert needle in one_error(run("align", toy_file, *args))


def test_toy_rejects_non_psd_gram(run, tmp_path):
    K = np.diag([1.0, 0.5, -0.4])
    path = write_h5(tmp_path / "neg.h5", gram=K, targets=np.ones(3))
    msg = one_error(run("align", path, "--toy", "variant1", "--lam", 1))
    assert "positive semi-definite" in msg and "neg.h5" in msg


def test_toy_refuses_too_many_samples(run, tmp_path, monkeypatch):
    monkeypatch.setattr(align_cli, "MAX_TOY_SAMPLES", 5)
    path = write_h5(tmp_path / "big.h5", gram=np.eye(8), targets=np.ones(8))
    msg = one_error(run("align", path, "--toy", "variant1", "--lam", 1))
    assert "--subsample 5" in msg
    r = run("align", path, "--toy", "variant1", "--lam", 1, "--subsample", 5, "--time", "0,1")
    assert r.exit_code == 0, r.stderr


def test_toy_zero_gram_is_refused(tmp_path):
    import h5py
    from click.testing import CliRunner

    from kerncurve.cli import main

    path = tmp_path / "zero.h5"
    with h5py.File(path, "w") as f:
        f["gram"] = np.zeros((5, 5))
        f["targets"] = np.ones(5)
    r = CliRunner().invoke(main, ["align", str(path), "--toy", "variant1", "--lam", "1"])
    assert r.exit_code == 2
    assert r.stderr.count("error:") == 1 and "all zeros" in r.stderr
