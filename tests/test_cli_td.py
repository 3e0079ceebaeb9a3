"""`kerncurve td` through click's CliRunner on tiny HDF5 chains."""

import csv
import io
import json
import os

import h5py
import numpy as np
import pytest

from conftest import one_error
from click.testing import CliRunner

from kerncurve.cli import main
from kerncurve.theory.td import make_chain, td_curve, td_setup


def _chain(S=5, N=3, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((S, S))
    P[rng.random((S, S)) < 0.4] = 0.0
    P[np.arange(S), np.arange(S)] += 0.2
    P /= P.sum(axis=1, keepdims=True)
    return P, rng.standard_normal((S, N)), rng.standard_normal(S)


def _write(path, **datasets):
    with h5py.File(path, "w") as f:
        for key, val in datasets.items():
            f[key] = val
    return str(path)


@pytest.fixture
def chain_file(tmp_path):
    P, X, r = _chain()
    return _write(tmp_path / "chain.h5", transitions=P, features=X, rewards=r)


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


BASE = ["--gamma", "0.5", "--lr", "0.05", "--batch", "2", "--episode-length", "4", "--steps", "30"]


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_matches_theory(chain_file):
    r = run("td", chain_file, *BASE, "--at", "0,5,30")
    assert r.exit_code == 0, r.stderr
    rows = _rows(r.stdout)
    assert list(rows[0]) == ["gamma", "lr", "batch", "step", "loss"]
    assert [int(x["step"]) for x in rows] == [0, 5, 30]
    P, X, rw = _chain()
    c = td_curve(td_setup(make_chain(P, X, rw), 0.5, 4), 0.05, 2, 30)
    assert [x["loss"] for x in rows] == [repr(float(v)) for v in c.loss[[0, 5, 30]]]
    assert "fixed-point residual" in r.stderr


def test_lists_make_one_row_per_combination_in_order(chain_file):
    r = run("td", chain_file, "--gamma", "0.5,0.9", "--lr", "0.05,0.02", "--batch", "1,4",
            "--episode-length", "4", "--steps", "20", "--points", "3", "--model", "gaussian")
    assert r.exit_code == 0, r.stderr
    rows = _rows(r.stdout)
    combos = []
    for x in rows:
        key = (float(x["gamma"]), float(x["lr"]), int(x["batch"]))
        if not combos or combos[-1] != key:
            combos.append(key)
    assert combos == [(g, lr, b) for g in (0.5, 0.9) for lr in (0.05, 0.02) for b in (1, 4)]
    steps = sorted({int(x["step"]) for x in rows})
    assert steps[0] == 0 and steps[-1] == 20


def test_json_and_empirical(chain_file, tmp_path):
    out = tmp_path / "out.json"
    r = run("td", chain_file, *BASE, "--at", "5,30", "--empirical", "--runs", "300",
            "--reward-noise", "0.2", "--json", "-o", out, "--plot", tmp_path / "fig.png")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    obj = json.loads(out.read_text())
    assert obj["command"] == "td"
    assert set(obj["rows"][0]) == {"gamma", "lr", "batch", "step", "loss", "loss_empirical",
                                   "loss_empirical_sem"}
    s = obj["summary"]
    assert s["per_gamma"][0]["fixed_point_residual"] < 1e-10
    assert s["plateaus"][0]["plateau"] > 0 and s["max_abs_z"] < 3.5
    for row in obj["rows"]:
        assert abs(row["loss"] - row["loss_empirical"]) < 3.5 * row["loss_empirical_sem"]
    assert os.path.getsize(tmp_path / "fig.png") > 1000


def test_seeded_output_is_reproducible(chain_file):
    a = run("td", chain_file, *BASE, "--at", "30", "--empirical", "--runs", "20", "--seed", "3")
    b = run("td", chain_file, *BASE, "--at", "30", "--empirical", "--runs", "20", "--seed", "3")
    c = run("td", chain_file, *BASE, "--at", "30", "--empirical", "--runs", "20", "--seed", "4")
    assert a.stdout == b.stdout and a.stdout != c.stdout


def test_lr_decay_and_start(tmp_path):
    P, X, r = _chain()
    start = np.array([1.0, 0, 0, 0, 0])
    path = _write(tmp_path / "c.h5", transitions=P, features=X, rewards=r, start=start)
    res = run("td", path, *BASE, "--lr-decay", "0.5", "--at", "30", "--json")
    assert res.exit_code == 0, res.stderr
    obj = json.loads(res.stdout)
    c = td_curve(td_setup(make_chain(P, X, r, start=start), 0.5, 4), 0.05, 2, 30, lr_decay=0.5)
    assert obj["rows"][0]["loss"] == c.loss[30]
    assert obj["summary"]["start"] == "/start"


@pytest.mark.parametrize(
    "change, words",
    [
        ({"transitions": np.ones((5, 4)) / 4}, ["/transitions", "square"]),
        ({"transitions": "scaled"}, ["/transitions", "row-stochastic"]),
        ({"features": np.ones((4, 3))}, ["/features", "rows"]),
        ({"rewards": np.ones(6)}, ["/rewards"]),
    ],
)
def test_bad_file_exits_2(tmp_path, change, words):
    P, X, r = _chain()
    data = {"transitions": P, "features": X, "rewards": r}
    for k, v in change.items():
        data[k] = P * 0.9 if isinstance(v, str) else v
    path = _write(tmp_path / "bad.h5", **data)
    one_error(run("td", path, *BASE), *words)


@pytest.mark.parametrize(
    "option, value",
    [("--gamma", "1"), ("--gamma", "-0.1"), ("--gamma", "0.5,1.2"), ("--lr", "0"),
     ("--lr", "-0.1"), ("--batch", "0"), ("--batch", "-2"), ("--episode-length", "0"),
     ("--episode-length", "-3")],
)
def test_bad_option_exits_2(chain_file, option, value):
    args = list(BASE)
    args[args.index(option) + 1] = value
    one_error(run("td", chain_file, *args), option)


def test_missing_dataset_exits_2(tmp_path):
    P, X, r = _chain()
    path = _write(tmp_path / "nor.h5", transitions=P, features=X)
    one_error(run("td", path, *BASE), "/rewards")
