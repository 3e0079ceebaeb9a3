"""Brute-force kernel ridge regression on the same data (checks the learning-curve theory).

For each P and trial: P training points drawn without replacement from the n samples,
labels y + ε (Var ε = σ² summed over channels), the exact estimator
f = K_{·,P}(K_PP + λI)⁺ y_P, and its MSE on the n − P held-out points against the clean
targets, summed over channels. All ridges and noise levels share the same draws (common
random numbers); the P×P systems of a batch of trials are eigendecomposed together.

`group_draw` replaces the draw for an experiment by groups (e.g. trials of a recording):
each trial holds out whole groups, trains on P samples of the other groups and tests on
every sample of the held-out ones.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["KRRResult", "krr_learning_curve", "group_draw"]

_BATCH_BYTES = 200e6


@dataclass(frozen=True)
class KRRResult:
    """Mean, standard error of the mean and all trials; arrays shaped (nP, nRidge, nNoise[, T])."""

    mean: np.ndarray
    sem: np.ndarray
    trials: np.ndarray


_ROW_BLOCK = 8192  # rows of K(X, X_P) computed at once on the kernel route


def _blocks(features, gram, train, kernel=None):
    """K_PP (B, P, P) and a function giving predictions on all n points from dual weights."""
    if kernel is not None:  # (inputs, name, params): kernel blocks on the fly, the Gram never formed
        from ..kernels import checked_kernel

        x, name, params = kernel
        kpp = np.stack([checked_kernel(name, x[t], x[t], params) for t in train])  # one P × P block per trial

        def predict(alpha):
            out = np.empty((alpha.shape[0], x.shape[0], alpha.shape[2]))
            for b, t in enumerate(train):  # per trial and row block: memory O(block · P)
                for i in range(0, x.shape[0], _ROW_BLOCK):
                    out[b, i:i + _ROW_BLOCK] = checked_kernel(name, x[i:i + _ROW_BLOCK], x[t], params) @ alpha[b]
            return out

        return kpp, predict
    if gram is not None:
        k = gram
        kpp = k[train[:, :, None], train[:, None, :]]

        def predict(alpha):  # alpha (B, P, c) -> (B, n, c)
            return np.einsum("bnp,bpc->bnc", k[:, train].transpose(1, 0, 2), alpha, optimize=True)

        return kpp, predict
    x = features
    xp = x[train]  # (B, P, d)
    kpp = xp @ xp.transpose(0, 2, 1)

    def predict(alpha):
        w = xp.transpose(0, 2, 1) @ alpha  # (B, d, c): primal weights
        return np.einsum("nd,bdc->bnc", x, w, optimize=True)

    return kpp, predict


def _sample_draw(n):
    """P samples without replacement; the test points are the n − P others."""

    def draw(rng, b, p):
        train = np.stack([rng.permutation(n)[:p] for _ in range(b)])  # loop over trials only
        test = np.ones((b, n), bool)
        np.put_along_axis(test, train, False, axis=1)
        return train, test

    return draw


def group_draw(labels, held):
    """A draw that holds out ``held`` whole groups of ``labels`` (n,) per trial.

    Each trial: ``held`` groups chosen at random are the test set (all their samples); P
    training samples are drawn without replacement from the samples of the other groups.
    """
    labels = np.asarray(labels)
    _, codes = np.unique(labels, return_inverse=True)
    n_groups = int(codes.max()) + 1
    n = labels.size

    def draw(rng, b, p):
        train = np.empty((b, p), np.int64)
        test = np.empty((b, n), bool)
        for i in range(b):  # loop over trials only
            out = np.zeros(n_groups, bool)
            out[rng.permutation(n_groups)[:held]] = True
            test[i] = out[codes]
            pool = np.flatnonzero(~test[i])
            train[i] = pool[rng.permutation(pool.size)[:p]]
        return train, test

    return draw


def krr_learning_curve(y, p_values, ridges, noises, *, features=None, gram=None, trials=20, seed=0, progress=None,
                       draw=None, kernel=None):
    """Test MSE of exact kernel ridge regression, averaged over trials.

    Parameters
    ----------
    y : ndarray (n, c)
        Targets, taken as the clean target.
    features, gram : ndarray
        Features (n, d) (linear kernel) or the Gram (n, n); exactly one, unless ``kernel``.
    p_values : sequence of int
        Training-set sizes, each < n.
    ridges, noises : sequence of float
        Absolute ridges λ ≥ 0 and label-noise variances σ² ≥ 0.
    trials : int
        Independent draws per P.
    seed : int
    progress : callable, optional
        Called with the number of trials finished.
    draw : callable, optional
        ``draw(rng, b, p)`` → (train (b, p) indices, test (b, n) mask) for ``b`` trials;
        default: P samples without replacement, tested on the n − P others (`group_draw`
        holds out whole groups instead).
    kernel : tuple, optional
        ``(inputs, name, params)`` of a built-in kernel: its blocks are computed on the fly
        (K_PP per trial, K(X, X_P) by row blocks), so the n × n Gram is never formed.

    Returns
    -------
    KRRResult
    """
    if kernel is None and (features is None) == (gram is None):
        raise InputError("the experiment needs the samples: features or a Gram (exactly one)")
    n, c = y.shape
    p_values = [int(p) for p in p_values]
    if max(p_values) >= n:
        raise InputError(f"p must be < n = {n} for an experiment (held-out test points are needed); largest p is "
                         f"{max(p_values)}", param="p")
    ridges = np.asarray(ridges, float)
    noises = np.asarray(noises, float)
    draw = _sample_draw(n) if draw is None else draw
    rng = np.random.default_rng(seed)
    out = np.zeros((len(p_values), ridges.size, noises.size, trials))
    for ip, p in enumerate(p_values):
        batch = max(1, min(trials, int(_BATCH_BYTES // (8 * max(p * p, n * p) * 3))))
        done = 0
        while done < trials:
            b = min(batch, trials - done)
            train, test = draw(rng, b, p)
            eps = rng.standard_normal((b, p, c)) / np.sqrt(c)
            kpp, predict = _blocks(features, gram, train, kernel)
            s, u = np.linalg.eigh(kpp)
            s = np.maximum(s, 0.0)
            cutoff = s[:, -1:] * p * np.finfo(float).eps * 10
            for inz, s2 in enumerate(noises):
                ytr = y[train] + np.sqrt(s2) * eps  # (b, p, c)
                proj = u.transpose(0, 2, 1) @ ytr  # Uᵀy
                for ir, lam in enumerate(ridges):
                    denom = s + lam
                    inv = np.where(denom > cutoff, 1.0 / np.where(denom > cutoff, denom, 1.0), 0.0)
                    alpha = u @ (inv[:, :, None] * proj)
                    err = np.sum((predict(alpha) - y[None]) ** 2, axis=2)  # (b, n)
                    out[ip, ir, inz, done : done + b] = (err * test).sum(1) / test.sum(1)
            done += b
            if progress is not None:
                progress(b)
    mean = out.mean(-1)
    sem = out.std(-1, ddof=1) / np.sqrt(trials) if trials > 1 else np.full(mean.shape, np.nan)
    return KRRResult(mean=mean, sem=sem, trials=out)
