"""The transfer sweep and its analysis: optimum refinement, spreads, size trends, memory estimate."""

import numpy as np
import pytest

from kerncurve.errors import InputError
from kerncurve.nn.transfer import (TransferGrid, lr_spread, memory_estimate, optimal_lr, size_trend,
                                   transfer_sweep, verdict)


def synthetic_grid(loss, lr, params=("a",), widths=(1,), depths=(1,)):
    """A TransferGrid around given seed-mean losses (param, width, depth, lr), one step recorded."""
    loss = np.asarray(loss, dtype=float)[..., None]
    lr = np.tile(np.asarray(lr, dtype=float), (len(params), 1))
    div = np.isinf(loss[..., 0]).astype(int)
    return TransferGrid(params, widths, depths, lr, np.array([10]), loss, np.zeros_like(loss), None, None, div,
                        loss[..., None, :], None, 1, "sgd", 0.0)


def test_parabola_refines_the_argmin_exactly_for_a_parabola():
    lr = np.logspace(-2, 2, 9)
    u0 = 0.37  # true optimum in log10 lr, off the grid
    loss = 10.0 ** (0.8 * (np.log10(lr) - u0) ** 2 - 3)  # log10 loss is a parabola in log10 lr
    opt = optimal_lr(synthetic_grid(loss[None, None, None], lr))
    assert np.log10(opt[0, 0, 0]) == pytest.approx(u0, abs=1e-10)


def test_edges_and_divergence():
    lr = np.logspace(-1, 1, 5)
    inc = [[[[1.0, 2.0, 3.0, 4.0, 5.0]]]]  # best at the small edge: the edge, no extrapolation
    assert optimal_lr(synthetic_grid(inc, lr))[0, 0, 0] == pytest.approx(0.1)
    nxt = [[[[5.0, 4.0, 3.0, 1.0, np.inf]]]]  # best next to a diverged lr: the grid point
    assert optimal_lr(synthetic_grid(nxt, lr))[0, 0, 0] == pytest.approx(lr[3])
    dead = [[[[np.inf] * 5]]]  # all diverged: drift below the grid
    assert optimal_lr(synthetic_grid(dead, lr))[0, 0, 0] == pytest.approx(0.1)


def test_spread_in_decades_over_all_width_depth():
    opt = np.array([[[1.0, 10.0], [1.0, 1.0]], [[0.01, 0.1], [1.0, 1.0]]])  # (param, width, depth)
    np.testing.assert_allclose(lr_spread(opt), [1.0, 2.0])
    np.testing.assert_allclose(lr_spread(opt, "width"), [[0.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(lr_spread(opt, "depth"), [[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(InputError, match="over must be"):
        lr_spread(opt, "seed")


def test_size_trend_and_verdict():
    lr = np.array([0.1, 1.0, 10.0])
    # widths (1, 2), depths (1, 2); param "a": bigger is better and the optimum stays at 1
    a = [[[2, 1, 2], [2, 0.5, 2]], [[2, 0.8, 2], [2, 0.4, 2]]]  # symmetric: vertex at 1 exactly
    # param "b": the optimum moves from 0.1 to 10, and the wider net is worse at depth 1
    b = [[[1, 2, 3], [2, 0.9, 3]], [[1.5, 2, 3], [3, 2, 0.1]]]
    g = synthetic_grid([a, b], lr, params=("a", "b"), widths=(1, 2), depths=(1, 2))
    best, wider, deeper = size_trend(g)
    np.testing.assert_allclose(best[0], [[1, 0.5], [0.8, 0.4]])
    np.testing.assert_allclose(best[1], [[1, 0.9], [1.5, 0.1]])
    assert wider[0].all() and deeper[0].all()
    assert wider[1].tolist() == [[False, True]] and deeper[1].tolist() == [[True], [True]]
    line = verdict(g)
    assert "\n" not in line
    assert "a transfers (0.00 decades; wider better 2/2, deeper better 2/2)" in line
    assert "b does not transfer (2.00 decades" in line


def test_memory_estimate_counts_params_activations_runs():
    kw = dict(widths=[8], depths=[2], n_lr=3, seeds=2, d_in=4, n_train=10, channels=1)
    p = 8 * 4 + 2 * 64 + 8
    act = 3 * 10 * 8 * 3
    assert memory_estimate(**kw) == (3 * p + act) * 6 * 4
    assert memory_estimate(optimizer="adam", dtype="float64", **kw) == (7 * p + act) * 6 * 8
    # the largest cell decides
    assert memory_estimate(**{**kw, "widths": [4, 8]}) == memory_estimate(**kw)


def test_sweep_shapes_and_validation():
    pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 4))
    y = np.tanh(x[:, 0])
    g = transfer_sweep(x, y, params=("sp", "depth-mup"), widths=(8, 16), depths=(2,),
                       lr={"sp": [0.01, 0.1], "depth-mup": [1.0, 1e5]}, steps=6, seeds=2,
                       x_test=x[:6], y_test=y[:6], at=[0, 6])
    assert g.train_loss.shape == (2, 2, 1, 2, 2) and g.test_loss_sem.shape == (2, 2, 1, 2, 2)
    assert g.train_loss_seeds.shape == (2, 2, 1, 2, 2, 2) and g.diverged.shape == (2, 2, 1, 2)
    assert g.diverged[1, :, :, 1].min() == 2 and g.diverged[:, :, :, 0].max() == 0
    assert np.all(np.isinf(g.train_loss[1, :, :, 1, -1])) and np.all(np.isinf(g.train_loss_sem[1, :, :, 1, -1]))
    np.testing.assert_allclose(g.train_loss, g.train_loss_seeds.mean(axis=-2))
    # the centred nets all start at |y|^2/2P; sp does not (its initial output is not subtracted)
    np.testing.assert_allclose(g.train_loss[1, ..., 0], 0.5 * np.mean(y**2), rtol=1e-5)
    assert optimal_lr(g).shape == (2, 2, 1)
    with pytest.raises(InputError, match="one grid for each of params"):
        transfer_sweep(x, y, params=("sp",), lr={"mup": [1.0]}, widths=(4,), depths=(1,))
    with pytest.raises(InputError, match="widths has repeated entries"):
        transfer_sweep(x, y, widths=(4, 4), depths=(1,))
    with pytest.raises(InputError, match="each of params must be one of"):
        transfer_sweep(x, y, params=("sp", "ntk"), widths=(4,), depths=(1,))
    with pytest.raises(InputError, match="step 3 was not recorded"):
        optimal_lr(g, step=3)
