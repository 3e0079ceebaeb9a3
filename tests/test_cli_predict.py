"""`kerncurve predict` and `kerncurve spectrum` through the CLI: outputs and every bad input."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import gaussian_features, read_csv, write_h5, one_error


def test_predict_csv_matches_library(run, features_file):
    r = run("predict", features_file, "--p", "5,10,40", "--ridge", "0,0.01", "--noise", "0.1", "-q")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    t = read_csv(r.stdout)
    assert r.stdout.splitlines()[0] == "p,ridge,noise,kappa,gamma,eg,e_train,residual"
    assert list(t["p"]) == [5, 5, 10, 10, 40, 40]
    assert list(t["ridge"]) == [0, 0.01] * 3
    assert np.all(t["residual"] < 1e-10)
    assert r.stdout.splitlines()[1].startswith("5,0.0,0.1,")  # ints as ints, floats as repr


def test_predict_json_and_output_file(run, features_file, tmp_path):
    out = tmp_path / "curve.json"
    r = run("predict", features_file, "--p", "10:100:5", "--json", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    obj = json.loads(out.read_text())
    assert obj["command"] == "predict"
    assert [row["p"] for row in obj["rows"]] == [10, 18, 32, 56, 100]
    assert set(obj["summary"]) >= {"n", "rank", "trace", "max_residual"}
    assert "kerncurve predict" in r.stderr  # the human summary


def test_feature_and_gram_inputs_give_same_curve(run, tmp_path):
    x, y = gaussian_features(150, 20, seed=4)
    f = write_h5(tmp_path / "f.h5", features=x, targets=y)
    g = write_h5(tmp_path / "g.h5", gram=x @ x.T, targets=y)
    a = read_csv(run("predict", f, "--p", "5,15,30", "--ridge", "0.001", "-q").stdout)
    b = read_csv(run("predict", g, "--p", "5,15,30", "--ridge", "0.001", "-q").stdout)
    np.testing.assert_allclose(a["eg"], b["eg"], rtol=1e-8)


def test_interpolation_point_prints_inf(run, tmp_path):
    x, y = gaussian_features(200, 20, seed=4)
    f = write_h5(tmp_path / "f.h5", features=x, targets=y)
    r = run("predict", f, "--p", "20", "--noise", "0.1,0")
    t = read_csv(r.stdout)
    assert t["eg"][0] == np.inf and t["eg"][1] == 0.0
    assert ",inf," in r.stdout
    assert "warning:" in r.stderr


def test_ridge_opt(run, features_file):
    r = run("predict", features_file, "--p", "10,50", "--ridge", "opt", "--noise", "0.5", "-q")
    t = read_csv(r.stdout)
    assert np.all(t["ridge"] > 0)
    for i in range(2):
        grid = np.geomspace(1e-6, 10, 200)
        other = read_csv(run("predict", features_file, "--p", str(int(t["p"][i])), "--ridge",
                             ",".join(str(float(g)) for g in grid), "--noise", "0.5", "-q").stdout)
        assert t["eg"][i] <= other["eg"].min() * (1 + 1e-6)


def test_modes_output(run, features_file, tmp_path):
    out = tmp_path / "modes.csv"
    r = run("predict", features_file, "--p", "10,30", "--noise", "0.1", "--ridge", "0.01", "--modes-output", out, "-q")
    assert r.exit_code == 0
    text = out.read_text()
    assert text.startswith("# modal errors")
    t = read_csv(text)
    curve = read_csv(r.stdout)
    unlearnable = float(text.splitlines()[0].split("= ")[-1])
    for p, eg in zip(curve["p"], curve["eg"]):
        assert t["modal_error"][t["p"] == p].sum() + unlearnable == pytest.approx(eg, rel=1e-10)


def test_empirical_columns_and_seed(run, features_file):
    args = ("predict", features_file, "--p", "10,20", "--empirical", "--trials", "4", "-q")
    a, b = run(*args), run(*args)
    assert a.stdout == b.stdout  # same seed, same bytes
    c = run(*args, "--seed", "1")
    assert c.stdout != a.stdout
    header = a.stdout.splitlines()[0]
    assert header == "p,ridge,noise,kappa,gamma,eg,eg_empirical,eg_empirical_sem,e_train,residual,eg_heldout"


def test_spectrum_command_and_cache(run, features_file, tmp_path):
    r = run("spectrum", features_file, "--top", "5", "--save", tmp_path / "s.h5")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t["k"]) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(t["eigenvalue"]) <= 0)
    assert "effective_dimension" in r.stderr or "effective dimension" in r.stderr
    a = run("predict", features_file, "--p", "5,20", "-q").stdout
    b = run("predict", tmp_path / "s.h5", "--p", "5,20", "-q").stdout
    assert a == b
    with h5py.File(tmp_path / "s.h5") as f:
        assert len(f.attrs["input-sha256"]) == 64


def test_kernel_from_inputs_and_plot(run, inputs_file, tmp_path):
    r = run("predict", inputs_file, "--kernel", "rbf", "--p", "5,10,20", "--empirical", "--trials", "3",
            "--plot", tmp_path / "c.png")
    assert r.exit_code == 0, r.stderr
    assert "bandwidth" in r.stderr
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_version_and_help(run):
    r = run("--version")
    assert r.exit_code == 0 and "kerncurve" in r.stdout
    r = run("predict", "--help")
    assert r.exit_code == 0 and "--ridge" in r.stdout and "default" in r.stdout


def test_closed_pipe_exits_cleanly(tmp_path):
    x, y = gaussian_features(100, 10)
    f = write_h5(tmp_path / "f.h5", features=x, targets=y)
    cmd = f"{sys.executable} -m kerncurve predict {f} --p 1:90:80 -q | head -n 2"
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
    assert r.stdout.count("\n") == 2
    assert "Traceback" not in r.stderr and "Error" not in r.stderr


# ---------------------------------------------------------------- bad input
def _bad_files(tmp):
    x, y = gaussian_features(30, 5)
    k = x @ x.T
    w = lambda name, **d: write_h5(tmp / name, **d)  # noqa: E731
    nonpsd = k.copy()
    nonpsd -= 2 * np.abs(np.linalg.eigvalsh(k)).max() * np.eye(30) * (np.arange(30) == 0)
    nan = x.copy()
    nan[3, 2] = np.nan
    notsym = k.copy()
    notsym[0, 5] += 1.0
    (tmp / "text.h5").write_text("not hdf5")
    with h5py.File(tmp / "strings.h5", "w") as f:
        f["features"] = np.array([b"a", b"b"] * 15).reshape(30, 1)
        f["targets"] = y
    return {
        "missing file": ([str(tmp / "nope.h5")], "does not exist"),
        "not hdf5": ([str(tmp / "text.h5")], "not an HDF5 file"),
        "missing targets": ([w("nt.h5", features=x)], "'/targets' not found"),
        "no kernel data": ([w("nk.h5", targets=y)], "no '/gram' or '/features'"),
        "mismatched lengths": ([w("ml.h5", features=x, targets=y[:20])], "20 samples but"),
        "non-square gram": ([w("ns.h5", gram=k[:, :20], targets=y)], "not square"),
        "non-symmetric gram": ([w("sym.h5", gram=notsym, targets=y)], "not symmetric"),
        "non-psd gram": ([w("psd.h5", gram=nonpsd, targets=y)], "positive semi-definite"),
        "nan": ([w("nan.h5", features=nan, targets=y)], "NaN or inf"),
        "inf targets": ([w("inf.h5", features=x, targets=np.where(y > 0, np.inf, y))], "NaN or inf"),
        "1-d features": ([w("1d.h5", features=x[:, 0], targets=y)], "must be 2-D"),
        "3-d targets": ([w("3d.h5", features=x, targets=np.zeros((30, 2, 2)))], "3-D"),
        "zero samples": ([w("zero.h5", features=np.zeros((0, 5)), targets=np.zeros(0))], "zero samples"),
        "non-numeric": ([str(tmp / "strings.h5")], "non-numeric"),
        "wrong key": ([w("wk.h5", features=x, targets=y), "--targets-key", "/labels"], "--targets-key"),
    }


@pytest.fixture
def existing_output(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    return out


@pytest.mark.parametrize("case", list(_bad_files.__code__.co_consts[-1]) if False else [
    "missing file", "not hdf5", "missing targets", "no kernel data", "mismatched lengths", "non-square gram",
    "non-symmetric gram", "non-psd gram", "nan", "inf targets", "1-d features", "3-d targets", "zero samples",
    "non-numeric", "wrong key"])
def test_bad_input_files(run, tmp_path, existing_output, case):
    args, match = _bad_files(tmp_path)[case]
    r = run("predict", *args, "--p", "5", "-o", existing_output)
    one_error(r, match, keep=existing_output)


@pytest.mark.parametrize(
    "opts,match",
    [
        (["--p", "abc"], "not a number"),
        (["--p", "0"], "positive integer"),
        (["--p", "-5"], "positive integer"),
        (["--p", "2.5"], "positive integer"),
        (["--p", "10:5:3"], "START"),
        (["--p", "1:2"], "START:STOP:NUM"),
        (["--p", ""], "empty"),
        (["--p", "5", "--ridge", "-1"], "--ridge"),
        (["--p", "5", "--ridge", "opt,1"], "'opt' cannot be combined"),
        (["--p", "5", "--noise", "-0.1"], "--noise"),
        (["--p", "5", "--noise", "nan"], "--noise"),
        (["--p", "5", "--kernel", "rbf", "--bandwidth", "0"], "--bandwidth"),
        (["--p", "5", "--kernel", "rbf", "--bandwidth", "-2"], "--bandwidth"),
        (["--p", "5", "--kernel", "gauss"], "unknown --kernel"),
        (["--p", "5", "--kernel", "rbf", "--inputs-key", "/x", "--features-key", "/y"], "needs raw inputs"),
        (["--p", "200", "--empirical"], "P must be < n"),
        (["--p", "5", "--trials", "0"], "--trials"),
        (["--p", "5", "--plot", "fig.gif"], "--plot"),
        (["--p", "5", "--bogus"], "No such option"),
        ([], "--p"),
    ],
)
def test_bad_options(run, features_file, existing_output, opts, match):
    r = run("predict", features_file, *opts, "-o", existing_output)
    one_error(r, match, keep=existing_output)


def test_missing_output_folder(run, features_file, tmp_path):
    r = run("predict", features_file, "--p", "5", "-o", tmp_path / "no" / "such" / "out.csv")
    one_error(r, "does not exist")
    r = run("spectrum", features_file, "--save", tmp_path / "no" / "s.h5")
    one_error(r, "--save")


def test_input_never_modified(run, features_file):
    before = open(features_file, "rb").read()
    run("predict", features_file, "--p", "5,10", "--empirical", "--trials", "2", "-q")
    run("spectrum", features_file, "-q")
    assert open(features_file, "rb").read() == before


def test_kernel_needs_inputs_from_features(run, features_file):
    # --kernel falls back to /features when /inputs is absent
    r = run("predict", features_file, "--kernel", "relu-ntk", "--depth", "2", "--p", "5", "-q")
    assert r.exit_code == 0, r.stderr
