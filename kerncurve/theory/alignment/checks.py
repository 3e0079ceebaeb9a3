"""Argument checks of the alignment theory; messages start with the Python parameter name."""

import numpy as np

from kerncurve.errors import InputError

__all__ = ["check_xy", "check_depth", "check_positive", "check_lam", "check_times", "check_gram"]


def check_xy(X, y):
    """Inputs (P, D) and scalar targets (P,) as float arrays (a (P, 1) column is accepted)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise InputError(f"X must be a 2-D array (samples × dimensions), got shape {X.shape}", param="X")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(f"y must have shape (n,) or (n, 1): the deep linear network has one output; got "
                         f"{y.shape}, select one channel", param="y")
    if y.shape[0] != X.shape[0]:
        raise InputError(f"y has {y.shape[0]} samples but X has {X.shape[0]}; they must match", param="y")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("X or y contain NaN or inf; remove those samples", param="X")
    return X, y


def check_depth(depth):
    if int(depth) != depth or depth < 1:
        raise InputError(f"depth must be an integer ≥ 1, got {depth}", param="depth")


def check_positive(value, name):
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number, got {value}", param=name)


def check_lam(lam):
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise InputError(f"lam must be ≥ 0 (the kernel speed λ), got {lam}", param="lam")
    return lam


def check_times(t, name="t"):
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError(f"{name} must be a 1-D list of finite values ≥ 0", param=name)
    return t


def check_gram(K0, y, name="K0"):
    """A symmetric PSD Gram ``K0`` (P, P) and targets (P,) or (P, c) → (K0 symmetrized, Y (P, c)).

    ``name`` is the Gram's name in messages (the parameter, or where it was read from).
    """
    K0 = np.asarray(K0, dtype=float)
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if K0.ndim != 2 or K0.shape[0] != K0.shape[1]:
        raise InputError(f"{name} must be a square Gram matrix, got shape {K0.shape}", param=name)
    if Y.ndim != 2 or Y.shape[0] != K0.shape[0]:
        raise InputError(f"y has shape {Y.shape} but the Gram matrix is {K0.shape[0]}×{K0.shape[0]}; give one "
                         "target row per sample", param="y")
    if not (np.all(np.isfinite(K0)) and np.all(np.isfinite(Y))):
        raise InputError(f"{name} or y contain NaN or inf", param=name)
    scale = max(np.max(np.abs(K0)), np.finfo(float).tiny)
    if np.max(np.abs(K0 - K0.T)) > 1e-8 * scale:
        raise InputError(f"{name} is not symmetric; symmetrize the Gram matrix ((K + Kᵀ)/2)", param=name)
    K0 = 0.5 * (K0 + K0.T)
    ev = np.linalg.eigvalsh(K0)
    if ev[0] < -1e-5 * max(ev[-1], 0.0) or (ev[-1] <= 0 and ev[0] < 0):
        raise InputError(f"{name} is not positive semi-definite (smallest eigenvalue {ev[0]:.3g}, largest "
                         f"{ev[-1]:.3g}); the toy model needs a PSD kernel", param=name)
    return K0, Y
