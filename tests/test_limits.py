"""`kerncurve limits` and `kc.limits`: API = CLI, rows and summary, the fit file and figure,
the control and the linear theory, and one error line per bad input."""

import json

import numpy as np
import pytest
from api_checks import bad_call
from conftest import one_error, write_h5

import kerncurve as kc

pytest.importorskip("jax")

TINY = dict(width=[8, 16, 32], depth=[1, 2, 3], lr=0.5, steps=6, seeds=2, gamma0=0.5)
ARGS = ["--width", "8,16,32", "--depth", "1,2,3", "--lr", "0.5", "--steps", "6", "--seeds", "2", "--gamma0", "0.5"]


@pytest.fixture(scope="module")
def nn_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3))
    y = np.tanh(x @ [1.0, -2.0, 0.5])
    return write_h5(tmp_path_factory.mktemp("lim") / "tiny.h5", inputs=x, targets=y)


@pytest.fixture(scope="module")
def lin_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((16, 4)))
    x = q * 4.0  # XᵀX/P = I
    y = x @ rng.standard_normal(4) / 2.0
    return write_h5(tmp_path_factory.mktemp("lin") / "lin.h5", inputs=x, targets=y / np.sqrt(np.mean(y**2)))


@pytest.fixture(scope="module")
def api_result(nn_file):
    return kc.limits(nn_file, **TINY, at=[3, 6], control="mlp", seed=2)


def test_the_api_equals_the_command_line(run, nn_file, api_result, tmp_path):
    fit, fig = tmp_path / "fit.json", tmp_path / "f.png"
    out = run("limits", nn_file, *ARGS, "--at", "3,6", "--control", "mlp", "--seed", "2", "--json", "-q",
              "--fit-output", fit, "--plot", fig)
    assert out.exit_code == 0, out.stderr
    cli = json.loads(out.stdout)
    api = json.loads(api_result.to_json())
    assert cli["summary"] == api["summary"] and cli["params"] == api["params"]
    for col, vals in api_result.to_dict().items():
        got = [row[col] for row in cli["rows"]]
        if col == "param":
            assert got == list(vals)
        else:
            np.testing.assert_allclose(np.array(got, float), vals, rtol=1e-12, atol=0, err_msg=col)
    obj = json.loads(fit.read_text())
    assert obj["format"] == "kerncurve-limits-fit" and set(obj["fits"]) == {"depth-mup", "mlp"}
    rec = obj["fits"]["depth-mup"][-1]
    assert rec["step"] == 6 and rec["additive"]["terms"] == ["o_inf", "a", "b", "c"]
    assert set(rec["limits"]["diagonals"]) == {"N=1L", "N=4L", "N=16L"}
    assert fig.stat().st_size > 1000


def test_rows_and_summary(api_result):
    r = api_result
    assert list(r.to_dict()) == ["param", "width", "depth", "step", "loss", "loss_sem"]
    assert len(r) == 2 * 3 * 3 * 2 and list(r.param[:18]) == ["depth-mup"] * 18
    s = r.summary
    for key in ("o_inf", "o_inf_ci", "exponent_width", "exponent_depth", "coupling_z", "chi2_dof", "limits_commute"):
        assert key in s and key in s["control"]
    lo, hi = s["o_inf_ci"]
    assert lo <= s["o_inf"] <= hi and isinstance(s["limits_commute"], bool)
    # the summary's o_inf is the additive fit of the last step's table
    from kerncurve.theory.finite_size import fit_surface

    last = (r.param == "depth-mup") & (r.step == 6)
    fit = fit_surface(r.width[last], r.depth[last], r.loss[last], r.loss_sem[last])
    assert s["o_inf"] == pytest.approx(fit.coef[0], rel=1e-12)


def test_linear_theory_overlay(lin_file):
    r = kc.limits(lin_file, width=[8, 16, 32], depth=[1, 2, 3], lr=0.05, steps=6, seeds=3, activation="linear",
                  theory=True, dtype="float64")
    assert r.columns[-1] == "loss_theory"
    from kerncurve.theory.dmft import deep_linear_resnet, input_kernel

    x, y = r.network_data.x, r.network_data.y[:, 0]
    th = deep_linear_resnet(input_kernel(x), y, 1.0, 6 * 0.05, 0.05, depth=3).loss  # step k is time k·lr
    sel = (r.depth == 3) & (r.step == 6)
    np.testing.assert_allclose(r.loss_theory[sel], th[6], rtol=1e-12)
    assert np.all(np.abs(r.loss[sel] - th[6]) < 6 * r.loss_sem[sel] + 0.05 * th[6])  # finite N near N = ∞
    assert {"theory_o_inf", "theory_o_inf_error", "theory_agrees"} <= set(r.summary)


@pytest.mark.parametrize("param, alpha, gamma0", [("depth-mup", 0.5, 1.0), ("depth-mup-1", 1.0, 0.5)])
def test_engine_steps_are_the_theory_times(param, alpha, gamma0):
    # the network engine (activation 'linear') from the initial weights that the numpy trainer checked
    # against the residual DMFT draws: step k with base rate lr is that trainer's time k·lr (dt = lr)
    import jax

    from kerncurve.nn._engine import train_grid
    from kerncurve.nn.scaling import scaling
    from kerncurve.nn.train import precision
    from kerncurve.simulate.dmft_resnet import train_resnets

    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    N, L, lr, steps = 24, 3, 0.1, 6
    ref = train_resnets(x, y, gamma0, steps * lr, lr, N, L, alpha=alpha, seeds=1, seed=7).loss[0]
    draw = np.random.default_rng(7)  # train_resnets' order of draws
    p0 = {"W0": draw.standard_normal((N, 3)), "W": np.stack([draw.standard_normal((N, N)) for _ in range(L)]),
          "w": draw.standard_normal((N, 1))}
    sc = scaling(param, N, L, 3, gamma0=gamma0)
    with precision("float64"):
        import jax.numpy as jnp

        out = train_grid(jax.tree_util.tree_map(lambda a: jnp.asarray(a[None]), p0), jnp.zeros((1, steps + 1, 0), int),
                         jnp.asarray([lr]), jnp.asarray(x), jnp.asarray(y[:, None]), None, None,
                         jnp.ones(steps + 1, bool), jnp.asarray(sc.mult), jnp.asarray(sc.lr), jnp.asarray(sc.eps),
                         width=N, depth=L, activation="linear", optimizer="sgd", steps=steps, batch=None,
                         centred=sc.centred, linearized=False)
        np.testing.assert_allclose(np.asarray(out["train"])[0, 0], ref, rtol=1e-12, atol=1e-15)


def test_the_mlp_control_has_no_skip_connections():
    import jax.numpy as jnp

    from kerncurve.nn.model import forward
    from kerncurve.nn.scaling import scaling

    sc = scaling("mlp", 8, 3, 2, gamma0=0.5, alpha=1.0)  # α is not used: no branches to scale
    assert sc.mult == pytest.approx((2 ** -0.5, 8 ** -0.5, 1 / 4, 0.0)) and sc.lr == pytest.approx((2.0, 2.0, 2.0))
    rng = np.random.default_rng(0)
    p = {"W0": rng.standard_normal((8, 2)), "W": rng.standard_normal((3, 8, 8)), "w": rng.standard_normal((8, 1))}
    x = rng.standard_normal((4, 2))
    h = x @ p["W0"].T / np.sqrt(2)
    for W in p["W"]:
        h = np.tanh(h) @ W.T / np.sqrt(8)  # h^{l+1} = W^l φ(h^l)/√N, no h^l term
    got = forward({k: jnp.asarray(v, jnp.float32) for k, v in p.items()}, jnp.asarray(x, jnp.float32),
                  jnp.asarray(sc.mult, jnp.float32), "tanh")
    np.testing.assert_allclose(np.asarray(got), np.tanh(h) @ p["w"] / 4, rtol=2e-5, atol=1e-6)


def test_the_theory_on_the_reduced_problem_equals_the_full_one():
    # one point per eigenvalue of Kx that y sees: the loss at every time is unchanged (exactly)
    from kerncurve.theory.dmft import deep_linear_resnet, input_kernel
    from kerncurve.theory.dmft.reduce import spectral_reduction

    rng = np.random.default_rng(3)
    q = np.linalg.qr(rng.standard_normal((7, 3)))[0] * [3.0, 3.0, 2.0]
    x = np.column_stack([q, q[:, 2]])  # Kx has eigenvalues 9/4 (twice) and 2: rank 3, two distinct
    y = rng.standard_normal(7)
    kx = input_kernel(x)
    kr, yr, offset = spectral_reduction(kx, y)
    assert kr.shape == (2, 2) and offset > 0
    for gamma0, alpha in [(0.5, 0.5), (2.0, 1.0)]:
        full = deep_linear_resnet(kx, y, gamma0, 1.5, 0.25, depth=3, alpha=alpha).loss
        small = deep_linear_resnet(kr, yr, gamma0, 1.5, 0.25, depth=3, alpha=alpha).loss + offset
        np.testing.assert_allclose(small, full, rtol=1e-11, atol=1e-14)


def test_kernel_observable(nn_file, api_result):
    r = kc.limits(nn_file, **TINY, at=[3, 6], seed=2, observable="kernel")
    assert r.columns[-2:] == ["kernel_distance", "kernel_distance_sem"]
    np.testing.assert_array_equal(r.loss, api_result.loss[api_result.param == "depth-mup"])  # same networks
    assert np.all(r.kernel_distance > 0) and np.all(r.kernel_distance_sem >= 0)
    last = r.step == 6
    fit_o = r.summary["o_inf"]
    from kerncurve.theory.finite_size import fit_surface

    fit = fit_surface(r.width[last], r.depth[last], r.kernel_distance[last], r.kernel_distance_sem[last])
    assert fit_o == pytest.approx(fit.coef[0], rel=1e-12) and r.summary["observable"] == "kernel"


@pytest.mark.parametrize("args, words", [
    (["--width", "8,16", "--depth", "1,2,3"], "at least 3 widths"),
    (["--width", "8,16,32", "--depth", "1,2"], "at least 3 depths"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--seeds", "1"], "at least 2 seeds"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--theory"], "not solvable"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--lr", "0.1,1"], "one base learning rate"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--param", "sp,mup"], "one parameterization"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--at", "0"], "--at"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--steps", "5", "--at", "9"], "beyond"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--activation", "sigmoid"], "--activation"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--gamma0", "0"], "--gamma0"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--param", "mlp", "--control", "mlp"], "control itself"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--activation", "linear", "--theory", "--optimizer", "adam"],
     "--theory"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--activation", "linear", "--theory", "--alpha", "0.3"],
     "alpha in [0.5, 1]"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--memory", "1K"], "--memory"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--observable", "kernel", "--batch", "8"], "full batch"),
    (["--width", "8,16,32", "--depth", "1,2,3", "--observable", "ntk"], "--observable"),
])
def test_bad_input_exits_2_with_one_line(run, nn_file, args, words):
    assert words in one_error(run("limits", nn_file, *args))


def test_bad_api_arguments(nn_file):
    ok = dict(TINY)
    for param, kw in [("width", dict(width=[8, 16])), ("depth", dict(depth=[1])), ("seeds", dict(seeds=1)),
                      ("lr", dict(lr=[0.1, 1.0])), ("control", dict(control="cnn")), ("at", dict(at=[0])),
                      ("theory", dict(theory=True))]:
        args = dict(ok, **kw)
        bad_call(kc.limits, param, input=nn_file, **args)


@pytest.mark.slow
def test_depth_mup_commutes_on_a_small_grid(nn_file):
    r = kc.limits(nn_file, width=[16, 32, 64], depth=[2, 4, 8], lr=0.5, steps=10, seeds=4, gamma0=0.5)
    assert r.summary["chi2_dof"] < 5 and abs(r.summary["coupling_z"]) < 3
