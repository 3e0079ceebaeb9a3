"""Seeded HDF5 mutation fuzz: damaged inputs exit 0 with a valid table or 2 with one line.

Three small base files (streamed features with gzip chunks, a Gram, raw inputs for an RBF
kernel) are mutated byte-wise (random bytes overwritten at random offsets, or the file
truncated), 100 mutants each, and every mutant runs through ``spectrum`` and ``predict``.
The runs happen in a worker process (a crash inside the HDF5 library would otherwise take
the test session down); a crash counts as a failure. Never exit 1, never a traceback, never
a changed input, never a stray temporary file, nothing written by the C library to stderr.
"""

import hashlib
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import ROOT, gaussian_features

MUTANTS_PER_BASE = 100
COMMANDS = {"spectrum": [], "predict": ["--p", "4,8"]}

WORKER = r"""
import json, sys
from click.testing import CliRunner
from kerncurve.cli import main
jobs = json.load(open(sys.argv[1]))
start = int(sys.argv[2])
runner = CliRunner()
for i in range(start, len(jobs)):
    args = jobs[i]
    r = runner.invoke(main, args, catch_exceptions=True)
    exc = None if r.exception is None or isinstance(r.exception, SystemExit) else repr(r.exception)
    print(json.dumps({"i": i, "code": r.exit_code, "stdout": r.stdout[:4000], "stderr": r.stderr[-2000:],
                      "exc": exc}), flush=True)
"""


def _bases(folder):
    x, y = gaussian_features(60, 6, seed=3)
    paths = []
    p = os.path.join(folder, "features.h5")
    with h5py.File(p, "w") as f:
        f.create_dataset("features", data=x, chunks=(10, 6), compression="gzip")
        f.create_dataset("targets", data=y)
    paths.append((p, []))
    p = os.path.join(folder, "gram.h5")
    with h5py.File(p, "w") as f:
        f["gram"] = x[:40] @ x[:40].T
        f["targets"] = y[:40]
    paths.append((p, []))
    p = os.path.join(folder, "inputs.h5")
    with h5py.File(p, "w") as f:
        f.create_dataset("inputs", data=x[:50, :3], fletcher32=True, chunks=(25, 3))
        f["targets"] = y[:50]
    paths.append((p, ["--kernel", "rbf"]))
    return paths


def _mutate(data, rng):
    data = bytearray(data)
    if rng.random() < 0.15:
        return bytes(data[: int(rng.integers(1, len(data)))])
    for _ in range(int(rng.integers(1, 4))):
        off = int(rng.integers(0, len(data)))
        k = int(rng.integers(1, 9))
        data[off:off + k] = rng.integers(0, 256, size=len(data[off:off + k])).astype(np.uint8).tobytes()
    return bytes(data)


def _valid_table(text):
    lines = [ln for ln in text.strip().splitlines() if not ln.startswith("#")]
    if len(lines) < 2:
        return False
    width = len(lines[0].split(","))
    try:
        return all(len(ln.split(",")) == width and [float(v) for v in ln.split(",")] for ln in lines[1:])
    except ValueError:
        return False


@pytest.mark.slow
def test_hdf5_mutation_fuzz(tmp_path):
    rng = np.random.default_rng(20261202)
    jobs, files = [], []
    for base, extra in _bases(str(tmp_path)):
        raw = open(base, "rb").read()
        for m in range(MUTANTS_PER_BASE):
            path = os.path.join(str(tmp_path), f"m{len(files):04d}.h5")
            data = _mutate(raw, rng)
            open(path, "wb").write(data)
            files.append((path, hashlib.sha256(data).hexdigest()))
            for cmd, args in COMMANDS.items():
                jobs.append([cmd, path, *extra, *args])
    assert len(files) >= 300
    job_file = tmp_path / "jobs.json"
    job_file.write_text(json.dumps(jobs))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    results, start, crashes, c_stderr = {}, 0, [], []
    while start < len(jobs):
        p = subprocess.run([sys.executable, str(script), str(job_file), str(start)], cwd=str(tmp_path), env=env,
                           capture_output=True, timeout=1200)
        for line in p.stdout.decode().splitlines():
            rec = json.loads(line)
            results[rec["i"]] = rec
        if p.stderr.strip():
            c_stderr.append(p.stderr.decode()[-500:])
        done = max(results) + 1 if results else start
        if p.returncode != 0:
            crashes.append((jobs[done], p.returncode))
            done += 1
        start = done
    bad = []
    for i, rec in sorted(results.items()):
        code, err = rec["code"], rec["stderr"].strip().splitlines()
        if code == 0:
            ok = _valid_table(rec["stdout"])
        elif code == 2:
            ok = len(err) == 1 and err[0].startswith("error:") and rec["stdout"] == ""
        else:
            ok = False
        if not ok or "Traceback" in rec["stderr"] or rec["exc"]:
            bad.append((jobs[i], code, rec["stderr"][-300:], rec["exc"]))
    for path, sha in files:
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == sha, f"{path} was modified"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".kerncurve-")]
    assert not crashes, crashes[:5]
    assert not c_stderr, c_stderr[:3]
    assert not bad, f"{len(bad)} of {len(results)} runs broke the promise; first: {bad[:5]}"
