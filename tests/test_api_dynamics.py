"""`kerncurve.dynamics` (the Python API): equal to the command line, every bad argument, every budget."""

import time

import numpy as np
import pytest

import kerncurve as kc
from api_checks import raises_input_error, same_as_cli
from conftest import gaussian_features, one_error, write_h5


@pytest.fixture
def small(tmp_path):
    x, y = gaussian_features(300, 20, seed=5)
    return write_h5(tmp_path / "small.h5", features=x, targets=y), x, y


@pytest.mark.parametrize("args,kwargs", [
    (["--width", "10,inf", "--p", "20,inf", "--time", "1,100,inf"],
     dict(width=[10, np.inf], p=[20, np.inf], time=[1, 100, np.inf])),
    (["--width", "10", "--p", "40", "--time", "1:100:3", "--empirical", "--draws", "4", "--seed", "2"],
     dict(width=10, p=40, time=np.geomspace(1, 100, 3), empirical=True, draws=4, seed=2)),
    (["--compute", "10,100,1000", "--p", "50,inf"], dict(compute=[10, 100, 1000], p=[50, np.inf])),
    (["--compute", "100", "--width", "5:50:4"], dict(compute=100, width=np.geomspace(5, 50, 4))),
    (["--width", "5", "--p", "8", "--time", "10", "--top-eigen", "10"], dict(width=5, p=8, time=10, top_eigen=10)),
])
def test_api_equals_cli(run, small, args, kwargs):
    path, _, _ = small
    r = run("dynamics", path, *args, "--json", "-q")
    assert r.exit_code == 0, r.stderr
    same_as_cli(r.stdout, kc.dynamics(path, **kwargs))


def test_spectrum_and_arrays_agree(small):
    path, x, y = small
    kw = dict(width=[10, np.inf], p=[20, 50], time=[1.0, np.inf])
    ref = kc.dynamics(path, **kw)
    np.testing.assert_allclose(kc.dynamics(kc.Spectrum.from_features(x, y), **kw).loss, ref.loss, rtol=1e-10)
    np.testing.assert_allclose(kc.dynamics(X=x, y=y, **kw).loss, ref.loss, rtol=1e-10)
    np.testing.assert_allclose(kc.dynamics(gram=x @ x.T, y=y, **kw).loss, ref.loss, rtol=1e-8)
    assert ref.spectrum.rank == 20
    front = kc.dynamics(path, compute=[10, 100, 1000])
    assert len(front.frontiers) == 1 and front.summary["p"] == np.inf


def test_warnings_come_from_the_library(small):
    path, _, _ = small
    with pytest.warns(kc.NumericalWarning, match="interpolation peak"):
        kc.dynamics(path, width=10, p=10, time=np.inf)
    with pytest.warns(kc.NumericalWarning, match="exceeds 0.2 n"):
        kc.dynamics(path, width=10, p=100, time=1.0)


def _bad(param, **kwargs):
    raises_input_error(kc.dynamics, param, **kwargs)


@pytest.mark.parametrize("param,kwargs", [
    ("width", dict(width=0, time=1)), ("width", dict(width=[-1, 2], time=1)), ("width", dict(width=[], time=1)),
    ("width", dict(width=float("nan"), time=1)), ("width", dict(width="big", time=1)),
    ("width", dict(width=10.5, time=1, empirical=True)), ("width", dict(time=1)),
    ("p", dict(width=10, p=0, time=1)), ("p", dict(width=10, p=12.5, time=1)), ("p", dict(width=10, p=2**60, time=1)),
    ("time", dict(width=10, time=-1)), ("time", dict(width=10, time=float("nan"))), ("time", dict(width=10)),
    ("time", dict(width=10, time=np.logspace(0, 3, 2_000_000))),
    ("compute", dict(compute=0)), ("compute", dict(compute=np.inf)), ("compute", dict(compute=[])),
    ("compute", dict(compute=10, width=[100, 1000], time=[1, 10])),
    ("empirical", dict(compute=10, empirical=True)),
    ("draws", dict(width=10, time=1, empirical=True, draws=1)), ("draws", dict(width=10, time=1, draws=10**9)),
    ("seed", dict(width=10, time=1, seed=-3)),
])
def test_bad_options(small, param, kwargs):
    path, x, y = small
    _bad(param, spectrum=kc.Spectrum.from_features(x, y), **kwargs)


def test_bad_inputs(small):
    path, x, y = small
    _bad("spectrum", width=10, time=1)
    _bad("gram", X=x, gram=x @ x.T, y=y, width=10, time=1)
    _bad("y", X=x, width=10, time=1)
    _bad("y", X=x, y=y[:5], width=10, time=1)
    _bad("X", X=np.full((4, 2), np.inf), y=np.ones(4), width=10, time=1)
    _bad("spectrum", spectrum=[1.0, 0.5], width=10, time=1)
    _bad("kernel", spectrum=path, kernel="nope", width=10, time=1)
    _bad("top_eigen", spectrum=kc.Spectrum.from_features(x, y), top_eigen=5, width=10, time=1)


@pytest.mark.parametrize("args,words", [
    (["--width", "10", "--time", "1:1e9:1000000000"], ["--time", "1000000"]),
    (["--width", "1:1e9:1000000", "--time", "1,2"], ["rows", "allowed"]),
    (["--width", "1:1e3:1000", "--time", "1:1e3:1000"], ["mode sums", "allowed"]),
    (["--width", "10,20", "--time", "1:1e3:10000"], ["--time", "mode sums"]),
    (["--p", "1:1e6:1000000", "--width", "10", "--time", "1"], ["mode sums"]),
    (["--compute", "1:1e9:1000000000"], ["--compute", "1000000"]),
    (["--compute", "1:1e9:100000"], ["--compute", "mode sums"]),
    (["--width", "1000000000", "--time", "1", "--empirical"], ["memory budget", "--width"]),
    (["--width", "300", "--p", "300", "--time", "1", "--empirical", "--draws", "1000000"], ["--draws", "allowed"]),
    (["--width", "10", "--time", "1", "--empirical", "--draws", "10000000"], ["--draws"]),
])
def test_budgets_refuse_absurd_sizes_at_once(run, small, args, words):
    path, _, _ = small
    start = time.perf_counter()
    one_error(run("dynamics", path, *args), *words)
    assert time.perf_counter() - start < 10  # refused before any of the work (< 2 s on an idle machine)
