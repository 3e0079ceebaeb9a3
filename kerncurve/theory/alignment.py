"""Kernels that move: silent alignment of deep linear networks and the NTK-alignment toy model.

Two exactly analysable pictures of a neural tangent kernel that changes during training
(THEORY.md §7):

* **Silent alignment** (§7.1; Atanasov, Bordelon, Pehlevan, ICLR 2022, arXiv:2111.00034).
  A deep linear network f(x) = w_Lᵀ W_{L−1}⋯W₁ x = β·x trained by gradient flow on
  L(β) = (1/2P) Σ_μ (β·x_μ − y_μ)² from a small initialization ends with the kernel
  K(x, x') = xᵀ M_∞ x',  M_∞ = |β_∞|^{2(L−1)/L} (I + (L−1) β̂_∞β̂_∞ᵀ).
  In the balanced (rank-one) regime the kernel at any time is M(β) of the same form
  (Arora, Cohen, Hazan, ICML 2018), so the end-to-end flow dβ/dt = −M(β)∇L(β) is the
  theory's time course.
* **NTK-alignment toy model** (§7.2; a reconstruction from Shan, Bordelon,
  arXiv:2105.14301): function-space gradient flow dΔ/dt = −KΔ with a kernel that grows
  along the residual, either dK/dt = λΔΔᵀ (variant 1, a matrix Riccati equation) or
  dK/dt = λ(ΔΔᵀK + KΔΔᵀ) (variant 2). Both are solved in closed form below. The toy model
  captures that feature learning speeds up training, but on real two-layer μP networks it
  explains at most ~25 % of the actual kernel change (THEORY.md §7.2).

Conventions. Data matrices passed to these functions have **samples as rows** (X is P×D,
as stored in kerncurve's HDF5 files); THEORY.md §7.1 writes X as D×P, so its ``XXᵀ/P`` is
our ``XᵀX/P``. The deep-linear loss is the mean ``(1/2P)|Xβ − y|²``; the toy-model loss is
the sum ``½|Δ|²`` (its paper's convention).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import exprel

from kerncurve.errors import InputError, NumericalError, NumericalWarning

__all__ = [
    "LinearProblem",
    "SilentAlignment",
    "AlignmentCurve",
    "ToyCurve",
    "linear_problem",
    "final_beta",
    "balanced_kernel",
    "anisotropy",
    "initial_scales",
    "time_scales",
    "silent_alignment",
    "scalar_curve",
    "balanced_flow",
    "alignment_curve",
    "kernel_alignment",
    "static_loss",
    "toy_variant1",
    "toy_variant1_scalar",
    "toy_variant2",
    "toy_variant2_isotropic",
]

#: Relative tolerance on ‖XᵀX/P − I‖₂ below which data count as whitened.
WHITENED_TOL = 1e-6


# ---------------------------------------------------------------------------------------
# 7.1 Silent alignment in deep linear networks
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearProblem:
    """Second-order statistics of a linear regression problem (samples as rows).

    Attributes
    ----------
    sigma : ndarray (D, D)
        Input second moment Σ = XᵀX/P (THEORY's XXᵀ/P).
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


def _check_xy(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise InputError(f"inputs must be a 2-D array (samples × dimensions), got shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(
            f"the deep linear network has one output: targets must have shape (n,) or (n, 1), "
            f"got {y.shape}; select one channel"
        )
    if y.shape[0] != X.shape[0]:
        raise InputError(
            f"inputs have {X.shape[0]} samples but targets have {y.shape[0]}; they must match"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("inputs or targets contain NaN or inf; remove those samples")
    return X, y


def linear_problem(X, y) -> LinearProblem:
    """Moments Σ = XᵀX/P, c = Xᵀy/P and the least-squares solution of a linear problem.

    Parameters
    ----------
    X : array_like (P, D)
        Inputs, one sample per row (THEORY.md §7.1 uses the transpose).
    y : array_like (P,) or (P, 1)
        Scalar targets.
    """
    X, y = _check_xy(X, y)
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
    THEORY's D×P formula X(XᵀX)⁺y reads Xᵀ(XXᵀ)⁺y. A deep linear network trained from a
    small initialization converges to it (the init leaves O(σ) components outside the
    row space of X).
    """
    X, y = _check_xy(X, y)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta


def balanced_kernel(beta, depth: int) -> np.ndarray:
    """NTK matrix of a balanced rank-one deep linear network with end-to-end vector β.

    M(β) = |β|^{2(L−1)/L} (I + (L−1) β̂β̂ᵀ), so K(x, x') = xᵀM x'. At β = β_∞ this is the
    predicted final kernel M_∞ (THEORY.md §7.1). Vectorized over leading axes of β.

    Parameters
    ----------
    beta : array_like (..., D)
    depth : int
        L ≥ 1 (L = 1 is the linear model, M = I).
    """
    _check_depth(depth)
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

    For M_∞ all eigenvalues but the top one are equal, so this is THEORY's λ_max/λ_rest = L.
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
    _check_positive(sigma, "--init")
    _check_depth(depth)
    if depth == 1:
        return float(sigma), 1.0
    q = width * sigma**2
    rho2 = 1.0 - 2.0 ** (1 - depth)
    return float((rho2 * q) ** (depth / 2)), float(depth * q ** (depth - 1))


def time_scales(s_star: float, s0: float, depth: int):
    """Alignment time t₁ and loss-drop time t₂ for whitened data (THEORY.md §7.1).

    L = 2: t₁ = 1/s*, t₂ = ln(s*/s₀)/(2s*). L ≥ 3: t₁ = s₀^{−(L−2)/L}/s* (alignment tracks
    the delay), t₂ = s₀^{−(L−2)/L}/((L−2)s*). L = 1: t₁ = 0 (the kernel does not move),
    t₂ = 1 (relaxation with unit eigenvalue). With non-whitened data they are only
    order-of-magnitude guides (use |β_∞| for s*).
    """
    _check_depth(depth)
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
    _check_depth(depth)
    _check_positive(sigma, "--init")
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


def scalar_curve(t, s_star: float, s0: float, depth: int, rtol: float = 1e-11) -> np.ndarray:
    """Projection s(t) = β(t)·β̂* for whitened data from the balanced aligned start s₀.

    ṡ = L s^{2−2/L}(s* − s) (THEORY.md §7.1). L = 2 in closed form,
    s(t) = s*/(1 + (s*/s₀ − 1)e^{−2s*t}); L = 1: s = s* + (s₀ − s*)e^{−t}; L ≥ 3 integrated
    (DOP853) in u = ln s, u̇ = L s^{1−2/L}(s* − s), which keeps relative accuracy through the
    long plateau. The whitened loss is ½(s* − s)² + loss_min.
    """
    _check_depth(depth)
    t = np.asarray(t, dtype=float)
    if depth == 1:
        return s_star + (s0 - s_star) * np.exp(-t)
    if depth == 2:
        return s_star / (1.0 + (s_star / s0 - 1.0) * np.exp(-2 * s_star * t))
    tt = np.ravel(t)
    order = np.argsort(tt)
    ts = tt[order]
    if tt.size == 0 or ts[-1] <= 0:
        return np.full(t.shape, float(s0))

    def rhs(_, u):
        s = np.exp(u)
        return depth * s ** (1 - 2.0 / depth) * (s_star - s)

    sol = solve_ivp(rhs, (0.0, max(ts[-1], 0.0)), [np.log(s0)], method="DOP853",
                    t_eval=ts, rtol=rtol, atol=1e-13)
    if not sol.success:
        raise NumericalError(f"scalar alignment ODE failed: {sol.message}", partial=sol)
    out = np.empty_like(tt)
    out[order] = np.exp(sol.y[0])
    return out.reshape(t.shape)


def balanced_flow(t, prob: LinearProblem, depth: int, beta0, rtol: float = 1e-10):
    """End-to-end gradient flow of a balanced deep linear network.

    dβ/dt = −M(β)(Σβ − c), M(β) = |β|^{2−2/L}(I + (L−1)β̂β̂ᵀ) (Arora, Cohen, Hazan 2018;
    exact for balanced weights with one output). Integrated with DOP853.

    Parameters
    ----------
    t : array_like (T,)
        Output times, ≥ 0.
    prob : LinearProblem
    depth : int
    beta0 : array_like (D,)
        Start (THEORY: after the early alignment, β₀ = s₀ĉ).

    Returns
    -------
    ndarray (T, D)
    """
    _check_depth(depth)
    t = np.asarray(t, dtype=float)
    order = np.argsort(t)
    ts = t[order]
    beta0 = np.asarray(beta0, dtype=float)
    if t.size == 0 or ts[-1] <= 0:
        return np.broadcast_to(beta0, (t.size, beta0.size)).copy()
    p = 2.0 - 2.0 / depth
    S, c = prob.sigma, prob.c

    def rhs(_, b):
        g = S @ b - c
        nb = np.sqrt(b @ b)
        if nb == 0:
            return -g if depth == 1 else np.zeros_like(b)
        return -(nb**p) * (g + (depth - 1) * b * ((b @ g) / nb**2))

    scale = max(np.linalg.norm(beta0), 1e-300)
    sol = solve_ivp(rhs, (0.0, max(ts[-1], 0.0)), beta0, method="DOP853", t_eval=ts,
                    rtol=rtol, atol=1e-6 * rtol * scale)
    if not sol.success:
        raise NumericalError(f"balanced end-to-end flow failed: {sol.message}", partial=sol)
    out = np.empty((t.size, beta0.size))
    out[order] = sol.y.T
    return out


@dataclass(frozen=True)
class AlignmentCurve:
    """Predicted time course of a deep linear network's loss and kernel.

    Attributes
    ----------
    time, loss, top_overlap, anisotropy : ndarray (T,)
        Loss (1/2P)|Xβ − y|²; |cos| between the predicted kernel's top eigenvector (β̂(t))
        and β̂_∞; λ₁/λ₂ of the predicted kernel M(β(t)) + m₀I (1 at init, L at the end).
    beta : ndarray (T, D)
    """

    time: np.ndarray
    loss: np.ndarray
    top_overlap: np.ndarray
    anisotropy: np.ndarray
    beta: np.ndarray


def alignment_curve(X, y, depth: int, sigma: float, width: int, times) -> AlignmentCurve:
    """Predicted loss, top-eigenvector overlap and anisotropy over time.

    The network is modelled as balanced and rank one from the start β₀ = s₀ĉ (the state
    after the early alignment to ĉ, which for L = 2 takes t₁ = O(1/|c|), independent of σ),
    evolving by `balanced_flow`; the predicted kernel is M(β(t)) + m₀I, the isotropic
    initial kernel being carried along (`initial_scales`). For whitened data this is
    exactly the scalar solution `scalar_curve` (closed form at L = 2). For non-whitened data
    the start direction ĉ differs from β̂_∞ and the overlap rises from cos(ĉ, β̂_∞) to 1 as
    the loss falls: alignment is not silent.
    """
    info = silent_alignment(X, y, depth, sigma, width)
    prob = linear_problem(X, y)
    times = np.asarray(times, dtype=float)
    if np.any(times < 0) or not np.all(np.isfinite(times)):
        raise InputError("times must be finite and ≥ 0 (option --time)")
    if info.s_star == 0:
        beta = np.zeros((times.size, prob.c.size))
    elif info.whitened:
        s = scalar_curve(times, info.s_star, info.s0, depth)
        beta = s[:, None] * (prob.beta_inf / info.s_star)[None, :]
    else:
        beta = balanced_flow(times, prob, depth, info.s0 * info.c_hat)
    loss = prob.loss(beta)
    norm = np.linalg.norm(beta, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = np.abs(beta @ prob.beta_inf) / (norm * info.s_star)
    overlap = np.where(norm > 0, np.minimum(overlap, 1.0), np.nan)
    if depth == 1 or prob.c.size < 2:
        aniso = np.ones(times.size)
    else:
        top = norm ** (2.0 * (depth - 1) / depth)
        aniso = (depth * top + info.m0) / (top + info.m0)
    return AlignmentCurve(time=times, loss=loss, top_overlap=overlap, anisotropy=aniso, beta=beta)


# ---------------------------------------------------------------------------------------
# 7.2 NTK alignment toy model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyCurve:
    """Closed-form time course of the NTK-alignment toy model.

    Attributes
    ----------
    time : ndarray (T,)
    kernel : ndarray (T, P, P)
        K(t).
    residual : ndarray (T, P, c) or None
        Δ(t) (None for variant 2 with several output channels, where only ΔΔᵀ is closed).
    loss : ndarray (T,)
        ½‖Δ(t)‖²_F.
    loss_static : ndarray (T,)
        ½‖e^{−K₀t}y‖²: the same flow with the kernel frozen at K₀.
    alignment, centered_alignment : ndarray (T,)
        Kernel–target alignment of K(t) (`kernel_alignment`).
    kernel_inf : ndarray (P, P)
        K_∞ (variant 1: (K₀² + λyyᵀ)^{1/2}; variant 2: K₀ + λyyᵀ).
    conserved : ndarray (P, P)
        The conserved matrix (variant 1: Q = K² + λΔΔᵀ; variant 2: K + λΔΔᵀ).
    """

    time: np.ndarray
    kernel: np.ndarray
    residual: Optional[np.ndarray]
    loss: np.ndarray
    loss_static: np.ndarray
    alignment: np.ndarray
    centered_alignment: np.ndarray
    kernel_inf: np.ndarray
    conserved: np.ndarray


def kernel_alignment(K, y, centered: bool = False) -> np.ndarray:
    """Kernel–target alignment A(K) = ⟨K, yyᵀ⟩_F/(‖K‖_F‖yyᵀ‖_F) = yᵀKy/(‖K‖_F|y|²).

    With ``centered=True``, the centered alignment of Cortes, Mohri, Rostamizadeh (JMLR
    2012): both K and yyᵀ are centered with H = I − 11ᵀ/P first. Several channels
    (y of shape (P, c)) use YYᵀ. Vectorized over leading axes of K: (..., P, P) → (...).
    """
    K = np.asarray(K, dtype=float)
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if centered:
        K = K - K.mean(axis=-1, keepdims=True) - K.mean(axis=-2, keepdims=True) \
            + K.mean(axis=(-1, -2), keepdims=True)
        Y = Y - Y.mean(axis=0, keepdims=True)
    G = Y @ Y.T
    num = np.einsum("...ij,ij->...", K, G)
    den = np.linalg.norm(K, axis=(-2, -1)) * np.linalg.norm(G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def static_loss(K0, y, t) -> np.ndarray:
    """½‖e^{−K₀t}y‖²: gradient flow dΔ/dt = −K₀Δ with a frozen kernel."""
    K0, Y = _check_gram(K0, y)
    ev, U = np.linalg.eigh(K0)
    ev = np.maximum(ev, 0.0)
    power = np.sum((U.T @ Y) ** 2, axis=1)
    t = np.asarray(t, dtype=float)
    return 0.5 * np.exp(-2 * np.multiply.outer(t, ev)) @ power


def _b(s, t):
    """∫₀ᵗ e^{−2sτ}dτ = (1 − e^{−2st})/(2s), equal to t at s = 0; broadcast (T,1)×(P,)."""
    return t * exprel(-2.0 * s * t)



def _toy_curve(t, K0, Y, K, residual, loss, kernel_inf, conserved):
    """A `ToyCurve` with the quantities both variants derive the same way (static loss, alignments)."""
    return ToyCurve(
        time=t,
        kernel=K,
        residual=residual,
        loss=loss,
        loss_static=static_loss(K0, Y, t),
        alignment=kernel_alignment(K, Y),
        centered_alignment=kernel_alignment(K, Y, centered=True),
        kernel_inf=kernel_inf,
        conserved=conserved,
    )

def toy_variant1(K0, y, lam: float, t) -> ToyCurve:
    """NTK-alignment toy model, variant 1 (bounded kernel speed), in closed form.

    dΔ/dt = −KΔ, dK/dt = λΔΔᵀ, Δ(0) = y. Q = K² + λΔΔᵀ is conserved, so K obeys the Riccati
    equation dK/dt = Q − K², solved by (THEORY.md §7.2)

        K(t) = S + e^{−St} W₀ [I + B(t)W₀]⁻¹ e^{−St},
        S = Q^{1/2}, W₀ = K₀ − S, B(t) = (2S)⁻¹(I − e^{−2St}).

    The residual has a closed form too (derived for this implementation): writing K = ẎY⁻¹
    with Ÿ = QY, Y(0) = I, Ẏ(0) = K₀ gives Y = cosh(St) + S⁻¹sinh(St)K₀, and since K is
    symmetric d(Y⁻ᵀ)/dt = −KY⁻ᵀ, so

        Δ(t) = Y(t)⁻ᵀ y = e^{−St} [(I + e^{−2St})/2 + K₀B(t)]⁻¹ y.

    Everything is evaluated in the eigenbasis of S (one eigendecomposition) and vectorized
    over times (batched P×P solves, O(T·P³)). Zero eigenvalues of S use B → t.
    """
    K0, Y = _check_gram(K0, y)
    lam = _check_lam(lam)
    t = _check_times(t)
    P = K0.shape[0]
    Q = K0 @ K0 + lam * (Y @ Y.T)
    Q = 0.5 * (Q + Q.T)
    q, V = np.linalg.eigh(Q)
    s = np.sqrt(np.maximum(q, 0.0))
    K0t = V.T @ K0 @ V
    K0t = 0.5 * (K0t + K0t.T)
    W0 = K0t - np.diag(s)
    Yt = V.T @ Y
    T = t[:, None]
    e = np.exp(-s[None, :] * T)  # (T, P)
    b = _b(s[None, :], T)  # (T, P)
    eye = np.eye(P)
    # W₀[I + BW₀]⁻¹ = [I + W₀B]⁻¹W₀ (push-through), a symmetric matrix.
    Z = np.linalg.solve(eye + W0[None] * b[:, None, :], np.broadcast_to(W0, (t.size, P, P)))
    Kt = e[:, :, None] * Z * e[:, None, :]
    Kt[:, np.arange(P), np.arange(P)] += s
    Kt = 0.5 * (Kt + np.swapaxes(Kt, 1, 2))
    H = K0t[None] * b[:, None, :]
    H[:, np.arange(P), np.arange(P)] += 0.5 * (1 + e**2)
    Dt = e[:, :, None] * np.linalg.solve(H, np.broadcast_to(Yt, (t.size,) + Yt.shape))
    K = V @ Kt @ V.T
    Delta = V @ Dt
    loss = 0.5 * np.sum(Delta**2, axis=(1, 2))
    return _toy_curve(t, K0, Y, K, Delta, loss, kernel_inf=(V * s) @ V.T, conserved=Q)


def toy_variant1_scalar(k0: float, y: float, lam: float, t):
    """P = 1 solution of variant 1: k(t) = c tanh(ct + artanh(k₀/c)),
    δ(t) = sign(y)(c/√λ) sech(ct + artanh(k₀/c)), c = √(k₀² + λy²) (THEORY.md §7.2).

    λ = 0 or y = 0 reduce to the static flow k = k₀, δ = y e^{−k₀t}.

    Returns
    -------
    k, delta : ndarray
    """
    lam = _check_lam(lam)
    t = np.asarray(t, dtype=float)
    if lam == 0 or y == 0:
        return np.full_like(t, k0), y * np.exp(-k0 * t)
    c = np.sqrt(k0**2 + lam * y**2)
    u = c * t + np.arctanh(k0 / c)
    return c * np.tanh(u), np.sign(y) * (c / np.sqrt(lam)) / np.cosh(u)


def toy_variant2(K0, y, lam: float, t) -> ToyCurve:
    """NTK-alignment toy model, variant 2 (bounded feature speed), in closed form.

    dΔ/dt = −KΔ, dK/dt = λ(ΔΔᵀK + KΔΔᵀ). C = K + λΔΔᵀ is conserved (THEORY.md §7.2), so
    dΔ/dt = −CΔ + λΔΔᵀΔ. Writing Δ = e^{−Ct}Y G(t) gives d(GGᵀ)⁻¹/dt = −2λ Yᵀe^{−2Ct}Y,
    hence (derived for this implementation)

        (GGᵀ)⁻¹ = N(t) = I − 2λ Yᵀ B_C(t) Y,   B_C(t) = (2C)⁻¹(I − e^{−2Ct}),
        ΔΔᵀ = e^{−Ct} Y N(t)⁻¹ Yᵀ e^{−Ct},   K(t) = C − λΔΔᵀ.

    With one channel Δ = e^{−Ct}y/√N(t); isotropic K₀ = k₀I reduces to
    |Δ|² = c|y|²/(λ|y|² + k₀e^{2ct}) (`toy_variant2_isotropic`). K_∞ = K₀ + λyyᵀ exactly.
    """
    K0, Y = _check_gram(K0, y)
    lam = _check_lam(lam)
    t = _check_times(t)
    P, nc = Y.shape
    if lam > 0:
        ev, U = np.linalg.eigh(K0)
        null = U[:, ev <= 1e-12 * max(ev[-1], 0.0)]
        outside = np.sum((null.T @ Y) ** 2) / max(np.sum(Y**2), np.finfo(float).tiny)
        if outside > 1e-10:
            warnings.warn(
                f"{outside:.1%} of the target power lies outside the range of the Gram "
                "matrix: variant 2 cannot learn it (the loss plateaus) and its solution "
                "is numerically unstable at late times; add a small ridge to the Gram or "
                "use variant 1",
                NumericalWarning,
                stacklevel=2,
            )
    C = K0 + lam * (Y @ Y.T)
    C = 0.5 * (C + C.T)
    cev, U = np.linalg.eigh(C)
    cev = np.maximum(cev, 0.0)
    Yt = U.T @ Y  # (P, c)
    T = t[:, None]
    e = np.exp(-cev[None, :] * T)
    b = _b(cev[None, :], T)
    N = np.eye(nc)[None] - 2 * lam * np.einsum("pi,tp,pj->tij", Yt, b, Yt)
    Ninv = np.linalg.inv(N)
    EY = e[:, :, None] * Yt[None]  # (T, P, c)
    DDt = np.einsum("tpi,tij,tqj->tpq", EY, Ninv, EY)  # ΔΔᵀ in the C eigenbasis
    DDt = 0.5 * (DDt + np.swapaxes(DDt, 1, 2))
    K = U @ (np.diag(cev)[None] - lam * DDt) @ U.T
    K = 0.5 * (K + np.swapaxes(K, 1, 2))
    loss = 0.5 * np.trace(DDt, axis1=1, axis2=2)
    residual = None
    if nc == 1:
        if np.any(N[:, 0, 0] <= 0):
            raise NumericalError("variant-2 normalizer N(t) lost positivity (round-off)")
        residual = U @ (EY / np.sqrt(N[:, 0, 0])[:, None, None])
    return _toy_curve(t, K0, Y, K, residual, loss, kernel_inf=C, conserved=C)


def toy_variant2_isotropic(k0: float, y_norm2: float, lam: float, t) -> np.ndarray:
    """|Δ(t)|² of variant 2 from K₀ = k₀I: c|y|²/(λ|y|² + k₀e^{2ct}), c = k₀ + λ|y|²."""
    lam = _check_lam(lam)
    t = np.asarray(t, dtype=float)
    c = k0 + lam * y_norm2
    # divide through by e^{2ct} so large ct cannot overflow
    return c * y_norm2 * np.exp(-2 * c * t) / (lam * y_norm2 * np.exp(-2 * c * t) + k0)


# ---------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------


def _check_depth(depth):
    if int(depth) != depth or depth < 1:
        raise InputError(f"depth must be an integer ≥ 1 (option --depth), got {depth}")


def _check_positive(value, option):
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{option} must be a positive number, got {value}")


def _check_lam(lam):
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise InputError(f"λ must be ≥ 0 (option --lam), got {lam}")
    return lam


def _check_times(t):
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError("times must be a 1-D list of finite values ≥ 0 (option --time)")
    return t


def _check_gram(K0, y):
    K0 = np.asarray(K0, dtype=float)
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if K0.ndim != 2 or K0.shape[0] != K0.shape[1]:
        raise InputError(f"the Gram matrix must be square, got shape {K0.shape}")
    if Y.ndim != 2 or Y.shape[0] != K0.shape[0]:
        raise InputError(
            f"the Gram matrix is {K0.shape[0]}×{K0.shape[0]} but targets have shape {Y.shape}; "
            "they must have one row per sample"
        )
    if not (np.all(np.isfinite(K0)) and np.all(np.isfinite(Y))):
        raise InputError("the Gram matrix or the targets contain NaN or inf")
    scale = max(np.max(np.abs(K0)), np.finfo(float).tiny)
    if np.max(np.abs(K0 - K0.T)) > 1e-8 * scale:
        raise InputError("the Gram matrix is not symmetric; symmetrize it ((K + Kᵀ)/2)")
    K0 = 0.5 * (K0 + K0.T)
    ev = np.linalg.eigvalsh(K0)
    if ev[0] < -1e-5 * max(ev[-1], 0.0) or (ev[-1] <= 0 and ev[0] < 0):
        raise InputError(
            f"the Gram matrix is not positive semi-definite (smallest eigenvalue {ev[0]:.3g}, "
            f"largest {ev[-1]:.3g}); the toy model needs a PSD kernel"
        )
    return K0, Y
