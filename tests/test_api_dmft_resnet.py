"""`kerncurve dmft --arch resnet` / `kc.dmft(arch="resnet")`: the table, the depth limit,
API equals CLI, kernel output, and every refusal."""

import json

import h5py
import numpy as np
import pytest
from api_checks import bad_call, same_as_cli
from conftest import one_error, read_csv, write_h5

import kerncurve as kc
from kerncurve.theory import dmft as theory
from kerncurve.theory.dmft.depth_limit import extrapolate_depth


@pytest.fixture
def lin_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5))
    t = x @ rng.standard_normal(5) / np.sqrt(5)
    return write_h5(tmp_path / "lin.h5", inputs=x[:4], targets=t[:4], test__inputs=x[4:], test__targets=t[4:])


BASE = ["--gamma0", "0,1", "--time", "0.4", "--dt", "0.1", "--activation", "linear", "--arch", "resnet"]
KW = dict(gamma0=[0, 1], time=0.4, dt=0.1, activation="linear", arch="resnet")


def test_table_limit_columns_and_summary(run, lin_file):
    r = run("dmft", lin_file, *BASE, "--depth", "2,4,8")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "gamma0,depth,time,loss,alignment,loss_depth_limit,loss_depth_limit_err"
    t = read_csv(r.stdout)
    assert len(t["time"]) == 2 * 3 * 5
    with h5py.File(lin_file) as f:
        x, y = f["inputs"][()], f["targets"][()]
    kx = theory.input_kernel(x)
    for g in (0.0, 1.0):
        for L in (2, 4, 8):
            sel = (t["gamma0"] == g) & (t["depth"] == L)
            ref = theory.deep_linear_resnet(kx, y, g, 0.4, 0.1, depth=L)
            np.testing.assert_allclose(t["loss"][sel], ref.loss, rtol=1e-12)
        sel = t["gamma0"] == g
        lim, err = extrapolate_depth([2, 4, 8], t["loss"][sel].reshape(3, 5), 0.5)
        np.testing.assert_allclose(t["loss_depth_limit"][sel].reshape(3, 5), np.tile(lim, (3, 1)), rtol=1e-12)
        np.testing.assert_allclose(t["loss_depth_limit_err"][sel].reshape(3, 5), np.tile(err, (3, 1)), atol=1e-15)
    one = run("dmft", lin_file, *BASE, "--depth", "3", "--json")
    s = json.loads(one.stdout)["summary"]
    assert s["arch"] == "resnet" and s["depth"] == [3] and s["alpha"] == 0.5 and "depth_limit_final_loss" not in s
    assert "loss_depth_limit" not in json.loads(one.stdout)["rows"][0]


def test_api_equals_cli_and_kernel_output(run, lin_file, tmp_path):
    k = tmp_path / "K.h5"
    r = run("dmft", lin_file, *BASE, "--depth", "1,2", "--alpha", "1", "--beta0", "0.7", "--test-key", "/test",
            "--empirical", "--width", "64", "--seeds", "2", "--kernel-output", k, "--json")
    assert r.exit_code == 0, r.stderr
    res = kc.dmft(lin_file, **KW, depth=[1, 2], alpha=1.0, beta0=0.7, test_key="/test", empirical=True, width=64,
                  seeds=2)
    same_as_cli(r.stdout, res)
    with h5py.File(k) as f:
        np.testing.assert_array_equal(f["depth"][()], [1, 2, 1, 2])
        np.testing.assert_array_equal(f["gamma0"][()], [0, 0, 1, 1])
        assert f["kernel"].shape == (4, 5, 6, 6)
        assert f["kernel"].attrs["axes"].startswith("group")
    assert res.summary["max_relative_deviation"][0] < 0.2


@pytest.mark.parametrize("param,kw", [
    ("activation", dict(activation="tanh")),
    ("alpha", dict(alpha=0.4)),
    ("alpha", dict(alpha=1.5)),
    ("beta0", dict(beta0=-0.1)),
    ("method", dict(method="iterate")),
    ("depth", dict(depth=[2, 2])),
    ("depth", dict(depth=0)),
    ("arch", dict(arch="cnn")),
])
def test_api_refusals(lin_file, param, kw):
    bad_call(kc.dmft, param, input=lin_file, **(dict(KW, depth=2) | kw))


def test_several_depths_need_resnet(lin_file):
    bad_call(kc.dmft, "depth", input=lin_file, gamma0=1, time=0.4, dt=0.1, activation="linear", depth=[2, 3])


@pytest.mark.parametrize("args,words", [
    (["--gamma0", "1", "--time", "0.4", "--dt", "0.1", "--arch", "resnet"], ["--activation", "linear"]),
    (BASE + ["--alpha", "0.3"], ["--alpha", "[0.5, 1]"]),
    (BASE + ["--alpha", "2"], ["--alpha"]),
    (BASE + ["--method", "iterate"], ["--method"]),
    (BASE + ["--depth", "2,x"], ["--depth"]),
    (["--gamma0", "1", "--time", "0.4", "--dt", "0.1", "--activation", "linear", "--depth", "2,3"],
     ["--depth", "--arch resnet"]),
    (BASE + ["--depth", "400", "--max-memory", "0.01"], ["--max-memory"]),
])
def test_cli_refusals(run, lin_file, args, words):
    one_error(run("dmft", lin_file, *args), *words)
