"""`kerncurve.sgd` (the Python API): equal to the command line, every bad argument, every budget."""

import time

import numpy as np
import pytest

import kerncurve as kc
from api_checks import raises_input_error, same_as_cli
from conftest import one_error, write_h5
from kerncurve.api.sgd import load_sgd


@pytest.fixture
def relu(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 4))
    psi = np.maximum(x @ rng.standard_normal((4, 8)), 0)
    y = np.sign(x[:, 0])
    return write_h5(tmp_path / "relu.h5", features=psi, targets=y), psi, y


@pytest.mark.parametrize("args,kwargs", [
    (["--lr-frac", "0.4", "--batch", "1,4", "--steps", "50", "--points", "5", "--noise", "0,0.1"],
     dict(lr_frac=0.4, batch=[1, 4], steps=50, points=5, noise=[0, 0.1])),
    (["--lr", "0.01,0.02", "--steps", "30", "--points", "4", "--model", "gaussian"],
     dict(lr=[0.01, 0.02], steps=30, points=4, model="gaussian")),
    (["--compute", "64", "--batch", "1,4", "--lr", "opt", "--model", "gaussian"],
     dict(compute=64, batch=[1, 4], lr="opt", model="gaussian")),
    (["--lr-frac", "0.4", "--steps", "20", "--points", "3", "--empirical", "--runs", "20"],
     dict(lr_frac=0.4, steps=20, points=3, empirical=True, runs=20)),
    (["--lr-frac", "0.4", "--batch", "2", "--steps", "20", "--points", "3", "--train-size", "30", "--empirical",
      "--runs", "10", "--seed", "3"],
     dict(lr_frac=0.4, batch=2, steps=20, points=3, train_size=30, empirical=True, runs=10, seed=3)),
])
def test_api_equals_cli(run, relu, args, kwargs):
    path, psi, y = relu
    r = run("sgd", path, *args, "--json", "-q")
    assert r.exit_code == 0, r.stderr
    same_as_cli(r.stdout, kc.sgd(path, **kwargs), params=False)  # the CLI keeps --lr as typed


def test_arrays_gram_spectrum_and_loaded_input_agree(relu):
    path, psi, y = relu
    kw = dict(lr=0.02, batch=2, steps=40, points=5)
    ref = kc.sgd(path, **kw)
    a = kc.sgd(X=psi, y=y, **kw)
    np.testing.assert_allclose(a.loss, ref.loss, rtol=1e-12)
    g = kc.sgd(gram=psi @ psi.T, y=y, **kw)
    np.testing.assert_allclose(g.loss, ref.loss, rtol=1e-8)
    spec = kc.Spectrum.from_features(psi, y, basis=True)
    np.testing.assert_allclose(kc.sgd(spec, y=y, **kw).loss, ref.loss, rtol=1e-10)
    # a spectrum alone serves the Gaussian model
    gauss = kc.sgd(kc.Spectrum.from_features(psi, y), model="gaussian", **kw)
    np.testing.assert_allclose(gauss.loss, kc.sgd(path, model="gaussian", **kw).loss, rtol=1e-10)
    data = load_sgd(path)
    assert kc.sgd(data, **kw).to_dict().keys() == ref.to_dict().keys()
    assert ref.summary["model"] == "empirical" and ref.sgd_data.has_samples


def test_progress_is_reported(relu):
    path, _, _ = relu
    seen = []

    class Bar:
        def __init__(self, description, total):
            seen.append(description)

        def __enter__(self):
            return lambda n=1: None

        def __exit__(self, *exc):
            return False

    kc.sgd(path, steps=10, points=3, empirical=True, runs=4, progress=Bar)
    assert {"stability edges", "SGD recursion", "simulated SGD"} <= set(seen)


def _bad(param, **kwargs):
    raises_input_error(kc.sgd, param, **kwargs)


@pytest.mark.parametrize("param,kwargs", [
    ("lr", dict(lr=0)), ("lr", dict(lr=[0.1, -1])), ("lr", dict(lr=float("nan"))), ("lr", dict(lr="fast")),
    ("lr", dict(lr=["opt", 0.1])), ("lr", dict(lr=0.1, lr_frac=0.2)),
    ("lr_frac", dict(lr_frac=1.5)), ("lr_frac", dict(lr_frac=0)), ("lr_frac", dict(lr_frac=float("inf"))),
    ("batch", dict(batch=0)), ("batch", dict(batch=2.5)), ("batch", dict(batch=[])), ("batch", dict(batch="x")),
    ("steps", dict(steps=0)), ("steps", dict(steps=10.5)), ("steps", dict(steps=10**12)),
    ("points", dict(points=0)), ("points", dict(points=10**10)),
    ("noise", dict(noise=-1)), ("noise", dict(noise=float("nan"))), ("noise", dict(noise=[])),
    ("model", dict(model="exactish")),
    ("compute", dict(compute=0)), ("compute", dict(compute=3, batch=4)), ("compute", dict(compute=10**15)),
    ("train_size", dict(train_size=0)), ("train_size", dict(train_size=2, batch=4)),
    ("train_size", dict(train_size=10**6)),
    ("runs", dict(runs=1)), ("runs", dict(runs=10**12)), ("seed", dict(seed=-1)),
])
def test_bad_options(relu, param, kwargs):
    path, psi, y = relu
    _bad(param, X=psi, y=y, **kwargs)


def test_bad_inputs(relu):
    path, psi, y = relu
    _bad("input")
    _bad("gram", X=psi, gram=psi @ psi.T, y=y)
    _bad("y", X=psi)
    _bad("y", X=psi, y=y[:10])
    _bad("y", X=psi, y=np.c_[y, y])
    _bad("y", input=path, y=y)
    _bad("X", X=psi[:, :, None], y=y)
    _bad("X", X=np.full((3, 2), np.nan), y=np.ones(3))
    _bad("X", X=np.zeros((0, 2)), y=np.ones(0))
    _bad("gram", gram=psi, y=y)
    _bad("input", input=3.5)
    _bad("kernel", input=path, kernel="rbff")
    _bad("bandwidth", input=path, kernel="rbf", bandwidth=-1)
    spec = kc.Spectrum.from_features(psi, y)
    _bad("empirical", input=spec, empirical=True)
    _bad("train_size", input=spec, train_size=10)
    _bad("model", input=spec, model="exact")
    _bad("spectrum", input=spec, y=y)  # no basis: the exact model cannot be built
    _bad("y", input=kc.Spectrum.from_features(psi, y, basis=True), y=-y)  # not the spectrum's target
    _bad("input", input=kc.Spectrum.from_features(psi, np.c_[y, y]))
    _bad("X", input=load_sgd(path), X=psi)


def test_lr_above_the_edge_warns_from_the_library(relu):
    path, _, _ = relu
    with pytest.warns(kc.NumericalWarning, match="stability edge"):
        r = kc.sgd(path, lr=50, steps=3000, points=3)
    assert np.isinf(r.loss[-1])


@pytest.mark.parametrize("args,words", [
    (["--points", "10000000000"], ["--points", "1e+06"]),
    (["--steps", "1000000000000"], ["--steps", "1e+09"]),
    (["--steps", "900000000"], ["--steps", "floating-point operations", "allowed"]),
    (["--steps", "900000000", "--model", "gaussian"], ["--steps", "floating-point operations"]),
    (["--compute", "1000000000000000"], ["--compute", "steps", "1e+09"]),
    (["--compute", "100000000000", "--batch", "1000"], ["--compute", "floating-point"]),
    (["--compute", "10000000", "--lr", "opt"], ["--compute", "floating-point", "--lr opt"]),
    (["--runs", "100000000000", "--empirical"], ["--runs", "1e+06"]),
    (["--runs", "1000000", "--empirical", "--steps", "100000"], ["--runs", "simulation", "allowed"]),
    (["--batch", "100000000", "--empirical", "--runs", "1000"], ["memory budget", "--runs"]),
    (["--points", "1000000", "--steps", "100000000", "--lr", "0.1,0.2", "--model", "gaussian"], ["--points", "rows"]),
])
def test_budgets_refuse_absurd_sizes_at_once(run, relu, args, words):
    path, _, _ = relu
    start = time.perf_counter()
    one_error(run("sgd", path, *args), *words)
    assert time.perf_counter() - start < 10  # refused before any of the work (< 2 s on an idle machine)
