"""The scripts in examples/ run (at a tiny size) through the public API and draw their figures."""

import importlib.util
import os

import numpy as np
import pytest

from conftest import ROOT

EXAMPLES = os.path.join(ROOT, "examples")
TINY = {
    "rnn_gain_sweep.py": ["--n", "40", "--trials", "6", "--steps", "10", "--gains", "3"],
    "rnn_readout_check.py": ["--n", "40", "--trials", "8", "--steps", "10", "--repeats", "3"],
    "v1_tasks.py": ["--repeats", "2"],
}


def _load(name):
    spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(EXAMPLES, name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_example_is_covered():
    assert sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py")) == sorted(TINY)


@pytest.mark.filterwarnings("ignore::kerncurve.errors.NumericalWarning")  # tiny codes: P is not ≪ n
@pytest.mark.parametrize("name", sorted(TINY))
def test_example_runs_at_a_tiny_size(name, tmp_path, capsys):
    out = _load(name).main(TINY[name] + ["--out", str(tmp_path)])
    figures = list(tmp_path.glob("*.png"))
    assert figures and all(f.stat().st_size > 5000 for f in figures)
    assert capsys.readouterr().out.strip()
    assert out is not None


@pytest.mark.filterwarnings("ignore::kerncurve.errors.NumericalWarning")
def test_the_sweep_example_finds_the_best_gain_of_its_table(tmp_path):
    gains, pv, eg = _load("rnn_gain_sweep.py").main(TINY["rnn_gain_sweep.py"] + ["--out", str(tmp_path)])
    assert eg[0.0].shape == (3, pv.size) and np.all(np.isfinite(eg[0.0]))
    np.testing.assert_allclose(gains, [0.5, 1.5, 2.5])
