"""`kerncurve dmft` through the CLI on tiny HDF5 files."""

import json

import h5py
import numpy as np
import pytest

from conftest import read_csv, write_h5, one_error


@pytest.fixture
def dmft_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 6))
    t = np.tanh(x @ rng.standard_normal(6) / np.sqrt(6) * 2)
    return write_h5(tmp_path / "dmft.h5", inputs=x[:5], targets=t[:5], test__inputs=x[5:],
                    test__targets=t[5:], extra_targets=t[5:])


FAST = ["--time", "0.5", "--dt", "0.1", "--samples", "512"]


def test_table_columns_rows_and_limits(run, dmft_file):
    r = run("dmft", dmft_file, "--gamma0", "0,2", *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "gamma0,time,loss,alignment"
    t = read_csv(r.stdout)
    assert len(t["time"]) == 2 * 6
    with h5py.File(dmft_file) as f:
        y = f["targets"][()]
    np.testing.assert_allclose(t["loss"][t["time"] == 0], 0.5 * np.mean(y**2), rtol=1e-14)
    lazy = t["gamma0"] == 0
    assert np.ptp(t["alignment"][lazy]) == 0  # lazy: the kernel does not move
    rich = ~lazy
    assert t["loss"][rich][-1] < t["loss"][lazy][-1]  # richness speeds training
    np.testing.assert_allclose(t["time"][:6], 0.1 * np.arange(6))
    again = run("dmft", dmft_file, "--gamma0", "0,2", *FAST)
    assert again.stdout == r.stdout  # same seed, same bytes


def test_json_every_and_output_file(run, dmft_file, tmp_path):
    out = tmp_path / "t.json"
    r = run("dmft", dmft_file, "--gamma0", "1", *FAST, "--every", "2", "--json", "-o", out, "--quiet")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""
    obj = json.loads(out.read_text())
    assert obj["command"] == "dmft"
    assert [row["time"] for row in obj["rows"]] == pytest.approx([0.0, 0.2, 0.4, 0.5])
    for key in ("p", "d", "final_loss", "final_alignment", "solver", "steps"):
        assert key in obj["summary"]
    assert obj["params"]["gamma0"] == [1.0]


def test_test_points_group_and_dataset_forms(run, dmft_file):
    a = run("dmft", dmft_file, "--gamma0", "1", *FAST, "--test-key", "/test")
    b = run("dmft", dmft_file, "--gamma0", "1", *FAST, "--test-key", "/test/inputs")
    c = run("dmft", dmft_file, "--gamma0", "1", *FAST, "--test-key", "/test/inputs",
            "--test-targets-key", "/extra_targets")
    assert a.exit_code == b.exit_code == c.exit_code == 0, a.stderr + b.stderr + c.stderr
    assert a.stdout.splitlines()[0].endswith(",test_loss")
    assert a.stdout == b.stdout == c.stdout
    t = read_csv(a.stdout)
    with h5py.File(dmft_file) as f:
        yt = f["test/targets"][()]
    assert t["test_loss"][0] == pytest.approx(0.5 * np.mean(yt**2), rel=1e-14)


def test_kernel_output(run, dmft_file, tmp_path):
    path = tmp_path / "k.h5"
    r = run("dmft", dmft_file, "--gamma0", "0,1", *FAST, "--every", "5", "--test-key", "/test",
            "--kernel-output", path)
    assert r.exit_code == 0, r.stderr
    with h5py.File(path) as f:
        assert f.attrs["format"] == "kerncurve-dmft-kernel" and f.attrs["format-version"] == 1
        assert f["kernel"].shape == (2, 2, 7, 7) and f["final_kernel"].shape == (2, 7, 7)
        np.testing.assert_allclose(f["time"][()], [0.0, 0.5])
        np.testing.assert_array_equal(f["kernel"][:, -1], f["final_kernel"][()])
        k = f["final_kernel"][()]
    np.testing.assert_allclose(k, np.swapaxes(k, -1, -2), atol=1e-12)


def test_empirical_columns_and_plot(run, dmft_file, tmp_path):
    png = tmp_path / "p.png"
    r = run("dmft", dmft_file, "--gamma0", "0.5", *FAST, "--empirical", "--width", "300", "--seeds", "2",
            "--plot", png)
    assert r.exit_code == 0, r.stderr
    t = read_csv(r.stdout)
    assert list(t) == ["gamma0", "time", "loss", "alignment", "loss_empirical", "loss_empirical_sem",
                       "alignment_empirical"]
    assert np.max(np.abs(t["loss_empirical"] - t["loss"])) / t["loss"][0] < 5e-2
    assert np.max(np.abs(t["alignment_empirical"] - t["alignment"])) < 5e-2
    assert png.stat().st_size > 1000
    assert "max_relative_deviation" in r.stderr


def test_deep_linear_route(run, dmft_file):
    base = ["dmft", dmft_file, "--gamma0", "1", "--time", "0.3", "--dt", "0.1", "--activation", "linear",
            "--depth", "2", "--json"]
    r = run(*base)
    it = run(*base, "--method", "iterate", "--damping", "0.5")
    fe = run(*base, "--scheme", "euler")
    assert r.exit_code == 0 and it.exit_code == 0, r.stderr + it.stderr
    obj, obj_it = json.loads(r.stdout), json.loads(it.stdout)
    assert obj["summary"]["solver"] == "deep-linear matrix solver"
    assert obj_it["summary"]["iterations"][0] > 0
    loss = [row["loss"] for row in obj["rows"]]
    assert loss[-1] < loss[0]
    euler = [row["loss"] for row in json.loads(fe.stdout)["rows"]]
    assert [row["loss"] for row in obj_it["rows"]] == pytest.approx(euler, rel=1e-9)
    assert obj["summary"]["scheme"] == "gd" and obj_it["summary"]["scheme"] == "euler"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, words",
    [
        (["--gamma0", "-1", *FAST], "--gamma0"),
        (["--gamma0", "1", "--time", "0.5", "--dt", "0"], "--dt"),
        (["--gamma0", "1", "--time", "0.5", "--dt", "-0.1"], "--dt"),
        (["--gamma0", "1", "--time", "0", "--dt", "0.1"], "--time"),
        (["--gamma0", "1", "--time", "-2", "--dt", "0.1"], "--time"),
        (["--gamma0", "1", *FAST, "--activation", "sigmoid"], "--activation"),
        (["--gamma0", "1", *FAST, "--depth", "0"], "--depth"),
        (["--gamma0", "1", *FAST, "--depth", "2"], "not supported yet"),
        (["--gamma0", "1", *FAST, "--activation", "relu", "--depth", "3"], "not supported yet"),
        (["--gamma0", "1", *FAST, "--max-memory", "1e-5"], "too large"),
        (["--gamma0", "1", "--time", "2", "--dt", "0.1", "--activation", "linear", "--depth", "2",
          "--max-memory", "0.001"], "at most"),
        (["--gamma0", "1", "--time", "0.5", "--dt", "0.1", "--samples", "1000"], "power of 2"),
        (["--gamma0", "1", *FAST, "--damping", "0"], "--damping"),
        (["--gamma0", "1", *FAST, "--damping", "1.5"], "--damping"),
        (["--gamma0", "abc", *FAST], "--gamma0"),
        (["--gamma0", "1", "--time", "0.01", "--dt", "0.1"], "shorter than one step"),
        (["--gamma0", "1", *FAST, "--inputs-key", "/nope"], "/nope"),
        (["--gamma0", "1", *FAST, "--test-key", "/test/inputs", "--test-targets-key", "/nope"], "/nope"),
        (["--gamma0", "1", *FAST, "--kernel-output", "k.txt"], "--kernel-output"),
        (["--gamma0", "1", *FAST, "--empirical", "--width", "0"], "--width"),
        (["--gamma0", "1", *FAST, "--activation", "linear", "--depth", "3", "--empirical", "--width",
          "200000"], "--empirical"),
        (["--gamma0", "1", *FAST, "--activation", "linear", "--depth", "2", "--method", "iterate",
          "--scheme", "gd"], "euler"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, dmft_file, args, words):
    line = one_error(run("dmft", dmft_file, *args))
    assert words in line


def test_bad_files(run, tmp_path):
    x = np.random.default_rng(1).standard_normal((4, 3))
    multi = write_h5(tmp_path / "m.h5", inputs=x, targets=np.ones((4, 2)))
    assert "output channel" in one_error(run("dmft", multi, "--gamma0", "1", *FAST))
    short = write_h5(tmp_path / "s.h5", inputs=x, targets=np.ones(3))
    assert "targets" in one_error(run("dmft", short, "--gamma0", "1", *FAST))
    dims = write_h5(tmp_path / "d.h5", inputs=x, targets=np.ones(4), test__inputs=np.ones((2, 5)),
                    test__targets=np.ones(2))
    assert "dimension" in one_error(run("dmft", dims, "--gamma0", "1", *FAST, "--test-key", "/test"))
    assert "does not exist" in one_error(run("dmft", tmp_path / "missing.h5", "--gamma0", "1", *FAST))


def test_non_convergence_is_an_error_not_a_curve(run, dmft_file):
    r = run("dmft", dmft_file, "--gamma0", "1", "--time", "0.5", "--dt", "0.1", "--activation", "linear",
            "--depth", "2", "--method", "iterate", "--max-iter", "2")
    line = one_error(r)
    assert "did not converge" in line and r.stdout == ""
