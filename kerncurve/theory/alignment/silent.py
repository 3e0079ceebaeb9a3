"""Silent alignment of deep linear networks: the final kernel, its time scales, the silence test.

Atanasov, Bordelon & Pehlevan, *Neural Networks as Kernel Learners: The Silent Alignment
Effect*, ICLR 2022 (arXiv:2111.00034). A deep linear network f(x) = w_Lᵀ W_{L−1}⋯W₁ x = β·x
trained by gradient flow on L(β) = (1/2P) Σ_μ (β·x_μ − y_μ)² from a small initialization
ends with the kernel K(x, x') = xᵀ M_∞ x',  M_∞ = |β_∞|^{2(L−1)/L} (I + (L−1) β̂_∞β̂_∞ᵀ).
The time course is in `kerncurve.theory.alignment.flow`. Samples are rows of X (P×D), so
the input second moment is Σ = XᵀX/P (docs/theory/alignment.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import check_depth, check_positive, check_xy

__all__ = [
    "WHITENED_TOL",
    "LinearProblem",
    "SilentAlignment",
    "linear_problem",
    "final_beta",
    "balanced_kernel",
    "anisotropy",
    "initial_scales",
    "time_scales",
    "silent_alignment",
]

#: Relative tolerance on ‖XᵀX/P − I‖₂ below which data count as whitened.
WHITENED_TOL = 1e-6


@dataclass(frozen=True)
class LinearProblem:
    """Second-order statistics of a linear regression problem (samples as rows).

    Attributes
    ----------
    sigma : ndarray (D, D)
        Input second moment Σ = XᵀX/P (XXᵀ/P when X is written D×P, columns as samples).
    c : ndarray (D,)
        Input–target correlation c = Xᵀy/P; the loss gradient is Σβ − c.
    beta_inf : ndarray (D,)
        Minimum-norm least-squares solution β_∞ = X⁺y.
    loss_min : float
        Loss at β_∞, (1/2P)|Xβ_∞ − y|² (the part no linear predictor can fit).
    n_samples : int
        P.
    """

    sigma: np.ndarray
    c: np.ndarray
    beta_inf: np.ndarray
    loss_min: float
    n_samples: int

    def loss(self, beta):
        """Mean squared-error loss (1/2P)|Xβ − y|² for β of shape (..., D)."""
        beta = np.asarray(beta, dtype=float)
        d = beta - self.beta_inf
        quad = np.einsum("...i,ij,...j->...", d, self.sigma, d)
        return 0.5 * np.maximum(quad, 0.0) + self.loss_min



def linear_problem(X, y) -> LinearProblem:
    """Moments Σ = XᵀX/P, c = Xᵀy/P and the least-squares solution of a linear problem.

    Parameters
    ----------
    X : array_like (P, D)
        Inputs, one sample per row.
    y : array_like (P,) or (P, 1)
        Scalar targets.
    """
    X, y = check_xy(X, y)
    P = X.shape[0]
    beta = final_beta(X, y)
    r = X @ beta - y
    return LinearProblem(
        sigma=X.T @ X / P,
        c=X.T @ y / P,
        beta_inf=beta,
        loss_min=float(r @ r / (2 * P)),
        n_samples=P,
    )


def final_beta(X, y) -> np.ndarray:
    """β_∞ = X(XᵀX)⁺y (P ≤ D) or the least-squares solution (P > D).

    Both are the minimum-norm least-squares solution X⁺y; here X has samples as rows, so
    the D×P formula X(XᵀX)⁺y (columns as samples) reads Xᵀ(XXᵀ)⁺y. A deep linear network trained from a
    small initialization converges to it (the init leaves O(σ) components outside the
    row space of X).
    """
    X, y = check_xy(X, y)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta


def balanced_kernel(beta, depth: int) -> np.ndarray:
    """NTK matrix of a balanced rank-one deep linear network with end-to-end vector β.

    M(β) = |β|^{2(L−1)/L} (I + (L−1) β̂β̂ᵀ), so K(x, x') = xᵀM x'. At β = β_∞ this is the
    predicted final kernel M_∞. Vectorized over leading axes of β.

    Parameters
    ----------
    beta : array_like (..., D)
    depth : int
        L ≥ 1 (L = 1 is the linear model, M = I).
    """
    check_depth(depth)
    beta = np.asarray(beta, dtype=float)
    D = beta.shape[-1]
    norm = np.linalg.norm(beta, axis=-1)
    scale = norm ** (2.0 * (depth - 1) / depth)
    with np.errstate(invalid="ignore", divide="ignore"):
        bhat = np.where(norm[..., None] > 0, beta / norm[..., None], 0.0)
    outer = bhat[..., :, None] * bhat[..., None, :]
    return scale[..., None, None] * (np.eye(D) + (depth - 1) * outer)


def anisotropy(M) -> np.ndarray:
    """λ₁/λ₂ of a symmetric kernel matrix (top over second eigenvalue); (..., D, D) → (...).

    For M_∞ all eigenvalues but the top one are equal, so this is λ_max/λ_rest = L.
    """
    ev = np.linalg.eigvalsh(np.asarray(M, dtype=float))
    if ev.shape[-1] < 2:
        return np.ones(ev.shape[:-1])
    return ev[..., -1] / ev[..., -2]


def initial_scales(sigma: float, width: int, depth: int):
    """Effective initial scale s₀ and isotropic initial kernel m₀ for i.i.d. N(0, σ²) weights.

    s₀ = (ρ_L² Nσ²)^{L/2} with ρ_L² = 1 − 2^{1−L}. For L = 2 this is derived: in the linear
    early phase β·ĉ = |a₀ + b₀|²/4·e^{2|c|t} − (a decaying term), a₀ = w₂(0),
    b₀ = W₁(0)ĉ, so s₀ = E|a₀ + b₀|²/4 = Nσ²/2. For L ≥ 3 the early phase is nonlinear and
    ρ_L is an empirical interpolation, not a derivation: fitted to the loss half-time of
    simulated whitened networks (N = 100–200, σ = 3e-3–3e-2, two seeds each) the per-layer
    factor was 0.85–0.89 at L = 3 (ρ₃ = 0.866) and 0.93–0.95 at L = 4 (ρ₄ = 0.935),
    constant in σ within the seed-to-seed spread. It sets the prefactor of the
    σ^{−(L−2)} delay. L = 1 has no delay; s₀ = σ is returned for completeness.
    The initial kernel is M(0) ≈ m₀I with m₀ = L(Nσ²)^{L−1} (large N).

    Returns
    -------
    s0, m0 : float
    """
    check_positive(sigma, "sigma")
    check_depth(depth)
    if depth == 1:
        return float(sigma), 1.0
    q = width * sigma**2
    rho2 = 1.0 - 2.0 ** (1 - depth)
    return float((rho2 * q) ** (depth / 2)), float(depth * q ** (depth - 1))


def time_scales(s_star: float, s0: float, depth: int):
    """Alignment time t₁ and loss-drop time t₂ for whitened data (docs/theory/alignment.md).

    L = 2: t₁ = 1/s*, t₂ = ln(s*/s₀)/(2s*). L ≥ 3: t₁ = s₀^{−(L−2)/L}/s* (alignment tracks
    the delay), t₂ = s₀^{−(L−2)/L}/((L−2)s*). L = 1: t₁ = 0 (the kernel does not move),
    t₂ = 1 (relaxation with unit eigenvalue). With non-whitened data they are only
    order-of-magnitude guides (use |β_∞| for s*).
    """
    check_depth(depth)
    if s_star <= 0:
        return float("inf"), float("inf")
    if depth == 1:
        return 0.0, 1.0
    if depth == 2:
        return 1.0 / s_star, max(np.log(s_star / s0), 0.0) / (2 * s_star)
    delay = s0 ** (-(depth - 2) / depth)
    return delay / s_star, delay / ((depth - 2) * s_star)


@dataclass(frozen=True)
class SilentAlignment:
    """Predictions of silent-alignment theory for one data set and depth.

    Attributes
    ----------
    depth : int
    beta_inf : ndarray (D,)
        Final end-to-end weights β_∞.
    kernel_inf : ndarray (D, D)
        Predicted final NTK matrix M_∞.
    anisotropy : float
        λ_max/λ_rest of M_∞ (= L).
    s_star : float
        |β_∞|.
    c_hat : ndarray (D,)
        ĉ = Σβ*/|Σβ*| = c/|c|, the direction of early alignment.
    silence : float
        cos(ĉ, β̂_∞): ≈ 1 means the kernel aligns to its final direction before the loss
        moves (silent); well below 1 means it does not.
    whitened : bool
        Whether XᵀX/P = I (to WHITENED_TOL); t1, t2 and the scalar loss curve assume it.
    whitening_error : float
        ‖XᵀX/P − I‖₂.
    s0, m0 : float
        Effective initial scale and isotropic initial kernel (see `initial_scales`).
    t1, t2 : float
        Alignment and loss-drop time scales (whitened formulas, `time_scales`).
    loss_min : float
        Loss at β_∞.
    """

    depth: int
    beta_inf: np.ndarray
    kernel_inf: np.ndarray
    anisotropy: float
    s_star: float
    c_hat: np.ndarray
    silence: float
    whitened: bool
    whitening_error: float
    s0: float
    m0: float
    t1: float
    t2: float
    loss_min: float


def silent_alignment(X, y, depth: int, sigma: float, width: int) -> SilentAlignment:
    """Final kernel, time scales and silence diagnostic of a deep linear network.

    Parameters
    ----------
    X : array_like (P, D)
        Inputs, samples as rows.
    y : array_like (P,)
        Targets.
    depth : int
        Number of weight layers L ≥ 1.
    sigma : float
        Init scale: every weight i.i.d. N(0, σ²).
    width : int
        Hidden width N.
    """
    check_depth(depth)
    check_positive(sigma, "sigma")
    prob = linear_problem(X, y)
    D = prob.sigma.shape[0]
    s_star = float(np.linalg.norm(prob.beta_inf))
    M_inf = balanced_kernel(prob.beta_inf, depth)
    cnorm = np.linalg.norm(prob.c)
    c_hat = prob.c / cnorm if cnorm > 0 else np.zeros(D)
    silence = float(abs(c_hat @ prob.beta_inf) / s_star) if s_star > 0 else float("nan")
    werr = float(np.linalg.norm(prob.sigma - np.eye(D), 2))
    s0, m0 = initial_scales(sigma, width, depth)
    t1, t2 = time_scales(s_star, s0, depth)
    return SilentAlignment(
        depth=depth,
        beta_inf=prob.beta_inf,
        kernel_inf=M_inf,
        anisotropy=float(anisotropy(M_inf)) if D > 1 else 1.0,
        s_star=s_star,
        c_hat=c_hat,
        silence=silence,
        whitened=werr <= WHITENED_TOL,
        whitening_error=werr,
        s0=s0,
        m0=m0,
        t1=t1,
        t2=t2,
        loss_min=prob.loss_min,
    )
