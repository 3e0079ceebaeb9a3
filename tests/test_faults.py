"""Faults a hostile user or a hostile machine brings: outputs that name inputs, full disks,
closed streams, signals, damaged HDF5, absurd sizes, numbers that cannot be trusted.

The promise under test: exit 0 with a valid table, or exit 2 (bad input) / 1 (the machine
failed) with exactly one ``error:`` line, never a traceback, never a changed input, never a
stray temporary file, and an existing output either intact or completely replaced.
"""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from kerncurve.cli import COMMANDS, main
from kerncurve.cli.session import _output_options

from conftest import ENV, KC, ROOT, gaussian_features, one_error, peak_child, read_csv, write_h5


# the least each command needs to parse (outputs are checked before any input is read)
MINIMAL = {
    "predict": ["--p", "5"],
    "report": ["--p", "5"],
    "shift": ["--p", "5"],
    "shift-optimize": ["--p", "5"],
    "td": ["--gamma", "0.5", "--lr", "0.1", "--steps", "3"],
    "dmft": ["--gamma0", "1", "--time", "1", "--dt", "0.5"],
}


def _commands():
    import click

    ctx = click.Context(main)
    out = []
    for name in COMMANDS:
        cmd = main.get_command(ctx, name)
        for flag, _ in _output_options(cmd, {}):
            out.append((name, flag.split("/")[-1]))
    return out


def _strays(folder):
    return [f for f in os.listdir(folder) if f.startswith(".kerncurve-")]


# --------------------------------------------------------------------------------------
# 1. outputs never touch inputs


@pytest.mark.parametrize("alias", ["same", "dot", "dotdot", "symlink"])
@pytest.mark.parametrize("command,flag", _commands())
def test_no_output_may_name_the_input(run, tmp_path, command, flag, alias):
    ext = ".png" if flag == "--plot" else ".h5"
    src = tmp_path / f"data{ext}"
    x, y = gaussian_features(40, 5)
    write_h5(src, features=x, targets=y)
    (tmp_path / "sub").mkdir()
    (tmp_path / f"alias{ext}").symlink_to(src)
    before = src.read_bytes()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        out = {"same": f"data{ext}", "dot": f"./data{ext}", "dotdot": f"sub/../data{ext}",
               "symlink": f"alias{ext}"}[alias]
        inp = f"alias{ext}" if alias == "same" and flag == "--plot" else f"data{ext}"
        r = run(command, inp, *MINIMAL.get(command, []), flag, out)
    finally:
        os.chdir(cwd)
    line = one_error(r, flag, "same file")
    assert "INPUT" in line
    assert src.read_bytes() == before and not _strays(tmp_path)


def test_two_outputs_may_not_name_one_file(run, features_file, tmp_path):
    one_error(run("spectrum", features_file, "-o", tmp_path / "a.csv", "--save", tmp_path / "a.csv"),
              "--save", "-o/--output", "same file")


def test_special_files_are_written_through_and_links_update_their_target(run, features_file, tmp_path):
    r = run("spectrum", features_file, "-o", os.devnull, "-q")
    assert r.exit_code == 0 and os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    os.chmod(real, 0o640)
    (tmp_path / "link.csv").symlink_to(real)
    r = run("spectrum", features_file, "-o", tmp_path / "link.csv", "-q", "--top", "2")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "link.csv").is_symlink()
    assert real.read_text().startswith("k,eigenvalue")
    assert oct(os.stat(real).st_mode & 0o777) == oct(0o640)  # an existing output keeps its mode


def test_fifo_output_is_written_through(features_file, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    r = subprocess.run(KC + ["spectrum", features_file, "-q", "-o", str(fifo)], env=ENV, capture_output=True,
                       timeout=120)
    text = reader.communicate(timeout=60)[0].decode()
    assert r.returncode == 0, r.stderr
    assert text.startswith("k,eigenvalue") and fifo.is_fifo()


@pytest.mark.parametrize("case", ["missing", "readonly", "empty", "toolong", "folder"])
def test_unwritable_outputs_are_refused_before_work(run, features_file, tmp_path, case):
    ro = tmp_path / "ro"
    ro.mkdir()
    if case == "readonly":
        os.chmod(ro, 0o555)
        if os.access(ro, os.W_OK) and os.geteuid() != 0:
            pytest.skip("cannot make a read-only folder here")
        if os.geteuid() == 0:  # root writes anyway: use a read-only mount point instead
            target = "/proc/out.csv"
        else:
            target = str(ro / "out.csv")
    else:
        target = {"missing": str(tmp_path / "no" / "out.csv"), "empty": "",
                  "toolong": str(tmp_path / ("x" * 300 + ".csv")), "folder": str(tmp_path)}[case]
    t0 = time.perf_counter()
    one_error(run("predict", features_file, "--p", "5", "--empirical", "--trials", "5", "-o", target), "--output")
    assert time.perf_counter() - t0 < 5
    os.chmod(ro, 0o755)
    assert not _strays(tmp_path)


# --------------------------------------------------------------------------------------
# 2. writes that finish or fail loudly


def _sub(args, **kw):
    return subprocess.run(["bash", "-c", args], env=ENV, capture_output=True, timeout=300, **kw)


def _kc(*args):
    return " ".join([f"'{sys.executable}'", "-m", "kerncurve"] + [f"'{a}'" for a in args])


def test_stdout_onto_dev_full_is_an_error(features_file):
    for _ in range(3):
        r = _sub(_kc("spectrum", features_file, "-q") + " > /dev/full")
        err = r.stderr.decode().strip().splitlines()
        assert r.returncode == 1 and len(err) == 1 and "No space left" in err[0], r.stderr


def test_closed_pipe_is_quiet_success(features_file):
    r = _sub(_kc("spectrum", features_file, "-q") + " | true")
    assert r.returncode == 0 and r.stderr == b""
    r = _sub(_kc("spectrum", features_file) + " | head -1")
    assert r.returncode == 0


def test_closed_stderr_runs_quietly_and_closed_stdout_is_reported(features_file):
    r = _sub(_kc("spectrum", features_file, "--top", "2") + " 2>&-")
    assert r.returncode == 0 and r.stdout.decode().startswith("k,eigenvalue")
    r = _sub(_kc("spectrum", features_file, "-q") + " >&-")
    err = r.stderr.decode().strip().splitlines()
    assert r.returncode == 1 and len(err) == 1 and "standard output is closed" in err[0]
    r = _sub(_kc("spectrum", features_file, "-q", "--p") + " 2>&-")  # an error with nowhere to say it
    assert r.returncode == 2


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs (root only; skipped elsewhere)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_full_tmpfs_output_and_cache_fail_cleanly(tmp_path, small_fs):
    x, y = gaussian_features(2000, 40)
    big = write_h5(tmp_path / "big.h5", features=x, targets=y)
    keep = small_fs / "keep.csv"
    keep.write_text("precious\n")
    with open(small_fs / "filler", "wb", buffering=0) as fh:  # fill the file system to the last page
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    for opt in ("-o", "--save"):
        target = keep if opt == "-o" else small_fs / "cache.h5"
        r = subprocess.run(KC + ["spectrum", big, "-q", opt, str(target)], env=ENV, capture_output=True, timeout=120)
        err = r.stderr.decode().strip().splitlines()
        assert r.returncode == 1 and len(err) == 1 and "No space left" in err[0], r.stderr
        assert "Traceback" not in r.stderr.decode()
        assert keep.read_text() == "precious\n" and not _strays(small_fs)
    # stdout onto the full file system
    r = _sub(_kc("spectrum", big, "-q") + f" > '{small_fs}/out.csv'")
    assert r.returncode == 1 and "No space left" in r.stderr.decode()


# --------------------------------------------------------------------------------------
# 3. signals: temporary files removed, the old output intact or the new one complete

MOMENTS = ["load", "spectrum", "experiment", "plot-write", "between-writes", "table-write"]


@pytest.fixture
def digits_like(tmp_path):
    x, y = gaussian_features(300, 20, seed=5)
    return write_h5(tmp_path / "in.h5", features=x, targets=y)


def _kill_at(monkeypatch, moment, sig):
    import kerncurve.io.outputs as outputs
    import kerncurve.simulate.ridge as ridge

    def bang():
        os.kill(os.getpid(), sig)

    if moment == "load":
        from kerncurve.io import problem as prob

        real = prob.load_problem

        def load(*a, **k):
            bang()
            return real(*a, **k)

        monkeypatch.setattr(prob, "load_problem", load)
        return None
    if moment == "spectrum":
        from kerncurve.spectral import compute

        real = compute.spectrum_from_features

        def spec(*a, **k):
            bang()
            return real(*a, **k)

        monkeypatch.setattr(compute, "spectrum_from_features", spec)
        return None
    if moment == "experiment":
        real = ridge.krr_learning_curve

        def krr(*a, **k):
            bang()
            return real(*a, **k)

        monkeypatch.setattr(ridge, "krr_learning_curve", krr)
        return None
    real_write = outputs._write_all
    calls = {"n": 0}
    target_call = {"plot-write": 1, "between-writes": 2, "table-write": 2}[moment]

    def write_all(fd, data):
        calls["n"] += 1
        if calls["n"] == target_call:
            if moment == "between-writes":
                bang()
                return real_write(fd, data)
            real_write(fd, data[: len(data) // 2])
            bang()
        return real_write(fd, data)

    monkeypatch.setattr(outputs, "_write_all", write_all)
    return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
@pytest.mark.parametrize("moment", MOMENTS)
def test_signals_leave_no_temporary_and_no_torn_output(monkeypatch, digits_like, tmp_path, moment, sig):
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    _kill_at(monkeypatch, moment, sig)
    r = CliRunner().invoke(main, ["predict", digits_like, "--p", "5,10", "--empirical", "--trials", "2",
                                  "-o", str(out), "--plot", str(tmp_path / "fig.png"), "-q"])
    assert r.exit_code == 128 + int(sig), (r.exit_code, r.output)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert not _strays(tmp_path)
    text = out.read_text()
    assert text == "precious\n" or text.startswith("p,ridge,noise")  # old intact or new complete
    if (tmp_path / "fig.png").exists():
        assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["TERM", "HUP", "INT"])
def test_real_signals_during_a_long_run(tmp_path, sig):
    src = os.path.join(ROOT, "sample_data", "digits.h5")
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    for delay in (0.6, 1.5):
        p = subprocess.Popen(KC + ["predict", src, "--kernel", "rbf", "--p", "10:300:6", "--empirical", "--trials",
                                   "300", "-o", str(out), "--plot", str(tmp_path / "f.svg")],
                             env=ENV, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
        time.sleep(delay)
        p.send_signal(getattr(signal, f"SIG{sig}"))
        _, err = p.communicate(timeout=120)
        assert p.returncode in (128 + getattr(signal, f"SIG{sig}"), 0), err
        assert len(err.decode().strip().splitlines()) <= 1
        assert not _strays(tmp_path)
        assert out.read_text() == "precious\n" or out.read_text().startswith("p,ridge")


# --------------------------------------------------------------------------------------
# 4. damaged HDF5: one clear line naming file and dataset


def _gzip_file(path, **kw):
    x, y = gaussian_features(64, 8, seed=1)
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=x, chunks=(8, 8), **kw)
        f["targets"] = y
    return path


def _corrupt_chunk(path, name="features"):
    with h5py.File(path, "r") as f:
        ds = f[name]
        off = ds.id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as fh:
        fh.seek(off + 4)
        data = bytearray(fh.read(8))
        fh.seek(off + 4)
        fh.write(bytes(b ^ 0x5A for b in data))


@pytest.mark.parametrize("kw,why", [({"compression": "gzip"}, "compressed chunk is damaged"),
                                    ({"fletcher32": True}, "checksum")])
def test_damaged_chunk(run, tmp_path, kw, why):
    path = _gzip_file(tmp_path / "z.h5", **kw)
    _corrupt_chunk(path)
    before = open(path, "rb").read()
    line = one_error(run("spectrum", path), "/features", why)
    assert str(path) in line and open(path, "rb").read() == before


def test_dangling_soft_link_external_link_and_loop(run, tmp_path):
    x, y = gaussian_features(30, 4)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["targets"] = y
        f["features"] = h5py.SoftLink("/nowhere")
    one_error(run("spectrum", tmp_path / "s.h5"), "/features", "soft link")
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f["targets"] = y
        f["features"] = h5py.ExternalLink("missing.h5", "/x")
    one_error(run("spectrum", tmp_path / "e.h5"), "/features", "external link")
    with h5py.File(tmp_path / "l.h5", "w") as f:
        f["targets"] = y
        f["a"] = h5py.SoftLink("/b")
        f["b"] = h5py.SoftLink("/a")
        f["features"] = h5py.SoftLink("/a")
    one_error(run("spectrum", tmp_path / "l.h5"), "/features")


def test_virtual_dataset_with_missing_source_is_refused(run, tmp_path):
    x, y = gaussian_features(30, 4)
    with h5py.File(tmp_path / "src.h5", "w") as f:
        f["x"] = x
    layout = h5py.VirtualLayout(shape=x.shape, dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp_path / "src.h5"), "x", shape=x.shape)
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f.create_virtual_dataset("features", layout)
        f["targets"] = y
    r = run("spectrum", tmp_path / "v.h5", "-q")
    assert r.exit_code == 0, r.stderr  # the source is there: fine
    os.remove(tmp_path / "src.h5")
    one_error(run("spectrum", tmp_path / "v.h5"), "/features", "virtual dataset", "missing")


def test_unregistered_filter(run, tmp_path):
    path = _gzip_file(tmp_path / "f.h5", compression="gzip")
    raw = bytearray(open(path, "rb").read())
    i = raw.find(b"deflate")
    assert i > 8
    raw[i - 8:i - 6] = (307).to_bytes(2, "little")  # bzip2's registered id: no such filter here
    open(path, "wb").write(bytes(raw))
    one_error(run("spectrum", path), "/features")


@pytest.mark.parametrize("attr,value,why", [
    ("n", "many", "integer"), ("n", 0, "≥ 1"), ("residual_power", -5.0, "≥ 0"),
    ("residual_power", np.inf, "finite"), ("format-version", np.array([1, 2]), "integer"),
])
def test_bad_cache_attributes(run, features_file, tmp_path, attr, value, why):
    cache = tmp_path / "c.h5"
    assert run("spectrum", features_file, "--save", cache, "-q").exit_code == 0
    with h5py.File(cache, "r+") as f:
        obj = f if attr == "format-version" else f["spectrum"]
        obj.attrs[attr] = value
    one_error(run("predict", cache, "--p", "5"), attr, why)


# --------------------------------------------------------------------------------------
# 5. absurd sizes: refused at once, before allocation


@pytest.mark.parametrize("args", [
    ["--p", "1:10:1000000000"], ["--p", "1:1e12:2000000"], ["--p", "1e30"], ["--p", "1:1e30:5"],
])
def test_absurd_counts_exit_2_fast_and_small(features_file, tmp_path, args):
    code, stderr, dt, rss = peak_child(KC + ["predict", features_file, *args], tmp_path)
    err = stderr.decode().strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: --p"), stderr[-300:]
    assert dt < 2 and rss < 200, (dt, rss)


def test_declared_huge_gram_is_refused_before_reading(run, tmp_path):
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("gram", shape=(200_000, 200_000), dtype="f8", chunks=(1000, 1000), compression="gzip")
        f["targets"] = np.zeros(200_000)
    assert os.path.getsize(path) < 2_000_000
    one_error(run("spectrum", path), "memory budget", "--top-eigen")
    one_error(run("spectrum", path, "--memory", "1G"), "1G")


def test_budget_names_the_way_out_for_a_kernel(run, tmp_path):
    x = np.zeros((30_000, 2))
    x[:, 0] = np.arange(30_000)
    path = write_h5(tmp_path / "k.h5", inputs=x, targets=x[:, 0])
    one_error(run("spectrum", path, "--kernel", "rbf"), "30000×30000", "memory budget")


# --------------------------------------------------------------------------------------
# 6. numbers that cannot be trusted are not printed


def test_targets_whose_squares_overflow_are_refused(run, tmp_path):
    x, y = gaussian_features(50, 5)
    one_error(run("spectrum", write_h5(tmp_path / "t.h5", features=x, targets=y * 1e300)), "overflow", "rescale")
    one_error(run("predict", write_h5(tmp_path / "g.h5", gram=x @ x.T, targets=y * 1e300), "--p", "5"),
              "overflow")


@pytest.mark.parametrize("opts,words", [
    (["--kernel", "rbf", "--bandwidth", "1e-300"], ["--bandwidth"]),
    (["--kernel", "poly", "--degree", "1000000"], ["--degree"]),
])
def test_extreme_kernel_parameters_give_one_line(run, inputs_file, opts, words):
    r = run("predict", inputs_file, "--p", "5", *opts)
    one_error(r, *words)
    assert "Warning" not in r.stderr


def test_json_is_strict(run, tmp_path):
    x, y = gaussian_features(60, 5)
    path = write_h5(tmp_path / "f.h5", features=x, targets=y)
    r = run("predict", path, "--p", "5,10", "--noise", "0.1", "--json", "-q")  # P = rank 5: eg = inf
    assert r.exit_code == 0, r.stderr

    def refuse(name):
        raise ValueError(name)

    obj = json.loads(r.stdout, parse_constant=refuse)
    assert obj["rows"][0]["eg"] == "inf" and np.isfinite(read_csv(
        run("predict", path, "--p", "10", "-q").stdout)["eg"]).all()


def test_seed_range_is_the_same_everywhere(run, features_file):
    for cmd, extra in (("predict", ["--p", "5"]), ("spectrum", [])):
        one_error(run(cmd, features_file, *extra, "--seed", "-1"), "--seed")
        one_error(run(cmd, features_file, *extra, "--seed", str(2**63)), "--seed")
        assert run(cmd, features_file, *extra, "--seed", str(2**63 - 1), "-q").exit_code == 0


# --------------------------------------------------------------------------------------
# 7. same seed, same bytes


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_plots_and_caches_are_byte_identical(run, features_file, tmp_path, ext):
    outs = []
    for i in (1, 2):
        d = tmp_path / str(i)
        d.mkdir()
        r = run("predict", features_file, "--p", "5,20", "--empirical", "--trials", "3", "--plot", d / f"f.{ext}",
                "-o", d / "t.csv", "-q")
        assert r.exit_code == 0, r.stderr
        r = run("spectrum", features_file, "--save", d / "c.h5", "--json", "-o", d / "s.json", "-q")
        assert r.exit_code == 0, r.stderr
        outs.append([(d / n).read_bytes() for n in (f"f.{ext}", "t.csv", "c.h5", "s.json")])
    assert outs[0] == outs[1]
