"""Brute-force checks of the alignment theory: trained deep linear networks and toy-model ODEs.

* `train_deep_linear` integrates the gradient flow of a finite-width deep linear network
  f(x) = w_Lᵀ W_{L−1}⋯W₁x from i.i.d. N(0, σ²) weights (scipy DOP853), tracking the NTK
  matrix M(t) = Σ_ℓ ‖B_ℓ‖² A_ℓᵀA_ℓ (A_ℓ = W_{ℓ−1}⋯W₁, B_ℓ = w_Lᵀ W_{L−1}⋯W_{ℓ+1}), the
  loss, the overlap of M's top eigenvector with β̂_∞ and M's anisotropy λ₁/λ₂.
* `integrate_toy` integrates the NTK-alignment toy-model ODEs (DOP853, tight tolerances)
  to check the closed forms of `kerncurve.theory.alignment`.

Samples are rows of X (P×D), as in kerncurve's HDF5 files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from kerncurve.errors import InputError, NumericalError
from kerncurve.theory.alignment import linear_problem
from kerncurve.theory.alignment.checks import check_depth, check_positive

__all__ = [
    "DeepLinearRun",
    "init_weights",
    "ntk_matrix",
    "train_deep_linear",
    "integrate_toy",
    "linear_teacher_data",
]


def init_weights(D: int, width: int, depth: int, sigma: float, rng):
    """Weights W₁ (N×D), W₂…W_{L−1} (N×N), W_L (1×N), all entries i.i.d. N(0, σ²).

    With depth 1 the only layer is W₁ (1×D).
    """
    check_depth(depth)
    shapes = [(width if depth > 1 else 1, D)]
    shapes += [(width, width)] * (depth - 2)
    if depth > 1:
        shapes.append((1, width))
    return [sigma * rng.standard_normal(s) for s in shapes]


def _backward(Ws):
    """b_ℓ = B_ℓᵀ for ℓ = 1..L (b_L = [1]) and β = W₁ᵀb₁."""
    bs = [np.ones(1)]
    for W in Ws[:0:-1]:
        bs.append(W.T @ bs[-1])
    bs.reverse()
    return bs, Ws[0].T @ bs[0]


def ntk_matrix(Ws) -> np.ndarray:
    """M = Σ_ℓ ‖B_ℓ‖² A_ℓᵀA_ℓ, so that K(x, x') = xᵀMx' is the network's NTK."""
    bs, _ = _backward(Ws)
    D = Ws[0].shape[1]
    A = np.eye(D)
    M = np.zeros((D, D))
    for W, b in zip(Ws, bs):
        M += (b @ b) * (A.T @ A)
        A = W @ A
    return M


@dataclass(frozen=True)
class DeepLinearRun:
    """One trained deep linear network, recorded at the requested times.

    Attributes
    ----------
    time, loss, top_overlap, anisotropy : ndarray (T,)
        Loss (1/2P)|Xβ − y|²; |⟨top eigenvector of M(t), β̂_∞⟩|; λ₁/λ₂ of M(t).
    beta : ndarray (T, D)
        End-to-end weights β(t).
    kernel : ndarray (T, D, D)
        NTK matrices M(t).
    beta_inf : ndarray (D,)
        Least-squares solution the run converges to.
    weights0, weights : list of ndarray
        Initial and final weights [W₁, …, W_L] (W_L is 1×N).
    """

    time: np.ndarray
    loss: np.ndarray
    top_overlap: np.ndarray
    anisotropy: np.ndarray
    beta: np.ndarray
    kernel: np.ndarray
    beta_inf: np.ndarray
    weights0: list
    weights: list


def train_deep_linear(X, y, depth: int, sigma: float, width: int, times, seed: int = 0,
                      rtol: float = 1e-10) -> DeepLinearRun:
    """Gradient flow dθ/dt = −∇_θ (1/2P)|Xβ(θ) − y|² of a deep linear network.

    The loss depends on the data only through Σ = XᵀX/P and c = Xᵀy/P (∇_βL = Σβ − c), so
    one right-hand side costs O(L N²) regardless of P: b_ℓ = B_ℓᵀ by a backward pass,
    v_ℓ = A_ℓ(Σβ − c) by a forward pass, dW_ℓ/dt = −b_ℓv_ℓᵀ.

    Parameters
    ----------
    X : array_like (P, D)
    y : array_like (P,)
    depth : int
        Number of weight layers L.
    sigma : float
        Init standard deviation of every weight.
    width : int
        Hidden width N.
    times : array_like (T,)
        Recording times (≥ 0).
    seed : int
        Seeds ``numpy.random.default_rng`` for the initial weights.
    rtol : float
        DOP853 relative tolerance.
    """
    check_depth(depth)
    check_positive(sigma, "sigma")
    if int(width) != width or width < 1:
        raise InputError(f"width must be a positive integer, got {width}", param="width")
    prob = linear_problem(X, y)
    D = prob.sigma.shape[0]
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or np.any(times < 0) or np.any(np.diff(times) < 0):
        raise InputError("times must be a non-decreasing list of values ≥ 0", param="times")
    rng = np.random.default_rng(seed)
    Ws = init_weights(D, int(width), depth, sigma, rng)
    shapes = [W.shape for W in Ws]
    sizes = [W.size for W in Ws]
    splits = np.cumsum(sizes)[:-1]
    S, c = prob.sigma, prob.c

    def unpack(theta):
        return [p.reshape(s) for p, s in zip(np.split(theta, splits), shapes)]

    def rhs(_, theta):
        Wl = unpack(theta)
        bs, beta = _backward(Wl)
        v = S @ beta - c
        grads = []
        for W, b in zip(Wl, bs):
            grads.append(np.multiply.outer(b, v).ravel())
            v = W @ v
        return -np.concatenate(grads)

    theta0 = np.concatenate([W.ravel() for W in Ws])
    if times.size == 0 or times[-1] == 0:
        ys = np.repeat(theta0[:, None], times.size, axis=1)
    else:
        sol = solve_ivp(rhs, (0.0, float(times[-1])), theta0, method="DOP853", t_eval=times,
                        rtol=rtol, atol=rtol * sigma * 1e-3)
        if not sol.success:
            raise NumericalError(f"deep linear gradient flow failed: {sol.message}",
                                 partial=sol)
        ys = sol.y
    T = times.size
    kernels = np.empty((T, D, D))
    betas = np.empty((T, D))
    for i in range(T):
        Wl = unpack(ys[:, i])
        kernels[i] = ntk_matrix(Wl)
        betas[i] = _backward(Wl)[1]
    ev, vec = np.linalg.eigh(kernels)
    s_inf = np.linalg.norm(prob.beta_inf)
    bhat = prob.beta_inf / s_inf if s_inf > 0 else prob.beta_inf
    overlap = np.abs(vec[:, :, -1] @ bhat)
    aniso = ev[:, -1] / ev[:, -2] if D > 1 else np.ones(T)
    return DeepLinearRun(time=times, loss=prob.loss(betas), top_overlap=overlap,
                         anisotropy=aniso, beta=betas, kernel=kernels,
                         beta_inf=prob.beta_inf, weights0=Ws,
                         weights=unpack(ys[:, -1].copy()) if T else Ws)


def integrate_toy(K0, y, lam: float, times, variant: int = 1, rtol: float = 1e-12,
                  atol: float = 1e-14):
    """Integrate the toy-model ODEs with DOP853 (the reference for the closed forms).

    Variant 1: dK/dt = λΔΔᵀ; variant 2: dK/dt = λ(ΔΔᵀK + KΔΔᵀ); both with dΔ/dt = −KΔ,
    K(0) = K₀, Δ(0) = y (y of shape (P,) or (P, c)).

    Returns
    -------
    K : ndarray (T, P, P)
    Delta : ndarray (T, P, c)
    """
    K0 = np.asarray(K0, dtype=float)
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if variant not in (1, 2):
        raise InputError(f"toy-model variant must be 1 or 2, got {variant}")
    P, nc = Y.shape
    times = np.asarray(times, dtype=float)

    def rhs(_, z):
        K = z[: P * P].reshape(P, P)
        D = z[P * P:].reshape(P, nc)
        DD = D @ D.T
        dK = lam * DD if variant == 1 else lam * (DD @ K + K @ DD)
        return np.concatenate([dK.ravel(), (-K @ D).ravel()])

    z0 = np.concatenate([K0.ravel(), Y.ravel()])
    sol = solve_ivp(rhs, (0.0, float(times[-1])), z0, method="DOP853", t_eval=times,
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise NumericalError(f"toy-model ODE integration failed: {sol.message}", partial=sol)
    z = sol.y.T
    return z[:, : P * P].reshape(-1, P, P), z[:, P * P:].reshape(-1, P, nc)


def linear_teacher_data(D: int, P: int, kind: str = "whitened", seed: int = 0,
                        condition: float = 200.0, silence: float = 0.19):
    """Inputs X (P×D, samples as rows) and targets y = Xβ* of a linear teacher, |β*| = 1.

    ``kind="whitened"``: XᵀX/P = I exactly (P ≥ D), β* uniformly random.
    ``kind="anisotropic"``: XᵀX/P has eigenvalues log-spaced over ``condition`` (mean 1)
    and β* = cos θ v_min + sin θ v_max (eigenvectors of the smallest and largest
    eigenvalue) with θ chosen so that cos(ĉ, β̂*) = ``silence``, ĉ = Σβ*/|Σβ*|: the early
    alignment direction is far from the final one (non-silent). Needs
    silence ≥ 2√κ/(1 + κ), κ = condition.
    """
    if kind not in ("whitened", "anisotropic"):
        raise InputError(f"kind must be 'whitened' or 'anisotropic', got {kind!r}")
    if P < D:
        raise InputError(f"need P ≥ D for exactly controlled second moments (P={P}, D={D})")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((P, D)))
    V, _ = np.linalg.qr(rng.standard_normal((D, D)))
    if kind == "whitened":
        lam = np.ones(D)
        coef = rng.standard_normal(D)
    else:
        lam = np.geomspace(condition, 1.0, D)
        lam /= lam.mean()
        lo, hi = lam[-1], lam[0]
        floor = 2 * np.sqrt(hi / lo) / (1 + hi / lo)
        if not floor <= silence < 1:
            raise InputError(f"silence must lie in [{floor:.3g}, 1) for condition {condition}")

        def cos(theta):
            a, b = np.cos(theta), np.sin(theta)
            return (lo * a * a + hi * b * b) / np.hypot(lo * a, hi * b)

        theta = brentq(lambda th: cos(th) - silence, 0.0, np.arctan(np.sqrt(lo / hi)))
        coef = np.zeros(D)
        coef[-1], coef[0] = np.cos(theta), np.sin(theta)
    X = np.sqrt(P) * (Q * np.sqrt(lam)) @ V.T
    beta = V @ coef
    beta /= np.linalg.norm(beta)
    return X, X @ beta
