"""The residual MLP engine: gradients, an independent forward pass, preset numbers, divergence, seeds."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.flatten_util  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from scipy.special import erf  # noqa: E402

from kerncurve.errors import InputError  # noqa: E402
from kerncurve.nn import ACTIVATIONS, PARAMS, scaling, train  # noqa: E402
from kerncurve.nn.model import forward, hidden_states, mse  # noqa: E402
from kerncurve.nn.train import draws  # noqa: E402

NP_ACT = {"tanh": np.tanh, "relu": lambda h: np.maximum(h, 0.0),
          "gelu": lambda h: 0.5 * h * (1.0 + erf(h / np.sqrt(2.0))), "linear": lambda h: h}


def tiny_problem(P=7, D=3, c=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((P, D)), rng.standard_normal((P, c))


def numpy_forward(W0, Ws, w, x, param, gamma0, beta0, alpha, act):
    """The network written out from its defining equations, layer by layer (shares no code)."""
    N, D = W0.shape
    L = len(Ws)
    phi = NP_ACT[act]
    h = x @ W0.T / np.sqrt(D)
    hs = [h]
    branch = 1.0 if param == "mlp" else (1.0 if param == "sp" else beta0) * L ** -alpha
    skip = 0.0 if param == "mlp" else 1.0  # the plain MLP: h^{ℓ+1} = W^ℓ φ(h^ℓ)/√N
    for W in Ws:
        h = skip * h + branch * phi(h) @ W.T / np.sqrt(N)
        hs.append(h)
    if param == "sp":
        return phi(h) @ w / np.sqrt(N), np.array(hs)
    return phi(h) @ w / (gamma0 * N), np.array(hs)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("param", PARAMS)
def test_forward_matches_independent_numpy(param, act):
    x, _ = tiny_problem()
    rng = np.random.default_rng(1)
    N, L, D, c = 5, 3, 3, 2
    W0, Ws, w = rng.standard_normal((N, D)), rng.standard_normal((L, N, N)), rng.standard_normal((N, c))
    sc = scaling(param, N, L, D, gamma0=0.7, beta0=1.3)
    want, want_h = numpy_forward(W0, Ws, w, x, param, 0.7, 1.3, sc.alpha, act)
    with jax.enable_x64(True):
        p = {"W0": jnp.asarray(W0), "W": jnp.asarray(Ws), "w": jnp.asarray(w)}
        got = np.asarray(forward(p, jnp.asarray(x), jnp.asarray(sc.mult), act))
        got_h = np.asarray(hidden_states(p, jnp.asarray(x), jnp.asarray(sc.mult), act))
    # float64 throughout, a handful of operations: agreement to rounding
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("param", PARAMS)
def test_gradient_matches_finite_differences(param, act):
    """jax.grad of the training loss against central differences in every coordinate.

    Central differences with step 1e-6 in float64 have truncation error ~1e-12 and rounding
    error ~1e-10 relative to the gradient, so 1e-5 leaves room only for a correct gradient;
    a wrong multiplier on any tensor shows up as an O(1) relative error. The point is away
    from initialization (θ₀ + 0.3·noise, f₀ kept), where the centred output is not zero.
    """
    x, y = tiny_problem()
    N, L, D, c = 5, 3, 3, 2
    with jax.enable_x64(True):
        sc = scaling(param, N, L, D, gamma0=0.7, beta0=1.3)
        mult = jnp.asarray(sc.mult)
        p0 = {k: jnp.asarray(v[0], jnp.float64) for k, v in draws(3, 1, D, N, L, c)[0].items()}
        f0 = forward(p0, jnp.asarray(x), mult, act) if sc.centred else 0.0
        flat0, unravel = jax.flatten_util.ravel_pytree(p0)
        theta = flat0 + 0.3 * jax.random.normal(jax.random.PRNGKey(4), flat0.shape, jnp.float64)
        loss = jax.jit(lambda t: mse(forward(unravel(t), jnp.asarray(x), mult, act) - f0, jnp.asarray(y)))
        g = np.asarray(jax.grad(loss)(theta))
        h = 1e-6
        eye = np.eye(theta.size)
        fd = np.array([(loss(theta + h * e) - loss(theta - h * e)) / (2 * h) for e in eye])
    assert np.linalg.norm(g - fd) <= 1e-5 * np.linalg.norm(g)
    # every tensor carries gradient (a dropped layer would pass the norm test above less often)
    sizes = np.cumsum([N * D, L * N * N])
    for part_g, part_fd in zip(np.split(g, sizes), np.split(fd, sizes)):
        assert np.linalg.norm(part_g) > 0
        assert np.linalg.norm(part_g - part_fd) <= 1e-5 * np.linalg.norm(part_g)


def test_preset_numbers_by_hand():
    # N = 64, L = 16, D = 16, gamma0 = 0.5, beta0 = 2
    kw = dict(width=64, depth=16, d_in=16, gamma0=0.5, beta0=2.0)
    dm = scaling("depth-mup", **kw)
    assert dm.mult == pytest.approx((0.25, 2 * 0.25 * 0.125, 1 / 32))
    assert dm.lr == pytest.approx((16.0, 16.0, 16.0))  # gamma0^2 N = 16, L^{2*1/2-1} = 1
    assert dm.centred
    d1 = scaling("depth-mup-1", **kw)
    assert d1.mult[1] == pytest.approx(2 / 16 * 0.125)
    assert d1.lr == pytest.approx((16.0, 256.0, 16.0))  # hidden x L
    mu = scaling("mup", **kw)
    assert mu.mult[1] == pytest.approx(2 * 0.125) and mu.lr == pytest.approx((16.0, 1.0, 16.0))  # hidden / L
    sp = scaling("sp", **kw)
    assert sp.mult == pytest.approx((0.25, 0.125, 0.125)) and not sp.centred  # no beta0, no gamma0
    assert sp.lr == pytest.approx((16.0, 64.0, 64.0))  # eta * fan_in
    a = scaling("depth-mup", optimizer="adam", eps=1e-8, **kw)
    assert a.lr == pytest.approx((0.5, 0.5 * 0.125 * 0.25, 0.5))  # gamma0, gamma0 N^-1/2 L^-1/2
    assert a.eps == pytest.approx((1e-8 / 64, 1e-8 / 512 / 4, 1e-8 / 64))
    assert scaling("depth-mup-1", optimizer="adam", **kw).lr[1] == pytest.approx(0.5 * 0.125)
    assert scaling("mup", optimizer="adam", **kw).lr[1] == pytest.approx(0.5 * 0.125 / 16)  # L^{alpha-1}
    sa = scaling("sp", optimizer="adam", eps=1e-8, **kw)
    assert sa.lr == pytest.approx((4.0, 8.0, 8.0)) and sa.eps == pytest.approx((2.5e-9, 1.25e-9, 1.25e-9))
    # the alpha override: depth-mup at alpha = 1 is depth-mup-1; mup at alpha = 1/2 is depth-mup
    over = scaling("depth-mup", alpha=1.0, **kw)
    assert (over.mult, over.lr) == (d1.mult, d1.lr)
    assert scaling("mup", alpha=0.5, **kw).lr == pytest.approx((16.0, 16.0, 16.0))


def test_adam_translation_between_forms():
    """Adam on W with (η, ε) equals Adam on θ = W/√f with (η/√f, ε√f): the documented translation."""
    rng = np.random.default_rng(0)
    f = 49.0
    A = rng.standard_normal((6, 6))
    loss_theta = lambda t: np.sum(np.tanh(A @ t) ** 2)
    grad_theta = lambda t: 2 * A.T @ (np.tanh(A @ t) * (1 - np.tanh(A @ t) ** 2))

    def adam(p, grad, lr, eps, steps=20):
        m = v = np.zeros_like(p)
        for k in range(steps):
            g = grad(p)
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            p = p - lr * (m / (1 - 0.9 ** (k + 1))) / (np.sqrt(v / (1 - 0.999 ** (k + 1))) + eps)
        return p

    W0 = rng.standard_normal(6)
    eta_w, eps_w = 0.03, 0.5  # a large ε, so that a wrong ε translation would show
    W = adam(W0, lambda w: grad_theta(w / np.sqrt(f)) / np.sqrt(f), eta_w, eps_w)
    theta = adam(W0 / np.sqrt(f), grad_theta, eta_w / np.sqrt(f), eps_w * np.sqrt(f))
    np.testing.assert_allclose(W / np.sqrt(f), theta, rtol=1e-12)
    assert loss_theta(theta) < loss_theta(W0 / np.sqrt(f))


def test_divergence_is_flagged_not_raised():
    x, y = tiny_problem(P=32, D=8, c=1)
    r = train(x, y, param="depth-mup", width=32, depth=4, lr=[0.3, 1e4], steps=30, seeds=2,
              x_test=x[:5], y_test=y[:5], at=[0, 10, 30])
    assert not r.diverged[0].any() and r.diverged[1].all()
    assert np.all(np.isfinite(r.train_loss[0])) and np.all(np.isfinite(r.test_loss[0]))
    assert np.all(r.train_loss[0, :, -1] < r.train_loss[0, :, 0])  # it trained
    assert np.all(np.isinf(r.train_loss[1, :, -1])) and np.all(np.isinf(r.test_loss[1, :, -1]))
    # the diverged curve is finite before the blow-up and inf from it on
    c = r.curve[1, 0]
    first = np.flatnonzero(np.isinf(c))[0]
    assert first >= 1 and np.all(np.isfinite(c[:first])) and np.all(np.isinf(c[first:]))


@pytest.mark.parametrize("optimizer,batch", [("sgd", None), ("adam", 8)])
def test_same_seed_same_arrays(optimizer, batch):
    x, y = tiny_problem(P=32, D=8, c=1)
    kw = dict(param="depth-mup", width=16, depth=3, lr=[0.01, 0.1], optimizer=optimizer, batch=batch,
              steps=15, seeds=2, x_test=x[:4], y_test=y[:4], at=[5, 15])
    a, b = train(x, y, seed=7, **kw), train(x, y, seed=7, **kw)
    for name in ("train_loss", "test_loss", "curve", "diverged"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    other = train(x, y, seed=8, **kw)
    assert not np.array_equal(a.curve, other.curve)
    assert not np.array_equal(a.curve[:, 0], a.curve[:, 1])  # seeds differ from each other


def test_float64_option_and_dtype():
    x, y = tiny_problem(P=16, D=4, c=1)
    r32 = train(x, y, width=8, depth=2, lr=0.5, steps=5, at=range(6))
    r64 = train(x, y, width=8, depth=2, lr=0.5, steps=5, at=range(6), dtype="float64")
    # the same weights and steps; float32 rounding (~1e-7 relative) is all that separates them
    np.testing.assert_allclose(r32.train_loss, r64.train_loss, rtol=1e-4)
    assert not np.array_equal(r32.train_loss, r64.train_loss)
    assert jnp.zeros(1).dtype == jnp.float32  # x64 stayed scoped to the call


@pytest.mark.parametrize("kwargs,match", [
    (dict(width=0), "width must be a whole number ≥ 1, got 0"),
    (dict(depth=2.5), "depth must be a whole number"),
    (dict(param="ntk"), "param must be one of"),
    (dict(optimizer="rmsprop"), "optimizer must be one of"),
    (dict(activation="sigmoid"), "activation must be one of"),
    (dict(lr=[0.1, -1]), "lr must be finite and > 0"),
    (dict(gamma0=0), "gamma0 must be finite and > 0"),
    (dict(batch=100), "batch must be at most the 16 training samples"),
    (dict(at=[3, 99]), "at must be whole steps between 0 and steps = 10"),
    (dict(dtype="float16"), "dtype must be one of"),
    (dict(alpha=float("nan")), "alpha must be finite"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    x, y = tiny_problem(P=16, D=4, c=1)
    kw = dict(width=4, depth=1, steps=10)
    kw.update(kwargs)
    with pytest.raises(InputError, match=match):
        train(x, y, **kw)


def test_bad_data_shapes():
    x, y = tiny_problem(P=16, D=4, c=1)
    with pytest.raises(InputError, match="y must have shape"):
        train(x, y[:10], width=4, depth=1)
    with pytest.raises(InputError, match="x_test and y_test must be given together"):
        train(x, y, width=4, depth=1, x_test=x)
    with pytest.raises(InputError, match="x_test, y_test must have 4 features"):
        train(x, y, width=4, depth=1, x_test=x[:, :3], y_test=y)
