"""Expected test and train loss of multi-pass SGD on a fixed training set of P points."""

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

from .problem import DIVERGED, advance, check_run, record

__all__ = ["MultipassCurve", "multipass_loss"]


@dataclass(frozen=True)
class MultipassCurve:
    """Expected test and train loss (against labels) of multi-pass SGD on a fixed set."""

    steps: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    lr: float
    batch: int


def multipass_loss(train_features, train_targets, test_features, test_targets, lr, batch, steps, noise=0.0,
                   progress=None):
    """Expected test and train loss of multi-pass SGD on a fixed training set.

    P training points, batches of m drawn with replacement, w₀ = 0; Σ̂ = ΨᵀΨ/P, b̂ = Ψᵀy/P,
    μ = E[w], S = E[wwᵀ] (Bordelon & Pehlevan, ICLR 2022; docs/theory/sgd.md)::

        μ' = μ − η(Σ̂μ − b̂)
        S' = S − η(SΣ̂ − μb̂ᵀ + transpose) + η²[(1 − 1/m)(Σ̂SΣ̂ − Σ̂μb̂ᵀ − b̂μᵀΣ̂ + b̂b̂ᵀ)
             + (1/m)(1/P) Σ_i ψ_iψ_iᵀ(ψ_iᵀSψ_i − 2y_iψ_i·μ + y_i²)]
        test  = tr(Σ_te S) − 2 b_te·μ + ⟨y²⟩_te + σ²,   train = (1/P) Σ_i (ψ_iᵀSψ_i − 2y_iψ_i·μ + y_i²)

    The training labels are taken as given (already noisy if they carry noise); ``noise`` σ²
    is added to the test loss (fresh noisy test labels). Both losses are against labels.
    O(P M²) per step; S is symmetrized every step. ``progress`` as in `exact_loss`.
    """
    lr, batch, steps = check_run(lr, batch, steps)
    x = np.asarray(train_features, dtype=np.float64)
    y = np.asarray(train_targets, dtype=np.float64)
    xt = np.asarray(test_features, dtype=np.float64)
    yt = np.asarray(test_targets, dtype=np.float64)
    p = x.shape[0]
    if batch > p:
        raise InputError(f"batch={batch} is larger than the training set ({p} points)", param="batch")
    sig = x.T @ x / p
    b = x.T @ y / p
    sig_te = xt.T @ xt / xt.shape[0]
    b_te = xt.T @ yt / xt.shape[0]
    yy_te = float(np.mean(yt * yt)) + noise
    dim = x.shape[1]
    mu = np.zeros(dim)
    s = np.zeros((dim, dim))
    test = np.full(steps.shape, np.inf)
    train = np.full(steps.shape, np.inf)
    tmax = int(steps.max())
    e2, inv = lr * lr, 1.0 / batch
    for t in range(tmax + 1):
        q = np.einsum("ij,ij->i", x @ s, x)
        r = q - 2.0 * y * (x @ mu) + y * y
        tr_loss = r.mean()
        te_loss = float(np.sum(sig_te * s) - 2.0 * b_te @ mu + yy_te)
        if not (tr_loss < DIVERGED and te_loss < DIVERGED):
            advance(progress, tmax - t)
            break
        record(train, steps, t, tr_loss)
        record(test, steps, t, te_loss)
        if t == tmax:
            break
        advance(progress, 1)
        ss = s @ sig
        smu = sig @ mu
        cross = np.outer(mu, b)
        outer_g = (1 - inv) * (sig @ ss - np.outer(smu, b) - np.outer(b, smu) + np.outer(b, b))
        new = s - lr * (ss - cross + ss.T - cross.T) + e2 * (outer_g + inv * (x.T @ (r[:, None] * x)) / p)
        s = 0.5 * (new + new.T)
        mu = mu - lr * (smu - b)
    return MultipassCurve(steps, test, train, lr, batch)
