"""`predict` over several inputs (a gain sweep) and over grouped samples (``--groups``,
``--heldout-by``): the API against the command line, the best input per P, the contour, and
every bad input."""

import json

import h5py
import numpy as np
import pytest

import kerncurve as kc
from kerncurve.errors import InputError
from kerncurve.simulate.ridge import group_draw

from conftest import gaussian_features, one_error, read_csv, write_h5

GAINS = ["0.5", "1.5", "2.5"]


@pytest.fixture(scope="module")
def codes(tmp_path_factory):
    d = tmp_path_factory.mktemp("codes")
    kc.reservoir(d / "c.h5", n=60, gain=[float(g) for g in GAINS], trials=10, steps=16, target_tau=[0, 0.5], seed=1)
    return [str(d / f"c_g{g}.h5") for g in GAINS]


def _json_columns(obj):
    return {c: np.array([row[c] for row in obj["rows"]]) for c in obj["rows"][0]}


def test_the_sweep_equals_one_predict_per_input_and_the_cli(run, codes):
    kw = dict(p=[2, 5, 20], ridge=[0.05, 0.5], targets_key="/target_tau/0.5")
    r = kc.predict(codes, **kw)
    cli = run("predict", *codes, "--p", "2,5,20", "--ridge", "0.05,0.5", "--targets-key", "/target_tau/0.5",
              "--json", "-q")
    assert cli.exit_code == 0, cli.stderr
    obj = json.loads(cli.stdout)
    assert r.columns == ["p", "ridge", "noise", "kappa", "gamma", "eg", "e_train", "residual", "input", "gain"]
    assert list(obj["rows"][0]) == r.columns
    got = _json_columns(obj)
    for c in r.columns:
        if c == "input":
            assert list(got[c]) == list(r.input) == [f for f in codes for _ in range(6)]
        else:
            np.testing.assert_allclose(r.to_dict()[c], got[c].astype(float), rtol=1e-12, err_msg=c)
    assert r.summary == obj["summary"] and r.params == obj["params"]
    np.testing.assert_array_equal(r.gain, np.repeat([0.5, 1.5, 2.5], 6))
    for i, path in enumerate(codes):  # each input's rows are exactly predict on it alone
        alone = kc.predict(path, **kw)
        np.testing.assert_array_equal(r.eg[6 * i:6 * i + 6], alone.eg)
        assert r.summary["per_input"][i] == alone.summary
    eg = r.eg.reshape(3, 6)
    for j, best in enumerate(r.summary["best"]):
        i = int(np.argmin(eg[:, j]))
        assert best == {"p": int(r.p[j]), "ridge": float(r.ridge[j]), "noise": 0.0, "input": codes[i],
                        "gain": float(GAINS[i]), "eg": float(eg[i, j])}


def test_a_quoted_glob_the_contour_and_the_human_summary(run, codes, tmp_path):
    pattern = codes[0].replace("c_g0.5.h5", "c_g*.h5")
    r = run("predict", pattern, "--p", "2:30:6", "--ridge", "opt", "--targets-key", "/target_tau/0",
            "--plot", tmp_path / "sweep.png")
    assert r.exit_code == 0, r.stderr
    assert "best at p=2" in r.stderr and "gain values" in r.stderr and "0.5, 1.5, 2.5" in r.stderr
    assert (tmp_path / "sweep.png").stat().st_size > 5000
    lines = r.stdout.splitlines()
    assert lines[0].endswith(",input,gain") and len(lines) == 1 + 3 * 6


def test_one_input_is_unchanged(run, codes):
    one = run("predict", codes[1], "--p", "2,5", "-q")
    assert one.stdout.splitlines()[0] == "p,ridge,noise,kappa,gamma,eg,e_train,residual"
    r = kc.predict([codes[1]], p=[2, 5])
    assert r.columns[-1] == "gain" and list(r.input) == [codes[1]] * 2
    np.testing.assert_allclose(r.eg, read_csv(one.stdout)["eg"], rtol=1e-12)


def test_inputs_of_different_feature_dimensions_are_refused_naming_the_file(run, codes, tmp_path):
    x, y = gaussian_features(50, 7)
    other = write_h5(tmp_path / "other.h5", features=x, targets=y)
    line = one_error(run("predict", codes[0], other, "--p", "5"), "other.h5", "d = 7", "d = 60")
    assert codes[0] in line
    with pytest.raises(InputError, match="other.h5"):
        kc.predict([codes[0], other], p=5)


def test_bad_sweeps(run, codes, tmp_path):
    x, y = gaussian_features(160, 60)
    plain = write_h5(tmp_path / "plain.h5", features=x, targets=y)
    one_error(run("predict", codes[0], plain, "--p", "5"), "plain.h5", "gain")
    one_error(run("predict", str(tmp_path / "nothing*.h5"), "--p", "5"), "no file matches")
    one_error(run("predict", *codes[:2], "--p", "5", "--modes-output", tmp_path / "m.csv"), "--modes-output")
    one_error(run("predict", *codes[:2], "--p", "5", "-o", codes[1]), "same file", "INPUT")
    with pytest.raises(InputError, match="spectrum"):
        kc.predict([], p=5)
    with pytest.raises(InputError, match="spectrum"):
        kc.predict([codes[0], 3], p=5)
    with pytest.raises(InputError, match="sweep_attr"):
        kc.predict(codes[:2], p=5, sweep_attr="")
    with h5py.File(tmp_path / "bad_attr.h5", "w") as f:
        f["features"], f["targets"] = x, y
        f.attrs["gain"] = "high"
    with pytest.raises(InputError, match="sweep_attr"):
        kc.predict([codes[0], str(tmp_path / "bad_attr.h5")], p=5)
    with pytest.raises(InputError, match="X"):
        kc.predict([codes[0]], p=5, empirical=True, X=x, y=y)
    with pytest.raises(InputError, match="heldout_fraction"):
        kc.predict(codes[0], p=5, heldout_fraction=2)
    r = kc.predict([codes[0], plain], p=5, sweep_attr="nothing")  # no input has it: no sweep column
    assert r.columns[-1] == "input" and r.sweep is None


# ------------------------------------------------------------------- groups and held-out groups

def test_group_draw_holds_out_whole_groups():
    labels = np.repeat(np.arange(8), 5)[np.random.default_rng(0).permutation(40)]
    train, test = group_draw(labels, 2)(np.random.default_rng(1), 50, 12)
    for tr, te in zip(train, test):
        held = np.unique(labels[te])
        assert held.size == 2 and np.all(np.isin(labels[te], held)) and te.sum() == 10
        assert not np.isin(labels[tr], held).any() and np.unique(tr).size == 12


def test_heldout_groups_through_the_api_and_the_cli(run, codes):
    kw = dict(p=[5, 20], ridge=0.5, empirical=True, trials=6, seed=4, targets_key="/target_tau/0")
    r = kc.predict(codes[1], groups=["trial", "time"], heldout_by="trial", heldout_fraction=0.2, **kw)
    cli = run("predict", codes[1], "--p", "5,20", "--ridge", "0.5", "--empirical", "--trials", "6", "--seed", "4",
              "--targets-key", "/target_tau/0", "--groups", "trial,time", "--heldout-by", "trial",
              "--heldout-fraction", "0.2", "--json", "-q")
    assert cli.exit_code == 0, cli.stderr
    obj = json.loads(cli.stdout)
    assert r.columns[-2:] == ["eg_empirical_groups", "eg_empirical_groups_sem"] and list(obj["rows"][0]) == r.columns
    got = _json_columns(obj)
    for c in r.columns:
        np.testing.assert_allclose(r.to_dict()[c], got[c].astype(float), rtol=1e-12, err_msg=c)
    assert r.summary == obj["summary"]
    assert r.summary["trial_groups"] == 10 and r.summary["time_groups"] == 16 and r.summary["heldout_groups"] == 2
    assert "mean_relative_deviation_groups" in r.summary
    # the pairs experiment is the plain one: same columns as without groups
    plain = kc.predict(codes[1], **kw)
    np.testing.assert_array_equal(plain.eg_empirical, r.eg_empirical)
    # arrays with a Spectrum: the labels themselves
    with h5py.File(codes[1]) as f:
        x, y, trial = f["features"][()], f["target_tau/0"][()], f["trial"][()]
    spec = kc.Spectrum.from_features(x, y)
    r2 = kc.predict(spec, p=[5, 20], ridge=0.5, empirical=True, trials=6, seed=4, X=x, y=y,
                    groups={"trial": trial}, heldout_by="trial", heldout_fraction=0.2)
    np.testing.assert_allclose(r2.eg_empirical_groups, r.eg_empirical_groups, rtol=1e-10)


@pytest.fixture
def grouped(tmp_path):
    x, y = gaussian_features(60, 8)
    return write_h5(tmp_path / "g.h5", features=x, targets=y, trial=np.repeat(np.arange(6), 10),
                    short=np.arange(50), frac=np.linspace(0, 1, 60), text=np.array([b"a"] * 60),
                    grid=np.zeros((60, 2), int))


@pytest.mark.parametrize("opts,words", [
    (["--groups", "short"], ["--groups", "50 labels", "n = 60"]),
    (["--groups", "frac"], ["--groups", "non-integer"]),
    (["--groups", "text"], ["--groups", "non-numeric"]),
    (["--groups", "grid"], ["--groups", "shape"]),
    (["--groups", "missing"], ["--groups", "'/missing' not found"]),
    (["--heldout-by", "trial"], ["--heldout-by", "experiment"]),
    (["--empirical", "--groups", "trial", "--heldout-by", "time"], ["--heldout-by", "not one of"]),
    (["--empirical", "--heldout-by", "trial", "--heldout-fraction", "0"], ["--heldout-fraction"]),
    (["--empirical", "--heldout-by", "trial", "--p", "55"], ["--p 55", "--heldout-by", "40 samples"]),
])
def test_bad_groups_exit_2_with_one_line(run, grouped, opts, words):
    p = [] if "--p" in opts else ["--p", "5"]
    one_error(run("predict", grouped, *p, *opts), *words)


@pytest.mark.parametrize("kwargs,param", [
    (dict(groups=3), "groups"), (dict(groups=[""]), "groups"), (dict(heldout_by=5, empirical=True), "heldout_by"),
    (dict(groups={"trial": np.arange(10)}), "groups"), (dict(groups={"t": np.full(60, 0.5)}), "groups"),
    (dict(groups="trial"), "groups"), (dict(groups={"t": np.zeros(60)}, heldout_by="t", empirical=True), "heldout_by"),
])
def test_bad_group_arguments_are_input_errors(kwargs, param):
    x, y = gaussian_features(60, 8)
    spec = kc.Spectrum.from_features(x, y)
    with pytest.raises(ValueError) as exc:
        kc.predict(spec, p=5, X=x, y=y, **kwargs)
    assert isinstance(exc.value, InputError) and exc.value.param == param, exc.value
    assert param in str(exc.value)
