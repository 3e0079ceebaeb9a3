"""`kerncurve reservoir` and `kc.reservoir`: the RNN simulator, its codes files, the API against the
command line, every bad argument, and the budgets."""

import csv
import io
import json

import h5py
import numpy as np
import pytest

import kerncurve as kc
from kerncurve.errors import InputError
from kerncurve.simulate.reservoir import delay_task, draw_network, simulate_rates

from conftest import KC, one_error, peak_child

SMALL = dict(n=40, trials=6, steps=12)
SMALL_ARGS = ["--n", "40", "--trials", "6", "--steps", "12"]


def _reference_rates(network, x, gain, dt, tau):
    """The rate equation trial by trial and unit by unit, as written (a slow, plain reference)."""
    trials, steps, _ = x.shape
    n = network.n
    w = gain * network.connectivity / np.sqrt(n)
    out = np.empty((trials, steps, n))
    for i in range(trials):
        z = network.initial_state[i].copy()
        out[i, 0] = np.tanh(z)
        for t in range(1, steps):
            r = out[i, t - 1]
            z = z + dt / tau * (-z + np.array([w[j] @ r for j in range(n)]) + network.input_weights @ x[i, t])
            out[i, t] = np.tanh(z)
    return out


def test_the_vectorized_simulation_is_the_rate_equation():
    rng = np.random.default_rng(3)
    _, x, y = delay_task(rng, 4, 9, 0.04, (0.0, 0.5))
    net = draw_network(rng, 15, 4, 1)
    np.testing.assert_allclose(simulate_rates(net, x, 1.7, 0.04, 0.08), _reference_rates(net, x, 1.7, 0.04, 0.08),
                               rtol=1e-12, atol=1e-13)
    # targets: zero during the cue, θ (held) or θ·e^{-(t - t_on)/τ_y} after, unit RMS
    assert np.all(y[:, :4] == 0)
    np.testing.assert_allclose(np.sqrt(np.mean(y**2, axis=(0, 1))), 1.0)
    np.testing.assert_allclose(y[:, 5:, 0] / y[:, 4:5, 0], 1.0)
    np.testing.assert_allclose(y[:, 5, 1] / y[:, 4, 1], np.exp(-0.04 / 0.5))


def test_deterministic_under_the_seed_and_the_same_draws_for_every_gain(tmp_path):
    a = kc.reservoir(tmp_path / "a.h5", gain=[0.0, 1.0], seed=5, **SMALL)
    b = kc.reservoir(tmp_path / "b.h5", gain=[0.0, 1.0], seed=5, **SMALL)
    for g in ("0", "1"):
        assert (tmp_path / f"a_g{g}.h5").read_bytes() == (tmp_path / f"b_g{g}.h5").read_bytes()
    assert list(a.file) == [str(tmp_path / "a_g0.h5"), str(tmp_path / "a_g1.h5")]
    c = kc.reservoir(gain=[0.0, 1.0], seed=6, **SMALL)
    d = kc.reservoir(gain=[1.0], seed=5, **SMALL)
    with h5py.File(tmp_path / "a_g1.h5") as f:
        np.testing.assert_array_equal(f["features"][()], d.codes[0].features)  # the gain changes, nothing else
        assert not np.array_equal(f["features"][()], c.codes[1].features)
        # at gain 0 the units only follow the input: z relaxes to w_in x from a random start
        assert f.attrs["format"] == "kerncurve-codes" and f.attrs["gain"] == 1.0
    np.testing.assert_array_equal(b.rate_rms, a.rate_rms)


def test_the_codes_file_is_an_input_read_by_the_feature_route(tmp_path, run):
    r = kc.reservoir(tmp_path / "c.h5", gain=1.5, target_tau=[0, 0.5], **SMALL)
    with h5py.File(tmp_path / "c.h5") as f:
        x, y = f["features"][()], f["targets"][()]
        assert x.shape == (72, 40) and y.shape == (72, 2)
        np.testing.assert_array_equal(f["trial"][()], np.repeat(np.arange(6), 12))
        np.testing.assert_array_equal(f["time"][()], np.tile(np.arange(12), 6))
        np.testing.assert_array_equal(f["target_tau/0.5"][()], y[:, 1])
        assert f["trial"].dtype.kind == "i" and f["theta"].shape == (6,)
    # K = R Rᵀ/N: the rates over √N; the summary's eigenvalues are those of K/M
    eta = np.linalg.eigvalsh(x.T @ x / 72)[::-1]
    assert r.top_eigenvalue[0] == pytest.approx(eta[0], rel=1e-10)
    assert r.effective_dimension[0] == pytest.approx(eta.sum() ** 2 / np.sum(eta**2), rel=1e-8)
    spec = kc.spectrum(tmp_path / "c.h5", targets_key="/target_tau/0.5")
    assert spec.route == "features" and spec.rank == 40  # N < M: the N×N moment, never the M×M Gram
    out = run("predict", tmp_path / "c.h5", "--targets-key", "/target_tau/0", "--p", "5,10", "-q")
    assert out.exit_code == 0, out.stderr


def test_the_api_equals_the_command_line(tmp_path, run):
    r = kc.reservoir(tmp_path / "api.h5", gain=[0.5, 2.0], target_tau=[0, 1], seed=2, **SMALL)
    cli = run("reservoir", tmp_path / "cli.h5", "--gain", "0.5,2", "--target-tau", "0,1", "--seed", "2", *SMALL_ARGS,
              "--json", "-q")
    assert cli.exit_code == 0, cli.stderr
    obj = json.loads(cli.stdout)
    for col in ("gain", "samples", "neurons", "rate_rms", "effective_dimension", "top_eigenvalue"):
        np.testing.assert_allclose(getattr(r, col), [row[col] for row in obj["rows"]], rtol=1e-12, err_msg=col)
    assert list(r.to_dict()) == list(obj["rows"][0])
    assert r.summary == obj["summary"] and r.params == obj["params"]
    for g in ("0.5", "2"):
        assert (tmp_path / f"api_g{g}.h5").read_bytes() == (tmp_path / f"cli_g{g}.h5").read_bytes()
    # the range syntax: NUM evenly spaced gains
    out = run("reservoir", tmp_path / "r.h5", "--gain", "0:1:3", *SMALL_ARGS, "-q")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [float(row["gain"]) for row in rows] == [0.0, 0.5, 1.0] and rows[1]["file"] == str(tmp_path / "r_g0.5.h5")
    assert sorted(p.name for p in tmp_path.glob("r_g*.h5")) == ["r_g0.5.h5", "r_g0.h5", "r_g1.h5"]


def test_in_memory_codes_and_your_own_task():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 8, 2))
    y = np.cumsum(x, axis=1)
    r = kc.reservoir(x=x, y=y, n=30, gain=[1.0, 2.0], seed=1)
    assert len(r.codes) == 2 and r.codes[0].features.shape == (40, 30) and r.codes[0].targets.shape == (40, 2)
    assert r.codes[1].gain == 2.0 and r.summary["task"] == "custom" and list(r.file) == ["", ""]
    np.testing.assert_array_equal(r.codes[0].stimulus, x.reshape(40, 2))
    spec = r.codes[1].spectrum(target=1)
    assert spec.rank == 30 and spec.coefficients.shape == (30, 1)


@pytest.mark.parametrize("kwargs,param", [
    (dict(n=1), "n"), (dict(n=2.5), "n"), (dict(gain=-0.5), "gain"), (dict(gain=[]), "gain"),
    (dict(gain=float("nan")), "gain"), (dict(tau=0), "tau"), (dict(dt=0), "dt"), (dict(dt=-1), "dt"),
    (dict(dt=0.1, tau=0.05), "dt"), (dict(steps=0), "steps"), (dict(trials=0), "trials"),
    (dict(trials=1.5), "trials"), (dict(target_tau=-1), "target_tau"), (dict(target_tau=[1, 1.0]), "target_tau"),
    (dict(seed=-1), "seed"), (dict(x=np.zeros((3, 4))), "y"), (dict(y=np.zeros((3, 4))), "x"),
    (dict(x=np.zeros((3, 4)), y=np.zeros((3, 5))), "y"), (dict(x=np.full((3, 4), np.inf), y=np.zeros((3, 4))), "x"),
    (dict(x=np.zeros((3, 4)), y=np.zeros((3, 4)), trials=5), "trials"), (dict(x=np.zeros(3), y=np.zeros(3)), "x"),
    (dict(n=20000, trials=400, steps=500), "n"), (dict(n=40000, trials=1, steps=1), "memory"),
    (dict(gain=np.ones(1001)), "gain"),
    (dict(memory="lots"), "memory"),
])
def test_bad_arguments_are_input_errors_naming_the_parameter(kwargs, param):
    with pytest.raises(ValueError) as exc:
        kc.reservoir(**{**dict(n=20, trials=2, steps=3), **kwargs})
    assert isinstance(exc.value, InputError) and exc.value.param == param, (exc.value.param, exc.value)
    assert param in str(exc.value), exc.value


@pytest.mark.parametrize("args,words", [
    (["--gain", "-1"], ["--gain"]), (["--tau", "0"], ["--tau", "> 0"]), (["--dt", "0"], ["--dt"]),
    (["--dt", "0.1", "--tau", "0.05"], ["--dt 0.1", "--tau 0.05", "unstable"]), (["--steps", "0"], ["--steps"]),
    (["--trials", "0"], ["--trials"]), (["--n", "1"], ["--n"]), (["--target-tau", "-1"], ["--target-tau"]),
    (["--gain", "1:0:3"], ["--gain", "START"]), (["--gain", "0:1:2000"], ["--gain", "1000"]),
])
def test_bad_options_exit_2_with_one_line(run, tmp_path, args, words):
    one_error(run("reservoir", tmp_path / "c.h5", *args), *words)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,words", [
    (["--n", "200000"], ["--n 200000", "multiply-adds"]),
    (["--n", "60000", "--trials", "1", "--steps", "1"], ["memory budget", "--memory"]),
    (["--n", "1000", "--memory", "1M"], ["memory budget", "1M"]),
    (["--gain", "0:2:1000", "--n", "20000", "--steps", "100"], ["multiply-adds"]),
])
def test_absurd_sizes_are_refused_fast_and_small(tmp_path, args, words):
    code, stderr, cpu, rss = peak_child(KC + ["reservoir", str(tmp_path / "c.h5"), *args], tmp_path)
    line = stderr.decode().strip()
    assert code == 2 and len(line.splitlines()) == 1 and line.startswith("error:"), line
    assert all(w in line for w in words), line
    assert cpu < 2 and rss < 200, (cpu, rss)
    assert not list(tmp_path.glob("c*.h5"))


def test_outputs_are_checked_before_any_work(run, tmp_path):
    one_error(run("reservoir", tmp_path / "no" / "c.h5", *SMALL_ARGS), "OUTPUT", "does not exist")
    one_error(run("reservoir", tmp_path, *SMALL_ARGS), "OUTPUT", "directory")
    one_error(run("reservoir", tmp_path / "c.h5", "--gain", "1,1.0000001", *SMALL_ARGS), "--gain", "same file name")


@pytest.mark.slow
def test_theory_follows_the_readout_experiment_on_small_codes():
    """docs/theory/codes.md: within 10 % on average over P for every gain at the paper's ridge (here
    at a small size: N = 300, 30 trials × 30 steps, 60 training sets per P; the documented
    full-size figures are measured there, 2–4.4 %)."""
    r = kc.reservoir(n=300, gain=[0.5, 1.5, 2.5], trials=30, steps=30, seed=0)
    for codes in r.codes:
        y = codes.targets[:, 0]
        q = kc.predict(codes.spectrum(), p=[10, 30, 90], ridge=0.15, empirical=True, trials=60, seed=1,
                       X=codes.features, y=y)
        dev = q.eg_heldout / q.eg_empirical - 1
        sem = np.sqrt(np.sum((q.eg_empirical_sem / q.eg_empirical) ** 2)) / dev.size
        assert 3 * sem < 0.1, (codes.gain, sem)
        assert abs(dev.mean()) <= 0.1, (codes.gain, dev)
