"""Brute-force check of the distribution-shift theory: kernel ridge regression trained on P
points drawn from the training measure p, tested on the test points weighted by q.

Sampling (documented behaviour, used by ``kerncurve shift --empirical``):

- p uniform on its support (all non-zero weights equal): P *distinct* points are drawn
  without replacement from the support, like an ordinary training set taken from the pool;
- any other p: P points are drawn i.i.d. from p, *with* replacement (the measure is the
  distribution the theory assumes; repeated points are kept, ridgeless regression then uses
  the pseudo-inverse).

Either way P may not exceed the number of pool points with p_i > 0.

The P×P systems of a batch of trials are solved together (batched Cholesky solves for a few
positive ridges; otherwise one batched eigendecomposition per trial that serves every ridge);
noise levels reuse the same solves by linearity in the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError
from kerncurve.theory.shift.problem import check_measure

__all__ = ["ShiftSimulation", "draw_training_sets", "simulate_shift"]

#: relative eigenvalue cut of the ridgeless pseudo-inverse
PINV_RTOL = 1e-12
#: memory budget (bytes) of one batch of cross-kernel blocks
CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class ShiftSimulation:
    """Measured errors, on the grid (len(P), len(ridge), len(noise)).

    Attributes
    ----------
    p, ridge, noise : ndarray
        The grid values (broadcast to the grid shape).
    eg_test, eg_test_sem : ndarray
        Mean over trials of Σ_j q_j |f(x_j) − y_j|² (clean test targets, summed over
        channels) and its standard error.
    eg_train, eg_train_sem : ndarray
        Mean squared error on the (noisy) training labels, averaged over the P points.
    pointwise : ndarray or None
        Mean over trials of the squared error at every test point, shape grid + (n_q,).
    trials : int
    replace : bool
        Whether training points were drawn with replacement.
    """

    p: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray
    eg_test: np.ndarray
    eg_test_sem: np.ndarray
    eg_train: np.ndarray
    eg_train_sem: np.ndarray
    pointwise: np.ndarray
    trials: int
    replace: bool


def draw_training_sets(rng, p, P, trials):
    """Indices of ``trials`` training sets of size P drawn from the measure p.

    Parameters
    ----------
    rng : numpy.random.Generator
    p : ndarray (n,)
        Normalized training measure.
    P : int
    trials : int

    Returns
    -------
    idx : ndarray (trials, P) of int
    replace : bool
        True when drawn i.i.d. with replacement (p not uniform on its support).
    """
    support = np.flatnonzero(p > 0)
    if P > support.size:
        raise InputError(
            f"P={P} is larger than the training pool ({support.size} points with positive weight); "
            "use P at most the pool size", param="P")
    ps = p[support]
    uniform = np.allclose(ps, ps[0], rtol=1e-12, atol=0)
    if uniform:
        keys = rng.random((trials, support.size))
        idx = support[np.argpartition(keys, P - 1, axis=1)[:, :P]] if P < support.size \
            else support[np.argsort(keys, axis=1)]
        return idx, False
    return rng.choice(p.size, size=(trials, P), p=p), True


class _Kernel:
    """Gram blocks on demand, from full Gram matrices or from features (linear kernel)."""

    def __init__(self, gram, cross, features, test_features):
        if features is not None:
            self.Xp = np.asarray(features, dtype=np.float64)
            self.Xq = np.asarray(test_features, dtype=np.float64)
            self.n_p, self.n_q = self.Xp.shape[0], self.Xq.shape[0]
            self.gram = None
        else:
            self.gram = np.asarray(gram, dtype=np.float64)
            self.cross = np.asarray(cross, dtype=np.float64)
            self.n_p, self.n_q = self.gram.shape[0], self.cross.shape[0]

    def blocks(self, idx):
        """(K_PP, K_qP) for a batch of index sets idx (T, P)."""
        if self.gram is None:
            XP = self.Xp[idx]  # (T, P, d)
            return XP @ XP.transpose(0, 2, 1), np.einsum("jd,tpd->tjp", self.Xq, XP)
        return (self.gram[idx[:, :, None], idx[:, None, :]],
                self.cross[:, idx].transpose(1, 0, 2))


def _dual_weights(Kpp, yP, xi, ridges):
    """Yield (α_clean, α_noise) = (K_PP + λI)⁺ [y_P, ξ] for each ridge, batched over trials.

    A few positive ridges: one Cholesky-based solve each. Many ridges, or λ = 0 (which needs
    the pseudo-inverse): one eigendecomposition per trial serves them all.
    """
    rhs = np.concatenate([yP, xi], axis=-1)
    c = yP.shape[-1]
    P = Kpp.shape[-1]
    if len(ridges) <= 6 and np.all(ridges > 0):
        eye = np.eye(P)
        for lr in ridges:
            a = np.linalg.solve(Kpp + lr * eye, rhs)
            yield a[..., :c], a[..., c:]
        return
    lam, V = np.linalg.eigh(Kpp)
    lam_max = lam[:, -1:]
    Vt_rhs = V.transpose(0, 2, 1) @ rhs
    for lr in ridges:
        if lr > 0:
            filt = 1.0 / (lam + lr)
        else:
            ok = lam > PINV_RTOL * lam_max
            filt = np.where(ok, 1.0 / np.where(ok, lam, 1.0), 0.0)
        a = V @ (filt[..., None] * Vt_rhs)
        yield a[..., :c], a[..., c:]


def simulate_shift(y_p, y_q, P, ridge=0.0, noise=0.0, *, gram=None, cross=None,
                   features=None, test_features=None, p=None, q=None, trials=20, seed=0,
                   pointwise=False, progress=None):
    """Measure the test error of kernel ridge regression under the shift p → q.

    f(x) = k_P(x)ᵀ (K_PP + λI)⁻¹ y_P on P points drawn from p, labels y_P = y*(x) + ε with
    Var ε = σ² summed over channels; error Σ_j q_j |f(x_j) − y*(x_j)|² on the test points.

    Parameters
    ----------
    y_p, y_q : ndarray (n_p,) / (n_p, c) and (n_q,) / (n_q, c)
        Clean targets of the pool and of the test points.
    P : sequence of int
        Sample sizes.
    ridge, noise : float or sequence of float
        Absolute ridges and noise variances; every combination is simulated.
    gram, cross : ndarray, optional
        K_pp (n_p, n_p) and K_qp (n_q, n_p).
    features, test_features : ndarray, optional
        Instead of Gram blocks: features of pool and test points (linear kernel).
    p, q : ndarray or None
        Training and test measures (uniform if None).
    trials : int
        Independent training sets per P (the same sets serve every ridge and noise level).
    seed : int
        Seed of ``numpy.random.default_rng``.
    pointwise : bool
        Also return the mean squared error at every test point.
    progress : callable or None
        Called with the number of trials just finished (for progress bars).

    Returns
    -------
    ShiftSimulation
    """
    if features is None and (gram is None or cross is None):
        raise InputError("simulate_shift needs gram and cross, or features and test_features")
    ker = _Kernel(gram, cross, features, test_features)
    y_p = np.asarray(y_p, dtype=np.float64).reshape(ker.n_p, -1)
    y_q = np.asarray(y_q, dtype=np.float64).reshape(ker.n_q, -1)
    c = y_p.shape[1]
    p = check_measure(p, ker.n_p, "train weights")
    q = check_measure(q, ker.n_q, "test weights")
    Ps = np.atleast_1d(np.asarray(P)).astype(int)
    ridges = np.atleast_1d(np.asarray(ridge, dtype=np.float64))
    noises = np.atleast_1d(np.asarray(noise, dtype=np.float64))
    trials = int(trials)
    if trials < 1:
        raise InputError(f"trials must be at least 1, got {trials}", param="trials")
    if np.any(Ps < 1) or np.any(ridges < 0) or np.any(noises < 0):
        raise InputError("P must be positive, ridge and noise non-negative")
    rng = np.random.default_rng(seed)
    shape = (Ps.size, ridges.size, noises.size)
    err_test = np.empty(shape + (trials,))
    err_train = np.empty(shape + (trials,))
    point = np.zeros(shape + (ker.n_q,)) if pointwise else None
    sig = np.sqrt(noises / c)[:, None, None, None]  # per-channel noise std
    replace = False
    for a, PP in enumerate(Ps):
        idx_all, replace_a = draw_training_sets(rng, p, PP, trials)
        replace = replace or replace_a
        xi_all = rng.standard_normal((trials, PP, c))
        # a batch holds its cross blocks (and their products) and its P×P systems
        chunk = max(1, int(CHUNK_BYTES // (8 * 2 * (ker.n_q + PP) * PP + 1)))
        for t0 in range(0, trials, chunk):
            sl = slice(t0, min(trials, t0 + chunk))
            idx, xi = idx_all[sl], xi_all[sl]
            Kpp, Kqp = ker.blocks(idx)
            yP = y_p[idx]  # (T, P, c)
            for b, (ac, an) in enumerate(_dual_weights(Kpp, yP, xi, ridges)):
                fc = Kqp @ ac  # (T, n_q, c)
                fn = Kqp @ an
                diff = (fc - y_q)[None] + sig * fn[None]  # (N, T, n_q, c)
                e_pt = (diff**2).sum(-1)  # (N, T, n_q)
                err_test[a, b, :, sl] = e_pt @ q
                if pointwise:
                    point[a, b] += e_pt.sum(1)
                res = (Kpp @ ac - yP)[None] + sig * (Kpp @ an - xi)[None]  # (N, T, P, c)
                err_train[a, b, :, sl] = (res**2).sum((-1, -2)) / PP
            if progress is not None:
                progress(sl.stop - sl.start)
    if pointwise:
        point /= trials
    sem = (lambda e: e.std(-1, ddof=1) / np.sqrt(trials) if trials > 1
           else np.full(e.shape[:-1], np.nan))
    grid = np.meshgrid(Ps.astype(np.float64), ridges, noises, indexing="ij")
    return ShiftSimulation(
        p=grid[0], ridge=grid[1], noise=grid[2],
        eg_test=err_test.mean(-1), eg_test_sem=sem(err_test),
        eg_train=err_train.mean(-1), eg_train_sem=sem(err_train),
        pointwise=point, trials=trials, replace=replace,
    )
