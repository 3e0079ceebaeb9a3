"""`kerncurve.dmft`: the library function equals the command line, validates every argument,
and the command line refuses absurd budgets before allocating anything."""

import json

import h5py
import numpy as np
import pytest
from api_checks import bad_call, refused_fast
from conftest import write_h5

import kerncurve as kc


@pytest.fixture
def dmft_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 6))
    t = np.tanh(x @ rng.standard_normal(6) / np.sqrt(6) * 2)
    return write_h5(tmp_path / "dmft.h5", inputs=x[:5], targets=t[:5], test__inputs=x[5:], test__targets=t[5:])


@pytest.fixture
def arrays(dmft_file):
    with h5py.File(dmft_file) as f:
        return f["inputs"][()], f["targets"][()], f["test/inputs"][()], f["test/targets"][()]


FAST = dict(time=0.5, dt=0.1, samples=512)
CLI_FAST = ["--time", "0.5", "--dt", "0.1", "--samples", "512"]


def _same_table(cli_rows, result):
    cols = result.to_dict()
    assert list(cols) == list(cli_rows[0])
    for c, values in cols.items():
        np.testing.assert_allclose([row[c] for row in cli_rows], values, rtol=1e-12, atol=0, err_msg=c)


def _same_summary(cli_summary, summary, skip=()):
    assert set(cli_summary) == set(summary)
    for k, v in summary.items():
        if k in skip:
            continue
        if isinstance(v, (float, list)) and not isinstance(v, bool):
            assert cli_summary[k] == pytest.approx(v, rel=1e-12), k
        else:
            assert cli_summary[k] == v, k


@pytest.mark.parametrize("cli_args, kwargs", [
    (["--gamma0", "0,1.5", *CLI_FAST, "--test-key", "/test", "--every", "2", "--empirical", "--width", "64",
      "--seeds", "2"],
     dict(gamma0=[0, 1.5], every=2, empirical=True, width=64, seeds=2, test_key="/test", **FAST)),
    (["--gamma0", "1", "--time", "0.3", "--dt", "0.1", "--activation", "linear", "--depth", "2", "--test-key",
      "/test"],
     dict(gamma0=1, time=0.3, dt=0.1, activation="linear", depth=2, test_key="/test")),
    (["--gamma0", "1", "--time", "0.3", "--dt", "0.1", "--activation", "linear", "--depth", "3", "--method",
      "iterate", "--seed", "5"],
     dict(gamma0=1, time=0.3, dt=0.1, activation="linear", depth=3, method="iterate", seed=5)),
])
def test_api_equals_cli(run, dmft_file, arrays, cli_args, kwargs):
    r = run("dmft", dmft_file, *cli_args, "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    res = kc.dmft(dmft_file, **kwargs)
    _same_table(out["rows"], res)
    _same_summary(out["summary"], res.summary)
    assert out["params"] == json.loads(res.to_json())["params"]
    # the same data as arrays: the same numbers (only the summary's input path differs)
    x, y, xt, yt = arrays
    kw = {k: v for k, v in kwargs.items() if k != "test_key"}
    if "test_key" in kwargs:
        kw.update(X_test=xt, y_test=yt)
    mem = kc.dmft(X=x, y=y, **kw)
    _same_table(out["rows"], mem)
    _same_summary(out["summary"], mem.summary, skip=("input",))
    assert mem.summary["input"] == ""


def test_result_objects_and_kernel_datasets(dmft_file):
    r = kc.dmft(dmft_file, gamma0=[0, 1], every=5, test_key="/test", **FAST)
    assert len(r.results) == 2 and r.networks == []
    k = r.kernel_datasets()
    assert k["kernel"].shape == (2, 2, 7, 7) and k["final_kernel"].shape == (2, 7, 7)
    np.testing.assert_array_equal(k["time"], [0.0, 0.5])
    assert np.ptp(r.alignment[r.gamma0 == 0]) == 0  # lazy: the kernel does not move


def test_progress_is_called(dmft_file):
    seen = []

    class Bar:
        def __init__(self, description, total):
            seen.append((description, total))

        def __enter__(self):
            return lambda n=1: seen.append(n)

        def __exit__(self, *exc):
            return False

    kc.dmft(dmft_file, gamma0=[0, 1], progress=Bar, **FAST)
    assert seen[0] == ("dmft (two-layer sampler)", 10) and sum(seen[1:]) == 10


# --------------------------------------------------------------------------- invalid arguments


def _bad(param, **kw):
    return bad_call(kc.dmft, param, **kw)


@pytest.mark.parametrize("param, kw", [
    ("gamma0", dict(gamma0=-1)), ("gamma0", dict(gamma0=[])), ("gamma0", dict(gamma0=[0, float("nan")])),
    ("gamma0", dict(gamma0="abc")),
    ("time", dict(time=0)), ("time", dict(time=float("inf"))), ("time", dict(time=[1, 2])),
    ("dt", dict(dt=-0.1)), ("dt", dict(dt="x")),
    ("activation", dict(activation="sigmoid")),
    ("depth", dict(depth=0)), ("depth", dict(depth=1.5)), ("depth", dict(depth=2)),
    ("samples", dict(samples=1000)), ("samples", dict(samples=1)), ("samples", dict(samples=512.5)),
    ("scheme", dict(scheme="rk4")), ("method", dict(method="newton")),
    ("damping", dict(damping=0)), ("damping", dict(damping=1.5)), ("tol", dict(tol=0)),
    ("max_iter", dict(max_iter=0)), ("every", dict(every=0)), ("every", dict(every=0.5)),
    ("width", dict(width=0)), ("seeds", dict(seeds=0)), ("max_memory", dict(max_memory=-1)),
    ("seed", dict(seed=-1)), ("seed", dict(seed=2**63)),
    ("method", dict(depth=2, activation="linear", method="iterate", scheme="gd")),
])
def test_bad_options(dmft_file, param, kw):
    args = dict(gamma0=1, **FAST)
    args.update(kw)
    _bad(param, input=dmft_file, **args)


def test_bad_arrays(arrays, dmft_file):
    x, y, xt, yt = arrays
    ok = dict(gamma0=1, **FAST)
    _bad("input", **ok)
    _bad("input", X=x, **ok)
    _bad("input", input=42, X=x, y=y, **ok)
    _bad("input", input=dmft_file, X=x, y=y, **ok)
    _bad("X", X=x[:, 0], y=y, **ok)
    _bad("X", X=np.where(x == x[0, 0], np.nan, x), y=y, **ok)
    _bad("X", X=np.empty((0, 6)), y=y, **ok)
    _bad("y", X=x, y=y[:-1], **ok)
    _bad("y", X=x, y=np.stack([y, y], 1), **ok)
    _bad("y", X=x, y=np.zeros_like(y), **ok)
    _bad("X_test", X=x, y=y, X_test=xt[:, :3], y_test=yt, **ok)
    _bad("y_test", X=x, y=y, y_test=yt, **ok)
    _bad("y_test", X=x, y=y, X_test=xt, y_test=yt[:1], **ok)
    _bad("test_key", X=x, y=y, test_key="/test", **ok)


def test_memory_budget_names_points_and_way_out(dmft_file):
    msg = _bad("max_memory", input=dmft_file, gamma0=1, time=2, dt=0.1, activation="linear", depth=2,
               max_memory=0.001)
    assert "at most" in msg and "dt=0.1" in msg
    msg = _bad("empirical", input=dmft_file, gamma0=1, empirical=True, width=10**8, **FAST)
    assert "width=100000000" in msg and "max_memory=4" in msg


# --------------------------------------------------------------------------- budgets on the command line


@pytest.mark.parametrize("args, words", [
    (["--time", "1e12", "--dt", "1e-6"], ["--time", "steps", "--dt"]),
    (["--time", "1", "--dt", "1e-320"], ["--time", "inf steps"]),
    (["--time", "1e5", "--dt", "0.1", "--every", "1", "--gamma0", "0,1"], ["--every", "table rows"]),
    (["--time", "1", "--dt", "0.1", "--samples", str(2**29)], ["--max-memory", "--samples", "GiB"]),
    (["--time", "1", "--dt", "0.1", "--samples", str(2**62)], ["--samples"]),
    (["--time", "1", "--dt", "0.1", "--empirical", "--seeds", str(10**9)], ["--seeds"]),
    (["--time", "1", "--dt", "0.1", "--empirical", "--width", str(10**11)], ["--empirical", "--width", "GiB"]),
    (["--time", "1", "--dt", "0.1", "--width", str(10**30)], ["--width"]),
    (["--time", "1", "--dt", "0.1", "--activation", "linear", "--depth", str(10**6)], ["--depth"]),
    (["--time", "200", "--dt", "0.1", "--activation", "linear", "--depth", "500"], ["--max-memory", "--depth"]),
    (["--time", "1", "--dt", "0.1", "--max-iter", str(10**12)], ["--max-iter"]),
    (["--time", "1", "--dt", "0.1", "--max-memory", "1e-9"], ["--max-memory", "reading"]),
])
def test_absurd_budgets_are_refused_fast(run, dmft_file, args, words):
    if "--gamma0" not in args:
        args = ["--gamma0", "1", *args]
    line = refused_fast(run, "dmft", dmft_file, *args)
    for w in words:
        assert w in line, line
