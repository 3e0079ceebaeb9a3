"""Shared fixtures: tiny HDF5 inputs written into tmp_path, and a CLI runner."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from kerncurve.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "sample_data")


def gaussian_features(n, d, b=1.5, a=2.0, seed=0):
    """Gaussian features with population eigenvalues k^-b and target power k^-a."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, d + 1, dtype=float)
    lam = k**-b
    w = np.sqrt(k**-a / lam)
    x = rng.standard_normal((n, d)) * np.sqrt(lam)
    return x, x @ w


def write_h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for key, val in datasets.items():
            f[key.replace("__", "/")] = val
    return str(path)


@pytest.fixture
def features_file(tmp_path):
    x, y = gaussian_features(200, 30, seed=1)
    return write_h5(tmp_path / "features.h5", features=x, targets=y)


@pytest.fixture
def gram_file(tmp_path):
    x, y = gaussian_features(120, 40, seed=2)
    return write_h5(tmp_path / "gram.h5", gram=x @ x.T, targets=y)


@pytest.fixture
def inputs_file(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 5))
    return write_h5(tmp_path / "inputs.h5", inputs=x, targets=np.sin(x[:, 0]) + x[:, 1] ** 2)


class Result:
    def __init__(self, r):
        self.exit_code = r.exit_code
        self.stdout = r.stdout
        self.stderr = r.stderr
        self.exception = r.exception


@pytest.fixture
def run():
    """Invoke the CLI in-process; returns exit code, stdout and stderr separately."""

    def _run(*args):
        runner = CliRunner()
        r = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        return Result(r)

    return _run


def read_csv(text):
    """Parse kerncurve's CSV into a dict of float arrays."""
    lines = [ln for ln in text.strip().splitlines() if not ln.startswith("#")]
    header = lines[0].split(",")
    rows = [[float(v) for v in ln.split(",")] for ln in lines[1:]]
    arr = np.array(rows, dtype=float).reshape(len(rows), len(header))
    return {h: arr[:, i] for i, h in enumerate(header)}


def one_error(r, *words, keep=None):
    """Assert a clean usage error: exit 2, exactly one ``error:`` line naming ``words``, no
    traceback, nothing on stdout; ``keep`` (a path) must still hold "precious\\n". Returns the line."""
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == "", r.stdout
    for w in words:
        assert w in lines[0], lines[0]
    if keep is not None:
        assert open(keep).read() == "precious\n"
    return lines[0]


KC = [sys.executable, "-m", "kerncurve"]
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))

# Measured from a small intermediate process: a child started straight from the test process
# reports the test process's peak RSS as its own (the high-water mark survives fork and exec),
# which exceeds any sensible bound once earlier tests have run.
_MEASURE = """import json, os, subprocess, sys
with open(sys.argv[1], "wb") as err:
    p = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=err)
    _, status, u = os.wait4(p.pid, 0)
with open(sys.argv[2], "w") as out:
    json.dump([os.waitstatus_to_exitcode(status), u.ru_utime + u.ru_stime, u.ru_maxrss / 1024], out)
"""


def peak_child(cmd, tmp_path):
    """(returncode, stderr bytes, CPU seconds, peak RSS in MB) of one command.

    CPU time rather than wall time: the machine may be loaded by other work."""
    err, usage = tmp_path / "stderr.txt", tmp_path / "usage.json"
    subprocess.run([sys.executable, "-c", _MEASURE, str(err), str(usage), *cmd], env=ENV, check=True, timeout=300)
    code, cpu, rss = json.loads(usage.read_text())
    return code, err.read_bytes(), cpu, rss
