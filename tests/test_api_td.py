"""The Python API of `td`: equal to the command line, validated at entry, budgets refused at once."""

import json

import numpy as np
import pytest

import kerncurve as kc
from kerncurve.errors import InputError, InputWarning, NumericalWarning

from conftest import read_csv
from test_cli_td import _chain, _write, chain_file  # noqa: F401 - chain_file is a fixture
from conftest import KC, peak_child


class Recorder:
    """A ``progress(description, total)`` callable that records [description, total, advanced]."""

    def __init__(self, calls):
        self.calls = calls

    def __call__(self, description, total):
        self.calls.append([description, total, 0])
        return self

    def __enter__(self):
        return lambda n=1: self.calls[-1].__setitem__(2, self.calls[-1][2] + n)

    def __exit__(self, *exc):
        return False


def _same_columns(api, cli, rtol=1e-12):
    assert list(api) == list(cli)
    for c in cli:
        np.testing.assert_allclose(api[c], cli[c], rtol=rtol, atol=0, err_msg=c)


def _rows(obj):
    return {c: np.array([row[c] for row in obj["rows"]], float) for c in obj["rows"][0]}


@pytest.mark.filterwarnings("ignore::kerncurve.KerncurveWarning")
def test_file_with_simulation_equals_the_cli(run, chain_file):
    r = kc.td(chain_file, gamma=[0.5, 0.8], lr=0.05, batch=[1, 3], episode_length=4, steps=30, points=5,
              empirical=True, runs=20, reward_noise=0.1, seed=2)
    cli = run("td", chain_file, "--gamma", "0.5,0.8", "--lr", "0.05", "--batch", "1,3", "--episode-length", "4",
              "--steps", "30", "--points", "5", "--empirical", "--runs", "20", "--reward-noise", "0.1", "--seed", "2",
              "--json", "-q")
    assert cli.exit_code == 0, cli.stderr
    obj = json.loads(cli.stdout)
    _same_columns(r.to_dict(), _rows(obj))
    assert r.summary == obj["summary"]
    assert json.loads(r.to_json()) == obj
    assert r.columns == ["gamma", "lr", "batch", "step", "loss", "loss_empirical", "loss_empirical_sem"]
    assert len(r.curves) == 4 and set(r.setups) == {0.5, 0.8}
    assert r.curves[0][3].loss.shape == (31,) and r.curves[0][4].runs == 20


@pytest.mark.filterwarnings("ignore::kerncurve.KerncurveWarning")
def test_arrays_equal_the_file_and_the_cli(run, tmp_path):
    P, X, rw = _chain(seed=3)
    start = np.array([0.5, 0.5, 0, 0, 0])
    path = _write(tmp_path / "c.h5", transitions=P, features=X, rewards=rw, start=start)
    kw = dict(gamma=0.6, lr=[0.02, 0.05], steps=40, at=[0, 7, 40], model="gaussian", lr_decay=0.3, episode_length=3)
    a = kc.td(transitions=P, features=X, rewards=rw, start=start, **kw)
    b = kc.td(path, **kw)
    cli = run("td", path, "--gamma", "0.6", "--lr", "0.02,0.05", "--steps", "40", "--at", "0,7,40", "--model",
              "gaussian", "--lr-decay", "0.3", "--episode-length", "3", "-q")
    assert cli.exit_code == 0, cli.stderr
    _same_columns(a.to_dict(), read_csv(cli.stdout))
    _same_columns(a.to_dict(), b.to_dict(), rtol=0)
    assert b.summary["start"] == "/start" and a.summary["start"] == "given" and "input" not in a.summary
    assert {k: v for k, v in a.summary.items() if k != "start"} == {
        k: v for k, v in b.summary.items() if k not in ("start", "input")}
    assert a.summary["plateaus"][0]["plateau"] is None  # no plateau with a decaying rate


@pytest.mark.filterwarnings("ignore:.*not in the span")
def test_library_warns_and_reports_progress(chain_file):
    calls = []
    bar = Recorder(calls)
    with pytest.warns(InputWarning, match="not in the span"):
        kc.td(chain_file, gamma=0.5, lr=0.05, steps=12, episode_length=4, empirical=True, runs=3, progress=bar)
    assert calls == [["TD(0) recursion and simulation", 24, 24]]
    with pytest.warns(NumericalWarning, match="diverges"):
        r = kc.td(chain_file, gamma=0.9, lr=50.0, steps=200, episode_length=4)
    assert np.isinf(r.loss[-1])


def _p():
    return _chain()


@pytest.mark.parametrize("kw,param", [
    ({"gamma": 1.0}, "gamma"),
    ({"gamma": [0.5, -0.1]}, "gamma"),
    ({"gamma": float("nan")}, "gamma"),
    ({"gamma": []}, "gamma"),
    ({"gamma": "half"}, "gamma"),
    ({"lr": 0.0}, "lr"),
    ({"lr": [0.1, float("inf")]}, "lr"),
    ({"batch": 0}, "batch"),
    ({"batch": 1.5}, "batch"),
    ({"steps": -1}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"steps": [3, 4]}, "steps"),
    ({"episode_length": 0}, "episode_length"),
    ({"points": -1}, "points"),
    ({"at": [3.5]}, "at"),
    ({"at": [-1]}, "at"),
    ({"at": [50]}, "at"),
    ({"model": "poisson"}, "model"),
    ({"reward_noise": -0.1}, "reward_noise"),
    ({"lr_decay": float("nan")}, "lr_decay"),
    ({"runs": 1}, "runs"),
    ({"seed": -1}, "seed"),
    ({"transitions": np.ones((5, 4)) / 4}, "transitions"),
    ({"transitions": np.ones((5, 5))}, "transitions"),
    ({"transitions": np.full((5, 5), np.nan)}, "transitions"),
    ({"transitions": np.ones(5) / 5}, "transitions"),
    ({"features": np.ones((4, 3))}, "features"),
    ({"features": np.empty((5, 0))}, "features"),
    ({"rewards": np.ones(6)}, "rewards"),
    ({"rewards": "abc"}, "rewards"),
    ({"start": np.ones(5)}, "start"),
    ({"start": np.ones(4) / 4}, "start"),
    ({"rewards": None}, "rewards"),
    ({"input": "x.h5"}, "transitions"),
])
def test_bad_arguments_are_input_errors_naming_the_parameter(kw, param):
    P, X, r = _p()
    args = dict(transitions=P, features=X, rewards=r, gamma=0.5, lr=0.1, steps=20, episode_length=3)
    args.update(kw)
    with pytest.raises(ValueError) as exc:
        kc.td(**args)
    assert isinstance(exc.value, InputError)
    assert param in str(exc.value) and exc.value.param == param, str(exc.value)


def test_input_errors_without_arrays(tmp_path):
    with pytest.raises(InputError, match="input") as exc:
        kc.td(gamma=0.5, lr=0.1, steps=3)
    assert exc.value.param == "input"
    with pytest.raises(InputError, match="input must be a path"):
        kc.td(12, gamma=0.5, lr=0.1, steps=3)
    with pytest.raises(InputError, match="does not exist"):
        kc.td(tmp_path / "nope.h5", gamma=0.5, lr=0.1, steps=3)
    P, X, r = _p()
    path = _write(tmp_path / "c.h5", transitions=P, features=X, rewards=r)
    with pytest.raises(InputError, match="start_key"):
        kc.td(path, gamma=0.5, lr=0.1, steps=3, start_key="")


def test_exact_model_refuses_a_chain_with_too_many_transitions(run, tmp_path):
    S = 70  # 4900 nonzero transitions > 4000
    P = np.full((S, S), 1.0 / S)
    path = _write(tmp_path / "dense.h5", transitions=P, features=np.eye(S)[:, :4], rewards=np.ones(S))
    with pytest.raises(InputError, match="model=gaussian") as exc:
        kc.td(path, gamma=0.5, lr=0.1, steps=3)
    assert exc.value.param == "model"
    line = run("td", path, "--gamma", "0.5", "--lr", "0.1", "--steps", "3").stderr
    assert "--model gaussian" in line and "4900" in line


_MANY = ",".join(str(0.001 * k) for k in range(1, 101))


@pytest.mark.parametrize("args,words", [
    (["--steps", "1000000000000"], ["--steps", "1e+12", "recursion updates", "fewer steps"]),
    (["--steps", "4000000", "--lr", "0.1,0.2,0.3"], ["--steps", "1.2e+07", "3 combinations"]),
    (["--steps", "100", "--points", "1000000000000"], ["--points", "1e+12", "--at"]),
    (["--steps", "1", "--lr", _MANY, "--batch", ",".join(map(str, range(1, 101))), "--gamma",
      ",".join(str(0.005 * k) for k in range(100))], ["table rows", "fewer"]),
    (["--steps", "100", "--empirical", "--runs", "1000000000000"], ["--runs", "simulated transitions"]),
    (["--steps", "100", "--empirical", "--batch", "100000000000"], ["simulated transitions", "episodes per batch"]),
    (["--steps", "10", "--episode-length", "100000000"], ["--episode-length 100000000", "memory budget",
                                                          "shorter episodes"]),
    (["--steps", "1", "--episode-length", "30000", "--empirical", "--runs", "100000"],
     ["memory budget", "fewer runs"]),
])
def test_absurd_sizes_exit_2_fast_and_small(chain_file, tmp_path, args, words):
    base = {"--gamma": "0.5", "--lr": "0.1"}
    flags = [a for a in args if a.startswith("--")]
    extra = [x for k, v in base.items() if k not in flags for x in (k, v)]
    code, stderr, dt, rss = peak_child(KC + ["td", chain_file, *extra, *args], tmp_path)
    err = stderr.decode().strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), stderr[-400:]
    for w in words:
        assert w in err[0], err[0]
    assert dt < 2 and rss < 200, (dt, rss)


def test_a_large_chain_is_refused_before_its_stationary_law_is_solved():
    S = 3000  # least squares for the stationary law alone would take seconds
    with pytest.raises(InputError, match="memory budget") as exc:
        kc.td(transitions=np.eye(S), features=np.ones((S, 1)), rewards=np.ones(S), gamma=0.5, lr=0.1, steps=1,
              episode_length=200, model="gaussian")
    assert "episode_length=200" in str(exc.value) and "3000 states" in str(exc.value)
