"""kerncurve heads: API = CLI, rows and summary, the attention file and figure, the toy, bad inputs."""

import json
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

TINY = dict(heads=[2, 3], head_dim=2, attn_exp=[1.0, 0.5], steps=3, seeds=3, at=[0, 3])
TINY_ARGS = ["--heads", "2,3", "--head-dim", "2", "--attn-exp", "1,0.5", "--steps", "3", "--seeds", "3", "--at", "0,3"]
TOY = dict(heads=3, head_dim=[8, 32], steps=20, seeds=2, at=[0, 10, 20])
TOY_ARGS = ["--toy", "--heads", "3", "--head-dim", "8,32", "--steps", "20", "--seeds", "2", "--at", "0,10,20"]


@pytest.fixture(scope="module")
def seq_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 4, 3))
    path = tmp_path_factory.mktemp("heads") / "seq.h5"
    return write_h5(path, inputs=x, targets=np.tanh(x[:, 0, 0] * x[:, 1, 1]))


@pytest.fixture(scope="module")
def api_result(seq_file):
    return kc.heads(seq_file, **TINY, seed=1)


def test_the_api_equals_the_command_line_with_outputs(seq_file, api_result, run, tmp_path):
    att, fig = tmp_path / "att.h5", tmp_path / "heads.png"
    out = run("heads", seq_file, *TINY_ARGS, "--seed", "1", "--json", "-q", "--attention-output", att, "--plot", fig)
    assert out.exit_code == 0, out.stderr
    same_as_cli(out.stdout, api_result)
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with h5py.File(att) as f:
        assert f.attrs["format"] == "kerncurve-heads-attention" and f.attrs["format-version"] == 1
        assert f["probe_inputs"].shape == (12, 4, 3)
        g = f["a0.5_l1_H3_N2_L1"]
        assert g.attrs["heads"] == 3 and g.attrs["attn_exp"] == 0.5
        for k in ("init", "final"):
            assert g[k].shape == (3, 1, 12, 3, 4, 4)  # seeds, blocks, probe sequences, heads, S, S
            np.testing.assert_allclose(g[k][:].sum(-1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(g["final"][:], api_result.runs[0.5, 1.0, 3, 2, 1].attention_final, rtol=1e-6)


def test_rows_and_summary(api_result):
    d = api_result.to_dict()
    assert list(d) == ["attn_exp", "depth_exp", "heads", "head_dim", "depth", "step", "loss", "loss_sem",
                       "head_spread", "kernel_spread"]
    assert len(d["step"]) == 2 * 2 * 2  # α_A × H × recorded steps
    assert d["attn_exp"].tolist() == [1.0] * 4 + [0.5] * 4 and d["heads"].tolist()[:4] == [2, 2, 3, 3]
    np.testing.assert_allclose(d["loss"][d["step"] == 0], d["loss"][0], rtol=1e-6)  # centred: f = 0 at init
    assert np.all(d["head_spread"] > 0)
    sm = api_result.summary
    for key in ("head_spread_exponent_n", "head_spread_exponent_h", "kernel_spread_exponent_h"):
        assert set(sm[key]) == {"1", "0.5"} and set(sm[key + "_se"]) == {"1", "0.5"}
    assert sm["head_spread_exponent_n"]["1"] is None  # one head dimension: no N exponent
    assert all(isinstance(v, float) for v in sm["head_spread_exponent_h"].values())
    # step 0 is recorded: the kernel's H exponent at initialization is fitted too, and quoted in the verdict
    assert all(isinstance(v, float) for v in sm["kernel_spread_exponent_h_init"].values())
    assert set(sm["kernel_spread_exponent_h_init_se"]) == {"1", "0.5"} and "at step 0 r =" in sm["verdict"][0]
    assert len(sm["models"]) == 4 and sm["models"][0]["qk_movement"][0][0] > 0
    assert sm["verdict"] and sm["diverged"] == 0
    # the head spread of a row is the seed mean of the per-network spread at that step
    run = api_result.runs[1.0, 1.0, 3, 2, 1]
    np.testing.assert_allclose(d["head_spread"][2:4], run.head_spread.mean(axis=(0, 2)), rtol=1e-12)


def test_fitted_exponents_recover_a_power_law():
    from kerncurve.nn.spread import power_law

    N = np.array([4, 16, 64, 4, 16, 64])
    group = ["H=2"] * 3 + ["H=8"] * 3
    value = np.array([1.0, 1.0, 1.0, 3.0, 3.0, 3.0]) * N ** -0.8
    e, se = power_law(N, value, group)
    assert e == pytest.approx(0.8) and se == pytest.approx(0.0, abs=1e-9)
    noisy = value * np.exp([0.1, -0.1, 0.05, -0.05, 0.1, -0.1])
    e, se = power_law(N, noisy, group, replicates=np.array([value, noisy, value]))
    assert abs(e - 0.8) < 0.1 and 0 < se < 0.2
    assert power_law([4, 4], [1.0, 2.0], ["a", "b"]) == (None, None)


def test_the_toy_api_equals_the_command_line(run, tmp_path):
    fig = tmp_path / "toy.svg"
    out = run("heads", *TOY_ARGS, "--json", "-q", "--plot", fig)
    assert out.exit_code == 0, out.stderr
    r = kc.heads(toy=True, **TOY)
    same_as_cli(out.stdout, r)
    assert fig.read_bytes().lstrip().startswith(b"<?xml")
    d = r.to_dict()
    assert list(d)[-2:] == ["loss_dmft", "head_spread_dmft"] and np.isnan(d["depth_exp"]).all()
    assert d["loss"][0] == d["loss_dmft"][0] == 0.5  # XOR targets ±1: L(0) = ½
    assert set(r.summary["max_rel_deviation"]["3"]) == {"8", "32"}


def test_the_toy_networks_are_their_own_gram_dynamics():
    from kerncurve.simulate.heads_toy import toy_grams, toy_init, toy_networks
    from kerncurve.theory.heads_toy import toy_recursion, xor_task

    x, y = xor_task()
    nets = toy_networks(x, y, width=40, gates=3, steps=25, lr=0.05, gamma0=1.5, seeds=2, seed=4)
    g1, g2 = toy_grams(toy_init(2, 3, 40, 2, seed=4), x)
    rec = toy_recursion(g1, g2, x, y, steps=25, lr=0.05, gamma0=1.5)
    # two different computations of the same SGD trajectory: rounding only
    np.testing.assert_allclose(nets.loss, rec.loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(nets.attention, rec.attention, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nets.kernel, rec.kernel, rtol=1e-10)


def test_the_toy_gradient_equals_finite_differences():
    from kerncurve.simulate.heads_toy import ToyWeights, toy_gradients, toy_init, toy_output
    from kerncurve.theory.heads_toy import xor_task

    x, y = xor_task()
    p = toy_init(1, 2, 5, 2, seed=2)
    f0 = toy_output(p, x, 0.7) - 0.3  # any offset: the gradient takes Δ as given
    loss = lambda q: 0.5 * np.mean((y - toy_output(q, x, 0.7) + f0) ** 2)
    g = toy_gradients(p, x, y - toy_output(p, x, 0.7) + f0, 0.7)
    eps = 1e-6
    for name in ("w", "Wv", "k", "Wq"):
        arr = getattr(p, name)
        for idx in [(0, 0, 0, 0), (0, 1, 3, 0), (0, 1, 2, 1)]:
            idx = idx[:arr.ndim]  # one weight each: (seed, gate, neuron[, input])
            up, down = [ToyWeights(*(np.array(getattr(p, k)) for k in ("w", "Wv", "k", "Wq"))) for _ in range(2)]
            getattr(up, name)[idx] += eps
            getattr(down, name)[idx] -= eps
            fd = (loss(up) - loss(down)) / (2 * eps)
            assert getattr(g, name)[idx] == pytest.approx(fd, rel=1e-6, abs=1e-10), (name, idx)


def test_the_toy_limit_from_its_initial_grams():
    from kerncurve.simulate.heads_toy import toy_grams, toy_init
    from kerncurve.theory.heads_toy import limit_grams, toy_limit, xor_task

    x, y = xor_task()
    g1, g2 = limit_grams(x, 4, "warm", seed=0)
    wide = toy_grams(toy_init(1, 4, 200_000, 2, seed=0), x)
    # the sampled Grams of a very wide network sit on their expectations, to O(N^{-1/2}) ≈ 2e-3
    np.testing.assert_allclose(wide[0][0], g1, atol=2e-2)
    np.testing.assert_allclose(wide[1][0], g2, atol=2e-2)
    cold = toy_limit(x, y, gates=4, steps=50, lr=0.01, gamma0=1.0, start="cold")
    # cold start: every gate at A = 0, one dynamics, and XOR's symmetric saddle holds the loss at ½
    assert np.all(cold.attention == 0) and np.all(cold.head_spread == 0) and np.allclose(cold.loss, 0.5)


@pytest.mark.slow
def test_toy_networks_converge_to_the_limit():
    from kerncurve.simulate.heads_toy import toy_networks
    from kerncurve.theory.heads_toy import toy_limit, xor_task

    x, y = xor_task()
    kw = dict(gates=6, steps=1000, lr=0.002, gamma0=2.5)
    lim = toy_limit(x, y, **kw)
    dev = {N: np.max(np.abs(toy_networks(x, y, width=N, seeds=3, **kw).loss.mean(0) - lim.loss)) / lim.loss[0]
           for N in (256, 1024, 4096)}
    assert dev[4096] < 2e-2 and dev[4096] < dev[1024] < dev[256], dev


def test_query_match_sample_needs_attention():
    with h5py.File(f"{SAMPLES}/query_match.h5") as f:
        x, y = f["inputs"][:], f["targets"][:]
    assert x.shape == (512, 8, 6) and set(np.unique(y)) == {-1.0, 1.0}
    key = np.argmax(x[:, :, 1:5], axis=2)
    match = (key[:, 1:] == key[:, :1]).sum(axis=1)
    assert np.all(match == 1)  # exactly one context token carries the query's key
    j = 1 + np.argmax(key[:, 1:] == key[:, :1], axis=1)
    np.testing.assert_array_equal(y, x[np.arange(512), j, -1])
    with h5py.File(f"{SAMPLES}/digits_seq.h5") as f:
        assert f["inputs"].shape == (1200, 8, 16) and f["test/inputs"].shape == (597, 8, 16)


@pytest.mark.parametrize("args,words", [
    (["--heads", "0"], "--heads"), (["--head-dim", "0"], "--head-dim"), (["--depth", "0"], "--depth"),
    (["--steps", "0"], "--steps"), (["--seeds", "0"], "--seeds"), (["--attn-exp", "0.25"], "--attn-exp"),
    (["--depth-exp", "1.5"], "--depth-exp"), (["--heads", "2,2"], "repeated"), (["--lr", "1,2"], "one base"),
    (["--lr", "-1"], "--lr"), (["--at", "99"], "--at"), (["--memory", "1K"], "--memory"),
    (["--attention-output", "x.h5", "--toy"], "--toy"),
])
def test_bad_options_exit_2_with_one_line(seq_file, run, args, words):
    if "--toy" in args:
        one_error(run("heads", *args), words)
    else:
        one_error(run("heads", seq_file, "--heads", "2", "--head-dim", "2", "--steps", "2", *args), words)


def test_bad_files_exit_2_with_one_line(tmp_path, run):
    x = np.zeros((6, 3, 2))
    flat = write_h5(tmp_path / "flat.h5", inputs=np.zeros((6, 4)), targets=np.zeros(6))
    one_error(run("heads", flat, "--steps", "1"), "3-D")
    short = write_h5(tmp_path / "short.h5", inputs=x, targets=np.zeros(5))
    one_error(run("heads", short, "--steps", "1"), "5 rows", "6")
    single = write_h5(tmp_path / "single.h5", inputs=np.zeros((6, 1, 2)), targets=np.zeros(6))
    one_error(run("heads", single, "--steps", "1"), "length S = 1", "identity")
    one_error(run("heads", "--steps", "1"), "INPUT is missing", "--toy")
    one_error(run("heads", tmp_path / "missing.h5"), "does not exist")
    ok = write_h5(tmp_path / "ok.h5", inputs=x, targets=np.zeros(6))
    one_error(run("heads", ok, "--toy"), "toy", "XOR")


def test_huge_grids_are_refused_fast_and_small(seq_file, tmp_path):
    args = ["--heads", "64", "--head-dim", "1024", "--seeds", "50", "--steps", "1000"]
    code, stderr, cpu, rss = peak_child(KC + ["heads", seq_file, *args], tmp_path)
    line = stderr.decode().strip()
    assert code == 2 and len(line.splitlines()) == 1 and "--memory" in line, line
    assert cpu < 10 and rss < 600, (cpu, rss)


def test_missing_extra_says_the_pip_command(seq_file):
    code = textwrap.dedent(f"""
        import sys
        class NoJax:
            def find_spec(self, name, path=None, target=None):
                if name == "jax" or name.startswith("jax."):
                    raise ImportError("no jax here")
        sys.meta_path.insert(0, NoJax())
        from kerncurve.cli import main
        main(["heads", {seq_file!r}, "--heads", "2", "--head-dim", "2", "--steps", "2"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == "error: kerncurve heads needs JAX: pip install 'kerncurve[nn]'", out.stderr


@pytest.mark.parametrize("kwargs,name", [
    (dict(heads=0), "heads"), (dict(head_dim=[2, 2]), "head_dim"), (dict(attn_exp=2), "attn_exp"),
    (dict(depth_exp=0.1), "depth_exp"), (dict(depth=0), "depth"), (dict(steps=0), "steps"), (dict(seeds=0), "seeds"),
    (dict(lr=[1, 2]), "lr"), (dict(base_depth=0), "base_depth"), (dict(optimizer="sgdm"), "optimizer"),
    (dict(batch=100), "batch"), (dict(at=[9]), "at"), (dict(memory="1K"), "memory"),
])
def test_api_bad_arguments_name_the_parameter(seq_file, kwargs, name):
    base = dict(heads=2, head_dim=2, steps=2)
    with pytest.raises(ValueError) as e:
        kc.heads(seq_file, **{**base, **kwargs})
    assert isinstance(e.value, kc.InputError) and name in str(e.value), str(e.value)


@pytest.mark.parametrize("kwargs,name", [(dict(attn_exp=0.5), "attn_exp"), (dict(depth=2), "depth"),
                                         (dict(optimizer="adam"), "optimizer"), (dict(batch=2), "batch"),
                                         (dict(toy_start="hot"), "toy_start"), (dict(x=np.zeros((4, 2, 2))), "x")])
def test_toy_refuses_what_it_cannot_do(kwargs, name):
    with pytest.raises(kc.InputError) as e:
        kc.heads(toy=True, steps=2, head_dim=4, heads=2, **kwargs)
    assert name in str(e.value)


def test_json_summary_is_strict(api_result):
    obj = json.loads(api_result.to_json())
    assert obj["command"] == "heads" and obj["params"]["heads"] == [2, 3]
