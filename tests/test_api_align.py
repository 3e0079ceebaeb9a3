"""`kerncurve.align`: the library function equals the command line in both modes, validates
every argument, and the command line refuses absurd budgets before allocating anything."""

import json

import h5py
import numpy as np
import pytest
from api_checks import bad_call, refused_fast
from conftest import write_h5
from test_cli_align import aniso_file, toy_file  # noqa: F401 - fixtures

import kerncurve as kc


@pytest.fixture
def toy60_file(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((60, 3))
    K = np.exp(-0.5 * np.sum((x[:, None] - x[None]) ** 2, -1))
    return write_h5(tmp_path / "toy60.h5", gram=K, targets=np.sin(2 * x[:, 0]))


def _read(path, *names):
    with h5py.File(path) as f:
        return [f[n][()] for n in names]


def _same(cli, result, skip=()):
    """Table column by column to 1e-12 relative, summary key by key, params."""
    cols = result.to_dict()
    assert list(cols) == list(cli["rows"][0])
    for c, values in cols.items():
        np.testing.assert_allclose([row[c] for row in cli["rows"]], values, rtol=1e-12, atol=0, err_msg=c)
    assert set(cli["summary"]) == set(result.summary)
    for k, v in result.summary.items():
        if k in skip:
            continue
        if isinstance(v, float):
            got = cli["summary"][k]
            assert (np.isnan(v) and got == "nan") or got == pytest.approx(v, rel=1e-12), k
        else:
            assert cli["summary"][k] == v, k


@pytest.mark.parametrize("cli_args, kwargs", [
    (["--depth", "2", "--init", "1e-3", "--width", "10", "--time", "0,5,20,200", "--empirical", "--runs", "2"],
     dict(depth=2, init=1e-3, width=10, time=[0, 5, 20, 200], empirical=True, runs=2)),
    (["--depth", "3", "--init", "3e-2", "--width", "8", "--subsample", "8", "--seed", "3"],
     dict(depth=3, init=3e-2, width=8, subsample=8, seed=3)),
])
def test_deep_linear_api_equals_cli(run, aniso_file, tmp_path, cli_args, kwargs):
    out = tmp_path / "k.h5"
    r = run("align", aniso_file, *cli_args, "--json", "--kernel-output", out)
    assert r.exit_code == 0, r.stderr
    cli = json.loads(r.stdout)
    with pytest.warns(kc.NumericalWarning, match="not whitened"):
        res = kc.align(aniso_file, kernels=True, **kwargs)
    _same(cli, res)
    assert cli["params"] == json.loads(res.to_json())["params"]
    datasets, attrs = res.kernel_file
    for name, value in datasets.items():
        np.testing.assert_allclose(_read(out, name)[0], value, rtol=1e-12, atol=1e-300)
    assert attrs["mode"] == "deep-linear"
    if "subsample" not in kwargs:  # the same data as arrays
        X, y = _read(aniso_file, "inputs", "targets")
        with pytest.warns(kc.NumericalWarning):
            mem = kc.align(X=X, y=y, **kwargs)
        _same(cli, mem, skip=("input", "source"))
        assert mem.summary["source"] == "X"


@pytest.mark.parametrize("cli_args, kwargs", [
    (["--toy", "variant1", "--lam", "1.5", "--time", "0:3:7", "--empirical"],
     dict(toy="variant1", lam=1.5, time=np.linspace(0, 3, 7), empirical=True)),
    (["--toy", "variant2", "--lam", "0.5", "--subsample", "9"], dict(toy="variant2", lam=0.5, subsample=9)),
])
def test_toy_api_equals_cli(run, toy_file, tmp_path, cli_args, kwargs):
    out = tmp_path / "k.h5"
    r = run("align", toy_file, *cli_args, "--json", "--kernel-output", out)
    assert r.exit_code == 0, r.stderr
    cli = json.loads(r.stdout)
    res = kc.align(toy_file, kernels=True, **kwargs)
    _same(cli, res)
    datasets, _ = res.kernel_file
    for name, value in datasets.items():
        np.testing.assert_allclose(_read(out, name)[0], value, rtol=1e-12, atol=1e-300)
    K, y = _read(toy_file, "gram", "targets")
    mem = kc.align(gram=K, y=y, **kwargs)
    _same(cli, mem, skip=("input", "source"))


def test_toy_kernel_from_inputs_and_features(run, toy_file):
    r = run("align", toy_file, "--toy", "variant2", "--lam", "0.5", "--kernel", "rbf", "--bandwidth", "1.0", "--json")
    res = kc.align(toy_file, toy="variant2", lam=0.5, kernel="rbf", bandwidth=1.0)
    _same(json.loads(r.stdout), res)
    assert res.summary["kernel"] == "rbf" and res.run.kernel is None  # not kept unless asked
    x, y = _read(toy_file, "inputs", "targets")
    lin = kc.align(X=x, y=y, toy="variant1", lam=1.0, time=[0, 1])
    ref = kc.align(gram=x @ x.T, y=y, toy="variant1", lam=1.0, time=[0, 1])
    np.testing.assert_allclose(lin.loss, ref.loss, rtol=1e-12)
    assert lin.summary["source"] == "linear kernel of X"


# --------------------------------------------------------------------------- invalid arguments


def _bad(param, **kw):
    return bad_call(kc.align, param, **kw)


@pytest.mark.parametrize("param, kw", [
    ("depth", dict(depth=0)), ("depth", dict(depth=1.5)), ("depth", dict(depth=5000)), ("depth", dict(depth=None)),
    ("init", dict(init=0)), ("init", dict(init=-1e-3)), ("init", dict(init=float("nan"))), ("init", dict(init=None)),
    ("width", dict(width=0)), ("width", dict(width=2.5)),
    ("time", dict(time=[-1, 2])), ("time", dict(time=[])), ("time", dict(time=[0])), ("time", dict(time=[np.inf])),
    ("time", dict(time=np.zeros(10**6 + 1))), ("time", dict(time="soon")),
    ("runs", dict(runs=0)), ("runs", dict(runs=10**6)), ("subsample", dict(subsample=0)),
    ("seed", dict(seed=-1)), ("memory", dict(memory="lots")), ("memory", dict(memory="1K")),
    ("lam", dict(lam=1.0)),
])
def test_bad_deep_linear_options(aniso_file, param, kw):
    args = dict(depth=2, init=1e-3)
    args.update(kw)
    _bad(param, input=aniso_file, **args)


@pytest.mark.parametrize("param, kw", [
    ("toy", dict(toy="variant3")), ("lam", dict(lam=None)), ("lam", dict(lam=-0.5)), ("lam", dict(lam="fast")),
    ("init", dict(init=0.1)), ("depth", dict(depth=0)), ("kernel", dict(kernel="sigmoid")),
    ("bandwidth", dict(kernel="rbf", bandwidth=0)), ("degree", dict(kernel="poly", degree=0)),
    ("subsample", dict(_max_samples=5)),
])
def test_bad_toy_options(toy_file, param, kw):
    args = dict(toy="variant1", lam=1.0)
    args.update(kw)
    _bad(param, input=toy_file, **args)


def test_toy_work_budget(toy60_file):
    msg = _bad("time", input=toy60_file, toy="variant1", lam=1.0, time=np.linspace(0, 1, 10**6))
    assert "T·P³ = 2.16e+11" in msg and "subsample=" in msg


def test_bad_arrays(aniso_file, toy_file):
    X, y = _read(aniso_file, "inputs", "targets")
    K, yt = _read(toy_file, "gram", "targets")
    lin = dict(depth=2, init=1e-3)
    toy = dict(toy="variant1", lam=1.0)
    _bad("input", **lin)
    _bad("input", X=X, **lin)
    _bad("input", input=3.5, X=X, y=y, **lin)
    _bad("input", input=aniso_file, X=X, y=y, **lin)
    _bad("X", X=X[:, 0], y=y, **lin)
    _bad("X", X=np.full_like(X, np.nan), y=y, **lin)
    _bad("y", X=X, y=y[:-1], **lin)
    _bad("y", X=X, y=np.stack([y, y], 1), **lin)
    _bad("y", X=X, y=np.zeros_like(y), **lin)  # nothing to learn
    _bad("input", gram=K, **toy)
    _bad("input", gram=K, X=X, y=yt, **toy)
    _bad("gram", gram=K[:, :5], y=yt, **toy)
    _bad("gram", gram=K + np.triu(np.ones_like(K), 1), y=yt, **toy)
    _bad("gram", gram=K - 2 * np.eye(len(K)), y=yt, **toy)
    _bad("gram", gram=np.zeros_like(K), y=yt, **toy)
    _bad("y", gram=K, y=yt[:-2], **toy)
    _bad("kernel", gram=K, y=yt, kernel="rbf", **toy)
    _bad("gram", gram=K, y=yt, **lin)


def test_toy_on_a_spectrum_cache_is_refused(tmp_path, toy_file):
    cache = tmp_path / "s.h5"
    kc.spectrum(toy_file, save=cache)
    assert "spectrum cache" in _bad("spectrum cache", input=cache, toy="variant1", lam=1.0)


# --------------------------------------------------------------------------- budgets on the command line


@pytest.mark.parametrize("mode, args, words", [
    ("linear", ["--time", "0:1:1000000000000"], ["--time", "NUM"]),
    ("linear", ["--runs", str(10**6), "--empirical"], ["--runs"]),
    ("linear", ["--depth", str(10**4)], ["--depth"]),
    ("linear", ["--width", str(10**30)], ["--width"]),
    ("linear", ["--memory", "10K"], ["--memory", "10K"]),
    ("linear", ["--empirical", "--width", str(10**6), "--memory", "1G"], ["--memory", "trained networks"]),
    ("linear", ["--time", "0:1:1000000", "--memory", "100M"], ["--memory", "kernels"]),
    ("toy60", ["--time", "0:1:1000000"], ["--time", "T·P³"]),
    ("toy", ["--time", "0:1:500000", "--empirical", "--memory", "1G"], ["--memory", "kernels"]),
    ("toy", ["--memory", "1K"], ["--memory"]),
])
def test_absurd_budgets_are_refused_fast(run, aniso_file, toy_file, toy60_file, mode, args, words):
    if mode == "linear":
        base = ["align", aniso_file, "--depth", "2", "--init", "1e-3"]
    else:
        base = ["align", toy60_file if mode == "toy60" else toy_file, "--toy", "variant1", "--lam", "1"]
    line = refused_fast(run, *base, *args)
    for w in words:
        assert w in line, line
