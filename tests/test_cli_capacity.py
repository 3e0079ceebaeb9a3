"""`kerncurve capacity` through the CLI: outputs, --json, and every bad input."""

import json
import os

import numpy as np
import pytest

from conftest import SAMPLES, read_csv, write_h5, one_error

from kerncurve.cli.common import parse_p
from kerncurve.theory.capacity import (
    cover_fraction,
    cyclic,
    orbits_from_representation,
    z4_rotation,
)


@pytest.fixture
def rep_file(tmp_path):
    rep = cyclic(6, 2)
    rng = np.random.default_rng(0)
    orbits = orbits_from_representation(rep.matrices, rng.standard_normal((15, rep.d)))
    return write_h5(tmp_path / "rep.h5", representation=rep.matrices, orbits=orbits)


# ---------------------------------------------------------------------------------------
# outputs


def test_group_csv_default_range(run):
    r = run("capacity", "--group", "cyclic:8", "--channels", "5", "-q")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines()[0] == "p,fraction"
    t = read_csv(r.stdout)
    np.testing.assert_array_equal(t["p"], np.arange(1, 21))  # 1 .. 4 N0
    np.testing.assert_array_equal(t["fraction"], cover_fraction(np.arange(1, 21), 5))
    assert t["fraction"][9] == 0.5  # P = 2 N0
    assert r.stdout.splitlines()[1] == "1,1.0"


@pytest.mark.parametrize(
    "args,d,order,n0",
    [
        (["--group", "cyclic:8", "--channels", "5"], 40, 8, 5),
        (["--group", "cyclic2d:4,4", "--channels", "3"], 48, 16, 3),
        (["--group", "perm:3", "--channels", "4"], 12, 6, 4),
    ],
)
def test_json_summary_must_reach(run, args, d, order, n0):
    r = run("capacity", *args, "--json", "-q")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["command"] == "capacity"
    s = obj["summary"]
    assert (s["d"], s["group_order"], s["N0"], s["capacity"]) == (d, order, n0, 2 * n0)
    assert s["capacity_without_invariance"] == 2 * d
    assert set(obj["rows"][0]) == {"p", "fraction"}


def test_z4_rotation_from_file(run, tmp_path):
    f = write_h5(tmp_path / "z4.h5", representation=z4_rotation().matrices)
    r = run("capacity", f, "--p", "1,2,3,4", "--bias", "--json", "-q")
    s = json.loads(r.stdout)["summary"]
    assert (s["d"], s["group_order"], s["N0"], s["capacity"]) == (3, 4, 1, 4)  # 2(N0 + 1) with --bias
    rows = json.loads(r.stdout)["rows"]
    assert [row["fraction"] for row in rows] == [1.0, 0.5, 0.25, 0.125]
    assert [row["fraction_bias"] for row in rows] == [1.0, 1.0, 0.75, 0.5]


def test_representation_and_orbits_agree(run, rep_file):
    r = run("capacity", rep_file, "--json", "-q")
    s = json.loads(r.stdout)["summary"]
    assert s["N0"] == 2 and s["N0_orbit_estimate"] == 2
    assert s["N0_orbit_estimate_lower_bound"] is False
    assert s["closed_under_products"] is True and s["is_projector"] is True


def test_orbits_only_gives_flagged_estimate(run, tmp_path):
    rep = cyclic(6, 3)
    rng = np.random.default_rng(1)
    many = orbits_from_representation(rep.matrices, rng.standard_normal((10, rep.d)))
    few = many[:2]
    a = write_h5(tmp_path / "many.h5", orbits=many)
    b = write_h5(tmp_path / "few.h5", orbits=few)
    s = json.loads(run("capacity", a, "--json", "-q").stdout)["summary"]
    assert (s["N0"], s["group_order"], s["d"]) == (3, 6, 18)
    assert s["N0_source"] == "orbit estimate" and not s["N0_orbit_estimate_lower_bound"]
    r = run("capacity", b, "--json")
    s = json.loads(r.stdout)["summary"]
    assert s["N0"] == 2 and s["N0_orbit_estimate_lower_bound"] is True
    assert "lower bound" in s["N0_source"]
    assert "lower bound" in r.stderr  # the human summary and a warning say so too
    assert "warning: N0 = 2 is only a lower bound" in r.stderr


def test_empirical_columns_reproducible_and_within_3se(run, rep_file, tmp_path):
    args = ("capacity", rep_file, "--p", "2,4,6,8", "--empirical", "--labelings", "60", "--seed", "4", "-q")
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "p,fraction,fraction_empirical,fraction_empirical_sem"
    t = read_csv(r.stdout)
    se = np.sqrt(t["fraction"] * (1 - t["fraction"]) / 60)
    assert np.all(np.abs(t["fraction_empirical"] - t["fraction"]) <= 3 * se)
    assert run(*args).stdout == r.stdout  # same seed, same bytes
    other = run(*args[:-3], "--seed", "5", "-q")
    assert other.stdout != r.stdout


def test_empirical_with_bias_and_group(run):
    r = run("capacity", "--group", "perm:3", "--channels", "2", "--p", "2,3,5,6,9", "--bias",
            "--empirical", "--labelings", "60", "-q")
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert r.stdout.splitlines()[0] == "p,fraction,fraction_bias,fraction_empirical,fraction_empirical_sem"
    se = np.sqrt(t["fraction_bias"] * (1 - t["fraction_bias"]) / 60)
    assert np.all(np.abs(t["fraction_empirical"] - t["fraction_bias"]) <= 3 * se)


def test_output_file_and_plot(run, tmp_path):
    out, fig = tmp_path / "cap.csv", tmp_path / "cap.png"
    r = run("capacity", "--group", "cyclic:4", "--p", "1:50:10", "--empirical", "--labelings", "10",
            "-o", out, "--plot", fig)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert read_csv(out.read_text())["p"].tolist() == parse_p("1:50:10").tolist()
    assert fig.read_bytes()[:4] == b"\x89PNG"
    assert "kerncurve capacity" in r.stderr


def test_sample_file(run):
    path = os.path.join(SAMPLES, "cyclic_orbits.h5")
    if not os.path.exists(path):
        pytest.skip("sample data not generated")
    s = json.loads(run("capacity", path, "--json", "-q").stdout)["summary"]
    assert (s["d"], s["group_order"], s["N0"], s["N0_orbit_estimate"]) == (32, 8, 4, 4)


def test_not_closed_warns_but_runs(run, tmp_path):
    f = write_h5(tmp_path / "open.h5", representation=cyclic(8).matrices[:5])
    r = run("capacity", f, "--p", "1,2")
    assert r.exit_code == 0
    assert "warning:" in r.stderr and "not closed under products" in r.stderr
    assert "error:" not in r.stderr


# ---------------------------------------------------------------------------------------
# bad input: exit 2, one error: line, no traceback


def test_bad_not_square(run, tmp_path):
    f = write_h5(tmp_path / "b.h5", representation=np.ones((4, 3, 2)))
    assert "not square" in one_error(run("capacity", f))


def test_bad_not_orthogonal(run, tmp_path):
    m = cyclic(4).matrices.copy()
    m[1] *= 1.1
    f = write_h5(tmp_path / "b.h5", representation=m)
    assert "not orthogonal" in one_error(run("capacity", f))


def test_bad_single_matrix(run, tmp_path):
    f = write_h5(tmp_path / "b.h5", representation=np.eye(3))
    assert "(G, d, d)" in one_error(run("capacity", f))


def test_bad_inconsistent_orbit_dimension(run, tmp_path):
    rep = cyclic(4)
    f = write_h5(tmp_path / "b.h5", representation=rep.matrices, orbits=np.ones((5, 4, 5)))
    line = one_error(run("capacity", f))
    assert "dimension 5" in line and "R^4" in line


def test_bad_nan_representation(run, tmp_path):
    m = cyclic(4).matrices.copy()
    m[0, 0, 0] = np.nan
    f = write_h5(tmp_path / "b.h5", representation=m)
    assert "NaN" in one_error(run("capacity", f))


def test_bad_nan_orbits(run, tmp_path):
    o = np.ones((3, 4, 4))
    o[1, 1, 1] = np.nan
    f = write_h5(tmp_path / "b.h5", orbits=o)
    assert "NaN" in one_error(run("capacity", f))


@pytest.mark.parametrize("spec", ["dihedral:4", "cyclic", "cyclic:x", "cyclic:0", "cyclic2d:4", "perm:10001"])
def test_bad_group(run, spec):
    assert "--group" in one_error(run("capacity", "--group", spec))


@pytest.mark.parametrize("c", ["0", "-2"])
def test_bad_channels(run, c):
    assert "--channels" in one_error(run("capacity", "--group", "cyclic:4", "--channels", c))


def test_bad_input_and_group_together_or_neither(run, rep_file):
    assert "not both" in one_error(run("capacity", rep_file, "--group", "cyclic:4"))
    assert "neither" in one_error(run("capacity"))


def test_bad_missing_datasets_and_file(run, tmp_path):
    f = write_h5(tmp_path / "b.h5", features=np.ones((3, 3)))
    assert "/representation" in one_error(run("capacity", f))
    assert "does not exist" in one_error(run("capacity", tmp_path / "nope.h5"))


def test_bad_options(run, rep_file, tmp_path):
    assert "--labelings" in one_error(run("capacity", rep_file, "--empirical", "--labelings", "1"))
    assert "--p" in one_error(run("capacity", rep_file, "--p", "0,3"))
    assert "--channels" in one_error(run("capacity", rep_file, "--channels", "2"))
    f = write_h5(tmp_path / "o.h5", orbits=orbits_from_representation(cyclic(4).matrices, np.eye(4)))
    assert "exceeds" in one_error(run("capacity", f, "--p", "9", "--empirical", "--labelings", "5"))


def test_orbits_not_of_this_representation_warn(run, tmp_path):
    rep = cyclic(6, 2)
    rng = np.random.default_rng(2)
    wrong = rng.standard_normal((8, 6, rep.d))  # not orbits: centroids are not fixed by ρ
    f = write_h5(tmp_path / "w.h5", representation=rep.matrices, orbits=wrong)
    r = run("capacity", f, "--p", "1,2")
    assert r.exit_code == 0
    assert "not fixed by" in r.stderr
    short = orbits_from_representation(rep.matrices, rng.standard_normal((8, rep.d)))[:, :3]
    f = write_h5(tmp_path / "s.h5", representation=rep.matrices, orbits=short)
    r = run("capacity", f, "--p", "1,2")
    assert r.exit_code == 0
    assert "each orbit has 3 points" in r.stderr
