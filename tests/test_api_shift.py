"""The Python API of `shift` and `shift-optimize`: equal to the command line, the same in
memory as on disk, validated at entry, warnings from the library, absurd budgets refused at
once, and a figure from shift-optimize --plot."""

import h5py
import numpy as np
import pytest
from api_checks import bad_call, refused_fast, same_as_cli
from conftest import read_csv
from test_cli_shift import _data, _write, feat_file, gram_file, inputs_file  # noqa: F401 - fixtures

import kerncurve as kc
from kerncurve.errors import NumericalWarning

pytestmark = pytest.mark.filterwarnings("ignore::kerncurve.KerncurveWarning")


@pytest.fixture
def files(feat_file, gram_file, inputs_file):  # noqa: F811 - fixtures of test_cli_shift
    return {"feat": feat_file, "gram": gram_file, "inputs": inputs_file}


def _arrays(seed=0):
    xp, xq, yp, yq = _data(seed)
    return {"features": xp, "targets": yp}, {"features": xq, "targets": yq}


# --------------------------------------------------------------------------- API = CLI


@pytest.mark.parametrize("name, args, kwargs", [
    ("feat", ["--p", "5,20", "--ridge", "0,0.01", "--noise", "0,0.1"], dict(p=[5, 20], ridge=[0, 0.01], noise=[0, 0.1])),
    ("feat", ["--p", "10", "--ridge", "0.01", "--empirical", "--trials", "5", "--train-groups", "0-1", "--test-groups",
              "3", "--seed", "4"],
     dict(p=10, ridge=0.01, empirical=True, trials=5, train_groups="0-1", test_groups="3", seed=4)),
    ("gram", ["--p", "5,30,50", "--ridge", "0,0.1", "--noise", "0.2", "--empirical", "--trials", "4"],
     dict(p=[5, 30, 50], ridge=[0, 0.1], noise=0.2, empirical=True, trials=4)),
    ("inputs", ["--p", "10,20", "--kernel", "rbf", "--bandwidth", "2", "--test-groups", "1,2"],
     dict(p=[10, 20], kernel="rbf", bandwidth=2.0, test_groups="1,2")),
    ("inputs", ["--p", "8", "--ridge", "1e-3", "--kernel", "poly", "--degree", "3"],
     dict(p=8, ridge=1e-3, kernel="poly", degree=3)),
])
def test_shift_equals_the_cli(run, files, name, args, kwargs):
    r = run("shift", files[name], *args, "--json", "-q")
    assert r.exit_code == 0, r.stderr
    same_as_cli(r.stdout, kc.shift(files[name], **kwargs))


@pytest.mark.parametrize("name, args, kwargs", [
    ("feat", ["--p", "10", "--ridge", "0.01", "--steps", "5"], dict(p=10, ridge=0.01, steps=5)),
    ("feat", ["--p", "10", "--ridge", "0.01", "--per-group", "--steps", "5", "--empirical", "--trials", "4"],
     dict(p=10, ridge=0.01, per_group=True, steps=5, empirical=True, trials=4)),
    ("feat", ["--p", "10", "--ridge", "0.01", "--objective", "adversarial-test", "--temperature", "0.1"],
     dict(p=10, ridge=0.01, objective="adversarial-test", temperature=0.1)),
    ("feat", ["--p", "10", "--ridge", "0.01", "--objective", "beneficial-test", "--per-group", "--empirical",
              "--trials", "6", "--train-groups", "1"],
     dict(p=10, ridge=0.01, objective="beneficial-test", per_group=True, empirical=True, trials=6, train_groups="1")),
    ("gram", ["--p", "10", "--ridge", "0.01", "--noise", "0.1", "--objective", "beneficial-test", "--kl-budget",
              "0.2", "--empirical", "--trials", "3"],
     dict(p=10, ridge=0.01, noise=0.1, objective="beneficial-test", kl_budget=0.2, empirical=True, trials=3)),
])
def test_shift_optimize_equals_the_cli(run, files, name, args, kwargs):
    r = run("shift-optimize", files[name], *args, "--json", "-q")
    assert r.exit_code == 0, r.stderr
    same_as_cli(r.stdout, kc.shift_optimize(files[name], **kwargs))


def test_pointwise_table_equals_the_cli(run, feat_file, tmp_path):  # noqa: F811
    pw = tmp_path / "pw.csv"
    r = run("shift", feat_file, "--p", "10,20", "--ridge", "0.01", "--noise", "0.1", "--empirical", "--trials", "3",
            "--pointwise-output", pw, "-q")
    assert r.exit_code == 0, r.stderr
    api = kc.shift(feat_file, p=[10, 20], ridge=0.01, noise=0.1, empirical=True, trials=3, pointwise=True)
    table = api.pointwise()
    cli = read_csv(pw.read_text())
    assert table.columns == list(cli) == ["p", "ridge", "noise", "index", "group", "error", "error_empirical"]
    for c in cli:
        np.testing.assert_allclose(table.data[c], cli[c], rtol=1e-12, atol=0, err_msg=c)
    # E_g is linear in q: the pointwise errors weighted by q give eg_test
    e = table.data["error"].reshape(2, -1)
    np.testing.assert_allclose(e @ api.shift_data.q, api.eg_test, rtol=1e-11)


# --------------------------------------------------------------------------- arrays = file


def test_arrays_equal_the_file(feat_file, gram_file, inputs_file):  # noqa: F811
    xp, xq, yp, yq = _data()
    gp = (xp[:, 0] > 0).astype(np.int64)
    gq = (xq[:, 0] > 0).astype(np.int64) + 2 * (xq[:, 1] > 0)
    train = {"features": xp, "targets": yp, "groups": gp, "weights": np.where(gp == 1, 2.0, 1.0)}
    test = {"features": xq, "targets": yq, "groups": gq}
    kw = dict(p=[10, 30], ridge=[0, 1e-2], noise=0.1, empirical=True, trials=4, test_groups="1-3")
    a = kc.shift(train=train, test=test, **kw)
    b = kc.shift(feat_file, **kw)
    for c, v in b.to_dict().items():
        np.testing.assert_array_equal(a.to_dict()[c], v, err_msg=c)
    assert "input" not in a.summary and b.summary["input"] == feat_file
    skip = ("input", "source")
    assert {k: v for k, v in a.summary.items() if k not in skip} == {k: v for k, v in b.summary.items() if k not in skip}
    # a list of labels selects like the text
    c = kc.shift(train=train, test=test, **{**kw, "test_groups": [1, 2, 3]})
    np.testing.assert_array_equal(c.eg_test, a.eg_test)
    assert c.params["test_groups"] == [1, 2, 3] and a.params["test_groups"] == "1-3"
    # Gram blocks and raw inputs
    with h5py.File(gram_file) as f:
        g = {"gram": f["train/gram"][()], "targets": f["train/targets"][()]}
        h = {"gram_cross": f["test/gram_cross"][()], "targets": f["test/targets"][()]}
    np.testing.assert_array_equal(kc.shift(train=g, test=h, p=[5, 20]).eg_test, kc.shift(gram_file, p=[5, 20]).eg_test)
    with h5py.File(inputs_file) as f:
        i = {"inputs": f["train/inputs"][()], "targets": f["train/targets"][()]}
        j = {"inputs": f["test/inputs"][()], "targets": f["test/targets"][()], "groups": f["test/groups"][()]}
    a = kc.shift_optimize(train=i, test=j, p=10, kernel="rbf", objective="adversarial-test", per_group=True)
    b = kc.shift_optimize(inputs_file, p=10, kernel="rbf", objective="adversarial-test", per_group=True)
    np.testing.assert_array_equal(a.error, b.error)
    assert a.summary["vertex_group"] == b.summary["vertex_group"]
    assert a.optimum.vertex_group == b.summary["vertex_group"]


def test_q_equal_to_p_is_predict():
    train, _ = _arrays(3)
    r = kc.shift(train=train, test=train, p=[5, 30], ridge=[0, 0.1], noise=0.2)
    s = kc.predict(kc.Spectrum.from_features(train["features"], train["targets"]), p=[5, 30], ridge=[0, 0.1],
                   noise=0.2)
    np.testing.assert_allclose(r.eg_test, s.eg, rtol=1e-10)
    np.testing.assert_allclose(r.kappa, s.kappa, rtol=1e-10)
    assert r.problem.spectrum.rank == s.spectrum.rank


# --------------------------------------------------------------------------- warnings from the library


def test_warnings_come_from_the_library(feat_file):  # noqa: F811
    with pytest.warns(NumericalWarning, match="effective training pool"):
        kc.shift(feat_file, p=59)
    train, test = _arrays()
    with pytest.warns(NumericalWarning, match="interpolation point"):
        r = kc.shift(train=train, test=test, p=6, noise=0.1)
    assert np.isinf(r.eg_test[0])
    with pytest.warns(NumericalWarning, match="effective points"):
        kc.shift_optimize(train=train, test=test, p=30, ridge=1e-3, steps=30)


def test_progress_is_reported(feat_file):  # noqa: F811
    calls = []

    class Bar:
        def __call__(self, description, total):
            calls.append([description, total, 0])
            return self

        def __enter__(self):
            return lambda n=1: calls[-1].__setitem__(2, calls[-1][2] + n)

        def __exit__(self, *exc):
            return False

    kc.shift(feat_file, p=[5, 10], empirical=True, trials=3, progress=Bar())
    assert calls == [["kernel ridge regression", 6, 6]]


# --------------------------------------------------------------------------- bad arguments


def _shift(**kw):
    train, test = _arrays()
    return kc.shift(**{"train": train, "test": test, "p": 10, **kw})


def _optimize(**kw):
    train, test = _arrays()
    return kc.shift_optimize(**{"train": train, "test": test, "p": 10, "ridge": 0.01, **kw})


def _with(group, **entries):
    train, test = _arrays()
    d = dict(train if group == "train" else test)
    d.update(entries)
    return {k: v for k, v in d.items() if v is not None}


XP, XQ, YP, YQ = _data()


@pytest.mark.parametrize("kw, param", [
    # sizes: negative, fractional, empty, too many
    (dict(p=-5), "p"), (dict(p=10.5), "p"), (dict(p=[]), "p"), (dict(p="ten"), "p"), (dict(p=[10] * 1_000_001), "p"),
    (dict(p=[1, 2, 3], ridge=list(np.arange(1000.0)), noise=list(np.arange(1000.0))), "p"),
    # ridge and noise: negative or not finite
    (dict(ridge=-1.0), "ridge"), (dict(ridge=float("inf")), "ridge"), (dict(noise=-0.1), "noise"),
    (dict(noise=float("nan")), "noise"),
    # the experiment
    (dict(trials=1, empirical=True), "trials"), (dict(trials=2.5), "trials"), (dict(seed=-1), "seed"),
    (dict(p=61, empirical=True), "p"),
    # unknown names, kernel hyper-parameters
    (dict(kernel="gauss"), "kernel"), (dict(kernel="rbf", bandwidth=-1.0), "bandwidth"),
    (dict(kernel="poly", degree=0), "degree"), (dict(kernel="relu-ntk", depth=1.5), "depth"),
    (dict(memory="lots"), "memory"),
    # group selections
    (dict(train_groups="0-999999999999"), "train_groups"), (dict(test_groups="a-b"), "test_groups"),
    (dict(train_groups=[0.5]), "train_groups"), (dict(train_groups="1"), "train_groups"),
    # the arrays: wrong shapes, non-finite, empty, unknown entries
    (dict(train=_with("train", features=XP[None])), "train"),
    (dict(train=_with("train", features=np.empty((0, 6)))), "train"),
    (dict(train=_with("train", features=np.where(XP > 2, np.nan, XP))), "train"),
    (dict(train=_with("train", targets=YP[:50])), "train"),
    (dict(train=_with("train", targets=None)), "train"),
    (dict(test=_with("test", features=XQ[:, :5])), "test"),
    (dict(test=_with("test", targets=np.stack([YQ, YQ], 1))), "test"),
    (dict(train=_with("train", weights=-np.ones(60))), "train"),
    (dict(train=_with("train", weights=np.ones(59))), "train"),
    (dict(test=_with("test", weights=np.zeros(40))), "test"),
    (dict(test=_with("test", weights=np.full(40, np.inf))), "test"),
    (dict(train=_with("train", groups=np.full(60, 0.5)), train_groups="0"), "train"),
    (dict(train=_with("train", groups=np.zeros((60, 2)))), "train"),
    (dict(train=_with("train", bogus=1)), "train"),
    (dict(train={"gram": XP @ XP.T, "targets": YP}), "test"),
    (dict(train={"gram": XP @ XP[:50].T, "targets": YP}, test={"gram_cross": XQ @ XP.T, "targets": YQ}), "train"),
    (dict(train=[XP, YP]), "train"), (dict(test=None), "test"),
    (dict(input="file.h5"), "input"), (dict(input=None, train=None, test=None), "input"),
])
def test_bad_shift_arguments(kw, param):
    msg = bad_call(_shift, param, **kw)
    with pytest.raises(kc.InputError) as info:
        _shift(**kw)
    assert info.value.param == param, msg


@pytest.mark.parametrize("kw, param", [
    (dict(p=[10, 20]), "p"), (dict(ridge=[0.1, 0.2]), "ridge"), (dict(noise=-1.0), "noise"),
    (dict(objective="worst"), "objective"), (dict(objective="adversarial-test", temperature=0.0), "temperature"),
    (dict(objective="adversarial-test", temperature=float("nan")), "temperature"),
    (dict(objective="beneficial-test", kl_budget=-0.2), "kl_budget"), (dict(steps=0), "steps"),
    (dict(steps=10**7), "steps"), (dict(per_group=True), "per_group"),
    (dict(per_group=True, objective="adversarial-test"), "per_group"),
    (dict(p=61, empirical=True), "p"), (dict(ridge=0.0, p=30), "ridge"),
])
def test_bad_shift_optimize_arguments(kw, param):
    msg = bad_call(_optimize, param, **kw)
    if param == "p" and "kl" not in kw:
        assert "single" in msg or "pool" in msg, msg


def test_input_must_be_a_path(tmp_path):
    with pytest.raises(kc.InputError, match="input must be a path"):
        kc.shift(12, p=5)
    with pytest.raises(kc.InputError, match="does not exist"):
        kc.shift(tmp_path / "nope.h5", p=5)
    with pytest.raises(kc.InputError, match="features_key") as info:
        kc.shift(tmp_path / "nope.h5", p=5, features_key="")
    assert info.value.param == "features_key"


# --------------------------------------------------------------------------- budgets on the command line


@pytest.fixture
def huge_gram(tmp_path):
    """A file declaring a 100000-point pool: nothing in it may be read before the refusal."""
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("train/gram", shape=(100_000, 100_000), dtype="f8", chunks=(1000, 1000))
        f.create_dataset("test/gram_cross", shape=(10, 100_000), dtype="f8", chunks=(10, 1000))
        f.create_dataset("train/targets", shape=(100_000,), dtype="f8")
        f.create_dataset("test/targets", shape=(10,), dtype="f8")
        f.create_dataset("train/inputs", shape=(100_000, 3), dtype="f8")
        f.create_dataset("test/inputs", shape=(10, 3), dtype="f8")
    return str(path)


@pytest.mark.parametrize("args, words", [
    (["shift", "FEAT", "--p", "10", "--train-groups", "0-999999999999"], ["--train-groups", "spans"]),
    (["shift", "FEAT", "--p", "10", "--test-groups", "7-9,1-99999999999"], ["--test-groups", "spans"]),
    (["shift", "FEAT", "--p", "1:1000000:1000000", "--ridge", "0,1", "--noise", "0,1"], ["--p", "curve points"]),
    (["shift", "FEAT", "--p", "10", "--empirical", "--trials", "1000000000000"], ["--trials"]),
    (["shift", "FEAT", "--p", "59", "--empirical", "--trials", "9999999"], ["--trials", "floating-point"]),
    (["shift", "FEAT", "--p", "10", "--empirical", "--trials", "5000000", "--memory", "100M"],
     ["memory budget", "--trials"]),
    (["shift", "HUGE", "--p", "10"], ["memory budget", "100000×100000"]),
    (["shift", "HUGE", "--p", "10", "--kernel", "rbf"], ["memory budget", "100000×100000"]),
    (["shift-optimize", "HUGE", "--p", "10", "--objective", "adversarial-test"], ["memory budget"]),
    (["shift-optimize", "GRAM", "--p", "10", "--steps", "100000000"], ["--steps"]),
    (["shift-optimize", "HUGE", "--p", "10", "--memory", "100T", "--steps", "1"], ["--steps", "floating-point"]),
    (["shift-optimize", "FEAT", "--p", "10", "--memory", "1K"], ["memory budget"]),
])
def test_absurd_budgets_are_refused_fast(run, feat_file, gram_file, huge_gram, args, words):  # noqa: F811
    args = [{"FEAT": feat_file, "GRAM": gram_file, "HUGE": huge_gram}.get(a, a) for a in args]
    line = refused_fast(run, *args)
    for w in words:
        assert w in line, line


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("args", [
    ["--p", "10", "--ridge", "0.01", "--steps", "3"],
    ["--p", "10", "--ridge", "0.01", "--steps", "3", "--per-group"],
    ["--p", "10", "--ridge", "0.01", "--objective", "adversarial-test", "--temperature", "0.1"],
    ["--p", "10", "--ridge", "0.01", "--objective", "beneficial-test", "--per-group", "--empirical", "--trials", "3"],
])
def test_shift_optimize_plot_writes_a_figure(run, feat_file, tmp_path, args):  # noqa: F811
    fig = tmp_path / "measure.png"
    r = run("shift-optimize", feat_file, *args, "--plot", fig, "-q")
    assert r.exit_code == 0, r.stderr
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and fig.stat().st_size > 5000
    assert r.stdout.startswith(("index,weight", "group,weight"))


def test_shift_plot_writes_a_figure(run, feat_file, tmp_path):  # noqa: F811
    fig = tmp_path / "curve.svg"
    r = run("shift", feat_file, "--p", "5,10,20", "--ridge", "0.01", "--empirical", "--trials", "3", "--plot", fig,
            "-q")
    assert r.exit_code == 0, r.stderr
    assert b"<svg" in fig.read_bytes()[:500]


def test_train_measure_starts_from_the_uniform_measure(feat_file):  # noqa: F811
    """Per point or per group, eg_uniform is the error of the uniform measure over the support,
    the measure the experiment's `eg_uniform_empirical` draws from."""
    a = kc.shift_optimize(feat_file, p=10, ridge=0.01, steps=2)
    b = kc.shift_optimize(feat_file, p=10, ridge=0.01, steps=2, per_group=True)
    xp, xq, yp, yq = _data()
    c = kc.shift(train={"features": xp, "targets": yp}, test={"features": xq, "targets": yq}, p=10, ridge=0.01)
    assert b.summary["eg_uniform"] == pytest.approx(a.summary["eg_uniform"], rel=1e-12)
    assert a.summary["eg_uniform"] == pytest.approx(c.eg_test[0], rel=1e-8)
    assert b.summary["eg_optimized"] <= b.summary["eg_uniform"]
