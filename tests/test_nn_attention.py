"""The attention model: a hand-computed single head, an independent numpy forward pass, gradients
against finite differences (float64), the scaling table by hand, head spread, divergence, seeds."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.flatten_util  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from scipy.special import erf  # noqa: E402

from kerncurve.errors import InputError  # noqa: E402
from kerncurve.nn.attention import attention_maps, forward, head_spread, kernel  # noqa: E402
from kerncurve.nn.attn_scaling import TENSORS, attention_scaling  # noqa: E402
from kerncurve.nn.heads import train_heads  # noqa: E402
from kerncurve.nn.model import mse  # noqa: E402

GELU = lambda h: 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))


def ln(x):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-6)


def draw(H, N, L, D, c=1, seed=0):
    M = H * N
    rng = np.random.default_rng(seed)
    shapes = {"Win": (M, D), **{k: (L, M, M) for k in TENSORS[1:-1]}, "w": (M, c)}
    return {k: rng.standard_normal(s) for k, s in shapes.items()}


def numpy_forward(p, x, H, N, a_A, a_L, gamma0=1.0, beta0=1.0):
    """The model written out from its equations, token by token and head by head (shares no code)."""
    n, S, D = x.shape
    M = H * N
    L = p["Wq"].shape[0]
    branch = beta0 * L ** -a_L
    out, maps = [], []
    for i in range(n):
        h = np.array([p["Win"] @ x[i, s] / np.sqrt(D) for s in range(S)])
        per_block = []
        for b in range(L):
            u = ln(h)
            q = u @ p["Wq"][b].T / np.sqrt(2 * M)
            k = u @ p["Wk"][b].T / np.sqrt(2 * M)
            v = u @ p["Wv"][b].T / np.sqrt(M)
            heads_out, heads_A = [], []
            for hd in range(H):
                sl = slice(hd * N, (hd + 1) * N)
                logits = np.array([[q[s, sl] @ k[t, sl] / N ** a_A for t in range(S)] for s in range(S)])
                A = np.exp(logits - logits.max(1, keepdims=True))
                A /= A.sum(1, keepdims=True)
                heads_A.append(A)
                heads_out.append(A @ v[:, sl])
            h = h + branch * np.concatenate(heads_out, axis=1) @ p["Wo"][b].T / np.sqrt(M)
            h = h + branch * GELU(ln(h) @ p["W1"][b].T / np.sqrt(M)) @ p["W2"][b].T / np.sqrt(M)
            per_block.append(heads_A)
        out.append(ln(h).mean(0) @ p["w"] / (gamma0 * M))
        maps.append(per_block)
    return np.array(out), np.transpose(np.array(maps), (1, 0, 2, 3, 4))


def jax_call(fn, p, x, sc, H, **kw):
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        return np.asarray(fn(pj, jnp.asarray(x), jnp.asarray(sc.mult), heads=H, activation="gelu", **kw))


def test_single_head_single_layer_equals_a_hand_computed_attention():
    # S = 2 tokens, D = 1, N = 2: the attention and the block's output by hand
    x = np.array([[[1.0], [-2.0]]])
    p = draw(1, 2, 1, 1, seed=3)
    sc = attention_scaling(1, 2, 1, 1, attn_exp=1.0, depth_exp=1.0)
    h0 = np.array([p["Win"][:, 0] * 1.0, p["Win"][:, 0] * -2.0])  # D = 1: x¹ = W_in x
    u = np.array([(r - r.mean()) / np.sqrt(r.var() + 1e-6) for r in h0])  # N = 2: LN gives ±1 per token
    q, k, v = (u @ p[w][0].T / s for w, s in (("Wq", 2.0), ("Wk", 2.0), ("Wv", np.sqrt(2.0))))
    A = np.empty((2, 2))
    for s in range(2):
        e = np.exp([q[s] @ k[0] / 2.0, q[s] @ k[1] / 2.0])
        A[s] = e / e.sum()
    attn_out = A @ v @ p["Wo"][0].T / np.sqrt(2.0)
    h1 = h0 + attn_out
    h2 = h1 + GELU(ln(h1) @ p["W1"][0].T / np.sqrt(2.0)) @ p["W2"][0].T / np.sqrt(2.0)
    f = ln(h2).mean(0) @ p["w"] / 2.0
    got_A = jax_call(attention_maps, p, x, sc, 1)[0, 0, 0]
    np.testing.assert_allclose(got_A, A, rtol=1e-12)
    np.testing.assert_allclose(jax_call(forward, p, x, sc, 1)[0], f, rtol=1e-10)


@pytest.mark.parametrize("a_A,a_L", [(1.0, 1.0), (0.5, 0.5)])
def test_forward_and_maps_match_independent_numpy(a_A, a_L):
    H, N, L, D, S = 3, 2, 2, 4, 5
    x = np.random.default_rng(1).standard_normal((3, S, D))
    p = draw(H, N, L, D, c=2)
    sc = attention_scaling(H, N, L, D, attn_exp=a_A, depth_exp=a_L, gamma0=0.7, beta0=1.3)
    want, want_maps = numpy_forward(p, x, H, N, a_A, a_L, gamma0=0.7, beta0=1.3)
    np.testing.assert_allclose(jax_call(forward, p, x, sc, H), want, rtol=1e-10, atol=1e-13)
    maps = jax_call(attention_maps, p, x, sc, H)
    np.testing.assert_allclose(maps, want_maps, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-12)
    K = jax_call(kernel, p, x, sc, H)
    assert K.shape == (3, 3) and np.allclose(K, K.T)


def test_gradient_equals_finite_differences():
    H, N, L, D, S = 2, 3, 2, 3, 4
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, S, D)), rng.standard_normal((5, 1))
    p = draw(H, N, L, D)
    sc = attention_scaling(H, N, L, D, attn_exp=0.5, depth_exp=1.0, gamma0=0.5)
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        flat, unravel = jax.flatten_util.ravel_pytree(pj)
        loss = jax.jit(lambda f: mse(forward(unravel(f), jnp.asarray(x), jnp.asarray(sc.mult), H, "gelu"),
                                     jnp.asarray(y)))
        grad = np.asarray(jax.grad(loss)(flat))
        eps = 1e-5
        idx = rng.choice(flat.size, 40, replace=False)
        fd = np.array([(float(loss(flat.at[i].add(eps))) - float(loss(flat.at[i].add(-eps)))) / (2 * eps)
                       for i in idx])
    # central differences in float64: truncation O(ε²) and rounding O(1e-16/ε) far below 1e-5
    np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-5 * np.abs(grad).max())


def test_scaling_numbers_by_hand():
    sc = attention_scaling(4, 16, 8, 6, attn_exp=0.5, depth_exp=0.5, gamma0=2.0, beta0=3.0, base_depth=2.0)
    M = 64
    assert sc.mult == pytest.approx((6 ** -0.5, (2 * M) ** -0.5, M ** -0.5, 16 ** -0.5, 3.0 * 4 ** -0.5, 1 / (2 * M)))
    # SGD: η₀γ₀²M, × (L/L₀)^{2α_L−1} = 1 on hidden, × N^{−2(1−α_A)} = 1/16 on W_Q, W_K
    assert sc.lr == pytest.approx((4 * M, 4 * M / 16, 4 * M, 4 * M))
    one = attention_scaling(4, 16, 8, 6, attn_exp=1.0, depth_exp=1.0, base_depth=2.0)
    assert one.lr == pytest.approx((M, M * 4, M * 4, M)) and one.mult[3] == pytest.approx(1 / 16)
    adam = attention_scaling(4, 16, 8, 6, attn_exp=0.5, depth_exp=1.0, optimizer="adam", base_depth=2.0)
    assert adam.lr == pytest.approx((1.0, M ** -0.5 / 4, M ** -0.5, 1.0))
    with pytest.raises(InputError, match="attn_exp must lie in"):
        attention_scaling(1, 1, 1, 1, attn_exp=0.3)
    with pytest.raises(InputError, match="depth_exp must lie in"):
        attention_scaling(1, 1, 1, 1, depth_exp=1.5)


def test_head_spread_known_answers():
    same = jnp.ones((2, 3, 4, 5, 5)) / 5
    np.testing.assert_allclose(np.asarray(head_spread(same)), 0.0)
    two = np.zeros((1, 1, 2, 2, 2))
    two[0, 0, 0] = [[1, 0], [0, 1]]
    two[0, 0, 1] = [[0, 1], [1, 0]]
    # each entry: values 1 and 0 across the two heads, variance (ddof 1) ½
    np.testing.assert_allclose(np.asarray(head_spread(jnp.asarray(two))), [0.5])
    assert np.isnan(np.asarray(head_spread(jnp.ones((1, 1, 1, 2, 2))))).all()


def test_initial_spread_falls_as_one_over_n_only_with_mup_logits():
    x = np.random.default_rng(4).standard_normal((16, 6, 5))
    y = np.ones(16)
    spread = {(a, N): train_heads(x, y, heads=16, head_dim=N, attn_exp=a, steps=0, seeds=2).head_spread[:, 0, 0].mean()
              for a in (1.0, 0.5) for N in (4, 64)}
    # α_A = 1: logits O(N^{-1/2}) → variance ∝ 1/N (16× from N = 4 to 64); α_A = ½: O(1) at any N
    assert 8 < spread[1.0, 4] / spread[1.0, 64] < 32
    assert 0.5 < spread[0.5, 4] / spread[0.5, 64] < 2


def test_initial_kernel_spread_falls_as_one_over_the_number_of_heads():
    # at initialization every width is M = NH and each block averages H independent heads, so the
    # seed-to-seed variance of the final kernel (relative to its mean²) is ∝ 1/M: at fixed N, ∝ 1/H
    from kerncurve.nn.spread import kernel_spread

    x = jnp.asarray(np.random.default_rng(7).standard_normal((16, 6, 5)), jnp.float32)
    scaled = {}
    for H in (2, 8):
        sc = attention_scaling(H, 4, 1, 5)
        p = {k: jnp.asarray(v, jnp.float32) for k, v in
             {k: np.stack([draw(H, 4, 1, 5, seed=s)[k] for s in range(64)]) for k in TENSORS}.items()}
        one = lambda q, m=jnp.asarray(sc.mult, jnp.float32), H=H: kernel(q, x, m, heads=H, activation="gelu")
        K = jax.vmap(one)(p)
        scaled[H] = kernel_spread(np.asarray(K)) * 4 * H
    # measured with 64 seeds: the ratio is 1 within the estimator's ~20 % scatter (∝ 1/√H would give 2)
    assert 0.65 < scaled[2] / scaled[8] < 1.5, scaled


def test_divergence_is_flagged_and_seeds_are_reproducible():
    x = np.random.default_rng(5).standard_normal((8, 4, 3))
    y = np.random.default_rng(6).standard_normal(8)
    r = train_heads(x, y, heads=2, head_dim=4, lr=1e4, steps=20, seeds=2)
    assert r.diverged.all() and np.isinf(r.loss[:, -1]).all()
    a = train_heads(x, y, heads=2, head_dim=4, lr=0.5, steps=5, seeds=2, at=[0, 5], seed=3)
    b = train_heads(x, y, heads=2, head_dim=4, lr=0.5, steps=5, seeds=2, at=[0, 5], seed=3)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.attention_final, b.attention_final)
    assert not a.diverged.any() and a.loss[:, -1].max() < a.loss[:, 0].min()
    np.testing.assert_allclose(a.attention_init.sum(-1), 1.0, rtol=1e-5)
    assert a.qk_movement.shape == (2, 1, 2) and np.all(a.qk_movement > 0)


@pytest.mark.parametrize("x,words", [(np.zeros((4, 6)), "3-D"), (np.zeros((4, 1, 3)), "length 1")])
def test_bad_sequences(x, words):
    with pytest.raises(InputError, match=words):
        train_heads(x, np.zeros(4), heads=1, head_dim=1)
