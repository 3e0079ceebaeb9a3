"""Jitted training of many runs at once (imports JAX; use through `kerncurve.nn.train`).

One run = one seed × one base learning rate η₀. Runs are vectorized with `jax.vmap` (seeds
inside, learning rates outside; every learning rate of a seed starts from the same weights
and sees the same minibatches), steps with `jax.lax.scan`, layers with `jax.lax.scan` inside
the model. Initial weights and minibatch orders come in as arrays (drawn by numpy in
`kerncurve.nn.train.draws`): random-number generation inside a vmapped program would cost
seconds of XLA compilation for every network shape. A run whose loss turns non-finite or
exceeds ``DIVERGED × L(0)`` is frozen: its parameters and optimizer state stop changing (a
mask, not an exception), and every loss recorded from then on is ``inf``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from kerncurve.nn.model import forward, hidden_states, mse

DIVERGED = 1e3
BETA1, BETA2 = 0.9, 0.999
_INDEX = {"W0": 0, "W": 1, "w": 2}
_STATIC = ("width", "depth", "activation", "optimizer", "steps", "batch", "centred", "linearized")


def _model(net, params0, centred, linearized):
    """Output in the loss: f, f − f₀, or the linearization f₀ + J(θ − θ₀) (centred: J(θ − θ₀)).

    ``net(p, x)`` is the network's output; ``f0`` is its initial output where the model
    subtracts it itself (see `_offsets`).
    """
    if not linearized:
        if centred:
            return lambda p, x, f0: net(p, x) - f0
        return lambda p, x, f0: net(p, x)

    def lin(p, x, f0):
        tangent = jax.tree_util.tree_map(jnp.subtract, p, params0)
        primal, out = jax.jvp(lambda q: net(q, x), (params0,), (tangent,))
        return out if centred else primal + out

    return lin


def _optimizer(optimizer, lr, eps, index=None):
    """(init, update) of SGD or Adam with a learning rate and ε per tensor.

    ``lr[index[name]]`` and ``eps[index[name]]`` belong to the tensor ``name`` of the
    parameter dict (default: the MLP's W0, W, w).
    """
    index = _INDEX if index is None else index
    if optimizer == "sgd":
        def update(p, g, state, t):
            return {k: p[k] - lr[index[k]] * g[k] for k in p}, state
        return (lambda p: ()), update

    def init(p):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, p)
        return (zeros, zeros)

    def update(p, g, state, t):
        m, v = state
        m = {k: BETA1 * m[k] + (1 - BETA1) * g[k] for k in p}
        v = {k: BETA2 * v[k] + (1 - BETA2) * g[k] * g[k] for k in p}
        c1 = 1 - BETA1 ** (t + 1)
        c2 = 1 - BETA2 ** (t + 1)
        new = {k: p[k] - lr[index[k]] * (m[k] / c1) / (jnp.sqrt(v[k] / c2) + eps[index[k]]) for k in p}
        return new, (m, v)

    return init, update


def _setup(net, params0, eta0, lrf, eps, s, index=None):
    """The loss model and the optimizer of one run."""
    model = _model(net, params0, s["centred"], s["linearized"])
    init, update = _optimizer(s["optimizer"], eta0 * lrf, eps, index)
    return model, init, update


def _offsets(net, params0, s, *xs):
    """f₀ on each input array when the model subtracts it itself (centred, not linearized), else 0."""
    if s["centred"] and not s["linearized"]:
        return [None if x is None else net(params0, x) for x in xs]
    return [None if x is None else jnp.zeros((x.shape[0], 1), x.dtype) for x in xs]


def _mlp(mult, s):
    """The residual MLP's output as a function of (params, x)."""
    return partial(forward, mult=mult, activation=s["activation"])


def train_one(params0, order, eta0, x, y, xt, yt, record, net, lrf, eps, s, index=None, observe=None):
    """One run: losses at every step (``curve``) and recorded step (``train``, ``test``), ``diverged``.

    ``net(p, x)`` is the network, ``s`` the static options (optimizer, steps, batch, centred,
    linearized, and optionally ``keep``: also return the final parameters as ``params``).
    ``observe(p)``, if given, is evaluated at the recorded steps (zeros elsewhere) and
    returned as ``observed``; a frozen (diverged) run observes its frozen parameters.
    """
    model, opt_init, opt_update = _setup(net, params0, eta0, lrf, eps, s, index)
    f0, f0t = _offsets(net, params0, s, x, xt)
    loss = lambda p, xb, yb, fb: mse(model(p, xb, fb), yb)
    grad = jax.value_and_grad(loss)
    l0 = jnp.maximum(loss(params0, x, y, f0), jnp.finfo(x.dtype).tiny)
    inf = jnp.asarray(jnp.inf, x.dtype)
    B = s["batch"]

    def step(carry, xs):
        params, state, alive = carry
        t, rec, idx = xs
        if B is None:
            xb, yb, fb = x, y, f0
        else:
            xb, yb, fb = x[idx], y[idx], f0[idx]
        value, g = grad(params, xb, yb, fb)
        alive = alive & jnp.isfinite(value) & (value <= DIVERGED * l0)
        if B is None:
            train = value
        else:
            train = jax.lax.cond(rec, lambda: loss(params, x, y, f0), lambda: jnp.zeros((), x.dtype))
        out = {"curve": jnp.where(alive, value, inf), "train": jnp.where(alive, train, inf)}
        if xt is not None:
            test = jax.lax.cond(rec, lambda: loss(params, xt, yt, f0t), lambda: jnp.zeros((), x.dtype))
            out["test"] = jnp.where(alive, test, inf)
        if observe is not None:
            blank = jax.tree_util.tree_map(jnp.zeros_like, jax.eval_shape(observe, params))
            out["observed"] = jax.lax.cond(rec, lambda: observe(params), lambda: blank)
        new, new_state = opt_update(params, g, state, t)
        move = alive & (t < s["steps"])
        params = jax.tree_util.tree_map(lambda a, b: jnp.where(move, a, b), new, params)
        state = jax.tree_util.tree_map(lambda a, b: jnp.where(move, a, b), new_state, state)
        return (params, state, alive), out

    ts = jnp.arange(s["steps"] + 1)
    (params, _, alive), out = jax.lax.scan(step, (params0, opt_init(params0), jnp.asarray(True)), (ts, record, order))
    out["diverged"] = ~alive
    if s.get("keep"):
        out["params"] = params
    return out


@partial(jax.jit, static_argnames=_STATIC)
def train_grid(params0, orders, eta0s, x, y, xt, yt, record, mult, lrf, eps, **static):
    """Train len(eta0s) × seeds runs; arrays (lr, seed, steps + 1) plus ``diverged`` (lr, seed).

    ``params0`` holds each seed's initial weights (leading seed axis), ``orders`` the
    minibatch indices (seed, steps + 1, batch) (full batch: (seed, steps + 1, 0)). Outputs:
    ``train`` the full training loss at recorded steps (0 elsewhere when minibatched),
    ``curve`` the loss on each step's batch, ``test`` the test loss at recorded steps.
    """
    def run(p0, order, eta0):
        return train_one(p0, order, eta0, x, y, xt, yt, record, _mlp(mult, static), lrf, eps, static)

    return jax.vmap(jax.vmap(run, (0, 0, None)), (None, None, 0))(params0, orders, eta0s)


@partial(jax.jit, static_argnames=_STATIC)
def coord_grid(params0, eta0, x, y, mult, lrf, eps, **static):
    """RMS of every h^ℓ and of h^ℓ(k) − h^ℓ(0), k = 0..steps, per seed (full batch, no freezing).

    Returns ``rms`` and ``delta`` of shape (seed, steps + 1, L + 1) and ``h0``, ``h_end`` of
    shape (seed, L + 1, n, N).
    """
    def run(params0):
        net = _mlp(mult, static)
        model, opt_init, opt_update = _setup(net, params0, eta0, lrf, eps, static)
        (f0,) = _offsets(net, params0, static, x)
        grad = jax.grad(lambda p: mse(model(p, x, f0), y))
        states = partial(hidden_states, x=x, mult=mult, activation=static["activation"])
        h0 = states(params0)
        rms = lambda a: jnp.sqrt(jnp.mean(a * a, axis=(-2, -1)))

        def step(carry, t):
            params, state = carry
            h = states(params)
            params, state = opt_update(params, grad(params), state, t)
            return (params, state), (rms(h), rms(h - h0))

        (params, _), (r, d) = jax.lax.scan(step, (params0, opt_init(params0)), jnp.arange(static["steps"]))
        h_end = states(params)
        r = jnp.concatenate([r, rms(h_end)[None]])
        d = jnp.concatenate([d, rms(h_end - h0)[None]])
        return {"rms": r, "delta": d, "h0": h0, "h_end": h_end}

    return jax.vmap(run)(params0)
