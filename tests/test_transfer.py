"""`kerncurve transfer` and `kc.transfer`: API = CLI, the table and summary, outputs, bad input."""

import csv
import io
import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import kerncurve as kc
from api_checks import same_as_cli
from conftest import ENV, KC, ROOT, SAMPLES, one_error, peak_child, write_h5

pytest.importorskip("jax")

TINY = dict(param="sp,depth-mup", width=[8, 16], depth=[1, 2], lr=[0.1, 1.0, 10.0], steps=4, seeds=2)
TINY_ARGS = ["--param", "sp,depth-mup", "--width", "8,16", "--depth", "1,2", "--lr", "0.1,1,10", "--steps", "4",
             "--seeds", "2"]


@pytest.fixture(scope="module")
def nn_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3))
    y = np.tanh(x @ [1.0, -2.0, 0.5])
    path = tmp_path_factory.mktemp("nn") / "tiny.h5"
    return write_h5(path, inputs=x[:24], targets=y[:24], test__inputs=x[24:], test__targets=y[24:])


@pytest.fixture(scope="module")
def api_result(nn_file):
    return kc.transfer(nn_file, **TINY, at=[2, 4], seed=1)


def test_the_api_equals_the_command_line(nn_file, api_result, run):
    out = run("transfer", nn_file, *TINY_ARGS, "--at", "2,4", "--seed", "1", "--json", "-q")
    assert out.exit_code == 0, out.stderr
    same_as_cli(out.stdout, api_result)


def test_rows_and_summary(api_result):
    r = api_result
    assert list(r.to_dict()) == ["param", "width", "depth", "lr", "step", "train_loss", "train_loss_sem", "test_loss",
                                 "test_loss_sem", "diverged"]
    assert len(r) == 2 * 2 * 2 * 3 * 2  # param × width × depth × lr × step
    assert list(r.param[:12]) == ["sp"] * 12 and r.step[:2].tolist() == [2, 4] and r.lr[:6].tolist() == [0.1] * 2 + \
        [1.0] * 2 + [10.0] * 2
    assert np.all(r.diverged[np.isfinite(r.train_loss)] == 0)
    assert np.all(r.diverged[~np.isfinite(r.train_loss)] >= 1)  # a diverged seed makes the mean inf
    ok = np.isfinite(r.train_loss)
    assert np.all(np.isfinite(r.test_loss[ok])) and np.all(r.train_loss_sem[ok] >= 0)
    s = json.loads(r.to_json())["summary"]
    assert set(s["optimal_lr"]) == {"sp", "depth-mup"}
    assert list(s["optimal_lr"]["sp"]) == ["8x1", "8x2", "16x1", "16x2"]
    for p, opt in s["optimal_lr"].items():
        logs = np.log10(list(opt.values()))
        assert np.all((logs >= -1) & (logs <= 1))  # inside the grid
        assert s["lr_spread_decades"][p] == pytest.approx(logs.max() - logs.min())
        assert s["lr_spread_decades"][p] >= max(s["lr_spread_width_decades"][p], s["lr_spread_depth_decades"][p])
    assert s["diverged"] == {p: int(r.grid.diverged[k].sum()) for k, p in enumerate(r.grid.params)}
    assert s["verdict"].startswith("optimal lr over widths 8-16 x depths 1-2")


def test_deterministic_under_the_seed(nn_file, api_result):
    again = kc.transfer(nn_file, **TINY, at=[2, 4], seed=1)
    assert again.to_json() == api_result.to_json()
    other = kc.transfer(nn_file, **TINY, at=[2, 4], seed=2)
    assert not np.array_equal(other.train_loss, api_result.train_loss)


def test_cli_is_byte_deterministic(nn_file, tmp_path):
    outs = [subprocess.run(KC + ["transfer", nn_file, *TINY_ARGS, "--seed", "5", "-q"], capture_output=True,
                           env=ENV, timeout=300) for _ in range(2)]
    assert outs[0].returncode == 0, outs[0].stderr
    assert outs[0].stdout == outs[1].stdout and outs[0].stdout.count(b"\n") == 1 + 2 * 2 * 2 * 3


def test_test_set_from_a_split_or_none(tmp_path, run):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 2))
    path = write_h5(tmp_path / "plain.h5", inputs=x, targets=x[:, 0])
    kw = dict(param="depth-mup", width=4, depth=1, lr=[0.5], steps=2, seeds=2)
    none = kc.transfer(path, **kw)
    assert np.all(np.isnan(none.test_loss)) and none.summary["test_samples"] == 0
    split = kc.transfer(path, **kw, test_frac=0.25)
    assert np.all(np.isfinite(split.test_loss)) and split.summary["train_samples"] == 15
    assert split.summary["test_samples"] == 5
    out = run("transfer", path, "--param", "depth-mup", "--width", "4", "--depth", "1", "--lr", "0.5", "--steps", "2",
              "--seeds", "2", "--test-frac", "0.25", "-q")
    assert out.exit_code == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    np.testing.assert_allclose([float(r["test_loss"]) for r in rows], split.test_loss, rtol=1e-12)


def test_divergence_is_data_not_an_error(nn_file, run):
    out = run("transfer", nn_file, "--param", "depth-mup", "--width", "8", "--depth", "2", "--lr", "1,1e6",
              "--steps", "5", "--seeds", "2", "--json")
    assert out.exit_code == 0, out.stderr
    obj = json.loads(out.stdout)
    assert [row["diverged"] for row in obj["rows"]] == [0, 2] and obj["rows"][1]["train_loss"] == "inf"
    assert obj["summary"]["diverged"] == {"depth-mup": 2}
    assert "end of the lr grid" in out.stderr  # the optimum 1 is the grid's smallest value


def test_coordinate_check_file_and_figures(nn_file, tmp_path, run):
    coords, plot, cplot = tmp_path / "c.h5", tmp_path / "l.png", tmp_path / "c.svg"
    out = run("transfer", nn_file, *TINY_ARGS, "--coords-output", coords, "--plot", plot, "--coords-plot", cplot,
              "--coord-steps", "2", "--coord-lr", "0.5,2", "--json", "-q")
    assert out.exit_code == 0, out.stderr
    s = json.loads(out.stdout)["summary"]
    assert s["coord_lr"] == {"sp": 0.5, "depth-mup": 2.0}
    assert set(s["coord_delta_ratio"]) == {"sp", "depth-mup"} and s["coord_delta_ratio"]["sp"] >= 1
    with h5py.File(coords, "r") as f:
        assert f.attrs["format"] == "kerncurve-transfer-coords" and f.attrs["format-version"] == 1
        g = f["depth-mup"]
        assert g.attrs["steps"] == 2 and g.attrs["lr"] == pytest.approx(s["coord_lr"]["depth-mup"])
        assert g["rms/N16_L2"].shape == (3, 3) and g["delta/N8_L1"][0].tolist() == [0.0, 0.0]
        assert g["last_layer_delta"].shape == (2, 2) and g["diversity"].shape[:3] == (2, 2, 2)
        np.testing.assert_allclose(g["last_layer_delta"][1, 1], g["delta/N16_L2"][-1, -1])
    assert plot.read_bytes()[:4] == b"\x89PNG" and b"<svg" in cplot.read_bytes()[:500]


def test_digits_as_a_classification_task():
    r = kc.transfer(os.path.join(SAMPLES, "digits.h5"), targets_key="/labels_onehot", test_frac=0.5,
                    param="depth-mup", width=8, depth=1, lr=[1.0], steps=3, seeds=1, at=[0, 3])
    assert r.network_data.channels == 10 and r.summary["test_samples"] == 898
    assert r.train_loss[1] < r.train_loss[0] and np.all(np.isnan(r.train_loss_sem))  # one seed: no SEM


@pytest.mark.parametrize("args, words", [
    (["--param", "sp,foo"], ["--param", "foo"]),
    (["--activation", "sigmoid"], ["--activation", "tanh"]),
    (["--optimizer", "rmsprop"], ["--optimizer", "adam"]),
    (["--width", "0"], ["--width"]), (["--depth", "0,2"], ["--depth"]), (["--steps", "0"], ["--steps"]),
    (["--seeds", "0"], ["--seeds"]), (["--lr", "0.1,0"], ["--lr", "> 0"]), (["--lr", "-1:1:3"], ["--lr", "START"]),
    (["--test-frac", "1.5"], ["--test-frac"]), (["--test-frac", "0"], ["--test-frac"]),
    (["--batch", "100"], ["--batch", "24 training samples"]), (["--at", "9"], ["--at", "--steps"]),
    (["--width", "512", "--depth", "8", "--memory", "1M"], ["memory budget", "--memory"]),
    (["--gamma0", "0"], ["--gamma0"]), (["--plot", "x.gif"], ["--plot", ".gif"]),
])
def test_bad_options_exit_2_with_one_line(nn_file, run, args, words):
    base = ["--param", "depth-mup", "--width", "4", "--depth", "1", "--lr", "1", "--steps", "2"]
    one_error(run("transfer", nn_file, *base, *args), *words)


def test_bad_files_exit_2_with_one_line(tmp_path, run):
    base = ["--width", "4", "--depth", "1", "--lr", "1", "--steps", "2"]
    flat = write_h5(tmp_path / "flat.h5", inputs=np.zeros(10), targets=np.zeros(10))
    one_error(run("transfer", flat, *base), "/inputs", "must be 2-D")
    short = write_h5(tmp_path / "short.h5", inputs=np.zeros((10, 2)), targets=np.zeros(9))
    one_error(run("transfer", short, *base), "/targets", "9 rows", "10")
    both = write_h5(tmp_path / "both.h5", inputs=np.zeros((10, 2)), targets=np.zeros(10),
                    test__inputs=np.zeros((3, 2)), test__targets=np.zeros(3))
    one_error(run("transfer", both, *base, "--test-frac", "0.2"), "--test-frac", "own test set")
    one_error(run("transfer", tmp_path / "missing.h5", *base), "does not exist")


def test_huge_grids_are_refused_fast_and_small(nn_file, tmp_path):
    args = ["--width", "1024", "--depth", "16", "--seeds", "1", "--lr", "1", "--steps", "10000000", "--param", "mup"]
    code, stderr, cpu, rss = peak_child(KC + ["transfer", nn_file, *args], tmp_path)
    line = stderr.decode().strip()
    assert code == 2 and len(line.splitlines()) == 1 and "--steps" in line and "floating-point" in line, line
    assert cpu < 10 and rss < 600, (cpu, rss)


def test_missing_extra_says_the_pip_command(nn_file):
    code = textwrap.dedent(f"""
        import sys
        class NoJax:
            def find_spec(self, name, path=None, target=None):
                if name == "jax" or name.startswith("jax."):
                    raise ImportError("no jax here")
        sys.meta_path.insert(0, NoJax())
        from kerncurve.cli import main
        main(["transfer", {nn_file!r}, "--width", "4", "--depth", "1", "--lr", "1", "--steps", "2"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == "error: kerncurve transfer needs JAX: pip install 'kerncurve[nn]'", out.stderr


@pytest.mark.parametrize("kwargs, name", [
    (dict(param="nope"), "param"), (dict(width=0), "width"), (dict(depth=[2, 2]), "depth"), (dict(steps=0), "steps"),
    (dict(seeds=0), "seeds"), (dict(lr=[1, -1]), "lr"), (dict(lr={"sp": [1]}), "lr"), (dict(test_frac=1.0), "test_frac"),
    (dict(activation="elu"), "activation"), (dict(optimizer="sgdm"), "optimizer"), (dict(at=[99]), "at"),
    (dict(tolerance=-1), "tolerance"), (dict(coord_steps=0), "coord_steps"), (dict(coord_lr=0), "coord_lr"),
    (dict(coord_lr=[1, 2]), "coord_lr"), (dict(coord_lr={"sp": 1.0}), "coord_lr"),
    (dict(memory="1K"), "memory"), (dict(batch=0), "batch"), (dict(x=np.zeros((4, 2))), "x"),
])
def test_api_bad_arguments_name_the_parameter(nn_file, kwargs, name):
    base = dict(param="depth-mup", width=4, depth=1, lr=[1.0], steps=2)
    with pytest.raises(ValueError) as e:  # an InputError is a ValueError
        kc.transfer(nn_file, **{**base, **kwargs})
    assert isinstance(e.value, kc.InputError) and e.value.param == name, (e.value.param, str(e.value))
    assert name in str(e.value), str(e.value)


def test_arrays_in_memory_equal_the_file(nn_file, api_result):
    with h5py.File(nn_file, "r") as f:
        arrays = {"x": f["inputs"][()], "y": f["targets"][()], "x_test": f["test/inputs"][()],
                  "y_test": f["test/targets"][()]}
    r = kc.transfer(**arrays, **TINY, at=[2, 4], seed=1)
    np.testing.assert_array_equal(r.train_loss, api_result.train_loss)
    assert r.summary["input"] == "arrays"


def _quick_spreads(optimizer):
    """The quick grid of benchmarks/transfer_grid.py: widths 32, 128 × depths 2, 16, 2 seeds."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from transfer_grid import GRIDS

    lr = {p: np.logspace(*span, 17) for p, span in GRIDS[optimizer].items()}
    r = kc.transfer(os.path.join(SAMPLES, "teacher.h5"), param=list(lr), width=[32, 128], depth=[2, 16], lr=lr,
                    optimizer=optimizer, gamma0=0.25, steps=20, seeds=2)
    return r.summary["lr_spread_decades"]


@pytest.mark.slow
def test_depth_mup_optimum_transfers_with_sgd():
    """SGD, 20 steps, γ₀ = 0.25: depth-μP's optimum spreads ≤ 0.3 decades and ≤ half of sp's.

    Measured on this small grid: sp 0.85, mup 0.13, depth-mup 0.21 decades (mup's SGD rate
    carries 1/L, which keeps its optimum in place too; docs/transfer.md).
    """
    s = _quick_spreads("sgd")
    assert s["depth-mup"] <= 0.3 and s["depth-mup"] <= 0.5 * s["sp"], s


@pytest.mark.slow
def test_depth_mup_optimum_transfers_with_adam():
    """Adam: depth-μP ≤ 0.3 decades and at most half of mup's and sp's (measured 0.09, 0.22, 1.55)."""
    s = _quick_spreads("adam")
    assert s["depth-mup"] <= 0.3 and s["depth-mup"] <= 0.5 * s["sp"] and s["depth-mup"] <= 0.5 * s["mup"], s
