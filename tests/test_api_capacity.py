"""The Python API of `capacity`: equal to the command line, validated at entry, budgets refused at once."""

import json

import h5py
import numpy as np
import pytest

import kerncurve as kc
from kerncurve.errors import InputError, InputWarning
from kerncurve.theory.capacity import cyclic, orbits_from_representation

from conftest import read_csv, write_h5
from test_api_td import Recorder, _rows, _same_columns, peak_child
from conftest import KC


@pytest.fixture
def rep_file(tmp_path):
    rep = cyclic(6, 2)
    orbits = orbits_from_representation(rep.matrices, np.random.default_rng(0).standard_normal((15, rep.d)))
    return write_h5(tmp_path / "rep.h5", representation=rep.matrices, orbits=orbits), rep.matrices, orbits


def test_builtin_group_needs_no_file_and_equals_the_cli(run):
    r = kc.capacity(group="cyclic:4", channels=2, p=[1, 2, 3, 4, 5, 8, 12])
    cli = run("capacity", "--group", "cyclic:4", "--channels", "2", "--p", "1,2,3,4,5,8,12", "--json", "-q")
    assert cli.exit_code == 0, cli.stderr
    obj = json.loads(cli.stdout)
    _same_columns(r.to_dict(), _rows(obj))
    assert r.summary == obj["summary"] and json.loads(r.to_json()) == obj
    assert (r.summary["N0"], r.summary["capacity"], r.group.order) == (2, 4, 4)
    default = kc.capacity(group="cyclic:4", channels=2, bias=True)
    csv = run("capacity", "--group", "cyclic:4", "--channels", "2", "--bias", "-q")
    _same_columns(default.to_dict(), read_csv(csv.stdout))


def test_file_with_the_check_equals_the_cli(run, rep_file):
    path, _, _ = rep_file
    calls = []
    r = kc.capacity(path, p=[2, 4, 6, 8], bias=True, empirical=True, labelings=30, seed=5, progress=Recorder(calls))
    cli = run("capacity", path, "--p", "2,4,6,8", "--bias", "--empirical", "--labelings", "30", "--seed", "5",
              "--json", "-q")
    obj = json.loads(cli.stdout)
    _same_columns(r.to_dict(), _rows(obj))
    assert r.summary == obj["summary"] and json.loads(r.to_json()) == obj
    assert calls == [["LP separability", 120, 120]]
    assert r.simulation.separable.shape == (4, 30) and r.estimate.n0 == 2


def test_arrays_equal_the_file(rep_file):
    path, m, o = rep_file
    a = kc.capacity(representation=m, orbits=o, p=[1, 3, 5], empirical=True, labelings=10, seed=1)
    b = kc.capacity(path, p=[1, 3, 5], empirical=True, labelings=10, seed=1)
    _same_columns(a.to_dict(), b.to_dict(), rtol=0)
    assert "input" not in a.summary and a.params["input"] is None
    assert {k: v for k, v in a.summary.items()} == {k: v for k, v in b.summary.items() if k != "input"}
    with pytest.warns(InputWarning, match="lower bound"):
        c = kc.capacity(orbits=o[:1])
    assert c.summary["N0_source"] == "orbit estimate (lower bound)"


@pytest.mark.parametrize("kw,param", [
    ({"group": "dihedral:4"}, "group"),
    ({"group": "cyclic:0"}, "group"),
    ({"group": 4}, "group"),
    ({"group": "perm:10001"}, "group"),
    ({"group": "cyclic:4000", "empirical": True}, "empirical"),
    ({"group": "cyclic:4", "channels": 0}, "channels"),
    ({"group": "cyclic:4", "channels": 2.5}, "channels"),
    ({"group": "cyclic:4", "p": 0}, "p"),
    ({"group": "cyclic:4", "p": [2.5]}, "p"),
    ({"group": "cyclic:4", "p": []}, "p"),
    ({"group": "cyclic:4", "p": 1e30}, "p"),
    ({"group": "cyclic:4", "labelings": 1}, "labelings"),
    ({"group": "cyclic:4", "labelings": 2.5}, "labelings"),
    ({"group": "cyclic:4", "tol": 0}, "tol"),
    ({"group": "cyclic:4", "tol": float("nan")}, "tol"),
    ({"group": "cyclic:4", "seed": -1}, "seed"),
    ({"group": "cyclic:4", "representation": np.eye(4)[None]}, "representation"),
    ({"representation": np.ones((4, 3, 2))}, "representation"),
    ({"representation": np.eye(3)}, "representation"),
    ({"representation": 1.1 * cyclic(4).matrices}, "representation"),
    ({"representation": np.full((2, 3, 3), np.nan)}, "representation"),
    ({"representation": "abc"}, "representation"),
    ({"orbits": np.ones((3, 4))}, "orbits"),
    ({"orbits": np.full((3, 4, 2), np.nan)}, "orbits"),
    ({"representation": cyclic(4).matrices, "orbits": np.ones((5, 4, 5))}, "orbits"),
    ({"orbits": np.ones((4, 2, 2)), "p": 9, "empirical": True}, "p"),
    ({}, "input"),
    ({"input": 12}, "input"),
    ({"input": "x.h5", "group": "cyclic:4"}, "group"),
    ({"input": "x.h5", "channels": 2}, "channels"),
    ({"input": "x.h5", "orbits_key": ""}, "orbits_key"),
])
def test_bad_arguments_are_input_errors_naming_the_parameter(kw, param):
    with pytest.raises(ValueError) as exc:
        kc.capacity(**kw)
    assert isinstance(exc.value, InputError)
    assert param in str(exc.value) and exc.value.param == param, str(exc.value)


def test_file_errors_name_the_file(tmp_path):
    f = write_h5(tmp_path / "b.h5", features=np.ones((3, 3)))
    with pytest.raises(InputError, match="/representation"):
        kc.capacity(f)
    g = write_h5(tmp_path / "c.h5", representation=np.ones((4, 3, 2)))
    with pytest.raises(InputError, match="not square"):
        kc.capacity(g)


def _huge_representation(path):
    with h5py.File(path, "w") as f:  # declared, never written: a few kilobytes on disk
        f.create_dataset("representation", shape=(1000, 2000, 2000), dtype="f8", chunks=(1, 100, 100),
                         compression="gzip")
    return str(path)


@pytest.mark.parametrize("args,words", [
    (["--group", "cyclic:4", "--empirical", "--labelings", "1000000000000"], ["--labelings", "4e+12 trials"]),
    (["--group", "cyclic:4", "--p", "1000000000000", "--empirical"], ["--p", "orbit-cloud numbers", "1e+10"]),
    (["--group", "cyclic:4", "--p", "20000000", "--empirical", "--labelings", "2"], ["memory budget",
                                                                                     "smaller p"]),
    (["--group", "cyclic:100000", "--empirical"], ["--empirical", "matrices", "N0 = 1"]),
    (["--group", "cyclic:4", "--channels", "4000000000000000000"], ["--channels"]),
    (["--group", "cyclic2d:100000,100000", "--empirical"], ["--empirical", "fewer channels"]),
    (["--group", "perm:1000000000000000"], ["--group", "perm:10000"]),
    (["--group", "cyclic:" + "9" * 5000], ["--group", "digits"]),
    (["HUGE"], ["memory budget", "1000 matrices of 2000x2000", "smaller representation"]),
])
def test_absurd_sizes_exit_2_fast_and_small(tmp_path, args, words):
    args = [_huge_representation(tmp_path / "huge.h5") if a == "HUGE" else a for a in args]
    code, stderr, dt, rss = peak_child(KC + ["capacity", *args], tmp_path)
    err = stderr.decode().strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), stderr[-400:]
    for w in words:
        assert w in err[0], err[0]
    assert dt < 2 and rss < 200, (dt, rss)


@pytest.mark.parametrize("group,channels,p,n0", [("cyclic2d:32,32", 256, [512, 513, 511], 256),
                                                  ("cyclic:4", 50000, [100000], 50000),
                                                  ("perm:50", 3, [6], 3)])
def test_large_groups_by_characters(tmp_path, group, channels, p, n0):
    """N0 without matrices: a conv layer's 2-D shifts on 256 channels of 32×32 (d = 262144)."""
    r = kc.capacity(group=group, channels=channels, p=p)
    assert r.summary["N0"] == n0 and r.summary["N0_source"] == "characters (no matrices)"
    frac = dict(zip(r.p.tolist(), r.fraction.tolist()))
    assert frac.get(2 * n0, 0.5) == 0.5  # exactly one half at P = 2N0
    code, stderr, cpu, rss = peak_child(KC + ["capacity", "--group", group, "--channels", str(channels), "--p",
                                              ",".join(map(str, p)), "-q"], tmp_path)
    assert code == 0 and cpu < 2 and rss < 200, (stderr, cpu, rss)


def test_characters_agree_with_matrices():
    from kerncurve.theory.capacity.characters import character_n0

    for spec, c in (("cyclic:6", 3), ("cyclic2d:3,4", 2), ("perm:5", 2), ("perm:1", 4)):
        assert character_n0(spec, c).n0 == kc.capacity(group=spec, channels=c, p=[2]).summary["N0"]
